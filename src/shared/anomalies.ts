import { z } from 'zod';

/** What went wrong in an installation's snapshot history. */
export type AnomalyKind = 'size-shrank' | 'rows-shrank' | 'table-vanished' | 'table-emptied' | 'rows-fell' | 'version-backwards' | 'slow-run';

/** One anomaly of one snapshot against the installation's history. */
export interface Anomaly {
  /** Stable: the same finding on the same snapshot keeps its id (`<snapshot>:<kind>[:<table>]`). */
  id: string;
  installationId: string;
  installationName: string | null;
  snapshotId: string;
  kind: AnomalyKind;
  /** The table it is about, for table anomalies. */
  table: string | null;
  detail: string;
  detectedAt: string;
  acknowledgedAt: string | null;
  acknowledgeNote: string | null;
}

/** When an installation's snapshot counts as anomalous; per installation, with defaults. */
export const anomalyThresholdsSchema = z
  .object({
    /** Snapshots before the newest whose median is the baseline. */
    history: z.number().int().min(1).max(100),
    /** Size below this fraction of the median: shrank (0.5 = half). */
    minSizeRatio: z.number().min(0).max(1),
    /** Total rows below this fraction of the median: shrank. */
    minRowsRatio: z.number().min(0).max(1),
    /** A table's rows below this fraction of the previous snapshot's: fell. */
    minTableRowsRatio: z.number().min(0).max(1),
    /** Tables with fewer rows than this before are not judged by the ratio (tiny tables swing). */
    minTableRows: z.number().int().min(0),
    /** A run longer than this many times the median: slow. */
    maxDurationFactor: z.number().min(1),
    /** Snapshots before an unacknowledged anomaly that retention keeps. */
    protectLastGood: z.number().int().min(1).max(100),
  })
  .strict();

export type AnomalyThresholds = z.infer<typeof anomalyThresholdsSchema>;

export const DEFAULT_ANOMALY_THRESHOLDS: AnomalyThresholds = {
  history: 5,
  minSizeRatio: 0.5,
  minRowsRatio: 0.5,
  minTableRowsRatio: 0.5,
  minTableRows: 10,
  maxDurationFactor: 3,
  protectLastGood: 3,
};
