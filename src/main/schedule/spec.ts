import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { LifeboatError } from '../../shared/errors';
import type { ScheduleSpec } from '../../shared/schedule';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
/** Catch-up counts missed slots up to this many (a year of hourly slots), then says "more than". */
const MAX_COUNTED_SLOTS = 10_000;

/** A schedule made concrete for one task: its slots (croner, in its time zone) shifted by the task's jitter. */
export interface CompiledSchedule {
  readonly spec: ScheduleSpec;
  /** Milliseconds added to every slot: the same for a task on every run, different between tasks. */
  readonly offsetMs: number;
  /** The first fire time strictly after `after` (ms), or null for "off". */
  nextAfter(after: number): number | null;
  /** The next `n` fire times after `after`. */
  next(n: number, after: number): number[];
  /** Fire times in (since, now]: how many, and the latest. */
  dueBetween(since: number, now: number): { count: number; latest: number | null; capped: boolean };
}

/** The cron expression of a preset (or the operator's own). */
export function cronExpression(spec: ScheduleSpec): string | null {
  switch (spec.preset) {
    case 'off':
      return null;
    case 'hourly':
      return `${spec.minute ?? 0} * * * *`;
    case 'daily': {
      const [h, m] = spec.time.split(':').map(Number);
      return `${m} ${h} * * *`;
    }
    case 'weekly': {
      const [h, m] = spec.time.split(':').map(Number);
      return `${m} ${h} * * ${spec.weekday}`;
    }
    case 'cron':
      return spec.expression;
  }
}

/** Default spread: a whole hour for "hourly" without a minute, else ten minutes (never more than the gap between slots). */
function jitterWindowMs(spec: ScheduleSpec, gapMs: number): number {
  if (spec.preset === 'off') return 0;
  const minutes = spec.jitterMinutes ?? (spec.preset === 'hourly' && spec.minute === undefined ? 60 : 10);
  return Math.max(0, Math.min(minutes * 60_000, gapMs - 60_000));
}

/** A uniform 32-bit hash of a string (the first bytes of its SHA-256): the same task always gets the same place in the slot. */
export function stableHash(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/** Checks a spec (cron syntax, time zone) and compiles it for a task; INVALID_INPUT names what is wrong. */
export function compileSchedule(spec: ScheduleSpec, taskKey: string, defaultTimeZone?: string): CompiledSchedule {
  const expression = cronExpression(spec);
  if (expression === null) {
    return { spec, offsetMs: 0, nextAfter: () => null, next: () => [], dueBetween: () => ({ count: 0, latest: null, capped: false }) };
  }
  const timezone = ('timeZone' in spec ? spec.timeZone : undefined) ?? defaultTimeZone;
  let cron: Cron;
  try {
    cron = new Cron(expression, { paused: true, ...(timezone ? { timezone } : {}) });
    cron.nextRun(new Date(0));
  } catch (error) {
    const what = /timezone/i.test(String(error)) ? `"${timezone}" is not a time zone (use an IANA name such as Europe/Berlin)` : `"${expression}" is not a cron expression (minute hour day month weekday)`;
    throw new LifeboatError('INVALID_INPUT', `${what}.`, { cause: error });
  }
  const slotAfter = (after: number): number | null => cron.nextRun(new Date(after))?.getTime() ?? null;
  // The gap between two slots bounds the jitter, so a task never fires twice in one slot.
  const probe = Date.UTC(2026, 0, 5);
  const first = slotAfter(probe);
  const second = first === null ? null : slotAfter(first);
  const gap = first !== null && second !== null ? second - first : 3_600_000;
  const window = jitterWindowMs(spec, gap);
  const offsetMs = window === 0 ? 0 : Math.floor((stableHash(taskKey) / 2 ** 32) * (window / 1000)) * 1000;
  const nextAfter = (after: number): number | null => {
    const slot = slotAfter(after - offsetMs);
    return slot === null ? null : slot + offsetMs;
  };
  return {
    spec,
    offsetMs,
    nextAfter,
    next(n, after) {
      const out: number[] = [];
      let at = after;
      while (out.length < n) {
        const t = nextAfter(at);
        if (t === null) break;
        out.push(t);
        at = t;
      }
      return out;
    },
    dueBetween(since, now) {
      let count = 0;
      let latest: number | null = null;
      let at = since;
      for (;;) {
        const t = nextAfter(at);
        if (t === null || t > now) return { count, latest, capped: false };
        count += 1;
        latest = t;
        at = t;
        if (count >= MAX_COUNTED_SLOTS) {
          // Far behind: the latest slot is found directly, the count stops here.
          let last = t;
          for (let probeAt = now - gap * 2; ; ) {
            const u = nextAfter(Math.max(probeAt, last));
            if (u === null || u > now) break;
            last = u;
            probeAt = u;
          }
          return { count, latest: last, capped: true };
        }
      }
    },
  };
}

/** "daily at 02:30 (Europe/Berlin)", for lists and messages. */
export function describeSchedule(spec: ScheduleSpec): string {
  const zone = 'timeZone' in spec && spec.timeZone ? ` (${spec.timeZone})` : '';
  switch (spec.preset) {
    case 'off':
      return 'off';
    case 'hourly':
      return spec.minute === undefined ? `hourly${zone}` : `hourly at :${String(spec.minute).padStart(2, '0')}${zone}`;
    case 'daily':
      return `daily at ${spec.time}${zone}`;
    case 'weekly':
      return `weekly on ${WEEKDAYS[spec.weekday]} at ${spec.time}${zone}`;
    case 'cron':
      return `cron "${spec.expression}"${zone}`;
  }
}
