/**
 * A temporary PostgreSQL cluster on this machine, for restore drills: `initdb` into a private temp
 * directory (owner-only), listening on a Unix socket in that directory only (no TCP port, so
 * nothing else can reach it), trust auth for its owner, fsync off (it is thrown away), removed
 * afterwards. It is never a production server. Run as root, the cluster belongs to the `postgres`
 * OS user, since initdb refuses root.
 */
import { spawn } from 'node:child_process';
import { chown, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LifeboatError } from '../../shared/errors';

/** Where PostgreSQL's server binaries may be, newest first after $LIFEBOAT_PG_BINDIR. */
async function candidateBinDirs(): Promise<string[]> {
  const dirs: string[] = [];
  if (process.env.LIFEBOAT_PG_BINDIR) dirs.push(process.env.LIFEBOAT_PG_BINDIR);
  for (const root of ['/usr/lib/postgresql', '/usr/local/pgsql']) {
    const versions = (await readdir(root).catch(() => [] as string[])).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((v) => path.join(root, v, 'bin')));
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) dirs.push(dir);
  return dirs;
}

async function findBinDirWith(tools: string[]): Promise<string | null> {
  for (const dir of await candidateBinDirs()) {
    const found = await Promise.all(tools.map((tool) => stat(path.join(dir, tool)).then((s) => s.isFile(), () => false)));
    if (found.every(Boolean)) return dir;
  }
  return null;
}

/** The directory with initdb, pg_ctl, psql and pg_restore, or null when this machine has no PostgreSQL server. */
export function findPostgresBinDir(): Promise<string | null> {
  return findBinDirWith(['initdb', 'pg_ctl', 'psql', 'pg_restore']);
}

/** The directory with psql and pg_restore (client tools only), for drills on a server; null when there are none. */
export function findPostgresClientBinDir(): Promise<string | null> {
  return findBinDirWith(['psql', 'pg_restore']);
}

/** What a tool run printed and how it ended. */
export interface ToolRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  /** The last 64 KiB of stderr. */
  stderr: string;
}

const STDERR_KEPT = 64 * 1024;

/** Runs a tool, optionally feeding it a stream on stdin; never throws for a non-zero exit. */
export function runTool(command: string, args: string[], options: { input?: Readable; cwd?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], ...(options.signal ? { signal: options.signal } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < STDERR_KEPT) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEPT);
    });
    let inputError: unknown = null;
    if (options.input) {
      const input = options.input;
      input.on('error', (error) => {
        inputError = error;
        child.stdin.destroy();
        child.kill('SIGTERM');
      });
      // A tool that stops reading (stop-on-error) closes its stdin: that is not our error.
      child.stdin.on('error', () => input.destroy());
      input.pipe(child.stdin);
    } else child.stdin.end();
    child.on('error', (error) => reject(options.signal?.aborted ? new LifeboatError('CANCELLED', 'Cancelled by the operator.') : error));
    child.on('close', (code, signal) => {
      if (inputError) reject(inputError);
      else resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A running temporary cluster. */
export interface LocalCluster {
  /** The directory holding the socket: `host` for libpq and node-postgres. */
  socketDir: string;
  port: number;
  user: string;
  binDir: string;
  /** PostgreSQL's major version (15, 16…). */
  major: number;
  /** Runs a tool of the cluster's bin directory as the cluster's owner, against the cluster. */
  tool(name: 'psql' | 'pg_restore' | 'createdb' | 'dropdb', args: string[], options?: { input?: Readable; signal?: AbortSignal }): Promise<ToolRun>;
  stop(): Promise<void>;
}

const PORT = 5432;

/** Starts a new temporary cluster; stop it when done (it is also removed if starting fails). */
export async function startLocalCluster(binDir: string): Promise<LocalCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-drill-pg-'));
  const dataDir = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? 'postgres' : os.userInfo().username;
  if (asRoot) {
    const ids = await runTool('id', ['-u', 'postgres']);
    const gids = await runTool('id', ['-g', 'postgres']);
    if (ids.code !== 0) throw new LifeboatError('DRILL_UNAVAILABLE', 'Running as root, a drill needs the postgres OS user to own its temporary PostgreSQL cluster; there is none.');
    await chown(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  const run = (tool: string, args: string[], options: { input?: Readable; signal?: AbortSignal } = {}): Promise<ToolRun> =>
    asRoot ? runTool('runuser', ['-u', 'postgres', '--', path.join(binDir, tool), ...args], { ...options, cwd: dir }) : runTool(path.join(binDir, tool), args, { ...options, cwd: dir });
  const must = async (what: string, result: Promise<ToolRun>): Promise<ToolRun> => {
    const done = await result;
    if (done.code !== 0) throw new LifeboatError('DRILL_UNAVAILABLE', `The drill's temporary PostgreSQL cluster could not start: ${what} failed: ${done.stderr.trim().split('\n').slice(-3).join(' ') || `exit ${done.code}`}`);
    return done;
  };
  try {
    const version = await must('initdb --version', run('initdb', ['--version']));
    const major = Number(/(\d+)/.exec(version.stdout)?.[1] ?? 0);
    await must('initdb', run('initdb', ['-D', dataDir, '-U', user, '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']));
    const settings = `-c listen_addresses= -p ${PORT} -c unix_socket_directories=${dir} -c fsync=off -c full_page_writes=off -c synchronous_commit=off`;
    await must('pg_ctl start', run('pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '60', '-o', settings, 'start']));
    const connect = ['-h', dir, '-p', String(PORT), '-U', user];
    return {
      socketDir: dir,
      port: PORT,
      user,
      binDir,
      major,
      tool: (name, args, options = {}) => run(name, [...connect, ...args], options),
      async stop() {
        await run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
