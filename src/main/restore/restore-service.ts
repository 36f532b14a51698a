import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { LifeboatError, toErrorPayload } from '../../shared/errors';
import type { ArchiveSourceRef, InterruptedRestore, PreflightCheck, PreviewReport, RestoreMode, RestorePlan, RestoreReport } from '../../shared/apps';
import type { Core } from '../core';
import type { JobContext } from '../jobs/job-manager';
import { writeFileAtomic } from '../fs/atomic-write';
import { openArchive } from '../apps/archive-access';
import { createAdapterContext } from '../apps/context';
import { createArchiveKeyResolver, createKeyResolver } from '../apps/keys';
import type { ArchiveOrigin } from '../apps/module';
import type { Installation } from '../../shared/installations';
import { previewArchive } from '../apps/preview';
import { runSafetyPull } from '../apps/pull-runner';
import type { RestorePlanDraft } from '../apps/adapter';
import { RestoreJournal, describeInterruption, toInterrupted, type JournalEntry } from './restore-journal';

const EMPTY_DRAFT: RestorePlanDraft = { preflight: [], changes: [], steps: [], pointOfNoReturn: '' };

export interface PlanInput {
  installationId: string;
  source: ArchiveSourceRef;
  mode: RestoreMode;
  /** A conflict policy of the module; its default when the module has policies and none is given. */
  conflict?: string | undefined;
  selection: string[];
}

export interface StartInput {
  planId: string;
  /** The installation's name, typed by the operator. */
  confirmation: string;
  /** Second confirmation when the archive came from another installation. */
  confirmCrossInstallation: boolean;
  /** Skipping the safety pull needs a reason; it is logged in the audit trail. */
  skipSafetyPull?: { reason: string } | undefined;
}

/**
 * The restore wizard's engine, the same for the UI and the CLI: plan (preflight + dry run),
 * then run (safety pull → restore → verification), then a stored report.
 */
export class RestoreService {
  private readonly plans = new Map<string, { plan: RestorePlan; preview: PreviewReport; origin: ArchiveOrigin }>();

  /** One file per running restore; what is left of it at a start is a restore that was interrupted. */
  private readonly journal: RestoreJournal;

  constructor(private readonly core: Core) {
    this.journal = new RestoreJournal(path.join(this.reportsDir, 'journal'));
  }

  private get reportsDir(): string {
    return path.join(this.core.home.root, 'restores');
  }

  /** Works out the plan; nothing on the target changes, and a plan that is already blocked asks the target nothing. */
  async plan(input: PlanInput, ctx: JobContext): Promise<RestorePlan> {
    const core = this.core;
    const installation = await core.registry.get(input.installationId);
    const opened = await openArchive(core, input.source);
    const entry = this.journal.begin({ restoreId: ctx.jobId, planId: null, installationId: installation.id, installationName: installation.name, app: installation.app, sourceLabel: opened.label, snapshotId: opened.snapshotId, mode: input.mode, phase: 'plan' });
    try {
      return await this.planOpened(input, ctx, installation, opened);
    } finally {
      this.journal.end(entry);
    }
  }

