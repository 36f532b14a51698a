/**
 * Typed errors that cross every boundary (IPC, the browser twin, the CLI) intact.
 * A code is stable and machine-readable; the message is for a human and names what was wrong.
 */
export const ERROR_CODES = [
  'INVALID_INPUT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'CANCELLED',
  'INTERNAL',
  'UNAUTHORIZED',
  'FORBIDDEN_ORIGIN',
  // secrets
  'SECRET_STORE_UNAVAILABLE',
  'SECRET_REQUIRED',
  // ssh
  'SSH_HOST_KEY_UNKNOWN',
  'SSH_HOST_KEY_CHANGED',
  'SSH_AUTH_FAILED',
  'SSH_CONNECTION_REFUSED',
  'SSH_TIMEOUT',
  'SSH_DNS',
  'SSH_CHANNEL',
  'SSH_COMMAND_FAILED',
  'SSH_CONFIG',
  'SSH_SFTP',
  /** A database reached over the SSH connection refused the stored password; `details` name host, port, user and the secret slot (`purpose`). */
  'DATABASE_AUTH_FAILED',
  // https
  'HTTP_STATUS',
  'HTTP_TIMEOUT',
  'HTTP_NETWORK',
  'TLS_PIN_MISMATCH',
  'TLS_UNTRUSTED',
  'HTTP_RATE_LIMITED',
  'HTTP_AUTH_FAILED',
  // vault
  'VAULT_NOT_INITIALIZED',
  'VAULT_WRONG_PASSWORD',
  'VAULT_NOT_A_REPOSITORY',
  'VAULT_UNSUPPORTED_VERSION',
  'VAULT_CORRUPT',
  'VAULT_LOCKED',
  'VAULT_BACKEND',
  /** A write failed because the disk is full (or the quota used up); `details.directory` names where, `neededBytes`/`freeBytes` how much when known. */
  'DISK_FULL',
  // apps, pulls, restores
  'APP_UNSUPPORTED',
  'ARCHIVE_INVALID',
  'ARCHIVE_VERIFY_FAILED',
  'PREFLIGHT_FAILED',
  'RESTORE_FAILED',
  'CONFIRMATION_MISMATCH',
  /** A media member could not be played or converted. */
  'MEDIA_UNPLAYABLE',
  // operator presence
  /** This step needs the operator's one-time code (TOTP); `details.reason` says why. */
  'CODE_REQUIRED',
  /** An encrypted archive needs a key Lifeboat does not hold; `details.slot` and `details.label` say which. */
  'KEY_REQUIRED',
  /** A restore ran, but its verification found the target differs from the archive. */
  'RESTORE_VERIFY_FAILED',
  /** A restore's process ended while it ran (killed, crashed); `details` say in which phase and what state the target is in. */
  'RESTORE_INTERRUPTED',
  /** A restore drill cannot run here (no PostgreSQL on this machine, an app Lifeboat cannot drill). */
  'DRILL_UNAVAILABLE',
  /** A restore drill ran and the archive did not restore; the stored result names what failed. */
  'DRILL_FAILED',
  /** A restore drill was refused before it touched anything (too little free space on the server for the scratch database). */
  'DRILL_REFUSED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The shape an error has on the wire. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  cause?: string;
}

/** The one error class of Lifeboat: `code` for programs, `message` for people, `cause` kept. */
export class LifeboatError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LifeboatError';
    this.code = code;
    this.details = options.details;
  }

  toPayload(): ErrorPayload {
    const payload: ErrorPayload = { code: this.code, message: this.message };
    if (this.details) payload.details = this.details;
    if (this.cause !== undefined) payload.cause = describeCause(this.cause);
    return payload;
  }

  static fromPayload(payload: ErrorPayload): LifeboatError {
    return new LifeboatError(payload.code, payload.message, {
      ...(payload.details ? { details: payload.details } : {}),
      ...(payload.cause ? { cause: payload.cause } : {}),
    });
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

/** Turns anything thrown into a payload; unknown errors become INTERNAL with their message kept. */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (error instanceof LifeboatError) return error.toPayload();
  if (isErrorPayload(error)) return error;
  if (error instanceof Error && error.name === 'AbortError') {
    return { code: 'CANCELLED', message: 'Cancelled.' };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: message || 'Unexpected error.' };
}

export function isErrorPayload(value: unknown): value is ErrorPayload {
  return (
    typeof value === 'object' && value !== null &&
    typeof (value as ErrorPayload).code === 'string' &&
    typeof (value as ErrorPayload).message === 'string' &&
    (ERROR_CODES as readonly string[]).includes((value as ErrorPayload).code)
  );
}

/** The envelope every command returns across a process boundary. */
export type Result<T> = { ok: true; data: T } | { ok: false; error: ErrorPayload };

export function assertNever(value: never, what = 'value'): never {
  throw new LifeboatError('INTERNAL', `Unexpected ${what}: ${JSON.stringify(value)}`);
}
