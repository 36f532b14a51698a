// sshd itself killed (SIGKILL to the listener and every session process, as an OOM kill would)
// in each phase of a restore, observed by the restore job's own events: the Weavestream fleet
// member (sshd + PostgreSQL 15, pg_restore over SSH) in the safety pull, before the point of no
// return, at it, and while verifying; the Loomio stack (psql fed over SSH inside one transaction)
// in the middle of the load and at its swap. Each time the job fails typed, its report says what
// state the target is in, and what it says is checked against the real database; sshd is started
// again and the installation works afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import type { RestorePlan, RestoreReport } from '../../src/shared/apps';
import { runTool } from '../harness/sshd';
import { makeTestHome } from '../harness/home';
import { ensureVault } from '../fleet';
import { startWeavestreamFleet, type WeavestreamFleet } from '../fleet/weavestream/fleet';
import { startLoomioFleet, type LoomioFleet } from '../fleet/loomio/fleet';

let core: Core;
const client = () => createInProcessClient(core);

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('restore-sshd-killed'), secretStore: new MemorySecretStore('integration test') });
  await ensureVault(core);
}, 60_000);

afterAll(async () => {
  await core?.close();
});

const passedPointOfNoReturn = (j: JobRecord) => j.log.some((l) => l.includes('point of no return'));

async function succeeded<T>(started: Promise<{ jobId: string }>): Promise<T> {
  const record = await core.jobs.wait((await started).jobId);
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return record.result as T;
}

async function planFor(installation: Installation, snapshotId: string, mode: string): Promise<RestorePlan> {
  const plan = await succeeded<RestorePlan>(client().call('restore:plan', { installationId: installation.id, source: { snapshotId }, mode, selection: [] }));
  expect(plan.blocked, JSON.stringify(plan.preflight)).toBe(false);
  return plan;
}

/**
 * Starts the restore and kills sshd on the first job update that `at` picks; returns the finished
 * job record and the phases the job went through until then.
 */
async function restoreKillingSshd(
  installation: Installation,
  plan: RestorePlan,
  kill: () => Promise<number>,
  at: (job: JobRecord) => boolean,
  options: { skipSafetyPull?: boolean } = {},
): Promise<{ record: JobRecord; killed: number }> {
  let killing: Promise<number> | null = null;
  const stop = core.events.on('job:update', (job: JobRecord) => {
    if (!killing && job.kind === 'restore' && job.installationId === installation.id && at(job)) killing = kill();
  });
  try {
    const { jobId } = await client().call('restore:start', {
      planId: plan.id,
      confirmation: installation.name,
      ...(options.skipSafetyPull ? { skipSafetyPull: { reason: 'fault test: the dump is in the vault already' } } : {}),
    });
    const record = await core.jobs.wait(jobId);
    expect(killing, `sshd was never killed; the job went through: ${record.log.join(' | ')}`).not.toBeNull();
    return { record, killed: await killing! };
  } finally {
    stop();
  }
}

