// Network faults between Lifeboat's SSH transport and a real OpenSSH sshd (the Weavestream fleet
// member: sshd + PostgreSQL 15): the cutting proxy sits in between on 127.0.0.1. A stall mid-body
// (the proxy forwards nothing and keeps both sockets open) ends in a typed SSH_TIMEOUT after the
// installation's idle timeout, never a hang; a stall on every connection fails the pull with
// nothing in the vault; a connection reset on every connection fails it typed, nothing partial in
// the vault; a slow link never trips an idle timeout shorter than one READ answer takes to cross
// it (bytes count, not answers), and the progress reported never runs ahead of the bytes that
// crossed the link. A stall mid-upload over SFTP and mid-stream of a remote command (its stdout or
// its stdin, a Weavestream pg_restore too) ends in SSH_TIMEOUT naming the host and what was being
// done, while a command that is silent for several idle timeouts on a live link is left alone.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { connectSsh } from '../../src/main/transport/ssh/client';
import type { SshSession } from '../../src/main/transport/ssh/session';
import { LifeboatError } from '../../src/shared/errors';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import type { RestorePlan, RestoreReport } from '../../src/shared/apps';
import { freePort, runTool } from '../harness/sshd';
import { startCuttingProxy, type CuttingProxy, type CuttingProxyOptions } from '../harness/cutting-proxy';
import { makeTestHome } from '../harness/home';
import { ensureVault } from '../fleet';
import { startWeavestreamFleet, type WeavestreamFleet } from '../fleet/weavestream/fleet';

const MiB = 1024 * 1024;

let core: Core;
let fleet: WeavestreamFleet;
let remoteId: string;
let original: Buffer;
const proxies: CuttingProxy[] = [];
const client = () => createInProcessClient(core);

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('net-faults-ssh'), secretStore: new MemorySecretStore('integration test') });
  await ensureVault(core);
  fleet = await startWeavestreamFleet({ name: 'Weavestream (net faults)', seedDumps: 0 });
  // A dump of a few MiB (random hex barely compresses), so the faults land inside the transfer.
  await fleet.psql(`CREATE TABLE filler (id int PRIMARY KEY, body text);
    INSERT INTO filler SELECT g, (SELECT string_agg(md5(random()::text || g::text || i::text), '') FROM generate_series(1, 64) i) FROM generate_series(1, 3000) g;`);
  remoteId = await fleet.exportNow();
  original = await readFile(`${fleet.backupDir}/${remoteId}`);
  expect(original.length).toBeGreaterThan(2 * MiB);
}, 120_000);

afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
  await core?.close();
  await fleet?.stop();
});

async function behind(options: CuttingProxyOptions, name: string, idleTimeoutMs?: number): Promise<{ proxy: CuttingProxy; installation: Installation }> {
  const proxy = await startCuttingProxy({ port: fleet.sshd.port }, options);
  proxies.push(proxy);
  const input = fleet.installation;
  const installation = await client().call('installations:add', { ...input, name, ssh: { ...input.ssh!, port: proxy.port, ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }) } });
  return { proxy, installation };
}

/** Runs a pull of the dump and returns the finished job, with every update it went through. */
async function pull(installationId: string, link?: CuttingProxy): Promise<{ job: JobRecord; updates: { job: JobRecord; crossed: number }[] }> {
  const updates: { job: JobRecord; crossed: number }[] = [];
  const { jobId } = await client().call('apps:pull', { installationId, remoteId });
  const stop = core.events.on('job:update', (job: JobRecord) => {
    if (job.id === jobId) updates.push({ job: structuredClone(job), crossed: link?.forwarded ?? 0 });
  });
  try {
    return { job: await core.jobs.wait(jobId), updates };
  } finally {
    stop();
  }
}

