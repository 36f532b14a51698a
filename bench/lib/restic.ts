import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { shellWord } from './cli-pull';
import { gnuTime, TIME_FORMAT, type Measurement } from './measure';

const execFileAsync = promisify(execFile);

/**
 * The anchor of the pull benches: `SOURCE | restic backup --stdin` into a fresh repository
 * (version 2, `--compression off`, as Lifeboat never compresses). `source` is the shell command
 * that carries the bytes (curl, ssh … cat). GNU time wraps the whole pipeline: peak RSS is its
 * largest process (restic), CPU is both processes' user + system seconds.
 */
export async function pipeIntoRestic(source: string[], repo: string, stdinFilename: string, cacheDir: string): Promise<Omit<Measurement, 'label'>> {
  const env = { ...process.env, RESTIC_PASSWORD: 'bench-password', RESTIC_CACHE_DIR: path.join(cacheDir, 'restic-cache') };
  await rm(repo, { recursive: true, force: true });
  await execFileAsync('restic', ['-r', repo, 'init', '-q', '--repository-version', '2'], { env });
  const script = `${source.map(shellWord).join(' ')} | restic -r ${shellWord(repo)} backup -q --compression off --stdin --stdin-filename ${shellWord(stdinFilename)}`;
  const started = performance.now();
  const { stderr } = await execFileAsync('/usr/bin/time', ['-f', TIME_FORMAT, 'bash', '-o', 'pipefail', '-c', script], { env, maxBuffer: 16 * 1024 * 1024 });
  const wall = (performance.now() - started) / 1000;
  await rm(repo, { recursive: true, force: true });
  return { seconds: wall, wallSeconds: wall, ...gnuTime(stderr), note: 'peak RSS: restic; CPU: the whole pipeline' };
}
