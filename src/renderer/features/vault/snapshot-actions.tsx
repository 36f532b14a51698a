import type { ReactNode } from 'react';
import type { SnapshotView } from '../../../shared/vault';
import { useStore } from '../../stores/store';
import { fleetHref } from '../fleet/sub-route';
import { RestoreBlockedNote } from '../fleet/restore-blocked';

/**
 * What can be done with a snapshot, at the top of its details: preview it, and restore it into the
 * installation it came from (when that installation is still in the fleet and can restore).
 */
export function SnapshotActions(props: { snapshot: SnapshotView }): ReactNode {
  const { snapshot } = props;
  const installation = useStore((s) => (snapshot.installationId ? s.fleet.installations?.find((i) => i.id === snapshot.installationId) : undefined));
  const capabilities = useStore((s) => (snapshot.installationId ? s.fleet.overview?.[snapshot.installationId]?.capabilities : undefined));
  const canRestore = capabilities?.restore === true;
  const label = snapshot.shortId;
  return (
    <div className="snapshot-actions" role="group" aria-label={`Actions for snapshot ${label}`}>
      <a className="button button-small button-primary" href={fleetHref.preview(snapshot.id)} aria-label={`Preview snapshot ${label}`}>
        Preview
      </a>
      {installation && canRestore ? (
        <a className="button button-small" href={fleetHref.restore(installation.id, snapshot.id)} aria-label={`Restore snapshot ${label} into ${installation.name}…`}>
          Restore…
        </a>
      ) : installation && capabilities ? (
        <RestoreBlockedNote installation={installation} notes={capabilities.notes} />
      ) : (
        <span className="muted snapshot-actions-note">Its installation is not in the fleet: preview it, or open the file to restore it elsewhere.</span>
      )}
    </div>
  );
}
