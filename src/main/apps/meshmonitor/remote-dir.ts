// MeshMonitor's SYSTEM_BACKUP_DIR over SSH: listing backup directories, streaming one as the same
// tar.gz the download endpoint makes, and uploading a (possibly selective) backup for a restore.
import { createHash } from 'node:crypto';
import path from 'node:path/posix';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifeboatError } from '../../../shared/errors';
import { createTarGz, iterateTarGz, type TarSource } from '../../formats/tar';
import type { SshSession } from '../../transport/ssh/session';
import {
  JsonArrayCounter,
  MESHMONITOR_DIRNAME_PATTERN,
  MESHMONITOR_SCHEMA_VERSION,
  parseMeshMonitorMetadata,
  serializeMeshMonitorMetadata,
  type MeshMonitorMetadata,
} from './backup-format';

const METADATA_FILE = 'metadata.json';
const MAX_METADATA_BYTES = 1024 * 1024;

/** A backup directory found on the server. */
export interface RemoteBackupDir {
  dirname: string;
  /** Table files plus metadata.json, in bytes (what MeshMonitor's list calls `size`). */
  size: number;
  mtime: Date;
  metadata: MeshMonitorMetadata | null;
  /** metadata.json exactly as stored, when readable. */
  metadataText: string | null;
  /** Why metadata.json could not be read, if so. */
  problem: string | null;
}

/** `<dataDir>/system-backups`, MeshMonitor's default SYSTEM_BACKUP_DIR under its data directory. */
export function backupRootOf(dataDir: string): string {
  return path.join(dataDir, 'system-backups');
}

/** Reads one backup directory's metadata and size; a broken metadata.json is reported, not thrown. */
export async function inspectBackupDir(ssh: SshSession, root: string, dirname: string, signal?: AbortSignal): Promise<RemoteBackupDir> {
  const dir = path.join(root, dirname);
  const entries = await ssh.list(dir);
  const files = entries.filter((e) => e.isFile);
  const size = files.reduce((sum, f) => sum + f.size, 0);
  const mtime = files.reduce((latest, f) => (f.mtime > latest ? f.mtime : latest), new Date(0));
  if (!files.some((f) => f.name === METADATA_FILE)) {
    return { dirname, size, mtime, metadata: null, metadataText: null, problem: `Backup metadata not found in: ${dirname}` };
  }
  const metadataText = (await ssh.readFile(path.join(dir, METADATA_FILE), { maxBytes: MAX_METADATA_BYTES, ...(signal ? { signal } : {}) })).toString('utf8');
  try {
    return { dirname, size, mtime, metadata: parseMeshMonitorMetadata(metadataText), metadataText, problem: null };
  } catch (error) {
    if (!(error instanceof LifeboatError)) throw error;
    return { dirname, size, mtime, metadata: null, metadataText, problem: error.message };
  }
}

/** Every `YYYY-MM-DD_HHMMSS` directory under `root`, newest first; the list also shows directories MeshMonitor's own list forgot. */
export async function listBackupDirs(ssh: SshSession, root: string, signal?: AbortSignal): Promise<RemoteBackupDir[]> {
  const entries = await ssh.list(root);
  const dirs: RemoteBackupDir[] = [];
  for (const entry of entries) {
    signal?.throwIfAborted();
    if (!entry.isDirectory || !MESHMONITOR_DIRNAME_PATTERN.test(entry.name)) continue;
    dirs.push(await inspectBackupDir(ssh, root, entry.name, signal));
  }
  const time = (d: RemoteBackupDir): number => d.metadata?.timestampUnix ?? d.mtime.getTime();
  return dirs.sort((a, b) => time(b) - time(a) || b.dirname.localeCompare(a.dirname));
}

/**
 * Streams `<root>/<dirname>` as a tar.gz laid out like MeshMonitor's download (`<dirname>/<file>`,
 * 0644, name order, no directory members), read over SFTP as it is written.
 */
