/**
 * Benchmark: a whole Weavestream pull — `weavestreamAdapter.openPull` over SFTP from a real local
 * sshd, every byte through the streaming verifier (SHA-256, PGDMP header, TOC, data-block walk)
 * and into a fresh Lifeboat vault (`Vault.addArchive`: chunking, encryption, packs on disk) —
 * against OpenSSH `sftp -b` copying the same dump to a file on the same disk, same run.
 *
 * The dump is a real `pg_dump -Fc -Z0` of ~1 GiB, its stdout piped like Weavestream's worker,
 * with a manifest sidecar by Weavestream's rules, in `~/<dir>/data/backup` of the sshd test user.
 * Each measurement is a separate process under GNU time (peak RSS); ours also reports its
 * in-process pull time (without Node + tsx start-up, SSH handshake included). Two more anchors
 * do the same storing work with restic: `ssh … cat | restic backup --stdin` (transfer + store),
 * and restic storing the local file (no network at all), which bounds what any pull can reach.
 * The product row runs the built `lifeboat pull` CLI with its vault password in the keychain.
 *
 * Env: SFTP_VAULT_BENCH_DIR (cache, default $TMPDIR/lifeboat-bench-sftp-vault),
 * SFTP_VAULT_BENCH_BYTES (target dump size, default 1 GiB), SFTP_VAULT_BENCH_RUNS (default 2, best of),
 * BENCH_CHILD_NODE_FLAGS (extra Node flags for the measured process, e.g. `--cpu-prof`).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { MemorySecretStore, createCore } from '../src/main/core';
import { createAdapterContext } from '../src/main/apps/context';
import { weavestreamModule } from '../src/main/apps/weavestream';
import { serializeWeavestreamManifest } from '../src/main/apps/weavestream/manifest';
import { LocalBackend, Vault } from '../src/main/vault';
import type { IntegrityCheck } from '../src/shared/apps';
import type { InstallationInput } from '../src/shared/installations';
import { startPostgres } from '../test/harness/postgres';
import { runTool, startSshd, type TestSshd } from '../test/harness/sshd';
import { childNodeFlags, cliPull } from './lib/cli-pull';
import { bestOf, type Measurement } from './lib/measure';
import { pipeIntoRestic } from './lib/restic';

const BIN = '/usr/lib/postgresql/15/bin';
const CACHE = process.env.SFTP_VAULT_BENCH_DIR ?? path.join(tmpdir(), 'lifeboat-bench-sftp-vault');
const TARGET_BYTES = Number(process.env.SFTP_VAULT_BENCH_BYTES ?? 1024 ** 3);
const RUNS = Number(process.env.SFTP_VAULT_BENCH_RUNS ?? 2);
const CHILD_FLAG = '--sftp-vault-bench-child';
/** COPY text of one row: id, tab, 1024 characters, newline (about). */
const ROW_BYTES = 1034;
const DUMP_NAME = 'weavestream-postgres-2026-11-23T03-00-00Z.dump';
const execFileAsync = promisify(execFile);


/** What the child process needs to pull. */
interface ChildJob {
  installation: InstallationInput;
  vaultDir: string;
  home: string;
}

