/**
 * Benchmark: previewing a ~2 GiB `pg_dump -Fc -Z0` archive with Lifeboat's reader against
 * PostgreSQL 15's own tools on the same files, in the same run.
 *
 * Two archives of the same database are made once and reused (cache dir below):
 * - `seekable.dump` — `pg_dump -f file`: pg_dump rewrote the TOC with data offsets (flag 2);
 * - `piped.dump`    — pg_dump's stdout was a pipe (Weavestream's case): no offsets (flag 1).
 *
 * Measured (warm page cache, best of RUNS):
 * - TOC only:  ours `readPgDumpToc(file)` vs `pg_restore --list file` (neither reads the data:
 *   pg_restore --list never walks data blocks, not even on a piped, offset-less archive);
 * - full walk: ours `readPgDumpToc(file, { scanData: true })` — from the file and from a pipe —
 *   vs `pg_restore --list` (the brief's anchor) and vs the cheapest pg_restore run that reads
 *   every data block (`pg_restore --data-only -f /dev/null`), plus `cat file > /dev/null` as the
 *   I/O floor.
 * Peak RSS comes from GNU time (`%M`) around a separate process for each measurement; ours runs in
 * a child Node process (`--pgdump-bench-child`) so its peak is not mixed with the harness'.
 *
 * Env: PGDUMP_BENCH_DIR (cache, default $TMPDIR/lifeboat-bench-pgdump), PGDUMP_BENCH_BYTES
 * (target COPY bytes, default 2 GiB), PGDUMP_BENCH_RUNS (default 3).
 */
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { readPgDumpToc } from '../src/main/formats/pgdump';
import { startPostgres } from '../test/harness/postgres';
import { measureCommand, type Measurement } from './lib/measure';

const BIN = '/usr/lib/postgresql/15/bin';
const CACHE = process.env.PGDUMP_BENCH_DIR ?? path.join(tmpdir(), 'lifeboat-bench-pgdump');
const TARGET_BYTES = Number(process.env.PGDUMP_BENCH_BYTES ?? 2 * 1024 ** 3);
const RUNS = Number(process.env.PGDUMP_BENCH_RUNS ?? 3);
const CHILD_FLAG = '--pgdump-bench-child';
/** COPY text of one row: id, tab, 1024 characters, newline. */
const ROW_BYTES = 1034;
const execFileAsync = promisify(execFile);

/** One measurement, best of RUNS. */
const measure = (label: string, argv: string[]): Promise<Measurement> => measureCommand(label, argv, { runs: RUNS });


/** Runs the benchmark and prints a table with ratios against pg_restore from the same run. */
export async function run(): Promise<void> {
  const { seekable, piped } = await ensureDumps();
  const size = statSync(piped).size;
  console.log(`pgdump-preview: ${(size / 1024 ** 3).toFixed(2)} GiB custom archive, -Z0, pg_dump 15 (${CACHE})`);
  console.log(`warm page cache, best of ${RUNS} runs; peak RSS of the measured process (GNU time %M)\n`);

  const rows: Measurement[] = [];
  for (const [name, file] of [['seekable (offsets set)', seekable], ['piped (no offsets, Weavestream)', piped]] as const) {
    rows.push(await measure(`pg_restore --list         [${name}]`, ['/usr/bin/time', '-f', '%M', `${BIN}/pg_restore`, '--list', file]));
    rows.push(await measure(`ours TOC only             [${name}]`, ourCommand('toc', file)));
    rows.push(await measure(`ours scanData, file       [${name}]`, ourCommand('scan-file', file)));
    rows.push(await measure(`ours scanData, from pipe  [${name}]`, ourCommand('scan-pipe', file)));
  }
  rows.push(await measure('pg_restore --list < pipe   [piped]', ['/usr/bin/time', '-f', '%M', 'sh', '-c', `cat '${piped}' | ${BIN}/pg_restore --list`]));
  rows.push(await measure('pg_restore --data-only -f /dev/null [piped]', ['/usr/bin/time', '-f', '%M', `${BIN}/pg_restore`, '--data-only', '-f', '/dev/null', piped]));
  rows.push(await measure('cat > /dev/null (I/O floor) [piped]', ['/usr/bin/time', '-f', '%M', 'sh', '-c', `cat '${piped}' > /dev/null`]));

  const anchor = (label: string): Measurement => rows.find((r) => r.label.startsWith(label)) as Measurement;
  const listPiped = anchor('pg_restore --list         [piped');
  const listSeekable = anchor('pg_restore --list         [seekable');
  const fullRead = anchor('pg_restore --data-only');
  console.log(`${'measurement'.padEnd(52)} ${'time'.padStart(9)} ${'process'.padStart(9)} ${'peak RSS'.padStart(9)}`);
  for (const r of rows) {
    console.log(`${r.label.padEnd(52)} ${r.seconds.toFixed(3).padStart(7)} s ${r.wallSeconds.toFixed(3).padStart(7)} s ${r.peakRssMb.toFixed(0).padStart(6)} MB`);
  }
  console.log('(time: ours = the reader alone, in-process; tools = whole process. process: whole process wall time for both)');

  const ratio = (a: Measurement, b: Measurement): string => `${(a.seconds / b.seconds).toFixed(2)}× (whole process ${(a.wallSeconds / b.wallSeconds).toFixed(2)}×)`;
  console.log('\nratios (ours / anchor; target ≤ 1.0× of pg_restore, peak RSS < 300 MB):');
  console.log(`  TOC only vs pg_restore --list (seekable): ${ratio(anchor('ours TOC only             [seekable'), listSeekable)}`);
  console.log(`  TOC only vs pg_restore --list (piped):    ${ratio(anchor('ours TOC only             [piped'), listPiped)}`);
  console.log(`  full walk (file) vs pg_restore --list (piped, reads no data):  ${ratio(anchor('ours scanData, file       [piped'), listPiped)}`);
  console.log(`  full walk (file) vs pg_restore --data-only -f /dev/null (reads all data): ${ratio(anchor('ours scanData, file       [piped'), fullRead)}`);
  console.log(`  full walk (pipe) vs pg_restore --data-only -f /dev/null: ${ratio(anchor('ours scanData, from pipe  [piped'), fullRead)}`);
  const peak = Math.max(...rows.filter((r) => r.label.startsWith('ours')).map((r) => r.peakRssMb));
  console.log(`  our peak RSS: ${peak.toFixed(0)} MB (whole Node process incl. tsx)`);
}

