// The Loomio Pi stack module against its fleet member (real OpenSSH sshd, PostgreSQL 15, dumps by
// the real pg_dump, seeds encrypted by Lifeboat's encryptor, triggered backups by an openssl
// Fernet in the stack's backup script), through the core: list, pull of every tier and both
// generations, a quarantined altered file, a full round trip, a dump with one failing statement,
// a cancel before the point of no return, and the empty-database mode.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewReport, RestorePlan, RestoreReport } from '../../src/shared/apps';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import { LifeboatError } from '../../src/shared/errors';
import type { ArchiveAccess, RestoreContext } from '../../src/main/apps/adapter';
import { openArchive } from '../../src/main/apps/archive-access';
import { createAdapterContext } from '../../src/main/apps/context';
import { loomioModule } from '../../src/main/apps/loomio';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { APP_MODULES, AppRegistry } from '../../src/main/apps/registry';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { makeTestHome } from '../harness/home';
import { startLoomioFleet, type LoomioFleet } from '../fleet/loomio/fleet';

let fleet: LoomioFleet;
let core: Core;
let installation: Installation;
let home: string;
const client = () => createInProcessClient(core);

beforeAll(async () => {
  fleet = await startLoomioFleet();
  const modules = APP_MODULES.some((m) => m.kind === 'loomio') ? APP_MODULES : [...APP_MODULES, loomioModule];
  home = makeTestHome('loomio');
  core = await createCore({ home, secretStore: new MemorySecretStore('loomio integration'), apps: new AppRegistry(modules) });
  await client().call('vault:init', {});
  installation = await client().call('installations:add', fleet.installation);
});

afterAll(async () => {
  await core?.close();
  await fleet?.stop();
});

async function job<T>(started: Promise<{ jobId: string }>): Promise<{ record: JobRecord; result: T }> {
  const record = await core.jobs.wait((await started).jobId);
  return { record, result: record.result as T };
}

async function pull(remoteId: string): Promise<PullResult> {
  const { record, result } = await job<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId }));
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return result;
}

/** The listed (versioned) id of a backup at a location: `<location>@<Fernet time or m<mtime>>`. */
async function listedId(location: string): Promise<string> {
  const list = await client().call('apps:list-remote', { installationId: installation.id });
  const found = list.find((b) => b.id.replace(/@m?\d+$/, '') === location);
  if (!found) throw new Error(`${location} is not listed: ${list.map((b) => b.id).join(', ')}`);
  return found.id;
}

/** The snapshot pulled from a location. */
async function snapshotOf(location: string): Promise<string> {
  const snapshots = await client().call('vault:snapshots', { installationId: installation.id });
  const found = snapshots.find((x) => x.source === 'pull' && x.remoteId?.replace(/@m?\d+$/, '') === location);
  if (!found) throw new Error(`no snapshot of ${location}`);
  return found.id;
}

async function plan(snapshotId: string, mode: string, target: Installation = installation): Promise<RestorePlan> {
  const { record, result } = await job<RestorePlan>(client().call('restore:plan', { installationId: target.id, source: { snapshotId }, mode, selection: [] }));
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return result;
}

