import { useState, type ReactNode } from 'react';
import type { ArchiveSourceRef, CompatibilityRequirement, PreflightCheck, PreviewReport } from '../../../shared/apps';
import { InstallationSelect } from '../../components/installation-select';
import { ErrorMessage } from '../../components/error-message';
import { TextWithTimes } from '../../components/when';
import { api } from '../../lib/api';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';
import { startTrackedJob, useJob } from '../fleet/fleet-jobs';
import { planOf } from '../restore/wizard-model';

/** Whether a requirement is met on the chosen target: as its preflight check found, or unknown. */
type Met = 'met' | 'not-met' | 'unknown';

/** A passed check is met; a failed blocking one is not; a failed warning could not tell (the check says why). */
function metOf(check: PreflightCheck): Met {
  return check.ok ? 'met' : check.blocking ? 'not-met' : 'unknown';
}

const MET_LOOK: Record<Met, { mark: string; className: string; label: string }> = {
  met: { mark: '✓', className: 'step-ok', label: 'is met' },
  'not-met': { mark: '✗', className: 'step-fail', label: 'is not met' },
  unknown: { mark: '?', className: 'step-warn', label: 'could not tell' },
};

/**
 * What the archive needs of a target, and, for an installation chosen here, whether each
 * requirement is met: the core's dry-run plan of a full restore runs the target's preflight
 * (nothing changes), and each requirement shows the check that judges it.
 */
export function CompatibilityPanel(props: { report: PreviewReport; source: ArchiveSourceRef | undefined }): ReactNode {
  const { report, source } = props;
  const installations = (useStore((s) => s.fleet.installations) ?? []).filter((i) => i.app === report.app);
  const overview = useStore((s) => s.fleet.overview);
  const restorable = installations.filter((i) => overview?.[i.id]?.capabilities.restore);
  // Chosen by the operator: checking runs the target's preflight (a dry run that reads the target).
  const [targetId, setTargetId] = useState('');
  const [jobs, setJobs] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const job = useJob(jobs[targetId] ?? null);
  const plan = planOf(job);
  const target = installations.find((i) => i.id === targetId);

  const check = (id: string): void => {
    setTargetId(id);
    setError(null);
    if (!id || jobs[id] || !source) return;
    const scope = overview?.[id]?.capabilities.restoreOptions.scopes.find((s) => !s.selectable);
    if (!scope) return;
    startTrackedJob(api.call('restore:plan', { installationId: id, source, mode: scope.id, selection: [] })).then((jobId) => setJobs((j) => ({ ...j, [id]: jobId })), setError);
  };

  const judged = new Set(report.compatibility.map((c) => c.check).filter((c): c is string => typeof c === 'string'));
  const others = plan ? plan.preflight.filter((c) => (c.kind === 'compatibility' || c.kind === 'target') && !judged.has(c.id)) : [];
  return (
    <div className="compatibility">
      {source && restorable.length > 0 ? (
        <label className="vault-inline-field">
          <span>Check against</span>
          <InstallationSelect installations={restorable} value={targetId} onChange={check} noneLabel="Choose an installation…" aria-label="Check against installation" />
        </label>
      ) : (
        <p className="muted">{installations.length === 0 ? 'No installation of this app is in the fleet to check against.' : 'No installation of this app can be restored into, so none can be checked.'}</p>
      )}
      {error ? <ErrorMessage error={error} title="Could not check the target." /> : null}
      {job && !plan ? <JobSummary job={job} /> : null}
      {report.compatibility.length === 0 && !plan ? <p className="muted">The archive states no requirements of its own.</p> : null}
      {report.compatibility.length > 0 ? (
        <table className="data-table" aria-label="Compatibility">
          <thead>
            <tr>
              <th scope="col">Requirement</th>
              <th scope="col">The archive needs</th>
              <th scope="col">{target && plan ? `On ${target.name}` : 'On the target'}</th>
            </tr>
          </thead>
          <tbody>
            {report.compatibility.map((c) => (
              <Requirement key={c.label} requirement={c} found={plan && c.check ? (plan.preflight.find((p) => p.id === c.check) ?? null) : undefined} checked={plan !== null} />
            ))}
          </tbody>
        </table>
      ) : null}
      {plan && others.length > 0 ? (
        <>
          <h3>Also checked on {plan.installationName}</h3>
          <ul className="check-list" aria-label={`Other checks on ${plan.installationName}`}>
            {others.map((c) => (
              <li key={c.id} data-met={metOf(c)}>
                <span className={MET_LOOK[metOf(c)].className}>{MET_LOOK[metOf(c)].mark}</span>
                <span className="check-name">{c.name}</span>
                <span className="check-detail">
                  <TextWithTimes text={c.detail} />
                </span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

/** One requirement; `found` is its check on the target (null: the plan has none, undefined: no target checked or none judges it). */
function Requirement(props: { requirement: CompatibilityRequirement; found: PreflightCheck | null | undefined; checked: boolean }): ReactNode {
  const { requirement: c, found } = props;
  const met = found ? metOf(found) : null;
  return (
    <tr data-met={met ?? undefined}>
      <td>
        {c.ok === null ? null : (
          <>
            <span className={c.ok ? 'step-ok' : 'step-fail'} aria-label={c.ok ? 'the archive meets it' : 'the archive does not meet it'}>
              {c.ok ? '✓' : '✗'}
            </span>{' '}
          </>
        )}
        {c.label}
      </td>
      <td>
        <TextWithTimes text={c.value} />
      </td>
      <td>
        {found && met ? (
          <>
            <span className={MET_LOOK[met].className}>
              {MET_LOOK[met].mark} {MET_LOOK[met].label}
            </span>{' '}
            <span className="muted">
              <TextWithTimes text={found.detail} />
            </span>
          </>
        ) : props.checked ? (
          <span className="muted">{found === null ? 'not reached by the preflight (see the checks below)' : 'not checked by a restore: compare the value'}</span>
        ) : (
          <span className="muted">choose an installation above</span>
        )}
      </td>
    </tr>
  );
}
