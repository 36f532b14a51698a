// The scheduler with a clock the test moves: local times across DST changes, one catch-up run
// per task after a sleep or a stop, 200 hourly installations spread over the hour, back-off,
// holds after authentication failures, the app's login limit, retention previewed first.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/main/events/event-bus';
import { JobManager } from '../../src/main/jobs/job-manager';
import { Scheduler, type ScheduledRun, type TaskDef, type TaskExecutor } from '../../src/main/schedule/scheduler';
import { compileSchedule } from '../../src/main/schedule/spec';
import { ScheduleStore } from '../../src/main/schedule/store';
import { LifeboatError } from '../../src/shared/errors';
import type { ScheduleSpec } from '../../src/shared/schedule';

const MIN = 60_000;
const HOUR = 60 * MIN;

class TestClock {
  constructor(public t: number) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

interface Started {
  key: string;
  at: number;
  reason: string;
  previewOnly: boolean;
}

/** Starts real jobs whose outcome the test decides (`outcome(key, n)` throws to fail the n-th run). */
function harness(specs: Record<string, ScheduleSpec>, clock: TestClock, options: { outcome?: (key: string, n: number) => void; loginLimit?: TaskDef['loginLimit']; kind?: TaskDef['kind']; policyHash?: string; offline?: () => boolean } = {}) {
  const dir = mkdtempSync(path.join(process.env.LIFEBOAT_TEST_ROOT ?? os.tmpdir(), 'scheduler-'));
  const store = new ScheduleStore(path.join(dir, 'schedules.json'), path.join(dir, 'schedule-state.json'));
  const jobs = new JobManager(new EventBus(), null, clock.now);
  const started: Started[] = [];
  const done: Promise<unknown>[] = [];
  const held: string[] = [];
  let taskSpecs = specs;
  const executor: TaskExecutor = {
    tasks: async () => Object.entries(taskSpecs).map(([key, spec]) => ({ key, kind: options.kind ?? 'pull', installationId: key, name: key, spec, usesDefault: false, loginLimit: options.loginLimit ?? null, ...(options.policyHash ? { policyHash: options.policyHash } : {}) })),
    start(run: ScheduledRun) {
      started.push({ key: run.task.key, at: clock.now(), reason: run.reason, previewOnly: run.previewOnly });
      const n = started.filter((s) => s.key === run.task.key).length;
      const record = jobs.start({ kind: 'pull', title: run.task.key, reason: run.reason }, async () => {
        options.outcome?.(run.task.key, n);
        return { ok: true };
      });
      const finished = jobs.wait(record.id);
      done.push(finished);
      return { jobId: record.id, done: finished };
    },
  };
  const make = () => new Scheduler(store, executor, clock, { held: (task, why) => held.push(`${task.key}: ${why}`), ...(options.offline ? { offline: options.offline } : {}) });
  let scheduler = make();
  return {
    store,
    started,
    held,
    jobs,
    get scheduler() {
      return scheduler;
    },
    restart() {
      scheduler = make();
    },
    setSpecs(next: Record<string, ScheduleSpec>) {
      taskSpecs = next;
    },
    /** One tick, then every job it started has ended and the scheduler has taken in its outcome. */
    async tick(context: 'start' | 'wake' | 'reconnect' | 'timer' = 'timer') {
      await scheduler.tick(context);
      await Promise.all(done);
      // The outcome is recorded after the job's end resolves; a tick queued behind it sees it.
      await new Promise((r) => setImmediate(r));
    },
  };
}

const berlinTime = (t: number) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(t));

