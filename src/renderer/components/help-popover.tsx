import type { ReactNode } from 'react';

/** A small "?" that opens a paragraph of help in place, so explanations stay out of the row until asked for. */
export function HelpPopover(props: { label: string; children: ReactNode }): ReactNode {
  return (
    <details className="help-popover">
      <summary aria-label={props.label} title={props.label}>
        ?
      </summary>
      <div className="help-popover-body">{props.children}</div>
    </details>
  );
}
