// `lifeboat daemon` as real processes on one data directory: the second refuses, naming the
// first; after the first stops (SIGTERM) the lock is free again; a lock left by a process that
// died is taken over. And the CLI of schedules, watch (JSON lines, exit codes) and notify.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestHome } from '../harness/home';

const cli = path.resolve('bin/lifeboat.mjs');
let home: string;
const children: ChildProcess[] = [];

function lifeboat(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts a daemon and resolves with its first stdout line (printed once it holds the lock). */
function startDaemon(): Promise<{ child: ChildProcess; info: { pid: number; home: string } }> {
  const child = spawn(process.execPath, [cli, '--json', 'daemon'], { env: { ...process.env, LIFEBOAT_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, info: JSON.parse(out.slice(0, nl)) as { pid: number; home: string } });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`daemon exited ${code}: ${err}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.on('exit', (code) => resolve(code))));

beforeAll(() => {
  home = makeTestHome('daemon-lock');
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(children.map(exited));
});

describe('two daemons on one data directory', () => {
  it('the second refuses with a message naming the first; after the first stops, another may start', async () => {
    const first = await startDaemon();
    expect(first.info.pid).toBe(first.child.pid);
    const second = lifeboat(['daemon']);
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`Another Lifeboat already runs the schedules of ${home}: lifeboat daemon (pid ${first.child.pid} on ${hostname()}`);
    expect(second.stderr).toContain('[ALREADY_EXISTS]');
    const listed = lifeboat(['schedule', 'list']);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain(`Runner: lifeboat daemon (pid ${first.child.pid}`);
    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);
    expect(existsSync(path.join(home, 'scheduler.lock'))).toBe(false);
    const third = await startDaemon();
    third.child.kill('SIGTERM');
    expect(await exited(third.child)).toBe(0);
  });

  it('a lock left by a process that has ended is taken over', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(path.join(home, 'scheduler.lock'), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), command: 'lifeboat daemon', since: '2026-01-01T00:00:00Z' }));
    const daemon = await startDaemon();
    daemon.child.kill('SIGTERM');
    expect(await exited(daemon.child)).toBe(0);
  });
});

describe('schedule, watch and notify on the command line', () => {
  it('sets, lists, pauses and resumes schedules', () => {
    expect(lifeboat(['installations', 'add', '--name', 'office', '--app', 'directory', '--ssh-host', '127.0.0.1', '--setting', 'directory=/srv/backups', '--cadence-hours', '24']).status).toBe(0);
    const set = lifeboat(['schedule', 'set', 'office', '--daily', '02:30', '--tz', 'Europe/Berlin', '--jitter-minutes', '0']);
    expect(set.status, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^pull office: daily at 02:30 \(Europe\/Berlin\); next: \d{4}-\d\d-\d\dT(00|01):30:00\.000Z, /);
    const bad = lifeboat(['schedule', 'set', 'office', '--cron', '61 * * * *']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/"61 \* \* \* \*" is not a cron expression/);
    const json = JSON.parse(lifeboat(['--json', 'schedule', 'list']).stdout) as { tasks: { kind: string; name: string; describe: string; nextRuns: string[] }[] };
    expect(json.tasks.find((t) => t.kind === 'pull')).toMatchObject({ name: 'office', describe: 'daily at 02:30 (Europe/Berlin)' });
    expect(json.tasks.find((t) => t.kind === 'pull')!.nextRuns).toHaveLength(5);
    expect(lifeboat(['schedule', 'pause', '--for', '1h']).stdout).toMatch(/^Schedules paused until \d{4}-/);
    expect(lifeboat(['schedule', 'list']).stdout).toMatch(/^PAUSED until /);
    expect(lifeboat(['schedule', 'resume']).stdout).toBe('Schedules resumed.\n');
    expect(lifeboat(['schedule', 'list']).stdout).not.toMatch(/PAUSED/);
  });

  it('watch --once prints JSON lines and exits by the worst state', () => {
    // Added just now with a daily cadence: nothing is late yet.
    const fresh = lifeboat(['watch', '--once']);
    expect(fresh.status).toBe(0);
    const line = JSON.parse(fresh.stdout.trim().split('\n')[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ name: 'office', from: null, to: 'fresh' });
    // A cadence of one hour on an installation added two hours ago (edited in its file) is overdue.
    const file = path.join(home, 'installations.json');
    const data = JSON.parse(readFileSync(file, 'utf8')) as { installations: { createdAt: string; expectedCadenceHours?: number }[] };
    data.installations[0]!.createdAt = new Date(Date.now() - 2 * 3_600_000).toISOString();
    data.installations[0]!.expectedCadenceHours = 1;
    writeFileSync(file, JSON.stringify(data));
    const late = lifeboat(['watch', '--once']);
    expect(late.status).toBe(1);
    expect(JSON.parse(late.stdout.trim())).toMatchObject({ to: 'overdue', side: 'lifeboat', message: 'Lifeboat has no copy of office yet, 2 h after it was added (expected hourly)' });
    expect(late.stderr).toBe('1 overdue or failing\n');
  });

  it('notify test of a channel that cannot be reached exits 1 and says why', async () => {
    // A port that was free a moment ago: nothing listens there.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const added = lifeboat(['notify', 'add', '--kind', 'webhook', '--name', 'nowhere', '--id', 'nowhere', '--retries', '0', '--timeout', '2'], `http://127.0.0.1:${port}/hook\n`);
    expect(added.status, added.stderr).toBe(0);
    const tested = lifeboat(['notify', 'test', 'nowhere']);
    expect(tested.status).toBe(1);
    expect(tested.stdout).toBe('NOT delivered after 1 attempt(s): ECONNREFUSED\n');
    expect(lifeboat(['notify', 'list']).stdout).toMatch(/nowhere\s+webhook\s+nowhere\s+overdue,failing/);
  });
});
