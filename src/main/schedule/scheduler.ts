import { createHash } from 'node:crypto';
import { isSuccess, type JobRecord } from '../../shared/jobs';
import type { ScheduleFile, ScheduleSpec, TaskView } from '../../shared/schedule';
import { compileSchedule, describeSchedule } from './spec';
import { ScheduleStore, type ScheduleState, type TaskState } from './store';
import { isNetworkFailure } from './reachability';

/** Where the scheduler gets the time; the system's in Lifeboat, one a test moves. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/** One unattended task as the scheduler sees it: what the UI shows of it, and what only the scheduler needs. */
export interface TaskDef extends Pick<TaskView, 'key' | 'kind' | 'installationId' | 'name' | 'spec' | 'usesDefault'> {
  /** Retention: a hash of the policy; a new one is previewed before it is applied. */
  policyHash?: string;
  /** At most this many automatic attempts per window (the app's login limit), or null. */
  loginLimit: { attempts: number; perMinutes: number } | null;
}

/** What one scheduled run is told: why it runs, and for retention whether it only previews. */
export interface ScheduledRun {
  task: TaskDef;
  reason: string;
  previewOnly: boolean;
}

/** Starts the jobs of tasks; the core wires pulls, retention and the vault check. */
export interface TaskExecutor {
  tasks(config: ScheduleFile): Promise<TaskDef[]>;
  start(run: ScheduledRun, config: ScheduleFile): { jobId: string; done: Promise<JobRecord> };
}

export interface SchedulerHooks {
  /** A scheduled job finished (for notifications and the watchdog). */
  finished?(task: TaskDef, record: JobRecord, state: TaskState): void;
  /** A task was held after repeated authentication failures. */
  held?(task: TaskDef, why: string): void;
  changed?(): void;
  /** Whether the network is gone: pulls then wait (their slots count as missed) until it returns. */
  offline?(): boolean;
}

/** Why a tick runs: the process started, the machine woke, the network came back, or the timer. */
export type TickContext = 'start' | 'wake' | 'reconnect' | 'timer';

/** Timer ticks this far apart; a longer gap between two ticks means the machine slept (or the clock jumped). */
export const TICK_MS = 30_000;
const JUMP_MS = TICK_MS * 4;
/** A slot found this late is a missed one even when it is the only one. */
const LATE_MS = TICK_MS * 3;
const BACKOFF_BASE_MS = 5 * 60_000;
const BACKOFF_MAX_MS = 6 * 3_600_000;
/** Authentication failures in a row before a task is held (a lockout is worse than a missed run). */
const AUTH_FAILURES_HELD = 3;
const DEFAULT_LOGIN_LIMIT = { attempts: 4, perMinutes: 15 };

/** Errors retrying would only repeat, or that spend a rate-limited login: wait for the next slot. */
export function isAuthFailure(code: string): boolean {
  return code.includes('AUTH') || code === 'SECRET_REQUIRED' || code === 'CODE_REQUIRED' || code === 'HTTP_RATE_LIMITED' || code.includes('HOST_KEY') || code.startsWith('TLS_') || code === 'KEY_REQUIRED';
}

/** Back-off after `failures` failures in a row: 5 min, 10, 20 … at most 6 h. */
export function backoffMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
}

const specHash = (spec: ScheduleSpec, extra = ''): string => createHash('sha256').update(JSON.stringify(spec) + extra).digest('hex').slice(0, 16);

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

/**
 * Runs unattended tasks at their times. `tick` looks at the clock and starts what is due: once
 * per task however many slots passed (catch-up after sleep, a stop or a pause), saying so in the
 * job's reason; back-off after failures; never over the app's login limit; a task with a job still
 * queued or running is not started again. Deterministic: everything comes from the clock and the
 * data directory, so tests drive it with a clock of their own.
 */
export class Scheduler {
  private state: ScheduleState | null = null;
  private ticking: Promise<void> | null = null;
  /** Tasks whose slots passed while the network was gone; the run that catches them up says so. */
  private readonly missedOffline = new Set<string>();

  constructor(
    private readonly store: ScheduleStore,
    private readonly executor: TaskExecutor,
    private readonly clock: Clock = systemClock,
    private readonly hooks: SchedulerHooks = {},
  ) {}

  /** The first tick of a process: catches up what passed while Lifeboat was not running. */
  start(): void {
    void this.tick('start').catch(() => undefined);
  }