describe('schedule times', () => {
  it('fires daily 09:00 Europe/Berlin at 09:00 local on both sides of the spring DST change (08:00 then 07:00 UTC)', async () => {
    const clock = new TestClock(Date.parse('2026-03-27T12:00:00Z'));
    const h = harness({ a: { preset: 'daily', time: '09:00', timeZone: 'Europe/Berlin', jitterMinutes: 0 } }, clock);
    await h.tick('start');
    for (let i = 0; i < 4 * 24 * 12; i += 1) {
      clock.advance(5 * MIN);
      await h.tick();
    }
    expect(h.started.map((s) => new Date(s.at).toISOString())).toEqual(['2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z', '2026-03-30T07:00:00.000Z', '2026-03-31T07:00:00.000Z']);
    expect(h.started.map((s) => berlinTime(s.at))).toEqual(['09:00', '09:00', '09:00', '09:00']);
    expect(h.started.every((s) => s.reason === 'scheduled (daily at 09:00 (Europe/Berlin))')).toBe(true);
  });

  it('runs 02:30 once on the autumn night that has two 02:30s, and at 03:00 on the spring night that has none', () => {
    const spec: ScheduleSpec = { preset: 'daily', time: '02:30', timeZone: 'Europe/Berlin', jitterMinutes: 0 };
    const compiled = compileSchedule(spec, 'x');
    expect(compiled.next(3, Date.parse('2026-10-24T12:00:00Z')).map((t) => new Date(t).toISOString())).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z']);
    const spring = compiled.next(2, Date.parse('2026-03-28T12:00:00Z'));
    expect(spring.map(berlinTime)).toEqual(['03:00', '02:30']);
  });

  it('refuses a bad cron expression and an unknown time zone, naming them', () => {
    expect(() => compileSchedule({ preset: 'cron', expression: 'every day at 9' }, 'x')).toThrow(/"every day at 9" is not a cron expression/);
    expect(() => compileSchedule({ preset: 'daily', time: '09:00', timeZone: 'Mars/Olympus' }, 'x')).toThrow(/"Mars\/Olympus" is not a time zone/);
  });
});

describe('catch-up', () => {
  it('a 10-hour sleep runs each missed job once, saying why, and then the schedule goes on', async () => {
    const clock = new TestClock(Date.parse('2026-06-01T00:00:10Z'));
    const h = harness({ a: { preset: 'hourly', jitterMinutes: 0 }, b: { preset: 'hourly', minute: 30, jitterMinutes: 0 } }, clock);
    await h.tick('start');
    expect(h.started).toEqual([]);
    clock.advance(10 * HOUR);
    await h.tick('timer');
    expect(h.started.map((s) => [s.key, s.reason])).toEqual([
      ['a', 'missed 10 runs while asleep; running once now'],
      ['b', 'missed 10 runs while asleep; running once now'],
    ]);
    const job = h.jobs.list()[0]!;
    expect(job.reason).toMatch(/missed 10 runs while asleep/);
    expect(job.log[0]).toMatch(/missed 10 runs while asleep/);
    await h.tick();
    expect(h.started).toHaveLength(2);
    for (let i = 0; i < 60; i += 1) {
      clock.advance(MIN);
      await h.tick();
    }
    expect(h.started.slice(2).map((s) => [s.key, s.reason])).toEqual([
      ['b', 'scheduled (hourly at :30)'],
      ['a', 'scheduled (hourly)'],
    ]);
  });

  it('after a stop, the first tick of the next start catches up once, "while Lifeboat was not running"', async () => {
    const clock = new TestClock(Date.parse('2026-06-01T00:00:10Z'));
    const h = harness({ a: { preset: 'daily', time: '03:00', jitterMinutes: 0 } }, clock);
    await h.tick('start');
    h.restart();
    clock.advance(3 * 24 * HOUR);
    await h.tick('start');
    expect(h.started.map((s) => s.reason)).toEqual(['missed 3 runs while Lifeboat was not running; running once now']);
  });

  it('a paused schedule runs nothing; on resume the missed slots run once', async () => {
    const clock = new TestClock(Date.parse('2026-06-01T00:00:10Z'));
    const h = harness({ a: { preset: 'hourly', jitterMinutes: 0 } }, clock);
    await h.tick('start');
    await h.store.updateConfig((c) => ({ ...c, pausedUntil: new Date(clock.now() + 3 * HOUR + 5 * MIN).toISOString() }));
    for (let i = 0; i < 3 * 60; i += 1) {
      clock.advance(MIN);
      await h.tick();
    }
    expect(h.started).toEqual([]);
    clock.advance(10 * MIN);
    await h.tick();
    expect(h.started.map((s) => s.reason)).toEqual([expect.stringMatching(/^missed 3 runs /)]);
    expect((await h.store.config()).pausedUntil).toBeNull();
  });

  it('a changed schedule does not count the slots of the old one as missed', async () => {
    const clock = new TestClock(Date.parse('2026-06-01T00:00:10Z'));
    const h = harness({ a: { preset: 'daily', time: '03:00', jitterMinutes: 0 } }, clock);
    await h.tick('start');
    clock.advance(12 * HOUR);
    h.setSpecs({ a: { preset: 'hourly', jitterMinutes: 0 } });
    await h.tick();
    expect(h.started).toEqual([]);
  });
});

