// DBackup's restore drill on the server, where the operator allows it: the DBackup fleet member
// (real OpenSSH sshd, real PostgreSQL 15 that DBackup backs up), its newest backup pulled over
// SFTP and drilled into a scratch database lifeboat_drill_<id> beside production on the
// PostgreSQL named by the drill settings (drillDatabaseHost/Port/Name/User, seen from the SSH
// server), then dropped. Production is compared before and after (pg_dump bytes of both databases,
// row counts, the list of databases); the drill password stays in the keychain slot only.
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DrillResult } from '../../src/shared/drills';
import type { Installation } from '../../src/shared/installations';
import { keySlot } from '../../src/main/apps/dbackup/keys';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { startDbackupCore, type DbackupTestCore } from '../fleet/dbackup/core';
import { startDbackupFleet, type DbackupFleet } from '../fleet/dbackup/fleet';

const PASSWORD = 'drill-pw-7c1f0e9a2b';
let fleet: DbackupFleet;
let t: DbackupTestCore;

beforeAll(async () => {
  fleet = await startDbackupFleet({ name: 'DBackup (drill on server)' });
  t = await startDbackupCore('dbackup-drill-on-server');
  t.core.sessionKeys.provide(keySlot(fleet.profileId), fleet.keyHex);
}, 120_000);

afterAll(async () => {
  await t?.core.close();
  await fleet?.stop();
});

function dumpPlain(database: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/lib/postgresql/15/bin/pg_dump', ['-F', 'p', `--dbname=${fleet.postgres.connectionString(database)}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out.replace(/^\\(un)?restrict \S+$/gm, '\\$1restrict KEY')) : reject(new Error(`pg_dump exited ${code}`))));
  });
}

async function production(): Promise<{ dumps: string[]; counts: string; databases: string }> {
  return {
    dumps: [await dumpPlain('loomio_production'), await dumpPlain('analytics')],
    counts: (await fleet.postgres.psql('SELECT (SELECT count(*) FROM users) || \',\' || (SELECT count(*) FROM discussions);', 'loomio_production')).trim(),
    databases: (await fleet.postgres.psql(`SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database;`)).trim(),
  };
}

async function add(name: string, drillSettings: Record<string, string | number>): Promise<Installation> {
  const installation = await t.client().call('installations:add', { ...fleet.installation, name, settings: { ...fleet.installation.settings, ...drillSettings }, secrets: { 'drill-database-password': PASSWORD } });
  await t.client().call('drills:settings', { installationId: installation.id, set: { onServer: true, freeSpacePath: os.tmpdir(), keepFreeBytes: 1024 * 1024 } });
  return installation;
}

async function pulled(installation: Installation): Promise<string> {
  const { record, result } = await t.job<PullResult>(t.client().call('apps:pull', { installationId: installation.id, remoteId: fleet.seeded.singleDb }));
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return result.snapshotId;
}

async function filesOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

it('drills the newest DBackup backup in a scratch database on the PostgreSQL it backs up; production unchanged', async () => {
  const installation = await add('DBackup (drill on server)', { drillDatabaseHost: '127.0.0.1', drillDatabasePort: fleet.postgres.port, drillDatabaseName: 'loomio_production', drillDatabaseUser: 'postgres' });
  const snapshotId = await pulled(installation);
  const before = await production();
  const { record, result } = await t.job<DrillResult>(t.client().call('drills:run', { snapshotId }));
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
  expect(result.target).toMatch(new RegExp(`^scratch database lifeboat_drill_[0-9a-f_]+ on the installation's own PostgreSQL 15\\.\\d+ at 127\\.0\\.0\\.1:${fleet.postgres.port}`));
  expect(result.checks.find((c) => c.id === 'server-space')).toMatchObject({ ok: true, detail: expect.stringMatching(/database loomio_production is/) });
  expect(result.checks.find((c) => c.id === 'scratch-dropped')).toMatchObject({ ok: true });
  expect(Object.fromEntries(result.tables.map((x) => [x.table, x.restored]))).toEqual({ 'public.users': 200, 'public.discussions': 500 });
  expect(result.tables.every((x) => x.ok && x.restored === x.archive)).toBe(true);
  const after = await production();
  expect(after.dumps[0]).toBe(before.dumps[0]);
  expect(after.dumps[1]).toBe(before.dumps[1]);
  expect(after.counts).toBe('200,500');
  expect(after.counts).toBe(before.counts);
  expect(after.databases).toBe(before.databases);
  expect(after.databases).not.toMatch(/lifeboat_drill/);
  // The drill password lives in the secret store only: not in the settings, results or logs of the home.
  for (const file of await filesOf(t.core.home.root)) expect((await readFile(file)).includes(PASSWORD), file).toBe(false);
}, 120_000);

it('without a drill database host the on-server drill is unavailable, naming the setting', async () => {
  const installation = await add('DBackup (no drill host)', {});
  const { record } = await t.job<DrillResult>(t.client().call('drills:run', { snapshotId: await pulled(installation) }));
  expect(record.status).toBe('failed');
  expect(record.error).toMatchObject({ code: 'DRILL_UNAVAILABLE', message: expect.stringMatching(/drillDatabaseHost/) });
}, 60_000);
