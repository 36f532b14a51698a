import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { LifeboatError, toErrorPayload } from '../../shared/errors';
import { APP_LABELS } from '../../shared/installations';
import type { ArchiveSourceRef, PreflightCheck, PreviewReport, RestoreMode, RestorePlan, RestoreReport } from '../../shared/apps';
import type { Core } from '../core';
import type { JobContext } from '../jobs/job-manager';
import { writeFileAtomic } from '../fs/atomic-write';
import { adapterFor } from '../apps';
import { openArchive } from '../apps/archive-access';
import { createAdapterContext } from '../apps/context';
import { previewArchive } from '../apps/preview';
import { runSafetyPull } from '../apps/pull-runner';

export interface PlanInput {
  installationId: string;
  source: ArchiveSourceRef;
  mode: RestoreMode;
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
  private readonly plans = new Map<string, { plan: RestorePlan; preview: PreviewReport }>();

  constructor(private readonly core: Core) {}

  private get reportsDir(): string {
    return path.join(this.core.home.root, 'restores');
  }

  /** Works out the plan; nothing on the target changes. */
  async plan(input: PlanInput, ctx: JobContext): Promise<RestorePlan> {
    const core = this.core;
    const installation = await core.registry.get(input.installationId);
    const opened = await openArchive(core, input.source);
    const preflight: PreflightCheck[] = [];
    const tagged = opened.snapshotId ? (await core.vault.snapshots()).find((s) => s.id === opened.snapshotId)?.app ?? null : null;
    if (tagged && tagged !== installation.app) {
      preflight.push({ name: 'App kind', ok: false, blocking: true, detail: `This archive is a ${APP_LABELS[tagged]} backup; "${installation.name}" runs ${APP_LABELS[installation.app]}.` });
    }
    let preview: PreviewReport;
    try {
      preview = await previewArchive(core, input.source, installation.app, ctx);
    } catch (error) {
      const payload = toErrorPayload(error);
      if (payload.code === 'CANCELLED') throw error;
      preflight.push({ name: 'Archive', ok: false, blocking: true, detail: `The archive cannot be read as a ${APP_LABELS[installation.app]} backup: ${payload.message}` });
      return this.store(installation, input, opened, preflight, { preflight: [], changes: [], steps: [], pointOfNoReturn: '' }, null);
    }
    preflight.push({ name: 'Archive integrity', ok: preview.integrity.ok, blocking: true, detail: preview.integrity.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ') || 'every check passed' });
    const unknown = input.selection.filter((s) => !preview.selectable.includes(s));
    if (input.mode === 'selective' && (input.selection.length === 0 || unknown.length > 0)) {
      preflight.push({ name: 'Selection', ok: false, blocking: true, detail: input.selection.length === 0 ? 'A selective restore needs at least one item chosen.' : `Not in the archive: ${unknown.join(', ')}.` });
    }
    const adapter = adapterFor(installation.app);
    const actx = createAdapterContext(core, installation, ctx);
    try {
      const draft = await adapter.planRestore(actx, { archive: opened.access, preview, mode: input.mode, selection: input.mode === 'selective' ? input.selection : [] });
      return this.store(installation, input, opened, preflight, draft, preview);
    } finally {
      await actx.close();
    }
  }

  private store(
    installation: Awaited<ReturnType<Core['registry']['get']>>,
    input: PlanInput,
    opened: Awaited<ReturnType<typeof openArchive>>,
    preflight: PreflightCheck[],
    draft: { preflight: PreflightCheck[]; changes: RestorePlan['changes']; steps: string[]; pointOfNoReturn: string },
    preview: PreviewReport | null,
  ): RestorePlan {
    // Adapters that check integrity themselves say so in their own words; keep one such line.
    const adapterChecksIntegrity = draft.preflight.some((c) => /integrity/i.test(c.name));
    const allChecks = [...preflight.filter((c) => !(adapterChecksIntegrity && c.name === 'Archive integrity')), ...draft.preflight];
    const crossInstallation = opened.installationId !== null && opened.installationId !== installation.id;
    const plan: RestorePlan = {
      id: randomUUID(),
      createdAt: new Date().toISOString(),
      installationId: installation.id,
      installationName: installation.name,
      app: installation.app,
      source: input.source,
      sourceLabel: opened.label,
      sourceInstallationId: opened.installationId,
      crossInstallation,
      mode: input.mode,
      selection: input.mode === 'selective' ? input.selection : [],
      preflight: allChecks,
      blocked: allChecks.some((c) => c.blocking && !c.ok),
      changes: draft.changes,
      steps: ['Safety pull: back up the current state of the target into the vault (tagged pre-restore)', ...draft.steps, 'Verify the result and store the report'],
      pointOfNoReturn: draft.pointOfNoReturn,
      confirmationText: installation.name,
    };
    if (preview) this.plans.set(plan.id, { plan, preview });
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

  private async run(stored: { plan: RestorePlan; preview: PreviewReport }, input: StartInput, ctx: JobContext): Promise<RestoreReport> {
    const { plan, preview } = stored;
    const core = this.core;
    const installation = await core.registry.get(plan.installationId);
    const adapter = adapterFor(installation.app);
    const startedAt = new Date().toISOString();
    const report: RestoreReport = { planId: plan.id, installationId: plan.installationId, ok: false, safetySnapshotId: null, safetyPullSkipped: null, checks: [], startedAt, finishedAt: startedAt, log: [] };
    const log = (line: string) => {
      report.log.push(line);
      ctx.log(line);
    };
    try {
      if (input.skipSafetyPull) {
        report.safetyPullSkipped = input.skipSafetyPull.reason;
        log(`safety pull skipped by the operator: ${input.skipSafetyPull.reason}`);
        await core.audit.record({ action: 'restore-override', outcome: 'succeeded', installationId: installation.id, installationName: installation.name, jobId: ctx.jobId, detail: `safety pull skipped: ${input.skipSafetyPull.reason}` });
      } else {
        ctx.progress({ phase: 'safety pull: backing up the target first', bytes: 0, total: null });
        const pulled = await runSafetyPull(core, installation, ctx);
        report.safetySnapshotId = pulled.snapshotId;
        log(`safety snapshot ${pulled.snapshotId.slice(0, 8)} holds the state before the restore`);
      }
      ctx.throwIfCancelled();
      const opened = await openArchive(core, plan.source);
      ctx.progress({ phase: 'restoring', bytes: 0, total: opened.access.size });
      const actx = createAdapterContext(core, installation, ctx);
      try {
        await adapter.restore({ ...actx, passPointOfNoReturn: (what) => ctx.passPointOfNoReturn(what) }, { plan, archive: opened.access, preview });
        log('restore finished; verifying');
        ctx.progress({ phase: 'verifying', bytes: 0, total: null });
        report.checks = await adapter.verifyRestore(actx, { plan, archive: opened.access, preview });
      } finally {
        await actx.close();
      }
      report.ok = report.checks.every((c) => c.ok);
      if (!report.ok) log(`verification found problems: ${report.checks.filter((c) => !c.ok).map((c) => c.name).join(', ')}`);
      return report;
    } catch (error) {
      log(`restore failed: ${toErrorPayload(error).message}`);
      throw error;
    } finally {
      report.finishedAt = new Date().toISOString();
      await this.saveReport(report);
      await core.audit.record({
        action: 'restore',
        outcome: report.ok ? 'succeeded' : ctx.signal.aborted ? 'cancelled' : 'failed',
        installationId: installation.id,
        installationName: installation.name,
        snapshotId: 'snapshotId' in plan.source ? plan.source.snapshotId : undefined,
        mode: plan.mode,
        jobId: ctx.jobId,
        detail: `${plan.sourceLabel}${plan.selection.length ? `; tables ${plan.selection.join(', ')}` : ''}`,
      });
    }
  }

  async report(planId: string): Promise<RestoreReport> {
    const text = await readFile(path.join(this.reportsDir, `${path.basename(planId)}.json`), 'utf8').catch(() => null);
    if (!text) throw new LifeboatError('NOT_FOUND', `No restore report for plan ${planId}.`);
    return JSON.parse(text) as RestoreReport;
  }

  private async saveReport(report: RestoreReport): Promise<void> {
    await mkdir(this.reportsDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(path.join(this.reportsDir, `${report.planId}.json`), `${JSON.stringify(report, null, 2)}\n`);
  }
}
