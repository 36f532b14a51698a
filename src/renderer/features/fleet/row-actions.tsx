import { useState, type ReactNode } from 'react';
import type { Installation, InstallationStatus } from '../../../shared/installations';
import { Dialog } from '../../components/dialog';
import { Menu, type MenuItem } from '../../components/menu';
import type { BackupActions } from './backup-actions';
import { fleetHref } from './sub-route';
import { RestoreBlockedDialog } from './restore-blocked';

/** The one thing that matters now for an installation, shown as the row's primary button. */
export type PrimaryAction = 'trust' | 'renew' | 'fix' | 'pull' | 'trigger' | 'test';

/**
 * Trust… when a key changed or is new, "Store a new …" when a restore made the secret worthless,
 * Fix… when failing, else the everyday backup verb.
 */
export function primaryActionOf(status: InstallationStatus | undefined, backups: BackupActions): PrimaryAction {
  if (status?.state === 'host-key-untrusted') return 'trust';
  if (status?.action?.kind === 'renew-secret') return 'renew';
  if (backups.entry?.freshness === 'failing' || status?.state === 'offline' || status?.state === 'auth-failed') return 'fix';
  if (backups.entry?.capabilities.pull) return 'pull';
  if (backups.entry?.capabilities.trigger) return 'trigger';
  return 'test';
}

/**
 * A Fleet row's actions: one primary button and a "⋯" menu with the rest. Edit opens the menu and
 * Remove closes it, behind a divider, so the two are never side by side.
 */
