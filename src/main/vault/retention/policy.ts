/**
 * Retention ("forget") policy with restic 0.14's decisions: which snapshots a policy keeps and why.
 * A port of restic's `internal/restic/snapshot_policy.go` and `snapshot_group.go` at v0.14.0
 * (spec: restic-format.md §13). Pure: no I/O, no clock unless `now` is left out.
 *
 * One deliberate difference: a count of -1 means "unlimited", as in restic ≥ 0.16. restic 0.14
 * accepts `--keep-daily -1` but then that rule keeps nothing, so the whole group would be removed;
 * no user means that. Other negative counts are rejected. Everything else, including the 0.14
 * behaviour of not keeping the oldest snapshot when counts are left (≥ 0.16 does), is 0.14's.
 */
import { LifeboatError } from '../../../shared/errors';
import { formatDuration, isZeroDuration, parseDuration, type ResticDuration } from './duration';
import {
  civilToInstant, dateToInstant, GO_ZERO_TIME, instantToUnixSeconds, isoWeek, parseSnapshotTime,
  zonedCivilToInstant, zoneOffsetAt, type SnapshotTime,
} from './time';

/** What to keep. Counts: 0 or absent = rule off, -1 = unlimited. Durations: restic syntax like "1y2m3d4h". */
export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: string;
  keepWithinHourly?: string;
  keepWithinDaily?: string;
  keepWithinWeekly?: string;
  keepWithinMonthly?: string;
  keepWithinYearly?: string;
  /** Keep a snapshot that has all tags of any one list; `['']` matches untagged snapshots. */
  keepTags?: string[][];
}

/** The part of a snapshot the policy looks at (restic's `snapshots --json` objects fit as they are). */
export interface SnapshotSummary {
  id: string;
  /** RFC 3339 with the offset restic wrote; buckets use that offset. */
  time: string;
  hostname: string;
  paths: string[];
  tags?: string[] | null;
}

/** The counted rules, in restic's evaluation order. */
export type CountRule = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
/** The calendar rules (every counted rule except `last`). */
export type CalendarRule = Exclude<CountRule, 'last'>;

/** One reason a snapshot is kept, structured (the `reasons` strings are restic's wording of these). */
export type KeepMatch =
  | { kind: 'empty-policy' }
  | { kind: 'tags'; tags: string[] }
  | { kind: 'within'; within: string }
  | { kind: 'count'; rule: CountRule; bucket: string; limit: number }
  | { kind: 'within-bucket'; rule: CalendarRule; bucket: string; within: string };

/** Counts left in each counted rule after a snapshot was looked at (-1 stays -1 for unlimited). */
export type PolicyCounters = Record<CountRule, number>;

/** A kept snapshot with restic's reason strings ("daily snapshot", "has tags [a, b]", "within 1y"). */
export interface KeptSnapshot<S extends SnapshotSummary = SnapshotSummary> {
  snapshot: S;
  reasons: string[];
  matches: KeepMatch[];
  counters: PolicyCounters;
}

/** A snapshot the policy does not keep. */
export interface RemovedSnapshot<S extends SnapshotSummary = SnapshotSummary> {
  snapshot: S;
}

/** The decision for one group (host + paths by default), newest first in both lists. */
export interface PolicyGroup<S extends SnapshotSummary = SnapshotSummary> {
  /** restic's group key JSON, e.g. `{"hostname":"h","paths":["/a"],"tags":null}`. */
  key: string;
  /** "" when not grouped by host. */
  hostname: string;
  /** null when not grouped by paths. */
  paths: string[] | null;
  /** null when not grouped by tags. */
  tags: string[] | null;
  keep: KeptSnapshot<S>[];
  remove: RemovedSnapshot<S>[];
}

