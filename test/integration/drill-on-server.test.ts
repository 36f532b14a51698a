// Restore drills on the installation's own server: the Loomio fleet member (real OpenSSH sshd,
// real PostgreSQL 15 holding the production database), a backup pulled from it, drilled into a
// scratch database lifeboat_drill_<id> beside production over SSH. Production is compared before
// and after (pg_dump bytes, row counts, the list of databases, write counters); the server's own
// statement log shows the scratch database created and dropped there; a dump with a failing
// statement fails, named, and its scratch database is gone too; too little free space refuses
// before anything is created.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillResult } from '../../src/shared/drills';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
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
const client = () => createInProcessClient(core);

beforeAll(async () => {
  fleet = await startLoomioFleet();
  const modules = APP_MODULES.some((m) => m.kind === 'loomio') ? APP_MODULES : [...APP_MODULES, loomioModule];
  core = await createCore({ home: makeTestHome('drill-on-server'), secretStore: new MemorySecretStore('drill on server'), apps: new AppRegistry(modules) });
  await client().call('vault:init', {});
  installation = await client().call('installations:add', fleet.installation);
  // The server logs every CREATE / DROP it runs: the evidence of where the scratch database was.
  await fleet.postgres.psql(`ALTER SYSTEM SET log_statement = 'ddl'; SELECT pg_reload_conf();`);
});

afterAll(async () => {
  await core?.close();
  await fleet?.stop();
});

async function pull(name: string): Promise<string> {
  const list = await client().call('apps:list-remote', { installationId: installation.id });
  const found = list.find((b) => b.id.replace(/@m?\d+$/, '') === name || b.id.startsWith(`${name}@`));
  if (!found) throw new Error(`${name} is not listed`);
  const record = await core.jobs.wait((await client().call('apps:pull', { installationId: installation.id, remoteId: found.id })).jobId);
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return (record.result as PullResult).snapshotId;
}

async function drill(snapshotId: string): Promise<JobRecord> {
  return core.jobs.wait((await client().call('drills:run', { snapshotId })).jobId);
}

/**
 * Everything of production a drill could touch: its pg_dump bytes (less the random key pg_dump
 * 15.14+ writes on its \restrict / \unrestrict lines each run), row counts, write counters, the databases.
 */
async function production(): Promise<{ dump: Buffer; counts: Record<string, number>; writes: string; databases: string }> {
  return {
    dump: Buffer.from((await fleet.dumpPlain()).toString('utf8').replace(/^\\(un)?restrict \S+$/gm, '\\$1restrict KEY')),
    counts: await fleet.counts(),
    writes: (await fleet.psql('SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables;')).trim(),
    databases: (await fleet.postgres.psql(`SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database;`)).trim(),
  };
}

const serverLog = (): Promise<string> => readFile(path.join(fleet.postgres.socketDir, 'postgres.log'), 'utf8');