export function RowActions(props: {
  installation: Installation;
  status: InstallationStatus | undefined;
  backups: BackupActions;
  testing: boolean;
  busy: boolean;
  onTest: () => void;
  onEdit: () => void;
  onRemove: () => void;
}): ReactNode {
  const { installation, status, backups, testing } = props;
  const name = installation.name;
  const [fixing, setFixing] = useState(false);
  const [restoreBlocked, setRestoreBlocked] = useState(false);
  const caps = backups.entry?.capabilities;
  const primary = primaryActionOf(status, backups);
  const newest = backups.entry?.newestSnapshot;

  const primaryButton = ((): ReactNode => {
    switch (primary) {
      case 'trust':
        return (
          <button type="button" className="button button-small button-primary" onClick={props.onTest} disabled={props.busy || testing} aria-label={`Trust… the server of ${name}`}>
            {testing ? 'Checking…' : 'Trust…'}
          </button>
        );
      case 'renew':
        return (
          <button type="button" className="button button-small button-primary" onClick={props.onEdit} title={status?.message} aria-label={`Store a new ${status?.action?.label ?? 'secret'} for ${name}`}>
            Store a new {status?.action?.label ?? 'secret'}…
          </button>
        );
      case 'fix':
        return (
          <button type="button" className="button button-small button-primary" onClick={() => setFixing(true)} aria-label={`Fix… ${name}`}>
            Fix…
          </button>
        );
      case 'pull':
        return (
          <button type="button" className="button button-small button-primary" disabled={backups.busy} onClick={() => backups.pull()} title={backups.asksCode('pull')} aria-label={`Pull newest backup of ${name}`}>
            Pull newest
          </button>
        );
      case 'trigger':
        return (
          <button type="button" className="button button-small button-primary" disabled={backups.busy} onClick={backups.trigger} title={backups.asksCode('trigger')} aria-label={`Run backup now on ${name}`}>
            Run backup now
          </button>
        );
      case 'test':
        return (
          <button type="button" className="button button-small button-primary" onClick={props.onTest} disabled={props.busy || testing} aria-label={`Test connection to ${name}`}>
            {testing ? 'Testing…' : 'Test connection'}
          </button>
        );
    }
  })();

  const items: MenuItem[] = [{ kind: 'action', label: 'Edit…', ariaLabel: `Edit ${name}`, onSelect: props.onEdit }];
  if (primary !== 'test') {
    items.push({ kind: 'action', label: testing ? 'Testing…' : 'Test connection', ariaLabel: `Test connection to ${name}`, onSelect: props.onTest, disabled: props.busy || testing });
  }
  if (caps?.pull) {
    if (primary !== 'pull') items.push({ kind: 'action', label: 'Pull newest', ariaLabel: `Pull newest backup of ${name}`, title: backups.asksCode('pull'), onSelect: () => backups.pull(), disabled: backups.busy });
    items.push({ kind: 'action', label: 'Pull…', ariaLabel: `Choose a backup of ${name} to pull`, title: backups.asksCode('pull'), onSelect: backups.choosePull, disabled: backups.busy });
  }
  if (caps?.trigger && primary !== 'trigger') {
    items.push({ kind: 'action', label: 'Run backup now', ariaLabel: `Run backup now on ${name}`, title: backups.asksCode('trigger'), onSelect: backups.trigger, disabled: backups.busy });
  }
  if (caps?.preview && newest) items.push({ kind: 'link', label: 'Preview newest', ariaLabel: `Preview the newest snapshot of ${name}`, href: fleetHref.preview(newest.id) });
  if (caps?.restore) items.push({ kind: 'link', label: 'Restore…', ariaLabel: `Restore ${name}…`, href: fleetHref.restore(installation.id) });
  // Said before any wizard opens: which connection a restore lacks, and the way to add it.
  else if (caps) items.push({ kind: 'action', label: 'Restore…', ariaLabel: `Restore ${name}…`, onSelect: () => setRestoreBlocked(true) });
  items.push({ kind: 'separator' }, { kind: 'action', label: 'Remove…', ariaLabel: `Remove ${name}`, onSelect: props.onRemove, danger: true });

  return (
    <>
      {primaryButton}
      <Menu label={`More actions for ${name}`} items={items} />
      {restoreBlocked && caps ? (
        <RestoreBlockedDialog
          installation={installation}
          notes={caps.notes}
          onClose={() => setRestoreBlocked(false)}
          onEdit={() => {
            setRestoreBlocked(false);
            props.onEdit();
          }}
        />
      ) : null}
      {fixing ? (
        <FixDialog
          installation={installation}
          status={status}
          backups={backups}
          onClose={() => setFixing(false)}
          onTest={() => {
            setFixing(false);
            props.onTest();
          }}
          onEdit={() => {
            setFixing(false);
            props.onEdit();
          }}
        />
      ) : null}
    </>
  );
}

/** What is wrong with a failing installation, in one place, with the three ways out. */
function FixDialog(props: {
  installation: Installation;
  status: InstallationStatus | undefined;
  backups: BackupActions;
  onClose: () => void;
  onTest: () => void;
  onEdit: () => void;
}): ReactNode {
  const { installation, status, backups } = props;
  const problems = [status?.state === 'offline' || status?.state === 'auth-failed' ? status.message : undefined, backups.entry?.lastError ?? undefined].filter(
    (m, i, all): m is string => typeof m === 'string' && m !== '' && all.indexOf(m) === i,
  );
  return (
    <Dialog
      title={`Fix ${installation.name}`}
      onClose={props.onClose}
      footer={
        <>
          <button type="button" className="button" onClick={props.onEdit}>
            Edit connection…
          </button>
          {backups.entry?.capabilities.pull ? (
            <button
              type="button"
              className="button"
              disabled={backups.busy}
              onClick={() => {
                props.onClose();
                backups.pull();
              }}
            >
              Pull newest again
            </button>
          ) : null}
          <button type="button" className="button button-primary" onClick={props.onTest}>
            Test connection
          </button>
        </>
      }
    >
      {problems.length > 0 ? (
        <ul className="text-list">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      ) : (
        <p>The last pull or check of this installation failed.</p>
      )}
      <p className="muted">Test the connection to see which step fails, or correct the address, user or credentials.</p>
    </Dialog>
  );
}
