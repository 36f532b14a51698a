// The preview of a Nojoin archive on the real sample: what the operator sees before trusting it,
// secrets counted but never shown, restore surprises in words, and a format-1 variant.
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveAccess, StepContext } from '../../src/main/apps/adapter';
import { previewNojoinArchive, type NojoinPreviewResult } from '../../src/main/apps/nojoin/format/preview';
import { rewriteZip } from '../fleet/nojoin/zip-tools';

const SAMPLE_PATH = path.resolve('test/fixtures/nojoin/nojoin_backup_sample.zip');
let tmp: string;
let staging: string;
let result: NojoinPreviewResult;

const ctx: StepContext = { signal: new AbortController().signal, progress: () => undefined, log: () => undefined };

function access(file: string, size: number): ArchiveAccess {
  return { fileName: path.basename(file), size, mtime: null, sidecars: [], open: async () => createReadStream(file) };
}

async function previewFile(file: string): Promise<NojoinPreviewResult> {
  const size = (await readFile(file)).length;
  return previewNojoinArchive(access(file, size), ctx, { localPath: file });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-nojoin-preview-'));
  staging = path.join(tmp, 'staging');
  await mkdir(staging);
  result = await previewFile(SAMPLE_PATH);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('preview of the real sample', () => {
  it('fills the generic report', () => {
    const { report } = result;
    expect(report).toMatchObject({ app: 'nojoin', fileName: 'nojoin_backup_sample.zip', sizeBytes: 22178, appVersion: '2.4.0', createdAt: '2026-08-19T18:00:00.123456+00:00' });
    expect(report.integrity.ok).toBe(true);
    const summary = Object.fromEntries(report.summary.map((s) => [s.label, s.value]));
    expect(summary).toMatchObject({
      'Archive format': '2',
      Audio: 'included, compressed',
      Recordings: '3 (1 with audio)',
      Users: 'alice (superuser), bob',
      "Nojoin's export warnings": 'recordings without audio 2, audio failed 0, documents without files 0, documents failed 0',
    });
    expect(report.sidecars.map((s) => s.name)).toEqual(['backup_info.json']);
    expect(report.compatibility[0]).toMatchObject({ label: 'Archive format', ok: true });
  });

  it('lists tables with row counts and each recording with its audio', () => {
    const rows = result.report.contents.rows;
    expect(rows.find((r) => r.item === 'recordings')).toMatchObject({ rows: 3 });
    expect(rows.find((r) => r.item === 'transcripts')).toMatchObject({ rows: 3 });
    expect(rows.find((r) => r.item === 'recording:101')?.detail).toContain('Opus (Ogg), 27 KiB (recordings/3b0d6c1e-6a4f-4d8e-9b7a-2f1c5e8a9d10.opus)');
    expect(rows.find((r) => r.item === 'recording:103')?.detail).toContain('no audio (recordings/a1c4e7f0-2b5d-4e8a-9c1f-3d6b9e2a5c78.m4a is not in the archive)');
    const [r1, r2, r3] = result.nojoin.recordings;
    expect(r1).toMatchObject({ id: 101, title: 'Q3 planning', durationSeconds: 3, owner: 'alice', hasAudio: true, audioBytes: 27206, audioFormat: 'Opus (Ogg)' });
    expect(r2).toMatchObject({ id: 102, hasAudio: false, audioFormat: '.wav (not in the archive)' });
    expect(r3).toMatchObject({ id: 103, owner: 'bob', hasAudio: false });
    expect(result.nojoin.documents).toEqual([]);
  });

  it('offers owner-level tables, config and each recording for a selective restore', () => {
    expect(result.report.selectable).toEqual([
      'users', 'notes_templates', 'calendar_provider_configs', 'calendar_connections', 'calendar_sources', 'calendar_events', 'user_tasks',
      'p_tags', 'global_speakers', 'people_tag_links', 'tags', 'user_task_tags', 'recordings', 'config', 'recording:101', 'recording:102', 'recording:103',
    ]);
  });

  it('says which secrets are inside and what was redacted, never their values', () => {
    const { secrets } = result.report;
    expect(secrets.join('\n')).toContain('Password hashes of 2 users (2 argon2id)');
    expect(secrets.join('\n')).toContain('1 calendar OAuth client secret in plaintext');
    expect(secrets.join('\n')).toContain('1 calendar access token and 1 refresh token');
    expect(secrets.join('\n')).toContain('2 voiceprints');
    expect(secrets.join('\n')).toContain('gemini_api_key (alice), hf_token (alice)');
    expect(result.nojoin.keysTargetMustHave).toEqual(['gemini_api_key', 'hf_token']);
    expect(result.nojoin.secrets).toEqual({ argon2PasswordHashes: 2, otherPasswordHashes: 0, calendarClientSecrets: 1, calendarAccessTokens: 1, calendarRefreshTokens: 1, voiceprints: 2 });
    const everything = JSON.stringify(result);
    for (const secret of ['GOCSPX-example-secret', 'ya29.example-access-token', '1//example-refresh-token', '$argon2id$', 'b6X5+PVcteGQ']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('warns in plain words about what a restore does', () => {
    const warnings = result.report.warnings.join('\n');
    expect(warnings).toContain('Users are matched by user name and never overwritten (alice, bob)');
    expect(warnings).toContain('Tasks (1) and notes templates (0) have no identity in Nojoin: every restore inserts them again');
    expect(warnings).toContain('2 recordings restore without playable audio');
    expect(warnings).toContain('config.json is used only by a Clear-all restore');
    expect(warnings).not.toContain('Format 1');
  });

  it('spools an archive that is not a local file, and gives the same result', async () => {
    const size = (await readFile(SAMPLE_PATH)).length;
    const spooled = await previewNojoinArchive(access(SAMPLE_PATH, size), ctx, { stagingDir: staging });
    expect(spooled).toEqual(result);
    expect(await readdir(staging)).toEqual([]);
  });
});

describe('other archives', () => {
  it('describes a format-1 archive and warns that its id-less recordings duplicate', async () => {
    const legacy = await rewriteZip(await readFile(SAMPLE_PATH), (m) => {
      if (['notes_templates.json', 'documents.json', 'document_pages.json'].includes(m.name)) return null;
      if (m.name === 'backup_info.json') {
        return { name: m.name, data: JSON.stringify({ version: '1.6.0', timestamp: '2026-05-01T10:00:00+00:00', include_audio: true, contains_restorable_calendar_credentials: true }) };
      }
      if (m.name === 'recordings.json') {
        const rows = JSON.parse(m.data.toString()) as Record<string, unknown>[];
        return { name: m.name, data: JSON.stringify(rows.map(({ meeting_uid: _m, public_id: _p, ...r }) => r)) };
      }
      return m;
    });
    const file = path.join(tmp, 'legacy.zip');
    await writeFile(file, legacy);
    const { report, nojoin } = await previewFile(file);
    expect(nojoin.formatVersion).toBe(1);
    expect(report.integrity.ok).toBe(true);
    expect(report.summary.find((s) => s.label === 'Archive format')?.value).toBe('1');
    expect(report.warnings.join('\n')).toContain('The 3 recordings here without ids will each be inserted again as a duplicate.');
    expect(report.integrity.checks.find((c) => c.id === 'audio-members')?.detail).toContain('a format-1 archive does not count files');
  });

  it('describes an unreadable file without throwing', async () => {
    const file = path.join(tmp, 'garbage.zip');
    await writeFile(file, 'this is not a zip');
    const { report } = await previewFile(file);
    expect(report.integrity.ok).toBe(false);
    expect(report.integrity.checks[0]).toMatchObject({ id: 'zip-structure', ok: false });
    expect(report.warnings[0]).toContain('cannot be read as a ZIP');
  });
});
