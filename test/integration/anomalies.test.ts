// Anomaly alerts on a real vault: an installation's Loomio dumps imported day after day, then one
// whose tables were emptied; the alert is stored, emitted, shown on the fleet entry, and retention
// keeps the last good snapshots until the operator acknowledges it.
import { readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { Anomaly } from '../../src/shared/anomalies';
import type { Installation } from '../../src/shared/installations';
import { emptiedDump } from '../harness/dump-text';
import { makeTestHome } from '../harness/home';

let core: Core;
let installation: Installation;
const client = () => createInProcessClient(core);
const SQL = path.resolve('test/fixtures/loomio/plaintext/loomio_production.sql');

async function importDay(day: number, content: string): Promise<string> {
  const file = path.join(makeTestHome('anomaly-dump'), 'loomio_production.sql');
  await writeFile(file, `${content}\n-- day ${day}\n`);
  const when = new Date(Date.UTC(2026, 10, day, 3));
  await utimes(file, when, when);
  const { jobId } = await client().call('vault:import', { source: { path: file }, installationId: installation.id });
  const record = await core.jobs.wait(jobId);
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return (record.result as { snapshotId: string }).snapshotId;
}

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('anomalies'), secretStore: new MemorySecretStore('anomalies') });
  await client().call('vault:init', {});
  installation = await client().call('installations:add', { name: 'Loomio A', app: 'loomio', ssh: { host: '127.0.0.1', auth: 'agent' }, settings: {} });
});

afterAll(async () => {
  await core?.close();
});

describe('anomaly alerts', () => {
  it('a shrunken archive raises an alert; retention keeps the earlier snapshots until it is acknowledged', async () => {
    const sql = await readFile(SQL, 'utf8');
    const good: string[] = [];
    for (const day of [1, 2, 3, 4]) {
      good.push(await importDay(day, sql));
      expect(await client().call('anomalies:check', { installationId: installation.id })).toEqual([]);
    }
    const shrunken = await importDay(5, emptiedDump(sql));
    const detected: Anomaly[] = [];
    const off = core.events.on('anomaly:detected', (a) => detected.push(a));
    const found = await client().call('anomalies:check', { installationId: installation.id });
    off();
    expect(found.map((a) => a.kind)).toEqual(expect.arrayContaining(['rows-shrank', 'table-emptied']));
    expect(found.find((a) => a.kind === 'table-emptied' && a.table === 'public.users')?.detail).toMatch(/empty; it had \d+ rows/);
    expect(found.every((a) => a.snapshotId === shrunken)).toBe(true);
    expect(detected.map((a) => a.id).sort()).toEqual(found.map((a) => a.id).sort());
    // A second check finds nothing new: the stored anomaly is not raised again.
    expect(await client().call('anomalies:check', { installationId: installation.id })).toEqual([]);
    const entry = (await client().call('fleet:overview', {})).find((e) => e.installationId === installation.id);
    expect(entry?.anomalies?.map((a) => a.snapshotId)).toContain(shrunken);
    expect((await client().call('anomalies:list', { snapshotId: shrunken.slice(0, 8) })).length).toBe(found.length);

    // keep-last 1 would keep only the shrunken snapshot; the last 3 good ones before it are protected.
    const protectedPreview = await client().call('vault:forget-preview', { policy: { keepLast: 1 }, installationId: installation.id });
    const kept = protectedPreview.groups.flatMap((g) => g.decisions.filter((d) => d.keep).map((d) => d.snapshot.id));
    expect(kept.sort()).toEqual([shrunken, ...good.slice(1)].sort());
    expect(protectedPreview.groups.flatMap((g) => g.decisions).find((d) => d.snapshot.id === good[3])?.reasons.join(' ')).toMatch(/last good snapshots before unacknowledged anomaly/);

    for (const anomaly of found) await client().call('anomalies:acknowledge', { id: anomaly.id, note: 'the test emptied it' });
    expect(await client().call('anomalies:list', { installationId: installation.id })).toEqual([]);
    const { jobId } = await client().call('vault:forget', { policy: { keepLast: 1 }, installationId: installation.id });
    const record = await core.jobs.wait(jobId);
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect((record.result as { removed: string[] }).removed.sort()).toEqual([...good].sort());
  });

  it('thresholds are per installation, with defaults', async () => {
    expect((await client().call('anomalies:thresholds', { installationId: installation.id })).minRowsRatio).toBe(0.5);
    const changed = await client().call('anomalies:thresholds', { installationId: installation.id, set: { minRowsRatio: 0.2 } });
    expect(changed).toMatchObject({ minRowsRatio: 0.2, history: 5 });
    await expect(client().call('anomalies:thresholds', { installationId: installation.id, set: { minRowsRatio: 2 } })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
