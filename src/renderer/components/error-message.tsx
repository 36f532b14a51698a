import type { ReactNode } from 'react';
import { toErrorPayload, type ErrorPayload } from '../../shared/errors';

/** Shows an error from the core: its message for people, its code for a bug report. */
export function ErrorMessage(props: { error: ErrorPayload | unknown; title?: string }): ReactNode {
  const payload = toErrorPayload(props.error);
  return (
    <div className="alert alert-danger" role="alert">
      {props.title ? <strong>{props.title} </strong> : null}
      <span>{payload.message}</span> <code className="error-code">{payload.code}</code>
    </div>
  );
}
