import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { When } from '../../components/when';
import type { VaultLockView } from '../../../shared/vault';
import { ConfirmDialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { Pill } from '../../components/pill';
import { api } from '../../lib/api';
import { useStore } from '../../stores/store';
import { useAction } from './use-action';

/**
 * Locks in the vault. Locks come and go without a vault:changed event, so the list reloads on
 * vault changes and on "Refresh", not on a timer. Only stale locks can be removed, after a confirm.
 */
export function LocksPanel(): ReactNode {
  const revision = useStore((s) => s.vault.revision);
  const [locks, setLocks] = useState<VaultLockView[] | null>(null);
  const [removing, setRemoving] = useState<VaultLockView | null>(null);
  const load = useAction(
    useCallback(async () => {
      setLocks(await api.call('vault:locks', {}));
    }, []),
  );
  const remove = useAction(async (lockId: string) => {
    setLocks(await api.call('vault:remove-lock', { lockId }));
    setRemoving(null);
  });
  const { run: reload } = load;
  useEffect(() => reload(), [reload, revision]);

  return (
    <section className="card" aria-labelledby="vault-locks-h">
      <div className="vault-section-head">
        <h2 id="vault-locks-h">Locks</h2>
        <span className="spacer" />
        <button type="button" className="button button-small" onClick={() => reload()} disabled={load.busy}>
          Refresh
        </button>
      </div>
      {load.error ? <ErrorMessage error={load.error} title="Could not list the locks." /> : null}
      {locks === null && !load.error ? <p className="muted">Loading…</p> : null}
      {locks?.length === 0 ? <p className="muted">No locks: nothing is writing to the vault right now.</p> : null}
      {locks && locks.length > 0 ? (
        <ul className="vault-locks" aria-label="Locks">
          {locks.map((lock) => (
            <li key={lock.id} aria-label={`Lock ${lock.id.slice(0, 8)}`}>
              <div className="vault-lock-head">
                <code>{lock.id.slice(0, 8)}</code>
                <Pill tone={lock.stale ? 'warn' : 'info'}>{lock.stale ? 'stale' : 'active'}</Pill>
                <span className="muted">
                  {lock.exclusive ? 'exclusive' : 'shared'} · {lock.username}@{lock.hostname} · pid {lock.pid} · <When iso={lock.time} />
                </span>
                <span className="spacer" />
                {lock.stale ? (
                  <button type="button" className="button button-small" onClick={() => setRemoving(lock)} aria-label={`Remove lock ${lock.id.slice(0, 8)}`}>
                    Remove
                  </button>
                ) : null}
              </div>
              <p>{lock.explanation}</p>
            </li>
          ))}
        </ul>
      ) : null}
      {removing ? (
        <ConfirmDialog
          title={`Remove lock ${removing.id.slice(0, 8)}?`}
          confirmLabel="Remove lock"
          onConfirm={() => remove.run(removing.id)}
          onCancel={() => {
            remove.clearError();
            setRemoving(null);
          }}
          busy={remove.busy}
        >
          <blockquote className="vault-quote">{removing.explanation}</blockquote>
          <p>Remove it only if no other program is working on this vault: removing a live lock can damage snapshots being written.</p>
          {remove.error ? <ErrorMessage error={remove.error} title="Could not remove the lock." /> : null}
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
