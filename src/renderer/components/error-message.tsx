import type { ReactNode } from 'react';
import { toErrorPayload, type ErrorPayload } from '../../shared/errors';
import { asSentence, describeError } from '../lib/error-copy';

/** An action the screen itself offers for the error (a dialog, a form), instead of a page link. */
export interface ErrorButton {
  label: string;
  onClick: () => void;
}

/**
 * Shows an error from the core once: what went wrong (the title, when the screen knows what it
 * tried), the state in one sentence, and the action that fixes it. The code stays out of the text
 * (it is on the element, for a bug report). `action: null` drops the action where the screen is
 * already the place of the fix.
 */
export function ErrorMessage(props: { error: ErrorPayload | unknown; title?: string; action?: ErrorButton | null }): ReactNode {
  const payload = toErrorPayload(props.error);
  const copy = describeError(payload);
  const title = props.title ? titleText(props.title) : '';
  const repeated = title !== '' && same(title, copy.text);
  return (
    <div className="alert alert-danger error-message" role="alert" data-code={payload.code} title={`Error code ${payload.code}`}>
      <span className="error-text">
        {title ? <strong>{title}</strong> : null}
        {title && !repeated ? ' ' : null}
        {repeated ? null : copy.text}
      </span>
      {props.action === null ? null : props.action ? (
        <button type="button" className="button button-small error-action" onClick={props.action.onClick}>
          {props.action.label}
        </button>
      ) : copy.action ? (
        <a className="button button-small error-action" href={copy.action.href}>
          {copy.action.label}
        </a>
      ) : null}
    </div>
  );
}

/** A title ends with a full stop, or a colon when it introduces the sentence after it. */
function titleText(title: string): string {
  const trimmed = title.trim();
  return trimmed.endsWith(':') ? trimmed : asSentence(trimmed);
}

const same = (a: string, b: string): boolean => a.replace(/[.:]$/, '').toLowerCase() === b.replace(/[.:]$/, '').toLowerCase();
