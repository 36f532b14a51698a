import { useState, type FocusEvent, type ReactNode, type Ref } from 'react';
import { When } from '../../components/when';
import type { Installation } from '../../../shared/installations';
import { useAppLabel } from '../../lib/app-labels';
import { isFinished } from '../../../shared/jobs';
import { AppIcon } from '../../components/icons';
import { ConfirmDialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';
import { useStore } from '../../stores/store';
import { StatusPill } from './status-pill';
import { TestResult } from './test-result';
import { TrustDialog } from './trust-dialog';
import { BackupStrip } from './backup-strip';
import { useBackupActions } from './backup-actions';
import { RowActions } from './row-actions';
import { startConnectionTest, trustPromptOf } from './connection-test';
import { KeyFileImportButton } from '../preview/key-file-import';

/** What the (virtualised) list puts on a row's `<li>`: its measuring ref, index and keyboard focus. */
export interface RowItemProps {
  ref: Ref<HTMLLIElement>;
  'data-index': number;
  'data-line-key': string;
  tabIndex: number;
  onFocus: (event: FocusEvent<HTMLLIElement>) => void;
}

/** One installation in the fleet list: identity, transports, live status and its actions. */
export function InstallationRow(props: { installation: Installation; onEdit: (id: string) => void; item?: RowItemProps }): ReactNode {
  const { installation, onEdit } = props;
  const status = useStore((s) => s.fleet.statuses[installation.id]);
  const testJob = useStore((s) => {
    const jobId = s.ui.connectionTests[installation.id];
    return jobId ? s.jobs.byId[jobId] : undefined;
  });
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // A trust decision is asked once per test job; closing the dialog dismisses it for that job.
  const [dismissedJob, setDismissedJob] = useState<string | null>(null);

  const prompt = testJob && testJob.id !== dismissedJob ? trustPromptOf(testJob, installation) : null;
  const testing = testJob !== undefined && !isFinished(testJob.status);

  const run = async (action: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const backups = useBackupActions(installation);
  const headingId = `inst-${installation.id}`;
  const appName = useAppLabel(installation.app);
  return (
    <li {...props.item} className="fleet-item" aria-labelledby={headingId} data-installation-id={installation.id}>
      <div className="fleet-row">
        <div className="fleet-name">
          <AppIcon app={installation.app} />
          <div className="fleet-name-text">
            <strong id={headingId} title={installation.name}>{installation.name}</strong>
            <span className="fleet-sub">
              {appName}
              {installation.tags.map((tag) => (
                <span key={tag} className="fleet-tag">
                  {tag}
                </span>
              ))}
            </span>
          </div>
        </div>
        <div className="fleet-conn">
          {installation.ssh ? (
            <TransportLine tag="SSH" text={sshTarget(installation.ssh) + (installation.ssh.jumpHost ? ` via ${installation.ssh.jumpHost}` : '')} />
          ) : null}
          {installation.https ? (
            <TransportLine tag="HTTPS" text={installation.https.baseUrl} />
          ) : null}
        </div>
        <div className="fleet-status">
          <StatusPill status={status} />
        </div>
        <div className="fleet-checked">
          {status?.checkedAt ? <When iso={status.checkedAt} /> : 'never'}
        </div>
        <div className="fleet-actions">
          <RowActions
            installation={installation}
            status={status}
            backups={backups}
            testing={testing}
            busy={busy}
            onTest={() => void run(() => startConnectionTest(installation.id))}
            onEdit={() => onEdit(installation.id)}
            onRemove={() => setConfirmRemove(true)}
          />
        </div>
      </div>
      <div className="fleet-keys">
        <KeyFileImportButton app={installation.app} installationId={installation.id}>
          <KeyCount installation={installation} />
        </KeyFileImportButton>
      </div>
      <BackupStrip installation={installation} />
      {backups.dialogs}
      {testJob || (error && !confirmRemove) || backups.error ? (
        <div className="fleet-test">
          {error && !confirmRemove ? <ErrorMessage error={error} /> : null}
          {backups.error ? <ErrorMessage error={backups.error} /> : null}
          {testJob ? <TestResult job={testJob} /> : null}
        </div>
      ) : null}
      {prompt && testJob ? (
        <TrustDialog
          prompt={prompt}
          installation={installation}
          onClose={() => setDismissedJob(testJob.id)}
          onEdit={() => {
            setDismissedJob(testJob.id);
            onEdit(installation.id);
          }}
        />
      ) : null}
      {confirmRemove ? (
        <ConfirmDialog
          title={`Remove ${installation.name}?`}
          confirmLabel="Remove installation"
          busy={busy}
          onCancel={() => setConfirmRemove(false)}
          onConfirm={() =>
            void run(async () => {
              await api.call('installations:remove', { id: installation.id });
              setConfirmRemove(false);
            })
          }
        >
          <p>
            Lifeboat forgets how to reach “{installation.name}” and deletes its stored secrets. Backups already in the vault stay
            there. The server itself is not touched.
          </p>
          {error ? <ErrorMessage error={error} /> : null}
        </ConfirmDialog>
      ) : null}
    </li>
  );
}

function sshTarget(ssh: NonNullable<Installation['ssh']>): string {
  return `${ssh.user ? `${ssh.user}@` : ''}${ssh.host}:${ssh.port ?? 22}`;
}

function TransportLine(props: { tag: string; text: string }): ReactNode {
  return (
    <div className="transport-line" title={`${props.tag} ${props.text}`}>
      <span className="transport-tag">{props.tag}</span>
      <span className="transport-text">{props.text}</span>
    </div>
  );
}

/** "Encryption keys: 2 stored" for an app whose keys are keyed by something in each archive (DBackup's profiles). */
function KeyCount(props: { installation: Installation }): ReactNode {
  const module = useStore((s) => s.system.modules.find((m) => m.kind === props.installation.app));
  const keyed = module?.secretSlots.find((slot) => slot.keyed && slot.archiveKey);
  if (!keyed) return null;
  const stored = props.installation.secretPurposes.filter((p) => p.startsWith(`${keyed.slot}:`)).length;
  return (
    <span className="muted">
      {keyed.label}s: {stored === 0 ? 'none stored' : `${stored} stored`}
    </span>
  );
}
