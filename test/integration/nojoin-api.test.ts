// Lifeboat's Nojoin client (api.ts, session.ts) against the fake Nojoin (test/fleet/nojoin):
// login reuse and its limits, the export → poll → download path with Range resume, and chunked
// restores in each conflict mode with their effect on the server's records.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  downloadExport,
  exportStatus,
  fetchFingerprint,
  openExportDownload,
  serverHealth,
  startExport,
  uploadForRestore,
  waitForExport,
  waitForRestore,
  type ConflictMode,
  type UploadSource,
} from '../../src/main/apps/nojoin/api';
import { assertNojoinWillRestore, scanNojoinArchive } from '../../src/main/apps/nojoin/format/scan';
import { repackNojoinSubset } from '../../src/main/apps/nojoin/format/repack';
import { bufferByteSource, NojoinZip } from '../../src/main/apps/nojoin/format/zip';
import { nojoinSessionFor, NojoinSession, type CallContext, type NojoinCredentials } from '../../src/main/apps/nojoin/session';
import type { AdapterContext } from '../../src/main/apps/adapter';
import { InstallationSessions } from '../../src/main/apps/sessions';
import type { Installation } from '../../src/shared/installations';
import { NojoinStreamVerifier } from '../../src/main/apps/nojoin/format/stream-verifier';
import { startNojoinFleet } from '../fleet/nojoin/fleet';
import { createHttpsClient, normalizeFingerprint } from '../../src/main/transport/https';
import { LifeboatError } from '../../src/shared/errors';
import { SAMPLE_ARCHIVE, startNojoin, type NojoinFakeHandle, type NojoinFakeOptions } from '../fleet/nojoin/server';
import type { Row } from '../fleet/nojoin/models';
import { rewriteZip } from '../fleet/nojoin/zip-tools';

const ALICE: NojoinCredentials = { username: 'alice', password: 'alice-password-1' };
const R1_UID = '8f14e45f-ceea-4e7a-9c3b-1d2e3f4a5b6c';
const R1_AUDIO = 'data/recordings/3b0d6c1e-6a4f-4d8e-9b7a-2f1c5e8a9d10.opus';
const attended: CallContext = { signal: new AbortController().signal, unattended: false };
const unattended: CallContext = { ...attended, unattended: true };
const FAST = { pollMs: 20 };

/** A clock both the fake and the client read, moved by tests instead of waiting. */
class TestClock {
  offset = 0;
  readonly now = (): number => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

const running: { fake: NojoinFakeHandle; sessions: NojoinSession[] }[] = [];
let sample: Buffer;
let tmp: string;

async function fakeWith(options: NojoinFakeOptions = {}): Promise<{ fake: NojoinFakeHandle; clock: TestClock; session: (credentials?: NojoinCredentials) => NojoinSession }> {
  const clock = new TestClock();
  const fake = await startNojoin({ now: clock.now, exportStepMs: 30, restoreStepMs: 5, ...options });
  const entry = { fake, sessions: [] as NojoinSession[] };
  running.push(entry);
  const session = (credentials: NojoinCredentials = ALICE): NojoinSession => {
    const client = createHttpsClient({ baseUrl: fake.url, auth: 'password', username: credentials.username, pinnedCertSha256: fake.certSha256 }, { retry: { maxRetries: 0 } });
    const made = new NojoinSession({ client, label: 'Nojoin (fake)', credentials: async () => credentials, now: clock.now });
    entry.sessions.push(made);
    return made;
  };
  return { fake, clock, session };
}

/** The LifeboatError `promise` rejects with (anything else fails the test). */
async function failure(promise: Promise<unknown>): Promise<LifeboatError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LifeboatError) return error;
    throw error;
  }
  throw new Error('expected a LifeboatError, but the call succeeded');
}

