import type { ErrorPayload } from '../../shared/errors';
import type { SnapshotView, VaultStats, VaultStatus } from '../../shared/vault';

/**
 * The vault as the core reports it. lib/api.ts reloads it on `vault:changed` (and after each
 * reconnection); `revision` counts those events so views with their own data (a snapshot's
 * files, locks, a retention preview) know when to reload or go stale.
 */
export interface VaultSlice {
  vault: {
    revision: number;
    /** null until the first answer. */
    status: VaultStatus | null;
    /** Newest first; null while the vault is not open. */
    snapshots: SnapshotView[] | null;
    stats: VaultStats | null;
    /** Why the last load failed, shown instead of stale or empty data. */
    loadError: ErrorPayload | null;
  };
}

export const initialVault: VaultSlice['vault'] = { revision: 0, status: null, snapshots: null, stats: null, loadError: null };
