/**
 * The one contract between the UI (or CLI, or a test) and the core. Every transport — Electron
 * IPC, the browser twin over HTTP, in-process calls — carries exactly these commands and events.
 * Add a command in its domain file; it is then reachable everywhere.
 */
import type { z } from 'zod';
import type { CommandDef } from './define';
import { event } from './define';
import { systemCommands } from './system';
import { installationCommands } from './installations';
import { jobCommands } from './jobs';
import { vaultCommands } from './vault';
import { appCommands } from './apps';
import { auditCommands } from './audit';
import { scheduleCommands } from './schedule';
import { drillCommands } from './drills';
import { anomalyCommands } from './anomalies';
import type { Anomaly } from '../anomalies';
import type { BadPack, RotatingCheckReport } from '../verification';
import type { DrillResult } from '../drills';
import type { JobRecord } from '../jobs';
import type { InstallationStatus } from '../installations';
import type { Result } from '../errors';
import type { NotificationRecord, WatchChange } from '../schedule';

export const commands = {
  ...systemCommands,
  ...installationCommands,
  ...jobCommands,
  ...vaultCommands,
  ...appCommands,
  ...auditCommands,
  ...scheduleCommands,
  ...drillCommands,
  ...anomalyCommands,
} satisfies Record<string, CommandDef>;

export const events = {
  'job:update': event<JobRecord>('A job was created, progressed or finished.'),
  'installation:status': event<InstallationStatus>('The connection status of an installation changed.'),
  'installations:changed': event<{ reason: string }>('An installation was added, edited or removed.'),
  'vault:changed': event<{ reason: string }>('Snapshots were added or removed, or the vault was opened.'),
  'drill:finished': event<DrillResult>('A restore drill of a snapshot reached a verdict (stored with the snapshot).'),
  'drill:failed': event<DrillResult>('A restore drill found that a snapshot does not restore (notify).'),
  'anomaly:detected': event<Anomaly>('A snapshot looks wrong against its installation\'s history (shrank, a table vanished…); notify.'),
  'anomaly:acknowledged': event<Anomaly>('The operator acknowledged an anomaly; it stops alerting and protecting.'),
  'verification:finished': event<RotatingCheckReport>('A rotating verification run re-read its slice of the vault.'),
  'verification:bad-pack': event<BadPack>('A rotating verification found a damaged pack; the snapshots it affects are named (notify).'),
  'fleet:changed': event<{ installationId: string }>('What the fleet view shows for an installation changed (remote backups, freshness).'),
  'schedule:changed': event<{ reason: string }>('A schedule was set, paused or resumed, or a scheduled run started or ended.'),
  'watch:changed': event<{ changes: WatchChange[] }>('The watchdog saw installations change state (fresh, due, overdue, failing, recovered).'),
  'notification:new': event<NotificationRecord>('A notification entered the notification centre.'),
  'notification:read': event<{ unread: number }>('Notifications were marked read.'),
  'notification:delivery': event<{ channelId: string; ok: boolean; attempts: number; detail: string }>('A channel delivered a notification, or gave up after its retries.'),
};

export type Commands = typeof commands;
export type CommandName = keyof Commands;
export type CommandInput<N extends CommandName> = z.input<Commands[N]['input']>;
export type ParsedCommandInput<N extends CommandName> = z.output<Commands[N]['input']>;
export type CommandOutput<N extends CommandName> = Commands[N]['output'];

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = Events[E]['payload'];

export const isCommandName = (name: string): name is CommandName => Object.hasOwn(commands, name);
export const isEventName = (name: string): name is EventName => Object.hasOwn(events, name);

/** What every client of the core looks like, whatever carries the calls. */
export interface LifeboatClient {
  call<N extends CommandName>(name: N, input: CommandInput<N>): Promise<CommandOutput<N>>;
  on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void;
}

/**
 * What the preload exposes as `window.lifeboat`: the raw envelope, because Electron's invoke
 * keeps only the message of a thrown error.
 */
export interface LifeboatBridge {
  invoke(name: string, input: unknown): Promise<Result<unknown>>;
  subscribe(name: string, listener: (payload: unknown) => void): () => void;
  /** Electron only: the local path of a dropped file (webUtils.getPathForFile). */
  pathForFile?(file: File): string;
}

export * from './define';
