import { LifeboatError } from '../../../shared/errors';
import type { SecretBackendStatus } from '../../../shared/contract/system';
import { SECRET_SERVICE, type SecretStore } from './secret-store';

// The only module that imports keytar (archived upstream): swapping it, e.g. for
// @napi-rs/keyring, changes this file alone.
import type * as KeytarModule from 'keytar';
type Keytar = typeof KeytarModule;

/** The account the probe reads: no secret is ever stored under it. */
const PROBE_ACCOUNT = 'lifeboat-keychain-probe';

/** The OS keychain (Secret Service on Linux, Keychain on macOS, Credential Vault on Windows). */
export class KeytarSecretStore implements SecretStore {
  private constructor(
    private readonly keytar: Keytar,
    private readonly description: string,
  ) {}

  /**
   * Loads keytar and proves the keychain answers with a harmless read. Returns the reason
   * instead of a store when there is no usable keychain (no D-Bus session, locked, missing).
   */
  static async probe(): Promise<{ store: KeytarSecretStore } | { reason: string }> {
    let keytar: Keytar;
    try {
      const loaded = (await import('keytar')) as Keytar & { default?: Keytar };
      keytar = loaded.default ?? loaded;
    } catch (error) {
      return { reason: `the keychain library could not be loaded (${(error as Error).message})` };
    }
    try {
      // A read of one account that never exists. Not findCredentials: it loads every secret of the
      // service, and when another process deletes one meanwhile, keytar passes libsecret's NULL
      // value to strdup and the process dies of SIGSEGV (node-keytar#477; seen as a test worker
      // that "exited unexpectedly" while another worker removed secrets from the same keyring).
      await keytar.getPassword(SECRET_SERVICE, PROBE_ACCOUNT);
    } catch (error) {
      return { reason: explainKeychainFailure(error) };
    }
    return { store: new KeytarSecretStore(keytar, describePlatformKeychain()) };
  }

  status(): SecretBackendStatus {
    return { kind: 'keychain', description: this.description };
  }

  async get(account: string): Promise<string | null> {
    return this.wrap(() => this.keytar.getPassword(SECRET_SERVICE, account), 'read');
  }

  async set(account: string, secret: string): Promise<void> {
    await this.wrap(() => this.keytar.setPassword(SECRET_SERVICE, account, secret), 'store');
  }

  async delete(account: string): Promise<boolean> {
    return this.wrap(() => this.keytar.deletePassword(SECRET_SERVICE, account), 'delete');
  }

  private async wrap<T>(operation: () => Promise<T>, verb: string): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw new LifeboatError('SECRET_STORE_UNAVAILABLE', `Could not ${verb} a secret in the keychain: ${explainKeychainFailure(error)}.`, { cause: error });
    }
  }
}

function describePlatformKeychain(): string {
  switch (process.platform) {
    case 'darwin':
      return 'macOS Keychain (via keytar)';
    case 'win32':
      return 'Windows Credential Manager (via keytar)';
    default:
      return 'Secret Service keyring, e.g. GNOME Keyring or KWallet (via keytar)';
  }
}

function explainKeychainFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/autolaunch D-Bus|DBUS_SESSION_BUS_ADDRESS|org\.freedesktop\.DBus/i.test(message)) {
    return 'no desktop session bus (D-Bus) is running, so no Secret Service keyring can be reached';
  }
  if (/org\.freedesktop\.secrets|ServiceUnknown|was not provided by any \.service files/i.test(message)) {
    return 'no Secret Service keyring (such as gnome-keyring) is running';
  }
  if (/locked|Object does not exist at path|collection/i.test(message)) {
    return 'the keyring is locked or has no default collection; unlock it and try again';
  }
  return message;
}