export async function streamBackupDirAsTarGz(ssh: SshSession, root: string, dirname: string, signal: AbortSignal): Promise<Readable> {
  const dir = path.join(root, dirname);
  const entries = await ssh.list(dir);
  const links = entries.filter((e) => e.isSymbolicLink);
  if (links.length > 0) {
    throw new LifeboatError('ARCHIVE_INVALID', `The backup directory ${dir} holds symbolic links (${links.map((l) => l.name).join(', ')}); refusing to follow them.`);
  }
  const files = entries.filter((e) => e.isFile).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  async function* members(): AsyncGenerator<TarSource> {
    for (const file of files) {
      const stream = await ssh.createReadStream(path.join(dir, file.name), { signal });
      yield { name: `${dirname}/${file.name}`, stream, size: file.size, mtime: file.mtime };
    }
  }
  return createTarGz(members(), { level: 9, signal });
}

/** What `uploadBackup` put on the server. */
export interface UploadedBackup {
  dirname: string;
  dir: string;
  tables: { table: string; rows: number; bytes: number }[];
  rows: number;
  metadata: MeshMonitorMetadata;
}

/** Options of `uploadBackup`. */
export interface UploadOptions {
  /** Name of the new directory (RESTORE_FROM_BACKUP takes it). */
  dirname: string;
  /** Tables to keep; null keeps every listed table and the original metadata.json byte for byte. */
  tables: readonly string[] | null;
  signal: AbortSignal;
  onProgress?: (p: { phase: string; bytes: number; total: number | null }) => void;
}

/**
 * Uploads a backup from a MeshMonitor tar.gz into `<root>/<dirname>/` in one pass: table files are
 * hashed and counted as they go up, then checked against metadata.json (which sits mid-archive), and
 * a selective upload gets a fresh metadata.json naming only the kept tables with their checksums, as
 * `buildSelectiveBackup` makes it. Everything lands in a hidden staging directory first and is renamed
 * at the end, so an interrupted or failed upload never leaves a directory MeshMonitor would restore.
 */
