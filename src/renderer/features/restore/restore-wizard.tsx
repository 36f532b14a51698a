import { useEffect, useState, type ReactNode } from 'react';
import type { RestoreOptions } from '../../../shared/apps';
import type { AppKind } from '../../../shared/installations';
import { useAppLabel } from '../../lib/app-labels';
import { isFinished } from '../../../shared/jobs';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';
import { KeyPrompt } from '../preview/preview-screen';
import { startTrackedJob, useJob } from '../fleet/fleet-jobs';
import { fleetHref } from '../fleet/sub-route';
import { RestoreBlockedNote } from '../fleet/restore-blocked';
import { ModeStep, SourceStep, TargetStep } from './choose-steps';
import { PlanView } from './plan-view';
import { ConfirmStep, RunView, SafetyStep } from './run-steps';
import { STEPS, SKIP_REASON_MIN, isCrossInstallation, planOf, sourceRef, type StepId, type WizardChoices } from './wizard-model';

const NO_OPTIONS: RestoreOptions = { scopes: [], conflict: null };

/** Choices that change what the plan says: changing one throws the plan away. */
const PLAN_INPUTS: readonly (keyof WizardChoices)[] = ['source', 'targetId', 'mode', 'conflict', 'selection'];

/**
 * The restore wizard, step by step like `lifeboat restore`: source → target → mode → plan
 * (preflight + dry run) → safety pull → typed confirmation → running job → verification report.
 * Nothing changes on the installation before the operator types its name.
 */
export function RestoreWizard(props: { installationId: string; snapshotId: string | null }): ReactNode {
  const installations = useStore((s) => s.fleet.installations);
  const origin = installations?.find((i) => i.id === props.installationId);
  const capabilities = useStore((s) => s.fleet.overview?.[props.installationId]?.capabilities);
  const crumbs = (
    <nav className="crumbs" aria-label="Breadcrumb">
      <a href={fleetHref.list()}>Fleet</a> <span aria-hidden="true">›</span> <span>Restore{origin ? ` ${origin.name}` : ''}</span>
    </nav>
  );
  if (installations === null) return <p className="muted" role="status">Loading installations…</p>;
  if (!origin) {
    return (
      <div className="screen">
        {crumbs}
        <ErrorMessage error={{ code: 'NOT_FOUND', message: 'That installation no longer exists.' }} />
      </div>
    );
  }
  // An installation whose connections cannot restore is told so here, with the fix, not at the Plan step.
  if (capabilities && !capabilities.restore) {
    return (
      <div className="screen">
        {crumbs}
        <RestoreBlockedNote installation={origin} notes={capabilities.notes} />
      </div>
    );
  }
  return (
    <div className="screen">
      {crumbs}
      <Wizard installationId={origin.id} app={origin.app} snapshotId={props.snapshotId} />
    </div>
  );
}

