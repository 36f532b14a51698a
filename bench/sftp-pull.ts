/**
 * Benchmark: pulling one large random file over SFTP from a real local sshd with Lifeboat's
 * pipelined reader against OpenSSH's own `sftp -b` (`get file /dev/null`), same file, same server,
 * same run. Both write to /dev/null so only the transfer is measured.
 *
 * Each measurement is a separate process under GNU time (peak RSS, user+system CPU); ours runs in
 * a child Node process (`--sftp-bench-child`) and reports its in-process transfer time as well as
 * the whole-process wall time (which, like `sftp`'s, includes start-up and the SSH handshake).
 * OpenSSH's client defaults to chacha20-poly1305 while ssh2 picks aes128-gcm, so sftp is also
 * run with `-c aes128-gcm@openssh.com`. Client CPU seconds are shown because wall time on a shared
 * machine is noisy. Several (chunk size × requests in flight) settings are shown for ours; the
 * first of them is the default.
 *
 * Env: SFTP_BENCH_BYTES (default 1 GiB), SFTP_BENCH_RUNS (default 2, best of).
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { connectSsh } from '../src/main/transport/ssh/client';
import { startSshd } from '../test/harness/sshd';
import type { TestSshd } from '../test/harness/sshd';

const BYTES = Number(process.env.SFTP_BENCH_BYTES ?? 1024 ** 3);
const RUNS = Number(process.env.SFTP_BENCH_RUNS ?? 2);
const CHILD_FLAG = '--sftp-bench-child';
const execFileAsync = promisify(execFile);

/** Settings tried for our reader: [chunk bytes, requests in flight]; the first is the default. */
const SETTINGS: Array<[number | undefined, number | undefined]> = [
  [undefined, undefined],
  [64 * 1024, 32],
  [64 * 1024, 64],
  [255 * 1024, 8],
];

interface Measurement {
  label: string;
  /** Transfer only (ours) or whole process (sftp), in ms. */
  ms: number;
  processMs: number;
  peakRssKiB: number;
  /** User + system CPU of the client process, in seconds. */
  cpuS: number;
}

/** Runs the benchmark and prints a table with the ratio to OpenSSH sftp. */
export async function run(): Promise<void> {
  const sshd = await startSshd();
  try {
    const file = path.join(sshd.dir, 'big.bin');
    console.log(`Making ${(BYTES / 1024 ** 2).toFixed(0)} MiB of random data on the server side…`);
    await execFileAsync('sh', ['-c', `head -c ${BYTES} /dev/urandom > '${file}' && cat '${file}' > /dev/null`]);
    await chmod(file, 0o644);

    const rows: Measurement[] = [];
    rows.push(await best('OpenSSH sftp -b (get → /dev/null)', () => opensshPull(sshd, file, [])));
    rows.push(await best('OpenSSH sftp -c aes128-gcm (same cipher)', () => opensshPull(sshd, file, ['-c', 'aes128-gcm@openssh.com'])));
    for (const [chunk, inFlight] of SETTINGS) {
      const label = `Lifeboat SFTP ${chunk ? `${chunk / 1024} KiB × ${inFlight}` : 'default (255 KiB × 16)'}`;
      rows.push(await best(label, () => ourPull(sshd, file, chunk, inFlight)));
    }

    // What the child costs before any transfer: Node + tsx + ssh2 + one connection.
    const baseline = await ourPull(sshd, file, undefined, undefined, true);

    const anchor = rows[0] as Measurement;
    const mbps = (ms: number): string => (BYTES / 1e6 / (ms / 1000)).toFixed(0);
    console.log(`\n${'measurement'.padEnd(42)} ${'transfer'.padStart(9)} ${'MB/s'.padStart(6)} ${'process'.padStart(9)} ${'MB/s'.padStart(6)} ${'vs sftp'.padStart(8)} ${'client CPU'.padStart(10)} ${'peak RSS'.padStart(9)}`);
    for (const r of rows) {
      console.log(
        `${r.label.padEnd(42)} ${`${(r.ms / 1000).toFixed(2)} s`.padStart(9)} ${mbps(r.ms).padStart(6)} ${`${(r.processMs / 1000).toFixed(2)} s`.padStart(9)} ${mbps(r.processMs).padStart(6)} ${`${(anchor.processMs / r.processMs).toFixed(2)}×`.padStart(8)} ${`${r.cpuS.toFixed(2)} s`.padStart(10)} ${`${(r.peakRssKiB / 1024).toFixed(0)} MiB`.padStart(9)}`,
      );
    }
    console.log(`Lifeboat child without a transfer (Node + tsx + connect): peak RSS ${(baseline.peakRssKiB / 1024).toFixed(0)} MiB, so the pull itself adds about ${((rows[2] as Measurement).peakRssKiB / 1024 - baseline.peakRssKiB / 1024).toFixed(0)} MiB.`);
    console.log('(transfer: Lifeboat = the SFTP read alone, in-process; sftp = whole process. process: whole-process wall time incl. start-up and handshake; vs sftp = process-time speed relative to OpenSSH, >1 is faster)');
  } finally {
    await sshd.stop();
  }
}