/** Options of applyPolicy. */
export interface ApplyPolicyOptions {
  /** restic's `--group-by`: comma list of host, paths, tags (also host/hosts, path/paths, tag/tags); "" = one group. */
  groupBy?: string;
  /** "Now": snapshots after it are not used as the newest for keep-within. Default: the current time. */
  now?: Date;
  /**
   * Mimic restic running with this TZ (IANA name). It matters only for keep-within windows: Go
   * subtracts calendar months/days in the newest snapshot's location, which is the machine's zone
   * (with DST) when the stored offset equals that zone's offset. Default: every offset is fixed,
   * which is what restic does with TZ=UTC.
   */
  localTimeZone?: string;
}

/** The result of applyPolicy: one entry per group, sorted by key. */
export interface PolicyResult<S extends SnapshotSummary = SnapshotSummary> {
  groups: PolicyGroup<S>[];
}

const COUNT_RULES: readonly CountRule[] = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'];
const CALENDAR_RULES: readonly CalendarRule[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];
const COUNT_FIELDS = {
  last: 'keepLast', hourly: 'keepHourly', daily: 'keepDaily', weekly: 'keepWeekly', monthly: 'keepMonthly', yearly: 'keepYearly',
} as const satisfies Record<CountRule, keyof RetentionPolicy>;
const WITHIN_FIELDS = {
  hourly: 'keepWithinHourly', daily: 'keepWithinDaily', weekly: 'keepWithinWeekly', monthly: 'keepWithinMonthly', yearly: 'keepWithinYearly',
} as const satisfies Record<CalendarRule, keyof RetentionPolicy>;

/** Applies a policy to snapshots, group by group, exactly as `restic forget` 0.14 decides (see the module note on -1). */
export function applyPolicy<S extends SnapshotSummary>(snapshots: readonly S[], policy: RetentionPolicy, options: ApplyPolicyOptions = {}): PolicyResult<S> {
  const compiled = compilePolicy(policy);
  const grouping = parseGroupBy(options.groupBy ?? 'host,paths');
  const nowInstant = dateToInstant(options.now ?? new Date());
  const groups = new Map<string, { group: PolicyGroup<S>; members: S[] }>();
  for (const snapshot of snapshots) {
    const hostname = grouping.host ? snapshot.hostname : '';
    // restic sorts paths (always) and tags (when grouping by them) before building the key.
    const paths = grouping.paths ? [...snapshot.paths].sort(compareGoStrings) : null;
    const tagList = snapshot.tags ?? [];
    const tags = grouping.tags && tagList.length > 0 ? [...tagList].sort(compareGoStrings) : null;
    const key = JSON.stringify({ hostname, paths, tags });
    let entry = groups.get(key);
    if (!entry) {
      entry = { group: { key, hostname, paths, tags, keep: [], remove: [] }, members: [] };
      groups.set(key, entry);
    }
    entry.members.push(snapshot);
  }
  const result: PolicyGroup<S>[] = [];
  for (const { group, members } of groups.values()) {
    const decision = applyToGroup(members, compiled, nowInstant, options.localTimeZone);
    result.push({ ...group, keep: decision.keep, remove: decision.remove });
  }
  result.sort((a, b) => compareGoStrings(a.key, b.key));
  return { groups: result };
}

/** True when a policy has no rule at all (restic 0.14 then removes nothing). */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  const compiled = compilePolicy(policy);
  return compiled.empty;
}

interface CompiledPolicy {
  empty: boolean;
  tags: string[][];
  within: ResticDuration | null;
  counts: { rule: CountRule; count: number }[];
  withinBuckets: { rule: CalendarRule; within: ResticDuration }[];
}

function compilePolicy(policy: RetentionPolicy): CompiledPolicy {
  const counts = COUNT_RULES.map((rule) => ({ rule, count: checkCount(COUNT_FIELDS[rule], policy[COUNT_FIELDS[rule]]) }));
  const within = policy.keepWithin === undefined ? null : parseDuration(policy.keepWithin);
  const withinBuckets = CALENDAR_RULES.map((rule) => {
    const text = policy[WITHIN_FIELDS[rule]];
    return { rule, within: text === undefined ? null : parseDuration(text) };
  });
  const tags = policy.keepTags ?? [];
  // restic 0.14's ExpirePolicy.Empty: no tag lists, every count 0 and every duration zero.
  const empty = tags.length === 0 && counts.every((c) => c.count === 0) && (within === null || isZeroDuration(within))
    && withinBuckets.every((w) => w.within === null || isZeroDuration(w.within));
  return {
    empty,
    tags,
    within: within && !isZeroDuration(within) ? within : null,
    counts: counts.filter((c) => c.count !== 0),
    withinBuckets: withinBuckets.flatMap((w) => (w.within && !isZeroDuration(w.within) ? [{ rule: w.rule, within: w.within }] : [])),
  };
}

