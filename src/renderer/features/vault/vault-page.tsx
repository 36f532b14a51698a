import { useState, type ReactNode } from 'react';
import { ErrorMessage } from '../../components/error-message';
import { useStore } from '../../stores/store';
import { ArchiveDropZone, ImportPanel, useArchiveImport } from './archive-import';
import { CheckPanel } from './check-panel';
import { LocksPanel } from './locks-panel';
import { RetentionPanel } from './retention-panel';
import { AnomaliesPanel } from './snapshot-drill';
import { RunningPulls } from './running-pulls';
import { SnapshotBrowser } from './snapshot-timeline';
import { RecoveryKitBanner, VaultHeader } from './vault-header';
import { CreateVault, UnlockVault } from './vault-setup';
import './vault.css';

/** The open vault: header, imports (drop anywhere), snapshots, integrity, retention, locks. */
function OpenVault(): ReactNode {
  const importer = useArchiveImport();
  const [installationId, setInstallationId] = useState('');
  const [allowUnverified, setAllowUnverified] = useState(false);
  return (
    <ArchiveDropZone onFiles={(files) => importer.add(files, installationId || null, allowUnverified)}>
      <div className="vault-page">
        <RecoveryKitBanner />
        <VaultHeader />
        <RunningPulls />
        <ImportPanel importer={importer} installationId={installationId} onInstallationChange={setInstallationId} allowUnverified={allowUnverified} onAllowUnverifiedChange={setAllowUnverified} />
        <SnapshotBrowser />
        <AnomaliesPanel />
        <CheckPanel />
        <RetentionPanel />
        <LocksPanel />
      </div>
    </ArchiveDropZone>
  );
}

/**
 * The vault: where pulled backups live, deduplicated and encrypted in the restic format. Shows
 * "create" before there is one, the unlock form when its password is not at hand, else the vault.
 */
export function VaultPage(): ReactNode {
  const status = useStore((s) => s.vault.status);
  const loadError = useStore((s) => s.vault.loadError);
  const error = loadError ? <ErrorMessage error={loadError} title="Could not read the vault." /> : null;
  if (!status) return error ?? <p className="muted" role="status">Opening the vault…</p>;
  if (!status.initialized) return <CreateVault />;
  if (!status.open) return <UnlockVault />;
  return (
    <>
      {error}
      <OpenVault />
    </>
  );
}
