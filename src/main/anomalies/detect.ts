/**
 * Anomalies of an installation's newest snapshot against its history: pure rules over the facts
 * of each snapshot (size, rows per table, app version, how long its pull took).
 */
import type { AnomalyKind, AnomalyThresholds } from '../../shared/anomalies';

/** What Lifeboat knows of one snapshot, for comparing it with the others. */
export interface SnapshotFacts {
  snapshotId: string;
  time: string;
  sizeBytes: number | null;
  appVersion: string | null;
  /** Rows per table; null when the archive could not be read (no key, not an archive Lifeboat counts). */
  tables: { table: string; rows: number | null }[] | null;
  /** How long the pull that made it took; null for imports. */
  durationMs: number | null;
}

/** One finding, before it is stored. */
export interface Finding {
  kind: AnomalyKind;
  table: string | null;
  detail: string;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Dotted versions compared number by number (1.10 > 1.9); null when either has no number. */
export function compareVersions(a: string, b: string): number | null {
  const pa = a.match(/\d+/g)?.map(Number);
  const pb = b.match(/\d+/g)?.map(Number);
  if (!pa || !pb) return null;
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

const totalRows = (f: SnapshotFacts): number | null => (f.tables && f.tables.every((t) => t.rows !== null) ? f.tables.reduce((n, t) => n + (t.rows ?? 0), 0) : null);
const pct = (ratio: number): string => `${Math.round(ratio * 100)} %`;

/** The findings of `newest` against `earlier` (newest first; only the first `history` are used). */
export function detectAnomalies(newest: SnapshotFacts, earlier: SnapshotFacts[], t: AnomalyThresholds): Finding[] {
  const baseline = earlier.slice(0, t.history);
  if (baseline.length === 0) return [];
  const findings: Finding[] = [];
  const sizes = baseline.map((f) => f.sizeBytes).filter((n): n is number => n !== null);
  const medianSize = median(sizes);
  if (newest.sizeBytes !== null && medianSize !== null && medianSize > 0 && newest.sizeBytes < medianSize * t.minSizeRatio) {
    findings.push({ kind: 'size-shrank', table: null, detail: `${newest.sizeBytes} bytes, ${pct(newest.sizeBytes / medianSize)} of the median ${Math.round(medianSize)} of the last ${sizes.length} snapshot(s)` });
  }
  const rows = totalRows(newest);
  const medianRows = median(baseline.map(totalRows).filter((n): n is number => n !== null));
  if (rows !== null && medianRows !== null && medianRows > 0 && rows < medianRows * t.minRowsRatio) {
    findings.push({ kind: 'rows-shrank', table: null, detail: `${rows} rows in all, ${pct(rows / medianRows)} of the median ${Math.round(medianRows)} of the last snapshots` });
  }
  const previous = baseline.find((f) => f.tables !== null);
  if (newest.tables && previous?.tables) {
    const now = new Map(newest.tables.map((x) => [x.table, x.rows]));
    for (const before of previous.tables) {
      if (!now.has(before.table)) {
        findings.push({ kind: 'table-vanished', table: before.table, detail: `${before.table} (${before.rows ?? '?'} rows in snapshot ${previous.snapshotId.slice(0, 8)}) is not in this snapshot` });
        continue;
      }
      const after = now.get(before.table) ?? null;
      if (after === null || before.rows === null || before.rows === 0) continue;
      if (after === 0) findings.push({ kind: 'table-emptied', table: before.table, detail: `${before.table} is empty; it had ${before.rows} rows in snapshot ${previous.snapshotId.slice(0, 8)}` });
      else if (before.rows >= t.minTableRows && after < before.rows * t.minTableRowsRatio) {
        findings.push({ kind: 'rows-fell', table: before.table, detail: `${before.table} fell from ${before.rows} to ${after} rows (${pct(after / before.rows)})` });
      }
    }
  }
  const prevVersion = baseline.find((f) => f.appVersion !== null)?.appVersion ?? null;
  if (newest.appVersion && prevVersion && compareVersions(newest.appVersion, prevVersion) === -1) {
    findings.push({ kind: 'version-backwards', table: null, detail: `made by version ${newest.appVersion}, older than ${prevVersion} of the snapshot before` });
  }
  const medianDuration = median(baseline.map((f) => f.durationMs).filter((n): n is number => n !== null));
  if (newest.durationMs !== null && medianDuration !== null && medianDuration > 0 && newest.durationMs > medianDuration * t.maxDurationFactor) {
    findings.push({ kind: 'slow-run', table: null, detail: `the pull took ${(newest.durationMs / 1000).toFixed(1)} s, ${(newest.durationMs / medianDuration).toFixed(1)}× the median ${(medianDuration / 1000).toFixed(1)} s` });
  }
  return findings;
}
