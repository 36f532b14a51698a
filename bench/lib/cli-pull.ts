import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gnuTime, TIME_FORMAT, type Measurement } from './measure';

const execFileAsync = promisify(execFile);
const CLI = fileURLToPath(new URL('../../bin/lifeboat.mjs', import.meta.url));

/** Runs one unmeasured `lifeboat` command on the bench's data directory and gives its standard output. */
export type Lifeboat = (args: string[], stdin?: string) => Promise<string>;

/** Extra Node flags for the measured processes (BENCH_CHILD_NODE_FLAGS, e.g. `--cpu-prof`). */
export function childNodeFlags(): string[] {
  return (process.env.BENCH_CHILD_NODE_FLAGS ?? '').split(' ').filter(Boolean);
}

/**
 * The product as an operator runs it: the built `lifeboat` CLI on a fresh data directory
 * (LIFEBOAT_HOME = `home`), `lifeboat --json pull NAME [REMOTE-ID]` under GNU time. `setup` runs
 * the unmeasured commands first (vault init, installations add, a trigger…) and gives the remote
 * id to pull (undefined: the newest). `seconds` is the pull job's own start-to-finish time from
 * jobs.jsonl, `wallSeconds` the whole process (Node start-up, vault open, login included).
 */
export async function cliPull(home: string, installation: string, setup: (lifeboat: Lifeboat) => Promise<string | undefined>): Promise<Omit<Measurement, 'label'>> {
  if (!existsSync(fileURLToPath(new URL('../../dist/main/cli.js', import.meta.url)))) throw new Error('dist/main/cli.js is missing: run `npm run build` (npm run bench does) first.');
  await rm(home, { recursive: true, force: true });
  const env = { ...process.env, LIFEBOAT_HOME: home };
  const lifeboat: Lifeboat = (args, stdin) =>
    new Promise((resolve, reject) => {
      const child = execFile(process.execPath, [CLI, ...args], { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => (error ? reject(new Error(`lifeboat ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
      child.stdin?.end(stdin ?? '');
    });
  const remoteId = await setup(lifeboat);
  const started = performance.now();
  const { stdout, stderr } = await execFileAsync('/usr/bin/time', ['-f', TIME_FORMAT, process.execPath, ...childNodeFlags(), CLI, '--json', 'pull', installation, ...(remoteId ? [remoteId] : [])], { env, maxBuffer: 16 * 1024 * 1024 });
  const wallSeconds = (performance.now() - started) / 1000;
  if (process.env.BENCH_SHOW_CHILD_STDERR) console.log(stderr);
  const result = JSON.parse(stdout) as { snapshotId: string; checks: unknown[] };
  const jobs = (await readFile(`${home}/jobs.jsonl`, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { kind: string; startedAt: string | null; finishedAt: string | null });
  const pull = jobs.filter((j) => j.kind === 'pull').at(-1);
  const seconds = pull?.startedAt && pull.finishedAt ? (Date.parse(pull.finishedAt) - Date.parse(pull.startedAt)) / 1000 : wallSeconds;
  await rm(home, { recursive: true, force: true });
  return { seconds, wallSeconds, ...gnuTime(stderr), note: `${result.checks.length} checks passed, snapshot ${result.snapshotId.slice(0, 8)}; whole process ${wallSeconds.toFixed(2)} s` };
}

/** A word for `bash -c`, quoted. */
export function shellWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
