import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';
import { createTarGz, iterateTarGz, type TarLimits, type TarSource } from '../../formats/tar';

// MeshMonitor 4.15.1 system backups; every fact here is from specs/meshmonitor.md (§1, §2, §5).

/** The tables MeshMonitor 4.15.1 backs up, in its order (`BACKUP_TABLES`, sources first on purpose). */
export const MESHMONITOR_BACKUP_TABLES = [
  'sources', 'nodes', 'messages', 'channels', 'telemetry', 'traceroutes', 'route_segments', 'neighbor_info',
  'settings', 'users', 'permissions', 'audit_log', 'read_messages', 'user_notification_preferences',
  'auto_traceroute_nodes', 'packet_log', 'solar_estimates', 'system_backup_history', 'auto_favorite_targets',
  'auto_favorite_assignments',
] as const;

/** Newest schemaVersion a 4.15.1 server restores (hard-coded on both sides upstream). */
export const MESHMONITOR_SCHEMA_VERSION = 21;

/** A backup directory's name: the server's local time, `YYYY-MM-DD_HHMMSS`. */
export const MESHMONITOR_DIRNAME_PATTERN = /^\d{4}-\d{2}-\d{2}_\d{6}$/;

const METADATA_FILE = 'metadata.json';
const MAX_METADATA_BYTES = 1024 * 1024;
// A table name becomes a file name, so it may hold only what a SQL identifier holds.
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const metadataSchema = z.object({
  backupVersion: z.string(),
  meshmonitorVersion: z.string(),
  timestamp: z.string(),
  timestampUnix: z.number(),
  schemaVersion: z.number().int(),
  tables: z.array(z.string().regex(TABLE_NAME, 'a table name may hold only letters, digits and "_"')),
  tableCount: z.number().int(),
  checksums: z.record(z.string(), z.string()),
});

/** `metadata.json` of a system backup (not covered by any checksum upstream). */
export type MeshMonitorMetadata = z.infer<typeof metadataSchema>;

/** One table of a verified backup. */
export interface MeshMonitorTableSummary {
  table: string;
  file: string;
  bytes: number;
  /** Lower-case hex SHA-256 of the file's exact bytes; equals metadata.checksums[table]. */
  sha256: string;
  /** Array length of the table file. */
  rows: number;
}

/** What a verified backup holds: for previews, the vault's manifest and restore checks. */
export interface MeshMonitorBackupSummary {
  dirname: string;
  metadata: MeshMonitorMetadata;
  /** metadata.timestamp (UTC, ISO-8601); the dirname is the server's local time. */
  createdAt: string;
  appVersion: string;
  schemaVersion: number;
  /** In metadata order. */
  tables: MeshMonitorTableSummary[];
  totalRows: number;
  /** Bytes of the table files plus metadata.json: what MeshMonitor's list reports as `size`. */
  size: number;
  /** Files MeshMonitor ignores (not a listed table, not metadata.json). */
  extraFiles: string[];
  /** Oddities that do not stop a restore (tableCount disagreeing, tables outside BACKUP_TABLES...). */
  warnings: string[];
}

/** Options of `verifyMeshMonitorBackup`. */
export interface VerifyOptions {
  signal?: AbortSignal;
  onProgress?: (p: { phase: string; bytes: number; total: number | null }) => void;
  /** Report a schemaVersion above 21 as a warning instead of failing (a 4.15.1 server refuses it). */
  allowNewerSchema?: boolean;
  limits?: Partial<TarLimits>;
  /** Gets metadata.json's exact text as soon as it is read (even when the verification then fails). */
  onMetadataText?: (text: string) => void;
}

/** A file of a backup as read from a directory or a tar.gz, before anything is trusted. */
interface BackupFile {
  dirname: string;
  file: string;
  size: number;
  mtime: Date;
  stream: Readable;
}

interface FileFacts {
  bytes: number;
  sha256: string;
  rows: number | null;
  rowsError: string | null;
}

/**
 * Verifies a MeshMonitor system backup the way its restore does, but on raw bytes:
 * `source` is a backup directory, a .tar.gz file path, or a .tar.gz stream (e.g. a download in flight).
 * gzip and tar must parse completely; every listed table must exist and its SHA-256 must equal
 * metadata.checksums (ARCHIVE_VERIFY_FAILED naming each bad table); schemaVersion must be ≤ 21.
 */