export async function uploadBackup(ssh: SshSession, root: string, archive: Readable, options: UploadOptions): Promise<UploadedBackup> {
  const { dirname, signal } = options;
  if (!MESHMONITOR_DIRNAME_PATTERN.test(dirname)) throw new LifeboatError('INVALID_INPUT', `"${dirname}" is not a MeshMonitor backup name.`);
  const target = path.join(root, dirname);
  if (await ssh.statOrNull(target)) throw new LifeboatError('ALREADY_EXISTS', `${target} already exists on the server.`);
  const staging = path.join(root, `.lifeboat-${dirname}.partial`);
  await ssh.mkdirp(root, 0o755);
  if (await ssh.statOrNull(staging)) await ssh.remove(staging, { recursive: true });
  await ssh.mkdirp(staging, 0o755);
  try {
    const wanted = options.tables === null ? null : new Set(options.tables);
    const uploaded = new Map<string, { sha256: string; rows: number | null; bytes: number }>();
    let metadataText: string | null = null;
    let sent = 0;
    for await (const entry of iterateTarGz(archive, { signal })) {
      const file = entry.name.split('/').pop()!;
      if (file === METADATA_FILE) {
        metadataText = await readCapped(entry.stream, MAX_METADATA_BYTES);
        continue;
      }
      const table = file.endsWith('.json') ? file.slice(0, -'.json'.length) : null;
      if (table === null || (wanted !== null && !wanted.has(table))) continue;
      const meter = new Meter((bytes) => options.onProgress?.({ phase: 'upload', bytes: sent + bytes, total: null }));
      const sink = await ssh.createWriteStream(path.join(staging, file), { mode: 0o644, signal });
      await pipeline(entry.stream, meter, sink, { signal });
      sent += meter.bytes;
      uploaded.set(table, meter.result());
    }
    if (metadataText === null) throw new LifeboatError('ARCHIVE_INVALID', 'The archive has no metadata.json, so MeshMonitor could not restore it.');
    const metadata = parseMeshMonitorMetadata(metadataText);
    if (metadata.schemaVersion > MESHMONITOR_SCHEMA_VERSION) {
      throw new LifeboatError('PREFLIGHT_FAILED', `The backup's schema version ${metadata.schemaVersion} is newer than ${MESHMONITOR_SCHEMA_VERSION}; MeshMonitor would refuse it.`);
    }
    const tables = metadata.tables.filter((t) => wanted === null || wanted.has(t));
    const unknown = wanted === null ? [] : [...wanted].filter((t) => !metadata.tables.includes(t));
    if (unknown.length > 0) throw new LifeboatError('INVALID_INPUT', `The backup has no table ${unknown.join(', ')}.`, { details: { unknown } });
    const kept: UploadedBackup['tables'] = [];
    for (const table of tables) {
      const fact = uploaded.get(table);
      const expected = metadata.checksums[table]?.toLowerCase();
      if (!fact) throw new LifeboatError('ARCHIVE_VERIFY_FAILED', `Missing table file: ${table}.json`, { details: { table } });
      if (fact.sha256 !== expected) {
        throw new LifeboatError('ARCHIVE_VERIFY_FAILED', `Checksum mismatch for table: ${table}`, { details: { table, expected, actual: fact.sha256 } });
      }
      if (fact.rows === null) throw new LifeboatError('ARCHIVE_INVALID', `${table}.json is not a JSON array.`, { details: { table } });
      kept.push({ table, rows: fact.rows, bytes: fact.bytes });
    }
    const newMetadata: MeshMonitorMetadata =
      wanted === null
        ? metadata
        : { ...metadata, tables, tableCount: tables.length, checksums: Object.fromEntries(tables.map((t) => [t, uploaded.get(t)!.sha256])) };
    const metadataOut = wanted === null ? metadataText : serializeMeshMonitorMetadata(newMetadata);
    const sink = await ssh.createWriteStream(path.join(staging, METADATA_FILE), { mode: 0o644, signal });
    await pipeline([Buffer.from(metadataOut, 'utf8')], sink, { signal });
    await ssh.rename(staging, target);
    return { dirname, dir: target, tables: kept, rows: kept.reduce((sum, t) => sum + t.rows, 0), metadata: newMetadata };
  } catch (error) {
    // The staging directory is Lifeboat's own and never restored by MeshMonitor; removing it keeps the server as it was.
    const leftover = await ssh.remove(staging, { recursive: true }).then(
      () => null,
      (cleanup: unknown) => (cleanup instanceof Error ? cleanup.message : String(cleanup)),
    );
    const note = leftover === null ? '' : ` The staging directory ${staging} could not be removed (${leftover}); delete it by hand.`;
    if (signal.aborted) {
      throw new LifeboatError('CANCELLED', `The upload of ${dirname} was cancelled before MeshMonitor was restarted.${note}`, { cause: error });
    }
    if (note && error instanceof LifeboatError) throw new LifeboatError(error.code, `${error.message}${note}`, { details: error.details, cause: error });
    throw error;
  }
}

/** Passes bytes through while hashing them, counting them and counting the JSON array's elements. */
class Meter extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');
  private readonly counter = new JsonArrayCounter();

  constructor(private readonly onBytes: (bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    this.counter.push(chunk);
    this.onBytes(this.bytes);
    done(null, chunk);
  }

  result(): { sha256: string; rows: number | null; bytes: number } {
    const counted = this.counter.result();
    return { sha256: this.hash.digest('hex'), rows: 'rows' in counted ? counted.rows : null, bytes: this.bytes };
  }
}

async function readCapped(stream: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new LifeboatError('ARCHIVE_INVALID', `metadata.json is larger than ${limit} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
