// One global limit on scheduled pulls: three installations whose hourly slots fall in the same
// tick, with "scheduled pulls at once" set to 1, run one after another (never two running, as the
// job events show), each once and each to success. Real pulls over the test sshd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import type { JobRecord } from '../../src/shared/jobs';
import { startSshd, type TestSshd } from '../harness/sshd';
import { startDirectoryFleet, type DirectoryFleet } from '../fleet/directory/fleet';
import { makeTestHome } from '../harness/home';

describe('the concurrency limit of scheduled pulls', () => {
  let sshd: TestSshd;
  const fleets: DirectoryFleet[] = [];
  let core: Core;
  const clock = { t: Date.parse('2026-06-01T00:00:10Z') };

  beforeAll(async () => {
    sshd = await startSshd();
    for (const name of ['one', 'two', 'three']) fleets.push(await startDirectoryFleet({ name, sshd }));
    core = await createCore({ home: makeTestHome('concurrency'), secretStore: new MemorySecretStore('concurrency test'), clock: { now: () => clock.t } });
    const client = createInProcessClient(core);
    await client.call('vault:init', {});
    for (const fleet of fleets) await client.call('installations:add', fleet.installation);
    await client.call('schedule:set', { defaultPull: { preset: 'hourly', jitterMinutes: 0 }, maxConcurrent: 1 });
    core.unattended.run('concurrency test');
  }, 120_000);

  afterAll(async () => {
    await core?.close();
    for (const fleet of fleets) await fleet.stop();
    await sshd?.stop();
  });

  it('three pulls due in one tick run one at a time', async () => {
    const running = new Set<string>();
    let most = 0;
    core.events.on('job:update', (job: JobRecord) => {
      if (job.kind !== 'pull') return;
      if (job.status === 'running') running.add(job.id);
      else running.delete(job.id);
      most = Math.max(most, running.size);
    });
    clock.t = Date.parse('2026-06-01T01:00:01Z');
    await core.unattended.tick();
    const pulls = core.jobs.list().filter((j) => j.kind === 'pull');
    expect(pulls).toHaveLength(3);
    expect(pulls.map((j) => j.reason)).toEqual(Array(3).fill('scheduled (hourly)'));
    const ended = await Promise.all(pulls.map((j) => core.jobs.wait(j.id)));
    expect(ended.map((j) => j.status).every((s) => s.startsWith('succeeded'))).toBe(true);
    expect(most).toBe(1);
  }, 180_000);
});
