import { LifeboatError } from '../../shared/errors';
import type { Installation } from '../../shared/installations';
import type { ScheduleFile } from '../../shared/schedule';
import type { Core } from '../core';
import type { JobContext } from '../jobs/job-manager';
import { createAdapterContext } from '../apps/context';
import { runPullAndCompare } from '../apps/pull-runner';
import { runDrill } from '../drills/drill-service';
import type { DrillResult } from '../../shared/drills';
import { Scheduler, type ScheduledRun, type TaskDef, type TaskExecutor } from './scheduler';

/** The tasks of the data directory's schedules, started as ordinary jobs of the core (pull, forget, check). */
export class CoreTaskExecutor implements TaskExecutor {
  constructor(private readonly core: Core) {}

  async tasks(config: ScheduleFile): Promise<TaskDef[]> {
    const installations = await this.core.registry.list();
    const tasks: TaskDef[] = [];
    for (const installation of installations) {
      if (!this.core.apps.has(installation.app)) continue;
      const own = config.installations[installation.id];
      const module = this.core.apps.get(installation.app);
      const loginLimit = module.loginLimit ?? null;
      tasks.push({ key: `pull:${installation.id}`, kind: 'pull', installationId: installation.id, name: installation.name, spec: own?.pull ?? config.defaultPull, usesDefault: !own?.pull, loginLimit });
      if (own?.retention) {
        tasks.push({ key: `retention:${installation.id}`, kind: 'retention', installationId: installation.id, name: installation.name, spec: own.retention.schedule, usesDefault: false, policyHash: Scheduler.policyHash(own.retention.policy), loginLimit: null });
      }
      if (own?.drill && module.drill) {
        tasks.push({ key: `drill:${installation.id}`, kind: 'drill', installationId: installation.id, name: installation.name, spec: own.drill, usesDefault: false, loginLimit: null });
      }
    }
    tasks.push({ key: 'vault-check', kind: 'vault-check', installationId: null, name: 'Vault', spec: config.vaultCheck.schedule, usesDefault: false, loginLimit: null });
    return tasks;
  }

  start(run: ScheduledRun, config: ScheduleFile) {
    const { task, reason } = run;
    const core = this.core;
    let record;
    if (task.kind === 'vault-check') {
      const readData = config.vaultCheck.readData;
      record = core.jobs.start({ kind: 'vault-check', title: `Scheduled check of the vault${readData ? ', reading all data' : ''}`, reason }, async (ctx) => {
        const report = await core.vault.check(readData, ctx);
        if (!report.ok) throw new LifeboatError('VAULT_CORRUPT', `The vault check found ${report.problems.length} problem(s): ${report.problems[0] ?? ''}`, { details: { problems: report.problems.slice(0, 20) } });
        return report;
      });
    } else if (task.kind === 'drill') {
      const id = task.installationId!;
      record = core.jobs.start({ kind: 'drill', title: `Scheduled restore drill of ${task.name}'s newest snapshot`, installationId: id, reason, queue: { name: 'drill', limit: 1 } }, (ctx) => scheduledDrill(core, id, task.name, ctx));
    } else if (task.kind === 'retention') {
      const id = task.installationId!;
      const settings = config.installations[id]!.retention!;
      record = run.previewOnly
        ? core.jobs.start({ kind: 'vault-forget', title: `Preview retention of ${task.name} (applied from its next scheduled run)`, installationId: id, reason: `${reason}; a new policy is previewed before it is applied` }, async (ctx) => {
            ctx.progress({ phase: 'previewing' });
            const preview = await core.vault.forgetPreview(settings.policy, id);
            ctx.log(`would keep ${preview.keepCount} and remove ${preview.removeCount} snapshot(s)`);
            return { preview: true, keepCount: preview.keepCount, removeCount: preview.removeCount };
          })
        : core.jobs.start({ kind: 'vault-forget', title: `Scheduled retention of ${task.name}`, installationId: id, reason, queue: { name: 'vault-write', limit: 1 } }, (ctx) => core.vault.forget(settings.policy, id, settings.prune, ctx));
    } else {
      const id = task.installationId!;
      const triggerFirst = config.installations[id]?.triggerFirst ?? false;
      record = core.jobs.start(
        { kind: 'pull', title: `Scheduled pull of ${task.name}`, installationId: id, reason, queue: { name: 'pull', limit: config.maxConcurrent, perKey: id } },
        async (ctx) => scheduledPull(core, await core.registry.get(id), triggerFirst, ctx),
      );
    }
    return { jobId: record.id, done: core.jobs.wait(record.id) };
  }
}

/**
 * Pulls an installation's newest backup: with "trigger first" the app makes one and that one is
 * pulled; else the newest on its list (which also tells the watchdog when the app last made one);
 * an app without a list exports on demand.
 */
async function scheduledPull(core: Core, installation: Installation, triggerFirst: boolean, ctx: JobContext) {
  const module = core.apps.get(installation.app);
  const capabilities = module.capabilities(installation);
  if (capabilities.interactive?.includes('pull')) {
    throw new LifeboatError('CODE_REQUIRED', `Pulling "${installation.name}" needs an authenticator code, so it cannot run unattended; pull it by hand or give it an API token.`);
  }
  await core.vault.open();
  let remoteId: string | null = null;
  const { sources } = module;
  if ((triggerFirst && sources.trigger && capabilities.trigger) || (sources.list && !capabilities.interactive?.includes('list'))) {
    const actx = createAdapterContext(core, installation, ctx);
    try {
      if (triggerFirst && sources.trigger && capabilities.trigger) {
        ctx.progress({ phase: 'asking the app for a backup' });
        const triggered = await sources.trigger(actx);
        ctx.log(`trigger: ${triggered.message}`);
        remoteId = triggered.remoteId;
      }
      if (remoteId === null && sources.list) {
        ctx.progress({ phase: 'listing remote backups' });
        const list = await sources.list(actx);
        core.fleet.noteRemote(installation.id, list[0] ? { id: list[0].id, createdAt: list[0].createdAt } : null);
        remoteId = list[0]?.id ?? null;
        if (remoteId === null) throw new LifeboatError('NOT_FOUND', `"${installation.name}" has no backups yet.`);
      }
    } finally {
      await actx.close();
    }
  }
  return runPullAndCompare(core, installation, remoteId, ctx);
}

/**
 * Drills the installation's newest snapshot (not a pre-restore copy); the result is stored with
 * the snapshot. A snapshot that does not restore fails the job with DRILL_FAILED (drill:failed
 * has already notified).
 */
async function scheduledDrill(core: Core, installationId: string, name: string, ctx: JobContext): Promise<DrillResult> {
  await core.vault.open();
  const newest = (await core.vault.snapshots({ installationId })).find((s) => s.source !== 'pre-restore');
  if (!newest) throw new LifeboatError('NOT_FOUND', `"${name}" has no snapshot in the vault to drill yet.`);
  const result = await runDrill(core, newest.id, ctx);
  ctx.keepResult(result);
  if (!result.restorable) throw new LifeboatError('DRILL_FAILED', `Snapshot ${newest.shortId} of ${name} does not restore: ${result.failure?.message ?? 'see the drill result'}`, { details: { snapshotId: newest.id, drillId: result.id } });
  return result;
}
