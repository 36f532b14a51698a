/**
 * The only writers of server-owned state. Imported by lib/api.ts alone: components read the
 * store and call commands, and what the core says comes back here through events.
 */
import type { Installation, InstallationStatus } from '../../shared/installations';
import type { JobRecord } from '../../shared/jobs';
import type { AppModuleInfo, FleetEntry } from '../../shared/apps';
import type { SystemInfo } from '../../shared/contract/system';
import type { ErrorPayload } from '../../shared/errors';
import type { SnapshotView, VaultStats, VaultStatus } from '../../shared/vault';
import { isFinished } from '../../shared/jobs';
import { useStore } from './store';
import type { LinkState } from './system-slice';

const { setState } = useStore;

export function writeSystemInfo(info: SystemInfo): void {
  setState((s) => ({ system: { ...s.system, info } }));
}

export function writeModules(modules: AppModuleInfo[]): void {
  setState((s) => ({ system: { ...s.system, modules } }));
}

export function writeSecretBackend(secrets: SystemInfo['secrets']): void {
  setState((s) => ({ system: { ...s.system, info: s.system.info ? { ...s.system.info, secrets } : null } }));
}

export function writeLink(link: LinkState): void {
  setState((s) => (s.system.link === link ? s : { system: { ...s.system, link } }));
}

export function writeInstallations(installations: Installation[]): void {
  setState((s) => ({ fleet: { ...s.fleet, installations, loadError: null } }));
}

export function writeFleetError(loadError: ErrorPayload): void {
  setState((s) => ({ fleet: { ...s.fleet, loadError } }));
}

/** A full snapshot: drops statuses of removed installations, but never undoes a newer event. */
export function writeStatuses(list: InstallationStatus[]): void {
  setState((s) => {
    const statuses = Object.fromEntries(list.map((st) => [st.installationId, listedStatus(s.fleet.statuses[st.installationId], st)]));
    return { fleet: { ...s.fleet, statuses } };
  });
}

export function writeStatus(status: InstallationStatus): void {
  setState((s) => ({ fleet: { ...s.fleet, statuses: { ...s.fleet.statuses, [status.installationId]: laterStatus(s.fleet.statuses[status.installationId], status) } } }));
}

/**
 * A list answer and an event travel on different connections and can arrive in either order:
 * the status checked last wins.
 */
function laterStatus(current: InstallationStatus | undefined, incoming: InstallationStatus): InstallationStatus {
  if (current?.checkedAt && incoming.checkedAt && current.checkedAt > incoming.checkedAt) return current;
  return incoming;
}

/**
 * A list answer may have been read before a status event that already arrived: one never checked
 * (no `checkedAt`) does not replace a checked one. (An event without `checkedAt` still does: the core
 * sends one when a new secret makes the last check void.)
 */
function listedStatus(current: InstallationStatus | undefined, listed: InstallationStatus): InstallationStatus {
  if (current?.checkedAt && !listed.checkedAt) return current;
  return laterStatus(current, listed);
}

/** The whole fleet overview (it is always read whole). */
export function writeFleetOverview(entries: FleetEntry[]): void {
  setState((s) => ({ fleet: { ...s.fleet, overview: Object.fromEntries(entries.map((e) => [e.installationId, e])), overviewError: null } }));
}

export function writeFleetOverviewError(overviewError: ErrorPayload): void {
  setState((s) => ({ fleet: { ...s.fleet, overviewError } }));
}

export function writeJobs(list: JobRecord[]): void {
  setState((s) => {
    const byId = { ...s.jobs.byId };
    for (const job of list) byId[job.id] = newer(byId[job.id], job);
    return { jobs: { byId, loaded: true, loadError: null } };
  });
}

export function writeJob(job: JobRecord): void {
  setState((s) => ({ jobs: { ...s.jobs, byId: { ...s.jobs.byId, [job.id]: newer(s.jobs.byId[job.id], job) } } }));
}

export function writeJobsError(loadError: ErrorPayload): void {
  setState((s) => ({ jobs: { ...s.jobs, loadError } }));
}

export function bumpVaultRevision(): void {
  setState((s) => ({ vault: { ...s.vault, revision: s.vault.revision + 1 } }));
}

/** The vault's status, and its snapshots and sizes when it is open (null otherwise). */
export function writeVault(status: VaultStatus, snapshots: SnapshotView[] | null, stats: VaultStats | null): void {
  setState((s) => ({ vault: { ...s.vault, status, snapshots, stats, loadError: null } }));
}

export function writeVaultError(loadError: ErrorPayload): void {
  setState((s) => ({ vault: { ...s.vault, loadError } }));
}

/**
 * A list answer can cross a job:update event in flight; a finished record never goes back to
 * running, so keep the one that is further along.
 */
function newer(current: JobRecord | undefined, incoming: JobRecord): JobRecord {
  if (current && isFinished(current.status) && !isFinished(incoming.status)) return current;
  return incoming;
}
