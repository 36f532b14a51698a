// Network faults between Lifeboat's HTTPS client and the fake Nojoin (real TLS, real sockets): the
// cutting proxy sits in between and passes TLS through, so the certificate pin is checked end to
// end. A connection reset mid-body resumes with Range within the job; a stall mid-body ends in a
// typed timeout that names the host and how long nothing arrived, and the job resumes; a slow link
// keeps progress, rate and ETA true and never trips the idle timeout; a certificate that changes
// between two calls to the same installation is refused with both fingerprints shown.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import { startCuttingProxy, type CuttingProxy, type CuttingProxyOptions } from '../harness/cutting-proxy';
import { makeTestHome } from '../harness/home';
import { ensureVault } from '../fleet';
import { startNojoinFleet, type NojoinFleet } from '../fleet/nojoin/fleet';
import { SAMPLE_ARCHIVE } from '../fleet/nojoin/server';
import { rewriteZip } from '../fleet/nojoin/zip-tools';

/** The sample with its first recording's audio grown to this size (random bytes behind its Ogg header). */
const AUDIO_BYTES = 3 * 1024 * 1024;
const MiB = 1024 * 1024;

let core: Core;
let nojoin: NojoinFleet;
let dir: string;
let archive: Buffer;
const proxies: CuttingProxy[] = [];
const client = () => createInProcessClient(core);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-net-faults-'));
  let grown = false;
  archive = await rewriteZip(await readFile(SAMPLE_ARCHIVE), (member) => {
    if (grown || !member.name.startsWith('recordings/')) return { name: member.name, data: member.data };
    grown = true;
    const data = randomBytes(AUDIO_BYTES);
    member.data.copy(data, 0, 0, Math.min(64, member.data.length));
    return { name: member.name, data };
  });
  expect(grown).toBe(true);
  const file = path.join(dir, 'nojoin_backup_20260819_180000.zip');
  await writeFile(file, archive);
  core = await createCore({ home: makeTestHome('net-faults-https'), secretStore: new MemorySecretStore('integration test') });
  await ensureVault(core);
  nojoin = await startNojoinFleet({ exportFile: file, exportStepMs: 10 });
});

afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
  await core?.close();
  await nojoin?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function proxy(options: CuttingProxyOptions, target = nojoin.fake.port): Promise<CuttingProxy> {
  const started = await startCuttingProxy({ port: target }, options);
  proxies.push(started);
  return started;
}

/** The fake Nojoin as an installation reached through `via` (same pinned certificate). */
async function behind(via: CuttingProxy, name: string, timeoutMs?: number): Promise<Installation> {
  const input = nojoin.installation;
  return client().call('installations:add', {
    ...input,
    name,
    https: { ...input.https!, baseUrl: `https://127.0.0.1:${via.port}`, ...(timeoutMs === undefined ? {} : { timeoutMs }) },
  });
}

/** Runs a pull and returns the finished job, with every update it went through. */
async function pull(installationId: string): Promise<{ job: JobRecord; updates: { at: number; job: JobRecord }[] }> {
  const updates: { at: number; job: JobRecord }[] = [];
  const { jobId } = await client().call('apps:pull', { installationId });
  const listener = (job: JobRecord): void => {
    if (job.id === jobId) updates.push({ at: performance.now(), job });
  };
  const stop = core.events.on('job:update', listener);
  try {
    return { job: await core.jobs.wait(jobId), updates };
  } finally {
    stop();
  }
}

