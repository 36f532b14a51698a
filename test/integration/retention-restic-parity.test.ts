/**
 * applyPolicy against the real restic 0.14 CLI: 200 snapshots made by `restic backup --time` under two
 * time zones (America/New_York with DST, Asia/Kolkata at +05:30), three years, three host/path groups;
 * then `restic forget --dry-run --json` for many policies must equal applyPolicy, reasons and counters included.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy, formatPolicyFlags, parsePolicyFlags, type RetentionPolicy, type SnapshotSummary } from '../../src/main/vault/retention';
import { parseResticForgetJson, reportPolicyResult, type ForgetGroupReport } from '../../src/main/vault/retention/restic-forget-json';

const run = promisify(execFile);
const NY = 'America/New_York';
const KOLKATA = 'Asia/Kolkata';

interface PlannedBackup {
  time: string; // local wall time for restic --time
  tz: string;
  host: string;
  file: 'a' | 'b';
  tags: string[];
}

/** A small deterministic PRNG (mulberry32), so the data set is the same on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function planBackups(): PlannedBackup[] {
  const fixed: PlannedBackup[] = [
    // ISO-week and year boundaries at both offsets.
    { time: '2022-12-31 18:00:00', tz: NY, host: 'alpha', file: 'a', tags: [] },
    { time: '2023-01-01 10:00:00', tz: NY, host: 'alpha', file: 'a', tags: [] }, // Sunday, ISO 2022-W52
    { time: '2023-01-02 09:00:00', tz: KOLKATA, host: 'alpha', file: 'a', tags: [] }, // Monday, 2023-W01
    { time: '2023-12-31 22:00:00', tz: NY, host: 'alpha', file: 'a', tags: [] }, // Sunday, 2023-W52
    { time: '2024-01-01 00:30:00', tz: KOLKATA, host: 'alpha', file: 'a', tags: ['keep-me'] }, // earlier instant, later year
    { time: '2024-12-29 12:00:00', tz: NY, host: 'alpha', file: 'a', tags: [] }, // Sunday, 2024-W52
    { time: '2024-12-30 08:00:00', tz: KOLKATA, host: 'alpha', file: 'a', tags: [] }, // Monday, ISO 2025-W01
    { time: '2024-12-31 23:59:00', tz: KOLKATA, host: 'alpha', file: 'a', tags: [] },
    { time: '2025-01-01 00:01:00', tz: NY, host: 'alpha', file: 'a', tags: [] },
    // Same UTC moment, different own day: Kolkata's is the earlier instant but the later day.
    { time: '2024-06-10 23:30:00', tz: NY, host: 'alpha', file: 'a', tags: [] },
    { time: '2024-06-11 08:00:00', tz: KOLKATA, host: 'alpha', file: 'a', tags: [] },
    // Interleaved hours: 19:40 in Kolkata is 10:10 in New York.
    { time: '2025-06-30 10:05:00', tz: NY, host: 'alpha', file: 'a', tags: [] },
    { time: '2025-06-30 10:20:00', tz: NY, host: 'alpha', file: 'a', tags: ['a', 'b'] },
    { time: '2025-06-30 19:40:00', tz: KOLKATA, host: 'alpha', file: 'a', tags: [] },
    { time: '2025-06-30 10:55:00', tz: NY, host: 'alpha', file: 'a', tags: [] },
    // DST gap and overlap in New York.
    { time: '2024-03-10 02:30:00', tz: NY, host: 'alpha', file: 'a', tags: [] },
    { time: '2024-11-03 01:30:00', tz: NY, host: 'alpha', file: 'a', tags: [] },
    { time: '2024-11-03 01:45:00', tz: KOLKATA, host: 'alpha', file: 'a', tags: [] },
    // The newest, in EDT; 2025-01-01 11:30 EST sits between the fixed-offset and the New-York cut-off of "6m".
    { time: '2025-07-01 12:00:00', tz: NY, host: 'alpha', file: 'a', tags: [] },
    { time: '2025-01-01 11:30:00', tz: NY, host: 'alpha', file: 'a', tags: [] },
    // A snapshot in the future must not be the "latest" that keep-within counts from.
    { time: '2031-01-01 00:00:00', tz: KOLKATA, host: 'beta', file: 'b', tags: [] },
  ];
  const random = prng(20240312);
  const start = Date.UTC(2022, 6, 1);
  const end = Date.UTC(2025, 6, 1);
  const day = 86_400_000;
  const seen = new Set(fixed.map((b) => `${b.host}|${b.file}|${b.time}`));
  const planned = [...fixed];
  while (planned.length < 200) {
    const r = random();
    // Denser near the end, like real backups: 40% in the last 60 days, 30% in the last year, 30% before.
    const span = r < 0.4 ? 60 * day : r < 0.7 ? 365 * day : end - start;
    // A wall-clock time on one of the days before `end`, never after the planned newest snapshot.
    const daysBack = Math.floor((random() * span) / day) + 1;
    const wall = new Date(end - daysBack * day + Math.floor(random() * 24) * 3_600_000 + Math.floor(random() * 60) * 60_000 + Math.floor(random() * 60) * 1000);
    const g = random();
    const [host, file] = g < 0.65 ? ['alpha', 'a' as const] : g < 0.9 ? ['beta', 'b' as const] : ['alpha', 'b' as const];
    const t = random();
    const tags = t < 0.15 ? ['keep-me'] : t < 0.25 ? ['a', 'b'] : t < 0.3 ? ['a'] : [];
    const time = wall.toISOString().slice(0, 19).replace('T', ' ');
    const key = `${host}|${file}|${time}`;
    if (seen.has(key)) continue;
    seen.add(key);
    planned.push({ time, tz: random() < 0.5 ? NY : KOLKATA, host, file, tags });
  }
  return planned;
}

let scratch = '';
let repo = '';
let env: NodeJS.ProcessEnv = {};
let snapshots: SnapshotSummary[] = [];

async function restic(args: string[], tz = 'UTC'): Promise<string> {
  const { stdout } = await run('restic', ['-r', repo, ...args], { env: { ...env, TZ: tz }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function resticForget(flags: string[], tz = 'UTC'): Promise<ForgetGroupReport[]> {
  return parseResticForgetJson(await restic(['forget', '--dry-run', '--no-lock', '--json', ...flags], tz));
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'lifeboat-retention-'));
  repo = path.join(scratch, 'repo');
  env = {
    PATH: process.env.PATH,
    HOME: scratch,
    RESTIC_PASSWORD: `retention-${Math.random().toString(36).slice(2)}`,
    RESTIC_CACHE_DIR: path.join(scratch, 'cache'),
  };
  await mkdir(path.join(scratch, 'src'));
  await writeFile(path.join(scratch, 'src', 'a'), 'tiny file a\n');
  await writeFile(path.join(scratch, 'src', 'b'), 'tiny file b\n');
  await restic(['init', '--repository-version', '2']);
  const queue = planBackups();
  // Two restic processes at a time (the machine has 2 cores); each backup is mostly scrypt key derivation.
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const tagArgs = job.tags.length > 0 ? ['--tag', job.tags.join(',')] : [];
      await restic(['backup', '--quiet', '--time', job.time, '--host', job.host, ...tagArgs, path.join(scratch, 'src', job.file)], job.tz);
    }
  };
  await Promise.all([worker(), worker()]);
  snapshots = JSON.parse(await restic(['snapshots', '--json'])) as SnapshotSummary[];
}, 600_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function ours(policy: RetentionPolicy, options: { groupBy?: string; localTimeZone?: string } = {}): ForgetGroupReport[] {
  return reportPolicyResult(applyPolicy(snapshots, policy, options));
}

function totals(report: ForgetGroupReport[]): { keep: number; remove: number } {
  return report.reduce((acc, g) => ({ keep: acc.keep + g.keep.length, remove: acc.remove + g.remove.length }), { keep: 0, remove: 0 });
}

describe('applyPolicy = restic 0.14 forget on 200 snapshots in two time zones', () => {
  it('the data set is what the test needs', () => {
    expect(snapshots).toHaveLength(200);
    const offsets = new Set(snapshots.map((s) => s.time.slice(-6)));
    expect([...offsets].sort()).toEqual(['+05:30', '-04:00', '-05:00']);
    const years = new Set(snapshots.map((s) => s.time.slice(0, 4)));
    expect([...years].sort()).toEqual(['2022', '2023', '2024', '2025', '2031']);
    // Equal instants in one group would make restic's order (and so its choice) depend on load order.
    const instants = new Set(snapshots.map((s) => `${s.hostname}|${s.paths.join()}|${Date.parse(s.time)}`));
    expect(instants.size).toBe(200);
  });

  const cases: { flags: string; groupBy?: string }[] = [
    { flags: '--keep-last 7' },
    { flags: '--keep-hourly 30' },
    { flags: '--keep-daily 45' },
    { flags: '--keep-weekly 70' },
    { flags: '--keep-weekly 200' },
    { flags: '--keep-monthly 24' },
    { flags: '--keep-yearly 5' },
    { flags: '--keep-within 6m15d' },
    { flags: '--keep-within 1y2m3d4h' },
    { flags: '--keep-tag keep-me --keep-tag a,b' },
    { flags: "--keep-tag '' --keep-last 2" },
    { flags: '--keep-last 3 --keep-hourly 5 --keep-daily 10 --keep-weekly 8 --keep-monthly 12 --keep-yearly 3 --keep-tag keep-me --keep-within 10d' },
    { flags: '--keep-within-hourly 2d --keep-within-daily 20d --keep-within-weekly 3m --keep-within-monthly 1y6m --keep-within-yearly 10y' },
    { flags: '--keep-daily 7 --keep-within-weekly 6m --keep-tag a' },
    { flags: '--keep-last 2 --keep-monthly 3', groupBy: 'host,tags' },
    { flags: '--keep-daily 15 --keep-weekly 5', groupBy: '' },
  ];
  for (const { flags, groupBy } of cases) {
    it(`${flags}${groupBy === undefined ? '' : ` --group-by '${groupBy}'`}`, async () => {
      const parsed = parsePolicyFlags(groupBy === undefined ? flags : `${flags} --group-by '${groupBy}'`);
      const expected = await resticForget(formatPolicyFlags(parsed.policy, parsed.groupBy));
      const actual = ours(parsed.policy, parsed.groupBy === undefined ? {} : { groupBy: parsed.groupBy });
      expect(actual).toEqual(expected);
      const t = totals(actual);
      expect(t.keep).toBeGreaterThan(0);
      expect(t.keep + t.remove).toBe(200);
    });
  }

  it('keep-within across DST follows the zone restic runs in (TZ=America/New_York vs TZ=UTC)', async () => {
    const inNewYork = await resticForget(['--keep-within', '6m'], NY);
    const inUtc = await resticForget(['--keep-within', '6m'], 'UTC');
    // The 2025-01-01 11:30 EST snapshot is inside the window at a fixed -04:00 and outside in New York's zone.
    expect(totals(inUtc).keep).toBe(totals(inNewYork).keep + 1);
    expect(ours({ keepWithin: '6m' }, { localTimeZone: NY })).toEqual(inNewYork);
    expect(ours({ keepWithin: '6m' })).toEqual(inUtc);
    expect(ours({ keepWithin: '6m' }, { localTimeZone: 'UTC' })).toEqual(inUtc);
  });

  it('-1 (unlimited) decides like restic given a count larger than any group; restic 0.14 itself misreads -1', async () => {
    for (const policy of [{ keepWeekly: -1, keepMonthly: 6 }, { keepDaily: -1 }, { keepHourly: -1, keepYearly: -1 }] satisfies RetentionPolicy[]) {
      // restic 0.14 has no "unlimited"; a count above the number of snapshots means the same.
      const huge = Object.fromEntries(Object.entries(policy).map(([k, v]) => [k, v === -1 ? 100_000 : v])) as RetentionPolicy;
      const expected = await resticForget(formatPolicyFlags(huge));
      const actual = ours(policy);
      // Counters differ by design (-1 stays -1); the decisions and reasons must not.
      const strip = (r: ForgetGroupReport[]): unknown => r.map((g) => ({ ...g, keep: g.keep.map((k) => ({ id: k.id, reasons: k.reasons })) }));
      expect(strip(actual)).toEqual(strip(expected));
      expect(totals(actual).remove).toBeGreaterThan(0);
    }
    // Why Lifeboat does not pass -1 through to restic 0.14: that rule then keeps nothing and the group goes.
    const misread = await resticForget(['--keep-daily', '-1']);
    expect(totals(misread)).toEqual({ keep: 0, remove: 200 });
  });
});
