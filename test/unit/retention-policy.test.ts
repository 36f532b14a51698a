import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyPolicy, describeDecision, formatDuration, formatPolicyFlags, isEmptyPolicy, parseDuration, parsePolicyFlags,
  type RetentionPolicy, type SnapshotSummary,
} from '../../src/main/vault/retention';
import { parseResticForgetJson, reportPolicyResult } from '../../src/main/vault/retention/restic-forget-json';
import { isoWeek, parseSnapshotTime, zonedCivilToInstant } from '../../src/main/vault/retention/time';
import { LifeboatError } from '../../src/shared/errors';

const outputs = path.resolve('test/fixtures/restic/outputs');
const read = (name: string): string => readFileSync(path.join(outputs, name), 'utf8');
const policySnapshots = JSON.parse(read('policy-snapshots.json')) as SnapshotSummary[];
// After every fixture snapshot, so "latest" is the newest snapshot, as when the fixtures were made.
const now = new Date('2026-01-01T00:00:00Z');

// The commands behind the fixture files (test/fixtures/restic/README.md, "repo-policy").
const fixturePolicies: Record<string, string> = {
  'policy-forget-combined.json': '--keep-last 1 --keep-daily 3 --keep-weekly 2 --keep-monthly 2 --keep-yearly 2 --keep-tag keep-me',
  'policy-forget-weekly4.json': '--keep-weekly 4',
  'policy-forget-weekly10.json': '--keep-weekly 10',
  'policy-forget-daily20.json': '--keep-daily 20',
  'policy-forget-hourly3.json': '--keep-hourly 3',
  'policy-forget-within1y.json': '--keep-within 1y',
  'policy-forget-within-daily.json': '--keep-within-daily 40d',
  'policy-forget-monthly3-yearly3.json': '--keep-monthly 3 --keep-yearly 3',
};

function expectInvalid(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LifeboatError);
    expect((error as LifeboatError).code).toBe('INVALID_INPUT');
    expect((error as LifeboatError).message).toMatch(message);
    return;
  }
  throw new Error('expected an INVALID_INPUT error');
}

describe('applyPolicy against restic 0.14 forget output (repo-policy fixtures)', () => {
  for (const [file, flags] of Object.entries(fixturePolicies)) {
    it(`${file}: ${flags}`, () => {
      const expected = parseResticForgetJson(read(file));
      const { policy } = parsePolicyFlags(flags);
      expect(reportPolicyResult(applyPolicy(policySnapshots, policy, { now }))).toEqual(expected);
      // The fixtures were made with TZ=Europe/Berlin; mimicking that zone changes nothing here.
      expect(reportPolicyResult(applyPolicy(policySnapshots, policy, { now, localTimeZone: 'Europe/Berlin' }))).toEqual(expected);
    });
  }

  it('forget-keep-last-1.json on repo-v2', () => {
    const snapshots = JSON.parse(read('snapshots.json')) as SnapshotSummary[];
    expect(reportPolicyResult(applyPolicy(snapshots, { keepLast: 1 }, { now }))).toEqual(parseResticForgetJson(read('forget-keep-last-1.json')));
  });

  it('keeps both snapshots that share a UTC day but not their own day (offsets as written)', () => {
    const result = applyPolicy(policySnapshots, { keepDaily: 20 }, { now });
    const kept = result.groups[0]?.keep.map((k) => k.snapshot.id.slice(0, 8));
    expect(kept).toContain('7bd6acd2');
    expect(kept).toContain('ecb9c298');
  });
});