  /** Forgets the in-memory state (the next tick reads the data directory again). */
  stop(): void {
    this.state = null;
  }

  /** The machine woke (Electron powerMonitor): run what is past due now. */
  wake(): Promise<void> {
    return this.tick('wake');
  }

  /** The network came back: run what is past due now, and retry at once what failed on the network. */
  reconnect(): Promise<void> {
    return this.tick('reconnect');
  }

  /** Looks at the clock and starts what is due; ticks never overlap. */
  tick(context: TickContext = 'timer'): Promise<void> {
    const run = (this.ticking ?? Promise.resolve()).then(() => this.evaluate(context)).finally(() => {
      if (this.ticking === run) this.ticking = null;
    });
    this.ticking = run.catch(() => undefined);
    return run;
  }

  private async loadState(): Promise<ScheduleState> {
    if (!this.state) {
      this.state = await this.store.state();
      // Jobs of an earlier process are gone (this one holds the lock): none is running.
      for (const task of Object.values(this.state.tasks)) task.runningJobId = null;
    }
    return this.state;
  }

  private async evaluate(context: TickContext): Promise<void> {
    const now = this.clock.now();
    const state = await this.loadState();
    const config = await this.store.config();
    const gap = state.lastTickAt === null ? 0 : now - state.lastTickAt;
    const why = context === 'start' ? 'while Lifeboat was not running' : context === 'reconnect' ? 'while offline' : context === 'wake' || gap > JUMP_MS ? 'while asleep' : 'while it could not run';
    const offline = this.hooks.offline?.() ?? false;
    state.lastTickAt = now;
    let changed = false;
    const paused = pausedUntil(config, now);
    if (config.pausedUntil !== null && paused === null) {
      await this.store.updateConfig((c) => ({ ...c, pausedUntil: null }));
    }
    const tasks = await this.executor.tasks(config);
    for (const task of tasks) {
      const hash = specHash(task.spec);
      let s = state.tasks[task.key];
      if (!s || s.specHash !== hash) {
        // A new task, or a new schedule: slots before now are not "missed".
        s = { ...ScheduleStore.taskState(now, hash), ...(s ? { failures: s.failures, lastRunAt: s.lastRunAt, lastOutcome: s.lastOutcome, lastError: s.lastError, previewedPolicy: s.previewedPolicy } : {}) };
        state.tasks[task.key] = s;
        changed = true;
      }
      if (s.held && config.releasedAt && (s.heldAt ?? 0) <= Date.parse(config.releasedAt)) {
        s.held = null;
        s.heldAt = null;
        s.failures = 0;
        s.holdUntil = null;
        changed = true;
      }
      if (paused || s.runningJobId || s.held || task.spec.preset === 'off') continue;
      const compiled = compileSchedule(task.spec, task.key);
      const due = compiled.dueBetween(s.lastSlot ?? s.anchor, now);
      // Back on the network, what failed on it is retried now rather than at the end of its back-off.
      const networkRetry = context === 'reconnect' && s.retry && isNetworkFailure(s.lastErrorCode);
      const retryDue = s.retry && s.holdUntil !== null && (now >= s.holdUntil || networkRetry);
      if (due.count === 0 && !retryDue) continue;
      if (s.holdUntil !== null && now < s.holdUntil && !networkRetry) continue;
      if (offline && task.kind === 'pull') {
        // No network: the slot is kept (it counts as missed), no login is spent, no failure is alerted.
        if (due.count > 0) this.missedOffline.add(task.key);
        continue;
      }
      const limit = task.loginLimit ?? DEFAULT_LOGIN_LIMIT;
      s.attempts = s.attempts.filter((t) => now - t < limit.perMinutes * 60_000);
      if (s.attempts.length >= limit.attempts) continue;
      const caughtUpOffline = !offline && this.missedOffline.delete(task.key);
      const onReconnect = caughtUpOffline || networkRetry;
      let reason: string;
      if (due.count > 0 && caughtUpOffline) {
        reason = `on reconnect: missed ${due.capped ? 'more than ' : ''}${plural(due.count, 'run')} while offline; running once now`;
      } else if (due.count > 1 || (due.count === 1 && due.latest !== null && now - due.latest > LATE_MS)) {
        reason = `${onReconnect ? 'on reconnect: ' : ''}missed ${due.capped ? 'more than ' : ''}${plural(due.count, 'run')} ${why}; running once now`;
      } else if (due.count === 1) {
        reason = `scheduled (${describeSchedule(task.spec)})`;
      } else if (networkRetry) {
        reason = `on reconnect: retry after ${plural(s.failures, 'failure')} on the network (${s.lastError ?? s.lastErrorCode})`;
      } else {
        reason = `retry after ${plural(s.failures, 'failure')} (back-off ${duration(backoffMs(s.failures))})`;
      }
      if (due.latest !== null) s.lastSlot = due.latest;
      s.retry = false;
      s.attempts.push(now);
      const previewOnly = task.kind === 'retention' && s.previewedPolicy !== task.policyHash;
      const started = this.executor.start({ task, reason, previewOnly }, config);
      s.runningJobId = started.jobId;
      changed = true;
      void started.done.then((record) => this.finished(task, record, previewOnly));
    }
    if (changed) {
      this.hooks.changed?.();
      await this.store.saveState(state);
    }
  }

