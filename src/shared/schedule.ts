import { z } from 'zod';
import { retentionPolicySchema } from './vault';

/**
 * When something runs unattended: a preset (hourly, daily at HH:MM, weekly) or a cron expression,
 * in a time zone (IANA; the machine's zone when absent). `jitterMinutes` spreads installations
 * over the slot (deterministically per installation); its default depends on the preset.
 */
const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time looks like 02:30 (24-hour HH:MM)');
const common = {
  timeZone: z.string().min(1).max(64).optional(),
  jitterMinutes: z.number().int().min(0).max(1440).optional(),
};
export const scheduleSpecSchema = z.discriminatedUnion('preset', [
  z.object({ preset: z.literal('off') }).strict(),
  z.object({ preset: z.literal('hourly'), minute: z.number().int().min(0).max(59).optional(), ...common }).strict(),
  z.object({ preset: z.literal('daily'), time, ...common }).strict(),
  z.object({ preset: z.literal('weekly'), weekday: z.number().int().min(0).max(6), time, ...common }).strict(),
  z.object({ preset: z.literal('cron'), expression: z.string().min(9).max(120), ...common }).strict(),
]);
export type ScheduleSpec = z.infer<typeof scheduleSpecSchema>;

/** One installation's unattended work; `pull: null` follows the default schedule. */
export const installationScheduleSchema = z
  .object({
    pull: scheduleSpecSchema.nullable().default(null),
    /** Ask the app to make a backup first (apps that export on demand, or a fresher copy). */
    triggerFirst: z.boolean().default(false),
    /** restic `forget` policy applied to this installation's snapshots on its own schedule. */
    retention: z.object({ policy: retentionPolicySchema, schedule: scheduleSpecSchema, prune: z.boolean().default(false) }).strict().nullable().default(null),
    /** A restore drill of the installation's newest snapshot on this schedule (e.g. weekly); null: none. */
    drill: scheduleSpecSchema.nullable().default(null),
  })
  .strict();
export type InstallationSchedule = z.infer<typeof installationScheduleSchema>;
export type InstallationScheduleInput = z.input<typeof installationScheduleSchema>;

/** What the data directory's schedules.json holds. */
export const scheduleFileSchema = z
  .object({
    version: z.literal(1).default(1),
    /** The pull schedule of every installation without its own. */
    defaultPull: scheduleSpecSchema.default({ preset: 'off' }),
    installations: z.record(z.string(), installationScheduleSchema).default({}),
    vaultCheck: z.object({ schedule: scheduleSpecSchema, readData: z.boolean().default(false) }).strict().default({ schedule: { preset: 'off' }, readData: false }),
    /** Scheduled pulls that may run at once (manual pulls have their own, larger limit). */
    maxConcurrent: z.number().int().min(1).max(16).default(2),
    /** ISO time schedules resume at; "forever" until resumed; null when running. */
    pausedUntil: z.string().nullable().default(null),
    /** Set by "resume": tasks held after repeated authentication failures before this time run again. */
    releasedAt: z.string().nullable().default(null),
  })
  .strict();
export type ScheduleFile = z.infer<typeof scheduleFileSchema>;

/** One unattended task: a pull of an installation, its retention, its restore drill, or the vault check. */
export type TaskKind = 'pull' | 'retention' | 'drill' | 'vault-check';

export interface TaskView {
  key: string;
  kind: TaskKind;
  installationId: string | null;
  name: string;
  /** The schedule in effect (the default's, for a pull without its own). */
  spec: ScheduleSpec;
  usesDefault: boolean;
  describe: string;
  /** The next five times it will fire (jitter included), ISO. */
  nextRuns: string[];
  lastRunAt: string | null;
  lastOutcome: 'succeeded' | 'failed' | 'cancelled' | null;
  lastError: string | null;
  failures: number;
  /** Back-off: nothing starts before this (ISO), or null. */
  holdUntil: string | null;
  /** Why the task does not run, when it does not (too many authentication failures…). */
  held: string | null;
  runningJobId: string | null;
}

export interface ScheduleOverview {
  paused: { until: string | 'forever' } | null;
  maxConcurrent: number;
  defaultPull: ScheduleSpec;
  vaultCheck: { schedule: ScheduleSpec; readData: boolean };
  installations: Record<string, InstallationSchedule>;
  tasks: TaskView[];
  /** Whether this process runs the schedules (it holds the data directory's lock), and who does otherwise. */
  runner: { here: boolean; holder: string | null };
}

