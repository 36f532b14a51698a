/**
 * The stack's backup file names, both generations (spec §5), and its local retention (§6):
 * `loomio-{hourly,daily,weekly,manual}-….sql.enc` (HEAD) and `loomio_backup_YYYYMMDD_HHMMSS.sql.enc`
 * (v1), `.sql` when unencrypted; `restore_*.sql` are plaintext restore leftovers, never backups.
 */

/** A backup's tier: HEAD's four, or a v1 file. */
export type LoomioTier = 'hourly' | 'daily' | 'weekly' | 'manual' | 'v1';

/** What a file name says. */
export interface LoomioBackupName {
  tier: LoomioTier;
  generation: 'head' | 'v1';
  /** The time in the name (container local time, read as UTC, which it is unless a TZ was set); daily/weekly: midnight. */
  nameTime: Date;
  /** The sanitised reason of a manual backup. */
  reason: string | null;
  encrypted: boolean;
}

const HEAD_TIMED = /^loomio-(hourly|manual)-(\d{8})-(\d{6})(?:-(.+?))?\.sql(\.enc)?$/;
const HEAD_DAILY = /^loomio-(daily|weekly)-(\d{8})\.sql(\.enc)?$/;
const V1 = /^loomio_backup_(\d{8})_(\d{6})\.sql(\.enc)?$/;
const RESTORE_TEMP = /^restore_(\d+|boot)\.sql$/;

/** Reads a backup's name; null when it is not one of the stack's backups. */
export function parseLoomioBackupName(name: string): LoomioBackupName | null {
  let match = HEAD_TIMED.exec(name);
  if (match) {
    const tier = match[1] as 'hourly' | 'manual';
    // Only manual backups carry a reason; an hourly name with a suffix is not the stack's.
    if (tier === 'hourly' && match[4] !== undefined) return null;
    const time = stamp(match[2]!, match[3]!);
    return time ? { tier, generation: 'head', nameTime: time, reason: match[4] ?? null, encrypted: match[5] !== undefined } : null;
  }
  match = HEAD_DAILY.exec(name);
  if (match) {
    const time = stamp(match[2]!, '000000');
    return time ? { tier: match[1] as 'daily' | 'weekly', generation: 'head', nameTime: time, reason: null, encrypted: match[3] !== undefined } : null;
  }
  match = V1.exec(name);
  if (match) {
    const time = stamp(match[1]!, match[2]!);
    return time ? { tier: 'v1', generation: 'v1', nameTime: time, reason: null, encrypted: match[3] !== undefined } : null;
  }
  return null;
}

/** A plaintext dump the stack's restore scripts write and delete (and leave behind when they die). */
export function isRestoreLeftover(name: string): boolean {
  return RESTORE_TEMP.test(name);
}

/** How long the stack keeps each tier, by file mtime (HEAD `cleanup_old_backups`); v1 files are never deleted by HEAD. */
export const RETENTION_HOURS: Record<LoomioTier, number | null> = { hourly: 24, daily: 7 * 24, weekly: 84 * 24, manual: 30 * 24, v1: null };

/** When the stack's cleanup deletes a backup of this tier with this mtime, or null: never. */
export function retentionDeadline(tier: LoomioTier, mtime: Date): Date | null {
  const hours = RETENTION_HOURS[tier];
  return hours === null ? null : new Date(mtime.getTime() + hours * 3_600_000);
}

/** backup.py's reason sanitiser: what is not alphanumeric, `-` or `_` becomes `-`, runs collapsed, ends trimmed. */
export function sanitizeReason(reason: string): string {
  return reason.replace(/[^\p{L}\p{N}_-]/gu, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
}

/** A manual backup's name as backup.py makes it (HEAD `get_backup_filename`), in UTC. */
export function manualBackupName(time: Date, reason: string): string {
  const iso = time.toISOString();
  const day = iso.slice(0, 10).replace(/-/g, '');
  const clock = iso.slice(11, 19).replace(/:/g, '');
  const clean = sanitizeReason(reason);
  return `loomio-manual-${day}-${clock}${clean ? `-${clean}` : ''}.sql.enc`;
}

function stamp(day: string, clock: string): Date | null {
  const iso = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T${clock.slice(0, 2)}:${clock.slice(2, 4)}:${clock.slice(4, 6)}Z`;
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) || time.toISOString().slice(0, 19) !== iso.slice(0, 19) ? null : time;
}
