// The watchdog with a clock the test moves: which side failed, one alert per change, reminders at
// the interval, acknowledge and snooze, a digest when many change at once, and the fleet summary.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Watchdog, assess, fleetState, unreachableCount, type WatchInput } from '../../src/main/watchdog/watchdog';
import { watchSettingsSchema, type NotificationRecord, type WatchSettings } from '../../src/shared/schedule';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');
const settings = (change: Partial<WatchSettings> = {}) => watchSettingsSchema.parse(change);

function input(over: Partial<WatchInput> = {}): WatchInput {
  return { installationId: 'w1', name: 'Weavestream', addedAt: T0 - 100 * HOUR, cadenceHours: 24, appObserved: true, appNewest: T0, lifeboatNewest: T0, consecutiveFailures: 0, lastError: null, ...over };
}

describe('assess: which side failed', () => {
  it('the app made no backup: names the app, the age and the cadence', () => {
    const now = T0 + 31 * HOUR;
    expect(assess(input(), now, settings())).toEqual({ state: 'overdue', side: 'app', message: 'Weavestream has made no backup for 31 h (expected daily)' });
  });

  it('Lifeboat could not pull: names the failures and the error', () => {
    const now = T0 + 26 * HOUR;
    expect(assess(input({ appNewest: T0 + 24 * HOUR, consecutiveFailures: 3, lastError: 'authentication failed' }), now, settings())).toEqual({ state: 'failing', side: 'lifeboat', message: 'Lifeboat could not pull the last 3 backups of Weavestream: authentication failed' });
  });

  it('fresh within the cadence, due after it, overdue after the grace (a quarter of the cadence by default, or the operator\'s)', () => {
    const base = input({ appObserved: false, appNewest: null });
    expect(assess(base, T0 + 23 * HOUR, settings()).state).toBe('fresh');
    expect(assess(base, T0 + 25 * HOUR, settings()).state).toBe('due');
    expect(assess(base, T0 + 29 * HOUR, settings()).state).toBe('due');
    expect(assess(base, T0 + 31 * HOUR, settings())).toMatchObject({ state: 'overdue', side: 'lifeboat', message: "Lifeboat's newest copy of Weavestream is 31 h old (expected daily)" });
    expect(assess(base, T0 + 27 * HOUR, settings({ graceHours: 2 })).state).toBe('overdue');
    expect(assess(input({ cadenceHours: null }), T0, settings()).state).toBe('unknown');
  });
});

function dog(inputs: () => WatchInput[], clock: { t: number }, cfg: Partial<WatchSettings> = {}) {
  const dir = mkdtempSync(path.join(process.env.LIFEBOAT_TEST_ROOT ?? os.tmpdir(), 'watchdog-'));
  const posted: Omit<NotificationRecord, 'id' | 'at' | 'read'>[] = [];
  const watchdog = new Watchdog(path.join(dir, 'watchdog.json'), { now: () => clock.t }, async () => inputs(), async () => settings(cfg), (n) => posted.push(n));
  return { watchdog, posted, file: path.join(dir, 'watchdog.json'), dir };
}

describe('alerts on change only', () => {
  it('overdue alerts once, reminds at the interval, and recovery alerts once', async () => {
    const clock = { t: T0 };
    let current = input({ appObserved: false, appNewest: null });
    const { watchdog, posted } = dog(() => [current], clock, { reminderHours: 6 });
    await watchdog.evaluate();
    expect(posted).toEqual([]);
    const events: string[] = [];
    for (let h = 1; h <= 48; h += 1) {
      clock.t = T0 + h * HOUR;
      if (h === 44) current = { ...current, lifeboatNewest: clock.t - HOUR };
      const changes = await watchdog.evaluate();
      for (const c of changes) events.push(`${h}:${c.event}`);
    }
    // due at 25 h, overdue at 31 h, reminders every 6 h (37, 43), recovered at 44 h.
    expect(events).toEqual(['25:due', '31:overdue', '37:reminder', '43:reminder', '44:recovered']);
    expect(posted.map((p) => p.event)).toEqual(['due', 'overdue', 'reminder', 'reminder', 'recovered']);
    expect(posted[1]).toMatchObject({ severity: 'critical', title: 'Weavestream is overdue', message: "Lifeboat's newest copy of Weavestream is 31 h old (expected daily)" });
    expect(posted[4]!.message).toMatch(/^Weavestream has recovered: the newest copy is 1 h old/);
  });

  it('acknowledged: no reminders until the state changes; snoozed: no alerts until the snooze ends', async () => {
    const clock = { t: T0 + 31 * HOUR };
    let current = input({ appObserved: false, appNewest: null });
    const { watchdog, posted } = dog(() => [current], clock, { reminderHours: 1 });
    await watchdog.evaluate();
    expect(posted.map((p) => p.event)).toEqual(['overdue']);
    await watchdog.acknowledge('w1');
    for (let h = 1; h <= 5; h += 1) {
      clock.t += HOUR;
      await watchdog.evaluate();
    }
    expect(posted).toHaveLength(1);
    // A new failure is a new state: it alerts, and reminders start again.
    current = { ...current, consecutiveFailures: 2, lastError: 'connection refused' };
    await watchdog.evaluate();
    expect(posted.map((p) => p.event)).toEqual(['overdue', 'failing']);
    await watchdog.snooze('w1', clock.t + 3 * HOUR);
    for (let h = 1; h <= 2; h += 1) {
      clock.t += HOUR;
      await watchdog.evaluate();
    }
    expect(posted).toHaveLength(2);
    clock.t += 2 * HOUR;
    await watchdog.evaluate();
    expect(posted.map((p) => p.event)).toEqual(['overdue', 'failing', 'reminder']);
    expect((await watchdog.entries())[0]).toMatchObject({ state: 'failing', side: 'lifeboat', consecutiveFailures: 2, acknowledged: false });
  });

  it('many changes at once come as one digest', async () => {
    const clock = { t: T0 };
    const fleet = Array.from({ length: 6 }, (_, i) => input({ installationId: `i${i}`, name: `box ${i}`, appObserved: false, appNewest: null }));
    const { watchdog, posted } = dog(() => fleet, clock, { digestThreshold: 3 });
    await watchdog.evaluate();
    clock.t = T0 + 40 * HOUR;
    await watchdog.evaluate();
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({ event: 'digest', severity: 'critical', title: 'Lifeboat: 6 installations changed (6 overdue or failing)' });
    expect(posted[0]!.items).toHaveLength(6);
    expect(fleetState(await watchdog.entries())).toMatchObject({ overdue: 6, level: 'alarm', summary: '6 overdue or failing' });
  });

  it('remembers states across restarts: an unchanged overdue does not alert again', async () => {
    const clock = { t: T0 + 40 * HOUR };
    const current = input({ appObserved: false, appNewest: null });
    const first = dog(() => [current], clock);
    await first.watchdog.evaluate();
    const again = new Watchdog(first.file, { now: () => clock.t }, async () => [current], async () => settings(), (n) => first.posted.push(n));
    clock.t += HOUR;
    await again.evaluate();
    expect(first.posted.map((p) => p.event)).toEqual(['overdue']);
  });
});

