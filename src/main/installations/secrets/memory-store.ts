import type { SecretBackendStatus } from '../../../shared/contract/system';
import type { SecretStore } from './secret-store';

/** "Ask every time": secrets live in this process's memory only and are gone at exit. */
export class MemorySecretStore implements SecretStore {
  private readonly secrets = new Map<string, string>();

  constructor(private readonly why: string) {}

  status(): SecretBackendStatus {
    return { kind: 'ask-every-time', description: `Kept in memory for this session only (${this.why}); you will be asked again after a restart.` };
  }

  async get(account: string): Promise<string | null> {
    return this.secrets.get(account) ?? null;
  }

  async set(account: string, secret: string): Promise<void> {
    this.secrets.set(account, secret);
  }

  async delete(account: string): Promise<boolean> {
    return this.secrets.delete(account);
  }
}
