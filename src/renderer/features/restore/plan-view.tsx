import type { ReactNode } from 'react';
import { TextWithTimes } from '../../components/when';
import type { RestorePlan } from '../../../shared/apps';

const count = (n: number | null): string => (n === null ? '?' : n.toLocaleString());

/** The dry run: preflight checks, what changes (live vs archive), the steps, the point of no return. */
export function PlanView(props: { plan: RestorePlan }): ReactNode {
  const { plan } = props;
  const blocking = plan.preflight.filter((c) => c.blocking && !c.ok);
  return (
    <div className="plan">
      <p>
        Restore <strong className="wrap-anywhere">
          <TextWithTimes text={plan.sourceLabel} />
        </strong> into <strong>{plan.installationName}</strong> ({plan.mode}
        {plan.selection.length ? `: ${plan.selection.join(', ')}` : ''}). Nothing has changed yet.
      </p>
      <section aria-label="Preflight">
        <h3>Preflight</h3>
        <ul className="check-list">
          {plan.preflight.map((c, index) => (
            <li key={`${c.id}-${index}`} data-ok={c.ok} data-blocking={c.blocking}>
              <span className={c.ok ? 'step-ok' : c.blocking ? 'step-fail' : 'step-warn'} aria-label={c.ok ? 'passed' : c.blocking ? 'blocking' : 'warning'}>
                {c.ok ? '✓' : c.blocking ? '✗' : '!'}
              </span>
              <span className="check-name">{c.name}</span>
              <span className="check-detail"><TextWithTimes text={c.detail} /></span>
            </li>
          ))}
        </ul>
      </section>
      {plan.blocked ? (
        <div className="alert alert-danger" role="alert">
          <strong>The restore cannot go ahead.</strong> Nothing was changed.
          <ul className="text-list">
            {blocking.map((c, index) => (
              <li key={index}>
                {c.name}: <TextWithTimes text={c.detail} />
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <>
          <section aria-label="Changes">
            <h3>What changes</h3>
            {plan.changes.length === 0 ? (
              <p className="muted">The adapter listed no item-level changes.</p>
            ) : (
              <table className="data-table" aria-label="Planned changes">
                <thead>
                  <tr>
                    <th scope="col">Item</th>
                    <th scope="col">Action</th>
                    <th scope="col" className="num">
                      Live now
                    </th>
                    <th scope="col" className="num">
                      In archive
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {plan.changes.map((c) => (
                    <tr key={c.item} className={c.live !== null && c.archive !== null && c.live !== c.archive ? 'row-differs' : undefined}>
                      <td className="mono">{c.item}</td>
                      <td>
                        <span className={`action action-${c.action}`}>{c.action}</span>
                      </td>
                      <td className="num">{count(c.live)}</td>
                      <td className="num">{count(c.archive)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section aria-label="Steps">
            <h3>Steps</h3>
            <ol className="plan-steps">
              {plan.steps.map((step, index) => (
                <li key={index}>{step}</li>
              ))}
            </ol>
          </section>
          <p className="point-of-no-return" data-testid="point-of-no-return">
            <strong>Point of no return:</strong> {plan.pointOfNoReturn}. Until then the restore can be cancelled and the installation is left as it was.
          </p>
        </>
      )}
    </div>
  );
}
