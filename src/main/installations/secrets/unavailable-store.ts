import { LifeboatError } from '../../../shared/errors';
import type { SecretBackendStatus } from '../../../shared/contract/system';
import type { SecretStore } from './secret-store';

/**
 * No keychain and the operator has not chosen "ask every time": every write fails loudly
 * rather than falling back to plaintext. Reads find nothing.
 */
export class UnavailableSecretStore implements SecretStore {
  constructor(private readonly reason: string) {}

  status(): SecretBackendStatus {
    return { kind: 'unavailable', description: `No keychain available: ${this.reason}.` };
  }

  async get(): Promise<string | null> {
    return null;
  }

  async set(): Promise<void> {
    throw new LifeboatError(
      'SECRET_STORE_UNAVAILABLE',
      `No keychain is available (${this.reason}), and Lifeboat never stores secrets in plain text. Start a keyring (e.g. gnome-keyring), or choose "ask every time" to keep secrets in memory for this session only.`,
    );
  }

  async delete(): Promise<boolean> {
    return false;
  }
}
