import type { ErrorPayload } from './errors';

/** Every long action is a job; `kind` tells the UI what it is. New kinds are added here. */
export type JobKind =
  | 'connection-test'
  | 'fleet-refresh'
  | 'vault-init'
  | 'vault-import'
  | 'vault-check'
  | 'vault-forget'
  | 'vault-prune'
  | 'drill'
  | 'pull'
  | 'trigger'
  | 'preview'
  | 'restore';

/**
 * `succeeded-with-warnings`: the job did what it was for, but something the operator must know
 * went wrong on the way (`warnings` says what), e.g. a restore whose verification could not run.
 */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'succeeded-with-warnings' | 'failed' | 'cancelled';

export interface JobProgress {
  /** A short name of the current step, e.g. "downloading", "verifying". */
  phase: string;
  bytes: number;
  total: number | null;
  /** Bytes per second over the last few seconds. */
  rate: number | null;
  /** Seconds left at the current rate, when total is known. */
  etaSeconds: number | null;
}

export interface JobRecord {
  id: string;
  kind: JobKind;
  title: string;
  installationId: string | null;
  /** Why it ran, when it was not the operator's click ("scheduled (daily at 02:00)", "missed 2 runs while asleep"). */
  reason?: string;
  status: JobStatus;
  progress: JobProgress;
  /** False once the job has passed its point of no return. */
  cancellable: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: ErrorPayload | null;
  /** What the operator must know although the job did its work; non-empty for `succeeded-with-warnings`. */
  warnings: string[];
  /** Small, JSON-safe outcome (e.g. the snapshot id a pull produced); also kept when a job fails with a report. */
  result: unknown;
  log: string[];
}

export const isFinished = (status: JobStatus): boolean =>
  status === 'succeeded' || status === 'succeeded-with-warnings' || status === 'failed' || status === 'cancelled';

/** The job did its work (with or without warnings). */
export const isSuccess = (status: JobStatus): boolean => status === 'succeeded' || status === 'succeeded-with-warnings';
