/**
 * Facts about Weavestream's backup files (spec weavestream.md §1–2, §4): recognising dump and
 * sidecar names, pairing them, predicting which files Weavestream's own retention will delete,
 * and verifying a dump against its manifest in one streaming pass (size, SHA-256, PGDMP header,
 * TOC, data blocks to EOF).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { LifeboatError } from '../../../shared/errors';
import { readPgDumpToc } from '../../formats/pgdump/reader';
import type { PgDumpArchive, PgDumpProgress } from '../../formats/pgdump/types';
import { parseWeavestreamManifest } from './manifest';
import type { WeavestreamManifest } from './manifest';

const FILE_NAME = /^weavestream-postgres-(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})Z\.(dump|manifest\.json)$/;

/** Archive minor written by Weavestream's worker (pg_dump 16, `postgresql16-client`). */
export const WEAVESTREAM_ARCHIVE_MINOR = 15;

/** What a Weavestream backup file name says. */
export interface WeavestreamFileName {
  kind: 'dump' | 'manifest';
  /** The `<ts>` part, e.g. `2026-05-01T03-00-00Z`: the UTC time taken just before pg_dump started. */
  stamp: string;
  startedAt: Date;
}

/** Reads a dump or sidecar name; null for any other name (including the hidden `.tmp` of a running dump). */
export function parseWeavestreamFileName(name: string): WeavestreamFileName | null {
  const match = FILE_NAME.exec(name);
  if (!match) return null;
  const [, y, mo, d, h, mi, s, ext] = match as unknown as [string, string, string, string, string, string, string, string];
  const startedAt = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s));
  // Reject impossible dates (2026-02-31) that Date.UTC would silently roll over.
  if (startedAt.getUTCDate() !== +d || startedAt.getUTCMonth() !== +mo - 1 || +h > 23 || +mi > 59 || +s > 59) return null;
  return { kind: ext === 'dump' ? 'dump' : 'manifest', stamp: `${y}-${mo}-${d}T${h}-${mi}-${s}Z`, startedAt };
}

/** The sidecar name of a dump name (and the reverse with `dumpNameFor`). */
export function manifestNameFor(dumpName: string): string {
  return dumpName.replace(/\.dump$/, '.manifest.json');
}

/** The dump name a sidecar describes. */
export function dumpNameFor(manifestName: string): string {
  return manifestName.replace(/\.manifest\.json$/, '.dump');
}

/** A file in a listing (local readdir, SFTP). */
export interface ListedFile {
  name: string;
  size?: number;
}

/** One backup: a dump and/or its sidecar with the same `<ts>`. */
export interface WeavestreamBackupPair {
  stamp: string;
  startedAt: Date;
  dump: ListedFile | null;
  manifest: ListedFile | null;
}

/** Why a listed file is not part of a backup. */
export interface IgnoredFile {
  name: string;
  reason: 'hidden' | 'temporary' | 'not-a-weavestream-backup';
}

/**
 * Pairs each `weavestream-postgres-<ts>.dump` with `<ts>.manifest.json`, newest first. Dot-files
 * and `*.tmp` are ignored: a running (or failed — the worker never deletes it) pg_dump writes
 * `.weavestream-postgres-<ts>.dump.tmp`. A dump without sidecar or a sidecar without dump
 * (pruned, or copied half) is still listed, with the missing side null.
 */
