import type { ReactNode } from 'react';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';
import { formatBytes } from '../../lib/format';
import { saveBlob } from '../../lib/save-file';
import { useStore } from '../../stores/store';
import { useAction } from './use-action';
import { AppKeysKitButton } from './app-keys-kit';
import { KitImportButton } from './kit-import';

/** Hands the recovery kit to the browser as a file, then tells the core it was saved. */
async function downloadRecoveryKit(): Promise<void> {
  const kit = await api.call('vault:recovery-kit', {});
  saveBlob(new Blob([kit.text], { type: 'text/plain;charset=utf-8' }), kit.fileName);
  await api.call('vault:acknowledge-recovery-kit', {});
}

/** The "Recovery kit" button; also used by the banner. */
function RecoveryKitButton(props: { primary?: boolean }): ReactNode {
  const kit = useAction(downloadRecoveryKit);
  return (
    <>
      <button type="button" className={`button${props.primary ? ' button-primary' : ''}`} onClick={() => kit.run()} disabled={kit.busy}>
        {kit.busy ? 'Preparing…' : 'Download recovery kit'}
      </button>
      {kit.error ? <ErrorMessage error={kit.error} title="Could not export the recovery kit." /> : null}
    </>
  );
}

/** 2.41×; below 0.1× (after removing snapshots, before freeing space) says so instead of "0.00×". */
function formatRatio(ratio: number | null): string {
  if (ratio === null) return '—';
  return ratio < 0.1 ? '< 0.1×' : `${ratio.toFixed(2)}×`;
}

/** Until the kit is saved, a banner says why it matters. */
export function RecoveryKitBanner(): ReactNode {
  const acknowledged = useStore((s) => s.vault.status?.recoveryKitAcknowledged ?? true);
  if (acknowledged) return null;
  return (
    <div className="alert alert-warn vault-kit-banner" role="region" aria-label="Recovery kit not saved">
      <div>
        <strong>Save the recovery kit.</strong> It holds the vault password and the restic commands to open the vault
        without Lifeboat. If this computer or its keychain is lost, the kit is the only way back to your backups.
      </div>
      <RecoveryKitButton primary />
    </div>
  );
}

/** Where the vault is, which one it is, who keeps its password, and how much it holds. */
export function VaultHeader(): ReactNode {
  const status = useStore((s) => s.vault.status);
  const stats = useStore((s) => s.vault.stats);
  const secrets = useStore((s) => s.system.info?.secrets);
  if (!status) return null;
  const keptIn = secrets?.kind === 'ask-every-time' ? 'Memory, this session only' : 'System keychain';
  return (
    <section className="card vault-header" aria-labelledby="vault-header-h">
      <div className="vault-header-top">
        <h2 id="vault-header-h">Vault</h2>
        <div className="vault-kit-actions">
          <RecoveryKitButton />
          <AppKeysKitButton />
          <KitImportButton />
        </div>
      </div>
      <div className="vault-header-body">
        <dl className="facts vault-facts">
          <dt>Location</dt>
          <dd>
            <code>{status.location}</code>
          </dd>
          <dt>Vault id</dt>
          <dd>
            <code title={status.id ?? undefined}>{status.id}</code>
          </dd>
          <dt>Password</dt>
          <dd>
            {status.passwordStored ? keptIn : 'Typed for this session'}
            {secrets ? <span className="muted"> — {secrets.description}</span> : null}
          </dd>
        </dl>
        <dl className="vault-stats" aria-label="Vault size">
          <div>
            <dt>Snapshots</dt>
            <dd>{stats ? stats.snapshots : '…'}</dd>
          </div>
          <div>
            <dt>Backups hold</dt>
            <dd>{stats ? formatBytes(stats.logicalBytes) : '…'}</dd>
          </div>
          <div>
            <dt>Vault takes</dt>
            <dd>{stats ? formatBytes(stats.storedBytes) : '…'}</dd>
          </div>
          <div>
            <dt>Dedup ratio</dt>
            <dd title="What the snapshots hold divided by what the vault stores; above 1× deduplication and compression saved space.">
              {formatRatio(stats?.dedupRatio ?? null)}
            </dd>
          </div>
        </dl>
      </div>
    </section>
  );
}
