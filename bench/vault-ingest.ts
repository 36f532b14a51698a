/**
 * Benchmark: ingesting one large random file into a fresh vault with Lifeboat against
 * `restic backup` of the same file into a fresh restic repository, in the same run; then reading
 * it back out, Lifeboat's `dumpFile` against `restic dump`.
 *
 * Random data is the worst case for both: nothing dedups, nothing compresses (restic's default
 * `--compression auto` still runs zstd over it; `--compression off`, which Lifeboat matches, is
 * shown too). Each measurement runs in its own process under GNU time for peak RSS; ours reports
 * its in-process time (without Node + tsx start-up) and whole-process wall time.
 *
 * Env: VAULT_BENCH_DIR (cache, default $TMPDIR/lifeboat-bench-vault), VAULT_BENCH_BYTES
 * (default 1 GiB), VAULT_BENCH_RUNS (default 2, best of), VAULT_BENCH_FILE (ingest this file
 * instead of random bytes, e.g. a real pg_dump such as the one bench/pgdump-preview.ts makes).
 */
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { LocalBackend, Vault } from '../src/main/vault';
import { measureCommand, type Measurement } from './lib/measure';

const CACHE = process.env.VAULT_BENCH_DIR ?? path.join(tmpdir(), 'lifeboat-bench-vault');
const BYTES = Number(process.env.VAULT_BENCH_BYTES ?? 1024 ** 3);
const RUNS = Number(process.env.VAULT_BENCH_RUNS ?? 2);
const CHILD_FLAG = '--vault-bench-child';
const PASSWORD = 'vault-bench-password';
const execFileAsync = promisify(execFile);


/** One measurement, best of RUNS, with restic's environment. */
const measure = (label: string, before: (() => Promise<void>) | null, argv: string[]): Promise<Measurement> =>
  measureCommand(label, argv, { runs: RUNS, env: resticEnv(), ...(before ? { before } : {}) });

const resticEnv = (): NodeJS.ProcessEnv => ({ ...process.env, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(CACHE, 'restic-cache') });

/** Runs the benchmark and prints the table and the ratios against restic from the same run. */
export async function run(): Promise<void> {
  const file = process.env.VAULT_BENCH_FILE ?? (await ensureData());
  const mib = statSync(file).size / 1024 ** 2;
  console.log(`vault-ingest: ${mib.toFixed(0)} MiB ${process.env.VAULT_BENCH_FILE ? `file ${file}` : `random file (${CACHE})`}, best of ${RUNS} runs, fresh repository per run`);

  const rows: Measurement[] = [];
  const repos = { restic: path.join(CACHE, 'restic-repo'), resticOff: path.join(CACHE, 'restic-repo-off'), ours: path.join(CACHE, 'lifeboat-vault') };
  const freshRestic = async (repo: string): Promise<void> => {
    await rm(repo, { recursive: true, force: true });
    await execFileAsync('restic', ['-r', repo, 'init', '-q'], { env: resticEnv() });
  };
  rows.push(await measure('restic backup (compression auto, default)', () => freshRestic(repos.restic), ['/usr/bin/time', '-f', '%M', 'restic', '-r', repos.restic, 'backup', '-q', file]));
  rows.push(await measure('restic backup --compression off', () => freshRestic(repos.resticOff), ['/usr/bin/time', '-f', '%M', 'restic', '-r', repos.resticOff, 'backup', '-q', '--compression', 'off', file]));
  rows.push(await measure('Lifeboat addArchive', () => rm(repos.ours, { recursive: true, force: true }), ourCommand('ingest', repos.ours, file)));
  rows.push(await measure('restic dump latest > /dev/null', null, ['/usr/bin/time', '-f', '%M', 'sh', '-c', `restic -r '${repos.restic}' dump latest '${file}' > /dev/null`]));
  rows.push(await measure('Lifeboat dumpFile > /dev/null', null, ourCommand('dump', repos.ours, file)));

  console.log(`\n${'measurement'.padEnd(44)} ${'time'.padStart(9)} ${'MB/s'.padStart(7)} ${'process'.padStart(9)} ${'peak RSS'.padStart(9)}`);
  for (const r of rows) {
    console.log(`${r.label.padEnd(44)} ${r.seconds.toFixed(2).padStart(7)} s ${(mib / r.seconds).toFixed(0).padStart(7)} ${r.wallSeconds.toFixed(2).padStart(7)} s ${r.peakRssMb.toFixed(0).padStart(6)} MB`);
  }
  console.log('(time: Lifeboat = the operation alone, in-process; restic = whole process. process: whole-process wall time)');
  const row = (prefix: string): Measurement => rows.find((r) => r.label.startsWith(prefix)) as Measurement;
  const speed = (ours: Measurement, anchor: Measurement): string =>
    `${(anchor.seconds / ours.seconds).toFixed(2)}× restic's speed (whole process ${(anchor.wallSeconds / ours.wallSeconds).toFixed(2)}×)`;
  console.log('\nratios (> 1 = Lifeboat faster; target ≥ 1.0 for ingest):');
  console.log(`  ingest vs restic backup (default):         ${speed(row('Lifeboat addArchive'), row('restic backup (compression auto'))}`);
  console.log(`  ingest vs restic backup --compression off: ${speed(row('Lifeboat addArchive'), row('restic backup --compression off'))}`);
  console.log(`  dump vs restic dump:                       ${speed(row('Lifeboat dumpFile'), row('restic dump'))}`);
  console.log(`  Lifeboat peak RSS: ingest ${row('Lifeboat addArchive').peakRssMb.toFixed(0)} MB, dump ${row('Lifeboat dumpFile').peakRssMb.toFixed(0)} MB (whole Node process incl. tsx)`);
}

