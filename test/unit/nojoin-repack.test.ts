// Subset repacking of the real sample: what each selection brings along, links nulled or kept,
// audio only for chosen recordings, backup_info recounted, and the result verifies as a Nojoin archive.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { planNojoinSubset, repackNojoinSubset, type RepackResult } from '../../src/main/apps/nojoin/format/repack';
import { scanNojoinArchive } from '../../src/main/apps/nojoin/format/scan';
import { bufferByteSource, NojoinZip } from '../../src/main/apps/nojoin/format/zip';
import { LifeboatError } from '../../src/shared/errors';
import { readRawZip, rewriteZip } from '../fleet/nojoin/zip-tools';

const SAMPLE_PATH = path.resolve('test/fixtures/nojoin/nojoin_backup_sample.zip');
const AUDIO = 'recordings/3b0d6c1e-6a4f-4d8e-9b7a-2f1c5e8a9d10.opus';
const NOW = new Date('2026-09-01T12:00:00Z');
let sample: Buffer;

beforeAll(async () => {
  sample = await readFile(SAMPLE_PATH);
});

interface Repacked {
  result: RepackResult;
  zip: Buffer;
  /** Parsed JSON of every .json member, raw bytes of the rest. */
  json: Record<string, unknown>;
  names: string[];
}

async function repack(source: Buffer, selection: string[]): Promise<Repacked> {
  const zip = await NojoinZip.open(bufferByteSource(source), { label: 'sample' });
  try {
    const output = new PassThrough();
    const chunks: Buffer[] = [];
    output.on('data', (chunk: Buffer) => chunks.push(chunk));
    const result = await repackNojoinSubset(zip, selection, output, { now: () => NOW });
    const written = Buffer.concat(chunks);
    const members = await readRawZip(written);
    const json = Object.fromEntries(members.filter((m) => m.name.endsWith('.json')).map((m) => [m.name, JSON.parse(m.data.toString('utf8')) as unknown]));
    return { result, zip: written, json, names: members.map((m) => m.name) };
  } finally {
    await zip.close();
  }
}

function ids(repacked: Repacked, table: string): unknown[] {
  return (repacked.json[`${table}.json`] as { id?: unknown }[]).map((r) => r.id);
}

async function verifies(zip: Buffer): Promise<void> {
  const opened = await NojoinZip.open(bufferByteSource(zip), { label: 'subset' });
  try {
    const scan = await scanNojoinArchive(opened);
    expect(scan.checks.filter((c) => !c.ok)).toEqual([]);
  } finally {
    await opened.close();
  }
}

