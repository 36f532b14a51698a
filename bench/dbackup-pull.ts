/**
 * Benchmark: DBackup over HTTPS. A ~1 GiB encrypted database backup (a real `pg_dump -Fc -Z0`,
 * AES-256-GCM with a profile key as DBackup writes it, no compression, with its `.meta.json`)
 * lies on a storage destination behind the fake DBackup API (test/fleet/dbackup/server.ts, TLS,
 * the raw download DBackup serves: a ZIP of the file and its sidecar).
 *
 * 1. Pull + checksum verify into the vault: Lifeboat's pull job (list-free open, ZIP unwrapped
 *    while streaming, SHA-256 and MD5 against the sidecar before the snapshot exists, chunked and
 *    encrypted into a fresh vault) against `curl -s URL | restic backup --stdin` (same bytes, same
 *    server, restic storing with --compression off as Lifeboat never compresses), same run.
 *    Target: restic's time / ours ≥ 1.0. A `curl -o /dev/null` row shows what the server and TLS cost.
 * 2. GCM decrypt + TOC preview of the same file (preview job: SHA-256, MD5, AES-256-GCM to the
 *    tag, the dump's TOC and data-block walk) against `openssl speed -evp aes-256-gcm` on this
 *    machine in the same run (16 KiB blocks, the time OpenSSL's raw cipher needs for the file):
 *    the ratio says how close the preview comes to the cipher's limit.
 * Each Lifeboat measurement is a separate process under GNU time (peak RSS < 300 MB).
 *
 * Measured 2026-12-03 on the shared 2-core machine (load average 20-30 from other suites, so
 * every figure is noisy; four 1 GiB runs that day): curl|restic 33-64 s; Lifeboat's pull 0.12×-0.64×
 * in-process (before and after the ZIP was unwrapped while streaming), the built `lifeboat pull`
 * 0.76× (50.5 s vs 38.6 s; `curl -o /dev/null` alone took 38.4 s: the fake server in this
 * process is most of the anchor); preview 3.5-9.8 s = 0.03×-0.07× of OpenSSL's raw AES-256-GCM
 * (4.5-5 GB/s: the preview also runs SHA-256, MD5 and the dump walk on one thread); peak RSS of
 * the built CLI's pull 298 MB, from source under tsx 320-353 MB, preview 184-212 MB.
 * Later that day, after downloads went on in 1 MiB blocks, the MD5 moved to the seal worker and
 * packs were written in one call (load average swinging 6-22 during each run, so the anchor and
 * ours often ran under different load): at load ~0 before those changes, 0.73× in-process (restic
 * 11.1 s, ours 15.3 s); after, two runs: 1.26× in-process / 3.68× built CLI (the load fell during
 * the run) and 0.41× / 0.60× (it rose); preview 3.2-3.6 s = 0.07×-0.08× (unchanged: it still
 * hashes SHA-256 and MD5 on its one thread); peak RSS of the built CLI's pull 288-297 MB.
 *
 * Env: DBACKUP_BENCH_DIR (cache, default $TMPDIR/lifeboat-bench-dbackup), DBACKUP_BENCH_BYTES
 * (dump size, default 1 GiB), DBACKUP_BENCH_RUNS (default 1, best of), BENCH_CHILD_NODE_FLAGS (extra
 * Node flags for the measured processes, e.g. `--cpu-prof`).
 */
import { execFile } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MemorySecretStore, createCore } from '../src/main/core';
import { startPull } from '../src/main/apps/pull-runner';
import { previewArchive } from '../src/main/apps/preview';
import type { InstallationInput } from '../src/shared/installations';
import type { PreviewReport } from '../src/shared/apps';
import { startPostgres } from '../test/harness/postgres';
import { startFakeDbackup, ALL_PERMISSIONS } from '../test/fleet/dbackup/server';
import { dbackupFileName, sidecarText } from '../test/fleet/dbackup/writer';
import { childNodeFlags, cliPull } from './lib/cli-pull';
import { pipeIntoRestic } from './lib/restic';
import { bestOf, gnuTime, measureCommand, TIME_FORMAT, type Measurement } from './lib/measure';