export function pairWeavestreamFiles(files: readonly (string | ListedFile)[]): { backups: WeavestreamBackupPair[]; ignored: IgnoredFile[] } {
  const byStamp = new Map<string, WeavestreamBackupPair>();
  const ignored: IgnoredFile[] = [];
  for (const item of files) {
    const file: ListedFile = typeof item === 'string' ? { name: item } : item;
    if (file.name.startsWith('.')) {
      ignored.push({ name: file.name, reason: 'hidden' });
      continue;
    }
    if (file.name.endsWith('.tmp')) {
      ignored.push({ name: file.name, reason: 'temporary' });
      continue;
    }
    const parsed = parseWeavestreamFileName(file.name);
    if (!parsed) {
      ignored.push({ name: file.name, reason: 'not-a-weavestream-backup' });
      continue;
    }
    const pair = byStamp.get(parsed.stamp) ?? { stamp: parsed.stamp, startedAt: parsed.startedAt, dump: null, manifest: null };
    pair[parsed.kind] = file;
    byStamp.set(parsed.stamp, pair);
  }
  const backups = [...byStamp.values()].sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
  return { backups, ignored };
}

/** Lists and pairs a local backup directory (e.g. a copy of `${DATA_DIR}/backup`). */
export async function listWeavestreamBackupDir(dir: string): Promise<{ backups: WeavestreamBackupPair[]; ignored: IgnoredFile[] }> {
  const dirents = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new LifeboatError('NOT_FOUND', `Backup directory ${dir} does not exist.`, { cause: error });
    throw error;
  });
  const files: ListedFile[] = [];
  for (const dirent of dirents) {
    if (!dirent.isFile()) continue;
    const { size } = await stat(path.join(dir, dirent.name));
    files.push({ name: dirent.name, size });
  }
  return pairWeavestreamFiles(files);
}

/** A backup schedule's `retention` as stored (values may be missing or out of range). */
export interface WeavestreamRetention {
  keepLast?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
}

/** A successful run as the prune sees it. */
export interface WeavestreamRunForPrune {
  id: string;
  startedAt: Date | null;
}

const RETENTION_LIMITS = { keepLast: [3, 100], daily: [7, 365], weekly: [4, 104], monthly: [12, 120] } as const;

/**
 * Predicts Weavestream's own prune (`handlePrune` / `pickGfs`): which successful runs of one
 * schedule keep their files after the next successful run. Buckets are UTC days, ISO weeks and
 * months whatever the schedule's timezone; the newest run is always kept.
 */
export function planWeavestreamPrune(runs: readonly WeavestreamRunForPrune[], retention: WeavestreamRetention): { keep: string[]; prune: string[] } {
  const limit = (key: keyof typeof RETENTION_LIMITS): number => {
    const [fallback, max] = RETENTION_LIMITS[key];
    const value = retention[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
    return Math.min(max, Math.max(0, Math.floor(value)));
  };
  // Newest started first; a run without start time sorts last (it cannot fill a bucket anyway).
  const sorted = [...runs].sort((a, b) => (b.startedAt?.getTime() ?? -Infinity) - (a.startedAt?.getTime() ?? -Infinity));
  const keep = new Set<string>();
  if (sorted[0]) keep.add(sorted[0].id);
  for (const run of sorted.slice(0, limit('keepLast'))) keep.add(run.id);
  const buckets: [number, (d: Date) => string][] = [[limit('daily'), dayKey], [limit('weekly'), isoWeekKey], [limit('monthly'), monthKey]];
  for (const [count, key] of buckets) {
    if (count <= 0) continue;
    const seen = new Set<string>();
    for (const run of sorted) {
      if (!run.startedAt) continue;
      const bucket = key(run.startedAt);
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      keep.add(run.id);
      if (seen.size >= count) break;
    }
  }
  return { keep: sorted.filter((r) => keep.has(r.id)).map((r) => r.id), prune: sorted.filter((r) => !keep.has(r.id)).map((r) => r.id) };
}

function dayKey(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function monthKey(d: Date): string {
  return d.toISOString().slice(0, 7);
}

/** `YYYY-Www`, Monday-based ISO week with the ISO week-year (the week's Thursday decides both). */
export function isoWeekKey(d: Date): string {
  const day = (d.getUTCDay() + 6) % 7;
  const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3));
  const year = thursday.getUTCFullYear();
  const ordinal = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / 86_400_000);
  return `${year}-W${String(Math.floor(ordinal / 7) + 1).padStart(2, '0')}`;
}