describe('sshd killed in each phase of a Weavestream restore', () => {
  let fleet: WeavestreamFleet;
  let installation: Installation;
  let snapshotId: string;

  /** The live database as pg_dump sees it (the per-run \restrict key masked). */
  async function dumpTarget(): Promise<string> {
    const out = await runTool('/usr/lib/postgresql/15/bin/pg_dump', ['-h', '127.0.0.1', '-p', String(fleet.postgres.port), '-U', 'postgres', 'weavestream']);
    return out.replace(/^\\(un)?restrict \S+$/gm, '\\$1restrict KEY');
  }

  beforeAll(async () => {
    fleet = await startWeavestreamFleet({ name: 'Weavestream (sshd killed)', seedDumps: 0 });
    // A dump of a few MiB, so the safety pull and pg_restore's input are still flowing when sshd dies.
    await fleet.psql(`CREATE TABLE filler (id int PRIMARY KEY, body text);
      INSERT INTO filler SELECT g, (SELECT string_agg(md5(random()::text || g::text || i::text), '') FROM generate_series(1, 64) i) FROM generate_series(1, 3000) g;`);
    const remoteId = await fleet.exportNow();
    installation = await client().call('installations:add', fleet.installation);
    snapshotId = (await succeeded<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId }))).snapshotId;
    // The live database differs from the snapshot, so a restore that happened shows in a dump.
    await fleet.psql(`DELETE FROM filler WHERE id > 2000;`);
  }, 180_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  const cases = [
    { phase: 'the safety pull (mid-download)', at: (j: JobRecord) => j.progress.phase === 'downloading' && j.progress.bytes > 0 && !j.log.some((l) => l.includes('safety snapshot')), safety: true, state: 'unchanged' },
    { phase: 'restoring, before the point of no return (before the restore connects)', at: (j: JobRecord) => j.progress.phase === 'restoring' && !passedPointOfNoReturn(j), safety: false, state: 'unchanged' },
    { phase: 'restoring, at the point of no return', at: passedPointOfNoReturn, safety: false, state: 'partial' },
    { phase: 'verifying', at: (j: JobRecord) => j.log.some((l) => l.includes('restore finished; verifying')), safety: false, state: 'restored-unverified' },
  ] as const;

  it.each(cases)('in $phase: the job fails typed, its report says the target is $state, and that is true', async (c) => {
    const plan = await planFor(installation, snapshotId, 'full');
    const before = await dumpTarget();
    const { record, killed } = await restoreKillingSshd(installation, plan, () => fleet.sshd.crash(), c.at, { skipSafetyPull: !c.safety }).finally(() => fleet.sshd.restart());
    expect(killed).toBeGreaterThan(0);

    expect(record.status).toBe('failed');
    expect(record.error?.code).toMatch(/^(SSH_|RESTORE_)/);
    expect(record.error?.details, record.log.join('\n')).toMatchObject({ targetState: c.state, pointOfNoReturnPassed: c.state !== 'unchanged' });
    const report = record.result as RestoreReport;
    expect(report).toMatchObject({ ok: false, outcome: 'failed', targetState: c.state });
    expect(await client().call('restore:report', { planId: plan.id })).toMatchObject({ targetState: c.state });
    const after = await dumpTarget();
    if (c.state === 'unchanged') {
      expect(report.followUps.join(' ')).toContain(`"${installation.name}" is unchanged`);
      expect(after).toBe(before);
    } else if (c.state === 'partial') {
      expect(record.error?.message).toContain('partially restored');
    } else {
      // pg_restore ended before sshd died: the data is the snapshot's, only its check did not run.
      expect(record.error?.message).toContain('restored, but not verified');
      expect(after).not.toBe(before);
    }
    // The installation works again once sshd is back: a plan connects and reads the target.
    await planFor(installation, snapshotId, 'full');
    await fleet.psql(`DELETE FROM filler WHERE id > 2000;`);
  }, 180_000);
});