describe('listing', () => {
  it('lists both generations and all three folders with tier, Fernet time and a security finding; never the restore leftover', async () => {
    const list = await client().call('apps:list-remote', { installationId: installation.id });
    const ids = list.map((b) => b.id.replace(/@m?\d+$/, ''));
    const s = fleet.seeded;
    expect(ids).toEqual(expect.arrayContaining([s.hourly, s.daily, s.weekly, s.manual, s.unencrypted, `backups/${s.v1}`, `data/db_backup/${s.intermediate}`]));
    expect(ids.some((id) => id.includes('restore_') || id.startsWith('.'))).toBe(false);
    const byId = new Map(list.map((b) => [b.id.replace(/@m?\d+$/, ''), b]));
    // Each id names the write too: the Fernet time, or the mtime of a plain file.
    expect(byId.get(s.hourly)?.id).toBe(`${s.hourly}@${Date.parse(byId.get(s.hourly)!.details.fernetTime!) / 1000}`);
    expect(byId.get(s.unencrypted)?.id).toMatch(/@m\d+$/);
    expect(byId.get(s.manual)?.details).toMatchObject({ tier: 'manual', reason: 'before-upgrade', generation: 'head', encrypted: 'yes (Fernet)' });
    expect(byId.get(`backups/${s.v1}`)?.details).toMatchObject({ tier: 'v1', generation: 'v1' });
    expect(byId.get(`backups/${s.v1}`)?.details.retention).toMatch(/never deleted/);
    expect(byId.get(s.unencrypted)?.details.encrypted).toMatch(/^NO/);
    // The Fernet time (encryption time, read without the key) is the listed time.
    expect(byId.get(s.hourly)?.createdAt).toBe(byId.get(s.hourly)?.details.fernetTime);
    for (const backup of list) expect(backup.details.securityFinding).toMatch(/restore_1763900000\.sql .*unencrypted copy of the whole database/);
  });

  it('the connection test reports the finding as well', async () => {
    const ctx = createAdapterContext(core, installation, { signal: new AbortController().signal, progress: () => undefined, log: () => undefined });
    try {
      expect(await loomioModule.checkAccess!(ctx)).toMatch(/7 backup\(s\).*SECURITY FINDING: .*restore_1763900000\.sql/);
    } finally {
      await ctx.close();
    }
  });

  it('the fleet row carries it (overview and `lifeboat fleet`): a plaintext dump lying on the server, with path, size and age', async () => {
    const { jobIds } = await client().call('fleet:refresh', { installationId: installation.id });
    await Promise.all(jobIds.map((id) => core.jobs.wait(id)));
    const row = (await client().call('fleet:overview', {})).find((f) => f.installationId === installation.id)!;
    expect(row.findings).toHaveLength(1);
    expect(row.findings![0]).toMatch(/^a plaintext database dump is lying on the server: \S+\/restore_1763900000\.sql \(\d+(\.\d)? KiB, (under a minute|\d+ minutes?) old, since \d{4}-/);
    // The command line shows it under the table (a second process on the same home: listing needs no secret).
    const cli = spawnSync(process.execPath, [path.resolve('bin/lifeboat.mjs'), 'fleet', '--refresh'], { env: { ...process.env, LIFEBOAT_HOME: home }, encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`SECURITY FINDING on ${installation.name.replace(/[()]/g, '\\$&')}: a plaintext database dump is lying on the server: .*restore_1763900000\\.sql`));
  });
});

describe('pulls', () => {
  it('pulls every tier and both generations, each verified by its HMAC (or as a complete plain dump)', async () => {
    const s = fleet.seeded;
    for (const id of [s.hourly, s.daily, s.weekly, s.manual, `backups/${s.v1}`, `data/db_backup/${s.intermediate}`]) {
      const result = await pull(await listedId(id));
      expect(result.checks.map((c) => [c.id, c.ok]), id).toEqual([['size', true], ['fernet-hmac', true]]);
    }
    const plain = await pull(await listedId(s.unencrypted));
    expect(plain.checks.find((c) => c.id === 'plain-dump')).toMatchObject({ ok: true, detail: expect.stringMatching(/not encrypted/) });
  });

  it('"Run backup now" runs the stack\'s manual backup (openssl Fernet) and the pull verifies it', async () => {
    const { record, result } = await job<{ remoteId: string | null }>(client().call('apps:trigger', { installationId: installation.id }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(result.remoteId).toMatch(/^loomio-manual-\d{8}-\d{6}-lifeboat-[0-9a-f]{6}\.sql\.enc@\d+$/);
    expect((await pull(result.remoteId!)).checks.every((c) => c.ok)).toBe(true);
  });

  it('quarantines an altered backup, and says "altered" since the same key verified the others', async () => {
    const name = await fleet.backupNow('hourly');
    const file = `${fleet.backupDir}/${name}`;
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(file);
    bytes[bytes.length - 200] = bytes[bytes.length - 200] === 0x41 ? 0x42 : 0x41;
    await fleet.writeOwnedFile(file, bytes);
    const id = await listedId(name);
    const { record } = await job<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId: id }));
    expect(record.status).toBe('failed');
    expect(record.error?.code).toBe('ARCHIVE_VERIFY_FAILED');
    expect(record.error?.message).toMatch(/altered or damaged/);
    expect((await client().call('apps:quarantine', {})).some((q) => q.remoteId === id)).toBe(true);
  });

  it('a daily backup the stack overwrote the same day is a new backup to pull; the old id says so', async () => {
    const oldId = await listedId(fleet.seeded.daily);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await fleet.backupNow('daily')).toBe(fleet.seeded.daily);
    const newId = await listedId(fleet.seeded.daily);
    expect(newId).not.toBe(oldId);
    const again = await pull(newId);
    expect(again.alreadyInVault).toBe(false);
    // The old id is in the vault already (the runner answers from there); a stale id never pulled reaches the server.
    const { record } = await job<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId: `${oldId.replace(/@\d+$/, '')}@1` }));
    expect(record.error?.code).toBe('NOT_FOUND');
    expect(record.error?.message).toMatch(/overwritten since it was listed/);
  });

  it('previews a pulled snapshot: the COPY counts are the live counts at dump time', async () => {
    const snapshotId = await snapshotOf(fleet.seeded.hourly);
    const { record, result } = await job<PreviewReport>(client().call('apps:preview', { source: { snapshotId }, installationId: installation.id }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(result.integrity.ok).toBe(true);
    expect(Object.fromEntries(result.contents.rows.map((r) => [String(r.table).replace(/^public\./, ''), r.rows]))).toEqual(await fleet.counts());
    // And what a line tool counts in the plaintext pg_dump writes of the same data: the lines between each COPY and its \.
    const awk = execFileSync('awk', ['/^COPY .* FROM stdin;$/ { table = $2; rows = 0; inside = 1; next } inside && $0 == "\\\\." { print table, rows; inside = 0; next } inside { rows++ }'], { input: await fleet.dumpPlain(), encoding: 'utf8' });
    const counted = Object.fromEntries(awk.trim().split('\n').map((line) => line.split(' ')).map(([table, rows]) => [table!, Number(rows)]));
    expect(Object.keys(counted).length).toBeGreaterThan(3);
    expect(Object.fromEntries(result.contents.rows.map((r) => [r.table, r.rows]))).toEqual(counted);
  });
});

