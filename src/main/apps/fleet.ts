import { toErrorPayload } from '../../shared/errors';
import type { AdapterCapabilities, FleetEntry, Freshness } from '../../shared/apps';
import type { Installation } from '../../shared/installations';
import type { SnapshotView } from '../../shared/vault';
import type { Core } from '../core';
import { createAdapterContext } from './context';
import { listsBackups } from './module';

interface RemoteState {
  newest: { id: string; createdAt: string | null } | null;
  cadenceHours: number | null;
  error: string | null;
  findings?: string[];
  /** When the list was last read (ms). */
  checkedAt?: number;
}

const NO_CAPABILITIES: AdapterCapabilities = { list: false, trigger: false, pull: false, preview: false, restore: false, restoreOptions: { scopes: [], conflict: null }, notes: [] };

/**
 * The Fleet view's data: per installation, reachability, the newest remote backup, the newest
 * vault snapshot, and freshness against the expected cadence.
 */
export class FleetService {
  private readonly remote = new Map<string, RemoteState>();

  constructor(private readonly core: Core) {}

  /** The last refused listing no longer says anything (a new secret is stored, or a connection test passed). */
  supersedeRefusal(installationId: string): void {
    const known = this.remote.get(installationId);
    if (!known?.error) return;
    this.remote.set(installationId, { ...known, error: null });
    this.core.events.emit('fleet:changed', { installationId });
  }

  /** A scheduled pull read the list: its newest backup is what the app made last. */
  noteRemote(installationId: string, newest: { id: string; createdAt: string | null } | null): void {
    const known = this.remote.get(installationId);
    this.remote.set(installationId, { newest, cadenceHours: known?.cadenceHours ?? null, error: null, checkedAt: Date.now(), ...(known?.findings ? { findings: known.findings } : {}) });
    this.core.events.emit('fleet:changed', { installationId });
  }

  /** The newest remote backup seen and when the list was read, for the watchdog's "did the app make one?". */
  remoteSeen(installationId: string): { newest: { id: string; createdAt: string | null } | null; checkedAt: number | null } | null {
    const known = this.remote.get(installationId);
    return known ? { newest: known.newest, checkedAt: known.checkedAt ?? null } : null;
  }

  async overview(): Promise<FleetEntry[]> {
    const installations = await this.core.registry.list();
    let snapshots: SnapshotView[] = [];
    try {
      snapshots = await this.core.vault.snapshots();
    } catch {
      // No vault yet, or locked: the fleet still shows reachability and remote backups.
      snapshots = [];
    }
    const recentJobs = this.core.jobs.list({ limit: 500 });
    const anomalies = await this.core.anomalies.list();
    const drills = await this.core.drills.latestByInstallation();
    return installations.map((installation) => {
      const own = snapshots.filter((s) => s.installationId === installation.id && s.source !== 'pre-restore');
      const newestSnapshot = own[0] ? { id: own[0].id, time: own[0].time } : null;
      const remote = this.remote.get(installation.id) ?? null;
      const lastPull = recentJobs.find((j) => j.installationId === installation.id && j.kind === 'pull' && (j.status === 'succeeded' || j.status === 'failed'));
      const cadenceHours = installation.expectedCadenceHours ?? numberSetting(installation, 'cadenceHours') ?? remote?.cadenceHours ?? null;
      const status = this.core.statuses.get(installation.id) ?? null;
      // A pull that stopped for the operator's one-time code is waiting for a person, not failing.
      const pullFailed = lastPull?.status === 'failed' && lastPull.error?.code !== 'CODE_REQUIRED';
      const remoteError = remote?.error ?? null;
      const failing = pullFailed || status?.state === 'offline' || status?.state === 'auth-failed' || status?.state === 'host-key-untrusted' || Boolean(remoteError);
      return {
        installationId: installation.id,
        name: installation.name,
        app: installation.app,
        status,
        newestRemote: remote?.newest ?? null,
        newestSnapshot,
        freshness: freshness(newestSnapshot?.time ?? null, cadenceHours, failing),
        cadenceHours,
        capabilities: this.core.apps.has(installation.app) ? this.core.apps.get(installation.app).capabilities(installation) : { ...NO_CAPABILITIES, notes: [`Lifeboat has no module for the app kind "${installation.app}".`] },
        ...(anomalies.some((a) => a.installationId === installation.id)
          ? { anomalies: anomalies.filter((a) => a.installationId === installation.id).map((a) => ({ id: a.id, kind: a.kind, snapshotId: a.snapshotId, detail: a.detail })) }
          : {}),
        ...(drills.has(installation.id) ? { lastDrill: drills.get(installation.id)! } : {}),
        lastError: remoteError ?? (pullFailed ? (lastPull?.error?.message ?? null) : failing ? (status?.message ?? null) : null),
        ...(remote?.findings?.length ? { findings: remote.findings } : {}),
      };
    });
  }