  private async finished(task: TaskDef, record: JobRecord, previewOnly: boolean): Promise<void> {
    const state = await this.loadState();
    const s = state.tasks[task.key];
    if (!s) return;
    const now = this.clock.now();
    s.runningJobId = null;
    s.lastRunAt = now;
    if (isSuccess(record.status)) {
      s.lastOutcome = 'succeeded';
      s.failures = 0;
      s.holdUntil = null;
      s.retry = false;
      s.lastError = null;
      s.lastErrorCode = null;
      if (previewOnly && task.policyHash) s.previewedPolicy = task.policyHash;
    } else if (record.status === 'cancelled') {
      s.lastOutcome = 'cancelled';
    } else {
      s.lastOutcome = 'failed';
      s.failures += 1;
      s.lastError = record.error?.message ?? 'failed';
      s.lastErrorCode = record.error?.code ?? 'INTERNAL';
      s.holdUntil = now + backoffMs(s.failures);
      const auth = isAuthFailure(s.lastErrorCode);
      s.retry = !auth;
      if (auth && s.failures >= AUTH_FAILURES_HELD) {
        s.held = `${plural(s.failures, 'attempt')} in a row failed (${s.lastError}); scheduled runs are held so they do not lock the account. Fix the installation, then resume the schedules.`;
        s.heldAt = now;
        this.hooks.held?.(task, s.held);
      }
    }
    await this.store.saveState(state);
    this.hooks.finished?.(task, record, s);
    this.hooks.changed?.();
  }

  /** What the schedules look like now: every task with its next five runs and last outcome. */
  async overview(config?: ScheduleFile): Promise<{ tasks: TaskView[]; paused: { until: string } | null }> {
    const now = this.clock.now();
    const current = config ?? (await this.store.config());
    const state = this.state ?? (await this.store.state());
    const tasks = await this.executor.tasks(current);
    const paused = pausedUntil(current, now);
    return {
      paused: paused ? { until: paused } : null,
      tasks: tasks.map((task) => {
        const s = state.tasks[task.key];
        const compiled = safeCompile(task.spec, task.key);
        return {
          key: task.key,
          kind: task.kind,
          installationId: task.installationId,
          name: task.name,
          spec: task.spec,
          usesDefault: task.usesDefault,
          describe: describeSchedule(task.spec),
          nextRuns: compiled ? compiled.next(5, now).map((t) => new Date(t).toISOString()) : [],
          lastRunAt: s?.lastRunAt ? new Date(s.lastRunAt).toISOString() : null,
          lastOutcome: s?.lastOutcome ?? null,
          lastError: s?.lastError ?? null,
          failures: s?.failures ?? 0,
          holdUntil: s?.holdUntil && s.holdUntil > now ? new Date(s.holdUntil).toISOString() : null,
          held: s?.held ?? null,
          runningJobId: s?.runningJobId ?? null,
        };
      }),
    };
  }

  /** The policy hash a retention task carries. */
  static policyHash(policy: unknown): string {
    return createHash('sha256').update(JSON.stringify(policy)).digest('hex').slice(0, 16);
  }
}

function safeCompile(spec: ScheduleSpec, key: string) {
  try {
    return compileSchedule(spec, key);
  } catch {
    return null;
  }
}

/** The time schedules resume, "forever", or null when they run. */
export function pausedUntil(config: ScheduleFile, now: number): string | null {
  if (config.pausedUntil === null) return null;
  if (config.pausedUntil === 'forever') return 'forever';
  return Date.parse(config.pausedUntil) > now ? config.pausedUntil : null;
}
