import type { ReactNode } from 'react';

/** The colours a pill can take; each maps to one CSS variable pair. */
export type PillTone = 'neutral' | 'info' | 'ok' | 'warn' | 'danger';

/** A small rounded label with a dot, for statuses. */
export function Pill(props: { tone: PillTone; children: ReactNode; title?: string; pulse?: boolean }): ReactNode {
  return (
    <span className={`pill pill-${props.tone}${props.pulse ? ' pill-pulse' : ''}`} title={props.title}>
      <span className="pill-dot" aria-hidden="true" />
      {props.children}
    </span>
  );
}
