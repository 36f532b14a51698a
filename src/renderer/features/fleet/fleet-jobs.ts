/** Jobs the Fleet screens start, and reading their results (job results are JSON of any shape). */
import { useShallow } from 'zustand/react/shallow';
import type { IntegrityCheck } from '../../../shared/apps';
import type { JobKind, JobRecord } from '../../../shared/jobs';
import { ensureJob } from '../../lib/api';
import { useStore } from '../../stores/store';

/** Waits for a command that starts a job, then makes sure the job is in the store before its first event. */
export async function startTrackedJob(started: Promise<{ jobId: string }>): Promise<string> {
  const { jobId } = await started;
  await ensureJob(jobId);
  return jobId;
}

/** A job from the store by id (undefined until known). */
export function useJob(id: string | null): JobRecord | undefined {
  return useStore((s) => (id ? s.jobs.byId[id] : undefined));
}

/** When this window opened: jobs from before are history (Activity shows them), not row news. */
const WINDOW_OPENED = new Date().toISOString();

/** The newest job of these kinds for an installation, started while this window was open. */
export function useNewestInstallationJob(installationId: string, kinds: readonly JobKind[]): JobRecord | undefined {
  return useStore(
    useShallow((s) => {
      let newest: JobRecord | undefined;
      for (const job of Object.values(s.jobs.byId)) {
        if (job.installationId !== installationId || !kinds.includes(job.kind) || job.createdAt < WINDOW_OPENED) continue;
        if (!newest || job.createdAt > newest.createdAt) newest = job;
      }
      return newest;
    }),
  );
}

/** What a pull job returns. */
export interface PullOutcome {
  snapshotId: string;
  remoteId: string;
  alreadyInVault: boolean;
  sizeBytes: number;
  checks: IntegrityCheck[];
  resumed: number;
}

/** A finished pull's result, when it has the expected shape. */
export function pullOutcomeOf(job: JobRecord): PullOutcome | null {
  const r = job.result as Partial<PullOutcome> | null;
  return r && typeof r.snapshotId === 'string' && typeof r.alreadyInVault === 'boolean' ? (r as PullOutcome) : null;
}

/** The checks a failed (quarantined) pull reported in its error details. */
export function failedChecksOf(job: JobRecord): IntegrityCheck[] {
  const checks = job.error?.details?.checks;
  return Array.isArray(checks) ? checks.filter((c): c is IntegrityCheck => typeof c === 'object' && c !== null && 'name' in c && 'ok' in c) : [];
}