function checkCount(field: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || value < -1) {
    throw new LifeboatError('INVALID_INPUT', `Retention ${field} must be a whole number ≥ 0, or -1 for unlimited; got ${String(value)}.`, { details: { field, value } });
  }
  return value;
}

function parseGroupBy(groupBy: string): { host: boolean; paths: boolean; tags: boolean } {
  const grouping = { host: false, paths: false, tags: false };
  for (const option of groupBy.split(',')) {
    if (option === 'host' || option === 'hosts') grouping.host = true;
    else if (option === 'path' || option === 'paths') grouping.paths = true;
    else if (option === 'tag' || option === 'tags') grouping.tags = true;
    else if (option !== '') {
      throw new LifeboatError('INVALID_INPUT', `Unknown grouping option "${option}" (use host, paths and/or tags, separated by commas).`, { details: { groupBy } });
    }
  }
  return grouping;
}

interface Bucketed<S> {
  snapshot: S;
  time: SnapshotTime;
}

function applyToGroup<S extends SnapshotSummary>(members: readonly S[], policy: CompiledPolicy, now: bigint, localTimeZone: string | undefined): { keep: KeptSnapshot<S>[]; remove: RemovedSnapshot<S>[] } {
  // Newest first by instant; Array.prototype.sort is stable, like Go's sort.Stable.
  const list: Bucketed<S>[] = members.map((snapshot) => ({ snapshot, time: parseSnapshotTime(snapshot.time) }));
  list.sort((a, b) => (a.time.instant === b.time.instant ? 0 : a.time.instant > b.time.instant ? -1 : 1));
  const counters: PolicyCounters = { last: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0 };
  if (policy.empty) {
    return { keep: list.map(({ snapshot }) => ({ snapshot, reasons: ['policy is empty'], matches: [{ kind: 'empty-policy' }], counters: { ...counters } })), remove: [] };
  }
  const latest = findLatest(list, now);
  const cutoff = (d: ResticDuration): bigint => windowStart(latest, d, localTimeZone);
  const withinCutoff = policy.within ? cutoff(policy.within) : null;
  const buckets = policy.counts.map((c) => ({ ...c, remaining: c.count, last: -1 }));
  for (const b of buckets) counters[b.rule] = b.count;
  const withinBuckets = policy.withinBuckets.map((w) => ({ ...w, cutoff: cutoff(w.within), last: -1 }));

  const keep: KeptSnapshot<S>[] = [];
  const remove: RemovedSnapshot<S>[] = [];
  list.forEach(({ snapshot, time }, nr) => {
    const reasons: string[] = [];
    const matches: KeepMatch[] = [];
    const snapshotTags = snapshot.tags ?? [];
    for (const tagList of policy.tags) {
      if (hasTags(snapshotTags, tagList)) {
        reasons.push(`has tags [${tagList.join(', ')}]`);
        matches.push({ kind: 'tags', tags: tagList });
      }
    }
    if (policy.within && withinCutoff !== null && time.instant > withinCutoff) {
      const within = formatDuration(policy.within);
      reasons.push(`within ${within}`);
      matches.push({ kind: 'within', within });
    }
    for (const b of buckets) {
      if (b.remaining > 0 || b.remaining === -1) {
        const value = b.rule === 'last' ? nr : bucketValue(b.rule, time);
        if (value !== b.last) {
          b.last = value;
          if (b.remaining > 0) b.remaining--;
          counters[b.rule] = b.remaining;
          reasons.push(`${b.rule} snapshot`);
          matches.push({ kind: 'count', rule: b.rule, bucket: b.rule === 'last' ? String(nr + 1) : bucketLabel(b.rule, time), limit: b.count });
        }
      }
    }
    for (const w of withinBuckets) {
      if (time.instant > w.cutoff) {
        const value = bucketValue(w.rule, time);
        if (value !== w.last) {
          w.last = value;
          const within = formatDuration(w.within);
          reasons.push(`${w.rule} within ${within}`);
          matches.push({ kind: 'within-bucket', rule: w.rule, bucket: bucketLabel(w.rule, time), within });
        }
      }
    }
    if (reasons.length > 0) keep.push({ snapshot, reasons, matches, counters: { ...counters } });
    else remove.push({ snapshot });
  });
  return { keep, remove };
}

