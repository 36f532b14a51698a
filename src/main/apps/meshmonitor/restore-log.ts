// Reading MeshMonitor's startup log after a RESTORE_FROM_BACKUP restart, and filling the operator's
// command templates. Line texts are those of specs/meshmonitor.md §5.5 and restore-log-excerpts.txt.

/** What the server log says about one restore. */
export type RestoreOutcome =
  | { state: 'pending' }
  | { state: 'succeeded'; tables: number; rows: number; line: string }
  | { state: 'failed'; reason: string; line: string };

const DETECTED = 'RESTORE_FROM_BACKUP environment variable detected: ';
const SUCCESS = /System restore completed: (\d+) tables, (\d+) rows/;
// In the order a failing start logs them; the most specific reason wins.
const FAILURES: RegExp[] = [
  /Cannot restore from backup: (.+)$/,
  /Fatal error during bootstrap restore: (?:Error: )?(.+)$/,
  /Failed to restore table (.+)$/,
  /System restore failed: (?:System restore failed: )?(.+)$/,
  /(RESTORE ALREADY COMPLETED)/,
];

/**
 * Finds the outcome of the restore of `dirname` in a server log: only lines after the last
 * "RESTORE_FROM_BACKUP environment variable detected: <dirname>" count, so a log that also holds
 * older restarts (a plain `cat`, or `docker logs` without --since) is read correctly.
 */
export function findRestoreOutcome(log: string, dirname: string): RestoreOutcome {
  const lines = log.split(/\r?\n/);
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.includes(`${DETECTED}${dirname}`)) {
      start = i;
      break;
    }
  }
  if (start < 0) return { state: 'pending' };
  const after = lines.slice(start + 1);
  for (const line of after) {
    const match = SUCCESS.exec(line);
    if (match) return { state: 'succeeded', tables: Number(match[1]), rows: Number(match[2]), line: line.trim() };
  }
  for (const pattern of FAILURES) {
    for (const line of after) {
      const match = pattern.exec(line);
      if (match) {
        const reason = match[1] === 'RESTORE ALREADY COMPLETED' ? `a restore of ${dirname} already completed, so the server skipped it` : match[1]!.trim();
        return { state: 'failed', reason, line: line.trim() };
      }
    }
  }
  return { state: 'pending' };
}

/** The last "System restore completed: N tables, M rows" line of a log, whatever the backup. */
export function lastRestoreSuccess(log: string): { tables: number; rows: number; line: string } | null {
  const lines = log.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = SUCCESS.exec(lines[i]!);
    if (match) return { tables: Number(match[1]), rows: Number(match[2]), line: lines[i]!.trim() };
  }
  return null;
}