/** The watchdog's view of one installation. */
export type WatchState = 'fresh' | 'due' | 'overdue' | 'failing' | 'unknown';

export interface WatchEntry {
  installationId: string;
  name: string;
  state: WatchState;
  /** Which side is late: the app made no backup, or Lifeboat did not copy it. */
  side: 'app' | 'lifeboat' | null;
  message: string;
  since: string;
  /** ISO of the app's newest backup and Lifeboat's newest verified copy, when known. */
  appNewest: string | null;
  lifeboatNewest: string | null;
  cadenceHours: number | null;
  consecutiveFailures: number;
  acknowledged: boolean;
  snoozedUntil: string | null;
}

/** One state change (or reminder) the watchdog reports; `lifeboat watch` prints these as JSON lines. */
export interface WatchChange {
  installationId: string;
  name: string;
  from: WatchState | null;
  to: WatchState;
  event: NotificationEvent;
  message: string;
  at: string;
}

export interface FleetState {
  total: number;
  fresh: number;
  due: number;
  overdue: number;
  failing: number;
  unknown: number;
  /** Installations whose backups are not late yet but that cannot be reached now (offline, refused, key changed). */
  unreachable: number;
  /** "All fresh", "2 due", "1 overdue or failing": for the header, the page title, the tray. */
  summary: string;
  level: 'ok' | 'due' | 'alarm';
}

export const NOTIFICATION_EVENTS = ['overdue', 'failing', 'due', 'recovered', 'reminder', 'digest', 'run-failed', 'run-succeeded', 'retention-preview', 'schedule-held', 'channel-failed', 'test', 'drill-failed', 'anomaly'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];
/** Quiet on success, loud on failure and absence. */
export const DEFAULT_CHANNEL_EVENTS: NotificationEvent[] = ['overdue', 'failing', 'recovered', 'reminder', 'digest', 'run-failed', 'retention-preview', 'schedule-held', 'test', 'drill-failed', 'anomaly'];

export interface NotificationRecord {
  id: string;
  at: string;
  event: NotificationEvent;
  severity: 'info' | 'warning' | 'critical';
  title: string;
  message: string;
  installationId: string | null;
  /** For a digest: the installations it covers. */
  items?: { installationId: string; name: string; state: WatchState; message: string }[];
  read: boolean;
}

export const channelInputSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a channel id is lower-case letters, digits and dashes').optional(),
    kind: z.enum(['ntfy', 'webhook']),
    name: z.string().min(1).max(80),
    events: z.array(z.enum(NOTIFICATION_EVENTS)).default(DEFAULT_CHANNEL_EVENTS),
    /** The topic URL (ntfy) or endpoint (webhook); kept in the keychain, never in a file. Omit to keep the stored one. */
    url: z.string().url().optional(),
    /** ntfy tags added to every message. */
    tags: z.array(z.string().min(1).max(40)).max(10).default([]),
    timeoutSeconds: z.number().min(0.2).max(120).default(10),
    retries: z.number().int().min(0).max(10).default(3),
    enabled: z.boolean().default(true),
  })
  .strict();
export type ChannelInput = z.input<typeof channelInputSchema>;

export interface ChannelView {
  id: string;
  kind: 'ntfy' | 'webhook' | 'healthchecks';
  name: string;
  events: NotificationEvent[];
  tags: string[];
  timeoutSeconds: number;
  retries: number;
  enabled: boolean;
  hasUrl: boolean;
  /** For a healthchecks ping: the installation it watches. */
  installationId?: string;
  lastDelivery: { at: string; ok: boolean; attempts: number; detail: string } | null;
}

export const watchSettingsSchema = z
  .object({
    /** Grace after the cadence before late is overdue; null: a quarter of the cadence, at least 1 h. */
    graceHours: z.number().min(0).max(24 * 30).nullable().default(null),
    reminderHours: z.number().min(0.25).max(24 * 30).default(24),
    /** More changes than this in one evaluation come as one digest. */
    digestThreshold: z.number().int().min(1).max(1000).default(3),
  })
  .strict();
export type WatchSettings = z.infer<typeof watchSettingsSchema>;
