import type { SecretBackendStatus } from '../../../shared/contract/system';

/** The keychain service every Lifeboat secret lives under. */
export const SECRET_SERVICE = 'lifeboat';

/**
 * Where secrets live. The config file never holds one; the UI only ever learns *that* a secret
 * exists. Implementations: the OS keychain (keytar) and "ask every time" (memory only).
 */
export interface SecretStore {
  status(): SecretBackendStatus;
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  delete(account: string): Promise<boolean>;
}

/** The keychain account of one installation's secret for one purpose. */
export const installationAccount = (installationId: string, purpose: string): string => `installation:${installationId}:${purpose}`;

/** The keychain account holding a vault's password. */
export const vaultAccount = (vaultId: string): string => `vault:${vaultId}`;
