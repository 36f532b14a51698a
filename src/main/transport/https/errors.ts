import { LifeboatError } from '../../../shared/errors';

const EXCERPT_CHARS = 300;

/** The shortest part of a secret that is redacted wherever it appears (shorter runs are ordinary words). */
const SECRET_FRAGMENT = 8;
const foldCase = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * `text` with every echo of a secret replaced by `[redacted]`: in any letter case, and any part of
 * it of SECRET_FRAGMENT characters or more (a server that echoes half a token, or lower-cases
 * it). Secrets shorter than that are redacted whole, and only from 6 characters on.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  const folded = foldCase(text);
  const hidden = new Uint8Array(text.length);
  for (const secret of secrets) {
    const s = foldCase(secret);
    const size = Math.min(SECRET_FRAGMENT, s.length);
    if (size < 6) continue;
    const windows = new Set<string>();
    for (let i = 0; i + size <= s.length; i++) windows.add(s.slice(i, i + size));
    for (let i = 0; i + size <= folded.length; i++) {
      if (windows.has(folded.slice(i, i + size))) hidden.fill(1, i, i + size);
    }
  }
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (!hidden[i]) out += text[i];
    else if (i === 0 || !hidden[i - 1]) out += '[redacted]';
  }
  return out;
}

/** A short, single-line, secret-free excerpt of a response body for an error message. */
export function bodyExcerpt(body: string, secrets: readonly string[]): string {
  let text = redactSecrets(body, secrets);
  // Control characters would let a hostile body forge lines in a log or UI.
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}

/** Fields in which the APIs Lifeboat talks to put their error text, in the order they are shown. */
const MESSAGE_FIELDS = ['error', 'message', 'detail', 'details', 'title', 'reason'] as const;

/**
 * What a server said about a failed request, for an error message, without keeping its body: the
 * error fields of a JSON body (FastAPI's validation list as its `msg` texts), an HTML page's
 * title, or the first line of plain text; redacted and shortened like {@link bodyExcerpt}. Other
 * JSON fields, the rest of a page and anything else the server echoed are dropped.
 */
export function serverMessage(body: string, secrets: readonly string[]): string {
  const trimmed = body.trim();
  let said: string[] = [];
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed === 'string') said = [parsed];
    else if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const record = parsed as Record<string, unknown>;
      for (const field of MESSAGE_FIELDS) said.push(...messageTexts(record[field]));
    }
  } catch {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(trimmed);
    if (title) said = [title[1] ?? ''];
    else if (!trimmed.startsWith('<')) said = [trimmed.split('\n', 1)[0] ?? ''];
  }
  const distinct = [...new Set(said.map((s) => s.trim()).filter((s) => s.length > 0))];
  return bodyExcerpt(distinct.join(': '), secrets);
}

function messageTexts(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return [];
  return value.flatMap((item) => {
    if (typeof item === 'string') return [item];
    if (typeof item === 'object' && item !== null && typeof (item as { msg?: unknown }).msg === 'string') return [(item as { msg: string }).msg];
    return [];
  });
}

/** The `code` field of a JSON error body such as `{"error":"…","code":"CSRF_TOKEN_REQUIRED"}`, if any. */
export function serverErrorCode(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { code?: unknown }).code === 'string') {
      return (parsed as { code: string }).code;
    }
  } catch {
    // Not JSON: there is simply no server code to report.
    return undefined;
  }
  return undefined;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
    return (error as { code: string }).code;
  }
  return undefined;
}

/** Finds a LifeboatError raised below fetch (our TLS connector) in a `cause` chain. */
function findLifeboatError(error: unknown): LifeboatError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (current instanceof LifeboatError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** What made a request stop, so that a thrown AbortError can be named correctly. */
export interface AbortState {
  cancelled: () => boolean;
  timedOut: () => boolean;
  timeoutMs: number;
  /** host:port the request went to, named in every error (a body read's `what` has only the path). */
  host: string;
  /** The idle timeout (nothing received for this long ends the request). */
  idleTimeoutMs: number;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** Turns whatever fetch or a body stream threw into a LifeboatError (never leaking headers or secrets). */
export function mapTransportError(error: unknown, what: string, abort: AbortState): LifeboatError {
  const inner = findLifeboatError(error);
  if (inner) return inner;
  if (abort.cancelled()) return new LifeboatError('CANCELLED', `${what} was cancelled.`, { cause: error });
  const where = what.includes(abort.host) ? what : `${what} (${abort.host})`;
  if (abort.timedOut()) {
    return new LifeboatError('HTTP_TIMEOUT', `${where} got no complete answer within ${seconds(abort.timeoutMs)}.`, {
      details: { host: abort.host, timeoutMs: abort.timeoutMs },
      cause: error,
    });
  }
  const cause = (error as { cause?: unknown } | null)?.cause ?? error;
  const code = errorCode(cause) ?? errorCode(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    const idle = abort.idleTimeoutMs;
    const message =
      code === 'UND_ERR_BODY_TIMEOUT'
        ? `${where}: nothing arrived from ${abort.host} for ${seconds(idle)} in the middle of the body, so the transfer was given up (idle timeout ${idle} ms).`
        : code === 'UND_ERR_HEADERS_TIMEOUT'
          ? `${where}: ${abort.host} sent no answer for ${seconds(idle)} (idle timeout ${idle} ms).`
          : `${where}: ${abort.host} did not answer in time (${code}).`;
    return new LifeboatError('HTTP_TIMEOUT', message, { details: { host: abort.host, idleMs: idle, code }, cause });
  }
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LifeboatError('HTTP_NETWORK', `${where} failed: ${reason}`, {
    details: code === undefined ? { host: abort.host } : { host: abort.host, code },
    cause,
  });
}