/** Runs the benchmark and prints both figures and the ratio. */
export async function run(): Promise<void> {
  const dump = await ensureDump();
  const size = statSync(dump.file).size;
  const mib = size / 1024 ** 2;
  console.log(`sftp-pull-vault: ${mib.toFixed(0)} MiB pg_dump -Fc -Z0 (piped), best of ${RUNS}; peak RSS of the measured process (GNU time %M)`);
  const sshd = await startSshd();
  const work = path.join(CACHE, 'work');
  const remoteDir = path.join(sshd.homeDir, `bench-weavestream-${process.pid}`);
  try {
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    await stageRemote(sshd, dump, remoteDir);
    const installation: InstallationInput = {
      name: 'bench',
      app: 'weavestream',
      ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint },
      settings: { composeDir: remoteDir },
    };
    const remoteFile = path.join(remoteDir, 'data', 'backup', DUMP_NAME);
    const rows: Measurement[] = [];
    rows.push(await bestOf('OpenSSH sftp -b get → file', RUNS, () => opensshPull(sshd, remoteFile, path.join(work, 'sftp-copy.dump'))));
    rows.push(await bestOf('restic backup (off), local file, no net', RUNS, () => resticLocal(dump.file, path.join(work, 'restic-local'))));
    rows.push(
      await bestOf('ssh cat | restic backup --stdin (off)', RUNS, () =>
        pipeIntoRestic(['ssh', '-i', sshd.clientKeyPath, '-p', String(sshd.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `${sshd.user}@127.0.0.1`, 'cat', remoteFile], path.join(work, 'restic-repo'), DUMP_NAME, CACHE),
      ),
    );
    rows.push(await bestOf('Lifeboat openPull → verifier → vault', RUNS, () => ourPull({ installation, vaultDir: path.join(work, 'vault'), home: path.join(work, 'home') })));
    rows.push(
      await bestOf('lifeboat pull (built CLI, keychain)', RUNS, () =>
        cliPull(path.join(work, 'cli-home'), 'bench', async (lifeboat) => {
          await lifeboat(['installations', 'add', '--name', 'bench', '--app', 'weavestream', '--ssh-host', '127.0.0.1', '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-auth', 'key', '--ssh-key', sshd.clientKeyPath, '--setting', `composeDir=${remoteDir}`]);
          await lifeboat(['installations', 'test', 'bench', '--trust-fingerprint', sshd.hostKeyFingerprint]);
          await lifeboat(['vault', 'init']);
          return undefined;
        }),
      ),
    );

    console.log(`\n${'measurement'.padEnd(40)} ${'time'.padStart(9)} ${'MB/s'.padStart(7)} ${'process'.padStart(9)} ${'peak RSS'.padStart(9)}`);
    for (const r of rows) {
      console.log(`${r.label.padEnd(40)} ${r.seconds.toFixed(2).padStart(7)} s ${(mib / r.seconds).toFixed(0).padStart(7)} ${r.wallSeconds.toFixed(2).padStart(7)} s ${r.peakRssMb.toFixed(0).padStart(6)} MB  ${r.note}`);
    }
    const [anchor, resticFloor, restic, ours, cli] = rows as [Measurement, Measurement, Measurement, Measurement, Measurement];
    console.log(`\nfloor: restic storing the same dump from a local file (no network, no verification) takes ${(resticFloor.wallSeconds / anchor.seconds).toFixed(2)}× the sftp copy's time; a target of ≥ 0.9× sftp needs ≤ ${(1 / 0.9).toFixed(2)}×`);
    console.log(`\nratio (sftp time / ours; target ≥ 0.9): ${(anchor.seconds / ours.seconds).toFixed(2)}× in-process, ${(anchor.wallSeconds / cli.wallSeconds).toFixed(2)}× for the whole \`lifeboat pull\` process`);
    console.log(`ratio against the same work done by OpenSSH + restic (ssh|restic time / ours): ${(restic.wallSeconds / ours.seconds).toFixed(2)}× in-process, ${(restic.wallSeconds / cli.wallSeconds).toFixed(2)}× whole CLI process`);
    console.log(`peak RSS: lifeboat pull (built CLI) ${cli.peakRssMb.toFixed(0)} MB (target < 300); from source with tsx ${ours.peakRssMb.toFixed(0)} MB; restic ${restic.peakRssMb.toFixed(0)} MB; sftp ${anchor.peakRssMb.toFixed(0)} MB`);
  } finally {
    await sshd.stop();
    await runTool('rm', ['-rf', remoteDir]);
    await rm(work, { recursive: true, force: true });
  }
}