describe('sshd killed during a Loomio restore (psql fed over SSH inside one transaction)', () => {
  let fleet: LoomioFleet;
  let installation: Installation;
  let snapshotId: string;

  const leftoverDatabases = async () => (await fleet.psql(`SELECT datname FROM pg_database WHERE datname LIKE '%lifeboat%' ORDER BY 1;`, 'postgres')).trim().split('\n').filter(Boolean);

  /** What the failed restore's message asks the operator to do by hand. */
  async function recoverByHand(): Promise<void> {
    await runTool('runuser', ['-u', fleet.sshd.user, '--', 'sh', `${fleet.stackDir}/bin/loomio-compose`, 'start', 'app', 'worker', 'channels', 'hocuspocus'], { cwd: fleet.stackDir });
    for (const name of await leftoverDatabases()) await fleet.psql(`DROP DATABASE "${name}";`, 'postgres');
  }

  beforeAll(async () => {
    fleet = await startLoomioFleet({ name: 'Loomio (sshd killed)' });
    // A dump of tens of MiB, so sshd dies while psql is still reading its input.
    const dump = (await fleet.dumpPlain()).toString('utf8');
    const rows = Array.from({ length: 300_000 }, (_, i) => `row ${i} ${'x'.repeat(80)}`).join('\n');
    const large = dump.replace('-- PostgreSQL database dump complete', `CREATE TABLE public.filler (t text);\nCOPY public.filler (t) FROM stdin;\n${rows}\n\\.\n\n-- PostgreSQL database dump complete`);
    const name = 'loomio-manual-20261204-101010-large.sql.enc';
    await fleet.writeBackup(`data/production/backups/${name}`, Buffer.from(large));
    installation = await client().call('installations:add', fleet.installation);
    const listed = (await client().call('apps:list-remote', { installationId: installation.id })).find((b) => b.id.startsWith(`${name}@`));
    expect(listed, 'the large backup is listed').toBeDefined();
    snapshotId = (await succeeded<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId: listed!.id }))).snapshotId;
  }, 180_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  it('in the middle of the load: the live database is unchanged, and the report names the stopped services and the leftover database', async () => {
    const plan = await planFor(installation, snapshotId, 'full');
    const before = await fleet.counts();
    const { record } = await restoreKillingSshd(installation, plan, () => fleet.sshd.crash(), (j) => j.progress.phase === 'loading into PostgreSQL' && j.progress.bytes > 1024 * 1024, { skipSafetyPull: true }).finally(() => fleet.sshd.restart());

    expect(record.status).toBe('failed');
    expect(record.error?.details).toMatchObject({ targetState: 'unchanged', pointOfNoReturnPassed: false });
    // The load was one transaction that never committed: the live database is as it was.
    expect(await fleet.counts()).toEqual(before);
    // What sshd's death left on the Pi, said in the outcome, and true.
    const services = await fleet.services();
    const leftovers = await leftoverDatabases();
    const message = record.error?.message ?? '';
    // sshd was gone before Lifeboat could start the services again or drop the half-loaded copy.
    expect(services).toEqual({ app: false, worker: false, channels: false, hocuspocus: false });
    expect(message).toMatch(/app worker channels hocuspocus are stopped: .*start them by hand \(.*bin\/loomio-compose start app worker channels hocuspocus\)/);
    expect(message).toMatch(/^The SSH channel closed before psql said how the load ended; nothing of the load was committed\./);
    expect(leftovers).toHaveLength(1);
    expect(message).toContain(`The new database ${leftovers[0]} may be left on the server`);
    const report = record.result as RestoreReport;
    expect(report.followUps.join(' ')).toContain(`"${installation.name}" is unchanged`);
    await recoverByHand();
  }, 180_000);

  it('at the swap (the point of no return): the report says partial, and a new restore brings the stack back to the snapshot', async () => {
    const plan = await planFor(installation, snapshotId, 'full');
    const { record } = await restoreKillingSshd(installation, plan, () => fleet.sshd.crash(), passedPointOfNoReturn, { skipSafetyPull: true }).finally(() => fleet.sshd.restart());
    expect(record.status).toBe('failed');
    expect(record.error?.details).toMatchObject({ targetState: 'partial', pointOfNoReturnPassed: true });
    expect(record.error?.message).toContain('partially restored');

    // Recovery: with sshd back, what the message asked for by hand, and the restore again.
    await recoverByHand();
    const again = await planFor(installation, snapshotId, 'full');
    const report = await succeeded<RestoreReport>(client().call('restore:start', { planId: again.id, confirmation: installation.name, skipSafetyPull: { reason: 'fault test' } }));
    expect(report).toMatchObject({ ok: true, outcome: 'verified' });
    expect((await fleet.counts()).filler).toBe(300_000);
  }, 240_000);
});
