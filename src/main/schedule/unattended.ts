import path from 'node:path';
import { isSuccess, type JobRecord } from '../../shared/jobs';
import type { FleetState, ScheduleOverview, WatchEntry } from '../../shared/schedule';
import type { Core } from '../core';
import { Notifications } from '../notify/notifications';
import { Watchdog, fleetState, unreachableCount, type WatchInput } from '../watchdog/watchdog';
import { acquireDataDirLock, describeHolder, lockHolder, type DataDirLock } from './lock';
import { CoreTaskExecutor } from './runs';
import { NetworkMonitor, endpointOf } from './reachability';
import { Scheduler, TICK_MS, pausedUntil, systemClock, type Clock, type TaskDef, type TickContext } from './scheduler';
import { trayModel, type TrayModel } from './tray';
import { ScheduleStore } from './store';

/**
 * Unattended protection of one data directory: schedules, the watchdog and notifications. Every
 * core has it (the CLI configures it, pings follow its pulls); only the process holding the data
 * directory's lock (`lifeboat daemon`, `serve`, the desktop app) runs the schedules.
 */
export class Unattended {
  readonly store: ScheduleStore;
  readonly scheduler: Scheduler;
  readonly watchdog: Watchdog;
  readonly notifications: Notifications;
  readonly lockFile: string;
  /** Whether the network is gone and when it returns (then what is past due runs once). */
  readonly network: NetworkMonitor;
  /** Installations with scheduled pulls, as of the last look (the monitor's "whole fleet"). */
  private fleetSize = 0;
  private lock: DataDirLock | null = null;
  private timer: NodeJS.Timeout | null = null;
  private unwatch: (() => void) | null = null;
  private evaluating: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly core: Core,
    readonly clock: Clock = systemClock,
  ) {
    const root = core.home.root;
    this.lockFile = path.join(root, 'scheduler.lock');
    this.store = new ScheduleStore(path.join(root, 'schedules.json'), path.join(root, 'schedule-state.json'));
    this.network = new NetworkMonitor(async (id) => endpointOf(await core.registry.get(id)));
    this.notifications = new Notifications(path.join(root, 'notifications.json'), path.join(root, 'notifications.jsonl'), () => core.secrets(), core.events, clock);
    this.scheduler = new Scheduler(this.store, new CoreTaskExecutor(core), clock, {
      finished: (task, record) => this.finished(task, record),
      held: (task, why) => void this.notifications.post({ event: 'schedule-held', severity: 'critical', title: `Scheduled runs of ${task.name} are held`, message: why, installationId: task.installationId }),
      changed: () => core.events.emit('schedule:changed', { reason: 'runs' }),
      offline: () => this.network.offline(this.fleetSize),
    });
    this.watchdog = new Watchdog(path.join(root, 'watchdog.json'), clock, () => this.watchInputs(), () => this.notifications.watchSettings(), (n) => void this.notifications.post(n));
    const unwatchJobs = this.notifications.watchJobs();
    // A drill that does not restore and a new anomaly alert whichever process found them.
    const unwatchDrills = core.events.on('drill:failed', (r) => {
      this.notifications.post({ event: 'drill-failed', severity: 'critical', title: `Snapshot ${r.snapshotId.slice(0, 8)} of ${r.installationName ?? 'an import'} does not restore`, message: `Restore drill (${r.target}): ${r.failure?.message ?? 'failed'}${r.failure?.statement ? `\nStatement: ${r.failure.statement.slice(0, 300)}` : ''}`, installationId: r.installationId });
    });
    const unwatchAnomalies = core.events.on('anomaly:detected', (a) => {
      this.notifications.post({ event: 'anomaly', severity: 'warning', title: `Anomaly in ${a.installationName ?? a.installationId}'s newest backup: ${a.kind}`, message: `${a.detail} (snapshot ${a.snapshotId.slice(0, 8)}; acknowledge with: lifeboat anomalies ack ${a.id})`, installationId: a.installationId });
    });
    this.unwatch = () => {
      unwatchJobs();
      unwatchDrills();
      unwatchAnomalies();
    };
  }

  /** Whether this process runs the schedules, and who does otherwise. */
  runner(): ScheduleOverview['runner'] {
    if (this.lock) return { here: true, holder: describeHolder(this.lock.holder) };
    const holder = lockHolder(this.lockFile);
    return { here: false, holder: holder ? describeHolder(holder) : null };
  }

  /**
   * Takes the data directory's lock and runs the schedules and the watchdog (a timer; the
   * first tick catches up). Throws ALREADY_EXISTS, naming the holder, when another process runs them.
   */
  run(command: string): void {
    if (this.lock) return;
    this.lock = acquireDataDirLock(this.lockFile, command, this.core.home.root);
    this.scheduler.start();
    void this.evaluate();
    const loop = () => {
      this.timer = setTimeout(() => {
        void this.tick('timer').finally(loop);
      }, TICK_MS);
      this.timer.unref();
    };
    loop();
  }

  get running(): boolean {
    return this.lock !== null;
  }

  /** One round: look at the network (a return makes it a reconnect), start what is due, then look at freshness. */
  async tick(context: TickContext = 'timer'): Promise<void> {
    this.fleetSize = (await this.core.registry.list().catch(() => [])).length;
    if (context === 'timer' && (await this.network.check(this.fleetSize))) context = 'reconnect';
    await this.scheduler.tick(context).catch(() => undefined);
    await this.evaluate();
  }

  /** The machine woke: catch up now. */
  wake(): Promise<void> {
    return this.tick('wake');
  }

  /**
   * The shell's word on the network (Electron `net.isOnline()` on its events): going offline holds
   * pulls; coming back runs what is past due once, saying it ran on reconnect.
   */
  async networkChanged(online: boolean): Promise<void> {
    if (this.network.setSystemOnline(online) && this.running) await this.tick('reconnect');
  }

  /**
   * A watchdog that only observes (no alerts, nothing written), for `lifeboat watch` and for a
   * process that does not run the schedules: the one that does keeps the states and alerts.
   */
  observer(): Watchdog {
    return new Watchdog(path.join(this.core.home.root, 'watchdog.json'), this.clock, () => this.watchInputs(), () => this.notifications.watchSettings(), null);
  }

  /** Evaluations never overlap; a change is announced on the event bus. Only the process running the schedules alerts. */
  evaluate(): Promise<WatchEntry[]> {
    const watchdog = this.running ? this.watchdog : this.observer();
    const run = this.evaluating.then(async () => {
      const changes = await watchdog.evaluate();
      if (changes.length > 0) this.core.events.emit('watch:changed', { changes });
      return watchdog.entries();
    });
    this.evaluating = run.catch(() => undefined);
    return run;
  }

  async fleetState(): Promise<FleetState> {
    return this.stateOf(await this.watchdog.entries());
  }

  /** The watchdog's counts with the installations that cannot be reached now. */
  stateOf(entries: WatchEntry[]): FleetState {
    return fleetState(entries, unreachableCount(entries, (id) => this.core.statuses.get(id)?.state));
  }

  /** The tray's state and menu now (the fleet evaluated, whether schedules are paused). */
  async tray(): Promise<TrayModel> {
    const [entries, config] = await Promise.all([this.evaluate(), this.store.config()]);
    const paused = pausedUntil(config, this.clock.now());
    return trayModel(this.stateOf(entries), paused ? { until: paused } : null);
  }

  async overview(): Promise<ScheduleOverview> {
    const config = await this.store.config();
    const { tasks, paused } = await this.scheduler.overview(config);
    return { paused, maxConcurrent: config.maxConcurrent, defaultPull: config.defaultPull, vaultCheck: config.vaultCheck, installations: config.installations, tasks, runner: this.runner() };
  }

  private finished(task: TaskDef, record: JobRecord): void {
    if (task.kind === 'pull' && task.installationId && record.status !== 'cancelled') {
      this.network.noteOutcome(task.installationId, isSuccess(record.status) ? null : (record.error?.code ?? 'INTERNAL'));
    }
    if (task.kind === 'drill' && record.error?.code === 'DRILL_FAILED') {
      // drill:failed has notified already, with the failing check or statement.
    } else if (!isSuccess(record.status) && record.status !== 'cancelled') {
      const what = task.kind === 'pull' ? `pull of ${task.name}` : task.kind === 'retention' ? `retention of ${task.name}` : task.kind === 'drill' ? `restore drill of ${task.name}` : 'vault check';
      this.notifications.post({ event: 'run-failed', severity: 'warning', title: `Scheduled ${what} failed`, message: `${record.error?.message ?? 'failed'} (${record.reason ?? 'scheduled'})`, installationId: task.installationId });
    } else if (isSuccess(record.status)) {
      const preview = record.result as { preview?: boolean; removeCount?: number; keepCount?: number } | null;
      if (task.kind === 'retention' && preview?.preview) {
        this.notifications.post({ event: 'retention-preview', severity: 'info', title: `Retention of ${task.name} previewed`, message: `The new retention policy would keep ${preview.keepCount} and remove ${preview.removeCount} snapshot(s); it is applied from its next scheduled run. Change it before then to stop that.`, installationId: task.installationId });
      } else {
        this.notifications.post({ event: 'run-succeeded', severity: 'info', title: `Scheduled ${task.kind} of ${task.name} succeeded`, message: record.title, installationId: task.installationId });
      }
    }
    void this.evaluate();
  }

  /** The watchdog's facts: the fleet's view (cadence, newest copy), the app's list when read, pull failures in a row. */
  private async watchInputs(): Promise<WatchInput[]> {
    const [entries, installations] = await Promise.all([this.core.fleet.overview(), this.core.registry.list()]);
    const jobs = this.core.jobs.list({ limit: 1000 }).filter((j) => j.kind === 'pull');
    return entries.map((entry) => {
      const installation = installations.find((i) => i.id === entry.installationId);
      const seen = this.core.fleet.remoteSeen(entry.installationId);
      const mine = jobs.filter((j) => j.installationId === entry.installationId && j.status !== 'cancelled' && j.status !== 'queued' && j.status !== 'running');
      let failures = 0;
      for (const j of mine) {
        if (isSuccess(j.status)) break;
        failures += 1;
      }
      const appNewest = seen?.newest?.createdAt ? Date.parse(seen.newest.createdAt) : null;
      return {
        installationId: entry.installationId,
        name: entry.name,
        addedAt: installation ? Date.parse(installation.createdAt) : this.clock.now(),
        cadenceHours: entry.cadenceHours,
        appObserved: seen?.checkedAt !== null && seen?.checkedAt !== undefined,
        appNewest: appNewest !== null && Number.isFinite(appNewest) ? appNewest : null,
        lifeboatNewest: entry.newestSnapshot ? Date.parse(entry.newestSnapshot.time) : null,
        consecutiveFailures: failures,
        lastError: mine[0]?.error?.message ?? null,
      };
    });
  }

  /** Stops the timer: nothing new is started (the core then ends its jobs and calls `close`). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.scheduler.stop();
  }

  /**
   * Lets deliveries under way end (a CLI pull's success ping must still go out), for at most
   * CLOSE_GRACE_MS, then stops their retries and releases the lock.
   */
  async close(): Promise<void> {
    this.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.notifications.settle(false), new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    this.unwatch?.();
    await this.notifications.settle(true);
    this.lock?.release();
    this.lock = null;
  }
}

/** How long closing waits for notifications still being delivered. */
const CLOSE_GRACE_MS = 5_000;
