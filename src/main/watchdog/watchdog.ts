import { readFile } from 'node:fs/promises';
import type { FleetState, NotificationEvent, NotificationRecord, WatchChange, WatchEntry, WatchSettings, WatchState } from '../../shared/schedule';
import { writeFileAtomic } from '../fs/atomic-write';
import type { Clock } from '../schedule/scheduler';

/** What the watchdog knows of one installation at one moment. */
export interface WatchInput {
  installationId: string;
  name: string;
  /** When the installation was added (ms): the baseline before any backup exists. */
  addedAt: number;
  cadenceHours: number | null;
  /** Whether the app's side can be seen: its list of backups was read. */
  appObserved: boolean;
  /** The app's newest backup (ms), when its list showed one. */
  appNewest: number | null;
  /** Lifeboat's newest verified copy (ms, the backup's own time). */
  lifeboatNewest: number | null;
  /** Pulls that failed in a row, newest first, and why the last one did. */
  consecutiveFailures: number;
  lastError: string | null;
}

export interface Assessment {
  state: WatchState;
  side: 'app' | 'lifeboat' | null;
  message: string;
}

const HOUR = 3_600_000;

/** "daily", "hourly", "weekly", "every 6 h". */
export function describeCadence(hours: number): string {
  if (hours === 1) return 'hourly';
  if (hours === 24) return 'daily';
  if (hours === 168) return 'weekly';
  return `every ${hours} h`;
}

function age(ms: number): string {
  const hours = ms / HOUR;
  if (hours < 1) return `${Math.max(1, Math.round(ms / 60_000))} min`;
  if (hours < 72) return `${Math.round(hours)} h`;
  return `${Math.round(hours / 24)} days`;
}

/** Grace after the cadence: the operator's, or a quarter of the cadence, at least an hour. */
export function graceHours(cadenceHours: number, settings: WatchSettings): number {
  return settings.graceHours ?? Math.max(1, cadenceHours / 4);
}

/**
 * Judges one installation: the app's newest backup and Lifeboat's newest copy are each held
 * against cadence + grace, so the message says which side failed.
 */
export function assess(input: WatchInput, now: number, settings: WatchSettings): Assessment {
  const { name, cadenceHours } = input;
  if (cadenceHours === null) return { state: 'unknown', side: null, message: `${name}: no expected cadence is known; set "Hours between backups" to watch it.` };
  const limit = (cadenceHours + graceHours(cadenceHours, settings)) * HOUR;
  const expected = `expected ${describeCadence(cadenceHours)}`;
  const appAge = input.appNewest !== null ? now - input.appNewest : input.appObserved ? now - input.addedAt : null;
  const copyAge = now - (input.lifeboatNewest ?? input.addedAt);
  if (appAge !== null && appAge > limit) {
    return { state: 'overdue', side: 'app', message: `${name} has made no backup for ${age(appAge)} (${expected})` };
  }
  if (input.consecutiveFailures > 0 && copyAge > cadenceHours * HOUR) {
    const n = input.consecutiveFailures;
    return { state: 'failing', side: 'lifeboat', message: `Lifeboat could not pull ${n === 1 ? 'the last backup' : `the last ${n} backups`} of ${name}: ${input.lastError ?? 'unknown error'}` };
  }
  if (copyAge > limit) {
    return {
      state: 'overdue',
      side: 'lifeboat',
      message: input.lifeboatNewest === null ? `Lifeboat has no copy of ${name} yet, ${age(copyAge)} after it was added (${expected})` : `Lifeboat's newest copy of ${name} is ${age(copyAge)} old (${expected})`,
    };
  }
  if (copyAge > cadenceHours * HOUR) return { state: 'due', side: 'lifeboat', message: `${name} is due: the newest copy is ${age(copyAge)} old (${expected})` };
  return { state: 'fresh', side: null, message: input.lifeboatNewest === null ? `${name} has no copy yet (added ${age(copyAge)} ago, ${expected})` : `${name} is fresh: the newest copy is ${age(copyAge)} old (${expected})` };
}

interface Remembered {
  state: WatchState;
  side: 'app' | 'lifeboat' | null;
  message: string;
  since: number;
  lastAlertAt: number | null;
  acknowledged: boolean;
  snoozedUntil: number | null;
  /** When the operator last acknowledged or snoozed it (ms), so that word wins over an older copy. */
  quietAt?: number | null;
  appNewest: number | null;
  lifeboatNewest: number | null;
  cadenceHours: number | null;
  consecutiveFailures: number;
  name: string;
}


export type Post = (record: Omit<NotificationRecord, 'id' | 'at' | 'read'>) => void;

const BAD: WatchState[] = ['overdue', 'failing'];

/**
 * Evaluates freshness continuously and alerts on changes only: fresh → due → overdue/failing →
 * recovered, one alert per change, a reminder every `reminderHours` while it lasts (unless
 * acknowledged or snoozed), and one digest when more than `digestThreshold` change at once.
 */
