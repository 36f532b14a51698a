import type { IntegrityCheck } from './apps';
import type { AppKind } from './installations';

/** One table of a drill: rows the archive holds against rows the throwaway target ended with. */
export interface DrillTable {
  /** Which dump (several in a multi-database archive). */
  dump: string;
  table: string;
  archive: number | null;
  /** Rows counted in the scratch database; for a structural drill, the rows parsed and validated. */
  restored: number | null;
  ok: boolean;
}

/** The result of one restore drill, stored with the snapshot. */
export interface DrillResult {
  id: string;
  snapshotId: string;
  installationId: string | null;
  installationName: string | null;
  app: AppKind | null;
  kind: 'postgres' | 'structural';
  /** Where it was restored, in words ("temporary local PostgreSQL 15 cluster, database lifeboat_drill_…"). */
  target: string;
  restorable: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** What was checked, line by line; failed lines say why. */
  checks: IntegrityCheck[];
  tables: DrillTable[];
  /** Why it did not restore: the first failed check, or the failed statement. */
  failure: { message: string; statement: string | null } | null;
  jobId: string | null;
}

/**
 * How an installation is drilled; per installation, every field off or empty by default. With
 * `onServer`, PostgreSQL-based apps are drilled into a scratch database `lifeboat_drill_<id>` on
 * the installation's own PostgreSQL server (over SSH), once the server's free space is checked.
 */
export interface DrillSettings {
  /** Drill into a scratch database on the installation's own server (off: a temporary local cluster). */
  onServer: boolean;
  /** Where the server's PostgreSQL keeps its data, as the SSH user sees it (for `df`); empty: PostgreSQL's data_directory. */
  freeSpacePath: string | null;
  /** Bytes that must stay free on the server after the scratch database is restored. */
  keepFreeBytes: number;
}

export const DEFAULT_DRILL_SETTINGS: DrillSettings = { onServer: false, freeSpacePath: null, keepFreeBytes: 1024 ** 3 };