/** Our reader in a child Node process, so GNU time sees only its memory; the child prints its own in-process time. */
function ourCommand(mode: 'toc' | 'scan-file' | 'scan-pipe', file: string): string[] {
  return ['/usr/bin/time', '-f', '%M', process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), CHILD_FLAG, mode, file];
}


async function child(mode: string, file: string): Promise<void> {
  const started = performance.now();
  let archive;
  if (mode === 'scan-pipe') {
    const cat = spawn('cat', [file], { stdio: ['ignore', 'pipe', 'inherit'] });
    archive = await readPgDumpToc(cat.stdout, { scanData: true });
  } else {
    archive = await readPgDumpToc(file, { scanData: mode !== 'toc' });
  }
  const seconds = (performance.now() - started) / 1000;
  const biggest = archive.tables.reduce((a, b) => ((b.dataBytes ?? 0) > (a.dataBytes ?? 0) ? b : a));
  console.log(`bench-seconds=${seconds.toFixed(4)}`);
  console.log(`tables=${archive.tables.length} biggest=${biggest.schema}.${biggest.name} dataBytes=${biggest.dataBytes}`);
}

/** Makes both archives once (≈ 2–4 minutes on 2 cores) and reuses them. */
async function ensureDumps(): Promise<{ seekable: string; piped: string }> {
  const seekable = path.join(CACHE, 'seekable.dump');
  const piped = path.join(CACHE, 'piped.dump');
  const marker = path.join(CACHE, 'target-bytes');
  if (existsSync(seekable) && existsSync(piped) && existsSync(marker) && readFileSync(marker, 'utf8') === String(TARGET_BYTES)) return { seekable, piped };

  await rm(CACHE, { recursive: true, force: true });
  await mkdir(CACHE, { recursive: true });
  const rowCount = Math.ceil(TARGET_BYTES / ROW_BYTES);
  console.log(`making the benchmark archives (${rowCount} rows) in ${CACHE} …`);
  const pg = await startPostgres();
  try {
    await pg.psql('CREATE DATABASE bench;');
    const smallTables = Array.from({ length: 20 }, (_, i) => `CREATE TABLE public.small_${i} (id int PRIMARY KEY, v text); INSERT INTO public.small_${i} SELECT g, md5(g::text) FROM generate_series(1, 100) g;`).join('\n');
    // One random md5 per row keeps rows distinct; the rest is cheap filler (-Z0 stores it as is).
    await pg.psql(`${smallTables}
      CREATE TABLE public.bench_rows (id bigint, body text);
      INSERT INTO public.bench_rows SELECT g, md5(random()::text) || repeat(md5(g::text), 31) FROM generate_series(1, ${rowCount}) g;`, 'bench');
    const conn = ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', 'bench'];
    await execFileAsync(`${BIN}/pg_dump`, ['-Fc', '-Z0', '-f', `${seekable}.part`, ...conn]);
    await rename(`${seekable}.part`, seekable);
    const dump = spawn(`${BIN}/pg_dump`, ['-Fc', '-Z0', ...conn], { stdio: ['ignore', 'pipe', 'inherit'] });
    const out = createWriteStream(`${piped}.part`);
    dump.stdout.pipe(out);
    const code = await new Promise<number | null>((resolve) => dump.on('close', resolve));
    await finished(out);
    if (code !== 0) throw new Error(`pg_dump exited with ${code}`);
    await rename(`${piped}.part`, piped);
    await writeFile(marker, String(TARGET_BYTES));
  } finally {
    await pg.stop();
  }
  return { seekable, piped };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const at = process.argv.indexOf(CHILD_FLAG);
  const job = at >= 0 ? child(process.argv[at + 1] as string, process.argv[at + 2] as string) : run();
  job.catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
