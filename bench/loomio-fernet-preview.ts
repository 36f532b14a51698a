/**
 * Benchmark: previewing a 1 GiB Loomio backup (one Fernet token of a plain `pg_dump -F p`
 * script, one base64url line) — HMAC verified, decrypted and read for its COPY row counts as it
 * streams — against `openssl` doing the same cryptographic work on the same bytes, in the same run:
 * `openssl dgst -sha256 -mac HMAC` over the signed part of the token and `openssl enc -d
 * -aes-128-cbc` over its ciphertext (both given the decoded binary, so openssl does no base64).
 *
 * The backup is made once and reused (cache dir below): a real PostgreSQL 15 database, a real
 * `pg_dump -F p --no-owner --no-acl` piped into Lifeboat's Fernet encryptor with a key derived as
 * backup.py derives it; the decoded token is split into `signed.bin` and `cipher.bin` for openssl.
 *
 * Ours is the module's own preview (`loomioModule.format.preview`: PBKDF2 of the passphrase, then
 * one streaming pass over the file as a local-file preview reads it) in a child Node process, so
 * GNU time (`%M`) sees its memory alone; it prints its in-process time. The child runs this file
 * bundled by esbuild (dist/bench/, node_modules external), as Lifeboat ships its core
 * (dist/main/cli.js), not through tsx: tsx's on-the-fly transpiling of the sources cost about a
 * second of start-up per run, which the whole-process figure counted against us.
 * Targets: ≥ 0.8× the combined throughput of the two openssl runs (ours ≤ 1.25× their summed
 * time); peak RSS < 300 MB.
 *
 * Env: LOOMIO_BENCH_DIR (cache, default $TMPDIR/lifeboat-bench-loomio), LOOMIO_BENCH_BYTES (token
 * size target, default 1 GiB), LOOMIO_BENCH_RUNS (default 5: a loaded machine makes single runs noisy).
 */
