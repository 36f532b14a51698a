// Nojoin restores through the core (restore:plan → restore:start, the in-process client) into the
// fake Nojoin, whose store applies Nojoin's identity rules: what Skip, Overwrite and Clear all do
// to records that already exist, that the dry-run plan's numbers are what then happens, a
// selective restore of one recording, an archive with one bad row refused before anything is
// uploaded, the account problems (not a superuser, a wrong password), a restore already running
// (409), a chunk that fails once, and a restore Nojoin ends "completed_with_warnings". Every
// restore leaves a safety snapshot of the server as it was (tagged pre-restore).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PlannedChange, PreviewReport, RestorePlan, RestoreReport } from '../../src/shared/apps';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import { APP_MODULES, AppRegistry } from '../../src/main/apps/registry';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { makeTestHome } from '../harness/home';
import type { Row } from '../fleet/nojoin/models';
import { SAMPLE_ARCHIVE, startNojoin, type NojoinFakeHandle } from '../fleet/nojoin/server';
import { readRawZip, rewriteZip } from '../fleet/nojoin/zip-tools';

const R1 = { meetingUid: '8f14e45f-ceea-4e7a-9c3b-1d2e3f4a5b6c', name: 'Q3 planning', audio: 'recordings/3b0d6c1e-6a4f-4d8e-9b7a-2f1c5e8a9d10.opus' };
const R2 = { meetingUid: '45c48cce-2e2d-4fbd-b6a8-1a2b3c4d5e6f', name: 'Vendor call', audio: 'recordings/7d2e9a41-0c5b-4f3e-8a6d-5b4c3d2e1f00.opus' };
const R3 = { meetingUid: '6512bd43-d9ca-46e0-8f3d-2c3b4a5d6e7f', name: 'Bob 1:1' };
const ARCHIVE_UIDS = [R1.meetingUid, R2.meetingUid, R3.meetingUid];

let core: Core;
let dir: string;
const fakes: NojoinFakeHandle[] = [];
const client = () => createInProcessClient(core);

/** Archives made from the sample at test time (each a variant the spec describes). */
const archives = { sample: SAMPLE_ARCHIVE, withTemplate: '', withDocument: '', badRow: '', twoAudio: '' };

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** The sample with some members' rows changed (`edit` gets and returns the parsed array) and members added. */
async function variant(name: string, edits: Record<string, (rows: Row[]) => Row[]>, extra: { name: string; data: Buffer | string }[] = []): Promise<string> {
  const zip = await rewriteZip(await readFile(SAMPLE_ARCHIVE), (member) => {
    const edit = edits[member.name];
    return { name: member.name, data: edit ? json(edit(JSON.parse(member.data.toString('utf8')) as Row[])) : member.data };
  }, extra);
  const file = path.join(dir, name);
  await writeFile(file, zip);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-nojoin-restore-'));
  const stamp = { created_at: '2026-08-15T09:00:00', updated_at: '2026-08-15T09:00:00' };
  archives.withTemplate = await variant('nojoin_backup_20260819_180001.zip', {
    'notes_templates.json': () => [{ id: 71, ...stamp, name: 'Weekly sync', description: null, sections: '## Decisions\n## Actions', scope: 'install', user_id: null, builtin_version: null }],
  });
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
  archives.withDocument = await variant(
    'nojoin_backup_20260819_180002.zip',
    {
      'documents.json': () => [{ id: 81, ...stamp, recording_id: 101, title: 'Agenda', file_path: 'documents/5e6f7a8b-agenda.pdf', file_type: 'application/pdf', file_size_bytes: pdf.length, status: 'READY', error_message: null, parse_mode: 'STRUCTURAL', parse_warning: null, page_count: 1, pages_parsed: 1, parse_stage: null }],
      'document_pages.json': () => [{ id: 91, ...stamp, document_id: 81, page_number: 1, title: null, content: 'Agenda: the Q3 plan', parse_mode: 'STRUCTURAL', error_message: null }],
    },
    [{ name: 'documents/5e6f7a8b-agenda.pdf', data: pdf }],
  );
  // The spec's example of a row Nojoin's model refuses, aborting the whole restore (§3.2).
  archives.badRow = await variant('nojoin_backup_20260819_180003.zip', { 'recordings.json': (rows) => rows.map((r) => (r.id === 102 ? { ...r, status: 'DONE' } : r)) });
  // R2 with audio too, so a selective restore of one recording has another's audio to leave out.
  const opus = (await readRawZip(await readFile(SAMPLE_ARCHIVE))).find((m) => m.name === R1.audio)!.data;
  archives.twoAudio = await variant(
    'nojoin_backup_20260819_180004.zip',
    {
      'recordings.json': (rows) => rows.map((r) => (r.id === 102 ? { ...r, audio_path: R2.audio } : r)),
    },
    [{ name: R2.audio, data: opus }],
  );
  core = await createCore({ home: makeTestHome('nojoin-restore'), secretStore: new MemorySecretStore('nojoin restore'), apps: new AppRegistry(APP_MODULES) });
  await client().call('vault:init', {});
});

afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
});

afterAll(async () => {
  await core?.close();
  await Promise.all(fakes.map((fake) => fake.stop()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

let targets = 0;
/** A restore is a safety export, a live export for the plan, the upload, Nojoin's job and an export to verify, each polled every 2 s. */
const RESTORE_TIMEOUT_MS = 180_000;

/** A fresh fake Nojoin seeded from the sample, and an installation of it signed in as `account`. */
async function target(options: { username?: string; password?: string; settings?: Record<string, string> } = {}): Promise<{ fake: NojoinFakeHandle; installation: Installation }> {
  const fake = await startNojoin();
  fakes.push(fake);
  const installation = await client().call('installations:add', {
    name: `Nojoin ${++targets}`,
    app: 'nojoin',
    https: { baseUrl: fake.url, auth: 'password', username: options.username ?? 'alice', pinnedCertSha256: fake.certSha256 },
    settings: options.settings ?? {},
    secrets: { 'https-password': options.password ?? 'alice-password-1' },
  });
  return { fake, installation };
}

async function job<T>(started: Promise<{ jobId: string }>): Promise<{ record: JobRecord; result: T }> {
  const record = await core.jobs.wait((await started).jobId);
  return { record, result: record.result as T };
}

async function plan(installation: Installation, archive: string, conflict: string, selection: string[] = []): Promise<RestorePlan> {
  const { record, result } = await job<RestorePlan>(client().call('restore:plan', { installationId: installation.id, source: { path: archive }, mode: selection.length ? 'selective' : 'full', conflict, selection }));
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return result;
}

/** Runs a plan; whatever the outcome, a safety snapshot of the server as it was is in the vault, tagged pre-restore. */
async function restore(installation: Installation, restorePlan: RestorePlan): Promise<{ record: JobRecord; report: RestoreReport }> {
  const { record, result: report } = await job<RestoreReport>(client().call('restore:start', { planId: restorePlan.id, confirmation: installation.name }));
  expect(report, JSON.stringify(record.error)).toBeTruthy();
  expect(report.safetySnapshotId).not.toBeNull();
  const safety = (await client().call('vault:snapshots', { installationId: installation.id })).find((s) => s.id === report.safetySnapshotId);
  expect(safety).toMatchObject({ source: 'pre-restore', installationId: installation.id });
  return { record, report };
}

async function restored(installation: Installation, restorePlan: RestorePlan): Promise<RestoreReport> {
  const { record, report } = await restore(installation, restorePlan);
  expect(record.status, JSON.stringify({ error: record.error, checks: report.checks })).toBe('succeeded');
  expect(report).toMatchObject({ ok: true, outcome: 'verified' });
  return report;
}

function recording(fake: NojoinFakeHandle, meetingUid: string): Row | undefined {
  return fake.store.rows('recordings').find((r) => r.meeting_uid === meetingUid);
}

function rename(fake: NojoinFakeHandle, meetingUid: string, name: string): void {
  recording(fake, meetingUid)!.name = name;
}

const TABLES = ['users', 'notes_templates', 'calendar_provider_configs', 'user_tasks', 'p_tags', 'global_speakers', 'tags', 'recordings', 'user_task_recordings', 'recording_speakers', 'recording_tags', 'transcripts', 'chat_messages', 'documents'];

function counts(fake: NojoinFakeHandle): Record<string, number> {
  return Object.fromEntries(TABLES.map((t) => [t, fake.store.rows(t).length]));
}

/** The plan's lines of a table. */
function linesOf(restorePlan: RestorePlan, table: string): PlannedChange[] {
  return restorePlan.changes.filter((c) => c.item.startsWith(`${table}:`));
}

/** The rows the plan says a restore adds to a table (the sum of its "add" lines). */
function plannedAdds(restorePlan: RestorePlan, table: string): number {
  return linesOf(restorePlan, table).filter((c) => c.action === 'add').reduce((sum, c) => sum + (c.archive ?? 0), 0);
}

describe('conflict modes on records that already exist', { timeout: RESTORE_TIMEOUT_MS }, () => {
  it('Skip keeps the server’s copy of a recording (its changed title stays), adds the one that is missing, and its plan counted exactly that', async () => {
    const { fake, installation } = await target();
    rename(fake, R1.meetingUid, 'Renamed on the server');
    const r1Id = recording(fake, R1.meetingUid)!.id;
    fake.store.removeRecording(recording(fake, R3.meetingUid)!.id as number);
    const before = counts(fake);

    const skipPlan = await plan(installation, archives.sample, 'skip');
    expect(skipPlan.blocked, JSON.stringify(skipPlan.preflight)).toBe(false);
    expect(linesOf(skipPlan, 'recordings')).toEqual([
      expect.objectContaining({ action: 'keep', archive: 2, live: 2 }),
      expect.objectContaining({ item: 'recordings: added', action: 'add', archive: 1 }),
    ]);
    expect(linesOf(skipPlan, 'users')).toEqual([expect.objectContaining({ action: 'keep', archive: 2, live: 3 }), expect.objectContaining({ action: 'add', archive: 0 })]);
    expect(linesOf(skipPlan, 'user_tasks')).toEqual([expect.objectContaining({ item: expect.stringContaining('always inserted'), action: 'add', archive: 1 })]);
    // Only R3's transcript is the archive's to add; R1's speakers, tags and task link go with the kept R1.
    expect(plannedAdds(skipPlan, 'transcripts')).toBe(1);
    expect(plannedAdds(skipPlan, 'recording_speakers')).toBe(0);

    await restored(installation, skipPlan);
    expect(recording(fake, R1.meetingUid)).toMatchObject({ id: r1Id, name: 'Renamed on the server' });
    expect(recording(fake, R3.meetingUid)).toMatchObject({ name: R3.name });
    // The plan's numbers are what happened, table by table.
    const after = counts(fake);
    for (const table of TABLES) expect(after[table]! - before[table]!, table).toBe(plannedAdds(skipPlan, table));
  });

  it('Overwrite puts the archive’s title back: the server’s recording is deleted with what it owns and inserted again, as planned', async () => {
    const { fake, installation } = await target();
    rename(fake, R1.meetingUid, 'Renamed on the server');
    const oldIds = fake.store.rows('recordings').map((r) => r.id);
    fake.store.removeRecording(recording(fake, R3.meetingUid)!.id as number);

    const overwritePlan = await plan(installation, archives.sample, 'overwrite');
    expect(linesOf(overwritePlan, 'recordings')).toEqual([
      expect.objectContaining({ action: 'replace', archive: 2, live: 2 }),
      expect.objectContaining({ item: 'recordings: added', action: 'add', archive: 1 }),
    ]);
    expect(plannedAdds(overwritePlan, 'transcripts')).toBe(3);
    expect(plannedAdds(overwritePlan, 'recording_speakers')).toBe(2);

    const report = await restored(installation, overwritePlan);
    expect(report.checks.find((c) => c.id === 'overwritten')).toMatchObject({ ok: true });
    // The safety snapshot holds the server as it was: the title the restore overwrote, and audio.
    const { record, result: safety } = await job<PreviewReport>(client().call('apps:preview', { source: { snapshotId: report.safetySnapshotId! }, installationId: installation.id }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(safety.contents.rows.filter((r) => String(r.item).startsWith('recording:')).map((r) => r.what).sort()).toEqual(['Renamed on the server', R2.name].sort());
    expect(safety.media?.map((m) => m.label)).toEqual(['Renamed on the server']);
    expect(fake.store.rows('recordings').map((r) => r.name).sort()).toEqual([R1.name, R2.name, R3.name].sort());
    // Replaced: new rows, none of the old ids.
    expect(fake.store.rows('recordings').some((r) => oldIds.includes(r.id))).toBe(false);
    // Every live child row belonged to a replaced recording: what is there now is what the plan inserted.
    for (const table of ['transcripts', 'recording_speakers', 'recording_tags', 'user_task_recordings']) {
      expect(fake.store.rows(table).length, table).toBe(plannedAdds(overwritePlan, table));
    }
    expect(fake.store.rows('user_tasks')).toHaveLength(2);
    expect(fake.store.rows('users').map((u) => u.username).sort()).toEqual(['admin', 'alice', 'bob']);
  });

  it('Clear all leaves exactly the archive’s recordings (one only on the server is gone) and keeps the users', async () => {
    const { fake, installation } = await target();
    rename(fake, R1.meetingUid, 'Renamed on the server');
    const alice = fake.store.rows('users').find((u) => u.username === 'alice')!;
    fake.store.insert('recordings', {
      name: 'Only on the server', meeting_uid: '0a1b2c3d-0000-4000-8000-00000000aaaa', public_id: '0a1b2c3d-0000-4000-8000-00000000bbbb', audio_path: 'data/recordings/only-here.wav',
      status: 'PROCESSED', duration_seconds: 12.5, is_archived: false, is_deleted: false, user_id: alice.id, calendar_event_id: null,
    });
    const users = fake.store.rows('users').map((u) => ({ id: u.id, username: u.username, hashed_password: u.hashed_password }));

    const clearPlan = await plan(installation, archives.sample, 'clear-all');
    expect(linesOf(clearPlan, 'recordings')).toEqual([expect.objectContaining({ action: 'replace', archive: 3, live: 4 })]);
    expect(clearPlan.changes).toContainEqual(expect.objectContaining({ action: 'remove', item: expect.stringContaining('recordings folder') }));

    const report = await restored(installation, clearPlan);
    expect(report.checks.find((c) => c.id === 'row-counts')).toMatchObject({ ok: true });
    expect(fake.store.rows('recordings').map((r) => r.meeting_uid).sort()).toEqual([...ARCHIVE_UIDS].sort());
    expect(recording(fake, R1.meetingUid)?.name).toBe(R1.name);
    expect(fake.store.rows('recordings').some((r) => r.name === 'Only on the server')).toBe(false);
    // Users are kept as they were (never overwritten, never deleted).
    expect(fake.store.rows('users').map((u) => ({ id: u.id, username: u.username, hashed_password: u.hashed_password }))).toEqual(users);
    expect(fake.store.rows('user_tasks')).toHaveLength(1);
    expect(fake.store.rows('transcripts')).toHaveLength(3);
    // Every table but users holds what the plan said it would: the archive's rows.
    for (const table of TABLES.filter((t) => t !== 'users')) {
      expect(linesOf(clearPlan, table), table).toEqual([expect.objectContaining({ action: 'replace' })]);
      expect(fake.store.rows(table).length, table).toBe(linesOf(clearPlan, table)[0]!.archive);
    }
  });

  it('a repeated Skip restore duplicates tasks and note templates, never recordings, and the plan says they are always inserted', async () => {
    const { fake, installation } = await target();
    const first = await plan(installation, archives.withTemplate, 'skip');
    await restored(installation, first);
    expect(fake.store.rows('notes_templates')).toHaveLength(1);
    expect(fake.store.rows('user_tasks')).toHaveLength(2);

    const second = await plan(installation, archives.withTemplate, 'skip');
    expect(linesOf(second, 'notes_templates')).toEqual([expect.objectContaining({ item: 'notes_templates: always inserted (a repeated restore duplicates them)', action: 'add', archive: 1, live: 1 })]);
    expect(linesOf(second, 'user_tasks')).toEqual([expect.objectContaining({ item: 'user_tasks: always inserted (a repeated restore duplicates them)', action: 'add', archive: 1, live: 2 })]);
    expect(second.followUps).toContainEqual(expect.stringMatching(/Tasks and note templates were added again/));
    await restored(installation, second);
    expect(fake.store.rows('notes_templates').map((t) => t.name)).toEqual(['Weekly sync', 'Weekly sync']);
    expect(fake.store.rows('user_tasks').map((t) => t.title)).toEqual(Array(3).fill('Send Q3 planning notes'));
    expect(fake.store.rows('recordings').map((r) => r.meeting_uid).sort()).toEqual([...ARCHIVE_UIDS].sort());
  });
});

describe('a selective restore', { timeout: RESTORE_TIMEOUT_MS }, () => {
  it('brings only the chosen recording, with its own audio member and no other', async () => {
    const { fake, installation } = await target();
    for (const r of [...fake.store.rows('recordings')]) fake.store.removeRecording(r.id as number);
    const before = counts(fake);
    const { record, result: preview } = await job<PreviewReport>(client().call('apps:preview', { source: { path: archives.twoAudio }, installationId: installation.id }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(preview.selectable).toEqual(expect.arrayContaining(['recording:101', 'recording:102', 'recording:103']));

    const selectivePlan = await plan(installation, archives.twoAudio, 'skip', ['recording:102']);
    expect(selectivePlan.blocked, JSON.stringify(selectivePlan.preflight)).toBe(false);
    expect(linesOf(selectivePlan, 'recordings')).toContainEqual(expect.objectContaining({ item: 'recordings: added', archive: 1 }));
    await restored(installation, selectivePlan);

    expect(fake.store.rows('recordings').map((r) => [r.meeting_uid, r.name])).toEqual([[R2.meetingUid, R2.name]]);
    expect(fake.store.rows('transcripts').map((t) => t.recording_id)).toEqual([recording(fake, R2.meetingUid)!.id]);
    expect(fake.store.file(`data/${R2.audio}`)).toBeDefined();
    const after = counts(fake);
    for (const table of TABLES) expect(after[table]! - before[table]!, table).toBe(plannedAdds(selectivePlan, table));
    // What Nojoin was given: one recording row and its audio, the other recording's audio left out.
    const uploaded = await readRawZip(fake.restoredArchives.at(-1)!);
    expect(uploaded.filter((m) => m.name.startsWith('recordings/')).map((m) => m.name)).toEqual([R2.audio]);
    expect((JSON.parse(uploaded.find((m) => m.name === 'recordings.json')!.data.toString('utf8')) as Row[]).map((r) => r.id)).toEqual([102]);
  });
});

describe('plans that cannot know, and refusals before anything changes', () => {
  it('a plan whose live export fails says "not knowable" for every table, with the reason, and is not blocked', async () => {
    const { fake, installation } = await target();
    fake.faults.failNextExport();
    const unknowing = await plan(installation, archives.sample, 'skip');
    expect(unknowing.blocked, JSON.stringify(unknowing.preflight)).toBe(false);
    expect(unknowing.changes.length).toBe(20);
    for (const change of unknowing.changes) {
      expect(change).toMatchObject({ action: 'unknown', live: null, item: expect.stringMatching(/: not knowable before restore \(the live server could not be read: Nojoin's export .* failed/) });
    }
    expect(fake.requests.filter((r) => r.path.startsWith('/api/v1/backup/upload'))).toEqual([]);
  });


  it('an archive with one invalid row is refused at plan, naming member, row and field; nothing is uploaded', async () => {
    const { fake, installation } = await target();
    const refused = await plan(installation, archives.badRow, 'skip');
    expect(refused.blocked).toBe(true);
    const blocking = refused.preflight.filter((c) => c.blocking && !c.ok);
    expect(blocking.length).toBeGreaterThan(0);
    expect(blocking.map((c) => c.detail).join(' ')).toMatch(/recordings\.json row 2 \(id 102\): "status" is "DONE", not one of UPLOADING, .*Nojoin aborts the whole restore on such a row/);
    await expect(client().call('restore:start', { planId: refused.id, confirmation: installation.name })).rejects.toMatchObject({ code: 'PREFLIGHT_FAILED' });
    // Blocked by the archive alone: the server is not even asked for an export.
    expect(fake.requests.filter((r) => r.path.startsWith('/api/v1/backup/'))).toEqual([]);
    expect(fake.restoredArchives).toHaveLength(0);
  });

  it('an account that is not a superuser is refused in plain words, at plan and at pull', async () => {
    const { fake, installation } = await target({ username: 'bob', password: 'bob-password-1' });
    const refused = await plan(installation, archives.sample, 'skip');
    expect(refused.blocked).toBe(true);
    expect(refused.preflight.find((c) => c.id === 'superuser')).toMatchObject({ ok: false, blocking: true, detail: 'bob is not a superuser; only a superuser can restore backups in Nojoin.' });
    const { record } = await job(client().call('apps:pull', { installationId: installation.id }));
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'HTTP_AUTH_FAILED', message: expect.stringMatching(/"bob" on Nojoin .* is not a superuser\. Nojoin lets only superuser accounts export or restore backups/) });
    expect(fake.requests.filter((r) => r.path.startsWith('/api/v1/backup/upload'))).toEqual([]);
  });

  it('a wrong password is refused once and never sent again', async () => {
    const { fake, installation } = await target({ password: 'not-alices-password' });
    const first = await job(client().call('restore:plan', { installationId: installation.id, source: { path: archives.sample }, mode: 'full', conflict: 'skip', selection: [] }));
    expect(first.record.status).toBe('failed');
    expect(first.record.error).toMatchObject({ code: 'HTTP_AUTH_FAILED', message: expect.stringMatching(/refused the login of "alice": Incorrect username or password\. Lifeboat will not send this password again/) });
    expect(fake.loginAttempts()).toBe(1);
    const second = await job(client().call('restore:plan', { installationId: installation.id, source: { path: archives.sample }, mode: 'full', conflict: 'skip', selection: [] }));
    expect(second.record.error).toMatchObject({ code: 'HTTP_AUTH_FAILED', message: expect.stringMatching(/already refused this password/) });
    const pull = await job(client().call('apps:pull', { installationId: installation.id }));
    expect(pull.record.error?.code).toBe('HTTP_AUTH_FAILED');
    expect(fake.loginAttempts()).toBe(1);
  });
});

describe('the upload and Nojoin’s job', { timeout: RESTORE_TIMEOUT_MS }, () => {
  it('a restore already running (409) fails clearly, with one upload only and nothing changed', async () => {
    const { fake, installation } = await target();
    const before = structuredClone(fake.store.rows('recordings'));
    const restorePlan = await plan(installation, archives.sample, 'skip');
    const release = fake.faults.holdRestoreLock();
    try {
      const { record, report } = await restore(installation, restorePlan);
      expect(record.status).toBe('failed');
      expect(record.error).toMatchObject({ code: 'RESTORE_FAILED', message: expect.stringMatching(/A restore is already running on Nojoin; it runs one at a time/) });
      expect(report.outcome).toBe('failed');
    } finally {
      release();
    }
    const uploads = fake.requests.filter((r) => r.path.startsWith('/api/v1/backup/upload'));
    expect(uploads.filter((r) => r.path.endsWith('/init'))).toHaveLength(1);
    expect(uploads.filter((r) => r.path.endsWith('/complete'))).toEqual([expect.objectContaining({ status: 409 })]);
    expect(fake.requests.some((r) => r.path === '/api/v1/backup/import')).toBe(false);
    expect(fake.pendingUploads()).toBe(0);
    expect(fake.store.rows('recordings')).toEqual(before);
  });

  it('a chunk that fails once (an error, a confirmation of another index, a dropped connection) is sent again and confirmed before complete', async () => {
    // 5 KiB chunks: the 22 KB sample goes in five.
    const { fake, installation } = await target({ settings: { uploadChunkMiB: '0.005' } });
    fake.faults.failChunk(1, 1, 'error');
    fake.faults.misconfirmChunk(2);
    fake.faults.failChunk(3, 1, 'drop');
    await restored(installation, await plan(installation, archives.sample, 'skip'));
    const sample = await readFile(archives.sample);
    const chunks = Math.ceil(sample.length / Math.round(0.005 * 1024 * 1024));
    expect(chunks).toBe(5);
    const upload = fake.requests.filter((r) => r.path.startsWith('/api/v1/backup/upload')).map((r) => `${r.path.split('/').at(-1)} ${r.status}`);
    // Chunk 1 is answered 500, chunk 2 confirmed as another index, chunk 3's connection dropped
    // (no answer to log): each is sent again until the server confirms it by its index.
    expect(upload).toEqual(['init 200', 'chunk 200', 'chunk 500', 'chunk 200', 'chunk 200', 'chunk 200', 'chunk 200', 'chunk 200', 'complete 202']);
    expect(fake.restoredArchives.at(-1)!.equals(sample)).toBe(true);
  });

  it('a chunk the server never confirms stops the restore before complete: nothing changed, no point of no return passed', async () => {
    const { fake, installation } = await target({ settings: { uploadChunkMiB: '0.005' } });
    const before = structuredClone(fake.store.rows('recordings'));
    const restorePlan = await plan(installation, archives.sample, 'skip');
    fake.faults.failChunk(2, 100, 'error');
    const { record, report } = await restore(installation, restorePlan);
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'HTTP_NETWORK', message: expect.stringMatching(/^Chunk 2 of the restore upload failed 5 times; the last time: Nojoin answered chunk 2 with HTTP 500: "Failed to save the uploaded chunk\."/) });
    expect(record.cancellable).toBe(true);
    expect(report.outcome).toBe('failed');
    expect(fake.requests.some((r) => r.path.endsWith('/complete'))).toBe(false);
    expect(fake.restoredArchives).toHaveLength(0);
    expect(fake.store.rows('recordings')).toEqual(before);
  });

  it('"completed_with_warnings" is not plain success: outcome unverified, the job succeeded with warnings that say what Nojoin left out', async () => {
    const { fake, installation } = await target();
    // R1 is on the server: Skip drops the archive's document of it, and its page (no recording_id) is left out as unresolved_owner (§3.4).
    const restorePlan = await plan(installation, archives.withDocument, 'skip');
    expect(linesOf(restorePlan, 'document_pages')).toEqual([expect.objectContaining({ action: 'unknown' })]);
    const { record, report } = await restore(installation, restorePlan);
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded-with-warnings');
    expect(report).toMatchObject({ ok: false, outcome: 'unverified' });
    expect(report.checks.find((c) => c.id === 'nojoin-job')).toMatchObject({ ok: false, skipped: expect.any(String), detail: expect.stringContaining('document_pages 1 (unresolved_owner)') });
    expect(record.warnings).toEqual([expect.stringMatching(/^Nojoin restore job could not be checked: .*document_pages 1 \(unresolved_owner\)/)]);
    expect(fake.store.rows('documents')).toHaveLength(0);
    expect(fake.store.rows('document_pages')).toHaveLength(0);
  });
});