describe('applyPolicy semantics', () => {
  const snap = (id: string, time: string, extra: Partial<SnapshotSummary> = {}): SnapshotSummary => ({ id, time, hostname: 'h', paths: ['/p'], ...extra });

  it('-1 is unlimited: the same as a count larger than the group', () => {
    const unlimited = applyPolicy(policySnapshots, { keepWeekly: -1 }, { now });
    const large = applyPolicy(policySnapshots, { keepWeekly: 1000 }, { now });
    expect(unlimited.groups[0]?.keep.map((k) => k.snapshot.id)).toEqual(large.groups[0]?.keep.map((k) => k.snapshot.id));
    expect(unlimited.groups[0]?.keep.length).toBe(6);
    expect(applyPolicy(policySnapshots, { keepLast: -1 }, { now }).groups[0]?.remove).toEqual([]);
    expect(unlimited.groups[0]?.keep[0]?.counters.weekly).toBe(-1);
    expect(describeDecision(unlimited.groups[0]!.keep[0]!)).toBe('kept: newest of 2024-W09 (weekly, unlimited)');
  });

  it('rejects negative counts other than -1 and malformed durations', () => {
    expectInvalid(() => applyPolicy(policySnapshots, { keepDaily: -2 }), /keepDaily/);
    expectInvalid(() => applyPolicy(policySnapshots, { keepDaily: 1.5 }), /keepDaily/);
    expectInvalid(() => applyPolicy(policySnapshots, { keepWithin: '1w' }), /unit "w"/);
    expectInvalid(() => applyPolicy(policySnapshots, { keepLast: 1 }, { groupBy: 'host,colour' }), /colour/);
    expectInvalid(() => applyPolicy([snap('a', '2024-03-01 10:00:00')], { keepLast: 1 }), /RFC 3339/);
  });

  it('an empty policy keeps everything, like restic 0.14 (zero durations count as empty)', () => {
    expect(isEmptyPolicy({ keepDaily: 0, keepWithin: '0d' })).toBe(true);
    expect(isEmptyPolicy({ keepTags: [['x']] })).toBe(false);
    const result = applyPolicy(policySnapshots, { keepWithin: '0y0m' }, { now });
    expect(result.groups[0]?.remove).toEqual([]);
    expect(result.groups[0]?.keep.every((k) => k.reasons[0] === 'policy is empty')).toBe(true);
  });

  it('groups by host and sorted paths by default, and by tags when asked', () => {
    const list = [
      snap('1', '2024-01-01T10:00:00Z', { paths: ['/b', '/a'], tags: ['y', 'x'] }),
      snap('2', '2024-01-02T10:00:00Z', { paths: ['/a', '/b'] }),
      snap('3', '2024-01-03T10:00:00Z', { hostname: 'other', paths: ['/a', '/b'], tags: ['x', 'y'] }),
    ];
    const byHostPaths = applyPolicy(list, { keepLast: 1 }, { now });
    expect(byHostPaths.groups.map((g) => [g.key, g.keep.map((k) => k.snapshot.id), g.remove.map((r) => r.snapshot.id)])).toEqual([
      ['{"hostname":"h","paths":["/a","/b"],"tags":null}', ['2'], ['1']],
      ['{"hostname":"other","paths":["/a","/b"],"tags":null}', ['3'], []],
    ]);
    const byTags = applyPolicy(list, { keepLast: 1 }, { now, groupBy: 'tags' });
    expect(byTags.groups.map((g) => [g.hostname, g.paths, g.tags, g.keep.map((k) => k.snapshot.id)])).toEqual([
      ['', null, ['x', 'y'], ['3']],
      ['', null, null, ['2']],
    ]);
    expect(applyPolicy(list, { keepLast: 1 }, { now, groupBy: '' }).groups).toHaveLength(1);
  });

  it('keep-within counts back from the newest snapshot before "now", strictly after the cut-off', () => {
    const list = [
      snap('future', '2030-01-01T00:00:00Z'),
      snap('newest', '2024-03-31T12:00:00+02:00'),
      snap('edge', '2024-02-29T12:00:00+02:00'),
      snap('inside', '2024-03-02T12:00:00+02:00'),
    ];
    // Go normalisation: March 31 minus one month is "February 31" = March 2, and "inside" sits exactly on that cut-off.
    const result = applyPolicy(list, { keepWithin: '1m' }, { now: new Date('2025-01-01T00:00:00Z') });
    expect(result.groups[0]?.keep.map((k) => k.snapshot.id)).toEqual(['future', 'newest']);
    expect(result.groups[0]?.remove.map((r) => r.snapshot.id)).toEqual(['inside', 'edge']);
    const oneMonthOneDay = applyPolicy(list, { keepWithin: '1m1d' }, { now: new Date('2025-01-01T00:00:00Z') });
    expect(oneMonthOneDay.groups[0]?.keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([
      ['future', ['within 1m1d']], ['newest', ['within 1m1d']], ['inside', ['within 1m1d']],
    ]);
  });

  it('with localTimeZone, calendar steps across DST follow that zone (Go AddDate in Local)', () => {
    // Newest at 12:00 EDT; six months back is 12:00 EST = 17:00Z in New York's zone, 16:00Z at a fixed -04:00.
    const list = [snap('newest', '2025-07-01T12:00:00-04:00'), snap('between', '2025-01-01T16:30:00Z')];
    const fixed = applyPolicy(list, { keepWithin: '6m' }, { now });
    const newYork = applyPolicy(list, { keepWithin: '6m' }, { now, localTimeZone: 'America/New_York' });
    expect(fixed.groups[0]?.keep.map((k) => k.snapshot.id)).toEqual(['newest', 'between']);
    expect(newYork.groups[0]?.keep.map((k) => k.snapshot.id)).toEqual(['newest']);
    expectInvalid(() => applyPolicy(list, { keepWithin: '6m' }, { now, localTimeZone: 'Mars/Olympus' }), /Mars\/Olympus/);
  });

  it('sorts by the exact instant, nanoseconds included, and keeps input order for equal instants', () => {
    const list = [
      snap('a', '2024-01-01T10:00:00.000000001Z'),
      snap('b', '2024-01-01T10:00:00.000000002Z'),
      snap('c', '2024-01-01T11:00:00+01:00'),
      snap('d', '2024-01-01T10:00:00Z'),
    ];
    const result = applyPolicy(list, { keepLast: 1 }, { now });
    expect(result.groups[0]?.keep.map((k) => k.snapshot.id)).toEqual(['b']);
    expect(result.groups[0]?.remove.map((r) => r.snapshot.id)).toEqual(['a', 'c', 'd']);
  });

  it('keep-tag: all tags of one list, OR across lists, "" for untagged', () => {
    const list = [snap('1', '2024-01-03T00:00:00Z', { tags: ['a', 'b'] }), snap('2', '2024-01-02T00:00:00Z', { tags: ['a'] }), snap('3', '2024-01-01T00:00:00Z')];
    const result = applyPolicy(list, parsePolicyFlags(["--keep-tag", "a,b", "--keep-tag", ""]).policy, { now });
    expect(result.groups[0]?.keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([['1', ['has tags [a, b]']], ['3', ['has tags []']]]);
    expect(describeDecision(result.groups[0]!.keep[0]!)).toBe('kept: has tags a, b (keep-tag)');
    expect(describeDecision(result.groups[0]!.remove[0]!)).toBe('removed: no rule of the policy keeps it');
  });
});

describe('describeDecision', () => {
  it('names the bucket and the rule', () => {
    const result = applyPolicy(policySnapshots, parsePolicyFlags('--keep-last 2 --keep-hourly 1 --keep-monthly 2 --keep-within 1y --keep-within-yearly 3y').policy, { now });
    const texts = result.groups[0]!.keep.map(describeDecision);
    expect(texts[0]).toBe('kept: within 1y of the newest snapshot (within); one of the newest 2 (last); newest of 2024-03-01 10:00 (hourly); newest of 2024-03 (monthly); newest of 2024 within 3y of the newest snapshot (yearly within)');
    expect(texts[1]).toBe('kept: within 1y of the newest snapshot (within); one of the newest 2 (last); newest of 2023-04 (monthly); newest of 2023 within 3y of the newest snapshot (yearly within)');
  });
});

describe('parsePolicyFlags / formatPolicyFlags', () => {
  it('reads long, short, = and quoted forms', () => {
    expect(parsePolicyFlags(`-l 3 -H5 --keep-daily=7 -w=4 --keep-monthly unlimited --keep-yearly -1 --keep-within ' 1y2m ' --keep-tag "a, b" -g host,tags`)).toEqual({
      policy: { keepLast: 3, keepHourly: 5, keepDaily: 7, keepWeekly: 4, keepMonthly: -1, keepYearly: -1, keepWithin: '1y2m', keepTags: [['a', 'b']] },
      groupBy: 'host,tags',
    });
  });

  it('round-trips through formatPolicyFlags', () => {
    const policy: RetentionPolicy = { keepLast: 1, keepWeekly: -1, keepWithinDaily: '40d', keepTags: [['x'], ['y', 'z']] };
    const flags = formatPolicyFlags(policy, 'host');
    expect(flags).toEqual(['--keep-last', '1', '--keep-weekly', 'unlimited', '--keep-within-daily', '40d', '--keep-tag', 'x', '--keep-tag', 'y,z', '--group-by', 'host']);
    expect(parsePolicyFlags(flags)).toEqual({ policy, groupBy: 'host' });
  });

  it('names what is wrong', () => {
    expectInvalid(() => parsePolicyFlags('--keep-daily'), /needs a value/);
    expectInvalid(() => parsePolicyFlags('--keep-daily seven'), /whole number/);
    expectInvalid(() => parsePolicyFlags('--keep-daily -3'), /≥ 0/);
    expectInvalid(() => parsePolicyFlags('--keep-within 12'), /no unit/);
    expectInvalid(() => parsePolicyFlags('--keep-within 1w'), /no weeks/);
    expectInvalid(() => parsePolicyFlags('--keep-within -1d'), /positive/);
    expectInvalid(() => parsePolicyFlags('--prune'), /not a retention flag/);
    expectInvalid(() => parsePolicyFlags('7'), /Unexpected "7"/);
    expectInvalid(() => parsePolicyFlags('--keep-tag "a'), /Unclosed/);
  });
});

describe('durations and calendar helpers', () => {
  it('parses and prints like restic', () => {
    expect(parseDuration(' 1y2m3d4h ')).toEqual({ years: 1, months: 2, days: 3, hours: 4 });
    expect(formatDuration(parseDuration('0y6m'))).toBe('6m');
    expect(formatDuration(parseDuration('1d2d'))).toBe('2d');
  });

  it('ISO weeks across year boundaries', () => {
    expect(isoWeek(2023, 1, 1)).toEqual({ year: 2022, week: 52 });
    expect(isoWeek(2023, 1, 2)).toEqual({ year: 2023, week: 1 });
    expect(isoWeek(2024, 12, 30)).toEqual({ year: 2025, week: 1 });
    expect(isoWeek(2021, 1, 3)).toEqual({ year: 2020, week: 53 });
    expect(isoWeek(2026, 12, 31)).toEqual({ year: 2026, week: 53 });
    expect(isoWeek(2000, 2, 29)).toEqual({ year: 2000, week: 9 });
  });

  it('parses offsets and nanoseconds exactly', () => {
    const t = parseSnapshotTime('2023-02-15T23:30:00.123456789-05:00');
    expect([t.year, t.month, t.day, t.hour, t.offsetSeconds, t.nanosecond]).toEqual([2023, 2, 15, 23, -18000, 123456789]);
    expect(t.instant).toBe(BigInt(Date.parse('2023-02-16T04:30:00Z')) * 1_000_000n + 123456789n);
    expectInvalid(() => parseSnapshotTime('2023-02-30T00:00:00Z'), /out of range/);
  });

  it('resolves wall times in a zone like Go (a gap resolves to the earlier offset, an overlap to the first)', () => {
    const iso = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString();
    expect(iso(zonedCivilToInstant('America/New_York', 2024, 1, 15, 12, 0, 0, 0))).toBe('2024-01-15T17:00:00.000Z');
    expect(iso(zonedCivilToInstant('America/New_York', 2024, 7, 15, 12, 0, 0, 0))).toBe('2024-07-15T16:00:00.000Z');
    // 02:30 does not exist on 2024-03-10: restic 0.14 (`TZ=America/New_York restic backup --time "2024-03-10 02:30:00"`)
    // stored 2024-03-10T01:30:00-05:00 (= 06:30Z); 01:30 on 2024-11-03 happens twice and it stored -04:00.
    expect(iso(zonedCivilToInstant('America/New_York', 2024, 3, 10, 2, 30, 0, 0))).toBe('2024-03-10T06:30:00.000Z');
    expect(iso(zonedCivilToInstant('America/New_York', 2024, 11, 3, 1, 30, 0, 0))).toBe('2024-11-03T05:30:00.000Z');
  });
});
