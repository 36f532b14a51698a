// Retention and the vault check on their own schedules, through the core and a real vault: a new
// policy is previewed at its first scheduled run (nothing removed, a notification says what would
// go) and applied from the next; the scheduled vault check runs and says why.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import type { JobRecord } from '../../src/shared/jobs';
import { makeTestHome } from '../harness/home';
import { until } from '../harness/wait';

const HOUR = 3_600_000;
let core: Core;
let home: string;
let installationId: string;
// 00:35, so the first move (to 01:00) passes no slot of the vault check (at :30).
const clock = { t: Date.parse('2026-06-01T00:35:00Z') };

beforeAll(async () => {
  home = makeTestHome('unattended-retention');
  core = await createCore({ home, secretStore: new MemorySecretStore('retention test'), clock: { now: () => clock.t } });
  const client = createInProcessClient(core);
  await client.call('vault:init', {});
  installationId = (await client.call('installations:add', { name: 'files', app: 'directory', ssh: { host: '127.0.0.1', auth: 'agent' }, settings: { directory: '/srv/backups' } })).id;
  for (let i = 1; i <= 3; i += 1) {
    const file = path.join(home, `site-00${i}.tar.gz`);
    writeFileSync(file, `archive ${i}\n`);
    // Plain files with no checksum: stored as asked, marked unverified.
    const { jobId } = await client.call('vault:import', { source: { path: file }, installationId, allowUnverified: true });
    expect((await core.jobs.wait(jobId)).status).toBe('succeeded-with-warnings');
  }
  await client.call('schedule:set', {
    installationId,
    installation: { pull: { preset: 'off' }, retention: { policy: { keepLast: 1 }, schedule: { preset: 'hourly', jitterMinutes: 0 } } },
    vaultCheck: { schedule: { preset: 'hourly', minute: 30, jitterMinutes: 0 } },
  });
  core.unattended.run('retention test');
}, 120_000);

afterAll(async () => {
  await core?.close();
});

/** Moves the clock to the next `minute` past an hour, ticks, and waits for the jobs it started. */
async function at(minute: number): Promise<JobRecord[]> {
  const before = new Set(core.jobs.list().map((j) => j.id));
  const target = Math.floor(clock.t / HOUR) * HOUR + minute * 60_000 + 1000;
  clock.t = target > clock.t ? target : target + HOUR;
  await core.unattended.tick();
  const started = core.jobs.list().filter((j) => !before.has(j.id));
  const done = await Promise.all(started.map((j) => core.jobs.wait(j.id)));
  // The scheduler takes in each outcome just after the job ends.
  await until(async () => (await core.unattended.scheduler.overview()).tasks.every((t) => t.runningJobId === null), 'the outcomes to be recorded');
  return done;
}

describe('retention and the vault check on schedules', () => {
  it('previews a new policy first: nothing is removed, and a notification says what would go', async () => {
    const jobs = await at(0);
    expect(jobs).toHaveLength(1);
    const [job] = jobs;
    expect(job).toMatchObject({ kind: 'vault-forget', status: 'succeeded', reason: 'scheduled (hourly); a new policy is previewed before it is applied', result: { preview: true, keepCount: 1, removeCount: 2 } });
    expect(await core.vault.snapshots({ installationId })).toHaveLength(3);
    await until(async () => (await core.unattended.notifications.list()).some((n) => n.event === 'retention-preview'), 'the preview notification');
    const note = (await core.unattended.notifications.list()).find((n) => n.event === 'retention-preview')!;
    expect(note.message).toBe('The new retention policy would keep 1 and remove 2 snapshot(s); it is applied from its next scheduled run. Change it before then to stop that.');
  });

  it('the vault check runs at its own time and says why', async () => {
    const jobs = await at(30);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ kind: 'vault-check', status: 'succeeded', reason: 'scheduled (hourly at :30)' });
  });

  it('applies the policy at the next run', async () => {
    const job = (await at(0)).find((j) => j.kind === 'vault-forget');
    expect(job).toMatchObject({ kind: 'vault-forget', status: 'succeeded', reason: 'scheduled (hourly)' });
    expect((job!.result as { removed: string[] }).removed).toHaveLength(2);
    expect(await core.vault.snapshots({ installationId })).toHaveLength(1);
  });

  it('a changed policy is previewed again before it is applied', async () => {
    await createInProcessClient(core).call('schedule:set', { installationId, installation: { pull: { preset: 'off' }, retention: { policy: { keepLast: 5 }, schedule: { preset: 'hourly', jitterMinutes: 0 } } } });
    const job = (await at(0)).find((j) => j.kind === 'vault-forget');
    expect(job).toMatchObject({ kind: 'vault-forget', result: { preview: true } });
  });
});
