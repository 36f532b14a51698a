import type { ErrorCode, ErrorPayload } from '../../shared/errors';

/** Where the operator goes to fix an error: a page of the app. */
export interface ErrorAction {
  label: string;
  href: string;
}

/** An error as the operator reads it: one sentence for its state, and the action that fixes it. */
export interface ErrorCopy {
  text: string;
  action: ErrorAction | null;
}

const VAULT = '#/vault';
const FLEET = '#/fleet';
const SETTINGS = '#/settings';
const ACTIVITY = '#/activity';

const unlockVault: ErrorAction = { label: 'Unlock vault', href: VAULT };

interface CodeCopy {
  /** Said when the core's message is empty or only names the code. */
  fallback: string;
  /** Replaces the core's message: the state is always the same, whatever the core said. */
  fixed?: boolean;
  action: ErrorAction | null;
}

/**
 * One entry per error code of the contract (a new code fails to compile until it has its words).
 * The core's message names the particular thing (which installation, which file); these say what
 * state it is and where to fix it.
 */
const COPY: Record<ErrorCode, CodeCopy> = {
  INVALID_INPUT: { fallback: 'Something in the form is not valid: check the highlighted fields.', action: null },
  NOT_FOUND: { fallback: 'That no longer exists: it may have been removed meanwhile.', action: null },
  ALREADY_EXISTS: { fallback: 'That already exists: choose another name.', action: null },
  CANCELLED: { fallback: 'Cancelled.', fixed: true, action: null },
  INTERNAL: { fallback: 'Lifeboat hit an unexpected error.', action: { label: 'See Activity', href: ACTIVITY } },
  UNAUTHORIZED: { fallback: 'This page’s session has ended: open the link that lifeboat serve printed again.', fixed: true, action: null },
  FORBIDDEN_ORIGIN: { fallback: 'The Lifeboat core refused a request from this page’s origin.', fixed: true, action: null },
  SECRET_STORE_UNAVAILABLE: { fallback: 'No keychain is available, so Lifeboat cannot store secrets.', action: { label: 'Open Settings', href: SETTINGS } },
  SECRET_REQUIRED: { fallback: 'A password or token is needed and Lifeboat has none stored.', action: { label: 'Edit the installation', href: FLEET } },
  SSH_HOST_KEY_UNKNOWN: { fallback: 'The server’s SSH host key is not trusted yet.', action: { label: 'Review the key', href: FLEET } },
  SSH_HOST_KEY_CHANGED: { fallback: 'The server’s SSH host key changed since you trusted it.', action: { label: 'Review the key', href: FLEET } },
  SSH_AUTH_FAILED: { fallback: 'The server refused the SSH login.', action: { label: 'Edit the installation', href: FLEET } },
  SSH_CONNECTION_REFUSED: { fallback: 'The server refused the SSH connection.', action: { label: 'Check the connection', href: FLEET } },
  SSH_TIMEOUT: { fallback: 'The server did not answer over SSH in time.', action: { label: 'Check the connection', href: FLEET } },
  SSH_DNS: { fallback: 'The server’s host name does not resolve.', action: { label: 'Edit the installation', href: FLEET } },
  SSH_CHANNEL: { fallback: 'The SSH session could not open a channel.', action: { label: 'Check the connection', href: FLEET } },
  SSH_COMMAND_FAILED: { fallback: 'A command on the server failed.', action: { label: 'See Activity', href: ACTIVITY } },
  SSH_CONFIG: { fallback: 'The SSH settings of this installation are not usable.', action: { label: 'Edit the installation', href: FLEET } },
  DATABASE_AUTH_FAILED: { fallback: 'The database refused the password Lifeboat has stored for it.', action: { label: 'Edit the installation', href: FLEET } },
  SSH_SFTP: { fallback: 'A file transfer over SSH failed.', action: { label: 'See Activity', href: ACTIVITY } },
  HTTP_STATUS: { fallback: 'The server answered with an error.', action: { label: 'See Activity', href: ACTIVITY } },
  HTTP_TIMEOUT: { fallback: 'The server did not answer in time.', action: { label: 'Check the connection', href: FLEET } },
  HTTP_NETWORK: { fallback: 'The server could not be reached.', action: { label: 'Check the connection', href: FLEET } },
  TLS_PIN_MISMATCH: { fallback: 'The server’s certificate is not the one you pinned.', action: { label: 'Review the certificate', href: FLEET } },
  TLS_UNTRUSTED: { fallback: 'The server’s certificate is not trusted.', action: { label: 'Review the certificate', href: FLEET } },
  HTTP_RATE_LIMITED: { fallback: 'The server asks Lifeboat to slow down: try again in a few minutes.', action: null },
  HTTP_AUTH_FAILED: { fallback: 'The server refused the login.', action: { label: 'Edit the installation', href: FLEET } },
  VAULT_NOT_INITIALIZED: { fallback: 'There is no vault yet.', fixed: true, action: { label: 'Set up the vault', href: VAULT } },
  VAULT_WRONG_PASSWORD: { fallback: 'That password does not open the vault: check the recovery kit.', action: unlockVault },
  VAULT_NOT_A_REPOSITORY: { fallback: 'The vault location does not hold a vault.', action: { label: 'Open Vault', href: VAULT } },
  VAULT_UNSUPPORTED_VERSION: { fallback: 'The vault was written by a newer version.', action: { label: 'Open Vault', href: VAULT } },
  VAULT_CORRUPT: { fallback: 'The vault is damaged.', action: { label: 'Check the vault', href: VAULT } },
  VAULT_LOCKED: { fallback: 'Another operation holds the vault’s lock.', action: { label: 'See the vault’s locks', href: VAULT } },
  VAULT_BACKEND: { fallback: 'The vault’s storage could not be read or written.', action: { label: 'Open Vault', href: VAULT } },
  DISK_FULL: { fallback: 'The disk Lifeboat writes to is full: free some space and try again.', action: { label: 'Open Vault', href: VAULT } },
  APP_UNSUPPORTED: { fallback: 'Lifeboat cannot do that for this app.', action: null },
  ARCHIVE_INVALID: { fallback: 'The file is not a backup Lifeboat can read.', action: null },
  ARCHIVE_VERIFY_FAILED: { fallback: 'The backup did not verify: it may be damaged.', action: null },
  PREFLIGHT_FAILED: { fallback: 'The target is not ready for this restore.', action: null },
  RESTORE_FAILED: { fallback: 'The restore failed.', action: { label: 'See Activity', href: ACTIVITY } },
  CONFIRMATION_MISMATCH: { fallback: 'The confirmation you typed does not match: type it exactly as shown.', fixed: true, action: null },
  MEDIA_UNPLAYABLE: { fallback: 'This recording cannot be played here.', action: null },
  CODE_REQUIRED: { fallback: 'This step needs your one-time code.', action: null },
  KEY_REQUIRED: { fallback: 'The backup is encrypted with a key Lifeboat does not hold: import the key.', action: null },
  RESTORE_VERIFY_FAILED: { fallback: 'The restore ran, but the target differs from the backup.', action: { label: 'See Activity', href: ACTIVITY } },
  RESTORE_INTERRUPTED: { fallback: 'A restore was interrupted before it ended: see what state the target is in.', action: { label: 'See Activity', href: ACTIVITY } },
  DRILL_UNAVAILABLE: { fallback: 'A restore drill cannot run on this machine.', action: null },
  DRILL_FAILED: { fallback: 'The restore drill failed: the backup did not restore.', action: { label: 'See Activity', href: ACTIVITY } },
  DRILL_REFUSED: { fallback: 'The restore drill was not started: the server has too little free space for a scratch database, or drills there are not allowed.', action: { label: 'Open the fleet', href: FLEET } },
};