export class Watchdog {
  private memory: Record<string, Remembered> | null = null;

  /**
   * `file`: where states, acknowledgements and snoozes are kept (read again at every evaluation,
   * so an acknowledgement from another process counts); `post` null: observe only (`lifeboat
   * watch` beside a running daemon), nothing is written or sent.
   */
  constructor(
    private readonly file: string,
    private readonly clock: Clock,
    private readonly gather: () => Promise<WatchInput[]>,
    private readonly settings: () => Promise<WatchSettings>,
    private readonly post: Post | null,
  ) {}

  private async load(): Promise<Record<string, Remembered>> {
    if (this.memory && !this.post) return this.memory;
    this.memory = await this.read();
    return this.memory;
  }

  /** Looks at every installation now; returns the changes (and reminders), having posted their alerts. */
  async evaluate(): Promise<WatchChange[]> {
    const now = this.clock.now();
    const settings = await this.settings();
    const memory = await this.load();
    const inputs = await this.gather();
    const changes: WatchChange[] = [];
    const seen = new Set<string>();
    for (const input of inputs) {
      seen.add(input.installationId);
      const verdict = assess(input, now, settings);
      const before = memory[input.installationId];
      const facts = { appNewest: input.appNewest, lifeboatNewest: input.lifeboatNewest, cadenceHours: input.cadenceHours, consecutiveFailures: input.consecutiveFailures, name: input.name };
      if (!before || before.state !== verdict.state) {
        const from = before?.state ?? null;
        const event = changeEvent(from, verdict.state);
        const next: Remembered = { ...verdict, ...facts, since: now, lastAlertAt: before?.lastAlertAt ?? null, acknowledged: false, snoozedUntil: before?.snoozedUntil ?? null };
        memory[input.installationId] = next;
        if (event) {
          const snoozed = next.snoozedUntil !== null && next.snoozedUntil > now;
          changes.push({ installationId: input.installationId, name: input.name, from, to: verdict.state, event, message: event === 'recovered' ? `${input.name} has recovered: ${verdict.message.replace(/^.*? is fresh: /, '')}` : verdict.message, at: new Date(now).toISOString() });
          if (!snoozed) next.lastAlertAt = now;
          else changes.pop();
        }
        continue;
      }
      Object.assign(before, { side: verdict.side, message: verdict.message, ...facts });
      const quiet = before.acknowledged || (before.snoozedUntil !== null && before.snoozedUntil > now);
      if (BAD.includes(before.state) && !quiet && (before.lastAlertAt === null || now - before.lastAlertAt >= settings.reminderHours * HOUR)) {
        before.lastAlertAt = now;
        changes.push({ installationId: input.installationId, name: input.name, from: before.state, to: before.state, event: 'reminder', message: `Still ${before.state} since ${new Date(before.since).toISOString()}: ${verdict.message}`, at: new Date(now).toISOString() });
      }
    }
    for (const id of Object.keys(memory)) if (!seen.has(id)) delete memory[id];
    if (this.post) await this.save();
    if (this.post && changes.length > 0) this.announce(changes, settings);
    return changes;
  }

  private announce(changes: WatchChange[], settings: WatchSettings): void {
    const post = this.post!;
    if (changes.length > settings.digestThreshold) {
      const bad = changes.filter((c) => BAD.includes(c.to)).length;
      const recovered = changes.filter((c) => c.event === 'recovered').length;
      const parts = [bad ? `${bad} overdue or failing` : '', recovered ? `${recovered} recovered` : '', changes.length - bad - recovered ? `${changes.length - bad - recovered} other` : ''].filter(Boolean);
      post({
        event: 'digest',
        severity: bad ? 'critical' : 'info',
        title: `Lifeboat: ${changes.length} installations changed (${parts.join(', ')})`,
        message: changes.map((c) => `• ${c.message}`).join('\n'),
        installationId: null,
        items: changes.map((c) => ({ installationId: c.installationId, name: c.name, state: c.to, message: c.message })),
      });
      return;
    }
    for (const c of changes) {
      post({ event: c.event, severity: severityOf(c), title: titleOf(c), message: c.message, installationId: c.installationId });
    }
  }

  async entries(): Promise<WatchEntry[]> {
    const memory = await this.load();
    const now = this.clock.now();
    return Object.entries(memory).map(([installationId, r]) => ({
      installationId,
      name: r.name,
      state: r.state,
      side: r.side,
      message: r.message,
      since: new Date(r.since).toISOString(),
      appNewest: r.appNewest === null ? null : new Date(r.appNewest).toISOString(),
      lifeboatNewest: r.lifeboatNewest === null ? null : new Date(r.lifeboatNewest).toISOString(),
      cadenceHours: r.cadenceHours,
      consecutiveFailures: r.consecutiveFailures,
      acknowledged: r.acknowledged,
      snoozedUntil: r.snoozedUntil !== null && r.snoozedUntil > now ? new Date(r.snoozedUntil).toISOString() : null,
    }));
  }