function bufferSource(bytes: Buffer): UploadSource {
  return { size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

beforeAll(async () => {
  sample = await readFile(SAMPLE_ARCHIVE);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-nojoin-api-'));
});

afterAll(async () => {
  for (const { fake, sessions } of running) {
    await Promise.all(sessions.map((s) => s.dispose()));
    await fake.stop();
  }
  await rm(tmp, { recursive: true, force: true });
});

describe('login session', () => {
  it('logs in once and reuses the token for every call', async () => {
    const { fake, session } = await fakeWith();
    const s = session();
    expect(await s.identity(attended)).toEqual({ username: 'alice', isSuperuser: true, forcePasswordChange: false });
    expect((await serverHealth(s, attended)).version).toBe('2.4.0');
    expect(await exportStatus(s, '00000000-0000-4000-8000-000000000000', attended)).toEqual({ state: 'PENDING', status: 'Waiting for a worker...' });
    expect(fake.loginAttempts()).toBe(1);
    expect(s.logins).toBe(1);
  });

  it('logs in again once the 60-minute token has expired, even unattended', async () => {
    const { fake, clock, session } = await fakeWith();
    const s = session();
    await serverHealth(s, unattended);
    clock.advance(59 * 60_000);
    await serverHealth(s, unattended);
    expect(fake.loginAttempts()).toBe(1);
    clock.advance(2 * 60_000);
    await serverHealth(s, unattended);
    expect(fake.loginAttempts()).toBe(2);
  });

  it('a refused token: attended it logs in again, unattended not within the hour', async () => {
    const { fake, session } = await fakeWith();
    const s = session();
    await serverHealth(s, attended);
    fake.invalidateTokens('alice');
    const error = await failure(serverHealth(s, unattended));
    expect(error.code).toBe('HTTP_RATE_LIMITED');
    expect(error.message).toContain('logs in at most once an hour');
    expect(fake.loginAttempts()).toBe(1);
    await serverHealth(s, attended);
    expect(fake.loginAttempts()).toBe(2);
  });

  it('never sends a refused password twice', async () => {
    const { fake, session } = await fakeWith();
    const s = session({ username: 'alice', password: 'wrong' });
    const first = await failure(serverHealth(s, attended));
    expect(first.code).toBe('HTTP_AUTH_FAILED');
    expect(first.message).toContain('Incorrect username or password');
    const second = await failure(serverHealth(s, attended));
    expect(second.message).toContain('already refused this password');
    expect(fake.loginAttempts()).toBe(1);
  });

  it('says in plain words that a non-superuser cannot use the backup API (400)', async () => {
    const { fake, session } = await fakeWith();
    const bob = session({ username: 'bob', password: 'bob-password-1' });
    expect((await bob.identity(attended)).isSuperuser).toBe(false);
    const error = await failure(startExport(bob, { includeAudio: true, archiveQuality: 'compressed' }, attended));
    expect(error.message).toContain('"bob" on Nojoin "Nojoin (fake)" is not a superuser');
    // The server's own answer, should a call get through: 400 "not enough privileges".
    const raw = await failure(bob.send('POST', '/backup/export', {}, attended));
    expect(raw.details).toMatchObject({ status: 400 });
    expect(fake.requests.filter((r) => r.path === '/api/v1/backup/export').map((r) => r.status)).toEqual([400]);
    expect(fake.loginAttempts()).toBe(1);
  });

  it('reports the 10-per-10-minutes login limit and waits it out', async () => {
    const { fake, clock, session } = await fakeWith();
    for (let i = 0; i < 10; i++) await failure(serverHealth(session({ username: 'alice', password: `wrong-${i}` }), attended));
    const s = session();
    const limited = await failure(serverHealth(s, attended));
    expect(limited.code).toBe('HTTP_RATE_LIMITED');
    expect(limited.message).toContain('Too many login attempts');
    expect(limited.details?.retryAfterSeconds).toBeGreaterThan(590);
    // The session waits: no attempt is sent before the window has passed.
    await failure(serverHealth(s, attended));
    expect(fake.loginAttempts()).toBe(11);
    clock.advance(10 * 60_000 + 1000);
    await serverHealth(s, attended);
    expect(fake.loginAttempts()).toBe(12);
  });

  it("lives in the installation's session store and reads the password only to log in", async () => {
    const fleet = await startNojoinFleet();
    running.push({ fake: fleet.fake, sessions: [] });
    const sessions = new InstallationSessions();
    const { secrets: _secrets, ...input } = fleet.installation;
    const installation: Installation = { ...input, id: 'nojoin-1', settings: {}, tags: [], secretPurposes: ['https-password'], createdAt: '2026-09-01T00:00:00Z', updatedAt: '2026-09-01T00:00:00Z' };
    let secretReads = 0;
    const unused = (): never => {
      throw new Error('not used by the Nojoin session');
    };
    const ctx: AdapterContext = {
      signal: attended.signal, progress: () => undefined, log: () => undefined, installation,
      secret: async (purpose) => {
        secretReads++;
        return purpose === 'https-password' ? 'alice-password-1' : null;
      },
      oneTimeCode: () => null, ssh: unused, https: unused, keys: { get: unused, find: async () => null },
      sessions: sessions.storeFor(installation.id), stagingDir: os.tmpdir(),
    };
    const first = await nojoinSessionFor(ctx);
    await serverHealth(first, attended);
    const again = await nojoinSessionFor(ctx);
    expect(again).toBe(first);
    await serverHealth(again, attended);
    expect(secretReads).toBe(1);
    expect(fleet.fake.loginAttempts()).toBe(1);
    const moved = await nojoinSessionFor({ ...ctx, installation: { ...installation, https: { ...installation.https!, timeoutMs: 20_000 } } });
    expect(moved).not.toBe(first);
    await sessions.disposeAll();
  });

  it('gives the certificate fingerprint for pinning', async () => {
    const { fake, session } = await fakeWith();
    expect(await fetchFingerprint(session(), attended)).toBe(normalizeFingerprint(fake.certSha256));
  });
});

describe('export, poll, download', () => {
  let fake: NojoinFakeHandle;
  let clock: TestClock;
  let s: NojoinSession;
  beforeAll(async () => {
    const made = await fakeWith();
    fake = made.fake;
    clock = made.clock;
    s = made.session();
  });

  it('exports, reports stages, and downloads an archive that verifies', async () => {
    const taskId = await startExport(s, { includeAudio: true, archiveQuality: 'compressed' }, attended);
    const stages: string[] = [];
    const done = await waitForExport(s, taskId, attended, { ...FAST, onProgress: (p) => stages.push(p.detail) });
    expect(done.warnings).toEqual({ recordings_without_audio: 2, recordings_audio_failed: 0, documents_without_files: 0, documents_failed: 0 });
    expect(done.zipPath).toMatch(/^\/app\/data\/backups\/tmp\w+\.zip$/);
    expect(stages[0]).toBe('Waiting for a worker...');
    const file = path.join(tmp, 'export.zip');
    const result = await downloadExport(s, taskId, file, attended);
    expect(result.fileName).toMatch(/^nojoin_backup_\d{8}_\d{6}\.zip$/);
    expect(result.resumes).toBe(0);
    const bytes = await readFile(file);
    const zip = await NojoinZip.open(bufferByteSource(bytes), { label: 'export' });
    try {
      const scan = await scanNojoinArchive(zip);
      expect(scan.checks.filter((c) => !c.ok)).toEqual([]);
      expect(scan.tables.find((t) => t.table === 'recordings')?.rows).toBe(3);
      expect(zip.member('recordings/3b0d6c1e-6a4f-4d8e-9b7a-2f1c5e8a9d10.opus')?.uncompressedSize).toBe(27206);
    } finally {
      await zip.close();
    }
  });

  it('resumes a cut download with Range and gets the same bytes', async () => {
    const taskId = await startExport(s, { includeAudio: true, archiveQuality: 'original' }, attended);
    await waitForExport(s, taskId, attended, FAST);
    const whole = path.join(tmp, 'whole.zip');
    await downloadExport(s, taskId, whole, attended);
    fake.faults.cutNextDownloadAfter(5000);
    const resumed = path.join(tmp, 'resumed.zip');
    const result = await downloadExport(s, taskId, resumed, attended);
    expect(result.resumes).toBe(1);
    expect(sha256(await readFile(resumed))).toBe(sha256(await readFile(whole)));
    expect(fake.requests.filter((r) => r.path.endsWith('/download')).map((r) => r.status).slice(-2)).toEqual([200, 206]);
    const tail = await openExportDownload(s, taskId, 100, attended);
    expect(tail.offset).toBe(100);
    tail.stream.destroy();
  });

  it('a corrupted export on the server fails verification on the way in', async () => {
    const taskId = await startExport(s, { includeAudio: true, archiveQuality: 'compressed' }, attended);
    await waitForExport(s, taskId, attended, FAST);
    fake.faults.corruptExport(taskId);
    const verifier = new NojoinStreamVerifier({ stagingDir: tmp, label: 'corrupt.zip' });
    const download = await openExportDownload(s, taskId, 0, attended);
    const chunks: Buffer[] = [];
    for await (const chunk of download.stream) {
      verifier.write(chunk as Buffer);
      chunks.push(chunk as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    const checks = await verifier.finish({ size: bytes.length, sha256: sha256(bytes) });
    expect(checks.filter((c) => !c.ok).length).toBeGreaterThan(0);
  });

  it('turns a failed export and a deleted file into clear errors', async () => {
    fake.faults.failNextExport();
    const failed = await startExport(s, { includeAudio: false, archiveQuality: 'compressed' }, attended);
    const error = await failure(waitForExport(s, failed, attended, FAST));
    expect(error.message).toContain('Backup export failed. Check server logs for details.');
    const taskId = await startExport(s, { includeAudio: false, archiveQuality: 'compressed' }, attended);
    await waitForExport(s, taskId, attended, FAST);
    fake.faults.deleteExportFiles();
    const gone = await failure(downloadExport(s, taskId, path.join(tmp, 'gone.zip'), attended));
    expect(gone.code).toBe('NOT_FOUND');
    expect(gone.message).toContain('deleted 24 to 30 hours after');
  });

  it('a day later the job reads as waiting again (Celery result expiry)', async () => {
    const taskId = await startExport(s, { includeAudio: false, archiveQuality: 'compressed' }, attended);
    await waitForExport(s, taskId, attended, FAST);
    clock.advance(25 * 3_600_000);
    expect((await exportStatus(s, taskId, attended)).state).toBe('PENDING');
    const error = await failure(openExportDownload(s, taskId, 0, attended));
    expect(error.message).toContain('not ready, or failed');
  });
});

/** The target's own edits, so that each conflict mode has something to decide about. */
function editTarget(fake: NojoinFakeHandle): { r1Id: unknown } {
  const { store } = fake;
  const alice = store.rows('users').find((u) => u.username === 'alice')!;
  (alice.settings as Row).theme = 'solarized';
  const r1 = store.rows('recordings').find((r) => r.meeting_uid === R1_UID)!;
  r1.name = 'Q3 planning (renamed on target)';
  store.rows('transcripts').find((t) => t.recording_id === r1.id)!.notes = 'notes written on the target';
  store.rows('global_speakers').find((p) => p.name === 'Dana Smith')!.title = 'Changed on target';
  store.insert('recordings', {
    name: 'Only on the target', meeting_uid: '11111111-2222-4333-8444-555555555555', public_id: '66666666-7777-4888-9999-000000000000',
    audio_path: 'data/recordings/only-target.opus', status: 'PROCESSED', user_id: alice.id, is_deleted: false,
  });
  return { r1Id: r1.id };
}

async function restore(session: NojoinSession, archive: Buffer, mode: ConflictMode, chunkBytes = 4096): Promise<Awaited<ReturnType<typeof waitForRestore>>> {
  const jobId = await uploadForRestore(session, bufferSource(archive), attended, { fileName: 'nojoin_backup_sample.zip', mode, chunkBytes, retryDelayMs: 5 });
  return waitForRestore(session, jobId, attended, FAST);
}

function names(fake: NojoinFakeHandle): string[] {
  return fake.store.rows('recordings').map((r) => String(r.name)).sort();
}

describe('restore in each conflict mode, seen in the server records', () => {
  it('Skip keeps what the target has, adds nothing twice but the task', async () => {
    const { fake, session } = await fakeWith();
    const { r1Id } = editTarget(fake);
    const outcome = await restore(session(), sample, 'skip');
    expect(outcome).toEqual({ status: 'completed', skipped: {} });
    expect(names(fake)).toEqual(['Bob 1:1', 'Only on the target', 'Q3 planning (renamed on target)', 'Vendor call']);
    const r1 = fake.store.rows('recordings').find((r) => r.meeting_uid === R1_UID)!;
    expect(r1.id).toBe(r1Id);
    expect(fake.store.rows('transcripts').find((t) => t.recording_id === r1.id)?.notes).toBe('notes written on the target');
    expect(fake.store.rows('global_speakers').find((p) => p.name === 'Dana Smith')?.title).toBe('Changed on target');
    expect(fake.store.rows('user_tasks').map((t) => t.title)).toEqual(['Send Q3 planning notes', 'Send Q3 planning notes']);
    expect((fake.store.rows('users').find((u) => u.username === 'alice')!.settings as Row).theme).toBe('solarized');
  });

  it('Overwrite replaces conflicting recordings and people, never users', async () => {
    const { fake, session } = await fakeWith();
    const { r1Id } = editTarget(fake);
    const outcome = await restore(session(), sample, 'overwrite', 10_000);
    expect(outcome.status).toBe('completed');
    expect(names(fake)).toEqual(['Bob 1:1', 'Only on the target', 'Q3 planning', 'Vendor call']);
    const r1 = fake.store.rows('recordings').find((r) => r.meeting_uid === R1_UID)!;
    expect(r1.id).not.toBe(r1Id);
    expect(r1.file_size_bytes).toBe(27206);
    expect(fake.store.file(R1_AUDIO)?.length).toBe(27206);
    expect(fake.store.rows('transcripts').find((t) => t.recording_id === r1.id)?.notes).toBe('## Summary\nQ3 plan agreed.');
    expect(fake.store.rows('transcripts').filter((t) => t.recording_id === r1Id)).toEqual([]);
    expect(fake.store.rows('recording_speakers').filter((sp) => sp.recording_id === r1.id)).toHaveLength(2);
    expect(fake.store.rows('global_speakers').find((p) => p.name === 'Dana Smith')?.title).toBe('Head of Ops');
    expect((fake.store.rows('users').find((u) => u.username === 'alice')!.settings as Row).theme).toBe('solarized');
    expect(fake.store.rows('user_tasks')).toHaveLength(2);
  });

  it('Clear all empties every table but users, then restores the archive as it is', async () => {
    const { fake, session } = await fakeWith();
    editTarget(fake);
    const outcome = await restore(session(), sample, 'clear-all');
    expect(outcome.status).toBe('completed');
    expect(names(fake)).toEqual(['Bob 1:1', 'Q3 planning', 'Vendor call']);
    expect(fake.store.rows('user_tasks')).toHaveLength(1);
    expect(fake.store.rows('users').map((u) => u.username).sort()).toEqual(['admin', 'alice', 'bob']);
    expect((fake.store.rows('users').find((u) => u.username === 'alice')!.settings as Row).theme).toBe('solarized');
    expect(fake.store.config).toMatchObject({ web_app_url: 'https://nojoin.example.com' });
    expect(fake.store.filePaths()).toEqual([R1_AUDIO]);
  });

  it('a subset Lifeboat repacked restores into an empty Nojoin', async () => {
    const { fake, session } = await fakeWith({ seedArchive: null });
    const zip = await NojoinZip.open(bufferByteSource(sample), { label: 'sample' });
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    try {
      await repackNojoinSubset(zip, ['recording:101'], out);
    } finally {
      await zip.close();
    }
    const outcome = await restore(session(), Buffer.concat(chunks), 'skip');
    expect(outcome).toEqual({ status: 'completed', skipped: {} });
    expect(names(fake)).toEqual(['Q3 planning']);
    expect(fake.store.file(R1_AUDIO)?.length).toBe(27206);
    expect(fake.store.rows('transcripts')).toHaveLength(1);
    expect(fake.store.rows('calendar_events')).toEqual([]);
  });

  it('reports completed_with_warnings apart from success, with the skipped rows', async () => {
    const { fake, session } = await fakeWith({ seedArchive: null });
    const ownerless = await rewriteZip(sample, (m) => {
      if (m.name !== 'recordings.json') return m;
      const rows = JSON.parse(m.data.toString()) as Row[];
      return { name: m.name, data: JSON.stringify(rows.map((r) => (r.id === 103 ? { ...r, user_id: null } : r))) };
    });
    const outcome = await restore(session(), ownerless, 'skip');
    expect(outcome).toEqual({ status: 'completed_with_warnings', skipped: { recordings: { unresolved_owner: 1 }, transcripts: { unresolved_owner: 1 } } });
    expect(names(fake)).toEqual(['Q3 planning', 'Vendor call']);
  });
});

describe('restore failures', () => {
  it('one invalid row aborts the whole restore with the vague message; Lifeboat names it beforehand', async () => {
    const { fake, session } = await fakeWith();
    const bad = await rewriteZip(sample, (m) => {
      if (m.name !== 'recordings.json') return m;
      const rows = JSON.parse(m.data.toString()) as Row[];
      return { name: m.name, data: JSON.stringify(rows.map(({ name, ...r }) => (r.id === 102 ? r : { ...r, name }))) };
    });
    const zip = await NojoinZip.open(bufferByteSource(bad), { label: 'bad.zip' });
    const named = await failure(assertNojoinWillRestore(zip).finally(() => zip.close()));
    expect(named.message).toContain('recordings.json row 2 (id 102): "name" is missing');
    const before = fake.store.rows('recordings').length;
    const tasks = fake.store.rows('user_tasks').length;
    const error = await failure(restore(session(), bad, 'clear-all'));
    expect(error.code).toBe('RESTORE_FAILED');
    expect(error.message).toContain('Restore failed. Check server logs for details.');
    expect(fake.store.rows('recordings')).toHaveLength(before);
    expect(fake.store.rows('user_tasks')).toHaveLength(tasks);
    expect(fake.store.log.at(-1)).toContain('validation error for recordings: recordings.name: Field required');
  });

  it('a format 3 archive is refused the same vague way', async () => {
    const { fake, session } = await fakeWith();
    const newer = await rewriteZip(sample, (m) => (m.name === 'backup_info.json' ? { name: m.name, data: JSON.stringify({ ...(JSON.parse(m.data.toString()) as Row), format_version: 3 }) } : m));
    await failure(restore(session(), newer, 'skip'));
    expect(fake.store.log.at(-1)).toContain('archive format version 3');
  });

  it('a second restore while one runs gets 409; the upload is discarded', async () => {
    const { fake, session } = await fakeWith({ restoreStepMs: 150 });
    const s = session();
    const first = await uploadForRestore(s, bufferSource(sample), attended, { fileName: 'a.zip', mode: 'skip', chunkBytes: 8192 });
    const error = await failure(uploadForRestore(s, bufferSource(sample), attended, { fileName: 'b.zip', mode: 'skip', chunkBytes: 8192 }));
    expect(error.code).toBe('RESTORE_FAILED');
    expect(error.message).toContain('already running');
    expect(error.details).toMatchObject({ status: 409, detail: 'A restore is already running on this server. Wait for it to finish before starting another.' });
    expect(fake.pendingUploads()).toBe(0);
    expect((await waitForRestore(s, first, attended, FAST)).status).toBe('completed');
  });

  it('retries a failed or dropped chunk by its index and checks every confirmation', async () => {
    const { fake, session } = await fakeWith({ seedArchive: null });
    fake.faults.failChunk(2, 2, 'error');
    fake.faults.failChunk(4, 1, 'drop');
    fake.faults.misconfirmChunk(1);
    const outcome = await restore(session(), sample, 'skip');
    expect(outcome.status).toBe('completed');
    const chunks = fake.requests.filter((r) => r.path.endsWith('/chunk'));
    expect(chunks.filter((r) => r.status === 500)).toHaveLength(2);
    // Six chunks of 4 KiB confirmed, plus the answer that confirmed the wrong index (the dropped one got none).
    expect(chunks.filter((r) => r.status === 200)).toHaveLength(7);
    expect(names(fake)).toEqual(['Bob 1:1', 'Q3 planning', 'Vendor call']);
  });

  it('gives up on a chunk that keeps failing and never completes the upload', async () => {
    const { fake, session } = await fakeWith();
    fake.faults.failChunk(1, 10, 'error');
    const error = await failure(uploadForRestore(session(), bufferSource(sample), attended, { fileName: 'x.zip', mode: 'skip', chunkBytes: 8192, chunkRetries: 2, retryDelayMs: 1 }));
    expect(error.message).toContain('Chunk 1 of the restore upload failed 3 times');
    expect(fake.requests.some((r) => r.path.endsWith('/complete'))).toBe(false);
  });

  it("refuses an archive over the server's upload limit, and a chunk over nginx's", async () => {
    const { session } = await fakeWith({ uploadLimitBytes: 10_000 });
    const error = await failure(uploadForRestore(session(), bufferSource(sample), attended, { fileName: 'x.zip', mode: 'skip' }));
    expect(error.message).toContain('413');
    expect(error.message).toContain('Backup archive is too large');
    const proxied = await fakeWith({ maxRequestBytes: 16_000 });
    const nginx = await failure(uploadForRestore(proxied.session(), bufferSource(sample), attended, { fileName: 'x.zip', mode: 'skip', chunkBytes: 20_000 }));
    expect(nginx.message).toContain('nginx client_max_body_size');
  });
});
