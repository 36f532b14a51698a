/**
 * Test helpers for the vault: run the real restic CLI against a repository (private cache dir,
 * password through the environment), copy fixture repositories, make test data.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** The restic-made fixture repositories and their passwords. */
export const RESTIC_FIXTURES = path.resolve('test/fixtures/restic');
export const FIXTURE_PASSWORD = 'restic-test-vector-password';
export const NODE_FIXTURE_PASSWORD = 'node-writer-password';
/** A cheap scrypt cost for repositories tests create (restic accepts it). */
export const TEST_SCRYPT = { N: 16384, r: 8, p: 1 };

/** A scratch folder removed by `cleanup()`. */
export interface Scratch {
  dir: string;
  cleanup(): Promise<void>;
}

/** Makes a temp folder for one test file. */
export async function makeScratch(prefix = 'lifeboat-vault-'): Promise<Scratch> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Copies a fixture repository (restic writes locks into whatever it opens). */
export async function copyFixture(name: string, into: string): Promise<string> {
  const target = path.join(into, name);
  await cp(path.join(RESTIC_FIXTURES, name), target, { recursive: true });
  return target;
}

/** Result of a restic run. */
export interface ResticRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs restic on a repository; never throws on a non-zero exit (tests assert on it). */
export function restic(repo: string, password: string, args: string[], cacheDir: string): Promise<ResticRun> {
  return new Promise((resolve, reject) => {
    execFile(
      'restic',
      ['-r', repo, ...args],
      { env: { ...process.env, RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: cacheDir, TZ: process.env.TZ ?? 'UTC' }, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** Runs restic and returns stdout, failing with its stderr on a non-zero exit. */
export async function resticOk(repo: string, password: string, args: string[], cacheDir: string): Promise<string> {
  const run = await restic(repo, password, args, cacheDir);
  if (run.code !== 0) throw new Error(`restic ${args.join(' ')} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return run.stdout;
}

/** Streams `restic dump` of one file and returns its sha256 and size. */
export function resticDumpHash(repo: string, password: string, snapshot: string, file: string, cacheDir: string): Promise<{ sha256: string; size: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('restic', ['-r', repo, 'dump', snapshot, file], { env: { ...process.env, RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: cacheDir } });
    const hash = createHash('sha256');
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      hash.update(d);
      size += d.length;
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ sha256: hash.digest('hex'), size }) : reject(new Error(`restic dump exited ${code}: ${stderr}`))));
  });
}

/** Writes `size` random bytes to a file; returns its sha256. */
export async function writeRandomFile(file: string, size: number): Promise<string> {
  const data = randomBytes(size);
  await writeFile(file, data);
  return createHash('sha256').update(data).digest('hex');
}

/** Reads a stream to its end and returns sha256 and size. */
export async function hashStream(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** sha256 of a buffer, hex. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
