import type { ReactNode } from 'react';
import { TextWithTimes } from '../../components/when';
import type { IntegrityCheck, PreflightCheck } from '../../../shared/apps';

/**
 * Checks as ✓/✗ lines with their detail (integrity of an archive, a plan's preflight, verification
 * of a restore); a check that could not run shows – and why.
 */
export function CheckList(props: { checks: (IntegrityCheck | PreflightCheck)[]; label: string }): ReactNode {
  if (props.checks.length === 0) return <p className="muted">No checks were reported.</p>;
  return (
    <ul className="check-list" aria-label={props.label}>
      {props.checks.map((c, index) => {
        const skipped = 'skipped' in c ? c.skipped : undefined;
        return (
          <li key={`${c.id}-${index}`} data-ok={c.ok} data-blocking={'blocking' in c ? c.blocking : undefined} data-skipped={skipped ? true : undefined}>
            <span className={skipped ? 'step-skip' : c.ok ? 'step-ok' : 'step-fail'} aria-label={skipped ? 'not checked' : c.ok ? 'passed' : 'failed'}>
              {skipped ? '–' : c.ok ? '✓' : '✗'}
            </span>
            <span className="check-name">{c.name}</span>
            <span className="check-detail"><TextWithTimes text={skipped ? `${c.detail} (not checked: ${skipped})` : c.detail} /></span>
          </li>
        );
      })}
    </ul>
  );
}