function ourCommand(mode: 'ingest' | 'dump', repo: string, file: string): string[] {
  return ['/usr/bin/time', '-f', '%M', process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), CHILD_FLAG, mode, repo, file];
}


/** One measured operation in this (child) process. */
async function child(mode: string, repo: string, file: string): Promise<void> {
  const backend = new LocalBackend(repo);
  if (mode === 'ingest') {
    // A cheap scrypt keeps key derivation (not measured anyway) out of the way.
    const vault = await Vault.init(backend, PASSWORD, { scrypt: { N: 16384, r: 8, p: 1 } });
    const started = performance.now();
    const result = await vault.addArchive({
      input: createReadStream(file, { highWaterMark: 1024 * 1024 }),
      fileName: path.basename(file),
      size: statSync(file).size,
      mtime: statSync(file).mtime,
      hostname: 'bench',
      paths: [file],
    });
    console.log(`bench-seconds=${((performance.now() - started) / 1000).toFixed(4)}`);
    console.log(`snapshot=${result.snapshotId} stored=${result.storedBytes}`);
  } else {
    const vault = await Vault.open(backend, PASSWORD);
    const started = performance.now();
    const [snapshot] = await vault.listSnapshots();
    await pipeline(await vault.dumpFile(snapshot!.id, path.basename(file)), createWriteStream('/dev/null'));
    console.log(`bench-seconds=${((performance.now() - started) / 1000).toFixed(4)}`);
  }
}

/** Makes the random input file once and reuses it. */
async function ensureData(): Promise<string> {
  const file = path.join(CACHE, `random-${BYTES}.bin`);
  if (existsSync(file) && statSync(file).size === BYTES) return file;
  await mkdir(CACHE, { recursive: true });
  console.log(`making ${BYTES} random bytes in ${file} …`);
  await execFileAsync('sh', ['-c', `head -c ${BYTES} /dev/urandom > '${file}.part' && mv '${file}.part' '${file}'`]);
  return file;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const at = process.argv.indexOf(CHILD_FLAG);
  const job = at >= 0 ? child(process.argv[at + 1] as string, process.argv[at + 2] as string, process.argv[at + 3] as string) : run();
  job.catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
