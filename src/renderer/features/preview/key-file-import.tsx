import { useState, type ReactNode } from 'react';
import type { KeyFileImport } from '../../../shared/apps';
import { ErrorMessage } from '../../components/error-message';
import { api, pathForFile, uploadFile } from '../../lib/api';
import { useStore } from '../../stores/store';

/**
 * "Import DBackup Recovery Kit…": a file chooser for a key file an app exports. With an
 * installation the keys go to its keychain slots; without one they are kept for this session,
 * a key the file does not name a slot for going to `slot` (the one a preview asked for).
 */
export function KeyFileImportButton(props: { app: string; installationId?: string; slot?: string; onImported?: (result: KeyFileImport) => void; children?: ReactNode }): ReactNode {
  const module = useStore((s) => s.system.modules.find((m) => m.kind === props.app));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<KeyFileImport | null>(null);
  if (!module?.keyFile) return null;
  const label = module.keyFile.label;

  const take = async (file: File): Promise<void> => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const localPath = pathForFile(file);
      const source = localPath ? { path: localPath } : await uploadFile(file).then((u) => ({ uploadId: u.uploadId, name: u.name }));
      const imported = await api.call('apps:import-key-file', {
        source,
        app: props.app,
        ...(props.installationId ? { installationId: props.installationId } : {}),
        ...(props.slot ? { slot: props.slot } : {}),
      });
      setResult(imported);
      props.onImported?.(imported);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="key-file-import">
      {props.children}
      <label className={`button button-small${busy ? ' button-disabled' : ''}`}>
        {busy ? `Reading the ${label}…` : `Import ${label}…`}
        <input
          type="file"
          className="visually-hidden"
          accept=".zip,application/zip"
          disabled={busy}
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = '';
            if (file) void take(file);
          }}
        />
      </label>
      {result ? (
        <p className="muted" role="status">
          {result.kept === 'keychain' ? 'Stored with the installation’s secrets' : 'Kept in memory for this session'}: {result.keys.map((k) => k.label).join('; ')}.
          {result.unplaced.length ? ` Not placed (the kit does not say which profile): ${result.unplaced.join('; ')}.` : ''}
        </p>
      ) : null}
      {error ? <ErrorMessage error={error} title={`The ${label} was not imported.`} /> : null}
    </div>
  );
}