/** restic's HasTags: all tags of the list present; an empty tag matches a snapshot without tags. */
function hasTags(snapshotTags: readonly string[], tagList: readonly string[]): boolean {
  for (const tag of tagList) {
    if (tag === '' && snapshotTags.length === 0) return true;
    if (!snapshotTags.includes(tag)) return false;
  }
  return true;
}

/** The newest snapshot time that is strictly before now; Go's zero time if there is none. */
function findLatest(list: readonly Bucketed<unknown>[], now: bigint): SnapshotTime {
  let latest = GO_ZERO_TIME;
  for (const { time } of list) {
    if (time.instant > latest.instant && time.instant < now) latest = time;
  }
  return latest;
}

/**
 * `latest.AddDate(-y, -m, -d).Add(-h hours)`: calendar subtraction in latest's location, then hours
 * as a plain duration. The location is latest's fixed offset, unless Go would have given it the
 * machine's zone (stored offset = that zone's offset at that instant; never for a literal `Z`).
 */
function windowStart(latest: SnapshotTime, d: ResticDuration, localTimeZone: string | undefined): bigint {
  const { year, month, day, hour, minute, second, nanosecond } = latest;
  const hours = BigInt(d.hours) * 3_600_000_000_000n;
  const inLocalZone = localTimeZone !== undefined && !latest.isUtcDesignator
    && zoneOffsetAt(localTimeZone, instantToUnixSeconds(latest.instant)) === latest.offsetSeconds;
  const shifted = inLocalZone
    ? zonedCivilToInstant(localTimeZone, year - d.years, month - d.months, day - d.days, hour, minute, second, nanosecond)
    : civilToInstant(year - d.years, month - d.months, day - d.days, hour, minute, second, nanosecond, latest.offsetSeconds);
  return shifted - hours;
}

/** restic's bucket numbers: YYYYMMDDHH, YYYYMMDD, ISO YYYYWW, YYYYMM, YYYY, from the fields as written. */
function bucketValue(rule: CalendarRule, t: SnapshotTime): number {
  switch (rule) {
    case 'hourly': return t.year * 1_000_000 + t.month * 10_000 + t.day * 100 + t.hour;
    case 'daily': return t.year * 10_000 + t.month * 100 + t.day;
    case 'weekly': {
      const w = isoWeek(t.year, t.month, t.day);
      return w.year * 100 + w.week;
    }
    case 'monthly': return t.year * 100 + t.month;
    case 'yearly': return t.year;
  }
}

/** A person's name for a bucket: "2024-03-01 10:00", "2024-03-01", "2024-W12", "2024-03", "2024". */
function bucketLabel(rule: CalendarRule, t: SnapshotTime): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const date = `${String(t.year).padStart(4, '0')}-${p2(t.month)}-${p2(t.day)}`;
  switch (rule) {
    case 'hourly': return `${date} ${p2(t.hour)}:00`;
    case 'daily': return date;
    case 'weekly': {
      const w = isoWeek(t.year, t.month, t.day);
      return `${String(w.year).padStart(4, '0')}-W${p2(w.week)}`;
    }
    case 'monthly': return date.slice(0, 7);
    case 'yearly': return date.slice(0, 4);
  }
}

/** Go's string order (bytewise UTF-8), which sort.Strings uses; JS's default order is by UTF-16 units. */
function compareGoStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
