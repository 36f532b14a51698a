import type { ReactNode } from 'react';
import { TextWithTimes } from '../../components/when';
import { When } from '../../components/when';
import { isFinished, type JobKind } from '../../../shared/jobs';
import { ErrorMessage } from '../../components/error-message';
import { Pill } from '../../components/pill';
import { useStore } from '../../stores/store';
import { JobProgress, jobStatusLook, jobTook } from './job-progress';
import { CancelJobButton } from './cancel-job';

export const KIND_LABELS: Record<JobKind, string> = {
  'connection-test': 'Connection test',
  'fleet-refresh': 'Fleet refresh',
  'vault-init': 'Vault setup',
  'vault-import': 'Vault import',
  'vault-check': 'Vault check',
  'vault-forget': 'Forget snapshots',
  'vault-prune': 'Prune',
  pull: 'Backup pull',
  trigger: 'Trigger backup',
  preview: 'Preview',
  restore: 'Restore',
  drill: 'Restore drill',
};

/** One job: what, for whom, how far, how fast; cancel while it may be; error and log when done. */
export function JobRow(props: { id: string }): ReactNode {
  const job = useStore((s) => s.jobs.byId[props.id]);
  const installationName = useStore((s) =>
    job?.installationId ? s.fleet.installations?.find((i) => i.id === job.installationId)?.name : undefined,
  );
  if (!job) return null;

  const finished = isFinished(job.status);
  const look = jobStatusLook(job.status);

  return (
    <li className="job" data-job-id={job.id} aria-label={`${job.title}: ${look.label}`}>
      <div className="job-main">
        <span className="job-kind">{KIND_LABELS[job.kind]}</span>
        <div className="job-title">
          <strong>
            <TextWithTimes text={job.title} />
          </strong>
          <span className="muted">
            {installationName ?? (job.installationId ? 'removed installation' : 'vault')} · <When iso={job.createdAt} />
          </span>
        </div>
        <div className="job-status">
          <Pill tone={look.tone} pulse={job.status === 'running'}>
            {look.label}
          </Pill>
        </div>
        <div className="job-progress">
          {finished ? <span>{jobTook(job)}</span> : <JobProgress job={job} />}
        </div>
        <div className="job-actions">
          <CancelJobButton job={job} />
        </div>
      </div>
      {job.error || job.log.length > 0 ? (
        <div className="job-extra">
          {job.error && job.status === 'failed' ? <ErrorMessage error={job.error} /> : null}
          {job.log.length > 0 ? (
            <details className="job-log">
              <summary>Log ({job.log.length} line{job.log.length === 1 ? '' : 's'})</summary>
              <pre>{job.log.join('\n')}</pre>
            </details>
          ) : null}
        </div>
      ) : null}
    </li>
  );
}
