// The watchdog on the command line, across real processes on one data directory: `lifeboat watch`
// runs in one process and prints the recovery a `lifeboat pull` in another process caused (with
// an interval far longer than the test, so only the data directory's change can have woken it);
// `lifeboat alerts` acknowledges and snoozes per installation, with exit codes for scripts, and
// a running daemon keeps what the CLI said.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore } from '../../src/main/core';
import { startDirectoryFleet, type DirectoryFleet } from '../fleet/directory/fleet';
import { makeTestHome } from '../harness/home';
import { until } from '../harness/wait';

const cli = path.resolve('bin/lifeboat.mjs');
let home: string;
let fleet: DirectoryFleet;
const children: ChildProcess[] = [];

function lifeboat(args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A long-running `lifeboat …` whose stdout lines are collected as they come. */
function running(args: string[]) {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts.filter(Boolean));
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exit, stderr: () => stderr };
}

/** Makes an installation's cadence hourly and its creation two hours ago: with no copy it is overdue. */
function makeLate(name: string): void {
  const file = path.join(home, 'installations.json');
  const data = JSON.parse(readFileSync(file, 'utf8')) as { installations: { name: string; createdAt: string; expectedCadenceHours?: number }[] };
  const entry = data.installations.find((i) => i.name === name)!;
  entry.createdAt = new Date(Date.now() - 2 * 3_600_000).toISOString();
  entry.expectedCadenceHours = 1;
  writeFileSync(file, JSON.stringify(data));
}

beforeAll(async () => {
  home = makeTestHome('alerts-cli');
  fleet = await startDirectoryFleet({ name: 'office' });
  const core = await createCore({ home });
  await createInProcessClient(core).call('installations:add', fleet.installation);
  await createInProcessClient(core).call('installations:add', { ...fleet.installation, name: 'annex' });
  await core.close();
  const init = lifeboat(['vault', 'init']);
  expect(init.status, init.stderr).toBe(0);
  makeLate('office');
  makeLate('annex');
}, 120_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise((resolve) => c.on('exit', resolve)))));
  await fleet?.stop();
});

describe('lifeboat watch across processes', () => {
  it("prints the recovery a pull in another process caused, without waiting for its interval", async () => {
    const watch = running(['watch', '--interval', '3600']);
    await until(() => watch.lines.length >= 2, `watch to print the first states (stderr: ${watch.stderr()})`);
    const first = watch.lines.map((l) => JSON.parse(l) as { name: string; to: string });
    expect(first.map((l) => [l.name, l.to]).sort()).toEqual([
      ['annex', 'overdue'],
      ['office', 'overdue'],
    ]);
    const pulled = lifeboat(['pull', 'office']);
    expect(pulled.status, pulled.stderr).toBe(0);
    await until(() => watch.lines.length >= 3, 'watch to print the change made by the other process', 90_000);
    expect(JSON.parse(watch.lines[2]!)).toMatchObject({ name: 'office', from: 'overdue', to: 'fresh', event: 'recovered' });
    expect(watch.lines).toHaveLength(3);
    watch.child.kill('SIGTERM');
    // It exits by the worst state: annex is still overdue.
    expect(await watch.exit).toBe(1);
    expect(watch.stderr()).toBe('1 overdue or failing\n');
  }, 180_000);
});

describe('lifeboat alerts', () => {
  it('acknowledges an installation in alarm, refuses one in none (exit 3) and an unknown one (exit 1)', () => {
    const fresh = lifeboat(['alerts', 'ack', 'office']);
    expect(fresh.status).toBe(3);
    expect(fresh.stderr).toBe('office is fresh: there is no alarm to acknowledge.\n');
    const unknown = lifeboat(['alerts', 'ack', 'nowhere']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('No installation named or with id "nowhere"');
    const acked = lifeboat(['alerts', 'ack', 'annex']);
    expect(acked.status, acked.stderr).toBe(0);
    expect(acked.stdout).toBe('Acknowledged: no reminders for annex while it stays overdue.\n');
    const listed = lifeboat(['--json', 'alerts', 'list']);
    // Acknowledged is not fixed: the list still exits by the worst state.
    expect(listed.status).toBe(1);
    const entries = JSON.parse(listed.stdout) as { name: string; state: string; acknowledged: boolean; snoozedUntil: string | null }[];
    expect(entries.find((e) => e.name === 'annex')).toMatchObject({ state: 'overdue', acknowledged: true, snoozedUntil: null });
    expect(entries.find((e) => e.name === 'office')).toMatchObject({ state: 'fresh', acknowledged: false });
  });

  it('snoozes for a duration, refuses a bad one (exit 2), and ends a snooze', () => {
    const bad = lifeboat(['alerts', 'snooze', 'annex', '--for', '4 hours']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('"4 hours" is not a duration');
    const tooLong = lifeboat(['alerts', 'snooze', 'annex', '--for', '90d']);
    expect(tooLong.status).toBe(2);
    const before = Date.now();
    const snoozed = lifeboat(['--json', 'alerts', 'snooze', 'annex', '--for', '4h']);
    expect(snoozed.status, snoozed.stderr).toBe(0);
    const until4h = Date.parse((JSON.parse(snoozed.stdout) as { snoozedUntil: string }).snoozedUntil);
    expect(until4h - before).toBeGreaterThanOrEqual(4 * 3_600_000);
    expect(until4h - Date.now()).toBeLessThanOrEqual(4 * 3_600_000);
    expect(lifeboat(['alerts', 'list']).stdout).toMatch(/annex\s+overdue\s+snoozed until \d{4}-/);
    expect(lifeboat(['alerts', 'unsnooze', 'annex']).stdout).toBe('Alerts for annex are on again.\n');
    expect(lifeboat(['alerts', 'list']).stdout).toMatch(/annex\s+overdue\s+acknowledged/);
  });

  it('what the CLI said holds in a running daemon: the daemon writes its states and keeps the snooze', async () => {
    const daemon = running(['--json', 'daemon']);
    await until(() => daemon.lines.length >= 1, `the daemon to start (stderr: ${daemon.stderr()})`);
    const file = path.join(home, 'watchdog.json');
    // Its first evaluation has written the file.
    await until(() => statSync(file, { throwIfNoEntry: false }) !== undefined, 'the daemon to write its states');
    const snoozed = lifeboat(['alerts', 'snooze', 'office', '--for', '2h']);
    expect(snoozed.status, snoozed.stderr).toBe(0);
    const written = statSync(file).mtimeMs;
    const read = () => (JSON.parse(readFileSync(file, 'utf8')) as { installations: Record<string, { name: string; snoozedUntil: number | null; acknowledged: boolean }> }).installations;
    const office = () => Object.values(read()).find((r) => r.name === 'office')!;
    // The daemon's next evaluation (its timer) rewrites the file from what it holds: the snooze stays.
    await until(() => statSync(file).mtimeMs !== written, "the daemon's next evaluation", 120_000, 200);
    expect(office().snoozedUntil).toBeGreaterThan(Date.now());
    expect(Object.values(read()).find((r) => r.name === 'annex')).toMatchObject({ acknowledged: true });
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
    expect(office().snoozedUntil).toBeGreaterThan(Date.now());
  }, 180_000);
});
