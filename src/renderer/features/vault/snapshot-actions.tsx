import { useState, type ReactNode } from 'react';
import type { SnapshotView } from '../../../shared/vault';
import { ConfirmDialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { api, downloadSnapshotArchive, transportKind } from '../../lib/api';
import { useStore } from '../../stores/store';
import { fleetHref } from '../fleet/sub-route';
import { RestoreBlockedNote } from '../fleet/restore-blocked';
import { snapshotName } from './snapshot-labels';
import { useAction } from './use-action';

/**
 * What can be done with a snapshot, at the top of its details: preview it, restore it into the
 * installation it came from (when that installation is still in the fleet and can restore), export
 * its archive as a file, and forget it (after a confirmation). Drills have their own section below.
 */
export function SnapshotActions(props: { snapshot: SnapshotView }): ReactNode {
  const { snapshot } = props;
  const installation = useStore((s) => (snapshot.installationId ? s.fleet.installations?.find((i) => i.id === snapshot.installationId) : undefined));
  const capabilities = useStore((s) => (snapshot.installationId ? s.fleet.overview?.[snapshot.installationId]?.capabilities : undefined));
  const canRestore = capabilities?.restore === true;
  const [confirmForget, setConfirmForget] = useState(false);
  const archive = snapshot.archive;
  const exportFile = useAction(async () => {
    if (archive) await downloadSnapshotArchive(snapshot.id, archive.name);
  });
  const forget = useAction(async () => {
    await api.call('vault:forget-snapshot', { snapshotId: snapshot.id });
    setConfirmForget(false);
  });
  const label = snapshot.shortId;
  return (
    <>
      <div className="snapshot-actions" role="group" aria-label={`Actions for snapshot ${label}`}>
        <a className="button button-small button-primary" href={fleetHref.preview(snapshot.id)} aria-label={`Preview snapshot ${label}`}>
          Preview
        </a>
        {installation && canRestore ? (
          <a className="button button-small" href={fleetHref.restore(installation.id, snapshot.id)} aria-label={`Restore snapshot ${label} into ${installation.name}…`}>
            Restore…
          </a>
        ) : null}
        {archive && transportKind() === 'twin' ? (
          <button type="button" className="button button-small" onClick={() => exportFile.run()} disabled={exportFile.busy} aria-label={`Export file ${archive.name} from snapshot ${label}`}>
            {exportFile.busy ? 'Exporting…' : 'Export file'}
          </button>
        ) : null}
        <button type="button" className="button button-small button-danger-quiet" onClick={() => setConfirmForget(true)} aria-label={`Forget snapshot ${label}…`}>
          Forget…
        </button>
      </div>
      {installation && canRestore ? null : installation && capabilities ? (
        <RestoreBlockedNote installation={installation} notes={capabilities.notes} />
      ) : (
        <span className="muted snapshot-actions-note">Its installation is not in the fleet: preview it, or open the file to restore it elsewhere.</span>
      )}
      {exportFile.error ? <ErrorMessage error={exportFile.error} title="Could not export the file." /> : null}
      {confirmForget ? (
        <ConfirmDialog title={`Forget snapshot ${label}?`} confirmLabel="Forget snapshot" busy={forget.busy} onCancel={() => setConfirmForget(false)} onConfirm={() => forget.run()}>
          <p>
            The vault stops keeping “{snapshotName(snapshot)}” from {snapshot.hostname}: it can no longer be previewed, restored or exported.
            Its space is freed by the next “Free space” run. The installation’s own copy, if it still has one, is not touched.
          </p>
          {forget.error ? <ErrorMessage error={forget.error} title="Could not forget it." /> : null}
        </ConfirmDialog>
      ) : null}
    </>
  );
}
