/**
 * One installation's login to Nojoin (specs/nojoin.md §2.2): the form login
 * `POST /api/v1/login/access-token` gives a 60-minute bearer JWT and there is no refresh, while
 * Nojoin allows only 10 login attempts per 10 minutes per client address — shared with everyone
 * using the web UI from there. So the session, which the core keeps per installation between
 * jobs, reuses its token until the token's `exp` or until the server refuses it, never sends a
 * password the server has refused again, waits out a 429, and in unattended work (scheduled
 * pulls) logs in at most once an hour. The token lives in memory only; `dispose` forgets it.
 */
import { createHash } from 'node:crypto';
import { LifeboatError } from '../../../shared/errors';
import type { Installation } from '../../../shared/installations';
import { createHttpsClient, type HttpResponse, type HttpsClient } from '../../transport/https';
import type { AdapterContext } from '../adapter';

/** Who logs in. */
export interface NojoinCredentials {
  username: string;
  password: string;
}

/** What the login said about the account. */
export interface NojoinIdentity {
  username: string;
  isSuperuser: boolean;
  forcePasswordChange: boolean;
}

/** Options of a session. */
export interface NojoinSessionOptions {
  /** The installation's HTTPS client (pin or CA applied); the session owns it and closes it in `dispose`. */
  client: HttpsClient;
  /** The installation's name, for messages. */
  label: string;
  /** Asked only when a login is needed (so a reused token never touches the keychain). */
  credentials: () => Promise<NojoinCredentials>;
  /** Clock in ms (tests move it). */
  now?: () => number;
}

/** How a call may log in: an operator present, or unattended (then at most one login an hour). */
export interface CallContext {
  signal: AbortSignal;
  unattended: boolean;
}

/** One request as the session sends it (the path is below `/api/v1`). */
export interface SessionRequest {
  query?: Record<string, string | number | boolean | undefined>;
  body?: string | Uint8Array;
  contentType?: string;
  timeoutMs?: number;
  /** Let the client retry network errors and 502–504 (only for requests safe to repeat). */
  retry?: boolean;
}

/** The API's path prefix; none when the installation's base URL already ends with it. */
export function nojoinApiPrefix(baseUrl: URL): string {
  return /\/api\/v1\/?$/.test(baseUrl.pathname) ? '' : '/api/v1';
}

/** Unattended work logs in at most this often; also Nojoin's token lifetime. */
export const UNATTENDED_LOGIN_INTERVAL_MS = 60 * 60_000;
/** When a 429 gives no Retry-After: Nojoin's window is 10 minutes. */
const LOGIN_WINDOW_MS = 10 * 60_000;
/** Every status Lifeboat reads itself instead of letting the client throw. */
const ERROR_STATUSES: readonly number[] = Array.from({ length: 200 }, (_, i) => 400 + i);
const NOT_SUPERUSER = "The user doesn't have enough privileges";

/** FastAPI's `{"detail": "…"}` (or the first message of a 422 list); null when the body is not that. */
export function detailOf(response: HttpResponse): string | null {
  try {
    const body = response.json<{ detail?: unknown }>();
    if (typeof body.detail === 'string') return body.detail.slice(0, 500);
    if (Array.isArray(body.detail)) {
      const first = body.detail[0] as { msg?: unknown; loc?: unknown } | undefined;
      if (first && typeof first.msg === 'string') return `${first.msg}${Array.isArray(first.loc) ? ` (${first.loc.join('.')})` : ''}`;
    }
  } catch {
    // An HTML page from nginx (413, 502…): the status says enough.
    return null;
  }
  return null;
}

function jwtExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : null;
  } catch {
    // Not a JWT we can read: the response's expires_in decides.
    return null;
  }
}

