import { useState, type FormEvent, type ReactNode } from 'react';
import { toErrorPayload, type ErrorPayload } from '../../../shared/errors';
import type { Installation } from '../../../shared/installations';
import { Dialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { Field } from '../../components/field';
import { api } from '../../lib/api';

const CODE_PATTERN = /^(\d{6}|[A-Za-z0-9]{5}-[A-Za-z0-9]{5})$/;

/** The CODE_REQUIRED error among anything thrown or a failed job's error, or null. */
export function codeRequiredOf(error: unknown): ErrorPayload | null {
  if (error === null || error === undefined) return null;
  const payload = toErrorPayload(error);
  return payload.code === 'CODE_REQUIRED' ? payload : null;
}

/** Why the app asks for a code, in the operator's words (from `details.reason`). */
function reasonText(error: ErrorPayload): string {
  switch (error.details?.reason) {
    case 'login':
      return 'The app asks for a code from your authenticator app every time Lifeboat signs in.';
    case 'step-up':
      return 'Downloads and “Run backup now” need a fresh confirmation with your authenticator code; it lasts about 15 minutes.';
    case 'code-rejected':
      return 'The app did not accept the last code. Codes change every 30 seconds: type the one your authenticator app shows now.';
    case 'code-reused':
      return 'The app accepted your code for signing in but will not take the same code again to confirm the download. Wait until your authenticator app shows the next code and type that one; you stay signed in.';
    default:
      return 'This step needs a one-time code from your authenticator app.';
  }
}

/**
 * The code field and its button: hands the code to the core (`installations:provide-code`, kept
 * in memory for 120 s and used once), then calls `onProvided` so the caller repeats the action.
 */
export function CodeForm(props: { installation: Installation; error: ErrorPayload; onProvided: () => void; submitLabel?: string }): ReactNode {
  const [code, setCode] = useState('');
  const [invalid, setInvalid] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(null);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const typed = code.replace(/\s+/g, '');
    if (!CODE_PATTERN.test(typed)) {
      setInvalid('Type the 6 digits your authenticator app shows, or a backup code like ABCDE-12345.');
      return;
    }
    setInvalid(undefined);
    setBusy(true);
    setFailure(null);
    try {
      await api.call('installations:provide-code', { installationId: props.installation.id, code: typed });
      props.onProvided();
    } catch (e) {
      setFailure(e);
      setBusy(false);
    }
  };

  return (
    <form className="code-form" onSubmit={(event) => void submit(event)} aria-label={`Authenticator code for ${props.installation.name}`}>
      <p>{reasonText(props.error)}</p>
      {/* The core's message adds what the app said when it refused a code; otherwise it repeats the reason. */}
      {props.error.details?.reason === 'code-rejected' ? <p className="muted">{props.error.message}</p> : null}
      <Field label="Authenticator code" error={invalid} hint="6 digits, or a backup code. Lifeboat uses it once and never stores it.">
        {(control) => (
          <input
            {...control}
            type="text"
            inputMode="numeric"
            autoComplete="one-time-code"
            spellCheck={false}
            maxLength={13}
            value={code}
            onChange={(event) => setCode(event.target.value)}
            data-autofocus
          />
        )}
      </Field>
      {failure ? <ErrorMessage error={failure} /> : null}
      <button type="submit" className="button button-primary" disabled={busy}>
        {props.submitLabel ?? 'Continue'}
      </button>
    </form>
  );
}

/** Asks for the authenticator code a failed pull or Run now needs, then repeats it. */
export function CodeDialog(props: { installation: Installation; error: ErrorPayload; actionLabel: string; onProvided: () => void; onClose: () => void }): ReactNode {
  return (
    <Dialog title={`Authenticator code for ${props.installation.name}`} onClose={props.onClose}>
      <CodeForm installation={props.installation} error={props.error} onProvided={props.onProvided} submitLabel={props.actionLabel} />
    </Dialog>
  );
}
