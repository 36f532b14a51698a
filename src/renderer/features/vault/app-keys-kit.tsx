import { useState, type FormEvent, type ReactNode } from 'react';
import { Dialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';
import { saveBlob } from '../../lib/save-file';
import { useAction } from './use-action';

const MIN_PASSPHRASE = 16;

/** Hands a text file to the browser as a download. */
function download(fileName: string, text: string): void {
  saveBlob(new Blob([text], { type: 'text/plain;charset=utf-8' }), fileName);
}

/**
 * "Recovery kit with app keys…": after a warning, the kit that also carries every key that opens
 * an app's archives, encrypted with age to a passphrase the operator types twice.
 */
export function AppKeysKitButton(): ReactNode {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="button" onClick={() => setOpen(true)}>
        Recovery kit with app keys…
      </button>
      {open ? <AppKeysKitDialog onClose={() => setOpen(false)} /> : null}
    </>
  );
}

function AppKeysKitDialog(props: { onClose: () => void }): ReactNode {
  const [passphrase, setPassphrase] = useState('');
  const [again, setAgain] = useState('');
  const [understood, setUnderstood] = useState(false);
  const [made, setMade] = useState<{ fileName: string; count: number } | null>(null);
  const action = useAction(async () => {
    const kit = await api.call('vault:recovery-kit', { appKeys: { passphrase } });
    download(kit.fileName, kit.text);
    setMade({ fileName: kit.fileName, count: kit.appKeyCount ?? 0 });
    setPassphrase('');
    setAgain('');
  });
  const tooShort = passphrase.length < MIN_PASSPHRASE;
  const mismatch = again !== '' && again !== passphrase;
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (!tooShort && !mismatch && understood) action.run();
  };
  const formId = 'app-keys-kit-form';
  return (
    <Dialog
      title="Recovery kit with app keys"
      tone="danger"
      onClose={props.onClose}
      footer={
        made ? (
          <button type="button" className="button button-primary" onClick={props.onClose}>
            Done
          </button>
        ) : (
          <>
            <button type="button" className="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="submit" form={formId} className="button button-danger" disabled={tooShort || mismatch || again === '' || !understood || action.busy}>
              {action.busy ? 'Encrypting…' : 'Make and download the kit'}
            </button>
          </>
        )
      }
    >
      {made ? (
        <div role="status">
          <p>
            Downloaded <code>{made.fileName}</code>: the vault kit and {made.count} app key{made.count === 1 ? '' : 's'}, encrypted with age.
          </p>
          <p className="muted">
            Open it with <code>age -d -o kit.txt {made.fileName}</code> and the passphrase, or import it into a new Lifeboat with{' '}
            <code>lifeboat vault import-kit {made.fileName}</code>. Keep the passphrase apart from the file.
          </p>
        </div>
      ) : (
        <form id={formId} onSubmit={submit}>
          <div className="alert alert-danger">
            <strong>This kit opens everything.</strong> Besides the vault password it carries every key Lifeboat holds that opens
            an app&rsquo;s own backups (Loomio BACKUP_ENCRYPTION_KEYs, DBackup encryption-profile master keys), named by installation
            and profile. Whoever has the file and its passphrase can read every backup, in the vault and on the servers.
          </div>
          <p className="muted">
            The whole kit is one <a href="https://age-encryption.org" target="_blank" rel="noreferrer">age</a> file encrypted to the
            passphrase below, with a README on opening each app&rsquo;s archives by hand. Lifeboat does not keep the passphrase: lose
            it and the kit is useless.
          </p>
          <label className="field">
            <span>Passphrase (at least {MIN_PASSPHRASE} characters; a few words)</span>
            <input type="password" autoComplete="new-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} data-autofocus />
          </label>
          <label className="field">
            <span>The same passphrase again</span>
            <input type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} />
            {mismatch ? <span className="field-error">The two passphrases differ.</span> : null}
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={understood} onChange={(e) => setUnderstood(e.target.checked)} />
            <span>I understand this file and its passphrase together give access to every backup.</span>
          </label>
          {action.error ? <ErrorMessage error={action.error} title="The kit was not made." /> : null}
        </form>
      )}
    </Dialog>
  );
}