  private async planOpened(input: PlanInput, ctx: JobContext, installation: Installation, opened: Awaited<ReturnType<typeof openArchive>>): Promise<RestorePlan> {
    const core = this.core;
    const module = core.apps.get(installation.app);
    const options = module.capabilities(installation).restoreOptions;
    const scope = options.scopes.find((s) => s.id === input.mode);
    if (!module.restore || !scope) {
      const offered = options.scopes.map((s) => s.id).join(', ');
      throw new LifeboatError('INVALID_INPUT', module.restore && offered ? `${module.label} restores offer ${offered}, not "${input.mode}".` : `Lifeboat cannot restore "${installation.name}" here: ${module.capabilities(installation).notes.join(' ') || `${module.label} has no restore.`}`);
    }
    const conflict = options.conflict ? (input.conflict ?? options.conflict.default) : null;
    if (options.conflict && !options.conflict.policies.some((p) => p.id === conflict)) {
      throw new LifeboatError('INVALID_INPUT', `${module.label} treats existing records by ${options.conflict.policies.map((p) => p.id).join(', ')}, not "${conflict}".`);
    }
    if (!options.conflict && input.conflict) throw new LifeboatError('INVALID_INPUT', `${module.label} has no choice for conflicting records: a restore replaces them.`);
    const choice = { mode: scope.id, conflict, selection: scope.selectable ? input.selection : [] };

    const preflight: PreflightCheck[] = [];
    const tagged = opened.snapshotId ? (await core.vault.snapshots()).find((s) => s.id === opened.snapshotId)?.app ?? null : null;
    if (tagged && tagged !== installation.app) {
      preflight.push({ id: 'app-kind', kind: 'compatibility', name: 'App kind', ok: false, blocking: true, detail: `This archive is a ${core.apps.label(tagged)} backup; "${installation.name}" runs ${module.label}.` });
    }
    const origin = await archiveOrigin(core, opened, installation);
    let preview: PreviewReport;
    try {
      preview = await previewArchive(core, { source: input.source, app: installation.app, installationId: installation.id, keys: origin.keys }, ctx);
    } catch (error) {
      const payload = toErrorPayload(error);
      if (payload.code === 'CANCELLED' || payload.code === 'KEY_REQUIRED') throw error;
      preflight.push({ id: 'archive-readable', kind: 'integrity', name: 'Archive', ok: false, blocking: true, detail: `The archive cannot be read as a ${module.label} backup: ${payload.message}` });
      return this.store(installation, choice, input.source, opened, preflight, EMPTY_DRAFT, null, origin);
    }
    preflight.push({ id: 'archive-integrity', kind: 'integrity', name: 'Archive integrity', ok: preview.integrity.ok, blocking: true, detail: preview.integrity.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ') || 'every check passed' });
    const unknown = choice.selection.filter((s) => !preview.selectable.includes(s));
    if (scope.selectable && (choice.selection.length === 0 || unknown.length > 0)) {
      preflight.push({ id: 'selection', kind: 'selection', name: 'Selection', ok: false, blocking: true, detail: choice.selection.length === 0 ? 'A selective restore needs at least one item chosen.' : `Not in the archive: ${unknown.join(', ')}.` });
    }
    if (preflight.some((c) => c.blocking && !c.ok)) {
      // Blocked already: the target is not asked anything (no logins, no throwaway backups).
      return this.store(installation, choice, input.source, opened, preflight, EMPTY_DRAFT, preview, origin);
    }
    const actx = createAdapterContext(core, installation, ctx);
    try {
      const draft = await module.restore.plan(actx, { archive: opened.access, preview, origin, ...choice });
      return this.store(installation, choice, input.source, opened, preflight, draft, preview, origin);
    } finally {
      await actx.close();
    }
  }

  private store(
    installation: Awaited<ReturnType<Core['registry']['get']>>,
    choice: { mode: string; conflict: string | null; selection: string[] },
    source: ArchiveSourceRef,
    opened: Awaited<ReturnType<typeof openArchive>>,
    preflight: PreflightCheck[],
    draft: RestorePlanDraft,
    preview: PreviewReport | null,
    origin: ArchiveOrigin,
  ): RestorePlan {
    // A module that checks the archive's integrity itself says so in its own words; keep its line.
    const moduleChecksIntegrity = draft.preflight.some((c) => c.kind === 'integrity');
    const allChecks = [...preflight.filter((c) => !(moduleChecksIntegrity && c.id === 'archive-integrity')), ...draft.preflight];
    const crossInstallation = opened.installationId !== null && opened.installationId !== installation.id;
    const plan: RestorePlan = {
      id: randomUUID(),
      createdAt: new Date().toISOString(),
      installationId: installation.id,
      installationName: installation.name,
      app: installation.app,
      source,
      sourceLabel: opened.label,
      sourceInstallationId: opened.installationId,
      crossInstallation,
      mode: choice.mode,
      conflict: choice.conflict,
      selection: choice.selection,
      preflight: allChecks,
      blocked: allChecks.some((c) => c.blocking && !c.ok),
      changes: draft.changes,
      steps: [...(draft.nothingToSave ? [] : ['Safety pull: back up the current state of the target into the vault (tagged pre-restore)']), ...draft.steps, 'Verify the result and store the report'],
      pointOfNoReturn: draft.pointOfNoReturn,
      followUps: draft.followUps ?? [],
      nothingToSave: draft.nothingToSave ?? null,
      confirmationText: installation.name,
      ...(preview?.keyRejected ? { keyRejected: preview.keyRejected } : {}),
    };
    if (preview) this.plans.set(plan.id, { plan, preview, origin });
    return plan;
  }

  /** Checks the confirmations, then starts the restore job. */
  async start(input: StartInput): Promise<{ jobId: string }> {
    const stored = this.plans.get(input.planId);
    if (!stored) throw new LifeboatError('NOT_FOUND', 'That restore plan is unknown or expired; make a new plan.');
    const { plan } = stored;
    if (plan.blocked) throw new LifeboatError('PREFLIGHT_FAILED', `The preflight found blocking problems: ${plan.preflight.filter((c) => c.blocking && !c.ok).map((c) => c.detail).join(' ')}`);
    if (input.confirmation !== plan.confirmationText) {
      throw new LifeboatError('CONFIRMATION_MISMATCH', `To confirm, type the installation's name exactly: "${plan.confirmationText}".`);
    }
    if (plan.crossInstallation && !input.confirmCrossInstallation) {
      throw new LifeboatError('CONFIRMATION_MISMATCH', `This archive came from another installation; confirm that you want to restore it into "${plan.installationName}".`);
    }
    if (input.skipSafetyPull && input.skipSafetyPull.reason.trim().length < 5) {
      throw new LifeboatError('INVALID_INPUT', 'Skipping the safety pull needs a reason (it is recorded in the audit trail).');
    }
    const job = this.core.jobs.start(
      { kind: 'restore', title: `Restore ${plan.installationName} (${plan.mode})`, installationId: plan.installationId, queue: { name: 'pull', limit: 3, perKey: plan.installationId } },
      (ctx) => this.run(stored, input, ctx),
    );
    return { jobId: job.id };
  }

  private async run(stored: { plan: RestorePlan; preview: PreviewReport; origin: ArchiveOrigin }, input: StartInput, ctx: JobContext): Promise<RestoreReport> {
    const { plan, preview, origin } = stored;
    const core = this.core;
    const installation = await core.registry.get(plan.installationId);
    const restore = core.apps.get(installation.app).restore;
    if (!restore) throw new LifeboatError('APP_UNSUPPORTED', `"${installation.name}" cannot be restored.`);
    const startedAt = new Date().toISOString();
    const report: RestoreReport = { planId: plan.id, installationId: plan.installationId, ok: false, outcome: 'failed', followUps: [...plan.followUps], safetySnapshotId: null, safetyPullSkipped: null, checks: [], startedAt, finishedAt: startedAt, log: [] };
    const log = (line: string) => {
      report.log.push(line);
      ctx.log(line);
    };
    const savesFirst = !plan.nothingToSave && !input.skipSafetyPull;
    const entry = this.journal.begin({ restoreId: ctx.jobId, planId: plan.id, installationId: installation.id, installationName: installation.name, app: installation.app, sourceLabel: plan.sourceLabel, snapshotId: 'snapshotId' in plan.source ? plan.source.snapshotId : null, mode: plan.mode, phase: savesFirst ? 'safety-pull' : 'restoring' });
    try {
      if (plan.nothingToSave) {
        report.safetyPullSkipped = plan.nothingToSave;
        log(`no safety pull: ${plan.nothingToSave}`);
      } else if (input.skipSafetyPull) {
        report.safetyPullSkipped = input.skipSafetyPull.reason;
        log(`safety pull skipped by the operator: ${input.skipSafetyPull.reason}`);
        await core.audit.record({ action: 'restore-override', outcome: 'succeeded', installationId: installation.id, installationName: installation.name, jobId: ctx.jobId, detail: `safety pull skipped: ${input.skipSafetyPull.reason}` });
      } else {
        ctx.progress({ phase: 'safety pull: backing up the target first', bytes: 0, total: null });
        const pulled = await runSafetyPull(core, installation, ctx);
        report.safetySnapshotId = pulled.snapshotId;
        this.journal.update(entry, { safetySnapshotId: pulled.snapshotId, phase: 'restoring' });
        log(`safety snapshot ${pulled.snapshotId.slice(0, 8)} holds the state before the restore`);
      }
      ctx.throwIfCancelled();
      const opened = await openArchive(core, plan.source);
      ctx.progress({ phase: 'restoring', bytes: 0, total: opened.access.size });
      const actx = createAdapterContext(core, installation, ctx);
      try {
        const passPointOfNoReturn = (what: string) => {
          // On disk before the module goes on to change the target.
          this.journal.update(entry, { pointOfNoReturnPassed: true });
          ctx.passPointOfNoReturn(what);
        };
        await restore.run({ ...actx, passPointOfNoReturn }, { plan, archive: opened.access, preview, origin });
        this.journal.update(entry, { phase: 'verifying' });
        log('restore finished; verifying');
        ctx.progress({ phase: 'verifying', bytes: 0, total: null });
        report.checks = await restore.verify(actx, { plan, archive: opened.access, preview, origin });
      } finally {
        await actx.close();
      }
      this.askForRenewedSecrets(installation.id, report);
      return this.judge(report, ctx, log);
    } catch (error) {
      const payload = toErrorPayload(error);
      if (payload.code !== 'RESTORE_VERIFY_FAILED') {
        report.outcome = ctx.signal.aborted ? 'cancelled' : 'failed';
        log(`restore failed: ${payload.message}`);
        // What the target is in, from the journal: unchanged before the point of no return, else partial or restored but unverified.
        const { targetState, advice } = describeInterruption(entry);
        report.targetState = targetState;
        report.followUps.push(advice);
        log(`target: ${targetState}. ${advice}`);
        ctx.keepResult(report);
        throw new LifeboatError(payload.code, `${payload.message} ${advice}`, { cause: error, details: { ...payload.details, targetState, phase: entry.phase, pointOfNoReturnPassed: entry.pointOfNoReturnPassed, safetySnapshotId: entry.safetySnapshotId } });
      }
      ctx.keepResult(report);
      throw error;
    } finally {
      report.finishedAt = new Date().toISOString();
      try {
        await this.saveReport(report);
        await core.audit.record({
          action: 'restore',
          outcome: report.outcome === 'verified' ? 'succeeded' : report.outcome === 'unverified' ? 'succeeded-with-warnings' : report.outcome === 'cancelled' ? 'cancelled' : 'failed',
          installationId: installation.id,
          installationName: installation.name,
          snapshotId: 'snapshotId' in plan.source ? plan.source.snapshotId : undefined,
          mode: plan.mode,
          jobId: ctx.jobId,
          detail: `${plan.sourceLabel}${plan.selection.length ? `; tables ${plan.selection.join(', ')}` : ''}`,
        });
      } finally {
        this.journal.end(entry);
      }
    }
  }

  /**
   * At start: every journal a dead process left is a restore that was interrupted. Each gets, once,
   * a job record that failed with RESTORE_INTERRUPTED (its report's outcome `interrupted`) and an
   * audit entry; it stays listed (`interrupted()`) until the operator acknowledges it.
   */
  async recoverInterrupted(): Promise<void> {
    for (const entry of this.journal.interrupted()) {
      if (entry.detectedAt !== undefined) continue;
      this.journal.markDetected(entry);
      await this.recordInterruption(entry, toInterrupted(entry));
    }
  }

  private async recordInterruption(entry: JournalEntry, found: InterruptedRestore): Promise<void> {
    const core = this.core;
    const planning = entry.phase === 'plan';
    const report: RestoreReport | null = planning || entry.planId === null
      ? null
      : { planId: entry.planId, installationId: entry.installationId, ok: false, outcome: 'interrupted', followUps: [found.advice], safetySnapshotId: entry.safetySnapshotId, safetyPullSkipped: null, checks: [], startedAt: entry.startedAt, finishedAt: found.detectedAt, log: [found.summary, found.advice] };
    if (report) await this.saveReport(report);
    await core.jobs.recordFinished({
      id: entry.restoreId,
      kind: 'restore',
      title: planning ? `Plan a restore of ${entry.installationName}` : `Restore ${entry.installationName} (${entry.mode})`,
      installationId: entry.installationId,
      status: 'failed',
      progress: { phase: 'interrupted', bytes: 0, total: null, rate: null, etaSeconds: null },
      cancellable: false,
      createdAt: entry.startedAt,
      startedAt: entry.startedAt,
      finishedAt: found.detectedAt,
      error: { code: 'RESTORE_INTERRUPTED', message: `${found.summary} ${found.advice}`, details: { phase: entry.phase, targetState: found.targetState, pointOfNoReturnPassed: entry.pointOfNoReturnPassed, safetySnapshotId: entry.safetySnapshotId } },
      warnings: [],
      result: report,
      log: [`${entry.phaseStartedAt} phase: ${entry.phase}`, `${found.detectedAt} found interrupted at start: ${found.summary}`],
    });
    if (!planning) {
      await core.audit.record({
        action: 'restore',
        outcome: 'failed',
        installationId: entry.installationId,
        installationName: entry.installationName,
        snapshotId: entry.snapshotId ?? undefined,
        mode: entry.mode,
        jobId: entry.restoreId,
        detail: `${entry.sourceLabel}; interrupted in phase ${entry.phase}, target ${found.targetState}`,
      });
    }
  }

  /** Restores that were interrupted and not yet acknowledged, oldest first. */
  interrupted(): InterruptedRestore[] {
    return this.journal.interrupted().filter((e) => e.detectedAt !== undefined).map(toInterrupted);
  }

  /** The operator has read it: its journal goes (the job record and audit entry stay). */
  acknowledgeInterrupted(restoreId: string): InterruptedRestore[] {
    if (!this.journal.acknowledge(restoreId)) throw new LifeboatError('NOT_FOUND', `No interrupted restore with id ${restoreId}.`);
    return this.interrupted();
  }

  /**
   * The verdict: every check passed → verified; some could not run (none failed) → unverified, a
   * warning with what to do; any failed → verification failed, the job fails with the report kept.
   */
  private judge(report: RestoreReport, ctx: JobContext, log: (line: string) => void): RestoreReport {
    const failed = report.checks.filter((c) => !c.ok && !c.skipped);
    const skipped = report.checks.filter((c) => c.skipped);
    if (failed.length > 0) {
      report.outcome = 'verification-failed';
      log(`verification found problems: ${failed.map((c) => c.name).join(', ')}`);
      throw new LifeboatError('RESTORE_VERIFY_FAILED', `The restore ran, but its verification failed: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}.`, { details: { planId: report.planId } });
    }
    report.ok = skipped.length === 0;
    report.outcome = report.ok ? 'verified' : 'unverified';
    for (const check of skipped) ctx.warn(`${check.name} could not be checked: ${check.skipped}`);
    return report;
  }

  /** A secret the restore made worthless turns the fleet row into "store a new one", with that action. */
  private askForRenewedSecrets(installationId: string, report: RestoreReport): void {
    const renew = report.checks.find((c) => c.renewSecret)?.renewSecret;
    if (!renew) return;
    this.core.setStatus({
      installationId,
      state: 'auth-failed',
      checkedAt: new Date().toISOString(),
      message: `The restore removed Lifeboat's ${renew.label}: store a new one.`,
      action: { kind: 'renew-secret', slot: renew.slot, label: renew.label },
    });
    this.core.events.emit('fleet:changed', { installationId });
  }

  async report(planId: string): Promise<RestoreReport> {
    const text = await readFile(path.join(this.reportsDir, `${path.basename(planId)}.json`), 'utf8').catch(() => null);
    if (!text) throw new LifeboatError('NOT_FOUND', `No restore report for plan ${planId}.`);
    // Reports stored before outcomes existed say only ok.
    const stored = JSON.parse(text) as Partial<RestoreReport> & Pick<RestoreReport, 'ok'>;
    return { outcome: stored.ok ? 'verified' : 'failed', followUps: [], ...stored } as RestoreReport;
  }

  private async saveReport(report: RestoreReport): Promise<void> {
    await mkdir(this.reportsDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(path.join(this.reportsDir, `${report.planId}.json`), `${JSON.stringify(report, null, 2)}\n`);
  }
}

/**
 * Where the archive came from and the keys that open it: a snapshot of the target opens with the
 * target's keys; one pulled from another installation with that installation's (never the
 * target's: each installation may have its own key), one whose installation is gone with keys
 * typed this session, and a file with the target's keys or those typed this session.
 */
async function archiveOrigin(core: Core, opened: Awaited<ReturnType<typeof openArchive>>, target: Installation): Promise<ArchiveOrigin> {
  const typedHow = 'enter it when Lifeboat asks (kept in memory for this session only; on the command line: `lifeboat restore … --key-stdin`, the key on standard input)';
  if (opened.snapshotId === null) {
    return {
      kind: 'file',
      label: opened.label,
      installation: null,
      keys: createArchiveKeyResolver((slot) => core.registry.secret(target.id, slot), core.sessionKeys, {
        message: (d) => `${opened.access.fileName} needs the ${d.label} it was encrypted with (${d.why}), and none was given for it: ${typedHow}.`,
        details: { installationId: null, snapshotId: null, origin: 'file' },
      }),
    };
  }
  if (opened.installationId === null || opened.installationId === target.id) {
    return { kind: 'own', label: opened.label, installation: null, keys: createKeyResolver(target, (slot) => core.registry.secret(target.id, slot), core.sessionKeys) };
  }
  const sourceId = opened.installationId;
  const source = await core.registry.get(sourceId).catch(() => null);
  if (!source) {
    return {
      kind: 'orphan',
      label: opened.label,
      installation: null,
      keys: createArchiveKeyResolver(null, core.sessionKeys, {
        message: (d) => `The ${d.label} of ${opened.label} is missing: the snapshot was pulled from an installation that is no longer configured (id ${sourceId}), and it opens with that installation's key (${d.why}), not with "${target.name}"'s. Give that key: ${typedHow}.`,
        details: { installationId: null, snapshotId: opened.snapshotId, origin: 'orphan' },
      }),
    };
  }
  return {
    kind: 'installation',
    label: opened.label,
    installation: { id: source.id, name: source.name },
    keys: createArchiveKeyResolver((slot) => core.registry.secret(source.id, slot), core.sessionKeys, {
      message: (d) => `No ${d.label} is stored for "${source.name}", the installation ${opened.label} was pulled from: the snapshot opens with "${source.name}"'s key (${d.why}), not with "${target.name}"'s. Store it in "${source.name}"'s settings (edit the installation), or ${typedHow}.`,
      details: { installationId: source.id, snapshotId: opened.snapshotId, origin: 'installation' },
    }),
  };
}
