// "On reconnect": the installation's server goes away (a real TCP relay in front of the test
// sshd stops listening) and comes back on the same port. With a clock the test moves: the
// scheduled pull that meets the dead network fails, Lifeboat counts itself offline, the next slot
// is held (no login spent, no failure), and when the relay listens again the next tick finds it
// reachable and runs the pull once, saying "on reconnect: missed 1 run while offline". The shell's
// entry point (Electron's net.isOnline()) does the same through `networkChanged`.
import net, { type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import { startDirectoryFleet, type DirectoryFleet } from '../fleet/directory/fleet';
import { makeTestHome } from '../harness/home';
import { until } from '../harness/wait';

const HOUR = 3_600_000;

/** A TCP relay on a fixed port of 127.0.0.1 to `target`; `down()` stops listening and drops its connections. */
async function relay(target: number) {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const up = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect({ host: '127.0.0.1', port: target });
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
      server = null;
    });
  await up();
  return { port: () => port, up, down };
}

describe('catch-up on reconnect', () => {
  let fleet: DirectoryFleet;
  let core: Core;
  let installation: Installation;
  let link: Awaited<ReturnType<typeof relay>>;
  const clock = { t: Date.parse('2026-06-01T00:00:10Z') };

  beforeAll(async () => {
    fleet = await startDirectoryFleet({ name: 'Folder (reconnect)' });
    link = await relay(fleet.sshd.port);
    core = await createCore({ home: makeTestHome('reconnect'), secretStore: new MemorySecretStore('reconnect test'), clock: { now: () => clock.t } });
    const client = createInProcessClient(core);
    await client.call('vault:init', {});
    installation = await client.call('installations:add', { ...fleet.installation, ssh: { ...fleet.installation.ssh!, port: link.port(), connectTimeoutMs: 5_000 } });
    await client.call('schedule:set', { installationId: installation.id, installation: { pull: { preset: 'hourly', jitterMinutes: 0 } } });
    core.unattended.run('reconnect test');
  }, 120_000);

  afterAll(async () => {
    await core?.close();
    await link?.down();
    await fleet?.stop();
  });

  const pulls = () => core.jobs.list({ installationId: installation.id }).filter((j) => j.kind === 'pull');
  const task = async () => (await core.unattended.overview()).tasks.find((t) => t.kind === 'pull')!;

  /** Moves the clock past the next hourly slot (plus `extra`) and ticks. */
  async function nextSlot(extra = 1000): Promise<void> {
    clock.t = (Math.floor(clock.t / HOUR) + 1) * HOUR + extra;
    await core.unattended.tick();
  }

  /** The pull started since `before`, ended, with the scheduler having taken in its outcome. */
  async function endedSince(before: Set<string>): Promise<JobRecord> {
    const started = pulls().find((j) => !before.has(j.id));
    expect(started, 'a scheduled pull started').toBeDefined();
    const record = await core.jobs.wait(started!.id);
    await until(async () => (await task()).runningJobId === null, 'the scheduler to record the outcome');
    return record;
  }

  it('a pull that met a dead network makes Lifeboat offline; the missed slot runs once when the server is back, saying so', async () => {
    await link.down();
    let before = new Set(pulls().map((j) => j.id));
    await nextSlot();
    const failed = await endedSince(before);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('SSH_CONNECTION_REFUSED');
    expect(failed.reason).toBe('scheduled (hourly)');
    await until(() => core.unattended.network.offline(1), 'Lifeboat to count itself offline');

    // Still down at the next slot: nothing is attempted (the relay is probed, it refuses).
    before = new Set(pulls().map((j) => j.id));
    await nextSlot();
    expect(pulls().filter((j) => !before.has(j.id))).toEqual([]);
    expect(core.unattended.network.offline(1)).toBe(true);

    // The server is back: a few minutes later (no new slot), the timer's tick finds it and catches up once.
    await link.up();
    clock.t += 5 * 60_000;
    await core.unattended.tick();
    const caughtUp = await endedSince(before);
    expect(caughtUp.reason).toBe('on reconnect: missed 1 run while offline; running once now');
    expect(caughtUp.log[0]).toContain('on reconnect: missed 1 run while offline');
    expect(caughtUp.status, JSON.stringify(caughtUp.error)).toMatch(/^succeeded/);
    await until(() => !core.unattended.network.offline(1), 'Lifeboat to count itself online');

    // And nothing runs again before the next slot.
    before = new Set(pulls().map((j) => j.id));
    clock.t += 60_000;
    await core.unattended.tick();
    expect(pulls().filter((j) => !before.has(j.id))).toEqual([]);
  }, 180_000);

  it("the shell's word (net.isOnline) holds pulls while offline and catches up on its return", async () => {
    await core.unattended.networkChanged(false);
    let before = new Set(pulls().map((j) => j.id));
    await nextSlot();
    expect(pulls().filter((j) => !before.has(j.id))).toEqual([]);
    await nextSlot();
    expect(pulls().filter((j) => !before.has(j.id))).toEqual([]);
    clock.t += 10 * 60_000;
    await core.unattended.networkChanged(true);
    const caughtUp = await endedSince(before);
    expect(caughtUp.reason).toBe('on reconnect: missed 2 runs while offline; running once now');
    expect(caughtUp.status).toMatch(/^succeeded/);
    before = new Set(pulls().map((j) => j.id));
    await core.unattended.networkChanged(true);
    expect(pulls().filter((j) => !before.has(j.id))).toEqual([]);
  }, 180_000);
});
