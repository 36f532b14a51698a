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
