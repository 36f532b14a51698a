import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/main/events/event-bus';
import { JobManager } from '../../src/main/jobs/job-manager';
import { LifeboatError } from '../../src/shared/errors';
import type { JobRecord } from '../../src/shared/jobs';

function manager(clock?: () => number) {
  const events = new EventBus();
  const updates: JobRecord[] = [];
  events.on('job:update', (job) => updates.push(job));
  return { jobs: new JobManager(events, null, clock), updates };
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('JobManager', () => {
  it('reports bytes, rate and ETA from progress samples', async () => {
    let now = 1_000_000;
    const { jobs, updates } = manager(() => now);
    const gate = deferred();
    const job = jobs.start({ kind: 'pull', title: 'pull x' }, async (ctx) => {
      ctx.progress({ phase: 'downloading', bytes: 0, total: 1000 });
      now += 1000;
      ctx.progress({ bytes: 100 });
      now += 1000;
      ctx.progress({ bytes: 200 });
      await gate.promise;
      return { snapshot: 'abc' };
    });
    await new Promise((r) => setImmediate(r));
    const live = jobs.get(job.id);
    expect(live.progress.rate).toBeCloseTo(100, 5);
    expect(live.progress.etaSeconds).toBeCloseTo(8, 5);
    gate.resolve();
    const done = await jobs.wait(job.id);
    expect(done.status).toBe('succeeded');
    expect(done.result).toEqual({ snapshot: 'abc' });
    expect(updates.map((u) => u.status)).toContain('running');
    expect(updates.at(-1)?.status).toBe('succeeded');
  });

  it('cancels a running job through its signal, and refuses after the point of no return', async () => {
    const { jobs } = manager();
    const cancellable = jobs.start({ kind: 'pull', title: 'a' }, async (ctx) => {
      await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    });
    await new Promise((r) => setImmediate(r));
    jobs.cancel(cancellable.id);
    const cancelled = await jobs.wait(cancellable.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.error?.code).toBe('CANCELLED');

    const gate = deferred();
    const committed = jobs.start({ kind: 'restore', title: 'b' }, async (ctx) => {
      ctx.passPointOfNoReturn('replacing the database');
      await gate.promise;
    });
    await new Promise((r) => setImmediate(r));
    expect(() => jobs.cancel(committed.id)).toThrow(/point of no return/);
    gate.resolve();
    expect((await jobs.wait(committed.id)).status).toBe('succeeded');
  });

  it('keeps typed errors on failed jobs', async () => {
    const { jobs } = manager();
    const job = jobs.start({ kind: 'connection-test', title: 'c' }, async () => {
      throw new LifeboatError('SSH_AUTH_FAILED', 'The server refused the key.', { details: { user: 'u' } });
    });
    const done = await jobs.wait(job.id);
    expect(done.status).toBe('failed');
    expect(done.error).toEqual({ code: 'SSH_AUTH_FAILED', message: 'The server refused the key.', details: { user: 'u' } });
    await expect(jobs.runToCompletion({ kind: 'pull', title: 'd' }, async () => {
      throw new LifeboatError('ARCHIVE_VERIFY_FAILED', 'bad');
    })).rejects.toMatchObject({ code: 'ARCHIVE_VERIFY_FAILED' });
  });

  it('runs at most `limit` jobs of a queue and one per key', async () => {
    const { jobs } = manager();
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const queue = (key: string) => ({ name: 'pull', limit: 2, perKey: key });
    const started: number[] = [];
    const ids = gates.map((gate, i) =>
      jobs.start({ kind: 'pull', title: `p${i}`, queue: queue(i === 1 ? 'same' : i === 0 ? 'same' : `k${i}`) }, async () => {
        started.push(i);
        await gate.promise;
      }).id,
    );
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 2]);
    expect(jobs.get(ids[1]!).status).toBe('queued');
    gates[0]!.resolve();
    await jobs.wait(ids[0]!);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 2, 1]);
    for (const gate of gates) gate.resolve();
    await Promise.all(ids.map((id) => jobs.wait(id)));
    expect(started.sort()).toEqual([0, 1, 2, 3]);
  });
});
