/** The restore wizard's steps and choices: the same order as `lifeboat restore` in the CLI. */
import type { ArchiveSourceRef, RestoreMode, RestorePlan, RestoreReport } from '../../../shared/apps';
import { isFinished, isSuccess, type JobRecord } from '../../../shared/jobs';
import type { SnapshotView } from '../../../shared/vault';
import type { PickedFile } from '../preview/archive-file-picker';

export const STEPS = [
  { id: 'source', label: 'Source' },
  { id: 'target', label: 'Target' },
  { id: 'mode', label: 'Mode' },
  { id: 'plan', label: 'Plan' },
  { id: 'safety', label: 'Safety pull' },
  { id: 'confirm', label: 'Confirm' },
  { id: 'run', label: 'Restore' },
  { id: 'report', label: 'Report' },
] as const;
export type StepId = (typeof STEPS)[number]['id'];

/** Where the archive comes from: a vault snapshot or a local file. */
export type WizardSource = { kind: 'snapshot'; snapshot: SnapshotView } | { kind: 'file'; file: PickedFile };

/** Everything chosen so far. */
export interface WizardChoices {
  source: WizardSource | null;
  targetId: string;
  /** The operator confirmed restoring another installation's backup into the target. */
  crossConfirmed: boolean;
  mode: RestoreMode;
  /** The conflict policy, when the target's module has them; null: its default. */
  conflict: string | null;
  selection: string[];
  skipSafetyPull: boolean;
  skipReason: string;
}

/** The command's name for the chosen source. */
export function sourceRef(source: WizardSource): ArchiveSourceRef {
  return source.kind === 'snapshot' ? { snapshotId: source.snapshot.id } : source.file.source;
}

/** True when the snapshot came from an installation other than the target. */
export function isCrossInstallation(choices: WizardChoices): boolean {
  const from = choices.source?.kind === 'snapshot' ? choices.source.snapshot.installationId : null;
  return from !== null && from !== choices.targetId;
}

/** The core needs a reason of at least five characters to skip the safety pull. */
export const SKIP_REASON_MIN = 5;

/** A finished plan job's RestorePlan, when it has the expected shape. */
export function planOf(job: JobRecord | undefined): RestorePlan | null {
  if (!job || !isSuccess(job.status)) return null;
  const r = job.result as Partial<RestorePlan> | null;
  return r && typeof r.id === 'string' && Array.isArray(r.preflight) && Array.isArray(r.changes) ? (r as RestorePlan) : null;
}

/** A finished restore job's RestoreReport (a failed restore keeps one too), when it has the expected shape. */
export function reportOf(job: JobRecord | undefined): RestoreReport | null {
  if (!job || !isFinished(job.status)) return null;
  const r = job.result as Partial<RestoreReport> | null;
  return r && typeof r.ok === 'boolean' && Array.isArray(r.checks) ? (r as RestoreReport) : null;
}