describe('restore', () => {
  it('full round trip: pull → change live rows → restore → counts match, services back, a copy for reboots', async () => {
    const snapshotId = await snapshotOf(fleet.seeded.manual);
    const archived = await fleet.counts();
    await fleet.psql(`DELETE FROM comments WHERE id > 100; INSERT INTO users (email) VALUES ('new@example.org'); CREATE TABLE scratch (a int);`);
    const restorePlan = await plan(snapshotId, 'full');
    expect(restorePlan.blocked, JSON.stringify(restorePlan.preflight)).toBe(false);
    expect(restorePlan.changes).toEqual(expect.arrayContaining([
      { item: 'public.comments', action: 'replace', live: 100, archive: archived.comments },
      { item: 'public.users', action: 'replace', live: archived.users! + 1, archive: archived.users },
      { item: 'public.scratch (not in the dump)', action: 'remove', live: 0, archive: null },
    ]));
    const logBefore = (await fleet.composeLog()).length;
    const { record, result } = await job<RestoreReport>(client().call('restore:start', { planId: restorePlan.id, confirmation: installation.name }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(result).toMatchObject({ ok: true, outcome: 'verified' });
    expect(result.safetySnapshotId).not.toBeNull();
    expect(await fleet.counts()).toEqual(archived);
    expect((await fleet.composeLog()).slice(logBefore).filter((l) => /^(stop|start) app worker channels hocuspocus$/.test(l))).toEqual(['stop app worker channels hocuspocus', 'start app worker channels hocuspocus']);
    expect(await fleet.services()).toEqual({ app: true, worker: true, channels: true, hocuspocus: true });
    expect(result.checks.find((c) => c.id === 'reboot-copy')).toMatchObject({ ok: true });
    expect(result.checks.find((c) => c.id === 'services')).toMatchObject({ ok: true, detail: 'app, worker, channels, hocuspocus running' });
    expect(result.checks.filter((c) => c.id.startsWith('rows:')).every((c) => c.ok)).toBe(true);
    // The copy for reboots is a real backup of the restored state: it pulls and verifies.
    const copy = (await fleet.list('data/production/backups')).find((n) => n.endsWith('-lifeboat-restore.sql.enc'))!;
    expect((await pull(await listedId(copy))).checks.every((c) => c.ok)).toBe(true);
    expect((await fleet.psql(`SELECT datname FROM pg_database WHERE datname LIKE '%lifeboat%';`, 'postgres')).trim()).toBe('');
  });

  it('a dump with one failing statement restores nothing, names the statement, and leaves services running', async () => {
    const dump = (await fleet.dumpPlain()).toString('utf8');
    const broken = dump.replace('\\.\n', '\\.\n\nSELECT lifeboat_no_such_function(42);\n');
    const brokenLine = broken.split('\n').indexOf('SELECT lifeboat_no_such_function(42);') + 1;
    const name = 'loomio-manual-20261124-101010-broken.sql.enc';
    await fleet.writeBackup(`data/production/backups/${name}`, Buffer.from(broken));
    const snapshotId = (await pull(await listedId(name))).snapshotId;
    await fleet.psql(`DELETE FROM comments WHERE id > 130;`);
    const before = await fleet.counts();
    const restorePlan = await plan(snapshotId, 'full');
    expect(restorePlan.blocked).toBe(false);
    const { record } = await job<RestoreReport>(client().call('restore:start', { planId: restorePlan.id, confirmation: installation.name, skipSafetyPull: { reason: 'test: the failing dump changes nothing' } }));
    expect(record.status).toBe('failed');
    expect(record.error?.code).toBe('RESTORE_FAILED');
    expect(record.error?.message).toContain(`line ${brokenLine} of the dump`);
    expect(record.error?.message).toMatch(/function lifeboat_no_such_function\(integer\) does not exist/);
    expect(record.error?.message).toContain('statement: SELECT lifeboat_no_such_function(42);');
    expect(await fleet.counts()).toEqual(before);
    expect(await fleet.services()).toEqual({ app: true, worker: true, channels: true, hocuspocus: true });
    expect((await fleet.psql(`SELECT datname FROM pg_database WHERE datname LIKE '%lifeboat%';`, 'postgres')).trim()).toBe('');
  });

  it('a failing statement early in a large dump is named too (psql stops while the stream is still sending)', async () => {
    const dump = (await fleet.dumpPlain()).toString('utf8');
    const rows = Array.from({ length: 200_000 }, (_, i) => `row ${i} ${'x'.repeat(80)}`).join('\n');
    const large = dump.replace('SET statement_timeout = 0;', 'SET statement_timeout = 0;\nSELECT lifeboat_fails_early();')
      .replace('-- PostgreSQL database dump complete', `CREATE TABLE public.filler (t text);\nCOPY public.filler (t) FROM stdin;\n${rows}\n\\.\n\n-- PostgreSQL database dump complete`);
    const name = 'loomio-manual-20261124-111111-large-broken.sql.enc';
    await fleet.writeBackup(`data/production/backups/${name}`, Buffer.from(large));
    const snapshotId = (await pull(await listedId(name))).snapshotId;
    const before = await fleet.counts();
    const restorePlan = await plan(snapshotId, 'full');
    const { record } = await job<RestoreReport>(client().call('restore:start', { planId: restorePlan.id, confirmation: installation.name, skipSafetyPull: { reason: 'test: the failing dump changes nothing' } }));
    expect(record.status).toBe('failed');
    expect(record.error?.message).toMatch(/function lifeboat_fails_early\(\) does not exist/);
    expect(await fleet.counts()).toEqual(before);
    expect(await fleet.services()).toEqual({ app: true, worker: true, channels: true, hocuspocus: true });
  });

  it('a cancel before the point of no return leaves the database and the services as they were', async () => {
    const snapshotId = await snapshotOf(fleet.seeded.hourly);
    await fleet.psql(`INSERT INTO groups (name) VALUES ('made after the backup');`);
    const before = await fleet.counts();
    const restorePlan = await plan(snapshotId, 'full');
    const opened = await openArchive(core, { snapshotId });
    const abort = new AbortController();
    const passed: string[] = [];
    const log: string[] = [];
    const ctx = createAdapterContext(core, installation, {
      signal: abort.signal,
      progress: () => undefined,
      log(line) {
        log.push(line);
        // The services are stopped and the new database exists: cancel right as the load starts.
        if (line.startsWith('Loading the dump into the new database')) abort.abort();
      },
    });
    const restoreCtx: RestoreContext = { ...ctx, passPointOfNoReturn: (what) => void passed.push(what) };
    const report = await previewOf(opened.access);
    let error: unknown;
    try {
      await loomioModule.restore!.run(restoreCtx, { plan: restorePlan, archive: opened.access, preview: report });
    } catch (e) {
      error = e;
    } finally {
      await ctx.close();
    }
    expect(error, log.join('\n')).toBeInstanceOf(LifeboatError);
    expect((error as LifeboatError).code).toBe('CANCELLED');
    expect(passed).toEqual([]);
    expect(log).toContain('Stopping app worker channels hocuspocus.');
    expect(log).toContain('Starting app worker channels hocuspocus again.');
    expect(await fleet.counts()).toEqual(before);
    expect(await fleet.services()).toEqual({ app: true, worker: true, channels: true, hocuspocus: true });
    expect((await fleet.psql(`SELECT datname FROM pg_database WHERE datname LIKE '%lifeboat%';`, 'postgres')).trim()).toBe('');
  });

  it('empty-database mode: refused for a database with tables, loads into an empty one', async () => {
    const snapshotId = await snapshotOf(fleet.seeded.daily);
    const refused = await plan(snapshotId, 'empty-database');
    expect(refused.blocked).toBe(true);
    expect(refused.preflight.find((c) => c.id === 'target-empty')).toMatchObject({ ok: false });

    await fleet.psql('CREATE DATABASE loomio_empty;', 'postgres');
    const empty = await client().call('installations:add', { ...fleet.installation, name: 'Loomio (empty database)', settings: { ...fleet.installation.settings, databaseName: 'loomio_empty' } });
    const restorePlan = await plan(snapshotId, 'empty-database', empty);
    expect(restorePlan.blocked, JSON.stringify(restorePlan.preflight)).toBe(false);
    expect(restorePlan.changes.every((c) => c.action === 'add')).toBe(true);
    const { record, result } = await job<RestoreReport>(client().call('restore:start', { planId: restorePlan.id, confirmation: empty.name, confirmCrossInstallation: true, skipSafetyPull: { reason: 'test: the target is empty' } }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(result.outcome).toBe('verified');
    // The verification compared every table; the seed had 25 users.
    expect(result.checks.find((c) => c.id === 'rows:public.users')).toMatchObject({ ok: true, detail: '25 rows live, 25 in the dump' });
    expect((await fleet.psql(`SELECT count(*) FROM users;`, 'loomio_empty')).trim()).toBe('25');
  });

  // Last: it leaves worker stopped, as a start command that forgets it would.
  it('a service that does not come back after the restore fails the verification, by name', async () => {
    const snapshotId = await snapshotOf(fleet.seeded.daily);
    const forgetful = await client().call('installations:add', { ...fleet.installation, name: 'Loomio (start forgets worker)', settings: { ...fleet.installation.settings, startCommand: 'bin/loomio-compose start app channels hocuspocus' } });
    const restorePlan = await plan(snapshotId, 'full', forgetful);
    expect(restorePlan.blocked, JSON.stringify(restorePlan.preflight)).toBe(false);
    const { jobId } = await client().call('restore:start', { planId: restorePlan.id, confirmation: forgetful.name, confirmCrossInstallation: true, skipSafetyPull: { reason: 'test: same data' } });
    const record = await core.jobs.wait(jobId);
    const report = record.result as RestoreReport;
    expect(report.ok).toBe(false);
    expect(report.outcome).not.toBe('verified');
    expect(report.checks.filter((c) => c.id.startsWith('rows:')).every((c) => c.ok)).toBe(true);
    expect(report.checks.find((c) => c.id === 'services')).toMatchObject({ ok: false, detail: expect.stringMatching(/^not running after the restore: worker /) });
    expect(await fleet.services()).toEqual({ app: true, worker: false, channels: true, hocuspocus: true });
  });
});

async function previewOf(archive: ArchiveAccess): Promise<PreviewReport> {
  const { formatContext } = await import('../harness/format-context');
  const report = await loomioModule.format.preview(archive, formatContext({ signal: new AbortController().signal, progress: () => undefined, log: () => undefined }, { 'backup-encryption-key': fleet.passphrase }));
  return { ...report, source: { kind: 'file', name: archive.fileName } };
}
