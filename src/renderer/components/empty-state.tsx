import type { ReactNode } from 'react';

/** A calm "nothing here yet" panel that says what to do next. */
export function EmptyState(props: { title: string; icon?: ReactNode; children: ReactNode; action?: ReactNode }): ReactNode {
  return (
    <section className="empty-state" aria-label={props.title}>
      {props.icon ? <div className="empty-state-icon" aria-hidden="true">{props.icon}</div> : null}
      <h2>{props.title}</h2>
      <div className="empty-state-text">{props.children}</div>
      {props.action ? <div className="empty-state-action">{props.action}</div> : null}
    </section>
  );
}