  /** No reminders for this state any more (a new change alerts again). */
  async acknowledge(installationId: string): Promise<void> {
    await this.quiet(installationId, (r) => (r.acknowledged = true));
  }

  /** No alerts for this installation until `until` (ms); null ends the snooze. */
  async snooze(installationId: string, until: number | null): Promise<void> {
    await this.quiet(installationId, (r) => (r.snoozedUntil = until));
  }

  /**
   * Records the operator's word in the file, from any process (the CLI beside a running daemon).
   * An installation no evaluation has written yet is assessed now, without an alert, so the word
   * has a state to hold to.
   */
  private async quiet(installationId: string, change: (r: Remembered) => void): Promise<void> {
    this.memory = null;
    const memory = await this.read();
    const now = this.clock.now();
    if (!memory[installationId]) {
      const input = (await this.gather()).find((i) => i.installationId === installationId);
      if (!input) return;
      const verdict = assess(input, now, await this.settings());
      memory[installationId] = { ...verdict, appNewest: input.appNewest, lifeboatNewest: input.lifeboatNewest, cadenceHours: input.cadenceHours, consecutiveFailures: input.consecutiveFailures, name: input.name, since: now, lastAlertAt: null, acknowledged: false, snoozedUntil: null };
    }
    const r = memory[installationId];
    change(r);
    r.quietAt = now;
    this.memory = memory;
    await this.save();
  }

  private async read(): Promise<Record<string, Remembered>> {
    try {
      return (JSON.parse(await readFile(this.file, 'utf8')) as { installations: Record<string, Remembered> }).installations;
    } catch {
      return {};
    }
  }

  /**
   * Writes the states; an acknowledgement or snooze another process wrote since this one read the
   * file is kept (an acknowledgement only while the state it was given for lasts).
   */
  private async save(): Promise<void> {
    const memory = this.memory ?? {};
    const disk = await this.read();
    for (const [id, mine] of Object.entries(memory)) {
      const theirs = disk[id];
      if (!theirs || (theirs.quietAt ?? 0) <= (mine.quietAt ?? 0)) continue;
      mine.snoozedUntil = theirs.snoozedUntil;
      if (theirs.state === mine.state) mine.acknowledged = theirs.acknowledged;
      mine.quietAt = theirs.quietAt ?? null;
    }
    await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, installations: memory })}\n`);
  }
}

function changeEvent(from: WatchState | null, to: WatchState): NotificationEvent | null {
  if (to === 'overdue' || to === 'failing' || to === 'due') return to;
  if (to === 'fresh' && from !== null && BAD.includes(from)) return 'recovered';
  return null;
}

function severityOf(c: WatchChange): NotificationRecord['severity'] {
  return c.to === 'overdue' || c.to === 'failing' ? 'critical' : c.event === 'due' ? 'warning' : 'info';
}

function titleOf(c: WatchChange): string {
  switch (c.event) {
    case 'recovered':
      return `${c.name} has recovered`;
    case 'reminder':
      return `${c.name} is still ${c.to}`;
    default:
      return `${c.name} is ${c.to}`;
  }
}

/** Connection states in which the next pull cannot work. */
const UNREACHABLE_STATES: ReadonlySet<string> = new Set(['offline', 'auth-failed', 'host-key-untrusted']);

/**
 * Installations the watchdog does not count as late (their copies are fresh enough) but whose
 * connection fails now: the header must not say "All fresh" while the Fleet row says "failing".
 */
export function unreachableCount(entries: Pick<WatchEntry, 'state' | 'installationId'>[], connectionOf: (installationId: string) => string | undefined): number {
  return entries.filter((e) => e.state !== 'overdue' && e.state !== 'failing' && UNREACHABLE_STATES.has(connectionOf(e.installationId) ?? '')).length;
}

/** Counts for the header, the page title and the tray. */
export function fleetState(entries: Pick<WatchEntry, 'state'>[], unreachable = 0): FleetState {
  const count = (s: WatchState) => entries.filter((e) => e.state === s).length;
  const fresh = count('fresh');
  const due = count('due');
  const overdue = count('overdue');
  const failing = count('failing');
  const unknown = count('unknown');
  const alarm = overdue + failing;
  const late = alarm > 0 ? `${alarm} overdue or failing${due ? `, ${due} due` : ''}` : due > 0 ? `${due} due` : 'All fresh';
  const summary = entries.length === 0 ? 'No installations' : unreachable > 0 ? `${late}, ${unreachable} not reachable` : late;
  return { total: entries.length, fresh, due, overdue, failing, unknown, unreachable, summary, level: alarm > 0 ? 'alarm' : due > 0 || unreachable > 0 ? 'due' : 'ok' };
}
