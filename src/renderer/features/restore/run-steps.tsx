/** The wizard's last steps: safety pull, typed confirmation, the running restore and its report. */
import { useEffect, useState, type ReactNode } from 'react';
import { TextWithTimes, When } from '../../components/when';
import { formatDuration } from '../../lib/format';
import type { RestorePlan, RestoreReport } from '../../../shared/apps';
import { isFinished, type JobRecord } from '../../../shared/jobs';
import { ErrorMessage } from '../../components/error-message';
import { Pill, type PillTone } from '../../components/pill';
import { api } from '../../lib/api';
import { JobSummary } from '../activity/job-progress';
import { FollowUpChecklist } from './follow-ups';
import { RestoreVerdict } from '../preview/verdict-card';
import { fleetHref } from '../fleet/sub-route';
import { CheckList } from '../preview/check-list';
import { SKIP_REASON_MIN, reportOf, type WizardChoices } from './wizard-model';

type Update = (patch: Partial<WizardChoices>) => void;

/** How each restore outcome reads at a glance. */
const OUTCOME_LOOK: Record<RestoreReport['outcome'], { tone: PillTone; label: string }> = {
  verified: { tone: 'ok', label: '✓ restore verified' },
  unverified: { tone: 'warn', label: '! restored, verification incomplete' },
  'verification-failed': { tone: 'danger', label: '✗ restored, verification failed' },
  failed: { tone: 'danger', label: '✗ restore failed' },
  cancelled: { tone: 'warn', label: 'cancelled' },
  interrupted: { tone: 'danger', label: '✗ restore interrupted' },
};

/** Step 5: the target is backed up first; skipping that takes a stated reason (it is audited). */
export function SafetyStep(props: { plan: RestorePlan; choices: WizardChoices; update: Update }): ReactNode {
  const { plan, choices, update } = props;
  const short = choices.skipReason.trim().length < SKIP_REASON_MIN;
  if (plan.nothingToSave) {
    return (
      <fieldset className="wizard-fieldset">
        <legend>Safety pull</legend>
        <p>No safety pull is needed: {plan.nothingToSave}.</p>
      </fieldset>
    );
  }
  return (
    <fieldset className="wizard-fieldset">
      <legend>Safety pull</legend>
      <p>
        Before anything is replaced, Lifeboat makes a fresh backup of <strong>{plan.installationName}</strong> and pulls it into the vault, tagged{' '}
        <code>pre-restore</code>. If the restore goes wrong, that snapshot brings back the state of now.
      </p>
      <label className="checkbox">
        <input type="checkbox" checked={choices.skipSafetyPull} onChange={(e) => update({ skipSafetyPull: e.target.checked })} />
        Skip the safety pull
      </label>
      {choices.skipSafetyPull ? (
        <div className="field">
          <label htmlFor="skip-reason">Why skip it? (recorded in the audit trail)</label>
          <textarea
            id="skip-reason"
            rows={2}
            value={choices.skipReason}
            onChange={(e) => update({ skipReason: e.target.value })}
            aria-invalid={short}
            aria-describedby="skip-reason-hint"
          />
          <span className="field-hint" id="skip-reason-hint">
            At least {SKIP_REASON_MIN} characters. Without a safety snapshot, the state before the restore cannot be brought back.
          </span>
        </div>
      ) : null}
    </fieldset>
  );
}

/** Step 6: type the installation's name; the button stays off until it matches exactly. */
export function ConfirmStep(props: { plan: RestorePlan; choices: WizardChoices; busy: boolean; error: unknown; onStart: (confirmation: string) => void }): ReactNode {
  const { plan, choices } = props;
  const [typed, setTyped] = useState('');
  const matches = typed === plan.confirmationText;
  return (
    <fieldset className="wizard-fieldset">
      <legend>Confirm</legend>
      <ul className="text-list confirm-summary">
        <li>
          Restore <strong className="wrap-anywhere">
            <TextWithTimes text={plan.sourceLabel} />
          </strong> into <strong>{plan.installationName}</strong>, {plan.mode}
          {plan.selection.length ? ` (${plan.selection.join(', ')})` : ''}.
        </li>
        <li>{choices.skipSafetyPull ? <>No safety pull: “{choices.skipReason.trim()}”.</> : 'A safety pull runs first.'}</li>
        {plan.crossInstallation ? <li>The backup came from another installation (confirmed).</li> : null}
        <li>Point of no return: {plan.pointOfNoReturn}.</li>
      </ul>
      <div className="field">
        <label htmlFor="restore-confirm">
          Type <strong className="mono">{plan.confirmationText}</strong> to confirm
        </label>
        <input id="restore-confirm" type="text" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} />
      </div>
      {props.error ? <ErrorMessage error={props.error} title="The core refused to start the restore." /> : null}
      <div className="wizard-actions">
        <button type="button" className="button button-danger" disabled={!matches || props.busy} onClick={() => props.onStart(typed)}>
          Restore {plan.installationName}
        </button>
      </div>
    </fieldset>
  );
}

