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
  const preferences = await settings.read();

  let secretStore: SecretStore;
  let keychainProblem: string | null = null;
  if (options.secretStore) {
    secretStore = options.secretStore;
  } else {
    ({ store: secretStore, keychainProblem } = await openSecretStore({ askEveryTime: preferences.askEveryTime }));
  }

  const statuses = new Map<string, InstallationStatus>();
  const audit = new AuditLog(home.auditFile);
  const closers: (() => Promise<void>)[] = [];
  const core: Core = {
    version: VERSION,
    home,
    events,
    jobs,
    settings,
    statuses,
    audit,
    vault: new VaultService(home, () => secretStore, events, audit),
    quarantine: new Quarantine(home.quarantineDir),
    fleet: undefined as unknown as FleetService,
    restores: undefined as unknown as RestoreService,
    registry: new InstallationRegistry(home.installationsFile, () => secretStore),
    secrets: () => secretStore,
    async useAskEveryTime(enabled) {
      await settings.update({ askEveryTime: enabled });
      if (keychainProblem !== null) {
        ({ store: secretStore } = await openSecretStore({ askEveryTime: enabled }));
      }
      return secretStore.status();
    },
    setStatus(status) {
      statuses.set(status.installationId, status);
      events.emit('installation:status', status);
    },
    dispatch: undefined as unknown as Dispatch,
    async close() {
      await jobs.shutdown();
      for (const close of closers.reverse()) await close();
    },
  };
  (core as { fleet: FleetService }).fleet = new FleetService(core);
  (core as { restores: RestoreService }).restores = new RestoreService(core);
  const handlers: HandlerMap<CommandName> = {
    ...systemHandlers(core),
    ...installationHandlers(core),
    ...jobHandlers(core),
    ...vaultHandlers(core, closers),
    ...appHandlers(core, closers),
    ...auditHandlers(core),
  };
  (core as { dispatch: Dispatch }).dispatch = createDispatcher(handlers);
  return core;
}

export { MemorySecretStore };