export async function verifyMeshMonitorBackup(source: string | Readable, options: VerifyOptions = {}): Promise<MeshMonitorBackupSummary> {
  const facts = new Map<string, FileFacts>();
  let metadataText: string | null = null;
  let dirname: string | null = null;
  let done = 0;
  for await (const entry of readBackupFiles(source, options)) {
    dirname = entry.dirname;
    if (entry.file === METADATA_FILE) {
      metadataText = await readSmall(entry.stream, MAX_METADATA_BYTES, `${entry.dirname}/${METADATA_FILE}`);
      options.onMetadataText?.(metadataText);
      continue;
    }
    facts.set(entry.file, await measure(entry.stream, entry.file.endsWith('.json')));
    done += entry.size;
    options.onProgress?.({ phase: 'verify', bytes: done, total: null });
  }
  if (dirname === null) throw new LifeboatError('ARCHIVE_INVALID', 'The backup holds no files.');
  return evaluate(dirname, metadataText, facts, options);
}

/** Parses metadata.json text; ARCHIVE_INVALID names what is wrong. */
export function parseMeshMonitorMetadata(text: string): MeshMonitorMetadata {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LifeboatError('ARCHIVE_INVALID', `metadata.json is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = metadataSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LifeboatError('ARCHIVE_INVALID', `metadata.json is not a MeshMonitor backup's: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, {
      details: { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
    });
  }
  return parsed.data;
}

/** metadata.json exactly as MeshMonitor writes it: 2-space JSON, its key order, no trailing newline. */
export function serializeMeshMonitorMetadata(metadata: MeshMonitorMetadata): string {
  const { backupVersion, meshmonitorVersion, timestamp, timestampUnix, schemaVersion, tables, tableCount, checksums } = metadata;
  return JSON.stringify({ backupVersion, meshmonitorVersion, timestamp, timestampUnix, schemaVersion, tables, tableCount, checksums }, null, 2);
}

function evaluate(dirname: string, metadataText: string | null, facts: Map<string, FileFacts>, options: VerifyOptions): MeshMonitorBackupSummary {
  if (metadataText === null) {
    throw new LifeboatError('ARCHIVE_INVALID', `Backup metadata not found in: ${dirname}`, { details: { dirname } });
  }
  const metadata = parseMeshMonitorMetadata(metadataText);
  const errors: string[] = [];
  const mismatches: { table: string; expected: string | null; actual: string | null }[] = [];
  const tables: MeshMonitorTableSummary[] = [];
  for (const table of metadata.tables) {
    const file = `${table}.json`;
    const fact = facts.get(file);
    const expected = metadata.checksums[table]?.toLowerCase() ?? null;
    if (!fact) {
      errors.push(`Missing table file: ${file}`);
      mismatches.push({ table, expected, actual: null });
      continue;
    }
    if (expected !== fact.sha256) {
      errors.push(`Checksum mismatch for table: ${table}`);
      mismatches.push({ table, expected, actual: fact.sha256 });
      continue;
    }
    if (fact.rows === null) {
      throw new LifeboatError('ARCHIVE_INVALID', `The table file ${file} is not a JSON array (${fact.rowsError}).`, { details: { table } });
    }
    tables.push({ table, file, bytes: fact.bytes, sha256: fact.sha256, rows: fact.rows });
  }
  if (errors.length > 0) {
    throw new LifeboatError('ARCHIVE_VERIFY_FAILED', `Backup validation failed: ${errors.join(', ')}`, {
      details: { dirname, errors, tables: mismatches, table: mismatches[0]?.table },
    });
  }
  const warnings: string[] = [];
  if (metadata.schemaVersion > MESHMONITOR_SCHEMA_VERSION) {
    const message = `Backup schema version (${metadata.schemaVersion}) is newer than current version (${MESHMONITOR_SCHEMA_VERSION}). Cannot restore from future version.`;
    if (!options.allowNewerSchema) {
      throw new LifeboatError('ARCHIVE_VERIFY_FAILED', message, { details: { dirname, schemaVersion: metadata.schemaVersion } });
    }
    warnings.push(message);
  }
  if (metadata.tableCount !== metadata.tables.length) {
    warnings.push(`metadata.tableCount is ${metadata.tableCount} but ${metadata.tables.length} tables are listed.`);
  }
  const known = new Set<string>(MESHMONITOR_BACKUP_TABLES);
  const unknown = metadata.tables.filter((t) => !known.has(t));
  if (unknown.length > 0) warnings.push(`MeshMonitor 4.15.1 skips these tables on restore: ${unknown.join(', ')}.`);
  const listed = new Set(metadata.tables.map((t) => `${t}.json`));
  const extraFiles = [...facts.keys()].filter((f) => !listed.has(f)).sort();
  return {
    dirname,
    metadata,
    createdAt: metadata.timestamp,
    appVersion: metadata.meshmonitorVersion,
    schemaVersion: metadata.schemaVersion,
    tables,
    totalRows: tables.reduce((sum, t) => sum + t.rows, 0),
    size: tables.reduce((sum, t) => sum + t.bytes, 0) + Buffer.byteLength(metadataText, 'utf8'),
    extraFiles,
    warnings,
  };
}