async function best(label: string, measure: () => Promise<Omit<Measurement, 'label'>>): Promise<Measurement> {
  let winner: Measurement | null = null;
  for (let i = 0; i < RUNS; i++) {
    const m = { label, ...(await measure()) };
    if (!winner || m.processMs < winner.processMs) winner = m;
  }
  return winner as Measurement;
}

async function opensshPull(sshd: TestSshd, file: string, extra: string[]): Promise<Omit<Measurement, 'label'>> {
  const knownHosts = path.join(sshd.dir, 'bench_known_hosts');
  const batch = path.join(sshd.dir, 'bench.batch');
  await writeFile(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`);
  await writeFile(batch, `get ${file} /dev/null\n`);
  const args = ['-q', ...extra, '-b', batch, '-i', sshd.clientKeyPath, '-P', String(sshd.port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${sshd.user}@127.0.0.1`];
  const started = performance.now();
  const { stderr } = await execFileAsync('/usr/bin/time', ['-f', TIME_FORMAT, 'sftp', ...args]);
  const processMs = performance.now() - started;
  return { ms: processMs, processMs, ...timeFigures(stderr) };
}

async function ourPull(sshd: TestSshd, file: string, chunk: number | undefined, inFlight: number | undefined, connectOnly = false): Promise<Omit<Measurement, 'label'>> {
  const child = [process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), CHILD_FLAG, String(sshd.port), sshd.user, sshd.clientKeyPath, sshd.hostKeyFingerprint, file, String(chunk ?? ''), String(inFlight ?? ''), connectOnly ? 'connect-only' : 'pull'];
  const started = performance.now();
  const { stdout, stderr } = await execFileAsync('/usr/bin/time', ['-f', TIME_FORMAT, ...child], { maxBuffer: 1024 * 1024 });
  const processMs = performance.now() - started;
  const result = JSON.parse(stdout.trim().split('\n').pop() as string) as { ms: number; bytes: number };
  if (result.bytes !== (connectOnly ? 0 : BYTES)) throw new Error(`pulled ${result.bytes} bytes, expected ${BYTES}`);
  return { ms: result.ms, processMs, ...timeFigures(stderr) };
}

const TIME_FORMAT = '%M %U %S';

/** Peak RSS (KiB) and user+system CPU from GNU time's last stderr line. */
function timeFigures(timeStderr: string): { peakRssKiB: number; cpuS: number } {
  const [rss, user, sys] = (timeStderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  if (rss === undefined || user === undefined || sys === undefined || [rss, user, sys].some((n) => !Number.isFinite(n))) {
    throw new Error(`unexpected GNU time output: ${timeStderr}`);
  }
  return { peakRssKiB: rss, cpuS: user + sys };
}

/** The child: connect, stream the file to /dev/null, print {ms, bytes}. */
async function child(args: string[]): Promise<void> {
  const [port, user, keyFile, fingerprint, file, chunk, inFlight, mode] = args as [string, string, string, string, string, string, string, string];
  const session = await connectSsh({ host: '127.0.0.1', port: Number(port), user, auth: 'key', keyFile, hostKeySha256: fingerprint }, { sshConfigFile: null, knownHostsFiles: [] });
  try {
    const started = performance.now();
    const stream = await session.createReadStream(file, {
      ...(chunk ? { chunkSize: Number(chunk) } : {}),
      ...(inFlight ? { concurrency: Number(inFlight) } : {}),
      ...(mode === 'connect-only' ? { length: 0 } : {}),
    });
    let bytes = 0;
    stream.on('data', (c: Buffer) => (bytes += c.length));
    await pipeline(stream, createWriteStream('/dev/null'));
    console.log(JSON.stringify({ ms: performance.now() - started, bytes }));
  } finally {
    await session.close();
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const at = process.argv.indexOf(CHILD_FLAG);
  await (at >= 0 ? child(process.argv.slice(at + 1)) : run());
}
