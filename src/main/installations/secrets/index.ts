import { KeytarSecretStore } from './keytar-store';
import { MemorySecretStore } from './memory-store';
import { UnavailableSecretStore } from './unavailable-store';
import type { SecretStore } from './secret-store';

export * from './secret-store';
export { MemorySecretStore } from './memory-store';

/** Picks the keychain if one answers; otherwise a store that refuses writes and says why. */
export async function openSecretStore(options: { askEveryTime?: boolean } = {}): Promise<{ store: SecretStore; keychainProblem: string | null }> {
  const probe = await KeytarSecretStore.probe();
  if ('store' in probe) return { store: probe.store, keychainProblem: null };
  const store = options.askEveryTime ? new MemorySecretStore(probe.reason) : new UnavailableSecretStore(probe.reason);
  return { store, keychainProblem: probe.reason };
}