/** Options of the selective-backup builders. */
export interface SelectiveOptions {
  /** Name of the new backup directory; default the source's (RESTORE_FROM_BACKUP takes this name). */
  dirname?: string;
  signal?: AbortSignal;
  onProgress?: (p: { phase: string; bytes: number; total: number | null }) => void;
}

/** A selective backup in the making: its metadata is known up front, its bytes stream from `stream`. */
export interface SelectiveBackup {
  metadata: MeshMonitorMetadata;
  metadataText: string;
  dirname: string;
  /** The tar.gz, laid out like MeshMonitor's download (`<dirname>/<file>`, 0644, no directory members). */
  stream: Readable;
}

/**
 * Builds a backup holding only `tables` of a verified source backup (directory or .tar.gz path),
 * with a new metadata.json (tables, tableCount, checksums of the kept tables; the rest unchanged),
 * so that a 4.15.1 server validates and restores it. The source is verified first and each kept table
 * is hashed again while it is copied. Only the kept tables are replaced on restore, but note that
 * deleting `users` or `sources` rows cascades to tables outside the backup (api_tokens, waypoints...).
 */
export async function buildSelectiveBackup(sourcePath: string, tables: readonly string[], options: SelectiveOptions = {}): Promise<SelectiveBackup> {
  const plan = await planSelective(sourcePath, tables, options);
  const { dirname, metadataText, keep } = plan;
  const metadataEntry: TarSource = { name: `${dirname}/${METADATA_FILE}`, data: metadataText, mtime: new Date(plan.metadata.timestampUnix) };
  async function* entries(): AsyncGenerator<TarSource> {
    let metadataWritten = false;
    for await (const entry of readBackupFiles(sourcePath, options)) {
      // Members go in name order, like MeshMonitor's download, so metadata.json lands in its place.
      if (!metadataWritten && entry.file > METADATA_FILE) {
        metadataWritten = true;
        yield metadataEntry;
      }
      const expected = keep.get(entry.file);
      if (expected === undefined) continue;
      const checked = hashCheck(entry.file, expected);
      // pipe() does not pass errors on: a source that breaks mid-file must break the copy too.
      entry.stream.once('error', (error) => checked.destroy(error));
      yield { name: `${dirname}/${entry.file}`, stream: entry.stream.pipe(checked), size: entry.size, mtime: entry.mtime };
    }
    if (!metadataWritten) yield metadataEntry;
  }
  return { metadata: plan.metadata, metadataText, dirname, stream: createTarGz(entries(), { level: 9, signal: options.signal }) };
}

/**
 * Writes a selective backup as a directory `<parentDir>/<dirname>/` (files 0644), ready for
 * RESTORE_FROM_BACKUP when parentDir is the server's SYSTEM_BACKUP_DIR. Written to a temporary
 * name first and renamed, so a half-written backup never carries the real name.
 */
