import type { ReactNode } from 'react';
import { TextWithTimes, When } from '../../components/when';
import type { AuditEntry } from '../../../shared/audit';
import { assertNever } from '../../../shared/errors';
import { ErrorMessage } from '../../components/error-message';
import { Pill, type PillTone } from '../../components/pill';
import { api } from '../../lib/api';
import { useReloading } from './use-reloading';

const ACTION_LABELS: Record<AuditEntry['action'], string> = {
  pull: 'Pull',
  import: 'Import',
  check: 'Check',
  forget: 'Forget',
  prune: 'Prune',
  restore: 'Restore',
  'restore-override': 'Restore override',
  'vault-init': 'Vault created',
  'lock-removed': 'Lock removed',
  drill: 'Restore drill',
  'drill-settings': 'Drill settings',
};

function outcomeTone(outcome: AuditEntry['outcome']): PillTone {
  switch (outcome) {
    case 'succeeded':
      return 'ok';
    case 'succeeded-with-warnings':
      return 'warn';
    case 'failed':
      return 'danger';
    case 'cancelled':
      return 'warn';
    default:
      return assertNever(outcome, 'audit outcome');
  }
}

const loadAudit = (): Promise<AuditEntry[]> => api.call('audit:list', { limit: 200 });

/** The append-only audit trail: what was done to which installation or snapshot, newest first. */
export function AuditTrail(): ReactNode {
  const { data, error } = useReloading(loadAudit);
  return (
    <section className="card activity-section" aria-labelledby="audit-h">
      <h2 id="audit-h">Audit trail</h2>
      {error ? <ErrorMessage error={error} title="Could not load the audit trail." /> : null}
      {!data && !error ? <p className="muted">Loading…</p> : null}
      {data?.length === 0 ? <p className="muted">Nothing recorded yet: pulls, imports, checks, retention and restores are recorded here.</p> : null}
      {data && data.length > 0 ? (
        <table className="data-table" aria-label="Audit trail">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Outcome</th>
              <th scope="col">Installation</th>
              <th scope="col">Snapshot</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {data.map((entry, i) => (
              <tr key={`${entry.at}-${i}`}>
                <td><When iso={entry.at} /></td>
                <td>
                  {ACTION_LABELS[entry.action]}
                  {entry.mode ? <span className="muted"> ({entry.mode})</span> : null}
                </td>
                <td>
                  <Pill tone={outcomeTone(entry.outcome)}>{entry.outcome}</Pill>
                </td>
                <td>{entry.installationName ?? entry.installationId ?? <span className="muted">—</span>}</td>
                <td>{entry.snapshotId ? <code>{entry.snapshotId.slice(0, 8)}</code> : <span className="muted">—</span>}</td>
                <td className="wrap-anywhere">{entry.detail ? <TextWithTimes text={entry.detail} /> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
