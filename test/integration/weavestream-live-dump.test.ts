// A stock Weavestream (no triggerCommand): the restore wizard's safety pull is Lifeboat's own live
// dump — dumpCommand over SSH, streamed into the vault with a manifest by the worker's rules —
// against the real fleet (sshd + PostgreSQL 15, the real pg_dump / pg_restore).
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewReport, RestorePlan, RestoreReport } from '../../src/shared/apps';
import type { LifeboatClient } from '../../src/shared/contract';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { weavestreamModule } from '../../src/main/apps/weavestream';
import { LIVE_DUMP_MIGRATION_HASH } from '../../src/main/apps/weavestream/live-dump';
import { parseWeavestreamFileName } from '../../src/main/apps/weavestream/backup-files';
import { parseWeavestreamManifest } from '../../src/main/apps/weavestream/manifest';
import { makeTestHome } from '../harness/home';
import { runTool } from '../harness/sshd';
import { FLEET_DATABASE, FLEET_WEAVESTREAM_VERSION, startWeavestreamFleet, type WeavestreamFleet } from '../fleet/weavestream/fleet';

const PG_BIN = '/usr/lib/postgresql/15/bin';

let fleet: WeavestreamFleet;
let core: Core;
let client: LifeboatClient;
let installation: Installation;
let workDir: string;
/** The newest seeded dump, pulled as a normal Weavestream backup. */
let pulled: PullResult;
let seedCounts: Record<string, number>;

beforeAll(async () => {
  fleet = await startWeavestreamFleet({ name: 'Weavestream stock', trigger: false });
  core = await createCore({ home: makeTestHome('live-dump'), secretStore: new MemorySecretStore('integration test') });
  client = createInProcessClient(core);
  workDir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-live-dump-'));
  await client.call('vault:init', {});
  installation = await client.call('installations:add', fleet.installation);
  seedCounts = await fleet.counts();
  const { record, result } = await job<PullResult>(client.call('apps:pull', { installationId: installation.id }));
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  pulled = result;
});