/** One named check of a verification. */
export interface VerifyCheck {
  name: 'manifest' | 'filename' | 'size' | 'sha256' | 'header' | 'archive-version' | 'toc' | 'data';
  ok: boolean;
  detail: string;
}

/** What `verifyWeavestreamDump` found. */
export interface WeavestreamVerifyResult {
  ok: boolean;
  checks: VerifyCheck[];
  /** The parsed archive with per-table sizes, when header, TOC and data walk all passed. */
  archive: PgDumpArchive | null;
  sizeBytes: number;
  sha256: string;
}

/** Options of the verify functions. */
export interface VerifyOptions {
  signal?: AbortSignal;
  onProgress?: (progress: { phase: string; bytes: number; total: number | null }) => void;
  /**
   * Archive minor the dump must have. Default: any the reader supports — Weavestream ships
   * pg_dump 16 (1.15), but a worker image built on another client writes another version, and the
   * sample dumps are 1.14; the `archive-version` check always says which one was found.
   */
  expectArchiveMinor?: number;
}

/**
 * Verifies a dump file against its manifest in one read: size and SHA-256 equal the manifest,
 * the file is a PGDMP custom archive the reader supports, the TOC parses, and the data blocks
 * run exactly to EOF. Never throws for a bad dump (see `assertWeavestreamVerified`); throws
 * NOT_FOUND for a missing file and CANCELLED on abort.
 */
export async function verifyWeavestreamDump(dumpPath: string, manifest: WeavestreamManifest, options: VerifyOptions = {}): Promise<WeavestreamVerifyResult> {
  const checks: VerifyCheck[] = [];
  const name = path.basename(dumpPath);
  checks.push(name === manifest.filename
    ? { name: 'filename', ok: true, detail: `${name} is the file the manifest describes` }
    : { name: 'filename', ok: false, detail: `the manifest describes ${manifest.filename}, not ${name}` });

  const hash = createHash('sha256');
  let hashed = 0;
  const onChunk = (chunk: Buffer): void => {
    hash.update(chunk);
    hashed += chunk.length;
  };
  let archive: PgDumpArchive | null = null;
  let failure: LifeboatError | null = null;
  try {
    archive = await readPgDumpToc(dumpPath, { scanData: true, onChunk, signal: options.signal, onProgress: relayProgress(options.onProgress) });
  } catch (error) {
    if (!(error instanceof LifeboatError) || error.code !== 'ARCHIVE_INVALID') throw error;
    failure = error;
  }
  // The reader stops at the first fault; hash the rest so size and SHA-256 are still judged.
  if (failure) await hashRest(dumpPath, hashed, (chunk) => onChunk(chunk), options.signal);
  const sha256 = hash.digest('hex');

  checks.push(hashed === manifest.sizeBytes
    ? { name: 'size', ok: true, detail: `${hashed} bytes, as the manifest says` }
    : { name: 'size', ok: false, detail: `the file has ${hashed} bytes, the manifest says ${manifest.sizeBytes}` });
  checks.push(sha256 === manifest.sha256
    ? { name: 'sha256', ok: true, detail: 'SHA-256 matches the manifest' }
    : { name: 'sha256', ok: false, detail: `SHA-256 is ${sha256}, the manifest says ${manifest.sha256}` });
  checks.push(...archiveChecks(archive, failure, options.expectArchiveMinor));
  return { ok: checks.every((c) => c.ok), checks, archive, sizeBytes: hashed, sha256 };
}

