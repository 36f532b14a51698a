import type { CommandName } from '../shared/contract';
import type { SecretBackendStatus } from '../shared/contract/system';
import type { InstallationStatus } from '../shared/installations';
import { EventBus } from './events/event-bus';
import { JobManager } from './jobs/job-manager';
import { InstallationRegistry } from './installations/registry';
import { MemorySecretStore, openSecretStore, type SecretStore } from './installations/secrets';
import { ensureHome, resolveHome, type HomeLayout } from './home';
import { SettingsFile } from './settings';
import { createDispatcher, type Dispatch } from './contract/dispatcher';
import type { HandlerMap } from './contract/handler-types';
import { systemHandlers } from './contract/handlers/system';
import { installationHandlers } from './contract/handlers/installations';
import { jobHandlers } from './contract/handlers/jobs';
import { vaultHandlers } from './contract/handlers/vault';
import { appHandlers } from './contract/handlers/apps';
import { VERSION } from './version';
import { AuditLog } from './audit/audit-log';
import { VaultService } from './vault-service/vault-service';
import { auditHandlers } from './contract/handlers/audit';
import { Quarantine } from './apps/quarantine';
import { FleetService } from './apps/fleet';
import { RestoreService } from './restore/restore-service';
import { OneTimeCodes } from './installations/one-time-codes';

export interface CoreOptions {
  /** Data directory; defaults to $LIFEBOAT_HOME or the platform's config dir. */
  home?: string;
  /** Inject a secret store (tests); otherwise the OS keychain is probed. */
  secretStore?: SecretStore;
}

/**
 * The whole of Lifeboat without any UI: every capability is reachable through `dispatch`,
 * which the IPC bridge, the browser twin, the CLI and the tests all call.
 */
export interface Core {
  readonly version: string;
  readonly home: HomeLayout;
  readonly events: EventBus;
  readonly jobs: JobManager;
  readonly registry: InstallationRegistry;
  readonly settings: SettingsFile;
  readonly audit: AuditLog;
  readonly vault: VaultService;
  readonly quarantine: Quarantine;
  readonly fleet: FleetService;
  readonly restores: RestoreService;
  /** One-time (TOTP) codes the operator typed, waiting for the step that needs them; memory only. */
  readonly oneTimeCodes: OneTimeCodes;
  readonly statuses: Map<string, InstallationStatus>;
  secrets(): SecretStore;
  useAskEveryTime(enabled: boolean): Promise<SecretBackendStatus>;
  setStatus(status: InstallationStatus): void;
  dispatch: Dispatch;
  close(): Promise<void>;
}

export async function createCore(options: CoreOptions = {}): Promise<Core> {
  const home = ensureHome(options.home ?? resolveHome());
  const events = new EventBus();
  const jobs = new JobManager(events, home.jobsFile);
  await jobs.loadHistory();
  const settings = new SettingsFile(home.settingsFile);
  if (options.secretStore) return new LifeboatCore(home, events, jobs, settings, options.secretStore, null);
  const { store, keychainProblem } = await openSecretStore({ askEveryTime: (await settings.read()).askEveryTime });
  return new LifeboatCore(home, events, jobs, settings, store, keychainProblem);
}

/** The services of one core, wired to each other; services that need the core get `this`. */
class LifeboatCore implements Core {
  readonly version = VERSION;
  readonly statuses = new Map<string, InstallationStatus>();
  readonly oneTimeCodes = new OneTimeCodes();
  readonly audit: AuditLog;
  readonly registry: InstallationRegistry;
  readonly vault: VaultService;
  readonly quarantine: Quarantine;
  readonly fleet: FleetService;
  readonly restores: RestoreService;
  readonly dispatch: Dispatch;

  constructor(
    readonly home: HomeLayout,
    readonly events: EventBus,
    readonly jobs: JobManager,
    readonly settings: SettingsFile,
    private secretStore: SecretStore,
    /** Why no keychain answered at start, or null when one did (or a store was injected). */
    private readonly keychainProblem: string | null,
  ) {
    this.audit = new AuditLog(home.auditFile);
    this.registry = new InstallationRegistry(home.installationsFile, () => this.secretStore);
    this.vault = new VaultService(home, () => this.secretStore, events, this.audit);
    this.quarantine = new Quarantine(home.quarantineDir);
    this.fleet = new FleetService(this);
    this.restores = new RestoreService(this);
    const handlers: HandlerMap<CommandName> = {
      ...systemHandlers(this),
      ...installationHandlers(this),
      ...jobHandlers(this),
      ...vaultHandlers(this),
      ...appHandlers(this),
      ...auditHandlers(this),
    };
    this.dispatch = createDispatcher(handlers);
  }

  secrets(): SecretStore {
    return this.secretStore;
  }

  async useAskEveryTime(enabled: boolean): Promise<SecretBackendStatus> {
    await this.settings.update({ askEveryTime: enabled });
    if (this.keychainProblem !== null) {
      ({ store: this.secretStore } = await openSecretStore({ askEveryTime: enabled }));
    }
    return this.secretStore.status();
  }

  setStatus(status: InstallationStatus): void {
    this.statuses.set(status.installationId, status);
    this.events.emit('installation:status', status);
  }

  async close(): Promise<void> {
    await this.jobs.shutdown();
  }
}

export { MemorySecretStore };
