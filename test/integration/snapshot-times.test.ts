// A snapshot's time is when the app made the backup (like `restic backup --time`), not when
// Lifeboat stored it: a dump made days ago and imported today is old, sorts after newer backups,
// and does not make its installation fresh. The time it was stored is kept beside it, and restic
// sees the backup's time too.
import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { makeTestHome } from '../harness/home';
import { resticOk } from '../harness/restic';

let core: Core;
const client = () => createInProcessClient(core);
const DAY = 86_400_000;

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('snapshot-times'), secretStore: new MemorySecretStore('snapshot times') });
  await client().call('vault:init', {});
});

afterAll(async () => {
  await core?.close();
});

async function importMadeAt(name: string, made: Date, installationId?: string): Promise<string> {
  const file = path.join(core.home.root, name);
  await writeFile(file, `${name}\n`);
  await utimes(file, made, made);
  const { jobId } = await client().call('vault:import', { source: { path: file }, allowUnverified: true, ...(installationId ? { installationId } : {}) });
  const job = await core.jobs.wait(jobId);
  // A plain file no app recognises: stored as asked, marked unverified.
  expect(job.status, JSON.stringify(job.error)).toBe('succeeded-with-warnings');
  return (job.result as { snapshotId: string }).snapshotId;
}

describe('snapshot times', () => {
  it('are the backup’s own time, with the time it was stored beside it', async () => {
    const tenDaysAgo = new Date(Math.floor((Date.now() - 10 * DAY) / 1000) * 1000);
    const before = Date.now();
    const id = await importMadeAt('old.dump', tenDaysAgo);
    const snapshot = (await client().call('vault:snapshots', {})).find((s) => s.id === id)!;
    expect(Date.parse(snapshot.time)).toBe(tenDaysAgo.getTime());
    expect(Date.parse(snapshot.storedAt)).toBeGreaterThanOrEqual(before - 1000);
    // restic reads the same time: its own retention and listings agree with Lifeboat's.
    const password = /Password:\s+(\S+)/.exec((await core.vault.recoveryKit()).text)![1]!;
    const listed = JSON.parse(await resticOk(core.home.vaultDir, password, ['snapshots', '--json', id.slice(0, 8)], path.join(core.home.root, 'restic-cache'))) as { time: string }[];
    expect(Date.parse(listed[0]!.time)).toBe(tenDaysAgo.getTime());
  });

  it('sort the vault by when the backups were made, and an old backup does not make its installation fresh', async () => {
    const installation = await client().call('installations:add', { name: 'Old dumps', app: 'weavestream', ssh: { host: '127.0.0.1', auth: 'agent' }, expectedCadenceHours: 24 });
    const older = await importMadeAt('a.dump', new Date(Date.now() - 5 * DAY), installation.id);
    const newer = await importMadeAt('b.dump', new Date(Date.now() - 3 * DAY), installation.id);
    const ids = (await client().call('vault:snapshots', { installationId: installation.id })).map((s) => s.id);
    expect(ids).toEqual([newer, older]);
    const entry = (await client().call('fleet:overview', {})).find((e) => e.installationId === installation.id)!;
    expect(entry.newestSnapshot?.id).toBe(newer);
    expect(entry.freshness).toBe('overdue');
  });

  it('are never later than the moment the backup was stored (a server clock ahead)', async () => {
    const id = await importMadeAt('future.dump', new Date(Date.now() + 30 * DAY));
    const snapshot = (await client().call('vault:snapshots', {})).find((s) => s.id === id)!;
    // The stored-at tag has whole seconds.
    expect(Math.floor(Date.parse(snapshot.time) / 1000)).toBe(Date.parse(snapshot.storedAt) / 1000);
  });
});