describe('acknowledge and snooze from another process', () => {
  it('an acknowledgement written while the runner evaluates survives its save, and it sends no reminder', async () => {
    const clock = { t: T0 + 40 * HOUR };
    const current = input({ appObserved: false, appNewest: null });
    let gate: Promise<void> | null = null;
    const runner = dog(() => [current], clock, { reminderHours: 1 });
    const slow = new Watchdog(runner.file, { now: () => clock.t }, async () => {
      await gate;
      return [current];
    }, async () => settings({ reminderHours: 1 }), (n) => runner.posted.push(n));
    await slow.evaluate();
    expect(runner.posted.map((p) => p.event)).toEqual(['overdue']);
    // The CLI's watchdog (another process's) acknowledges while the runner is gathering.
    let open!: () => void;
    gate = new Promise<void>((resolve) => (open = resolve));
    clock.t += 2 * HOUR;
    const evaluating = slow.evaluate();
    const cli = new Watchdog(runner.file, { now: () => clock.t }, async () => [current], async () => settings(), () => undefined);
    await cli.acknowledge('w1');
    open();
    await evaluating;
    gate = null;
    // That round had read the file before the acknowledgement: it may remind once; none after.
    const reminders = runner.posted.length;
    for (let h = 1; h <= 3; h += 1) {
      clock.t += HOUR;
      await slow.evaluate();
    }
    expect(runner.posted).toHaveLength(reminders);
    expect((await slow.entries())[0]).toMatchObject({ state: 'overdue', acknowledged: true });
  });

  it('an installation no runner has evaluated yet can be snoozed: its state is assessed then, without an alert', async () => {
    const clock = { t: T0 + 40 * HOUR };
    const current = input({ appObserved: false, appNewest: null });
    const cli = dog(() => [current], clock);
    await cli.watchdog.snooze('w1', clock.t + 4 * HOUR);
    expect(cli.posted).toEqual([]);
    const runner = new Watchdog(cli.file, { now: () => clock.t }, async () => [current], async () => settings({ reminderHours: 1 }), (n) => cli.posted.push(n));
    clock.t += HOUR;
    await runner.evaluate();
    expect(cli.posted).toEqual([]);
    expect((await runner.entries())[0]).toMatchObject({ state: 'overdue', snoozedUntil: new Date(T0 + 44 * HOUR).toISOString() });
    clock.t += 4 * HOUR;
    await runner.evaluate();
    expect(cli.posted.map((p) => p.event)).toEqual(['reminder']);
  });
});

describe('fleet summary', () => {
  it('says all fresh, N due, or N overdue or failing', () => {
    expect(fleetState([{ state: 'fresh' }, { state: 'unknown' }]).summary).toBe('All fresh');
    expect(fleetState([{ state: 'fresh' }, { state: 'due' }, { state: 'due' }])).toMatchObject({ summary: '2 due', level: 'due' });
    expect(fleetState([{ state: 'failing' }, { state: 'overdue' }, { state: 'due' }])).toMatchObject({ summary: '2 overdue or failing, 1 due', level: 'alarm' });
  });

  it('never says all fresh while an installation cannot be reached (a refused token, a host down, a changed key)', () => {
    const entries = [
      { installationId: 'a', state: 'fresh' as const },
      { installationId: 'b', state: 'unknown' as const },
      { installationId: 'c', state: 'failing' as const },
      { installationId: 'd', state: 'fresh' as const },
    ];
    const connection: Record<string, string> = { a: 'auth-failed', b: 'offline', c: 'offline', d: 'online' };
    // c is counted as failing already; a and b are not late but cannot be reached.
    const unreachable = unreachableCount(entries, (id) => connection[id]);
    expect(unreachable).toBe(2);
    expect(fleetState(entries.filter((e) => e.state !== 'failing'), unreachable)).toMatchObject({ summary: 'All fresh, 2 not reachable', level: 'due', unreachable: 2 });
    expect(fleetState(entries, unreachable)).toMatchObject({ summary: '1 overdue or failing, 2 not reachable', level: 'alarm' });
  });
});