describe('repacking a subset of the sample', () => {
  it('one recording: its owned rows, its owner, its task and tag, its audio; other links nulled', async () => {
    const out = await repack(sample, ['recording:101']);
    await verifies(out.zip);
    expect(ids(out, 'recordings')).toEqual([101]);
    expect(ids(out, 'transcripts')).toEqual([501]);
    expect(ids(out, 'recording_speakers')).toEqual([301, 302]);
    expect(ids(out, 'recording_tags')).toEqual([41]);
    expect(ids(out, 'user_task_recordings')).toEqual([53]);
    // Brought along because the rows above cannot restore without them:
    expect(ids(out, 'users')).toEqual([1]);
    expect(ids(out, 'user_tasks')).toEqual([51]);
    expect(ids(out, 'tags')).toEqual([31]);
    // Joined because both ends came: the task's tag link.
    expect(ids(out, 'user_task_tags')).toEqual([52]);
    // Not chosen and not needed: calendar, people, their tags.
    for (const table of ['calendar_events', 'calendar_connections', 'global_speakers', 'p_tags', 'people_tag_links']) expect(ids(out, table)).toEqual([]);
    const recording = (out.json['recordings.json'] as Record<string, unknown>[])[0]!;
    expect(recording.calendar_event_id).toBeNull();
    const speaker = (out.json['recording_speakers.json'] as Record<string, unknown>[]).find((s) => s.id === 301)!;
    expect(speaker.global_speaker_id).toBeNull();
    expect(speaker.processing_run_id).toBe(9001); // a link to a table never archived: left for restore to null
    expect(out.result.nulledLinks).toEqual({ 'recordings.calendar_event_id': 1, 'recording_speakers.global_speaker_id': 1 });
    expect(out.result.broughtAlong).toEqual({ users: 1, user_tasks: 1, tags: 1, user_task_tags: 1 });
    expect(out.names).toContain(AUDIO);
    expect(out.names).not.toContain('config.json');
    expect(out.names.at(-1)).toBe('backup_info.json');
    expect(out.json['backup_info.json']).toMatchObject({
      format_version: 2, version: '2.4.0', timestamp: '2026-08-19T18:00:00.123456+00:00', include_audio: true,
      warnings: { recordings_without_audio: 0, recordings_audio_failed: 0, documents_without_files: 0, documents_failed: 0 },
      lifeboat_subset: { selection: ['recording:101'], made_at: '2026-09-01T12:00:00.000Z' },
    });
  });

  it('plans the same subset without writing it', async () => {
    const zip = await NojoinZip.open(bufferByteSource(sample), { label: 'sample' });
    try {
      const plan = await planNojoinSubset(zip, ['recording:101']);
      const written = await repack(sample, ['recording:101']);
      expect(plan).toEqual({ rows: written.result.rows, broughtAlong: written.result.broughtAlong, recordingIds: [101], audioMembers: [AUDIO] });
    } finally {
      await zip.close();
    }
  });

  it('a recording without audio: no audio member, and the counter says so', async () => {
    const out = await repack(sample, ['recording:103']);
    await verifies(out.zip);
    expect(ids(out, 'recordings')).toEqual([103]);
    expect(ids(out, 'users')).toEqual([2]);
    expect(out.names.filter((n) => n.startsWith('recordings/'))).toEqual([]);
    expect(out.json['backup_info.json']).toMatchObject({ warnings: { recordings_without_audio: 1 } });
  });

  it('calendar events bring their source, connection and user, no recordings', async () => {
    const out = await repack(sample, ['calendar_events']);
    await verifies(out.zip);
    expect(ids(out, 'calendar_events')).toEqual([8]);
    expect(ids(out, 'calendar_sources')).toEqual([7]);
    expect(ids(out, 'calendar_connections')).toEqual([6]);
    expect(ids(out, 'users')).toEqual([1]);
    expect(ids(out, 'recordings')).toEqual([]);
    expect(ids(out, 'transcripts')).toEqual([]);
  });

  it('people bring their tags through the link table when both are chosen', async () => {
    const out = await repack(sample, ['global_speakers', 'p_tags']);
    expect(ids(out, 'people_tag_links')).toEqual([62]);
    const alone = await repack(sample, ['global_speakers']);
    expect(ids(alone, 'people_tag_links')).toEqual([]);
  });

  it('everything: the table members are copied byte for byte', async () => {
    const tables = ['users', 'notes_templates', 'calendar_provider_configs', 'calendar_connections', 'calendar_sources', 'calendar_events', 'user_tasks', 'p_tags', 'global_speakers', 'people_tag_links', 'tags', 'user_task_tags', 'recordings'];
    const out = await repack(sample, [...tables, 'config']);
    await verifies(out.zip);
    const before = new Map((await readRawZip(sample)).map((m) => [m.name, m.data]));
    for (const member of await readRawZip(out.zip)) {
      if (member.name !== 'backup_info.json') expect(member.data.equals(before.get(member.name)!), member.name).toBe(true);
    }
    expect(out.names.length).toBe(23);
    expect(out.result.nulledLinks).toEqual({});
  });

  it('refuses an unknown item, a recording that is not there and an empty selection', async () => {
    for (const [selection, message] of [
      [['recording:999'], 'no recording with id 999'],
      [['videos'], '"videos" is neither a Nojoin table'],
      [[], 'The selection is empty'],
    ] as const) {
      const error = await repack(sample, [...selection]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LifeboatError);
      expect(error).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining(message) });
    }
  });

  it('refuses to write a bad row it would keep, but not one it leaves out', async () => {
    const bad = await rewriteZip(sample, (m) => {
      if (m.name !== 'recordings.json') return m;
      const rows = JSON.parse(m.data.toString()) as Record<string, unknown>[];
      return { name: m.name, data: JSON.stringify(rows.map((r) => (r.id === 102 ? { ...r, status: 'DONE' } : r))) };
    });
    const error = await repack(bad, ['recording:102']).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ARCHIVE_INVALID', details: { member: 'recordings.json', row: 1, id: 102, field: 'status' } });
    const fine = await repack(bad, ['recording:101']);
    await verifies(fine.zip);
  });
});
