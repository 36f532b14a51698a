import type { ReactNode } from 'react';
import type { IntegrityCheck } from '../../../shared/apps';

/** Checks as ✓/✗ lines with their detail (integrity of an archive, verification of a restore). */
export function CheckList(props: { checks: IntegrityCheck[]; label: string }): ReactNode {
  if (props.checks.length === 0) return <p className="muted">No checks were reported.</p>;
  return (
    <ul className="check-list" aria-label={props.label}>
      {props.checks.map((c, index) => (
        <li key={`${c.name}-${index}`} data-ok={c.ok}>
          <span className={c.ok ? 'step-ok' : 'step-fail'} aria-label={c.ok ? 'passed' : 'failed'}>
            {c.ok ? '✓' : '✗'}
          </span>
          <span className="check-name">{c.name}</span>
          <span className="check-detail">{c.detail}</span>
        </li>
      ))}
    </ul>
  );
}
