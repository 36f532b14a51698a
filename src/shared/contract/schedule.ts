import { z } from 'zod';
import { command, returns } from './define';
import {
  channelInputSchema,
  installationScheduleSchema,
  scheduleSpecSchema,
  watchSettingsSchema,
  type ChannelView,
  type FleetState,
  type NotificationRecord,
  type ScheduleOverview,
  type WatchEntry,
} from '../schedule';

/** Schedules, the watchdog and notifications (unattended protection). */
export const scheduleCommands = {
  'schedule:overview': command({
    summary: 'Every scheduled task with its next five runs, last outcome and back-off; whether schedules are paused and which process runs them.',
    input: z.object({}).strict(),
    output: returns<ScheduleOverview>(),
  }),
  'schedule:set': command({
    summary: "Set an installation's schedule (pull, trigger first, retention), the default pull schedule, the vault check, or the concurrency limit.",
    input: z
      .object({
        installationId: z.string().min(1).optional(),
        installation: installationScheduleSchema.optional(),
        defaultPull: scheduleSpecSchema.optional(),
        vaultCheck: z.object({ schedule: scheduleSpecSchema, readData: z.boolean().default(false) }).strict().optional(),
        maxConcurrent: z.number().int().min(1).max(16).optional(),
      })
      .strict(),
    output: returns<ScheduleOverview>(),
  }),
  'schedule:preview': command({
    summary: 'The next five times a schedule would fire for an installation (its jitter included), without saving it.',
    input: z.object({ spec: scheduleSpecSchema, installationId: z.string().min(1).optional(), kind: z.enum(['pull', 'retention']).default('pull') }).strict(),
    output: returns<{ describe: string; nextRuns: string[] }>(),
  }),
  'schedule:pause': command({
    summary: 'Pause every schedule for some minutes, or until resumed (no minutes). Missed runs are caught up once on resume.',
    input: z.object({ minutes: z.number().int().min(1).max(60 * 24 * 365).optional() }).strict(),
    output: returns<ScheduleOverview>(),
  }),
  'schedule:resume': command({
    summary: 'Resume schedules, including tasks held after repeated authentication failures.',
    input: z.object({}).strict(),
    output: returns<ScheduleOverview>(),
  }),
  'schedule:run-overdue': command({
    summary: 'Pull every installation that is overdue or failing now (the tray\'s "pull everything overdue").',
    input: z.object({}).strict(),
    output: returns<{ jobIds: string[] }>(),
  }),
  'watch:states': command({
    summary: "The watchdog's state of every installation (evaluated now) and the fleet's summary.",
    input: z.object({}).strict(),
    output: returns<{ entries: WatchEntry[]; fleet: FleetState }>(),
  }),
  'watch:acknowledge': command({
    summary: 'Acknowledge an installation\'s alarm: no reminders until its state changes again.',
    input: z.object({ installationId: z.string().min(1) }).strict(),
    output: returns<WatchEntry[]>(),
  }),
  'watch:snooze': command({
    summary: 'No alerts for an installation for some hours (0 ends a snooze).',
    input: z.object({ installationId: z.string().min(1), hours: z.number().min(0).max(24 * 30) }).strict(),
    output: returns<WatchEntry[]>(),
  }),
  'watch:settings': command({
    summary: 'Read or change the watchdog settings: grace, reminder interval, digest threshold.',
    input: z.object({ change: watchSettingsSchema.partial().optional() }).strict(),
    output: returns<z.infer<typeof watchSettingsSchema>>(),
  }),
  'notify:channels': command({ summary: 'Notification channels (ntfy, webhooks, healthchecks pings) and how their last delivery went.', input: z.object({}).strict(), output: returns<ChannelView[]>() }),
  'notify:save-channel': command({ summary: 'Add or change an ntfy or webhook channel; its URL goes to the keychain.', input: channelInputSchema, output: returns<ChannelView>() }),
  'notify:remove-channel': command({ summary: 'Remove a channel and its stored URL.', input: z.object({ id: z.string().min(1) }).strict(), output: returns<ChannelView[]>() }),
  'notify:set-healthcheck': command({
    summary: "Set or remove (url null) an installation's healthchecks.io-style ping URL (kept in the keychain).",
    input: z.object({ installationId: z.string().min(1), url: z.string().url().nullable(), timeoutSeconds: z.number().min(0.2).max(120).optional(), retries: z.number().int().min(0).max(10).optional() }).strict(),
    output: returns<ChannelView[]>(),
  }),
  'notify:test': command({
    summary: 'Send a test notification on one channel now; says whether it arrived and after how many attempts.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: returns<{ ok: boolean; attempts: number; detail: string }>(),
  }),
  'notify:history': command({
    summary: 'The notification centre: recent notifications, newest first, and how many are unread.',
    input: z.object({ limit: z.number().int().min(1).max(500).default(100) }).strict(),
    output: returns<{ items: NotificationRecord[]; unread: number }>(),
  }),
  'notify:mark-read': command({
    summary: 'Mark notifications read (all, or the ones named).',
    input: z.object({ ids: z.array(z.string().uuid()).max(500).optional() }).strict(),
    output: returns<{ unread: number }>(),
  }),
};
