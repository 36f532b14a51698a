/** Display helpers: sizes, rates, durations and times, the same way everywhere. */

import { formatBytes } from '../../shared/format-bytes';

export { formatBytes };

/** Bytes per second → "12 MiB/s". */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** 0.42 → "0.4 s", 3725 → "1 h 2 min". */
export function formatDuration(seconds: number): string {
  if (seconds < 10) return `${Math.max(0, seconds).toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min ${s % 60} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** An ISO time → "3 minutes ago" (or "in 2 hours"); the exact time goes in a title attribute (see `When`). */
export function formatRelative(iso: string, now = Date.now()): string {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const abs = Math.abs(seconds);
  // The shared clock ticks every 15 s, and the core's clock may run a little ahead: no "in 2 seconds".
  if (abs < 45) return 'just now';
  if (abs < 45 * 60) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 22 * 3600) return relative.format(Math.round(seconds / 3600), 'hour');
  if (abs < 45 * 86400) return relative.format(Math.round(seconds / 86400), 'day');
  if (abs < 320 * 86400) return relative.format(Math.round(seconds / (30.44 * 86400)), 'month');
  return relative.format(Math.round(seconds / (365.25 * 86400)), 'year');
}

/** An ISO time in the user's locale, for tooltips and details. */
export function formatTime(iso: string): string {
  return new Date(iso).toLocaleString();
}

/**
 * An ISO 8601 timestamp inside free text (a check's detail, a fact an archive carries): a date, a
 * time to the minute or finer, any fraction of a second (nanoseconds too), and a zone (or " UTC") or none.
 */
export const ISO_TIMESTAMP = /\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z| UTC\b|[+-]\d{2}:?\d{2})?(?![\d:.])/g;

/** JavaScript's Date reads milliseconds only: a longer fraction (nanoseconds) is cut to three digits. */
function parseIso(text: string): number {
  const normalised = text.replace(' UTC', 'Z').replace(' ', 'T').replace(',', '.').replace(/(\.\d{3})\d+/, '$1');
  return new Date(normalised).getTime();
}

/** Free text cut into plain pieces and the timestamps in it (each with its time; unparseable ones stay text). */
export function splitTimestamps(text: string): ({ text: string } | { iso: string; raw: string })[] {
  const pieces: ({ text: string } | { iso: string; raw: string })[] = [];
  let at = 0;
  for (const match of text.matchAll(ISO_TIMESTAMP)) {
    const time = parseIso(match[0]);
    if (Number.isNaN(time)) continue;
    if (match.index > at) pieces.push({ text: text.slice(at, match.index) });
    pieces.push({ iso: new Date(time).toISOString(), raw: match[0] });
    at = match.index + match[0].length;
  }
  if (at < text.length || pieces.length === 0) pieces.push({ text: text.slice(at) });
  return pieces;
}
