import { useEffect, useState, type ReactNode } from 'react';
import type { InterruptedRestore } from '../../../shared/apps';
import { api } from '../../lib/api';
import { ErrorMessage } from '../../components/error-message';
import { fleetHref } from '../fleet/sub-route';

const PHASE_LABEL: Record<InterruptedRestore['phase'], string> = {
  plan: 'planning',
  'safety-pull': 'safety pull',
  restoring: 'restoring',
  verifying: 'verifying',
};

const STATE_LABEL: Record<InterruptedRestore['targetState'], string> = {
  unchanged: 'unchanged',
  partial: 'partially restored, state unknown',
  'restored-unverified': 'restored, not verified',
};

/**
 * Restores Lifeboat found interrupted at its start (it was killed while one ran): what, in which
 * phase, the state of the target, the safety snapshot to restore; shown until acknowledged.
 */
export function InterruptedRestoresBanner(): ReactNode {
  const [list, setList] = useState<InterruptedRestore[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.call('restore:interrupted', {}).then(setList, setError);
  }, []);
  const acknowledge = (restoreId: string): void => {
    setError(null);
    api.call('restore:acknowledge-interrupted', { restoreId }).then(setList, setError);
  };
  if (list.length === 0 && !error) return null;
  return (
    <>
      {error ? <ErrorMessage error={error} /> : null}
      {list.map((r) => (
        <div key={r.restoreId} className="banner banner-danger" role="alert" aria-label={`Interrupted restore of ${r.installationName}`}>
          <div>
            <strong>{r.summary}</strong>
            <div className="banner-detail">
              Phase: {PHASE_LABEL[r.phase]} (since {new Date(r.phaseStartedAt).toLocaleString()}). Target: {STATE_LABEL[r.targetState]}.
            </div>
            <div className="banner-detail">{r.advice}</div>
          </div>
          <div className="banner-actions">
            {r.safetySnapshotId ? (
              <a className="button button-primary" href={fleetHref.restore(r.installationId, r.safetySnapshotId)}>
                Restore the safety snapshot…
              </a>
            ) : null}
            <button type="button" className="button" onClick={() => acknowledge(r.restoreId)}>
              Acknowledge
            </button>
          </div>
        </div>
      ))}
    </>
  );
}