  /** Lists remote backups of each installation (a job each) and updates the overview. */
  refresh(installationId?: string): Promise<string[]> {
    return this.core.registry.list().then((all) =>
      all
        .filter((i) => (!installationId || i.id === installationId) && this.core.apps.has(i.app))
        .map((installation) =>
          this.core.jobs.start({ kind: 'fleet-refresh', title: `Check ${installation.name} for new backups`, installationId: installation.id, queue: { name: 'fleet-refresh', limit: 4 } }, async (ctx) => {
            const module = this.core.apps.get(installation.app);
            if (module.capabilities(installation).interactive?.includes('list')) {
              // Listing needs an operator's one-time code (Weavestream over HTTPS without an API
              // key): an unattended refresh must not spend a rate-limited login on it.
              this.core.setStatus({ installationId: installation.id, state: 'unknown', checkedAt: new Date().toISOString(), message: 'Listing backups needs an authenticator code: use Pull… to list them.' });
              this.core.events.emit('fleet:changed', { installationId: installation.id });
              return { backups: null };
            }
            const actx = createAdapterContext(this.core, installation, ctx);
            const started = performance.now();
            try {
              const { sources } = module;
              // An app without a list (export on demand) is checked by one authenticated read instead.
              const list = listsBackups(module, installation) ? await sources.list!(actx) : null;
              const seen = list === null && module.checkAccess ? await module.checkAccess(actx) : null;
              const cadenceHours = sources.cadenceHours ? await sources.cadenceHours(actx).catch(() => null) : null;
              const findings = [...new Set((list ?? []).map((b) => b.details.securityFinding).filter((f): f is string => typeof f === 'string' && f !== ''))];
              this.remote.set(installation.id, { newest: list?.[0] ? { id: list[0].id, createdAt: list[0].createdAt } : null, cadenceHours, error: null, findings, ...(list ? { checkedAt: Date.now() } : {}) });
              this.core.setStatus({ installationId: installation.id, state: 'online', checkedAt: new Date().toISOString(), latencyMs: Math.round(performance.now() - started), message: list ? `${list.length} backup(s) on the server` : (seen ?? 'reachable; this app keeps no list of backups') });
              return { backups: list?.length ?? null };
            } catch (error) {
              const payload = toErrorPayload(error);
              this.remote.set(installation.id, { newest: this.remote.get(installation.id)?.newest ?? null, cadenceHours: null, error: payload.message });
              this.core.setStatus({ installationId: installation.id, state: payload.code.includes('AUTH') || payload.code === 'SECRET_REQUIRED' ? 'auth-failed' : payload.code.includes('HOST_KEY') || payload.code.startsWith('TLS') ? 'host-key-untrusted' : 'offline', checkedAt: new Date().toISOString(), message: payload.message });
              throw error;
            } finally {
              await actx.close();
              this.core.events.emit('fleet:changed', { installationId: installation.id });
            }
          }).id,
        ),
    );
  }
}

function numberSetting(installation: Installation, key: string): number | null {
  const value = installation.settings[key];
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(number) && number > 0 ? number : null;
}

/**
 * fresh: within 1.25 cadences; due: within 2; overdue beyond; failing wins; never: nothing pulled
 * yet (a new installation is not late); unknown without a cadence.
 */
export function freshness(newestTime: string | null, cadenceHours: number | null, failing: boolean, now = Date.now()): Freshness {
  if (failing) return 'failing';
  if (!newestTime) return 'never';
  if (cadenceHours === null) return 'unknown';
  const ageHours = (now - Date.parse(newestTime)) / 3_600_000;
  if (ageHours <= cadenceHours * 1.25) return 'fresh';
  if (ageHours <= cadenceHours * 2) return 'due';
  return 'overdue';
}
