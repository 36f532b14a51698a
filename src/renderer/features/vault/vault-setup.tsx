import { useState, type FormEvent, type ReactNode } from 'react';
import { LifeboatError, toErrorPayload } from '../../../shared/errors';
import { EmptyState } from '../../components/empty-state';
import { ErrorMessage } from '../../components/error-message';
import { Field } from '../../components/field';
import { VaultIcon } from '../../components/icons';
import { api } from '../../lib/api';
import { useStore } from '../../stores/store';
import { useAction } from './use-action';

/** No vault yet: what it is, and "Create vault" when there is somewhere to keep its password. */
export function CreateVault(): ReactNode {
  const secrets = useStore((s) => s.system.info?.secrets);
  const create = useAction(async () => {
    await api.call('vault:init', {});
  });
  const canCreate = secrets !== undefined && secrets.kind !== 'unavailable';
  return (
    <EmptyState
      title="Create the vault"
      icon={<VaultIcon width={32} height={32} />}
      action={
        <button type="button" className="button button-primary" onClick={() => create.run()} disabled={!canCreate || create.busy}>
          {create.busy ? 'Creating…' : 'Create vault'}
        </button>
      }
    >
      <p>
        Every backup Lifeboat pulls is kept in the vault as a <strong>snapshot</strong>: split into chunks, deduplicated
        across all snapshots, compressed and encrypted. It is a standard restic repository, so the <code>restic</code>{' '}
        tool can open it without Lifeboat.
      </p>
      <p>Lifeboat makes a strong random password for it and keeps that password in the system keychain.</p>
      {secrets?.kind === 'unavailable' ? (
        <div className="alert alert-warn" role="note">
          <strong>No keychain is available</strong>, so the vault password would have nowhere to live. Turn on “Ask every time” above to create the vault for this session, then save the recovery kit at once:
          it holds the only copy of the password after Lifeboat stops.
        </div>
      ) : null}
      {secrets?.kind === 'ask-every-time' ? (
        <div className="alert alert-warn" role="note">
          Secrets are kept in memory for this session only: after you create the vault, download the recovery kit straight
          away — it holds the only lasting copy of the password.
        </div>
      ) : null}
      {create.error ? <ErrorMessage error={create.error} title="Could not create the vault." /> : null}
    </EmptyState>
  );
}

/** The vault exists but its password is not at hand: ask for it, and say plainly when it is wrong. */
export function UnlockVault(): ReactNode {
  const secrets = useStore((s) => s.system.info?.secrets);
  const status = useStore((s) => s.vault.status);
  const [password, setPassword] = useState('');
  const [remember, setRemember] = useState(true);
  const unlock = useAction(async (pw: string, keep: boolean) => {
    await api.call('vault:unlock', { password: pw, remember: keep });
  });
  const wrong = unlock.error instanceof LifeboatError && unlock.error.code === 'VAULT_WRONG_PASSWORD';
  const canRemember = secrets?.kind !== 'unavailable';

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (password) unlock.run(password, canRemember && remember);
  };

  return (
    <section className="card vault-unlock" aria-labelledby="vault-unlock-h">
      <h2 id="vault-unlock-h">Unlock the vault</h2>
      <p>
        The vault at <code>{status?.location}</code> is locked:{' '}
        {secrets?.kind === 'keychain' ? 'its password is not in the keychain.' : 'Lifeboat keeps no password across restarts without a keychain.'}{' '}
        Type the password from your recovery kit (the line starting with “Password:”).
      </p>
      {secrets ? <p className="muted">Secrets: {secrets.description}</p> : null}
      <form onSubmit={submit} className="vault-unlock-form">
        <Field label="Vault password" error={wrong ? 'Wrong password: it does not open this vault. Check the recovery kit and try again.' : undefined}>
          {(control) => (
            <input {...control} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} autoFocus />
          )}
        </Field>
        <label className="checkbox">
          <input type="checkbox" checked={canRemember && remember} disabled={!canRemember} onChange={(e) => setRemember(e.target.checked)} />
          {secrets?.kind === 'ask-every-time' ? 'Remember for this session' : 'Remember in the keychain'}
        </label>
        <div>
          <button type="submit" className="button button-primary" disabled={!password || unlock.busy}>
            {unlock.busy ? 'Unlocking…' : 'Unlock'}
          </button>
        </div>
      </form>
      {unlock.error && !wrong ? <ErrorMessage error={toErrorPayload(unlock.error)} title="Could not unlock the vault." action={null} /> : null}
    </section>
  );
}
