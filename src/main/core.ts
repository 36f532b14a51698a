import { MediaTickets } from './apps/media';
import type { CommandName } from '../shared/contract';
import type { SecretBackendStatus } from '../shared/contract/system';
import { TRANSPORT_SECRET_SLOTS, type InstallationStatus } from '../shared/installations';
import { LifeboatError } from '../shared/errors';
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
import { AppRegistry } from './apps/registry';
import { InstallationSessions } from './apps/sessions';
import { SessionKeys } from './apps/keys';
import { Unattended } from './schedule/unattended';
import type { Clock } from './schedule/scheduler';
import { scheduleHandlers } from './contract/handlers/schedule';
import { DrillService } from './drills/drill-service';
import { AnomalyService } from './anomalies/anomaly-service';
import { RotatingVerification } from './verification/rotating-check';
import { anomalyHandlers } from './contract/handlers/anomalies';
import { drillHandlers } from './contract/handlers/drills';

/** What a fleet row keeps saying while a secret a restore made worthless is not stored again. */
export interface SecretRenewal {
  message: string;
  action: NonNullable<InstallationStatus['action']>;
}

export interface CoreOptions {
  /** Data directory; defaults to $LIFEBOAT_HOME or the platform's config dir. */
  home?: string;
  /** Inject a secret store (tests); otherwise the OS keychain is probed. */
  secretStore?: SecretStore;
  /** The app modules; defaults to every module Lifeboat has (`APP_MODULES`). */
  apps?: AppRegistry;
  /** The clock schedules and the watchdog read; the system's by default. */
  clock?: Clock;
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
  /** Restore drills of snapshots and their stored results. */
  readonly drills: DrillService;
  /** Anomaly alerts from each installation's snapshot history; they protect snapshots from retention. */
  readonly anomalies: AnomalyService;
  /** Rotating verification of the vault's packs, coverage kept across runs and restarts. */
  readonly verification: RotatingVerification;
  /** Player tickets for audio inside archives (the preview's player). */
  readonly media: MediaTickets;
  /** The app modules this core drives. */
  readonly apps: AppRegistry;
  /** Per-installation state of the modules (login sessions); disposed on close and on removal. */
  readonly sessions: InstallationSessions;
  /** Keys for encrypted archives the operator typed this session (for files of no installation); memory only. */
  readonly sessionKeys: SessionKeys;
  /** One-time (TOTP) codes the operator typed, waiting for the step that needs them; memory only. */
  readonly oneTimeCodes: OneTimeCodes;
  readonly statuses: Map<string, InstallationStatus>;
  /** Secrets a restore made worthless, by installation id; `installations:update` with the secret clears one. */
  readonly renewals: Map<string, SecretRenewal>;
  /** Schedules, the watchdog and notifications; `unattended.run()` makes this process run the schedules. */
  readonly unattended: Unattended;
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
  const apps = options.apps ?? new AppRegistry();
  let core: LifeboatCore;
  if (options.secretStore) core = new LifeboatCore(home, events, jobs, settings, options.secretStore, null, apps, options.clock);
  else {
    const { store, keychainProblem } = await openSecretStore({ askEveryTime: (await settings.read()).askEveryTime });
    core = new LifeboatCore(home, events, jobs, settings, store, keychainProblem, apps, options.clock);
  }
  // A restore journal left by a process that died: record the restore as interrupted (once).
  await core.restores.recoverInterrupted();
  return core;
}

/** The services of one core, wired to each other; services that need the core get `this`. */
class LifeboatCore implements Core {
  readonly version = VERSION;
  readonly statuses = new Map<string, InstallationStatus>();
  readonly renewals = new Map<string, SecretRenewal>();
  readonly oneTimeCodes = new OneTimeCodes();
  readonly sessions = new InstallationSessions();
  readonly sessionKeys = new SessionKeys();
  readonly audit: AuditLog;
  readonly registry: InstallationRegistry;
  readonly vault: VaultService;
  readonly quarantine: Quarantine;
  readonly fleet: FleetService;
  readonly restores: RestoreService;
  readonly drills: DrillService;
  readonly anomalies: AnomalyService;
  readonly verification: RotatingVerification;
  readonly media: MediaTickets;
  readonly unattended: Unattended;
  readonly dispatch: Dispatch;