afterAll(async () => {
  await core?.close();
  await fleet?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function job<T>(started: Promise<{ jobId: string }>): Promise<{ record: JobRecord; result: T }> {
  const { jobId } = await started;
  const record = await core.jobs.wait(jobId);
  return { record, result: record.result as T };
}

async function plan(snapshotId: string): Promise<RestorePlan> {
  const { record, result } = await job<RestorePlan>(client.call('restore:plan', { installationId: installation.id, source: { snapshotId }, mode: 'full', selection: [] }));
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  expect(result.blocked, JSON.stringify(result.preflight.filter((c) => !c.ok))).toBe(false);
  return result;
}

/** Copies a snapshot's archive out of the vault; returns the file with its size and SHA-256. */
async function extract(snapshotId: string): Promise<{ file: string; size: number; sha256: string }> {
  const [snapshot] = (await client.call('vault:snapshots', {})).filter((s) => s.id === snapshotId);
  const name = snapshot!.archive!.name;
  const file = path.join(workDir, `${snapshotId.slice(0, 8)}-${name}`);
  await pipeline(await core.vault.dump(snapshotId, `/${name}`), createWriteStream(file));
  const bytes = await readFile(file);
  return { file, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

async function sidecarText(snapshotId: string, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await core.vault.dump(snapshotId, `/${name}`)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function setDumpCommand(dumpCommand: string): Promise<void> {
  installation = await client.call('installations:update', { id: installation.id, changes: { ...fleet.installation, settings: { ...fleet.installation.settings, dumpCommand } } });
}

async function snapshotIds(): Promise<string[]> {
  return (await client.call('vault:snapshots', {})).map((s) => s.id).sort();
}

describe('the safety pull of a Weavestream without a trigger', () => {
  let safetyId: string;
  let preRestoreCounts: Record<string, number>;

  it('has no "Run backup now", and says the safety pull uses dumpCommand', () => {
    const capabilities = weavestreamModule.capabilities(installation);
    expect(capabilities.trigger).toBe(false);
    expect(capabilities.notes.join(' ')).toMatch(/Run backup now needs triggerCommand.*; the safety pull before a restore uses dumpCommand/);
  });

  it('makes a pre-restore snapshot by live dump before the restore, in Weavestream\'s own format, writing nothing on the server', async () => {
    await fleet.psql(`INSERT INTO posts (author_id, title, body) SELECT id, 'written after the backup', 'only the safety copy has me' FROM users ORDER BY email LIMIT 1;`);
    await fleet.psql('DELETE FROM sessions;');
    preRestoreCounts = await fleet.counts();
    expect(preRestoreCounts).not.toEqual(seedCounts);
    const serverFiles = await fleet.listBackupDir();

    const restorePlan = await plan(pulled.snapshotId);
    const { record, result: report } = await job<RestoreReport>(client.call('restore:start', { planId: restorePlan.id, confirmation: installation.name }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(report.ok, JSON.stringify(report.checks.filter((c) => !c.ok))).toBe(true);
    expect(await fleet.counts()).toEqual(seedCounts);
    expect(await fleet.listBackupDir()).toEqual(serverFiles);

    safetyId = report.safetySnapshotId!;
    const safety = (await client.call('vault:snapshots', { installationId: installation.id })).find((s) => s.id === safetyId)!;
    expect(safety.source).toBe('pre-restore');
    const dumpName = safety.archive!.name;
    expect(dumpName).toMatch(/^weavestream-postgres-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.dump$/);
    const manifestName = dumpName.replace(/\.dump$/, '.manifest.json');
    expect(safety.sidecars.map((s) => s.name)).toEqual([manifestName]);
    // Retention groups it with the pulled backups of the same installation.
    const normal = (await client.call('vault:snapshots', { installationId: installation.id })).find((s) => s.id === pulled.snapshotId)!;
    expect(safety.paths).toEqual(normal.paths);

    const audit = await client.call('audit:list', { installationId: installation.id });
    expect(audit.find((e) => e.action === 'pull' && e.snapshotId === safetyId)).toMatchObject({ outcome: 'succeeded', detail: `${dumpName} (safety pull before restore)` });

    const stored = await extract(safetyId);
    const text = await sidecarText(safetyId, manifestName);
    expect(text.endsWith('}')).toBe(true);
    const manifest = parseWeavestreamManifest(text, { source: manifestName });
    expect(manifest).toMatchObject({
      filename: dumpName,
      sizeBytes: stored.size,
      sha256: stored.sha256,
      weavestreamVersion: FLEET_WEAVESTREAM_VERSION,
      passwordEncryptionKid: '2',
      prismaMigrationHash: LIVE_DUMP_MIGRATION_HASH,
      databaseUrlHostname: '127.0.0.1',
    });
    expect(Date.parse(manifest.generatedAt)).toBeGreaterThanOrEqual(parseWeavestreamFileName(dumpName)!.startedAt.getTime());
    const listing = await runTool(`${PG_BIN}/pg_restore`, ['--list', stored.file]);
    expect(listing).toMatch(/;\s+Format: CUSTOM/);
    expect(listing).toMatch(/;\s+dbname: weavestream\n/);
  });

  it('previews the safety snapshot like a pulled Weavestream backup: pg_restore --list\'s tables, the live row counts of that moment', async () => {
    const stored = await extract(safetyId);
    const listing = await runTool(`${PG_BIN}/pg_restore`, ['--list', stored.file]);
    const listedTables = listing.split('\n').map((l) => / TABLE public (\S+) /.exec(l)?.[1]).filter((t): t is string => t !== undefined).sort();

    const { record, result: preview } = await job<PreviewReport>(client.call('apps:preview', { source: { snapshotId: safetyId } }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(preview.app).toBe('weavestream');
    expect(preview.integrity.ok, JSON.stringify(preview.integrity.checks)).toBe(true);
    expect(preview.integrity.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['manifest', 'filename', 'size', 'sha256', 'header', 'toc', 'data']));
    expect(preview.contents.rows.map((r) => r.table).sort()).toEqual(listedTables);
    for (const row of preview.contents.rows) expect(row.rows, String(row.table)).toBe(preRestoreCounts[row.table as string]);
    const fact = (label: string): string | undefined => preview.summary.find((s) => s.label === label)?.value;
    expect(Number(fact('TOC entries'))).toBe(Number(/;\s+TOC Entries: (\d+)/.exec(listing)?.[1]));
    expect(fact('Prisma migration hash')).toBe(LIVE_DUMP_MIGRATION_HASH);
    expect(preview.warnings).toContain(`The manifest has no migration hash (${LIVE_DUMP_MIGRATION_HASH.slice('unknown:'.length)}); migration compatibility is checked from _prisma_migrations only.`);
    expect(fact('Applied migrations in the dump')).toBe('3 (newest 0033_scheduled_backups)');
    expect(fact('SHA-256')).toBe(stored.sha256);
  });

  it('restoring from the safety snapshot brings the pre-restore data back', async () => {
    const back = await plan(safetyId);
    expect(back.preflight.find((c) => c.id === 'applied-migrations')).toMatchObject({ ok: true });
    expect(back.preflight.find((c) => c.id === 'password-kid')).toMatchObject({ ok: true });
    const { record, result: report } = await job<RestoreReport>(client.call('restore:start', { planId: back.id, confirmation: installation.name }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(report.ok, JSON.stringify(report.checks.filter((c) => !c.ok))).toBe(true);
    expect(await fleet.counts()).toEqual(preRestoreCounts);
    expect((await fleet.psql(`SELECT body FROM posts WHERE title = 'written after the backup';`)).trim()).toBe('only the safety copy has me');
    // That restore made its own safety copy first: the state it replaced.
    expect(report.safetySnapshotId).not.toBe(safetyId);
    const second = (await client.call('vault:snapshots', { installationId: installation.id })).find((s) => s.id === report.safetySnapshotId);
    expect(second?.source).toBe('pre-restore');
  });

  it('a failing dumpCommand fails the safety pull with the command and pg_dump\'s error, and nothing is restored', async () => {
    await fleet.psql('DELETE FROM audit_log;');
    const before = await fleet.counts();
    const snapshots = await snapshotIds();
    const restorePlan = await plan(pulled.snapshotId);
    const wrong = '. ./fleet.env && exec "$PG_BIN/pg_dump" --format=custom -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d weavestream_gone';
    await setDumpCommand(wrong);
    try {
      const { record } = await job<RestoreReport>(client.call('restore:start', { planId: restorePlan.id, confirmation: installation.name }));
      expect(record.status).toBe('failed');
      expect(record.error?.code).toBe('SSH_COMMAND_FAILED');
      expect(record.error?.message).toContain('dumpCommand');
      expect(record.error?.message).toContain('weavestream_gone');
      expect(record.error?.message).toMatch(/exited with code 1/);
      expect(record.error?.message).toMatch(/pg_dump: error: .*database "weavestream_gone" does not exist/s);
    } finally {
      await setDumpCommand(String(fleet.installation.settings!.dumpCommand));
    }
    expect(await fleet.counts()).toEqual(before);
    expect(await snapshotIds()).toEqual(snapshots);
    expect(await client.call('apps:quarantine', {})).toEqual([]);
    expect(await client.call('restore:report', { planId: restorePlan.id })).toMatchObject({ ok: false, safetySnapshotId: null });
  });

  it('cancelling while pg_dump runs leaves no snapshot, stops pg_dump and leaves the target untouched', async () => {
    const before = await fleet.counts();
    const snapshots = await snapshotIds();
    const restorePlan = await plan(pulled.snapshotId);
    // A session holding a table lock keeps pg_dump waiting mid-dump, so the cancel lands during it.
    const connect = async (): Promise<pg.Client> => {
      const db = new pg.Client({ host: '127.0.0.1', port: fleet.postgres.port, user: 'postgres', database: FLEET_DATABASE });
      await db.connect();
      return db;
    };
    const [locker, watcher] = await Promise.all([connect(), connect()]);
    // pg_stat_activity is read once per transaction: the watcher asks outside the locker's.
    const dumpSessions = async (waitingForLock: boolean): Promise<number> => {
      const result = await watcher.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'pg_dump'${waitingForLock ? ` AND wait_event_type = 'Lock'` : ''}`);
      return Number(result.rows[0]?.n);
    };
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE posts IN ACCESS EXCLUSIVE MODE');
      const { jobId } = await client.call('restore:start', { planId: restorePlan.id, confirmation: installation.name });
      await until(async () => (await dumpSessions(true)) === 1, 'pg_dump to wait for the lock');
      await client.call('jobs:cancel', { id: jobId });
      const record = await core.jobs.wait(jobId);
      expect(record.status).toBe('cancelled');
      // Still holding the lock: pg_dump can only be gone because the cancel stopped it.
      await until(async () => (await dumpSessions(false)) === 0, 'the remote pg_dump to stop');
    } finally {
      await locker.query('ROLLBACK');
      await Promise.all([locker.end(), watcher.end()]);
    }
    expect(await snapshotIds()).toEqual(snapshots);
    expect(await fleet.counts()).toEqual(before);
    expect(await client.call('apps:quarantine', {})).toEqual([]);
  });
});

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
