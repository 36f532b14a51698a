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

/** An ISO time → "3 minutes ago"; the exact time goes in a title attribute. */
export function formatRelative(iso: string, now = Date.now()): string {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const abs = Math.abs(seconds);
  // The shared clock ticks every 15 s, and the core's clock may run a little ahead: no "in 2 seconds".
  if (seconds > -45) return 'just now';
  if (abs < 45 * 60) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 22 * 3600) return relative.format(Math.round(seconds / 3600), 'hour');
  return relative.format(Math.round(seconds / 86400), 'day');
}

/** An ISO time in the user's locale, for tooltips and details. */
export function formatTime(iso: string): string {
  return new Date(iso).toLocaleString();
}