/** The secret the core asked for is the vault's password: the vault is locked for this session. */
function isVaultPassword(payload: ErrorPayload): boolean {
  return payload.code === 'SECRET_REQUIRED' && (payload.details?.purpose === 'vault-password' || /\bvault password\b/i.test(payload.message));
}

/** The first validation issue's own words, without the command and field names the core prefixes. */
function validationText(payload: ErrorPayload): string {
  const issues = payload.details?.issues;
  const first = Array.isArray(issues) ? (issues[0] as { message?: unknown } | undefined) : undefined;
  if (typeof first?.message === 'string' && first.message.trim()) return first.message;
  return payload.message.replace(/^Invalid input for [\w:-]+:\s*(?:[\w.[\]-]+:\s)?/, '');
}

/**
 * A sentence: capital first, one full stop at the end (none doubled), no bare error code inside.
 * Empty when nothing of the text is left, so the caller falls back to the code's own words.
 */
export function asSentence(text: string, code?: ErrorCode): string {
  const bare = code ? text.replaceAll(code, '') : text;
  const trimmed = bare.replace(/\b[A-Z]+(?:_[A-Z]+)+\b/g, '').replace(/\s+/g, ' ').trim();
  const body = trimmed.replace(/^[\s.…:;,-]+/u, '').replace(/[\s.…:;,]+$/u, '');
  if (!/[\p{L}\p{N}]/u.test(body)) return '';
  const ending = /[?!]$/.test(body) ? '' : '.';
  return body.charAt(0).toUpperCase() + body.slice(1) + ending;
}

/** What the error component says for an error, and the action it offers. */
export function describeError(payload: ErrorPayload): ErrorCopy {
  if (isVaultPassword(payload)) return { text: 'The vault is locked.', action: unlockVault };
  const copy = COPY[payload.code] ?? COPY.INTERNAL;
  const said = copy.fixed ? '' : asSentence(payload.code === 'INVALID_INPUT' ? validationText(payload) : payload.message, payload.code);
  return { text: said || copy.fallback, action: copy.action };
}