describe('a drill in a scratch database on the installation\'s own server', () => {
  it('is off by default: the drill runs in a temporary local cluster and nothing is created on the server', async () => {
    expect(await client().call('drills:settings', { installationId: installation.id })).toMatchObject({ onServer: false });
    const logBefore = (await serverLog()).length;
    const record = await drill(await pull(fleet.seeded.hourly));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect((record.result as DrillResult).target).toMatch(/^temporary local PostgreSQL 15 cluster/);
    expect((await serverLog()).slice(logBefore)).not.toMatch(/CREATE DATABASE/);
  });

  it('refuses, before creating anything, when the server\'s free space cannot be read or is too small', async () => {
    await client().call('drills:settings', { installationId: installation.id, set: { onServer: true } });
    const snapshotId = (await client().call('vault:snapshots', { installationId: installation.id }))[0]!.id;
    const logBefore = (await serverLog()).length;
    // The data directory belongs to the postgres OS user: the SSH user cannot df it.
    const unreadable = await drill(snapshotId);
    expect(unreadable.status).toBe('failed');
    expect(unreadable.error?.code).toBe('DRILL_REFUSED');
    expect(unreadable.error?.message).toMatch(/could not tell its free space at .*\/data .*set the drill's free-space path/);

    await client().call('drills:settings', { installationId: installation.id, set: { freeSpacePath: os.tmpdir(), keepFreeBytes: 2 ** 52 } });
    const tooSmall = await drill(snapshotId);
    expect(tooSmall.status).toBe('failed');
    expect(tooSmall.error?.code).toBe('DRILL_REFUSED');
    expect(tooSmall.error?.message).toMatch(/too little free space: about [\d.]+ MiB needed \(database loomio_production is [\d.]+ MiB\), [\d.]+ MiB free at \S+, [\d.]+ MiB kept free/);
    expect((await serverLog()).slice(logBefore)).not.toMatch(/CREATE DATABASE/);
    expect((await core.drills.results(snapshotId)).filter((r) => r.target.includes('own PostgreSQL'))).toEqual([]);
  });

  it('restores a pulled backup there, row counts as in the archive, drops it; production byte-for-byte the same', async () => {
    await client().call('drills:settings', { installationId: installation.id, set: { onServer: true, freeSpacePath: os.tmpdir(), keepFreeBytes: 1024 * 1024 } });
    const snapshotId = await pull(fleet.seeded.daily);
    const before = await production();
    const logBefore = (await serverLog()).length;
    const record = await drill(snapshotId);
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    const result = record.result as DrillResult;
    expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
    expect(result.target).toMatch(new RegExp(`^scratch database (lifeboat_drill_[0-9a-f_]+) on the installation's own PostgreSQL 15\\.\\d+ at 127\\.0\\.0\\.1:${fleet.postgres.port}`));
    const scratch = /lifeboat_drill_[0-9a-f_]+/.exec(result.target)![0];
    expect(result.checks.find((c) => c.id === 'server-space')).toMatchObject({ ok: true, detail: expect.stringMatching(/MiB free at /) });
    expect(result.checks.find((c) => c.id === 'scratch-dropped')).toMatchObject({ ok: true });
    expect(result.tables.length).toBeGreaterThan(1);
    expect(result.tables.every((t) => t.ok && t.restored === t.archive)).toBe(true);
    expect(result.tables.some((t) => (t.restored ?? 0) > 0)).toBe(true);
    // The server itself ran the CREATE and the DROP of that database.
    const log = (await serverLog()).slice(logBefore);
    expect(log).toContain(`CREATE DATABASE "${scratch}"`);
    expect(log).toContain(`DROP DATABASE IF EXISTS "${scratch}"`);
    const after = await production();
    expect(after.dump.equals(before.dump)).toBe(true);
    expect(after.counts).toEqual(before.counts);
    expect(after.writes).toBe(before.writes);
    expect(after.databases).toBe(before.databases);
    expect(after.databases).not.toMatch(/lifeboat_drill/);
  });

  it('a dump with a failing statement fails, the statement named, and its scratch database is gone as well', async () => {
    const bad = 'SELECT lifeboat_no_such_function(42);';
    const dump = (await fleet.dumpPlain()).toString('utf8');
    const name = 'loomio-manual-20261124-101010-drillbroken.sql.enc';
    await fleet.writeBackup(`data/production/backups/${name}`, Buffer.from(dump.replace('\\.\n', `\\.\n\n${bad}\n`)));
    const snapshotId = await pull(name);
    const before = await production();
    const logBefore = (await serverLog()).length;
    const record = await drill(snapshotId);
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    const result = record.result as DrillResult;
    expect(result.restorable).toBe(false);
    expect(result.failure?.message).toMatch(/psql stopped at line \d+: .*lifeboat_no_such_function/);
    expect(result.failure?.statement).toBe(bad);
    const scratch = /lifeboat_drill_[0-9a-f_]+/.exec(result.target)![0];
    const log = (await serverLog()).slice(logBefore);
    expect(log).toContain(`CREATE DATABASE "${scratch}"`);
    expect(log).toContain(`DROP DATABASE IF EXISTS "${scratch}"`);
    expect(result.checks.find((c) => c.id === 'scratch-dropped')).toMatchObject({ ok: true });
    const after = await production();
    expect(after.dump.equals(before.dump)).toBe(true);
    expect(after.counts).toEqual(before.counts);
    expect(after.databases).toBe(before.databases);
    expect(after.databases).not.toMatch(/lifeboat_drill/);
  });
});
