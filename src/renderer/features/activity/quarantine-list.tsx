import { useState, type ReactNode } from 'react';
import { When, TextWithTimes } from '../../components/when';
import type { QuarantineEntry } from '../../../shared/apps';
import { ConfirmDialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';
import { formatBytes } from '../../lib/format';
import { useReloading } from './use-reloading';

const loadQuarantine = (): Promise<QuarantineEntry[]> => api.call('apps:quarantine', {});

/** Downloads that failed verification: why, which checks failed, from where; delete after a confirm. */
export function QuarantineList(): ReactNode {
  const { data, error, reload } = useReloading(loadQuarantine);
  const [deleting, setDeleting] = useState<QuarantineEntry | null>(null);
  const [busy, setBusy] = useState(false);
  const [deleteError, setDeleteError] = useState<unknown>(null);

  const confirmDelete = async (entry: QuarantineEntry): Promise<void> => {
    setBusy(true);
    setDeleteError(null);
    try {
      await api.call('apps:quarantine-delete', { id: entry.id });
      setDeleting(null);
      reload();
    } catch (e) {
      setDeleteError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card activity-section" aria-labelledby="quarantine-h">
      <h2 id="quarantine-h">Quarantine</h2>
      {error ? <ErrorMessage error={error} title="Could not load the quarantine." /> : null}
      {data?.length === 0 ? <p className="muted">No quarantined downloads: every pulled backup passed verification.</p> : null}
      {data && data.length > 0 ? (
        <ul className="quarantine-list" aria-label="Quarantined downloads">
          {data.map((entry) => (
            <li key={entry.id} aria-label={`Quarantined ${entry.fileName}`}>
              <div className="quarantine-head">
                <strong className="wrap-anywhere">{entry.fileName}</strong>
                <span className="muted">
                  from {entry.installationName} · <When iso={entry.at} />
                  {entry.sizeBytes !== null ? ` · ${formatBytes(entry.sizeBytes)}` : ''}
                </span>
                <span className="spacer" />
                <button type="button" className="button button-small" onClick={() => setDeleting(entry)} aria-label={`Delete quarantined ${entry.fileName}`}>
                  Delete
                </button>
              </div>
              <p className="quarantine-reason"><TextWithTimes text={entry.reason} /></p>
              {entry.checks.some((c) => !c.ok) ? (
                <ul className="quarantine-checks" aria-label="Failed checks">
                  {entry.checks
                    .filter((c) => !c.ok)
                    .map((c) => (
                      <li key={c.name}>
                        <strong>{c.name}</strong>: <TextWithTimes text={c.detail} />
                      </li>
                    ))}
                </ul>
              ) : null}
              <p className="muted quarantine-meta">
                Backup <code>{entry.remoteId}</code>
                {entry.sha256 ? (
                  <>
                    {' '}
                    · SHA-256 <code className="wrap-anywhere">{entry.sha256}</code>
                  </>
                ) : null}
                {entry.keptFiles.length > 0 ? ` · kept for inspection: ${entry.keptFiles.join(', ')}` : ''}
              </p>
            </li>
          ))}
        </ul>
      ) : null}
      {deleting ? (
        <ConfirmDialog
          title={`Delete quarantined ${deleting.fileName}?`}
          confirmLabel="Delete"
          busy={busy}
          onConfirm={() => void confirmDelete(deleting)}
          onCancel={() => {
            setDeleteError(null);
            setDeleting(null);
          }}
        >
          <p>
            This deletes the record of the failed download from {deleting.installationName} and the pieces kept for inspection.
            The backup on the installation itself is not touched.
          </p>
          {deleteError ? <ErrorMessage error={deleteError} title="Could not delete it." /> : null}
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
