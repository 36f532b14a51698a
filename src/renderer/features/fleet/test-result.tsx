import type { ReactNode } from 'react';
import { isFinished, type JobRecord } from '../../../shared/jobs';
import { describeError } from '../../lib/error-copy';
import { useStore } from '../../stores/store';
import { reportOf } from './connection-test';

/** The outcome of the latest connection test of a row: running phase, then each step. */
export function TestResult(props: { job: JobRecord }): ReactNode {
  const { job } = props;
  const report = reportOf(job);
  const lastError = useStore((s) => (job.installationId ? s.fleet.overview?.[job.installationId]?.lastError ?? null : null));
  if (!isFinished(job.status)) {
    return (
      <div className="test-summary" role="status">
        Testing… <span className="muted">{job.progress.phase}</span>
      </div>
    );
  }
  const ok = job.status === 'succeeded' && report?.ok !== false;
  const failure = job.error ? describeError(job.error).text : null;
  // The row already says it as its last error: said once, not twice in the same row.
  const repeated = failure !== null && lastError !== null && describeError({ code: 'INTERNAL', message: lastError }).text === failure;
  return (
    <details className="test-summary" open={!ok} data-code={job.error?.code} title={job.error ? `Error code ${job.error.code}` : undefined}>
      <summary>
        <span className={ok ? 'step-ok' : 'step-fail'}>{ok ? '✓ Connection test passed' : '✗ Connection test failed'}</span>
        {failure && !repeated ? <span className="muted">{failure}</span> : null}
      </summary>
      {report && report.steps.length > 0 ? (
        <ul className="steps" aria-label="Test steps">
          {report.steps.map((step, index) => (
            <li key={index}>
              <span className={step.ok ? 'step-ok' : 'step-fail'} aria-label={step.ok ? 'passed' : 'failed'}>
                {step.ok ? '✓' : '✗'}
              </span>
              <span>{step.name}</span>
              <span className="step-detail">{step.detail}</span>
              <span className="step-latency">{step.latencyMs !== undefined ? `${step.latencyMs} ms` : ''}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </details>
  );
}
