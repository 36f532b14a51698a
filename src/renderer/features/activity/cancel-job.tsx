import { useState, type ReactNode } from 'react';
import { isFinished, type JobRecord } from '../../../shared/jobs';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';

/** Cancel, beside a running job's progress bar, while the job may still be cancelled. */
export function CancelJobButton(props: { job: JobRecord }): ReactNode {
  const { job } = props;
  const [cancelling, setCancelling] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (isFinished(job.status) || !job.cancellable) return null;

  const cancel = async (): Promise<void> => {
    setCancelling(true);
    setError(null);
    try {
      await api.call('jobs:cancel', { id: job.id });
    } catch (e) {
      setError(e);
      setCancelling(false);
    }
  };

  return (
    <>
      <button type="button" className="button button-small" onClick={() => void cancel()} disabled={cancelling} aria-label={`Cancel ${job.title}`}>
        {cancelling ? 'Cancelling…' : 'Cancel'}
      </button>
      {error ? <ErrorMessage error={error} title="Could not cancel:" /> : null}
    </>
  );
}
