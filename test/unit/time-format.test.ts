/**
 * The one date format of the UI (`src/renderer/lib/format.ts`, shown by `components/when.tsx`):
 * relative times both ways, and ISO timestamps found in free text (nanoseconds too) so the UI
 * never shows them raw.
 */
import { describe, expect, it } from 'vitest';
import { ISO_TIMESTAMP, formatRelative, splitTimestamps } from '../../src/renderer/lib/format';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const ago = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString();

describe('formatRelative', () => {
  it('says how long ago, and how long until, in the coarsest unit that fits', () => {
    const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
    expect(formatRelative(ago(10), NOW)).toBe('just now');
    expect(formatRelative(ago(-10), NOW)).toBe('just now');
    expect(formatRelative(ago(3 * 3600), NOW)).toBe(rtf.format(-3, 'hour'));
    expect(formatRelative(ago(-2 * 3600), NOW)).toBe(rtf.format(2, 'hour'));
    expect(formatRelative(ago(-5 * 60), NOW)).toBe(rtf.format(5, 'minute'));
    expect(formatRelative(ago(3 * 86400), NOW)).toBe(rtf.format(-3, 'day'));
    expect(formatRelative(ago(90 * 86400), NOW)).toBe(rtf.format(-3, 'month'));
    expect(formatRelative(ago(800 * 86400), NOW)).toBe(rtf.format(-2, 'year'));
  });
});

describe('splitTimestamps', () => {
  it('finds ISO timestamps in text, with nanoseconds, offsets, a space or no zone', () => {
    const text = 'generated 2025-11-02T03:04:05.123456789Z by the worker, checked 2025-11-02 04:00:00+01:00 and 2025-11-02T05:06';
    const pieces = splitTimestamps(text);
    expect(pieces.filter((p) => 'iso' in p).map((p) => ('iso' in p ? p.iso : ''))).toEqual([
      '2025-11-02T03:04:05.123Z',
      '2025-11-02T03:00:00.000Z',
      new Date('2025-11-02T05:06').toISOString(),
    ]);
    expect(pieces.map((p) => ('iso' in p ? p.raw : p.text)).join('')).toBe(text);
  });

  it('reads "YYYY-MM-DD HH:MM:SS UTC" (as the Loomio preview writes) as UTC, the zone word included', () => {
    const pieces = splitTimestamps('Fernet time 2026-11-23 13:12:11 UTC, mtime later');
    expect(pieces).toEqual([{ text: 'Fernet time ' }, { iso: '2026-11-23T13:12:11.000Z', raw: '2026-11-23 13:12:11 UTC' }, { text: ', mtime later' }]);
  });

  it('leaves text without a timestamp, and date-only or version-like numbers, alone', () => {
    for (const text of ['no time here', 'the 2025-11-02 daily file', 'version 2024.05.01', 'pg_dump 16.4', '']) {
      expect(splitTimestamps(text)).toEqual([{ text }]);
    }
    expect('2025-11-02T03:04:05.123456789Z'.match(ISO_TIMESTAMP)).toEqual(['2025-11-02T03:04:05.123456789Z']);
  });
});
