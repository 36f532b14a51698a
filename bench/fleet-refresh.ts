/**
 * Benchmark: refreshing a fleet of N installations (default 200; FLEET_BENCH_N) — list each one's
 * backups over SSH — with the fleet's bounded concurrency (the `fleet-refresh` queue) against a
 * sequential refresh of the same installations, same core, same run. The fleet is N Folder-of-
 * archives installations on one real sshd, each with its own folder. Reported: wall time of each,
 * the ratio, and the process's peak RSS (sampled) during each. Goal: concurrent < 10 s at 200.
 */
import { createCore, MemorySecretStore } from '../src/main/core';
import { createInProcessClient } from '../src/main/contract/in-process';
import { makeTestHome } from '../test/harness/home';
import { startSshd } from '../test/harness/sshd';
import { startDirectoryFleet, type DirectoryFleet } from '../test/fleet/directory/fleet';

const N = Number(process.env.FLEET_BENCH_N ?? 200);

/** Runs `work`, sampling RSS every 20 ms; wall seconds and peak RSS in MiB. */
async function measured(work: () => Promise<void>): Promise<{ seconds: number; peakRssMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return { seconds: (performance.now() - started) / 1000, peakRssMb: Math.round(peak / 1024 / 1024) };
}

export async function run(): Promise<void> {
  const sshd = await startSshd();
  const fleets: DirectoryFleet[] = [];
  const core = await createCore({ home: makeTestHome('bench-fleet'), secretStore: new MemorySecretStore('bench fleet') });
  try {
    const client = createInProcessClient(core);
    for (let i = 0; i < N; i++) {
      const fleet = await startDirectoryFleet({ name: `site ${String(i + 1).padStart(3, '0')}`, sshd });
      fleets.push(fleet);
      await client.call('installations:add', fleet.installation);
    }
    const ids = (await core.registry.list()).map((i) => i.id);
    const check = async (jobIds: string[]) => {
      for (const id of jobIds) {
        const record = await core.jobs.wait(id);
        if (record.status !== 'succeeded') throw new Error(`refresh failed: ${JSON.stringify(record.error)}`);
      }
    };
    const sequential = await measured(async () => {
      for (const id of ids) await check(await core.fleet.refresh(id));
    });
    const concurrent = await measured(async () => check(await core.fleet.refresh()));
    const online = (await client.call('fleet:overview', {})).filter((e) => e.status?.state === 'online').length;
    console.log(`fleet of ${N} Folder-of-archives installations on one sshd (${online} online after the refresh)`);
    console.log(`  sequential refresh:            ${sequential.seconds.toFixed(2)} s, peak RSS ${sequential.peakRssMb} MiB`);
    console.log(`  bounded-concurrency refresh:   ${concurrent.seconds.toFixed(2)} s, peak RSS ${concurrent.peakRssMb} MiB`);
    console.log(`  ratio concurrent/sequential:   ${(concurrent.seconds / sequential.seconds).toFixed(2)} (goal at 200: < 10 s)`);
  } finally {
    await core.close();
    for (const fleet of fleets) await fleet.stop();
    await sshd.stop();
  }
}