async function snapshotBytes(result: PullResult): Promise<Buffer> {
  const snapshot = (await core.vault.snapshots({})).find((s) => s.id === result.snapshotId)!;
  const chunks: Buffer[] = [];
  for await (const chunk of await core.vault.dump(result.snapshotId, `/${snapshot.archive!.name}`)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('a connection reset mid-body', () => {
  it('resumes the Nojoin download with Range from the byte it reached, within the job, and the snapshot is byte-identical', async () => {
    const flaky = await proxy({ cutAfterBytes: 1 * MiB });
    const installation = await behind(flaky, 'Nojoin behind a link that resets once');
    const { job } = await pull(installation.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const result = job.result as PullResult;
    expect(flaky.cuts).toBe(1);
    expect(result.resumed).toBe(1);
    expect(result.restarts).toBe(0);
    const lost = /connection lost after (\d+) bytes; resuming from there \(1\/\d+\): (.*)/.exec(job.log.join('\n'));
    expect(lost, job.log.join('\n')).not.toBeNull();
    const resumedAt = Number(lost![1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThan(1 * MiB);
    expect(lost![2]).toMatch(/127\.0\.0\.1:\d+/);
    // Resuming, not restarting: less than two bodies' worth crossed the proxy.
    expect(flaky.forwarded).toBeLessThan(archive.length + 1 * MiB);
    expect(sha256(await snapshotBytes(result))).toBe(sha256(archive));
  });

  it('ends in a typed network error with no snapshot when every download connection is reset', async () => {
    const broken = await proxy({ cutAfterBytes: 512 * 1024, maxCuts: 1000 });
    const installation = await behind(broken, 'Nojoin behind a link that always resets');
    const { job } = await pull(installation.id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('HTTP_NETWORK');
    expect(job.error?.message).toMatch(/127\.0\.0\.1:\d+/);
    expect(broken.cuts).toBeGreaterThan(1);
    expect(await core.vault.snapshots({ installationId: installation.id })).toEqual([]);
  });
});

describe('a stall mid-body (the proxy stops forwarding and keeps the socket open)', () => {
  it('ends the stalled read after the idle timeout with a typed error naming the host and the time, and the pull resumes', async () => {
    const stalling = await proxy({ stallAfterBytes: 1 * MiB });
    const installation = await behind(stalling, 'Nojoin behind a link that stalls once', 2000);
    const { job } = await pull(installation.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(stalling.stalls).toBe(1);
    // The client gave up on its own (it closed the stalled socket), not before its idle timeout.
    expect(await stalling.waitForStallEnd()).toBeGreaterThanOrEqual(1900);
    const lost = /connection lost after (\d+) bytes; resuming from there \(1\/\d+\): (.*)/.exec(job.log.join('\n'));
    expect(lost, job.log.join('\n')).not.toBeNull();
    expect(lost![2]).toContain(`nothing arrived from 127.0.0.1:${stalling.port} for 2 s in the middle of the body`);
    expect(Number(lost![1])).toBeGreaterThan(0);
    const result = job.result as PullResult;
    expect(result.resumed).toBe(1);
    expect(sha256(await snapshotBytes(result))).toBe(sha256(archive));
  });
});

describe('a slow link (rate-limited proxy)', () => {
  it('keeps the reported rate and ETA true and never trips the idle timeout while bytes keep coming', async () => {
    const rate = 384 * 1024;
    const slow = await proxy({ bytesPerSecond: rate });
    const installation = await behind(slow, 'Nojoin behind a slow link', 2000);
    const { job, updates } = await pull(installation.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const result = job.result as PullResult;
    expect(result.resumed, job.log.join('\n')).toBe(0);
    expect(result.restarts).toBe(0);
    // What the link really carried, from the proxy's own samples of the download's connection.
    const big = slow.samples.filter((s) => s.bytes > 64 * 1024);
    const first = big[0]!;
    const last = big.at(-1)!;
    const carriedMs = last.at - first.at;
    // The transfer lasted well over the 2 s idle timeout, and the timeout never fired.
    expect(carriedMs).toBeGreaterThan(4000);
    const actualRate = (last.bytes - first.bytes) / (carriedMs / 1000);
    expect(actualRate).toBeLessThan(rate * 1.3);
    // Every rate the job reported once its window had a second of samples, within a factor of what the link carried.
    const downloading = updates.filter((u) => u.job.progress.phase === 'downloading' && u.job.progress.rate !== null);
    const settled = downloading.filter((u) => u.at - downloading[0]!.at > 1500 && u.job.progress.bytes < archive.length * 0.95);
    expect(settled.length, JSON.stringify(updates.map((u) => [Math.round(u.at), u.job.progress]).slice(-40))).toBeGreaterThan(3);
    for (const u of settled) {
      expect(u.job.progress.rate!).toBeGreaterThan(actualRate / 2);
      expect(u.job.progress.rate!).toBeLessThan(actualRate * 2);
    }
    // The ETA reported mid-way matches when the bytes really finished, within a factor of two.
    const mid = settled.find((u) => u.job.progress.bytes > archive.length / 3 && u.job.progress.bytes < archive.length * 0.7)!;
    expect(mid).toBeDefined();
    expect(mid.job.progress.total).toBe(archive.length);
    const remainingMs = last.at - mid.at;
    const etaMs = mid.job.progress.etaSeconds! * 1000;
    expect(etaMs).toBeGreaterThan(remainingMs / 2);
    expect(etaMs).toBeLessThan(remainingMs * 2 + 500);
  });
});

describe('a certificate that changes between two calls to the same installation', () => {
  it('is refused, and the error shows the pinned and the presented fingerprint', async () => {
    const front = await proxy({});
    const installation = await behind(front, 'Nojoin whose certificate changes');
    const before = await pull(installation.id);
    expect(before.job.status, JSON.stringify(before.job.error)).toBe('succeeded');
    // The server "restarts" with a new certificate at the same address.
    const renewed = await startNojoinFleet({ exportStepMs: 10 });
    try {
      expect(renewed.fake.certSha256).not.toBe(nojoin.fake.certSha256);
      front.retarget({ port: renewed.fake.port });
      const after = await pull(installation.id);
      expect(after.job.status).toBe('failed');
      expect(after.job.error?.code).toBe('TLS_PIN_MISMATCH');
      expect(after.job.error?.message).toContain(nojoin.fake.certSha256);
      expect(after.job.error?.message).toContain(renewed.fake.certSha256);
      expect(after.job.error?.message).toContain(`127.0.0.1:${front.port}`);
      expect((await core.vault.snapshots({ installationId: installation.id })).map((s) => s.id)).toEqual([(before.job.result as PullResult).snapshotId]);
    } finally {
      await renewed.stop();
    }
  });
});
