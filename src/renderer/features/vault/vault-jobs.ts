import { useShallow } from 'zustand/react/shallow';
import type { JobKind, JobRecord } from '../../../shared/jobs';
import type { CheckReportView } from '../../../shared/vault';
import { ensureJob } from '../../lib/api';
import { useStore } from '../../stores/store';

/** The newest jobs of one kind, newest first; `limit` keeps lists short. */
export function useNewestJobs(kind: JobKind, limit: number): JobRecord[] {
  return useStore(
    useShallow((s) =>
      Object.values(s.jobs.byId)
        .filter((job) => job.kind === kind)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .slice(0, limit),
    ),
  );
}

/** Starts a vault job and makes sure its record is in the store before the first event lands. */
export async function startVaultJob(started: Promise<{ jobId: string }>): Promise<string> {
  const { jobId } = await started;
  await ensureJob(jobId);
  return jobId;
}

/** A check job's result, when it has one of the expected shape (job results are JSON of any kind). */
export function checkReportOf(job: JobRecord): CheckReportView | null {
  const r = job.result as Partial<CheckReportView> | null;
  return r && typeof r.ok === 'boolean' && Array.isArray(r.problems) ? (r as CheckReportView) : null;
}

/** The snapshot an import job produced, if it finished. */
export function importedSnapshotOf(job: JobRecord): string | null {
  const r = job.result as { snapshotId?: unknown } | null;
  return r && typeof r.snapshotId === 'string' ? r.snapshotId : null;
}