describe('offline and reconnect', () => {
  it('holds pulls while offline (slots kept, no attempt), then runs each once on reconnect, saying why', async () => {
    const clock = new TestClock(Date.parse('2026-06-01T00:00:10Z'));
    let offline = false;
    const h = harness({ a: { preset: 'hourly', jitterMinutes: 0 }, b: { preset: 'daily', time: '03:00', jitterMinutes: 0 } }, clock, { offline: () => offline });
    await h.tick('start');
    offline = true;
    for (let i = 0; i < 4 * 12; i += 1) {
      clock.advance(5 * MIN);
      await h.tick();
    }
    expect(h.started).toEqual([]);
    offline = false;
    clock.advance(MIN);
    await h.tick('reconnect');
    expect(h.started.map((s) => [s.key, s.reason])).toEqual([
      ['a', 'on reconnect: missed 4 runs while offline; running once now'],
      ['b', 'on reconnect: missed 1 run while offline; running once now'],
    ]);
    await h.tick('reconnect');
    expect(h.started).toHaveLength(2);
  });

  it('a pull that failed on the network is retried on reconnect without waiting for its back-off; other failures wait', async () => {
    const clock = new TestClock(Date.parse('2026-06-01T00:00:10Z'));
    const h = harness({ net: { preset: 'daily', time: '01:00', jitterMinutes: 0 }, other: { preset: 'daily', time: '01:00', jitterMinutes: 0 } }, clock, {
      outcome: (key, n) => {
        if (n === 1) throw new LifeboatError(key === 'net' ? 'SSH_CONNECTION_REFUSED' : 'ARCHIVE_INVALID', `${key} failed`);
      },
    });
    await h.tick('start');
    clock.advance(HOUR);
    await h.tick();
    expect(h.started).toHaveLength(2);
    clock.advance(MIN);
    await h.tick('reconnect');
    expect(h.started.slice(2).map((s) => [s.key, s.reason])).toEqual([['net', 'on reconnect: retry after 1 failure on the network (net failed)']]);
  });
});

describe('spread', () => {
  it('200 installations with hourly schedules are spread over the hour: each fires once, never many in one tick', async () => {
    const clock = new TestClock(Date.parse('2026-06-01T00:00:00Z'));
    const keys = Array.from({ length: 200 }, (_, i) => `pull:installation-${i.toString(16).padStart(4, '0')}`);
    const offsets = keys.map((k) => compileSchedule({ preset: 'hourly' }, k).offsetMs / 1000);
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...offsets)).toBeLessThan(3600);
    const perSecond = new Map<number, number>();
    for (const o of offsets) perSecond.set(o, (perSecond.get(o) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(4);
    expect(perSecond.size).toBeGreaterThan(185);
    const perTenMinutes = Array.from({ length: 6 }, (_, b) => offsets.filter((o) => Math.floor(o / 600) === b).length);
    for (const n of perTenMinutes) expect(n).toBeGreaterThan(15);
    // The same installation gets the same place every time.
    expect(compileSchedule({ preset: 'hourly' }, keys[7]!).offsetMs).toBe(offsets[7]! * 1000);

    const h = harness(Object.fromEntries(keys.map((k) => [k, { preset: 'hourly' } as ScheduleSpec])), clock);
    await h.tick('start');
    const perTick: number[] = [];
    for (let i = 0; i < 120; i += 1) {
      clock.advance(30_000);
      const before = h.started.length;
      await h.tick();
      perTick.push(h.started.length - before);
    }
    expect(h.started).toHaveLength(200);
    expect(new Set(h.started.map((s) => s.key)).size).toBe(200);
    expect(Math.max(...perTick)).toBeLessThanOrEqual(8);
    expect(perTick.filter((n) => n > 0).length).toBeGreaterThan(60);
  });
});

