/**
 * restic's retention durations (`--keep-within 1y2m3d4h`): years, months, days and hours, no weeks.
 * Parsing and printing follow restic's `internal/restic/duration.go` so reason strings match restic's.
 */
import { LifeboatError } from '../../../shared/errors';

/** A restic duration. Each unit may appear once in the canonical form; a repeated unit overrides, as in restic. */
export interface ResticDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

const UNITS = { y: 'years', m: 'months', d: 'days', h: 'hours' } as const;

/** Parses `6y5m234d37h` like restic's ParseDuration (surrounding spaces ignored, `-` allowed per number); INVALID_INPUT otherwise. */
export function parseDuration(text: string): ResticDuration {
  const duration: ResticDuration = { years: 0, months: 0, days: 0, hours: 0 };
  let rest = text.trim();
  while (rest !== '') {
    const m = /^(-?)(\d*)(.?)/.exec(rest);
    const digits = m?.[2] ?? '';
    if (digits === '') {
      throw new LifeboatError('INVALID_INPUT', `Duration "${text}" is not valid: expected a number at "${rest}" (format like 1y2m3d4h).`);
    }
    const unit = m?.[3] ?? '';
    if (unit === '') {
      throw new LifeboatError('INVALID_INPUT', `Duration "${text}" is not valid: no unit after ${digits} (use y, m, d or h).`);
    }
    if (!(unit in UNITS)) {
      throw new LifeboatError('INVALID_INPUT', `Duration "${text}" is not valid: unknown unit "${unit}" (use y, m, d or h; restic has no weeks).`);
    }
    const value = Number(digits) * (m?.[1] === '-' ? -1 : 1);
    if (!Number.isSafeInteger(value)) {
      throw new LifeboatError('INVALID_INPUT', `Duration "${text}" is not valid: ${digits} is too large.`);
    }
    duration[UNITS[unit as keyof typeof UNITS]] = value;
    rest = rest.slice((m?.[0] ?? '').length);
  }
  return duration;
}

/** restic's canonical text of a duration (`Duration.String()`): zero units left out, so "0y6m" prints as "6m". */
export function formatDuration(d: ResticDuration): string {
  return (d.years !== 0 ? `${d.years}y` : '') + (d.months !== 0 ? `${d.months}m` : '') + (d.days !== 0 ? `${d.days}d` : '') + (d.hours !== 0 ? `${d.hours}h` : '');
}

/** True when every unit is zero (restic then ignores the rule). */
export function isZeroDuration(d: ResticDuration): boolean {
  return d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0;
}
