import type { ReactNode } from 'react';
import { isFinished, type JobRecord } from '../../../shared/jobs';
import { reportOf } from './connection-test';

/** The outcome of the latest connection test of a row: running phase, then each step. */
export function TestResult(props: { job: JobRecord }): ReactNode {
  const { job } = props;
  const report = reportOf(job);
  if (!isFinished(job.status)) {
    return (
      <div className="test-summary" role="status">
        Testing… <span className="muted">{job.progress.phase}</span>
      </div>
    );
  }
  const ok = job.status === 'succeeded' && report?.ok !== false;
  return (
    <details className="test-summary" open={!ok}>
      <summary>
        <span className={ok ? 'step-ok' : 'step-fail'}>{ok ? '✓ Connection test passed' : '✗ Connection test failed'}</span>
        {job.error ? <span className="muted">{job.error.message}</span> : null}
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
      {job.error ? (
        <p className="muted">
          Error code <code>{job.error.code}</code>
        </p>
      ) : null}
    </details>
  );
}
