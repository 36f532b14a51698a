// Weavestream's restore drill on the installation's own server, against the test fleet (real
// OpenSSH sshd, real PostgreSQL 15 holding production): the newest backup pulled, drilled into a
// scratch database lifeboat_drill_<id> beside production over SSH, then dropped; production is
// compared before and after (pg_dump bytes, row counts, the list of databases).
import { spawn } from 'node:child_process';
import os from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DrillResult } from '../../src/shared/drills';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { ensureVault, startTestFleet, type TestFleet } from '../fleet/index';
import { makeTestHome } from '../harness/home';

let core: Core;
let fleet: TestFleet;
const client = () => createInProcessClient(core);

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('ws-drill-on-server'), secretStore: new MemorySecretStore('ws drill on server') });
  fleet = await startTestFleet(core);
  await ensureVault(core);
}, 120_000);

afterAll(async () => {
  await core?.close();
  await fleet?.stop();
});

function dumpProduction(): Promise<string> {
  const pg = fleet.weavestream.postgres;
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/lib/postgresql/15/bin/pg_dump', ['-F', 'p', `--dbname=${pg.connectionString('weavestream')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out.replace(/^\\(un)?restrict \S+$/gm, '\\$1restrict KEY')) : reject(new Error(`pg_dump exited ${code}`))));
  });
}

async function production(): Promise<{ dump: string; counts: Record<string, number>; databases: string }> {
  return {
    dump: await dumpProduction(),
    counts: await fleet.weavestream.counts(),
    databases: (await fleet.weavestream.postgres.psql(`SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database;`)).trim(),
  };
}

it('drills the fleet Weavestream\'s newest backup in a scratch database on its own server; production unchanged', async () => {
  const id = fleet.installations.weavestream.id;
  await client().call('drills:settings', { installationId: id, set: { onServer: true, freeSpacePath: os.tmpdir(), keepFreeBytes: 1024 * 1024 } });
  const newest = (await client().call('apps:list-remote', { installationId: id }))[0]!;
  const pulled = await core.jobs.wait((await client().call('apps:pull', { installationId: id, remoteId: newest.id })).jobId);
  expect(pulled.status, JSON.stringify(pulled.error)).toBe('succeeded');
  const before = await production();
  const record = await core.jobs.wait((await client().call('drills:run', { snapshotId: (pulled.result as PullResult).snapshotId })).jobId);
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  const result = record.result as DrillResult;
  expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
  expect(result.target).toMatch(new RegExp(`^scratch database lifeboat_drill_[0-9a-f_]+ on the installation's own PostgreSQL 15\\.\\d+ at 127\\.0\\.0\\.1:${fleet.weavestream.postgres.port}`));
  expect(result.checks.find((c) => c.id === 'scratch-dropped')).toMatchObject({ ok: true });
  expect(result.tables.every((t) => t.ok && t.restored === t.archive)).toBe(true);
  expect(result.tables.some((t) => (t.restored ?? 0) > 0)).toBe(true);
  const after = await production();
  expect(after.dump).toBe(before.dump);
  expect(after.counts).toEqual(before.counts);
  expect(after.databases).toBe(before.databases);
  expect(after.databases).not.toMatch(/lifeboat_drill/);
}, 120_000);
