/**
 * How often Weavestream is expected to make a backup, from its enabled schedules (`backup_config`:
 * a five-field cron and an IANA timezone, null meaning Etc/UTC, as its BullMQ scheduler reads them).
 */
import { Cron } from 'croner';

/** One enabled schedule as Weavestream stores it. */
export interface WeavestreamSchedule {
  cron: string;
  timezone: string | null;
}

/** The fire times looked at: two months hold two runs of a monthly schedule, two of a weekly one and a weekend. */
const HORIZON_MS = 63 * 86_400_000;
/** Enough runs to see the pattern of a frequent schedule without listing every minute of two months. */
const MAX_RUNS_PER_SCHEDULE = 200;

/**
 * The longest gap, in hours, between consecutive backups of all the schedules together, so a
 * weekday-only schedule is not "overdue" on a Monday morning. Null when no schedule parses or
 * none fires twice within two months.
 */
export function cadenceHoursFromSchedules(schedules: WeavestreamSchedule[], now = new Date()): number | null {
  const start = now.getTime();
  let horizon = start + HORIZON_MS;
  const times: number[] = [];
  for (const schedule of schedules) {
    let runs: Date[];
    try {
      runs = new Cron(schedule.cron, { timezone: schedule.timezone ?? 'Etc/UTC', paused: true }).nextRuns(MAX_RUNS_PER_SCHEDULE, now);
    } catch (error) {
      // A pattern or zone croner refuses is a schedule Weavestream cannot run either.
      if (error instanceof TypeError || error instanceof RangeError) continue;
      throw error;
    }
    // A schedule cut off by the run limit is known only up to its last run: look no further.
    if (runs.length === MAX_RUNS_PER_SCHEDULE) horizon = Math.min(horizon, (runs.at(-1) as Date).getTime());
    times.push(...runs.map((run) => run.getTime()));
  }
  const within = times.filter((t) => t <= horizon).sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < within.length; i++) longest = Math.max(longest, (within[i] as number) - (within[i - 1] as number));
  return longest > 0 ? longest / 3_600_000 : null;
}
