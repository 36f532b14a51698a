import { useState, type FormEvent, type ReactNode } from 'react';
import type { KitContents, KitImportReport } from '../../../shared/vault';
import { Dialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';
import { ArchiveFilePicker, type PickedFile } from '../preview/archive-file-picker';
import { useAction } from './use-action';

/**
 * "Import a recovery kit with app keys…": the age-encrypted kit file and its passphrase; the
 * kit is opened first and what it would import is shown (the vault, the app keys per
 * installation and profile), then imported on the operator's word.
 */
export function KitImportButton(): ReactNode {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="button" onClick={() => setOpen(true)}>
        Import a recovery kit…
      </button>
      {open ? <KitImportDialog onClose={() => setOpen(false)} /> : null}
    </>
  );
}

function KitImportDialog(props: { onClose: () => void }): ReactNode {
  const [file, setFile] = useState<PickedFile | null>(null);
  const [passphrase, setPassphrase] = useState('');
  const [contents, setContents] = useState<KitContents | null>(null);
  const [report, setReport] = useState<KitImportReport | null>(null);
  const source = file && !('snapshotId' in file.source) ? file.source : null;
  const open = useAction(async () => {
    if (!source) return;
    setContents(await api.call('vault:inspect-kit', { source, passphrase }));
  });
  const take = useAction(async () => {
    if (!source) return;
    setReport(await api.call('vault:import-kit', { source, passphrase }));
    setPassphrase('');
  });
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (file && passphrase) open.run();
  };
  const formId = 'kit-import-form';
  const footer = report ? (
    <button type="button" className="button button-primary" onClick={props.onClose}>
      Done
    </button>
  ) : contents ? (
    <>
      <button type="button" className="button" onClick={props.onClose}>
        Cancel
      </button>
      <button type="button" className="button button-danger" disabled={take.busy} onClick={() => take.run()}>
        {take.busy ? 'Importing…' : 'Import these keys'}
      </button>
    </>
  ) : (
    <>
      <button type="button" className="button" onClick={props.onClose}>
        Cancel
      </button>
      <button type="submit" form={formId} className="button button-primary" disabled={!file || passphrase === '' || open.busy}>
        {open.busy ? 'Opening…' : 'Open the kit'}
      </button>
    </>
  );
  return (
    <Dialog title="Import a recovery kit" onClose={props.onClose} footer={footer}>
      {report ? (
        <div role="status" data-testid="kit-import-report">
          <p>{report.vault.detail}</p>
          <ul className="stacked-list">
            {report.installations.map((i) => (
              <li key={i.installationId}>
                <strong>{i.name}</strong> ({i.app}): {i.keys.length} key{i.keys.length === 1 ? '' : 's'} stored{i.created ? ' on a new installation (enter its connection secrets on the Fleet page)' : ''}.
              </li>
            ))}
          </ul>
        </div>
      ) : contents ? (
        <div data-testid="kit-contents">
          <p className="muted">Made {contents.createdAt}. Nothing has changed yet.</p>
          <h3>Vault</h3>
          <p>
            {contents.vault
              ? contents.vault.isThisVault
                ? `This Lifeboat's own vault (${contents.vault.id.slice(0, 8)}): its password is stored again.`
                : contents.thisVaultId
                  ? `Another vault (${contents.vault.id.slice(0, 8)} at ${contents.vault.location}): this Lifeboat keeps its own; the kit's password is not used.`
                  : `The vault ${contents.vault.id.slice(0, 8)} at ${contents.vault.location}, with its password: this Lifeboat takes it over.`
              : 'The kit carries no vault.'}
          </p>
          <h3>App keys</h3>
          {contents.installations.length === 0 ? (
            <p className="muted">No app keys.</p>
          ) : (
            <ul className="stacked-list">
              {contents.installations.map((i) => (
                <li key={`${i.app}:${i.name}`}>
                  <strong>{i.name}</strong> ({i.app}) — {i.existingName ? `onto the installation ${i.existingName}` : 'a new installation (its connection secrets are not in the kit)'}
                  <ul>
                    {i.keys.map((k) => (
                      <li key={k}>{k}</li>
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
          )}
          {take.error ? <ErrorMessage error={take.error} title="The kit was not imported." /> : null}
        </div>
      ) : (
        <form id={formId} onSubmit={submit}>
          <p className="muted">
            The kit is the <code>.age</code> file &ldquo;Recovery kit with app keys&rdquo; made. It is opened here first: you see what it holds before anything is stored.
          </p>
          <ArchiveFilePicker label="Choose the kit file…" onPicked={setFile} />
          {file ? <p className="muted">Kit: {file.name}</p> : null}
          <label className="field">
            <span>The kit&rsquo;s passphrase</span>
            <input type="password" autoComplete="off" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
          </label>
          {open.error ? <ErrorMessage error={open.error} title="The kit could not be opened." /> : null}
        </form>
      )}
    </Dialog>
  );
}