const BIN = '/usr/lib/postgresql/15/bin';
const CACHE = process.env.DBACKUP_BENCH_DIR ?? path.join(tmpdir(), 'lifeboat-bench-dbackup');
const TARGET_BYTES = Number(process.env.DBACKUP_BENCH_BYTES ?? 1024 ** 3);
const RUNS = Number(process.env.DBACKUP_BENCH_RUNS ?? 1);
const CHILD_FLAG = '--dbackup-bench-child';
const JOB = 'Bench DB';
const PROFILE = 'cmbenchprofile01';
const ROW_BYTES = 1034;
const execFileAsync = promisify(execFile);

interface Backup {
  dir: string;
  relative: string;
  file: string;
  keyHex: string;
}

interface ChildJob {
  mode: 'pull' | 'preview';
  home: string;
  installation?: InstallationInput;
  remoteId?: string;
  file?: string;
  keyHex?: string;
}

export async function run(): Promise<void> {
  const backup = await ensureBackup();
  const size = statSync(backup.file).size;
  const mib = size / 1024 ** 2;
  console.log(`dbackup-pull: ${mib.toFixed(0)} MiB encrypted DBackup backup (pg_dump -Fc -Z0, AES-256-GCM, no compression) over HTTPS, best of ${RUNS}; peak RSS of the measured process (GNU time %M)`);
  const api = await startFakeDbackup({ storages: [{ id: 'cmbenchstorage', name: 'Bench', rootDir: backup.dir }], profiles: { [PROFILE]: backup.keyHex }, limits: { auth: 1000, get: 1000, other: 1000 }, zipMethod: 0 });
  const work = path.join(CACHE, 'work');
  try {
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const token = api.issueKey('bench', ALL_PERMISSIONS);
    const url = `${api.url}/api/storage/cmbenchstorage/download?file=${encodeURIComponent(backup.relative)}`;
    const curl = ['curl', '-s', '-f', '-k', '-H', `Authorization: Bearer ${token}`, url];
    const installation: InstallationInput = {
      name: 'bench',
      app: 'dbackup',
      https: { baseUrl: api.url, auth: 'bearer', pinnedCertSha256: api.certSha256 },
      settings: { storageIds: 'cmbenchstorage' },
      secrets: { 'api-token': token },
    };
    const rows: Measurement[] = [];
    rows.push(await measureCommand('curl -s URL -o /dev/null (server + TLS)', ['/usr/bin/time', '-f', TIME_FORMAT, ...curl, '-o', '/dev/null'], { runs: RUNS }));
    const restic = await bestOf('curl -s URL | restic backup --stdin', RUNS, () => pipeIntoRestic(curl, path.join(work, 'restic-repo'), 'bench.sql.enc.zip', CACHE));
    rows.push(restic);
    const ours = await bestOf('Lifeboat pull (verify + vault)', RUNS, () => child({ mode: 'pull', home: path.join(work, 'home-pull'), installation, remoteId: `cmbenchstorage:${backup.relative}` }));
    rows.push(ours);
    const cli = await bestOf('lifeboat pull (built CLI, whole process)', RUNS, () =>
      cliPull(path.join(work, 'home-cli'), 'bench', async (lifeboat) => {
        await lifeboat(['vault', 'init']);
        await lifeboat(['installations', 'add', '--name', 'bench', '--app', 'dbackup', '--https-url', api.url, '--https-auth', 'bearer', '--pin-cert', api.certSha256, '--setting', 'storageIds=cmbenchstorage', '--secret-stdin', 'api-token'], token);
        return `cmbenchstorage:${backup.relative}`;
      }),
    );
    rows.push(cli);
    const openssl = await opensslGcmSeconds(size);
    rows.push(openssl);
    const preview = await bestOf('Lifeboat preview (GCM + TOC)', RUNS, () => child({ mode: 'preview', home: path.join(work, 'home-preview'), file: backup.file, keyHex: backup.keyHex }));
    rows.push(preview);

    console.log(`\n${'measurement'.padEnd(42)} ${'time'.padStart(9)} ${'MB/s'.padStart(7)} ${'process'.padStart(9)} ${'CPU u+s'.padStart(9)} ${'peak RSS'.padStart(9)}`);
    for (const r of rows) {
      console.log(`${r.label.padEnd(42)} ${`${r.seconds.toFixed(2)} s`.padStart(9)} ${(size / 1e6 / r.seconds).toFixed(0).padStart(7)} ${`${r.wallSeconds.toFixed(2)} s`.padStart(9)} ${(r.cpuSeconds === undefined ? '-' : `${r.cpuSeconds.toFixed(2)} s`).padStart(9)} ${`${r.peakRssMb.toFixed(0)} MB`.padStart(9)}${r.note ? `  ${r.note}` : ''}`);
    }
    console.log(`\nratio pull (curl|restic time / ours; target ≥ 1.0): ${(restic.wallSeconds / ours.seconds).toFixed(2)}× in-process, ${(restic.wallSeconds / ours.wallSeconds).toFixed(2)}× whole process (Node + tsx start-up included)`);
    console.log(`ratio preview (openssl aes-256-gcm time for the file / ours; 1.0 = the raw cipher's speed): ${(openssl.seconds / preview.seconds).toFixed(2)}× in-process, ${(openssl.seconds / preview.wallSeconds).toFixed(2)}× whole process`);
    console.log(`ratio pull, the built CLI (curl|restic time / lifeboat pull's whole process): ${(restic.wallSeconds / cli.wallSeconds).toFixed(2)}×`);
    console.log(`peak RSS (target < 300 MB): lifeboat pull (built CLI) ${cli.peakRssMb.toFixed(0)} MB; from source with tsx: pull ${ours.peakRssMb.toFixed(0)} MB, preview ${preview.peakRssMb.toFixed(0)} MB; restic ${restic.peakRssMb.toFixed(0)} MB`);
  } finally {
    await api.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * `openssl speed -evp aes-256-gcm` at 16 KiB blocks, as the seconds the raw cipher needs for `size` bytes.
 * The preview cannot reach 1.0: it must also hash the file with MD5 (~0.8 GB/s with OpenSSL here,
 * serial by nature) and SHA-256 (~1.9 GB/s). Since SHA-256 and MD5 run on their own threads
 * (formats/hash-worker) beside the decipher, fed 1 MiB blocks, the MD5 thread is the critical path:
 * with two free cores ~1.4 s for 1 GiB, so about 0.2× of OpenSSL's raw GCM is the honest ceiling.
 */
async function opensslGcmSeconds(size: number): Promise<Measurement> {
  const started = performance.now();
  const { stdout, stderr } = await execFileAsync('/usr/bin/time', ['-f', '%M', 'openssl', 'speed', '-evp', 'aes-256-gcm', '-bytes', '16384', '-seconds', '3'], { maxBuffer: 16 * 1024 * 1024 });
  const wall = (performance.now() - started) / 1000;
  const line = stdout.split('\n').find((l) => /^aes-256-gcm\s/i.test(l.trim()));
  const kPerSecond = Number(/([\d.]+)k\s*$/.exec(line?.trim() ?? '')?.[1]);
  if (!Number.isFinite(kPerSecond) || kPerSecond <= 0) throw new Error(`openssl speed gave no aes-256-gcm figure: ${stdout}`);
  const bytesPerSecond = kPerSecond * 1000;
  return { label: 'openssl speed -evp aes-256-gcm (16 KiB)', seconds: size / bytesPerSecond, wallSeconds: wall, peakRssMb: Number(stderr.trim().split('\n').at(-1)) / 1024, note: `${(bytesPerSecond / 1e6).toFixed(0)} MB/s; time = file size / that rate` };
}

/** Runs one Lifeboat measurement in its own process under GNU time. */
async function child(job: ChildJob): Promise<Measurement> {
  await rm(job.home, { recursive: true, force: true });
  const { stdout, stderr } = await execFileAsync('/usr/bin/time', ['-f', TIME_FORMAT, process.execPath, ...childNodeFlags(), '--import', 'tsx', fileURLToPath(import.meta.url), CHILD_FLAG, JSON.stringify(job)], { maxBuffer: 16 * 1024 * 1024 });
  const inner = /^bench-seconds=([\d.]+)$/m.exec(stdout);
  const wall = /^bench-wall=([\d.]+)$/m.exec(stdout);
  const note = /^bench-note=(.*)$/m.exec(stdout)?.[1];
  await rm(job.home, { recursive: true, force: true });
  return { label: '', seconds: Number(inner?.[1]), wallSeconds: Number(wall?.[1] ?? inner?.[1]), ...gnuTime(stderr), ...(note ? { note } : {}) };
}

/** The measured process: a pull into a fresh vault, or a preview of the local file with the key. */
async function childMain(job: ChildJob): Promise<void> {
  const processStart = performance.now() - process.uptime() * 1000;
  const core = await createCore({ home: job.home, secretStore: new MemorySecretStore('bench') });
  try {
    await core.vault.init();
    const started = performance.now();
    if (job.mode === 'pull') {
      const installation = await core.registry.add(job.installation!);
      const record = await core.jobs.wait(startPull(core, installation, job.remoteId!).id);
      if (record.status !== 'succeeded') throw new Error(`pull ${record.status}: ${record.error?.message}`);
      const result = record.result as { checks: { name: string; ok: boolean }[]; sizeBytes: number };
      console.log(`bench-note=${result.checks.filter((c) => c.ok).map((c) => c.name).join(', ')}`);
    } else {
      core.sessionKeys.provide(`encryption-key:${PROFILE}`, job.keyHex!);
      const controller = new AbortController();
      const report: PreviewReport = await previewArchive(core, { source: { path: job.file! } }, { signal: controller.signal, progress: () => undefined, log: () => undefined });
      if (!report.integrity.ok) throw new Error(`preview not ok: ${JSON.stringify(report.integrity.checks)}`);
      console.log(`bench-note=${report.integrity.checks.length} checks ok; ${report.contents.rows.length} TOC rows`);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`bench-seconds=${seconds.toFixed(3)}`);
    console.log(`bench-wall=${((performance.now() - processStart) / 1000).toFixed(3)}`);
  } finally {
    await core.close();
  }
}

/** The cached backup: a real pg_dump of ~TARGET_BYTES, encrypted as DBackup does, with its sidecar. */
async function ensureBackup(): Promise<Backup> {
  const dir = path.join(CACHE, 'storage');
  const at = new Date('2026-11-24T02:00:00Z');
  const fileName = dbackupFileName(JOB, at, 'sql', null, true);
  const relative = `${JOB}/${fileName}`;
  const file = path.join(dir, relative);
  const keyFile = path.join(CACHE, 'master.key');
  if (existsSync(file) && existsSync(`${file}.meta.json`) && existsSync(keyFile) && Math.abs(statSync(file).size - TARGET_BYTES) < TARGET_BYTES * 0.2) {
    return { dir, relative, file, keyHex: (await readFile(keyFile, 'utf8')).trim() };
  }
  console.log(`dbackup-pull: making a ${(TARGET_BYTES / 1024 ** 2).toFixed(0)} MiB pg_dump once (cached in ${CACHE})…`);
  await mkdir(path.dirname(file), { recursive: true });
  const dump = path.join(CACHE, 'bench.dump');
  const postgres = await startPostgres();
  try {
    const rows = Math.ceil(TARGET_BYTES / ROW_BYTES);
    await postgres.psql(`CREATE DATABASE bench;`);
    await postgres.psql(`CREATE TABLE events (id bigserial PRIMARY KEY, payload text NOT NULL); INSERT INTO events (payload) SELECT repeat(md5(g::text || random()::text), 32) FROM generate_series(1, ${rows}) g;`, 'bench');
    await execFileAsync(`${BIN}/pg_dump`, ['-F', 'c', '-Z', '0', '-f', dump, `--dbname=${postgres.connectionString('bench')}`]);
  } finally {
    await postgres.stop();
  }
  const key = randomBytes(32);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  const tee = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sha256.update(chunk);
      md5.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(createReadStream(dump), cipher, tee, createWriteStream(`${file}.partial`));
  const sidecar = {
    version: 1, jobId: 'job-benchdb', jobName: JOB, sourceName: 'Bench Postgres', sourceType: 'postgres', sourceId: 'src-bench',
    databases: { count: 1, names: ['bench'] }, engineVersion: '15', timestamp: at.toISOString(), originalFileName: fileName,
    encryption: { enabled: true, profileId: PROFILE, algorithm: 'aes-256-gcm', iv: iv.toString('hex'), authTag: cipher.getAuthTag().toString('hex') },
    checksum: sha256.digest('hex'), checksumMd5: md5.digest('hex'), backupType: 'full', trigger: { type: 'Scheduler' }, locked: false,
  };
  await writeFile(`${file}.meta.json`, sidecarText(sidecar));
  await rename(`${file}.partial`, file);
  await writeFile(keyFile, key.toString('hex'), { mode: 0o600 });
  await rm(dump, { force: true });
  return { dir, relative, file, keyHex: key.toString('hex') };
}

const at = process.argv.indexOf(CHILD_FLAG);
if (at >= 0) {
  childMain(JSON.parse(process.argv[at + 1]!) as ChildJob).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