import { execFile, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { deriveFernetKey, fernetEncryptStream } from '../src/main/formats/fernet';
import { loomioModule } from '../src/main/apps/loomio';
import { LOOMIO_KDF } from '../src/main/apps/loomio/key';
import { formatContext } from '../test/harness/format-context';
import { startPostgres } from '../test/harness/postgres';
import { measureCommand, type Measurement } from './lib/measure';

const BIN = '/usr/lib/postgresql/15/bin';
const CACHE = process.env.LOOMIO_BENCH_DIR ?? path.join(tmpdir(), 'lifeboat-bench-loomio');
const TARGET_BYTES = Number(process.env.LOOMIO_BENCH_BYTES ?? 1024 ** 3);
const RUNS = Number(process.env.LOOMIO_BENCH_RUNS ?? 5);
const CHILD_FLAG = '--loomio-bench-child';
/** COPY text of one row of `comments`: id, tabs, ~1 KiB body, a timestamp, newline. */
const ROW_BYTES = 1070;
/** A bench-only BACKUP_ENCRYPTION_KEY (64 hex characters, as the stack's .env holds). */
const PASSPHRASE = 'b3f1c0de5eed0000b3f1c0de5eed0000b3f1c0de5eed0000b3f1c0de5eed0000';
const execFileAsync = promisify(execFile);

interface Made {
  token: string;
  signed: string;
  cipher: string;
  rows: number;
  signingHex: string;
  encryptionHex: string;
  ivHex: string;
  hmacHex: string;
}

/** Runs the benchmark and prints the table and the ratios against openssl from the same run. */
export async function run(): Promise<void> {
  const made = await ensureBackup();
  const tokenBytes = statSync(made.token).size;
  const cipherBytes = statSync(made.cipher).size;
  console.log(`loomio-fernet-preview: ${(tokenBytes / 1024 ** 3).toFixed(3)} GiB Fernet token (one base64url line), ${(cipherBytes / 1024 ** 2).toFixed(0)} MiB of AES-128-CBC ciphertext, ${made.rows} COPY rows (${CACHE})`);
  console.log(`warm page cache, best of ${RUNS} runs; peak RSS of the measured process (GNU time %M)\n`);

  // The anchors must do the work ours does: their HMAC is the token's.
  const { stdout: mac } = await execFileAsync('openssl', ['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${made.signingHex}`, made.signed]);
  if (!mac.trim().endsWith(made.hmacHex)) throw new Error(`openssl's HMAC (${mac.trim()}) is not the token's (${made.hmacHex}): the anchor does not check the same bytes`);

  const rows: Measurement[] = [];
  const time = ['/usr/bin/time', '-f', '%M'];
  rows.push(await measureCommand('openssl dgst -sha256 -mac HMAC  [signed part]', [...time, 'openssl', 'dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${made.signingHex}`, made.signed], { runs: RUNS }));
  rows.push(await measureCommand('openssl enc -d -aes-128-cbc     [ciphertext]', [...time, 'openssl', 'enc', '-d', '-aes-128-cbc', '-K', made.encryptionHex, '-iv', made.ivHex, '-in', made.cipher, '-out', '/dev/null'], { runs: RUNS }));
  rows.push(await measureCommand('cat > /dev/null (I/O floor)     [token]', [...time, 'sh', '-c', `cat '${made.token}' > /dev/null`], { runs: RUNS }));
  const ours = await measureCommand('ours: preview (verify+decrypt+COPY counts) [token]', [...time, process.execPath, await bundledChild(), CHILD_FLAG, made.token, String(made.rows)], { runs: RUNS });
  rows.push(ours);

  console.log(`${'measurement'.padEnd(52)} ${'time'.padStart(9)} ${'process'.padStart(9)} ${'peak RSS'.padStart(9)} ${'MiB/s'.padStart(7)}`);
  for (const r of rows) {
    console.log(`${r.label.padEnd(52)} ${r.seconds.toFixed(3).padStart(7)} s ${r.wallSeconds.toFixed(3).padStart(7)} s ${r.peakRssMb.toFixed(0).padStart(6)} MB ${(cipherBytes / 1024 ** 2 / r.seconds).toFixed(0).padStart(7)}`);
  }
  console.log('(time: ours = the preview alone, in-process, PBKDF2 included; tools = whole process; process = whole process, ours bundled as the core ships. MiB/s: ciphertext bytes per second)');

  const [hmac, aes] = rows as [Measurement, Measurement];
  const combined = hmac.seconds + aes.seconds;
  const ratio = combined / ours.seconds;
  const wallRatio = (hmac.wallSeconds + aes.wallSeconds) / ours.wallSeconds;
  console.log('\nratio (ours / openssl HMAC + AES combined; target ≥ 0.8× throughput, peak RSS < 300 MB):');
  console.log(`  throughput: ${ratio.toFixed(2)}× of openssl's combined (${(cipherBytes / 1024 ** 2 / combined).toFixed(0)} MiB/s) — whole process ${wallRatio.toFixed(2)}× — ${ratio >= 0.8 ? 'MET' : 'MISSED'}`);
  console.log(`  our peak RSS: ${ours.peakRssMb.toFixed(0)} MB (whole Node process) — ${ours.peakRssMb < 300 ? 'MET' : 'MISSED'}`);
}

/** This file bundled for the child (in the repository's dist/, so node_modules resolve from it). */
async function bundledChild(): Promise<string> {
  const here = fileURLToPath(import.meta.url);
  const outfile = path.join(path.dirname(path.dirname(here)), 'dist', 'bench', 'loomio-fernet-preview.mjs');
  // Imported here, not at the top: the child is this file too, and need not load esbuild.
  const { build } = await import('esbuild');
  await build({ entryPoints: [here], outfile, bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', logLevel: 'warning' });
  return outfile;
}

/** The module's preview of the token file, as a local-file preview opens it; prints its time and checks what it read. */
async function child(file: string, expectedRows: number): Promise<void> {
  const info = statSync(file);
  const step = { signal: new AbortController().signal, progress: () => undefined, log: () => undefined };
  const started = performance.now();
  const report = await loomioModule.format.preview!(
    { fileName: path.basename(file), size: info.size, mtime: info.mtime, sidecars: [], open: async () => createReadStream(file) },
    formatContext(step, { 'backup-encryption-key': PASSPHRASE }),
  );
  const seconds = (performance.now() - started) / 1000;
  const rows = report.contents.rows.reduce((sum, r) => sum + Number(r.rows), 0);
  if (!report.integrity.ok || rows !== expectedRows) throw new Error(`the preview did not read the backup whole: integrity ${report.integrity.ok}, ${rows} rows (expected ${expectedRows}): ${JSON.stringify(report.integrity.checks)}`);
  console.log(`bench-seconds=${seconds.toFixed(4)}`);
  console.log(`rows=${rows} tables=${report.contents.rows.length}`);
}

/** Makes the backup once (a few minutes on 2 cores) and reuses it. */
async function ensureBackup(): Promise<Made> {
  const meta = path.join(CACHE, 'made.json');
  if (existsSync(meta)) {
    const made = JSON.parse(readFileSync(meta, 'utf8')) as Made & { targetBytes: number };
    if (made.targetBytes === TARGET_BYTES && [made.token, made.signed, made.cipher].every((f) => existsSync(f))) return made;
  }
  await rm(CACHE, { recursive: true, force: true });
  await mkdir(CACHE, { recursive: true });
  const bulkRows = Math.ceil((TARGET_BYTES * 3) / 4 / ROW_BYTES);
  console.log(`making the benchmark backup (${bulkRows} bulk rows) in ${CACHE} …`);
  const token = path.join(CACHE, 'loomio-manual-20261203-120000-bench.sql.enc');
  const key = await deriveFernetKey(PASSPHRASE, LOOMIO_KDF);
  const pg = await startPostgres();
  const rows = 5000 + 50 + 2000 + 400 + bulkRows;
  try {
    await pg.psql('CREATE DATABASE loomio_production;');
    await pg.psql(`
      CREATE TABLE public.users (id bigint PRIMARY KEY, email text, name text, created_at timestamptz);
      CREATE TABLE public.groups (id bigint PRIMARY KEY, name text, handle text, created_at timestamptz);
      CREATE TABLE public.discussions (id bigint PRIMARY KEY, group_id bigint, title text, description text, created_at timestamptz);
      CREATE TABLE public.comments (id bigint PRIMARY KEY, discussion_id bigint, body text, created_at timestamptz);
      CREATE TABLE public.schema_migrations (version text PRIMARY KEY);
      INSERT INTO public.users SELECT g, 'user' || g || '@example.org', 'User ' || g, now() FROM generate_series(1, 5000) g;
      INSERT INTO public.groups SELECT g, 'Group ' || g, 'group-' || g, now() FROM generate_series(1, 50) g;
      INSERT INTO public.discussions SELECT g, 1 + g % 50, 'Discussion ' || g, repeat('words ', 20), now() FROM generate_series(1, 2000) g;
      INSERT INTO public.schema_migrations SELECT '2025' || lpad(g::text, 10, '0') FROM generate_series(1, 400) g;
      INSERT INTO public.comments SELECT g, 1 + g % 2000, md5(random()::text) || repeat(md5(g::text), 31) || E'\\t' || 'tab and ünïcödé', now() FROM generate_series(1, ${bulkRows}) g;`, 'loomio_production');
    const dump = spawn(`${BIN}/pg_dump`, ['-F', 'p', '--no-owner', '--no-acl', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', 'loomio_production'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => dump.on('close', resolve));
    await pipeline(dump.stdout, fernetEncryptStream(key), createWriteStream(`${token}.part`));
    if ((await exited) !== 0) throw new Error('pg_dump failed');
    await rename(`${token}.part`, token);
  } finally {
    await pg.stop();
  }

  // The decoded token, split for openssl: version ‖ time ‖ IV ‖ ciphertext is what the HMAC signs.
  const binary = path.join(CACHE, 'token.bin');
  await pipeline(createReadStream(token, { highWaterMark: 4 * 1024 * 1024 }), base64urlDecoder(), createWriteStream(binary));
  const size = statSync(binary).size;
  const signed = path.join(CACHE, 'signed.bin');
  const cipher = path.join(CACHE, 'cipher.bin');
  await pipeline(createReadStream(binary, { start: 0, end: size - 33 }), createWriteStream(signed));
  await pipeline(createReadStream(binary, { start: 25, end: size - 33 }), createWriteStream(cipher));
  const head = await readRange(binary, 0, 25);
  const tail = await readRange(binary, size - 32, size);
  await rm(binary);
  const made: Made = { token, signed, cipher, rows, signingHex: key.signing.toString('hex'), encryptionHex: key.encryption.toString('hex'), ivHex: head.subarray(9, 25).toString('hex'), hmacHex: tail.toString('hex') };
  await writeFile(meta, JSON.stringify({ ...made, targetBytes: TARGET_BYTES }));
  return made;
}

/** Base64url text to bytes, four characters at a time across chunk boundaries. */
function base64urlDecoder(): Transform {
  let carry = '';
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const text = carry + chunk.toString('latin1');
      const whole = text.length - (text.length % 4);
      carry = text.slice(whole);
      done(null, Buffer.from(text.slice(0, whole), 'base64url'));
    },
    flush(done) {
      done(null, Buffer.from(carry, 'base64url'));
    },
  });
}

async function readRange(file: string, start: number, end: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file, { start, end: end - 1 })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const at = process.argv.indexOf(CHILD_FLAG);
  const job = at >= 0 ? child(process.argv[at + 1] as string, Number(process.argv[at + 2])) : run();
  job.catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