export async function writeSelectiveBackupDirectory(
  sourcePath: string,
  tables: readonly string[],
  parentDir: string,
  options: SelectiveOptions = {},
): Promise<{ dir: string; metadata: MeshMonitorMetadata }> {
  const plan = await planSelective(sourcePath, tables, options);
  const target = path.join(parentDir, plan.dirname);
  const staging = path.join(parentDir, `.${plan.dirname}.partial-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    for await (const entry of readBackupFiles(sourcePath, options)) {
      const expected = plan.keep.get(entry.file);
      if (expected === undefined) continue;
      const file = path.join(staging, entry.file);
      await pipeline(entry.stream, hashCheck(entry.file, expected), createWriteStream(file, { mode: 0o644 }));
      await chmod(file, 0o644);
    }
    await writeFile(path.join(staging, METADATA_FILE), plan.metadataText, { mode: 0o644 });
    await rename(staging, target).catch((error: NodeJS.ErrnoException) => {
      throw new LifeboatError('ALREADY_EXISTS', `Cannot create ${target}: ${error.code === 'ENOTEMPTY' || error.code === 'EEXIST' ? 'it already exists' : error.message}`, {
        cause: error,
      });
    });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { dir: target, metadata: plan.metadata };
}

async function planSelective(
  sourcePath: string,
  tables: readonly string[],
  options: SelectiveOptions,
): Promise<{ dirname: string; metadata: MeshMonitorMetadata; metadataText: string; keep: Map<string, string> }> {
  const summary = await verifyMeshMonitorBackup(sourcePath, { signal: options.signal, onProgress: options.onProgress });
  const dirname = options.dirname ?? summary.dirname;
  if (!MESHMONITOR_DIRNAME_PATTERN.test(dirname)) {
    throw new LifeboatError('INVALID_INPUT', `A MeshMonitor backup name looks like 2026-11-23_131719, not "${dirname}".`);
  }
  if (tables.length === 0) throw new LifeboatError('INVALID_INPUT', 'Choose at least one table for a selective backup.');
  const wanted = new Set(tables);
  const available = new Set(summary.tables.map((t) => t.table));
  const missing = [...wanted].filter((t) => !available.has(t));
  if (missing.length > 0) {
    throw new LifeboatError('INVALID_INPUT', `The backup ${summary.dirname} has no table ${missing.join(', ')}.`, { details: { missing } });
  }
  const kept = summary.tables.filter((t) => wanted.has(t.table));
  const metadata: MeshMonitorMetadata = {
    ...summary.metadata,
    tables: kept.map((t) => t.table),
    tableCount: kept.length,
    checksums: Object.fromEntries(kept.map((t) => [t.table, t.sha256])),
  };
  return {
    dirname,
    metadata,
    metadataText: serializeMeshMonitorMetadata(metadata),
    keep: new Map(kept.map((t) => [t.file, t.sha256])),
  };
}

/** Passes bytes through and fails at the end if their SHA-256 is not `expected` (the source changed). */
function hashCheck(file: string, expected: string): Transform {
  const hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      const actual = hash.digest('hex');
      if (actual === expected) done();
      else done(new LifeboatError('ARCHIVE_VERIFY_FAILED', `${file} changed while it was being copied (SHA-256 ${actual}, expected ${expected}).`, { details: { file, expected, actual } }));
    },
  });
}

/** Reads the files of a backup directory or tar.gz in name/archive order, one at a time. */
async function* readBackupFiles(source: string | Readable, options: { signal?: AbortSignal; limits?: Partial<TarLimits> }): AsyncGenerator<BackupFile> {
  if (typeof source === 'string') {
    const stat = await lstat(source).catch((error: NodeJS.ErrnoException) => {
      throw new LifeboatError('NOT_FOUND', `Backup not found: ${source} (${error.code ?? error.message})`, { cause: error });
    });
    if (stat.isDirectory()) {
      yield* readDirectoryFiles(source, options.signal);
      return;
    }
    yield* readTarGzFiles(createReadStream(source), options);
    return;
  }
  yield* readTarGzFiles(source, options);
}

async function* readDirectoryFiles(dir: string, signal: AbortSignal | undefined): AsyncGenerator<BackupFile> {
  const dirname = path.basename(path.resolve(dir));
  const names = (await readdir(dir)).sort();
  for (const name of names) {
    signal?.throwIfAborted();
    const file = path.join(dir, name);
    const stat = await lstat(file);
    if (stat.isSymbolicLink()) {
      throw new LifeboatError('ARCHIVE_INVALID', `The backup directory holds a symbolic link, ${name}; refusing to follow it.`, { details: { name } });
    }
    if (!stat.isFile()) continue;
    const stream = createReadStream(file);
    yield { dirname, file: name, size: stat.size, mtime: stat.mtime, stream };
    if (!stream.readableEnded) stream.destroy();
  }
}

async function* readTarGzFiles(source: Readable, options: { signal?: AbortSignal; limits?: Partial<TarLimits> }): AsyncGenerator<BackupFile> {
  let dirname: string | null = null;
  const seen = new Set<string>();
  for await (const entry of iterateTarGz(source, { signal: options.signal, limits: options.limits })) {
    const parts = entry.name.split('/');
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new LifeboatError('ARCHIVE_INVALID', `The archive member "${entry.name}" is not <backup>/<file> as in a MeshMonitor download.`, { details: { name: entry.name } });
    }
    const [top, file] = parts as [string, string];
    if (dirname !== null && top !== dirname) {
      throw new LifeboatError('ARCHIVE_INVALID', `The archive mixes two backups, ${dirname} and ${top}.`, { details: { names: [dirname, top] } });
    }
    dirname = top;
    if (seen.has(file)) throw new LifeboatError('ARCHIVE_INVALID', `The archive holds ${entry.name} twice.`, { details: { name: entry.name } });
    seen.add(file);
    yield { dirname, file, size: entry.size, mtime: entry.mtime, stream: entry.stream };
  }
}

async function measure(stream: Readable, countRows: boolean): Promise<FileFacts> {
  const hash = createHash('sha256');
  const counter = countRows ? new JsonArrayCounter() : null;
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    hash.update(chunk);
    counter?.push(chunk);
  }
  const result = counter?.result();
  return {
    bytes,
    sha256: hash.digest('hex'),
    rows: result !== undefined && 'rows' in result ? result.rows : null,
    rowsError: result === undefined ? 'not a .json file' : 'error' in result ? result.error : null,
  };
}

async function readSmall(stream: Readable, limit: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new LifeboatError('ARCHIVE_INVALID', `${what} is larger than ${limit} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Counts the elements of a top-level JSON array fed in chunks, without parsing or holding it
 * (a table file can be large; its row count is its array length). It checks structure only: one
 * array, balanced brackets, nothing after it. The checksum is what proves the bytes are MeshMonitor's.
 */
export class JsonArrayCounter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  private ended = false;
  private commas = 0;
  private hasElement = false;
  private broken: string | null = null;

  /** Feeds the next bytes (UTF-8: multi-byte characters never contain the ASCII bytes looked at). */
  push(chunk: Uint8Array): void {
    if (this.broken !== null) return;
    for (const byte of chunk) {
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === 0x5c) this.escaped = true;
        else if (byte === 0x22) this.inString = false;
        continue;
      }
      if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
      if (this.ended) {
        this.broken = 'text after the closing bracket';
        return;
      }
      if (!this.started) {
        if (byte !== 0x5b) {
          this.broken = 'it does not start with "["';
          return;
        }
        this.started = true;
        this.depth = 1;
        continue;
      }
      if (this.depth === 1 && byte !== 0x2c && byte !== 0x5d) this.hasElement = true;
      if (byte === 0x22) this.inString = true;
      else if (byte === 0x5b || byte === 0x7b) this.depth++;
      else if (byte === 0x5d || byte === 0x7d) {
        this.depth--;
        if (this.depth === 0) this.ended = true;
      } else if (byte === 0x2c && this.depth === 1) this.commas++;
    }
  }

  /** The element count, or why the input was not one complete JSON array. */
  result(): { rows: number } | { error: string } {
    if (this.broken !== null) return { error: this.broken };
    if (!this.started) return { error: 'it is empty' };
    if (!this.ended) return { error: 'the array is not closed' };
    return { rows: this.hasElement ? this.commas + 1 : 0 };
  }
}
