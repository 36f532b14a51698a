import { useEffect, useState, type ReactNode } from 'react';
import { When } from '../../components/when';
import type { RemoteBackup } from '../../../shared/apps';
import type { Installation } from '../../../shared/installations';
import { Dialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';
import { formatBytes } from '../../lib/format';
import { CodeForm, codeRequiredOf } from './code-dialog';

/**
 * "Pull…": the backups on the installation, newest first, with size, date and whether the vault
 * already holds them; pulling one closes the dialog and the row shows the pull's progress.
 */
export function PullDialog(props: { installation: Installation; onPull: (remoteId: string) => void; onClose: () => void }): ReactNode {
  const { installation } = props;
  const [backups, setBackups] = useState<RemoteBackup[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Bumped after the operator typed a code, to list again.
  const [attempt, setAttempt] = useState(0);
  const codeError = codeRequiredOf(error);

  useEffect(() => {
    let live = true;
    api.call('apps:list-remote', { installationId: installation.id }).then(
      (list) => live && setBackups(list),
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [installation.id, attempt]);

  return (
    <Dialog title={`Backups on ${installation.name}`} onClose={props.onClose} wide footer={<button type="button" className="button" onClick={props.onClose}>Close</button>}>
      {codeError ? (
        <CodeForm
          installation={installation}
          error={codeError}
          submitLabel="List backups"
          onProvided={() => {
            setError(null);
            setAttempt((n) => n + 1);
          }}
        />
      ) : error ? (
        <ErrorMessage error={error} title="Could not list the backups." />
      ) : null}
      {backups === null && !error ? <p className="muted" role="status">Listing backups on {installation.name}…</p> : null}
      {backups?.length === 0 ? <p>There are no backups on {installation.name} yet. “Run backup now” makes one.</p> : null}
      {backups && backups.length > 0 ? (
        <table className="data-table" aria-label="Remote backups">
          <thead>
            <tr>
              <th scope="col">Backup</th>
              <th scope="col">Made</th>
              <th scope="col" className="num">Size</th>
              <th scope="col">In vault</th>
              <th scope="col">
                <span className="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {backups.map((b) => (
              <tr key={b.id}>
                <td className="mono wrap-anywhere">{b.name}</td>
                <td>{b.createdAt ? <When iso={b.createdAt} /> : '—'}</td>
                <td className="num">{b.sizeBytes === null ? '—' : formatBytes(b.sizeBytes)}</td>
                <td>{b.inVault ? <span className="step-ok" title={b.inVault}>✓ {b.inVault.slice(0, 8)}</span> : <span className="muted">no</span>}</td>
                <td className="num">
                  <button type="button" className="button button-small" onClick={() => props.onPull(b.id)} aria-label={`Pull ${b.name}`}>
                    Pull
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Dialog>
  );
}