async function opensshPull(sshd: TestSshd, remoteFile: string, localFile: string): Promise<Measurement> {
  await rm(localFile, { force: true });
  const args = ['-f', '%M', 'sftp', '-q', '-b', '-', '-i', sshd.clientKeyPath, '-P', String(sshd.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `${sshd.user}@127.0.0.1`];
  const started = performance.now();
  const stderr = await runWithInput('/usr/bin/time', args, `get ${remoteFile} ${localFile}\n`);
  const wall = (performance.now() - started) / 1000;
  const copied = statSync(localFile).size;
  await rm(localFile, { force: true });
  return { label: '', seconds: wall, wallSeconds: wall, peakRssMb: Number(stderr.trim().split('\n').at(-1)) / 1024, note: `${copied} bytes written` };
}

/** restic storing the dump from the local disk: what storing alone costs, without any network. */
async function resticLocal(file: string, repo: string): Promise<Measurement> {
  const env = { ...process.env, RESTIC_PASSWORD: 'bench-password', RESTIC_CACHE_DIR: path.join(CACHE, 'restic-cache') };
  await rm(repo, { recursive: true, force: true });
  await execFileAsync('restic', ['-r', repo, 'init', '-q', '--repository-version', '2'], { env });
  const started = performance.now();
  const { stderr } = await execFileAsync('/usr/bin/time', ['-f', '%M', 'restic', '-r', repo, 'backup', '-q', '--compression', 'off', file], { env, maxBuffer: 16 * 1024 * 1024 });
  const wall = (performance.now() - started) / 1000;
  await rm(repo, { recursive: true, force: true });
  return { label: '', seconds: wall, wallSeconds: wall, peakRssMb: Number(stderr.trim().split('\n').at(-1)) / 1024, note: 'restic peak RSS' };
}

async function ourPull(job: ChildJob): Promise<Measurement> {
  await rm(job.vaultDir, { recursive: true, force: true });
  await rm(job.home, { recursive: true, force: true });
  const started = performance.now();
  const { stdout, stderr } = await execFileAsync('/usr/bin/time', ['-f', '%M', process.execPath, ...childNodeFlags(), '--import', 'tsx', fileURLToPath(import.meta.url), CHILD_FLAG, JSON.stringify(job)], { maxBuffer: 16 * 1024 * 1024 });
  const wall = (performance.now() - started) / 1000;
  const inner = /^bench-seconds=([\d.]+)$/m.exec(stdout);
  const checks = /^checks=(.*)$/m.exec(stdout)?.[1] ?? '?';
  return { label: '', seconds: inner ? Number(inner[1]) : wall, wallSeconds: wall, peakRssMb: Number(stderr.trim().split('\n').at(-1)) / 1024, note: `verifier: ${checks}` };
}

/** Extra Node flags for the measured child (profiling); split on spaces. */
/** The measured pull, in this (child) process. */
async function child(job: ChildJob): Promise<void> {
  const core = await createCore({ home: job.home, secretStore: new MemorySecretStore('benchmark') });
  const installation = await core.registry.add(job.installation);
  // A cheap scrypt keeps key derivation (not part of a pull) out of the measurement.
  const vault = await Vault.init(new LocalBackend(job.vaultDir), 'bench-password', { scrypt: { N: 16384, r: 8, p: 1 } });
  const ctx = createAdapterContext(core, installation, { signal: new AbortController().signal, progress: () => undefined, log: () => undefined });
  try {
    const started = performance.now();
    const [newest] = await weavestreamModule.sources.list!(ctx);
    const source = await weavestreamModule.sources.open(ctx, newest!.id);
    // As the pull runner does: the verifier sees every byte; the vault hashes the whole archive on
    // its worker and hands that to the verifier before it writes a snapshot.
    const verifier = source.createVerifier();
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        verifier.write(chunk);
        callback(null, chunk);
      },
    });
    const input = (await source.open(0)).pipe(tap);
    let checks: IntegrityCheck[] = [];
    const result = await vault.addArchive({
      input, fileName: source.fileName, size: source.size ?? undefined, mtime: source.mtime, sidecars: source.sidecars, hostname: 'bench', paths: [source.groupPath],
      beforeSnapshot: async (whole) => {
        checks = await verifier.finish(whole);
        const failed = checks.filter((c) => !c.ok);
        if (failed.length > 0) throw new Error(`verifier failed: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    console.log(`bench-seconds=${seconds.toFixed(4)}`);
    console.log(`checks=${checks.length} passed, snapshot ${result.snapshotId.slice(0, 8)}, ${result.size} bytes`);
  } finally {
    await ctx.close();
    await core.close();
  }
}

/** Copies the dump and its manifest into the sshd user's `<dir>/data/backup`, owned by that user. */
async function stageRemote(sshd: TestSshd, dump: { file: string; manifest: string }, remoteDir: string): Promise<void> {
  const backupDir = path.join(remoteDir, 'data', 'backup');
  await mkdir(backupDir, { recursive: true });
  await copyFile(dump.file, path.join(backupDir, DUMP_NAME));
  await writeFile(path.join(backupDir, DUMP_NAME.replace(/\.dump$/, '.manifest.json')), await readFile(dump.manifest));
  await runTool('chown', ['-R', `${sshd.user}:`, remoteDir]);
  // Warm the page cache for both contenders alike.
  await execFileAsync('sh', ['-c', `cat '${path.join(backupDir, DUMP_NAME)}' > /dev/null`]);
}

/** Makes the piped dump and its manifest once and reuses them. */
async function ensureDump(): Promise<{ file: string; manifest: string }> {
  const file = path.join(CACHE, DUMP_NAME);
  const manifest = path.join(CACHE, DUMP_NAME.replace(/\.dump$/, '.manifest.json'));
  const marker = path.join(CACHE, 'target-bytes');
  if (existsSync(file) && existsSync(manifest) && existsSync(marker) && readFileSync(marker, 'utf8') === String(TARGET_BYTES)) return { file, manifest };
  await rm(CACHE, { recursive: true, force: true });
  await mkdir(CACHE, { recursive: true });
  const rowCount = Math.ceil(TARGET_BYTES / ROW_BYTES);
  console.log(`making a ${(TARGET_BYTES / 1024 ** 2).toFixed(0)} MiB dump (${rowCount} rows) in ${CACHE} …`);
  const pg = await startPostgres();
  try {
    await pg.psql('CREATE DATABASE weavestream;');
    await pg.psql(`CREATE TABLE public.users (id int PRIMARY KEY, email text); INSERT INTO public.users SELECT g, 'u' || g || '@example.org' FROM generate_series(1, 100) g;
      CREATE TABLE public.audit_log (id bigint, body text);
      INSERT INTO public.audit_log SELECT g, md5(random()::text) || repeat(md5(g::text), 31) FROM generate_series(1, ${rowCount}) g;`, 'weavestream');
    const dump = spawn(`${BIN}/pg_dump`, ['-Fc', '-Z0', '--no-owner', '--no-acl', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', 'weavestream'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const hash = createHash('sha256');
    let size = 0;
    const out = createWriteStream(`${file}.part`);
    dump.stdout.pipe(new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    })).pipe(out);
    const code = await new Promise<number | null>((resolve) => dump.on('close', resolve));
    await finished(out);
    if (code !== 0) throw new Error(`pg_dump exited with ${code}`);
    await rename(`${file}.part`, file);
    await writeFile(manifest, serializeWeavestreamManifest({
      weavestreamVersion: '1.9.11',
      prismaMigrationHash: `sha256:${createHash('sha256').update('bench').digest('hex')}`,
      passwordEncryptionKid: null,
      databaseUrlHostname: 'postgres',
      generatedAt: new Date().toISOString(),
      filename: DUMP_NAME,
      sizeBytes: size,
      sha256: hash.digest('hex'),
    }));
    await writeFile(marker, String(TARGET_BYTES));
  } finally {
    await pg.stop();
  }
  return { file, manifest };
}

/** Runs a command with stdin text; resolves with its stderr, rejects on a non-zero exit. */
function runWithInput(file: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr || error.message}`, { cause: error }));
      else resolve(stderr);
    });
    child.stdin?.end(input);
  });
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const at = process.argv.indexOf(CHILD_FLAG);
  const job = at >= 0 ? child(JSON.parse(process.argv[at + 1] as string) as ChildJob) : run();
  job.catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
