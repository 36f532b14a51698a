// A transfer cut mid-way, through the generic pull runner against the real fleet: Weavestream's
// SFTP source resumes at the byte it reached; MeshMonitor's tar.gz download (no Range support)
// restarts cleanly. Either way exactly one whole, verified snapshot lands in the vault. The cut is
// injected into the stream, and (Weavestream) made for real: a proxy resets the TCP connection.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_MODULES, AppRegistry } from '../../src/main/apps/registry';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { breakable } from '../harness/breakable-module';
import { startCuttingProxy, type CuttingProxy } from '../harness/cutting-proxy';
import { makeTestHome } from '../harness/home';
import { ensureVault, startTestFleet, type TestFleet } from '../fleet';

let core: Core;
let fleet: TestFleet;
const proxies: CuttingProxy[] = [];

/** Byte limit at which the next transfer of an app kind breaks (once). */
const breakNext = new Map<string, number>();

/** Takes the armed limit of an app kind, once. */
function takeLimit(kind: string): number | null {
  const limit = breakNext.get(kind) ?? null;
  breakNext.delete(kind);
  return limit;
}

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('pull-cut'), secretStore: new MemorySecretStore('integration test'), apps: new AppRegistry(APP_MODULES.map((m) => breakable(m, takeLimit))) });
  await ensureVault(core);
  fleet = await startTestFleet(core);
});

afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
  await core?.close();
  await fleet?.stop();
});

async function pull(installationId: string): Promise<PullResult> {
  const client = createInProcessClient(core);
  const { jobId } = await client.call('apps:pull', { installationId });
  const job = await core.jobs.wait(jobId);
  expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
  return job.result as PullResult;
}

describe('a pull whose connection breaks mid-transfer', () => {
  it('Weavestream over SFTP resumes at the byte it reached, and the snapshot is byte-identical', async () => {
    breakNext.set('weavestream', 5000);
    const result = await pull(fleet.installations.weavestream.id);
    expect(result.resumed).toBe(1);
    expect(result.restarts).toBe(0);
    const snapshots = await core.vault.snapshots({ installationId: fleet.installations.weavestream.id });
    expect(snapshots).toHaveLength(1);
    const dumped: Buffer[] = [];
    for await (const chunk of await core.vault.dump(result.snapshotId, `/${result.remoteId}`)) dumped.push(chunk as Buffer);
    const original = await readFile(`${fleet.weavestream.backupDir}/${result.remoteId}`);
    expect(createHash('sha256').update(Buffer.concat(dumped)).digest('hex')).toBe(createHash('sha256').update(original).digest('hex'));
  });

  it('MeshMonitor over HTTPS (no Range) restarts the transfer cleanly, leaving one verified snapshot', async () => {
    const client = createInProcessClient(core);
    const trigger = await core.jobs.wait((await client.call('apps:trigger', { installationId: fleet.installations.meshmonitor.id })).jobId);
    expect(trigger.status, JSON.stringify(trigger.error)).toBe('succeeded');
    breakNext.set('meshmonitor', 2000);
    const result = await pull(fleet.installations.meshmonitor.id);
    expect(result.restarts).toBe(1);
    expect(result.checks.length).toBeGreaterThan(0);
    expect(result.checks.every((c) => c.ok)).toBe(true);
    const snapshots = await core.vault.snapshots({ installationId: fleet.installations.meshmonitor.id });
    expect(snapshots.map((s) => s.id)).toEqual([result.snapshotId]);
    const job = core.jobs.list({ installationId: fleet.installations.meshmonitor.id }).find((j) => j.kind === 'pull');
    expect(job?.log.some((line) => /restarting it \(1\/2\)/.test(line))).toBe(true);
    await expect((await core.vault.open()).check({ readData: true })).resolves.toMatchObject({ ok: true });
  });
});

describe('a pull whose TCP connection is reset mid-transfer (real sockets, below SSH)', () => {
  it('Weavestream over SFTP opens a new SSH connection and resumes at the byte it reached', async () => {
    // A dump of a few MiB (random hex barely compresses), so the reset lands inside the transfer.
    await addFillerTable();
    const remoteId = await fleet.weavestream.exportNow();
    const original = await readFile(`${fleet.weavestream.backupDir}/${remoteId}`);
    expect(original.length).toBeGreaterThan(2 * 1024 * 1024);
    const input = fleet.weavestream.installation;
    const proxy = await startCuttingProxy({ port: fleet.weavestream.sshd.port }, { cutAfterBytes: 1024 * 1024 });
    proxies.push(proxy);
    const flaky = await createInProcessClient(core).call('installations:add', { ...input, name: 'Weavestream behind a flaky link', ssh: { ...input.ssh!, port: proxy.port } });

    const result = await pull(flaky.id);
    expect(proxy.cuts).toBe(1);
    expect(proxy.connections).toBe(2);
    expect(result.remoteId).toBe(remoteId);
    expect(result.resumed).toBe(1);
    expect(result.restarts).toBe(0);
    // Where it resumed depends on how much the vault had taken when the reset came (read-ahead
    // sits in between), but it is never past what was sent before the reset.
    const job = core.jobs.list({ installationId: flaky.id }).find((j) => j.kind === 'pull');
    const lostAt = Number(/connection lost after (\d+) bytes/.exec(job?.log.join('\n') ?? '')?.[1]);
    expect(lostAt).toBeGreaterThanOrEqual(0);
    expect(lostAt).toBeLessThan(1024 * 1024);
    const dumped: Buffer[] = [];
    for await (const chunk of await core.vault.dump(result.snapshotId, `/${remoteId}`)) dumped.push(chunk as Buffer);
    expect(Buffer.concat(dumped).equals(original)).toBe(true);
  });
});

/** About 6 MiB of random text in the Weavestream database. */
async function addFillerTable(): Promise<void> {
  await fleet.weavestream.psql(`CREATE TABLE filler (id int PRIMARY KEY, body text);
    INSERT INTO filler SELECT g, (SELECT string_agg(md5(random()::text || g::text || i::text), '') FROM generate_series(1, 64) i) FROM generate_series(1, 3000) g;`);
}