/** Reads and parses the sidecar, then verifies the dump; a bad sidecar is a failed `manifest` check. */
export async function verifyWeavestreamBackup(dumpPath: string, manifestPath: string, options: VerifyOptions = {}): Promise<WeavestreamVerifyResult> {
  let manifest: WeavestreamManifest;
  try {
    manifest = parseWeavestreamManifest(await readFile(manifestPath, 'utf8'), { source: path.basename(manifestPath) });
  } catch (error) {
    if (!(error instanceof LifeboatError)) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new LifeboatError('NOT_FOUND', `Manifest ${manifestPath} does not exist.`, { cause: error });
      throw error;
    }
    return { ok: false, checks: [{ name: 'manifest', ok: false, detail: error.message }], archive: null, sizeBytes: 0, sha256: '' };
  }
  const result = await verifyWeavestreamDump(dumpPath, manifest, options);
  return { ...result, checks: [{ name: 'manifest', ok: true, detail: `${path.basename(manifestPath)} is a valid Weavestream manifest` }, ...result.checks] };
}

/** Throws ARCHIVE_VERIFY_FAILED naming every failed check, or returns the result unchanged. */
export function assertWeavestreamVerified(result: WeavestreamVerifyResult, what = 'Weavestream dump'): WeavestreamVerifyResult {
  const failed = result.checks.filter((c) => !c.ok);
  if (failed.length === 0) return result;
  throw new LifeboatError('ARCHIVE_VERIFY_FAILED', `${what} failed verification: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}.`, {
    details: { failedChecks: failed.map((c) => c.name), checks: result.checks },
  });
}

function archiveChecks(archive: PgDumpArchive | null, failure: LifeboatError | null, expectMinor: number | undefined): VerifyCheck[] {
  if (archive) {
    const { header } = archive;
    const versionOk = expectMinor === undefined || header.versionMinor === expectMinor;
    const expected = expectMinor === undefined ? `Weavestream's pg_dump 16 writes 1.${WEAVESTREAM_ARCHIVE_MINOR}` : `required 1.${expectMinor}`;
    return [
      { name: 'header', ok: true, detail: `PGDMP custom archive, compression ${header.compression.algorithm}, dumped by pg_dump ${header.pgDumpVersion ?? '(unknown)'} from database ${header.dbname ?? '(unknown)'}` },
      { name: 'archive-version', ok: versionOk, detail: `archive version ${header.version} (${expected})` },
      { name: 'toc', ok: true, detail: `${archive.tocCount} TOC entries, ${archive.tables.length} tables` },
      { name: 'data', ok: true, detail: `${archive.entries.filter((e) => e.block).length} data blocks run exactly to byte ${archive.fileSize}` },
    ];
  }
  const phase = failure?.details?.phase;
  const message = failure?.message ?? 'not checked';
  const notChecked = (after: string): string => `not checked (${after} failed)`;
  if (phase === 'header') {
    return [
      { name: 'header', ok: false, detail: message },
      { name: 'toc', ok: false, detail: notChecked('header') },
      { name: 'data', ok: false, detail: notChecked('header') },
    ];
  }
  if (phase === 'toc') {
    return [
      { name: 'header', ok: true, detail: 'PGDMP custom archive' },
      { name: 'toc', ok: false, detail: message },
      { name: 'data', ok: false, detail: notChecked('TOC') },
    ];
  }
  return [
    { name: 'header', ok: true, detail: 'PGDMP custom archive' },
    { name: 'toc', ok: true, detail: 'TOC parsed' },
    { name: 'data', ok: false, detail: message },
  ];
}

async function hashRest(file: string, from: number, onChunk: (chunk: Buffer) => void, signal: AbortSignal | undefined): Promise<void> {
  const stream = createReadStream(file, { start: from, highWaterMark: 1024 * 1024, signal });
  try {
    for await (const chunk of stream) onChunk(chunk as Buffer);
  } catch (error) {
    if (signal?.aborted) throw new LifeboatError('CANCELLED', 'Verifying the Weavestream dump was cancelled.', { cause: error });
    throw error;
  }
}

function relayProgress(onProgress: VerifyOptions['onProgress']): ((p: PgDumpProgress) => void) | undefined {
  if (!onProgress) return undefined;
  return (p) => onProgress({ phase: `verify-${p.phase}`, bytes: p.bytes, total: p.total });
}