describe('failures', () => {
  it('backs off after failures (5, 10, 20 min), retrying between slots, and a success resets it', async () => {
    const clock = new TestClock(Date.parse('2026-06-01T00:59:50Z'));
    const failing = new Set([1, 2, 3]);
    const h = harness({ a: { preset: 'hourly', jitterMinutes: 0 } }, clock, {
      outcome: (_key, n) => {
        if (failing.has(n)) throw new LifeboatError('SSH_TIMEOUT', 'the host did not answer');
      },
    });
    await h.tick('start');
    for (let i = 0; i < 2 * 60 * 4; i += 1) {
      clock.advance(30_000);
      await h.tick();
    }
    const at = h.started.map((s) => Math.round((s.at - Date.parse('2026-06-01T01:00:00Z')) / MIN));
    // 01:00 fails; retry +5 fails; retry +10 fails; retry +20 succeeds (01:35); then 02:00, 03:00, 04:00.
    expect(at).toEqual([0, 5, 15, 35, 60, 120, 180]);
    expect(h.started[1]!.reason).toBe('retry after 1 failure (back-off 5 min)');
    expect(h.started[3]!.reason).toBe('retry after 3 failures (back-off 20 min)');
    const overview = await h.scheduler.overview();
    expect(overview.tasks[0]).toMatchObject({ failures: 0, lastOutcome: 'succeeded', holdUntil: null });
  });

  it('an authentication failure is not retried between slots; three in a row hold the task until resumed', async () => {
    const clock = new TestClock(Date.parse('2026-06-01T00:59:50Z'));
    let authFails = true;
    const h = harness({ a: { preset: 'hourly', jitterMinutes: 0 } }, clock, {
      outcome: () => {
        if (authFails) throw new LifeboatError('HTTP_AUTH_FAILED', 'authentication failed');
      },
    });
    await h.tick('start');
    for (let i = 0; i < 6 * 60; i += 1) {
      clock.advance(MIN);
      await h.tick();
    }
    // 01:00, 02:00, 03:00 fail (no retries in between), then held: 04:00, 05:00, 06:00 do not run.
    expect(h.started.map((s) => new Date(s.at).toISOString().slice(11, 16))).toEqual(['01:00', '02:00', '03:00']);
    expect(h.held).toEqual([expect.stringMatching(/^a: 3 attempts in a row failed \(authentication failed\); scheduled runs are held/)]);
    expect((await h.scheduler.overview()).tasks[0]!.held).toMatch(/held/);
    authFails = false;
    await h.store.updateConfig((c) => ({ ...c, releasedAt: new Date(clock.now()).toISOString() }));
    clock.advance(MIN);
    await h.tick();
    expect(h.started).toHaveLength(4);
    expect((await h.scheduler.overview()).tasks[0]).toMatchObject({ held: null, failures: 0, lastOutcome: 'succeeded' });
  });

  it("never starts more attempts than the app's login limit allows in its window", async () => {
    const clock = new TestClock(Date.parse('2026-06-01T00:59:50Z'));
    const h = harness({ a: { preset: 'cron', expression: '*/5 * * * *', jitterMinutes: 0 } }, clock, {
      loginLimit: { attempts: 2, perMinutes: 60 },
      outcome: () => {
        throw new LifeboatError('HTTP_NETWORK', 'connection reset');
      },
    });
    await h.tick('start');
    for (let i = 0; i < 4 * 60; i += 1) {
      clock.advance(MIN);
      await h.tick();
    }
    const times = h.started.map((s) => s.at);
    expect(times.length).toBeGreaterThanOrEqual(4);
    for (const t of times) expect(times.filter((u) => u >= t && u < t + HOUR).length).toBeLessThanOrEqual(2);
  });
});

describe('retention', () => {
  it('previews a new policy at its first run and applies it from the next one', async () => {
    const clock = new TestClock(Date.parse('2026-06-01T00:00:10Z'));
    const h = harness({ r: { preset: 'daily', time: '04:00', jitterMinutes: 0 } }, clock, { kind: 'retention', policyHash: 'p1' });
    await h.tick('start');
    for (let i = 0; i < 2 * 24 * 6; i += 1) {
      clock.advance(10 * MIN);
      await h.tick();
    }
    expect(h.started.map((s) => s.previewOnly)).toEqual([true, false]);
  });
});
