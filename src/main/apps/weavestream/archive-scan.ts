/**
 * Everything Lifeboat learns from a Weavestream dump without pg_restore: two sequential passes
 * over the archive — (1) SHA-256, size, header, TOC and data-block walk (the pull verifier), then
 * (2) COPY row counts per table and the applied migrations from `_prisma_migrations`. Preview,
 * restore planning and verification share one scan per archive access.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { IntegrityCheck } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { ArchiveAccess, StepContext } from '../adapter';
import type { PgDumpArchive, PgDumpTable } from '../../formats/pgdump';
import { readCopyData } from '../../formats/pgdump/copy-data';
import { copyColumns, parseCopyText } from '../../formats/plain-sql/copy-text';
import { WeavestreamDumpVerifier, findManifest, type ManifestLookup } from './dump-verifier';
import type { AppliedMigration } from './target-db';

/** One table of the dump with its facts. */
export interface ScannedTable {
  schema: string | null;
  name: string;
  /** `schema.name` (or `name` without schema): what selective restore offers. */
  qualified: string;
  hasData: boolean;
  dataBytes: number | null;
  /** COPY rows in the dump; null when not countable. */
  rows: number | null;
}

/** What the scan found. */
export interface ArchiveScan {
  lookup: ManifestLookup;
  checks: IntegrityCheck[];
  ok: boolean;
  size: number;
  sha256: string;
  /** Null when the header, TOC or data walk failed (see `checks`). */
  archive: PgDumpArchive | null;
  tables: ScannedTable[];
  /** Applied migrations recorded in the dump's `_prisma_migrations`; null when it holds none. */
  migrations: AppliedMigration[] | null;
}

const scans = new WeakMap<ArchiveAccess, Promise<ArchiveScan>>();

/** Scans an archive once per access object (later calls reuse the result). */
export function scanWeavestreamArchive(access: ArchiveAccess, step: StepContext): Promise<ArchiveScan> {
  let scan = scans.get(access);
  if (!scan) {
    scan = runScan(access, step);
    scans.set(access, scan);
    // A failed or cancelled scan must not be served again.
    scan.catch(() => scans.delete(access));
  }
  return scan;
}

async function runScan(access: ArchiveAccess, step: StepContext): Promise<ArchiveScan> {
  const lookup = findManifest(access.fileName, access.sidecars);
  const verifier = new WeavestreamDumpVerifier(access.fileName, lookup);
  const hash = createHash('sha256');
  step.progress({ phase: 'verify', bytes: 0, total: access.size });
  await drain(await access.open(), step, (chunk, bytes) => {
    hash.update(chunk);
    verifier.write(chunk);
    step.progress({ phase: 'verify', bytes, total: access.size });
  });
  const checks = await verifier.finish({ size: verifier.size, sha256: hash.digest('hex') });
  const archive = verifier.archive;
  const base = { lookup, checks, ok: checks.every((c) => c.ok), size: verifier.size, sha256: verifier.sha256, archive };
  if (!archive) return { ...base, tables: [], migrations: null };

  const migrationsData = archive.entries.find((e) => e.desc === 'TABLE DATA' && e.tag === '_prisma_migrations' && (e.namespace ?? 'public') === 'public');
  step.progress({ phase: 'count-rows', bytes: 0, total: verifier.size });
  const data = await readCopyData(await access.open(), archive, {
    capture: new Set(migrationsData ? [migrationsData.dumpId] : []),
    signal: step.signal,
    label: access.fileName,
    onBytes: (bytes) => step.progress({ phase: 'count-rows', bytes, total: verifier.size }),
  });
  const tables = archive.tables.map((table) => scannedTable(table, table.dataDumpId !== null ? (data.get(table.dataDumpId)?.rows ?? null) : 0));
  let migrations: AppliedMigration[] | null = null;
  if (migrationsData) {
    const text = data.get(migrationsData.dumpId)?.text ?? null;
    if (text !== null) migrations = appliedMigrationsFromCopy(migrationsData.copyStmt, text);
  }
  return { ...base, tables, migrations };
}

function scannedTable(table: PgDumpTable, rows: number | null): ScannedTable {
  return {
    schema: table.schema,
    name: table.name,
    qualified: table.schema ? `${table.schema}.${table.name}` : table.name,
    hasData: table.hasData,
    dataBytes: table.dataBytes,
    rows: table.hasData ? rows : 0,
  };
}

/** Finished, not rolled back rows of a `_prisma_migrations` COPY block, sorted by name. */
export function appliedMigrationsFromCopy(copyStmt: string | null, text: string): AppliedMigration[] {
  const columns = copyColumns(copyStmt);
  const col = (name: string): number => columns.indexOf(name);
  const [name, checksum, finished, rolledBack] = [col('migration_name'), col('checksum'), col('finished_at'), col('rolled_back_at')];
  if (name < 0 || checksum < 0) {
    throw new LifeboatError('ARCHIVE_INVALID', 'The dump\'s _prisma_migrations has no migration_name/checksum columns; it is not a Prisma migrations table.');
  }
  return parseCopyText(text)
    .filter((row) => (finished < 0 || row[finished] !== null) && (rolledBack < 0 || row[rolledBack] === null))
    .map((row) => ({ name: row[name] ?? '', checksum: row[checksum] ?? '' }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Reads a stream to its end, cancellable, handing each chunk and the running byte count over. */
async function drain(stream: Readable, step: StepContext, onChunk: (chunk: Buffer, bytes: number) => void): Promise<void> {
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      if (step.signal.aborted) throw new LifeboatError('CANCELLED', 'Reading the Weavestream dump was cancelled.');
      bytes += (chunk as Buffer).length;
      onChunk(chunk as Buffer, bytes);
    }
  } finally {
    if (!stream.destroyed) stream.destroy();
  }
}

/** Compares two sets of applied migrations; null when equal, else a sentence saying how they differ. */
export function migrationDifference(archive: AppliedMigration[], live: AppliedMigration[]): string | null {
  const key = (m: AppliedMigration): string => `${m.name}\u0000${m.checksum}`;
  const liveKeys = new Set(live.map(key));
  const archiveKeys = new Set(archive.map(key));
  const onlyArchive = archive.filter((m) => !liveKeys.has(key(m))).map((m) => m.name);
  const onlyLive = live.filter((m) => !archiveKeys.has(key(m))).map((m) => m.name);
  if (onlyArchive.length === 0 && onlyLive.length === 0) return null;
  const list = (names: string[]): string => `${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}`;
  const parts: string[] = [];
  if (onlyArchive.length > 0) parts.push(`the dump has ${onlyArchive.length} migration(s) the target lacks or has with another checksum (${list(onlyArchive)})`);
  if (onlyLive.length > 0) parts.push(`the target has ${onlyLive.length} the dump lacks (${list(onlyLive)})`);
  return parts.join('; ');
}
