import type { ReactNode } from 'react';
import { TextWithTimes } from '../../components/when';
import { assertNever } from '../../../shared/errors';
import { isFinished, type JobRecord, type JobStatus } from '../../../shared/jobs';
import { ErrorMessage } from '../../components/error-message';
import { Pill, type PillTone } from '../../components/pill';
import { ProgressBar } from '../../components/progress-bar';
import { formatBytes, formatDuration, formatRate } from '../../lib/format';
import { CancelJobButton } from './cancel-job';

/** A running job's bar and figures: step, bytes of total, rate, time left (from the job record). */
export function JobProgress(props: { job: JobRecord }): ReactNode {
  const { job } = props;
  const { progress } = job;
  return (
    <>
      <ProgressBar value={progress.bytes} total={progress.total} label={`${job.title} progress`} />
      <span className="job-figures">
        <span>
          <TextWithTimes text={progress.phase || 'starting'} />
        </span>
        {progress.bytes > 0 || progress.total ? (
          <span>
            {formatBytes(progress.bytes)}
            {progress.total ? ` / ${formatBytes(progress.total)}` : ''}
          </span>
        ) : null}
        {progress.rate ? <span>{formatRate(progress.rate)}</span> : null}
        {progress.etaSeconds !== null ? <span>ETA {formatDuration(progress.etaSeconds)}</span> : null}
      </span>
    </>
  );
}

/** "took 2.1 s · 6.4 KiB" for a finished job. */
export function jobTook(job: JobRecord): string {
  const took = job.finishedAt && job.startedAt ? `took ${formatDuration((new Date(job.finishedAt).getTime() - new Date(job.startedAt).getTime()) / 1000)}` : '';
  return [took, job.progress.bytes > 0 ? formatBytes(job.progress.bytes) : ''].filter(Boolean).join(' · ');
}

/** The pill a job status shows as. */
export function jobStatusLook(status: JobStatus): { tone: PillTone; label: string } {
  switch (status) {
    case 'queued':
      return { tone: 'neutral', label: 'Queued' };
    case 'running':
      return { tone: 'info', label: 'Running' };
    case 'succeeded':
      return { tone: 'ok', label: 'Succeeded' };
    case 'succeeded-with-warnings':
      return { tone: 'warn', label: 'Done, with warnings' };
    case 'failed':
      return { tone: 'danger', label: 'Failed' };
    case 'cancelled':
      return { tone: 'warn', label: 'Cancelled' };
    default:
      return assertNever(status, 'job status');
  }
}

/**
 * A job inline in the page that started it: title, status, live progress while it runs, how long
 * it took and its error once done. `children` shows the result (e.g. a check report).
 */
export function JobSummary(props: {
  job: JobRecord;
  children?: ReactNode;
  /** A short line shown next to the status (e.g. the snapshot an import made). */
  note?: ReactNode;
  /** False for jobs whose progress counts items rather than bytes, so "took" names no size. */
  showBytes?: boolean;
  /** False where the page offers its own, more specific cancel (the restore's point of no return). */
  cancel?: boolean;
}): ReactNode {
  const { job } = props;
  const look = jobStatusLook(job.status);
  const finished = isFinished(job.status);
  return (
    <div className="job-summary" data-job-id={job.id} aria-label={`${job.title}: ${look.label}`} role="group">
      <div className="job-summary-head">
        <strong>
          <TextWithTimes text={job.title} />
        </strong>
        <Pill tone={look.tone} pulse={job.status === 'running'}>
          {look.label}
        </Pill>
        {finished ? <span className="muted">{props.showBytes === false ? jobTook({ ...job, progress: { ...job.progress, bytes: 0 } }) : jobTook(job)}</span> : null}
        {props.note ? <span className="muted">{props.note}</span> : null}
      </div>
      {finished ? null : (
        <div className="job-progress">
          <JobProgress job={job} />
          {props.cancel === false ? null : <CancelJobButton job={job} />}
        </div>
      )}
      {job.error && job.status === 'failed' ? <ErrorMessage error={job.error} /> : null}
      {props.children}
    </div>
  );
}