async function snapshotBytes(result: PullResult): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await core.vault.dump(result.snapshotId, `/${result.remoteId}`)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('an SFTP download that stalls mid-body (the proxy forwards nothing, both sockets stay open)', () => {
  it('ends the stalled read after the idle timeout with SSH_TIMEOUT naming the host and the file, and the pull resumes on a new connection', async () => {
    const { proxy, installation } = await behind({ stallAfterBytes: 1 * MiB }, 'Weavestream behind a link that stalls once', 1500);
    const { job } = await pull(installation.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(proxy.stalls).toBe(1);
    // Lifeboat gave up the stalled connection itself (it closed the socket), after its idle timeout.
    expect(await proxy.waitForStallEnd()).toBeGreaterThanOrEqual(1400);
    expect(proxy.connections).toBe(2);
    const lost = /connection lost after (\d+) bytes; resuming from there \(1\/\d+\): (.*)/.exec(job.log.join('\n'));
    expect(lost, job.log.join('\n')).not.toBeNull();
    expect(lost![2]).toMatch(new RegExp(`^Nothing arrived from [^ ]+@127\\.0\\.0\\.1:${proxy.port} for [\\d.]+ s while reading \\S+${remoteId}`));
    expect(lost![2]).toContain('idle timeout 1500 ms');
    const result = job.result as PullResult;
    expect(result.resumed).toBe(1);
    expect((await snapshotBytes(result)).equals(original)).toBe(true);
  }, 120_000);

  it('fails the pull with SSH_TIMEOUT, and nothing enters the vault, when every connection stalls', async () => {
    const { proxy, installation } = await behind({ stallAfterBytes: 256 * 1024, maxStalls: 1000 }, 'Weavestream behind a link that always stalls', 800);
    const { job } = await pull(installation.id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('SSH_TIMEOUT');
    expect(job.error?.message).toMatch(new RegExp(`Nothing arrived from [^ ]+@127\\.0\\.0\\.1:${proxy.port} for [\\d.]+ s while`));
    expect(proxy.stalls).toBeGreaterThan(1);
    expect(await core.vault.snapshots({ installationId: installation.id })).toEqual([]);
  }, 180_000);
});

describe('an SFTP download whose connection is reset every time', () => {
  it('fails the pull with a typed SSH error after its resumes, and nothing partial enters the vault', async () => {
    const { proxy, installation } = await behind({ cutAfterBytes: 256 * 1024, maxCuts: 1000 }, 'Weavestream behind a link that always resets');
    const { job } = await pull(installation.id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toMatch(/^SSH_(CHANNEL|SFTP)$/);
    expect(job.error?.message).toContain(remoteId);
    expect(proxy.cuts).toBeGreaterThan(1);
    expect(await core.vault.snapshots({ installationId: installation.id })).toEqual([]);
    await expect((await core.vault.open()).check({ readData: false })).resolves.toMatchObject({ ok: true });
  }, 180_000);
});

describe('an SFTP download over a slow link (rate-limited proxy)', () => {
  it('never trips an idle timeout shorter than one READ answer takes, and its progress never runs ahead of the bytes that crossed the link', async () => {
    const rate = 256 * 1024;
    // One 255 KiB READ answer takes about a second over this link: longer than the idle timeout.
    const { proxy, installation } = await behind({ bytesPerSecond: rate }, 'Weavestream behind a slow link', 600);
    const { job, updates } = await pull(installation.id, proxy);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const result = job.result as PullResult;
    expect(result.resumed, job.log.join('\n')).toBe(0);
    expect(result.restarts).toBe(0);
    expect(proxy.connections).toBe(1);
    const downloading = updates.filter((u) => u.job.progress.phase === 'downloading');
    expect(downloading.length).toBeGreaterThan(3);
    let previous = 0;
    for (const { job: seen, crossed } of downloading) {
      const p = seen.progress;
      expect(p.total).toBe(original.length);
      // Never more than what crossed the link (SSH framing included) when the update was emitted, never backwards.
      expect(p.bytes).toBeLessThanOrEqual(crossed);
      expect(p.bytes).toBeGreaterThanOrEqual(previous);
      previous = p.bytes;
      if (p.rate !== null && p.rate > 0) {
        // The ETA is what is left at the reported rate.
        expect(Math.abs(p.etaSeconds! - (original.length - p.bytes) / p.rate)).toBeLessThan(0.01);
        // Once a few answers are in the window, the rate is what a link of this speed can carry.
        if (p.bytes > 2 * MiB) expect(p.rate).toBeLessThan(rate * 3);
      }
    }
    expect(previous).toBeGreaterThan(original.length / 2);
    expect((await snapshotBytes(result)).equals(original)).toBe(true);
  }, 120_000);
});

/** The Weavestream database as pg_dump sees it (less the random key pg_dump 15.14+ writes each run). */
async function dumpTarget(): Promise<string> {
  const out = await runTool('/usr/lib/postgresql/15/bin/pg_dump', ['-h', '127.0.0.1', '-p', String(fleet.postgres.port), '-U', 'postgres', 'weavestream']);
  return out.replace(/^\\(un)?restrict \S+$/gm, '\\$1restrict KEY');
}

/** Pulls the dump through the installation and plans a full restore of it, which must not be blocked. */
async function pulledAndPlanned(installationId: string): Promise<RestorePlan> {
  const pulled = await pull(installationId);
  expect(pulled.job.status, JSON.stringify(pulled.job.error)).toBe('succeeded');
  const snapshotId = (pulled.job.result as PullResult).snapshotId;
  const planned = await core.jobs.wait((await client().call('restore:plan', { installationId, source: { snapshotId }, mode: 'full', selection: [] })).jobId);
  const plan = planned.result as RestorePlan;
  expect(plan.blocked, JSON.stringify(plan.preflight)).toBe(false);
  return plan;
}

describe('the SSH connection dropped in a phase of a Weavestream restore (observed by the job\'s events)', () => {
  const cases = [
    { name: 'restoring, before the point of no return', at: (j: JobRecord) => j.progress.phase === 'restoring' && !j.log.some((l) => l.includes('point of no return')), state: 'unchanged' },
    { name: 'restoring, at the point of no return', at: (j: JobRecord) => j.log.some((l) => l.includes('point of no return')), state: 'partial' },
  ] as const;
  it.each(cases)('while $name: the job fails, and its report says the target is $state', async (c) => {
    const { proxy, installation } = await behind({}, `Weavestream restore dropped ${c.name}`);
    const plan = await pulledAndPlanned(installation.id);
    const before = await dumpTarget();
    const dead = await freePort();
    let dropped = false;
    const stop = core.events.on('job:update', (job: JobRecord) => {
      if (!dropped && job.kind === 'restore' && job.installationId === installation.id && c.at(job)) {
        dropped = true;
        // The server is gone: open connections drop and new ones are refused.
        proxy.retarget({ port: dead });
      }
    });
    try {
      const { jobId } = await client().call('restore:start', { planId: plan.id, confirmation: installation.name, skipSafetyPull: { reason: 'fault test: the dump is in the vault already' } });
      const record = await core.jobs.wait(jobId);
      expect(dropped).toBe(true);
      expect(record.status).toBe('failed');
      expect(record.error?.details).toMatchObject({ targetState: c.state, pointOfNoReturnPassed: c.state !== 'unchanged' });
      const report = record.result as RestoreReport;
      expect(report).toMatchObject({ ok: false, outcome: 'failed', targetState: c.state });
      expect(await client().call('restore:report', { planId: plan.id })).toMatchObject({ targetState: c.state });
      if (c.state === 'unchanged') {
        expect(report.followUps.join(' ')).toContain(`"${installation.name}" is unchanged`);
        expect(await dumpTarget()).toBe(before);
      } else {
        expect(report.followUps.join(' ')).toContain('partially restored');
        expect(record.error?.message).toContain('partially restored');
      }
    } finally {
      stop();
    }
  }, 120_000);
});

/** A session to the fleet's sshd through `proxy`, with an idle timeout of `idleTimeoutMs`. */
async function sessionThrough(proxy: CuttingProxy, idleTimeoutMs: number): Promise<SshSession> {
  const { sshd } = fleet;
  return connectSsh({ host: '127.0.0.1', port: proxy.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint, idleTimeoutMs }, { homeDir: sshd.dir, sshConfigFile: null });
}

/** The LifeboatError a promise rejects with (a resolution fails the test). */
const failure = (promise: Promise<unknown>): Promise<LifeboatError> =>
  promise.then(
    () => Promise.reject(new Error('expected the call to fail')),
    (error: unknown) => (error instanceof LifeboatError ? error : Promise.reject(error)),
  );

const stalledProxy = async (options: CuttingProxyOptions): Promise<CuttingProxy> => {
  const proxy = await startCuttingProxy({ port: fleet.sshd.port }, options);
  proxies.push(proxy);
  return proxy;
};

describe('SSH channels that stall mid-stream (the proxy forwards nothing, both sockets stay open)', () => {
  const stalls = [
    {
      name: 'an SFTP upload ends with SSH_TIMEOUT naming the host and the file being written',
      stall: { stallAfterUpBytes: 2 * MiB },
      doing: (remote: string) => `writing ${remote}`,
      run: async (session: SshSession, remote: string) => pipeline(Readable.from([randomBytes(8 * MiB)]), await session.createWriteStream(remote, { fsync: true })),
    },
    {
      name: "a command's stdout ends with SSH_TIMEOUT naming the host and the command",
      stall: { stallAfterBytes: 1 * MiB },
      doing: () => 'running `the random stream`',
      run: async (session: SshSession) => {
        const exec = await session.execStream('head -c 16777216 /dev/urandom', { describe: 'the random stream' });
        exec.stdout.resume();
        exec.stdin.end();
        return exec.done;
      },
    },
    {
      name: "a command's stdin ends with SSH_TIMEOUT naming the host and the command",
      stall: { stallAfterUpBytes: 1 * MiB },
      doing: () => 'running `the sink`',
      run: (session: SshSession) => session.exec('cat > /dev/null', { stdin: Readable.from([randomBytes(8 * MiB)]), describe: 'the sink' }),
    },
  ];
  it.each(stalls)('$name', async (c) => {
    const proxy = await stalledProxy(c.stall);
    const session = await sessionThrough(proxy, 1000);
    const remote = `${fleet.sshd.homeDir}/stalled-upload-${randomBytes(3).toString('hex')}.bin`;
    const error = await failure(c.run(session, remote));
    expect(error.code).toBe('SSH_TIMEOUT');
    expect(error.message).toMatch(new RegExp(`^Nothing arrived from [^ ]+@127\\.0\\.0\\.1:${proxy.port} for [\\d.]+ s while ${c.doing(remote).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(proxy.stalls).toBe(1);
    // Lifeboat gave the stalled connection up itself, after its idle timeout.
    expect(await proxy.waitForStallEnd()).toBeGreaterThanOrEqual(900);
    await session.close();
  }, 120_000);

  it('a command that says nothing for five idle timeouts on a live link is not given up (keepalive answers are life)', async () => {
    const proxy = await stalledProxy({});
    const session = await sessionThrough(proxy, 600);
    const result = await session.exec('sleep 3; echo done');
    expect(result).toMatchObject({ code: 0, stdout: 'done\n' });
    expect(session.isOpen).toBe(true);
    await session.close();
  }, 60_000);

  it('a Weavestream restore whose pg_restore input stalls fails with SSH_TIMEOUT, and its report says the target is partial', async () => {
    const { proxy, installation } = await behind({ stallAfterUpBytes: 1 * MiB }, 'Weavestream restore stalled in pg_restore', 1500);
    const plan = await pulledAndPlanned(installation.id);
    const { jobId } = await client().call('restore:start', { planId: plan.id, confirmation: installation.name, skipSafetyPull: { reason: 'fault test: the dump is in the vault already' } });
    const record = await core.jobs.wait(jobId);
    expect(record.status).toBe('failed');
    expect(proxy.stalls).toBe(1);
    expect(record.error?.code).toBe('SSH_TIMEOUT');
    expect(record.error?.message).toMatch(new RegExp(`Nothing arrived from [^ ]+@127\\.0\\.0\\.1:${proxy.port} for [\\d.]+ s while .*running \`restoreCommand \\(pg_restore\\)\``));
    expect(record.error?.details).toMatchObject({ targetState: 'partial', pointOfNoReturnPassed: true });
    expect(record.result as RestoreReport).toMatchObject({ ok: false, outcome: 'failed', targetState: 'partial' });
  }, 180_000);
});