/** Steps 7–8: the running restore (cancellable until the point of no return), then its report. */
export function RunView(props: { plan: RestorePlan; job: JobRecord }): ReactNode {
  const { plan, job } = props;
  const finished = isFinished(job.status);
  const [cancelling, setCancelling] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const cancel = (): void => {
    setCancelling(true);
    api.call('jobs:cancel', { id: job.id }).catch((e: unknown) => {
      setError(e);
      setCancelling(false);
    });
  };
  return (
    <div className="run">
      <JobSummary job={job} cancel={false} />
      {!finished ? (
        job.cancellable ? (
          <div className="run-cancel">
            <p className="muted">Cancelling is possible until: {plan.pointOfNoReturn}.</p>
            <button type="button" className="button" onClick={cancel} disabled={cancelling}>
              {cancelling ? 'Cancelling…' : 'Cancel restore'}
            </button>
          </div>
        ) : (
          <p className="alert alert-warn" role="status" data-testid="past-point-of-no-return">
            <strong>Past the point of no return</strong> ({plan.pointOfNoReturn}): the restore can no longer be cancelled. Let it finish.
          </p>
        )
      ) : null}
      {error ? <ErrorMessage error={error} title="Could not cancel:" /> : null}
      {finished ? <RestoreResult plan={plan} job={job} /> : null}
    </div>
  );
}

/** The verification report: from the job, or (when it failed) the report the core stored. */
function RestoreResult(props: { plan: RestorePlan; job: JobRecord }): ReactNode {
  const { plan, job } = props;
  const fromJob = reportOf(job);
  const [stored, setStored] = useState<RestoreReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (fromJob) return;
    api.call('restore:report', { planId: plan.id }).then(setStored, setError);
  }, [fromJob, plan.id]);
  const report = fromJob ?? stored;
  if (!report) return error ? <ErrorMessage error={error} title="No report was stored." /> : null;
  return (
    <section className="restore-report" aria-label="Restore report">
      <RestoreVerdict plan={plan} report={report} />
      <h3>
        Verification{' '}
        <Pill tone={OUTCOME_LOOK[report.outcome].tone}>{OUTCOME_LOOK[report.outcome].label}</Pill>
      </h3>
      {report.followUps.length ? <FollowUpChecklist planId={plan.id} steps={report.followUps} /> : null}
      <dl className="facts">
        <dt>Safety snapshot</dt>
        <dd data-testid="safety-snapshot">
          {report.safetySnapshotId ? (
            <>
              <code>{report.safetySnapshotId.slice(0, 8)}</code> <a href={fleetHref.preview(report.safetySnapshotId)}>preview</a>{' '}
              <a className="button button-small" href={fleetHref.restore(plan.installationId, report.safetySnapshotId)}>
                Undo with the safety snapshot…
              </a>
            </>
          ) : (
            `skipped: ${report.safetyPullSkipped ?? 'none was made'}`
          )}
        </dd>
        <dt>Ran</dt>
        <dd>
          <When iso={report.startedAt} />, took {formatDuration((new Date(report.finishedAt).getTime() - new Date(report.startedAt).getTime()) / 1000)}
        </dd>
      </dl>
      <CheckList checks={report.checks} label="Verification checks" />
      <details className="job-log" open={!report.ok}>
        <summary>Log ({report.log.length} lines)</summary>
        <pre>{report.log.join('\n')}</pre>
      </details>
      <p>
        <a className="button" href={fleetHref.list()}>
          Back to Fleet
        </a>
      </p>
    </section>
  );
}