  constructor(
    readonly home: HomeLayout,
    readonly events: EventBus,
    readonly jobs: JobManager,
    readonly settings: SettingsFile,
    private secretStore: SecretStore,
    /** Why no keychain answered at start, or null when one did (or a store was injected). */
    private readonly keychainProblem: string | null,
    readonly apps: AppRegistry,
    clock?: Clock,
  ) {
    this.audit = new AuditLog(home.auditFile);
    this.registry = new InstallationRegistry(home.installationsFile, () => this.secretStore, {
      validate: (input) => validateForModule(apps, input),
      changed: (id) => this.sessions.dispose(id),
    });
    this.vault = new VaultService(home, () => this.secretStore, events, this.audit);
    this.quarantine = new Quarantine(home.quarantineDir);
    this.fleet = new FleetService(this);
    this.restores = new RestoreService(this);
    this.drills = new DrillService(this);
    this.anomalies = new AnomalyService(this);
    this.verification = new RotatingVerification(this);
    this.vault.setRetentionGuard((snapshots) => this.anomalies.protectedSnapshots(snapshots));
    this.media = new MediaTickets(this);
    this.unattended = new Unattended(this, clock);
    const handlers: HandlerMap<CommandName> = {
      ...systemHandlers(this),
      ...installationHandlers(this),
      ...jobHandlers(this),
      ...vaultHandlers(this),
      ...appHandlers(this),
      ...auditHandlers(this),
      ...scheduleHandlers(this),
      ...drillHandlers(this),
      ...anomalyHandlers(this),
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
    // "The restore removed Lifeboat's token: store a new one" outlives the refusals that follow
    // (every later call is refused for exactly that reason) until a new secret is stored or it answers.
    const renewal = this.renewals.get(status.installationId);
    if (status.action?.kind === 'renew-secret') this.renewals.set(status.installationId, { message: status.message ?? '', action: status.action });
    else if (status.state === 'online') this.renewals.delete(status.installationId);
    else if (renewal && status.state === 'auth-failed') status = { ...status, ...renewal };
    this.statuses.set(status.installationId, status);
    this.events.emit('installation:status', status);
  }

  async close(): Promise<void> {
    this.unattended.stop();
    await this.jobs.shutdown();
    await this.unattended.close();
    await this.sessions.disposeAll();
    this.sessionKeys.forget();
  }
}

export { MemorySecretStore };

/** An installation's app kind, settings and secret slots, checked against its module. */
function validateForModule(apps: AppRegistry, input: { app: string; settings: Record<string, string | number | boolean>; secrets?: Record<string, string> | undefined }): void {
  const module = apps.get(input.app);
  const settings = module.settings.schema.safeParse(input.settings);
  if (!settings.success) {
    const issues = settings.error.issues.map((i) => ({ path: ['settings', ...i.path.map(String)], message: i.message }));
    throw new LifeboatError('INVALID_INPUT', `${issues[0]!.message}.`, { details: { issues } });
  }
  for (const slot of Object.keys(input.secrets ?? {})) {
    const known = (TRANSPORT_SECRET_SLOTS as readonly string[]).includes(slot) || module.secretSlots.some((s) => (s.keyed ? slot.startsWith(`${s.slot}:`) : slot === s.slot));
    if (!known) {
      const allowed = [...TRANSPORT_SECRET_SLOTS, ...module.secretSlots.map((s) => (s.keyed ? `${s.slot}:<key>` : s.slot))].join(', ');
      throw new LifeboatError('INVALID_INPUT', `${module.label} has no secret "${slot}"; it takes ${allowed}.`, { details: { issues: [{ path: ['secrets', slot], message: `${module.label} has no secret “${slot}”` }] } });
    }
  }
}
