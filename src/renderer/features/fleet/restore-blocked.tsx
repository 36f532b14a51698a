import type { ReactNode } from 'react';
import type { Installation } from '../../../shared/installations';
import { Dialog } from '../../components/dialog';
import { fleetHref } from './sub-route';

/** Why an installation cannot be restored into, from its adapter's notes (the one about restoring, else all). */
export function restoreBlockedReason(notes: string[]): string {
  const about = notes.filter((n) => /restor/i.test(n));
  const said = (about.length > 0 ? about : notes).join(' ');
  return said || 'Its connections do not allow a restore.';
}

/**
 * Said before any wizard opens: this installation cannot be restored into as it is connected, why,
 * and the fix (its connections, in the installation form).
 */
export function RestoreBlockedNote(props: { installation: Installation; notes: string[] }): ReactNode {
  return (
    <p className="alert alert-warn restore-blocked" role="note" data-testid="restore-blocked">
      <strong>Lifeboat cannot restore into {props.installation.name} yet.</strong> {restoreBlockedReason(props.notes)}{' '}
      <a className="button button-small" href={fleetHref.edit(props.installation.id)}>
        Edit connections…
      </a>
    </p>
  );
}

/** The same, as the dialog the row's Restore… opens when the installation cannot restore. */
export function RestoreBlockedDialog(props: { installation: Installation; notes: string[]; onClose: () => void; onEdit: () => void }): ReactNode {
  return (
    <Dialog
      title={`Restore into ${props.installation.name}`}
      onClose={props.onClose}
      footer={
        <>
          <button type="button" className="button" onClick={props.onClose}>
            Close
          </button>
          <button type="button" className="button button-primary" onClick={props.onEdit}>
            Edit connections…
          </button>
        </>
      }
    >
      <p>
        <strong>Lifeboat cannot restore into {props.installation.name} as it is connected now.</strong>
      </p>
      <p>{restoreBlockedReason(props.notes)}</p>
      <p className="muted">Add the connection in the installation form; the restore wizard then opens from this menu.</p>
    </Dialog>
  );
}