function credentialFingerprint(credentials: NojoinCredentials): string {
  // Only a digest is kept, to recognise a refused password without holding it.
  return createHash('sha256').update(`${credentials.username}\u0000${credentials.password}`).digest('hex');
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/** The per-installation login session (see the file comment). */
export class NojoinSession {
  readonly prefix: string;
  private token: { jwt: string; expiresAt: number; identity: NojoinIdentity } | null = null;
  private lastLoginAt: number | null = null;
  private blockedUntil = 0;
  private refused: string | null = null;
  private login: Promise<NojoinIdentity> | null = null;
  private disposed = false;
  /** Logins sent to the server (successful or not) over the session's life. */
  logins = 0;

  constructor(private readonly options: NojoinSessionOptions) {
    this.prefix = nojoinApiPrefix(options.client.baseUrl);
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** The logged-in account (logging in when needed). */
  async identity(ctx: CallContext): Promise<NojoinIdentity> {
    return this.ensureToken(ctx);
  }

  /** Throws HTTP_AUTH_FAILED, in words, unless the account may use the backup API. */
  async requireSuperuser(ctx: CallContext): Promise<void> {
    const identity = await this.ensureToken(ctx);
    if (!identity.isSuperuser) throw this.notSuperuser(identity.username);
  }

  /**
   * Sends one authenticated request. A 401 drops the token and, when a new login is allowed, the
   * request is sent once more; 400 "not enough privileges" and 403 "password change" become
   * HTTP_AUTH_FAILED in words. Other statuses are returned for the caller to read.
   */
  async send(method: string, path: string, request: SessionRequest, ctx: CallContext): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      await this.ensureToken(ctx);
      const response = await this.options.client.request(method, `${this.prefix}${path}`, {
        ...(request.query ? { query: request.query } : {}),
        ...(request.body !== undefined ? { body: request.body } : {}),
        ...(request.contentType ? { contentType: request.contentType } : {}),
        ...(request.timeoutMs ? { timeoutMs: request.timeoutMs } : {}),
        headers: { accept: 'application/json' },
        retry: request.retry ?? method === 'GET',
        acceptStatus: ERROR_STATUSES,
        signal: ctx.signal,
      });
      if (response.status === 401 && attempt === 0) {
        // Expired early, revoked, or the server's signing key changed: log in again if allowed.
        this.forgetToken();
        continue;
      }
      this.throwForAuth(response, `${method} ${path}`);
      return response;
    }
  }

  /** Opens a download (Range from `start`), with the same 401 handling as `send`. */
  async download(path: string, options: { start: number; signal: AbortSignal; onProgress?: (p: { phase: string; bytes: number; total: number | null }) => void }, ctx: CallContext): ReturnType<HttpsClient['download']> {
    for (let attempt = 0; ; attempt++) {
      await this.ensureToken(ctx);
      try {
        return await this.options.client.download(`${this.prefix}${path}`, options);
      } catch (error) {
        if (error instanceof LifeboatError && error.details?.status === 401 && attempt === 0) {
          this.forgetToken();
          continue;
        }
        throw error;
      }
    }
  }

  /** Forgets the token and closes the client; the session cannot be used afterwards. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.forgetToken();
    await this.options.client.close();
  }

  private forgetToken(): void {
    this.token = null;
    this.options.client.setBearerToken(undefined);
  }

  private throwForAuth(response: HttpResponse, what: string): void {
    const detail = detailOf(response);
    if (response.status === 400 && detail === NOT_SUPERUSER) throw this.notSuperuser(this.token?.identity.username ?? '(unknown)');
    if (response.status === 403 && detail === 'Password change required') {
      throw new LifeboatError('HTTP_AUTH_FAILED', `Nojoin "${this.options.label}" requires the account to change its password first: sign in to the web UI once, change it, and store the new one in Lifeboat.`, {
        details: { status: 403 },
      });
    }
    if (response.status === 401) {
      this.forgetToken();
      throw new LifeboatError('HTTP_AUTH_FAILED', `Nojoin "${this.options.label}" refused a fresh login token for ${what} (${detail ?? 'HTTP 401'}).`, { details: { status: 401 } });
    }
  }

  private notSuperuser(username: string): LifeboatError {
    return new LifeboatError(
      'HTTP_AUTH_FAILED',
      `"${username}" on Nojoin "${this.options.label}" is not a superuser. Nojoin lets only superuser accounts export or restore backups ` +
        '(the owner or admin role alone is not enough; Nojoin answers 400 "not enough privileges"). Use the account created at setup, or make this one a superuser.',
      { details: { status: 400, username } },
    );
  }

  private async ensureToken(ctx: CallContext): Promise<NojoinIdentity> {
    if (this.disposed) throw new LifeboatError('INTERNAL', `The Nojoin session of "${this.options.label}" was closed.`);
    if (this.token && this.now() < this.token.expiresAt) return this.token.identity;
    this.login ??= this.logIn(ctx).finally(() => {
      this.login = null;
    });
    return this.login;
  }

  private async logIn(ctx: CallContext): Promise<NojoinIdentity> {
    const label = this.options.label;
    const now = this.now();
    if (now < this.blockedUntil) {
      throw new LifeboatError('HTTP_RATE_LIMITED', `Nojoin "${label}" refused logins from this address for too many attempts; Lifeboat waits until ${clock(this.blockedUntil)} UTC before trying again.`, {
        details: { retryAfterSeconds: Math.ceil((this.blockedUntil - now) / 1000) },
      });
    }
    if (ctx.unattended && this.lastLoginAt !== null && now - this.lastLoginAt < UNATTENDED_LOGIN_INTERVAL_MS) {
      const next = this.lastLoginAt + UNATTENDED_LOGIN_INTERVAL_MS;
      throw new LifeboatError(
        'HTTP_RATE_LIMITED',
        `Nojoin "${label}" no longer accepts the login made at ${clock(this.lastLoginAt)} UTC. Unattended, Lifeboat logs in at most once an hour ` +
          `(Nojoin allows 10 logins per 10 minutes per address, shared with the web UI); it tries again after ${clock(next)} UTC, or run the job by hand now.`,
        { details: { retryAfterSeconds: Math.ceil((next - now) / 1000), unattended: true } },
      );
    }
    const credentials = await this.options.credentials();
    const fingerprint = credentialFingerprint(credentials);
    if (fingerprint === this.refused) {
      throw new LifeboatError('HTTP_AUTH_FAILED', `Nojoin "${label}" already refused this password for "${credentials.username}"; Lifeboat does not send it again. Store the right password for the installation.`, {
        details: { username: credentials.username, refusedBefore: true },
      });
    }
    this.logins++;
    this.lastLoginAt = now;
    const response = await this.options.client.request('POST', `${this.prefix}/login/access-token`, {
      body: new URLSearchParams({ username: credentials.username, password: credentials.password }).toString(),
      contentType: 'application/x-www-form-urlencoded',
      headers: { accept: 'application/json' },
      retry: false,
      acceptStatus: ERROR_STATUSES,
      signal: ctx.signal,
    });
    const detail = detailOf(response);
    if (response.status === 429) {
      const seconds = Number(response.headers.get('retry-after'));
      this.blockedUntil = now + (Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : LOGIN_WINDOW_MS);
      throw new LifeboatError('HTTP_RATE_LIMITED', `Nojoin "${label}" refused the login: ${detail ?? 'too many login attempts'} (10 per 10 minutes per address); Lifeboat waits until ${clock(this.blockedUntil)} UTC.`, {
        details: { status: 429, retryAfterSeconds: Math.ceil((this.blockedUntil - now) / 1000) },
      });
    }
    if (response.status === 400 || response.status === 401 || response.status === 403) {
      this.refused = fingerprint;
      const why = detail === 'Inactive user' ? 'the account is disabled' : (detail ?? `HTTP ${response.status}`);
      throw new LifeboatError(
        'HTTP_AUTH_FAILED',
        `Nojoin "${label}" refused the login of "${credentials.username}": ${why}. Lifeboat will not send this password again ` +
          '(Nojoin allows only 10 login attempts per 10 minutes); store the right password for the installation.',
        { details: { status: response.status, username: credentials.username } },
      );
    }
    if (response.status !== 200) {
      throw new LifeboatError('HTTP_STATUS', `Nojoin "${label}" answered the login with HTTP ${response.status}${detail ? `: ${detail}` : ''}.`, { details: { status: response.status } });
    }
    const body = response.json<{ access_token?: unknown; expires_in?: unknown; is_superuser?: unknown; force_password_change?: unknown; username?: unknown }>();
    if (typeof body.access_token !== 'string' || body.access_token.length === 0) {
      throw new LifeboatError('HTTP_STATUS', `Nojoin "${label}" accepted the login but sent no access_token.`);
    }
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : UNATTENDED_LOGIN_INTERVAL_MS;
    const expiresAt = Math.min(jwtExpiry(body.access_token) ?? Number.POSITIVE_INFINITY, now + lifetime);
    const identity: NojoinIdentity = {
      username: typeof body.username === 'string' ? body.username : credentials.username,
      isSuperuser: body.is_superuser === true,
      forcePasswordChange: body.force_password_change === true,
    };
    this.token = { jwt: body.access_token, expiresAt, identity };
    this.options.client.setBearerToken(body.access_token);
    return identity;
  }
}

/** The session's slot in the core's per-installation store; a changed connection starts a new session. */
class SessionSlot {
  current: { key: string; session: NojoinSession } | null = null;

  async dispose(): Promise<void> {
    const current = this.current;
    this.current = null;
    await current?.session.dispose();
  }
}

function connectionKey(installation: Installation): string {
  const https = installation.https;
  return JSON.stringify([installation.id, https?.baseUrl, https?.username, https?.pinnedCertSha256, https?.caFile, https?.timeoutMs]);
}

/**
 * The installation's Nojoin session, kept between jobs in `ctx.sessions` (one per installation, as
 * Nojoin's login limit needs). The password is read from the keychain only when a login is due.
 */
export async function nojoinSessionFor(ctx: AdapterContext): Promise<NojoinSession> {
  const { installation } = ctx;
  const connection = installation.https;
  if (!connection) throw new LifeboatError('APP_UNSUPPORTED', `"${installation.name}" has no HTTPS connection; Nojoin's backups are reached over its API.`);
  const username = connection.username;
  if (!username) throw new LifeboatError('INVALID_INPUT', `"${installation.name}" needs the user name of a Nojoin superuser as its HTTPS user name.`);
  const slot = ctx.sessions.get('nojoin', () => new SessionSlot());
  const key = connectionKey(installation);
  if (slot.current?.key === key) return slot.current.session;
  await slot.dispose();
  const session = new NojoinSession({
    client: createHttpsClient(connection),
    label: installation.name,
    credentials: async () => {
      const password = await ctx.secret('https-password');
      if (!password) {
        throw new LifeboatError('SECRET_REQUIRED', `No password is stored for ${username} on "${installation.name}"; edit the installation to enter it.`, { details: { purpose: 'https-password' } });
      }
      return { username, password };
    },
  });
  slot.current = { key, session };
  return session;
}