function Wizard(props: { installationId: string; app: AppKind; snapshotId: string | null }): ReactNode {
  const { app } = props;
  const snapshots = useStore((s) => s.vault.snapshots);
  const [step, setStep] = useState<StepId>('source');
  const [choices, setChoices] = useState<WizardChoices>({
    source: null,
    targetId: props.installationId,
    crossConfirmed: false,
    mode: 'full',
    conflict: null,
    selection: [],
    skipSafetyPull: false,
    skipReason: '',
  });
  const [planJobId, setPlanJobId] = useState<string | null>(null);
  const [runJobId, setRunJobId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  const appName = useAppLabel(app);
  const planJob = useJob(planJobId);
  const runJob = useJob(runJobId);
  const plan = planOf(planJob);
  // The archive's key is missing (KEY_REQUIRED names whose), or the one used does not open it: ask, then plan again.
  const keyMissing = planJob?.status === 'failed' && planJob.error?.code === 'KEY_REQUIRED' ? planJob.error : null;
  const keyAsked = keyMissing ? { slot: String(keyMissing.details?.slot ?? ''), label: String(keyMissing.details?.label ?? 'key'), message: null } : (plan?.keyRejected ?? null);
  const targetOptions = useStore((s) => s.fleet.overview?.[choices.targetId]?.capabilities.restoreOptions) ?? NO_OPTIONS;
  const scopeChoosesItems = targetOptions.scopes.find((s) => s.id === choices.mode)?.selectable ?? false;

  // A file dropped on the window and previewed ("Restore into …") is the source; it is taken once.
  const dropped = useStore((s) => s.ui.droppedFile);
  const setDroppedFile = useStore((s) => s.setDroppedFile);
  useEffect(() => {
    if (!dropped || props.snapshotId) return;
    setChoices((c) => ({ ...c, source: { kind: 'file', file: dropped } }));
    setDroppedFile(null);
  }, [dropped, props.snapshotId, setDroppedFile]);

  // Preselect the snapshot named in the fragment, or this installation's newest, once the vault list is in.
  useEffect(() => {
    if (choices.source || dropped || !snapshots) return;
    const initial = props.snapshotId
      ? snapshots.find((s) => s.id === props.snapshotId)
      : snapshots.find((s) => s.app === app && s.installationId === props.installationId && s.source === 'pull');
    if (initial) setChoices((c) => ({ ...c, source: { kind: 'snapshot', snapshot: initial } }));
  }, [snapshots, props.snapshotId, props.installationId, app, choices.source, dropped]);

  // The plan is made when the Plan step is reached (again after any choice it depends on changed).
  useEffect(() => {
    if (step !== 'plan' || planJobId || !choices.source) return;
    setError(null);
    startTrackedJob(
      api.call('restore:plan', {
        installationId: choices.targetId,
        source: sourceRef(choices.source),
        mode: choices.mode,
        ...(choices.conflict ? { conflict: choices.conflict } : {}),
        selection: scopeChoosesItems ? choices.selection : [],
      }),
    ).then(setPlanJobId, setError);
  }, [step, planJobId, choices.source, choices.targetId, choices.mode, choices.conflict, choices.selection, scopeChoosesItems]);

  const update = (patch: Partial<WizardChoices>): void => {
    setChoices((c) => ({ ...c, ...patch }));
    if (PLAN_INPUTS.some((key) => key in patch)) setPlanJobId(null);
  };

  const start = (confirmation: string): void => {
    if (!plan) return;
    setStarting(true);
    setError(null);
    startTrackedJob(
      api.call('restore:start', {
        planId: plan.id,
        confirmation,
        confirmCrossInstallation: choices.crossConfirmed,
        ...(choices.skipSafetyPull ? { skipSafetyPull: { reason: choices.skipReason.trim() } } : {}),
      }),
    ).then(
      (id) => {
        setRunJobId(id);
        setStep('run');
      },
      (e: unknown) => {
        setError(e);
        setStarting(false);
      },
    );
  };

  const shownStep: StepId = step === 'run' && runJob && isFinished(runJob.status) ? 'report' : step;
  const index = STEPS.findIndex((s) => s.id === step);
  const canNext: Record<StepId, boolean> = {
    source: choices.source !== null,
    target: !isCrossInstallation(choices) || choices.crossConfirmed,
    mode: targetOptions.scopes.some((s) => s.id === choices.mode) && (!scopeChoosesItems || choices.selection.length > 0),
    plan: plan !== null && !plan.blocked,
    safety: !choices.skipSafetyPull || choices.skipReason.trim().length >= SKIP_REASON_MIN,
    confirm: false,
    run: false,
    report: false,
  };
  const go = (delta: number): void => {
    const next = STEPS[index + delta];
    if (next) setStep(next.id);
  };

  return (
    <div className="wizard">
      <ol className="stepper" aria-label="Restore steps">
        {STEPS.map((s, i) => (
          <li key={s.id} aria-current={s.id === shownStep ? 'step' : undefined} className={i < STEPS.findIndex((x) => x.id === shownStep) ? 'done' : undefined}>
            <span className="stepper-num">{i + 1}</span> {s.label}
          </li>
        ))}
      </ol>
      <section className="wizard-body" aria-label={STEPS[index]?.label}>
        {step === 'source' ? <SourceStep app={app} choices={choices} update={update} /> : null}
        {step === 'target' ? <TargetStep app={app} choices={choices} update={update} /> : null}
        {step === 'mode' ? <ModeStep options={targetOptions} choices={choices} update={update} /> : null}
        {step === 'plan' ? (
          <>
            {planJob && !plan ? <JobSummary job={planJob} /> : null}
            {keyAsked ? <KeyPrompt slot={keyAsked.slot} label={keyAsked.label} rejected={keyAsked.message} onGiven={() => setPlanJobId(null)} /> : null}
            {plan ? <PlanView plan={plan} /> : null}
          </>
        ) : null}
        {step === 'safety' && plan ? <SafetyStep plan={plan} choices={choices} update={update} /> : null}
        {step === 'confirm' && plan ? <ConfirmStep plan={plan} choices={choices} busy={starting} error={error} onStart={start} /> : null}
        {step === 'run' && plan && runJob ? <RunView plan={plan} job={runJob} /> : null}
        {error && step !== 'confirm' ? <ErrorMessage error={error} /> : null}
      </section>
      {step !== 'run' ? (
        <div className="wizard-nav">
          <button type="button" className="button" onClick={() => go(-1)} disabled={index === 0}>
            Back
          </button>
          <span className="spacer" />
          <span className="muted">{appName} restore</span>
          {step !== 'confirm' ? (
            <button type="button" className="button button-primary" onClick={() => go(1)} disabled={!canNext[step]}>
              Next
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
