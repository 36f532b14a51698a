/**
 * Snapshot times the way restic's Go code sees them: an exact instant (nanoseconds) plus the
 * calendar fields in the UTC offset written in the string. Go's `time.Time` keeps the parsed offset,
 * and restic's retention buckets are computed from those fields, never from UTC or the machine's zone.
 * JS `Date` would lose both the offset and the nanoseconds, so this module does its own arithmetic.
 */
import { LifeboatError } from '../../../shared/errors';

/** A parsed RFC 3339 time: the fields as written, the offset, and the exact instant. */
export interface SnapshotTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanosecond: number;
  /** Offset from UTC in seconds, as written (`Z` is 0). */
  offsetSeconds: number;
  /** True when the string said `Z` (Go then uses its UTC location, never the local one). */
  isUtcDesignator: boolean;
  /** Nanoseconds since 1970-01-01T00:00:00Z. */
  instant: bigint;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const NS_PER_SECOND = 1_000_000_000n;
const SECONDS_PER_DAY = 86_400;

/** Parses a restic snapshot time (`2023-02-15T23:30:00.123456789-05:00`); INVALID_INPUT if it is not RFC 3339. */
export function parseSnapshotTime(text: string): SnapshotTime {
  const m = RFC3339.exec(text);
  if (!m) {
    throw new LifeboatError('INVALID_INPUT', `Snapshot time "${text}" is not an RFC 3339 time with an offset (like 2024-03-01T10:00:00+01:00).`);
  }
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const nanosecond = m[7] === undefined ? 0 : Number(m[7].padEnd(9, '0'));
  const isUtcDesignator = m[8] !== undefined;
  const offsetSeconds = isUtcDesignator ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 3600 + Number(m[11]) * 60);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new LifeboatError('INVALID_INPUT', `Snapshot time "${text}" has a field out of range.`);
  }
  const instant = civilToInstant(year, month, day, hour, minute, second, nanosecond, offsetSeconds);
  return { year, month, day, hour, minute, second, nanosecond, offsetSeconds, isUtcDesignator, instant };
}

/** The instant of a calendar time at a fixed offset. Out-of-range months and days are normalised like Go's `time.Date`. */
export function civilToInstant(year: number, month: number, day: number, hour: number, minute: number, second: number, nanosecond: number, offsetSeconds: number): bigint {
  return BigInt(civilToUnixSeconds(year, month, day, hour, minute, second) - offsetSeconds) * NS_PER_SECOND + BigInt(nanosecond);
}

/** Seconds since the epoch of a calendar time read as UTC, with Go's normalisation of month and day overflow. */
export function civilToUnixSeconds(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  // Normalise the month into the year first, then let the day count run over, as Go's time.Date does.
  const monthIndex = month - 1;
  const normYear = year + Math.floor(monthIndex / 12);
  const normMonth = (((monthIndex % 12) + 12) % 12) + 1;
  const days = daysFromCivil(normYear, normMonth, 1) + (day - 1);
  return days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The calendar date of a day count since 1970-01-01 (inverse of daysFromCivil). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  return [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/** ISO-8601 year and week of a calendar date (Go's `Time.ISOWeek`): weeks run Monday to Sunday, week 1 holds the year's first Thursday. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const days = daysFromCivil(year, month, day);
  const weekday = (((days + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday; Monday = 0
  const thursday = days - weekday + 3;
  const isoYear = civilFromDays(thursday).year;
  return { year: isoYear, week: Math.floor((thursday - daysFromCivil(isoYear, 1, 1)) / 7) + 1 };
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** The UTC offset (seconds) of an IANA time zone at an instant (seconds since the epoch). */
export function zoneOffsetAt(timeZone: string, unixSeconds: number): number {
  let format = offsetFormatters.get(timeZone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', era: 'short',
      });
    } catch (cause) {
      throw new LifeboatError('INVALID_INPUT', `"${timeZone}" is not a time zone this system knows (expected an IANA name like Europe/Berlin).`, { cause });
    }
    offsetFormatters.set(timeZone, format);
  }
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(new Date(unixSeconds * 1000))) parts[part.type] = part.value;
  const rawYear = Number(parts.year);
  const year = parts.era === 'BC' || parts.era === 'B' ? 1 - rawYear : rawYear;
  const wall = civilToUnixSeconds(year, Number(parts.month), Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return wall - unixSeconds;
}

/**
 * The instant of a calendar time in an IANA zone, resolved the way Go's `time.Date` resolves it:
 * look up the offset at the wall time read as UTC, and if that guess lands outside the zone period
 * it came from (a DST gap or overlap), look up again at the corrected instant.
 */
export function zonedCivilToInstant(timeZone: string, year: number, month: number, day: number, hour: number, minute: number, second: number, nanosecond: number): bigint {
  const wall = civilToUnixSeconds(year, month, day, hour, minute, second);
  let offset = zoneOffsetAt(timeZone, wall);
  if (offset !== 0) {
    const utc = wall - offset;
    // Go checks whether `utc` is still inside the zone period found for `wall`; a different offset at `utc` means it is not.
    const offsetAtUtc = zoneOffsetAt(timeZone, utc);
    if (offsetAtUtc !== offset) offset = offsetAtUtc;
  }
  return BigInt(wall - offset) * NS_PER_SECOND + BigInt(nanosecond);
}

/** Seconds since the epoch (floored) of an instant in nanoseconds. */
export function instantToUnixSeconds(instant: bigint): number {
  const seconds = instant / NS_PER_SECOND;
  return Number(instant < 0n && seconds * NS_PER_SECOND !== instant ? seconds - 1n : seconds);
}

/** Nanoseconds since the epoch of a JS Date. */
export function dateToInstant(date: Date): bigint {
  return BigInt(date.getTime()) * 1_000_000n;
}

/** Go's zero time (0001-01-01T00:00:00Z), which restic's "latest" starts from. */
export const GO_ZERO_TIME: SnapshotTime = parseSnapshotTime('0001-01-01T00:00:00Z');
