/**
 * Weavestream's HTTP API as an operator-present client (spec weavestream.md §3): a cookie session
 * with CSRF double-submit, the mandatory TOTP login challenge, the step-up that run-now and
 * download need, and read-only `Bearer ws_…` API keys for listing.
 *
 * Why a session outlives a job: every login costs a TOTP code (and one of 5 logins a minute), and
 * a step-up opens a window of `STEP_UP_TTL_SEC` (900 s) for that session only. So the logged-in
 * client (its cookie jar) is kept in memory per installation — never on disk — and a second pull
 * within the window needs no code. Codes come from `ctx.oneTimeCode()`; without one the step
 * throws CODE_REQUIRED naming why (`details.reason`).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';
import type { Installation } from '../../../shared/installations';
import { createHttpsClient, type DownloadResult, type HttpResponse, type HttpsClient } from '../../transport/https';
import { bodyExcerpt } from '../../transport/https/errors';
import type { ModuleSession } from '../module';
import type { AdapterContext } from '../adapter';

/** Why an operator's code is needed (CODE_REQUIRED `details.reason`). */
export type CodeReason = 'login' | 'step-up' | 'code-rejected' | 'code-reused';

/** `BackupRunDto` of the runs API (§3.3); unknown members are dropped. */
const runSchema = z.object({
  id: z.string().min(1),
  configId: z.string().nullable(),
  configName: z.string().nullable(),
  kind: z.enum(['SCHEDULED', 'MANUAL']),
  status: z.enum(['queued', 'running', 'success', 'failed']),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  sizeBytes: z.number().nullable(),
  manifest: z.record(z.string(), z.unknown()).nullable(),
  dumpFilename: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
});

/** One backup run as the API returns it. */
export type WeavestreamRun = z.infer<typeof runSchema>;

/** The members of `BackupConfig` Lifeboat reads. */
const configSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  enabled: z.boolean(),
  cron: z.string(),
  timezone: z.string().nullable(),
});

/** One backup schedule. */
export type WeavestreamConfig = z.infer<typeof configSchema>;

/** RFC 7807 problem members Lifeboat reads (§3.1); `code`/`factor` are extension members. */
const problemSchema = z.object({
  title: z.string().optional(),
  detail: z.string().optional(),
  code: z.string().optional(),
  factor: z.string().optional(),
});

/** `GET /runs` takes `limit` 1–200 and no other key but configId (an unknown key is a 500). */
const RUNS_LIMIT = 200;
/** A session idle this long is dropped; the next use logs in again. */
const SESSION_IDLE_MS = 12 * 3_600_000;
/** A code typed for the login challenge is offered to the step-up that follows within this time. */
const LOGIN_CODE_REUSE_MS = 120_000;
/** Step up again when less than this is left of the window, so a download does not start at its edge. */
const STEP_UP_MARGIN_MS = 30_000;
/** A login whose MFA challenge was not answered within this time is started over. */
const MFA_PENDING_MS = 10 * 60_000;
const ERROR_STATUSES: readonly number[] = Array.from({ length: 200 }, (_, i) => 400 + i);

type SessionState = 'logged-out' | 'mfa-pending' | 'ready';

/** A logged-in (or half logged-in) session of one installation: the client's cookie jar is the session. */
class WeavestreamSession {
  state: SessionState = 'logged-out';
  /** When the password was accepted and the MFA challenge began. */
  pendingSince = 0;
  stepUpUntil = 0;
  /** The code that answered the login challenge, offered once to the step-up right after it. */
  loginCode: { code: string; at: number } | null = null;
  lastUsed = Date.now();
  /** Requests of one session run one at a time: the server rotates cookies, and a stale one revokes the session. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly key: string,
    readonly client: HttpsClient,
    readonly prefix: string,
  ) {}

  /** Runs `task` after every earlier request of this session. */
  serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

/** The installation's one session, kept in the core's per-installation store; closed on dispose. */
class SessionSlot implements ModuleSession {
  current: WeavestreamSession | null = null;

  async dispose(): Promise<void> {
    const session = this.current;
    this.current = null;
    if (session) await session.client.close();
  }
}

/** The `/api/v1` prefix to put before API paths: none when the base URL already ends with it. */
export function apiPrefix(baseUrl: URL): string {
  return /\/api\/v1\/$/.test(baseUrl.pathname) ? '' : '/api/v1';
}

function sessionKey(installation: Installation): string {
  const https = installation.https;
  return JSON.stringify([installation.id, https?.baseUrl, https?.username, https?.pinnedCertSha256, https?.caFile, https?.timeoutMs]);
}

/** The installation's session, created (logged out) on first use; a changed connection starts over. */
async function sessionOf(ctx: AdapterContext): Promise<WeavestreamSession> {
  const { installation } = ctx;
  if (!installation.https) throw new LifeboatError('APP_UNSUPPORTED', `"${installation.name}" has no HTTPS connection.`);
  const key = sessionKey(installation);
  const slot = ctx.sessions.get('weavestream-https', () => new SessionSlot());
  const existing = slot.current;
  if (existing && existing.key === key && Date.now() - existing.lastUsed < SESSION_IDLE_MS) {
    existing.lastUsed = Date.now();
    return existing;
  }
  if (existing) await slot.dispose();
  const client = createHttpsClient(installation.https);
  const session = new WeavestreamSession(key, client, apiPrefix(client.baseUrl));
  slot.current = session;
  return session;
}

/** CODE_REQUIRED with the reason the UI explains; never contains the code. */
export function codeRequired(ctx: AdapterContext, reason: CodeReason, why?: string): LifeboatError {
  const name = ctx.installation.name;
  const messages: Record<CodeReason, string> = {
    login: `Signing in to Weavestream "${name}" needs the current code from your authenticator app (Weavestream asks for it at every login).`,
    'step-up': `Weavestream "${name}" asks for your authenticator code again before a download or "Run now" (its step-up, valid 15 minutes).`,
    'code-rejected': `Weavestream "${name}" did not accept the code${why ? ` (${why})` : ''}. Type the current code from your authenticator app.`,
    'code-reused': `Weavestream "${name}" accepted the code for the login but not a second time for the step-up a download needs. Wait for the next code and type it; you stay logged in.`,
  };
  return new LifeboatError('CODE_REQUIRED', messages[reason], { details: { reason, installationId: ctx.installation.id } });
}

/** A problem+json answer turned into a LifeboatError; server text is cleaned of control characters. */
function problemError(response: HttpResponse, what: string): LifeboatError {
  let problem: z.infer<typeof problemSchema> = {};
  try {
    const parsed = problemSchema.safeParse(response.json());
    if (parsed.success) problem = parsed.data;
  } catch (error) {
    if (!(error instanceof LifeboatError)) throw error;
    // Not JSON (a proxy's HTML page): the status alone says what happened.
  }
  const title = bodyExcerpt(problem.title ?? '', []) || `HTTP ${response.status}`;
  const detail = problem.detail ? bodyExcerpt(problem.detail, []) : null;
  const retryAfter = retryAfterSeconds(response.headers);
  const details: Record<string, unknown> = { status: response.status, title, ...(problem.code ? { serverCode: problem.code } : {}), ...(problem.factor ? { factor: problem.factor } : {}) };
  const said = `"${title}"${detail ? `: ${detail}` : ''}`;
  if (response.status === 429) {
    details.retryAfterSeconds = retryAfter;
    return new LifeboatError('HTTP_RATE_LIMITED', `Weavestream is rate limiting ${what} (${said})${retryAfter === null ? '; try again in a minute.' : `; try again in ${retryAfter} s.`}`, { details });
  }
  if (response.status === 401 || response.status === 403) {
    return new LifeboatError('HTTP_AUTH_FAILED', `Weavestream refused ${what} (${response.status} ${said}).`, { details });
  }
  return new LifeboatError('HTTP_STATUS', `Weavestream answered ${what} with ${response.status} ${said}.`, { details });
}

/** Seconds from `Retry-After-auth` (the login throttler's header, §3.1) or `Retry-After`. */
function retryAfterSeconds(headers: Headers): number | null {
  for (const name of ['retry-after-auth', 'retry-after']) {
    const value = headers.get(name);
    if (value !== null && /^\d+$/.test(value.trim())) return Number(value.trim());
  }
  return null;
}

interface CallOptions {
  json?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Statuses returned instead of thrown (the caller explains them). */
  expect?: readonly number[];
}

/** One request of the API; errors other than `expect` become problem errors. */
async function call(client: HttpsClient, prefix: string, ctx: AdapterContext, method: string, path: string, options: CallOptions = {}): Promise<HttpResponse> {
  const response = await client.request(method, `${prefix}${path}`, {
    signal: ctx.signal,
    ...(options.json !== undefined ? { json: options.json } : {}),
    ...(options.query ? { query: options.query } : {}),
    headers: { accept: 'application/json, application/problem+json' },
    // Only reads are retried: a repeated login or run-now is never sent by Lifeboat on its own.
    retry: method === 'GET',
    acceptStatus: ERROR_STATUSES,
  });
  if (response.status >= 400 && !(options.expect ?? []).includes(response.status)) throw problemError(response, `${method} ${path}`);
  return response;
}

/** The password login (§3.2 steps 1–2): at most once per attempt, never retried. */
async function logIn(session: WeavestreamSession, ctx: AdapterContext): Promise<void> {
  const email = ctx.installation.https?.username;
  if (!email) {
    throw new LifeboatError('INVALID_INPUT', `"${ctx.installation.name}" needs the e-mail address of a Weavestream account with backup rights as its HTTPS user name.`);
  }
  const password = await ctx.secret('https-password');
  if (!password) {
    throw new LifeboatError('SECRET_REQUIRED', `No Weavestream password is stored for ${email} on "${ctx.installation.name}"; edit the installation to enter it.`, {
      details: { purpose: 'https-password' },
    });
  }
  const { client, prefix } = session;
  // Double-submit CSRF: the X-CSRF-Token header repeats the ws_csrf cookie, which the server rotates.
  await client.enableCsrf({ source: { cookie: 'ws_csrf' } });
  await call(client, prefix, ctx, 'POST', '/auth/csrf');
  ctx.log(`Logging in to Weavestream as ${email}.`);
  const response = await call(client, prefix, ctx, 'POST', '/auth/login', { json: { email, password }, expect: [401, 429] });
  if (response.status === 401) {
    throw new LifeboatError(
      'HTTP_AUTH_FAILED',
      `Weavestream refused the login of ${email} (${problemTitle(response)}). Lifeboat does not try again by itself: 5 failed logins in 15 minutes lock the account from this address. Check the e-mail and password.`,
      { details: { status: 401, email } },
    );
  }
  if (response.status === 429) {
    const seconds = retryAfterSeconds(response.headers);
    throw new LifeboatError(
      'HTTP_RATE_LIMITED',
      `Weavestream refused the login of ${email}: too many login attempts (${problemTitle(response)})${seconds === null ? '; try again in a few minutes.' : `; try again in ${seconds} s (Retry-After-auth).`}`,
      { details: { status: 429, email, retryAfterSeconds: seconds } },
    );
  }
  const body = z.object({ mfaSetupRequired: z.boolean().optional(), mfaChallengeRequired: z.boolean().optional() }).parse(response.json());
  if (body.mfaSetupRequired) {
    throw new LifeboatError('HTTP_AUTH_FAILED', `${email} has never set up two-factor login on Weavestream, which every account needs: sign in to the web UI once and enrol an authenticator app.`, {
      details: { status: 403, email, serverCode: 'mfa_enrollment_required' },
    });
  }
  session.state = body.mfaChallengeRequired ? 'mfa-pending' : 'ready';
  session.pendingSince = Date.now();
}

function problemTitle(response: HttpResponse): string {
  try {
    const parsed = problemSchema.safeParse(response.json());
    if (parsed.success && parsed.data.title) return `"${bodyExcerpt(parsed.data.title, [])}"`;
  } catch (error) {
    if (!(error instanceof LifeboatError)) throw error;
  }
  return `HTTP ${response.status}`;
}

/** Logged in with the MFA challenge answered, or CODE_REQUIRED. */
async function ensureLoggedIn(session: WeavestreamSession, ctx: AdapterContext): Promise<void> {
  if (session.state === 'ready') return;
  // An unanswered challenge may have expired on the server: start over rather than reject codes forever.
  if (session.state === 'mfa-pending' && Date.now() - session.pendingSince > MFA_PENDING_MS) session.state = 'logged-out';
  if (session.state === 'logged-out') await logIn(session, ctx);
  if (session.state !== 'mfa-pending') return;
  const code = ctx.oneTimeCode();
  if (code === null) throw codeRequired(ctx, 'login');
  const { client, prefix } = session;
  const response = await call(client, prefix, ctx, 'POST', '/auth/mfa/verify', { json: { token: code }, expect: [400, 401] });
  if (response.status === 400 || response.status === 401) throw codeRequired(ctx, 'code-rejected', problemTitle(response));
  session.state = 'ready';
  session.stepUpUntil = 0;
  session.loginCode = { code, at: Date.now() };
  ctx.log('Weavestream accepted the login code.');
}

/** A step-up window that covers the next request, or CODE_REQUIRED. */
async function ensureStepUp(session: WeavestreamSession, ctx: AdapterContext): Promise<void> {
  await ensureLoggedIn(session, ctx);
  if (session.stepUpUntil - STEP_UP_MARGIN_MS > Date.now()) return;
  const fresh = ctx.oneTimeCode();
  const recent = session.loginCode && Date.now() - session.loginCode.at < LOGIN_CODE_REUSE_MS ? session.loginCode.code : null;
  // The login's code is offered once: whether Weavestream takes the same TOTP twice is unknown (§3.2).
  session.loginCode = null;
  const code = fresh ?? recent;
  if (code === null) throw codeRequired(ctx, 'step-up');
  const { client, prefix } = session;
  const response = await call(client, prefix, ctx, 'POST', '/auth/step-up/verify', { json: { code }, expect: [400, 401] });
  if (response.status === 400 || response.status === 401) {
    throw fresh === null ? codeRequired(ctx, 'code-reused') : codeRequired(ctx, 'code-rejected', problemTitle(response));
  }
  const window = z.object({ verified: z.boolean(), expiresInSec: z.number().nullable().optional() }).parse((await call(client, prefix, ctx, 'GET', '/auth/step-up')).json());
  session.stepUpUntil = window.verified ? Date.now() + (window.expiresInSec ?? 0) * 1000 : 0;
  ctx.log(`Weavestream step-up verified${window.expiresInSec ? ` for ${Math.round(window.expiresInSec / 60)} min` : ''}.`);
}

/**
 * A request that needs the session (and a step-up when `stepUp`). A 403 step_up_required (the
 * window closed early) is answered with a step-up and the request sent once more; a lost session
 * (401, MFA challenge) logs in once more, which needs a code.
 */
async function sessionCall<T>(ctx: AdapterContext, stepUp: boolean, send: (session: WeavestreamSession) => Promise<T>): Promise<T> {
  const session = await sessionOf(ctx);
  return session.serial(async () => {
    const prepare = (): Promise<void> => (stepUp ? ensureStepUp(session, ctx) : ensureLoggedIn(session, ctx));
    await prepare();
    try {
      return await send(session);
    } catch (error) {
      if (!(error instanceof LifeboatError) || error.code !== 'HTTP_AUTH_FAILED') throw error;
      const serverCode = error.details?.serverCode;
      if (serverCode === 'step_up_required') {
        session.stepUpUntil = 0;
      } else if (error.details?.status === 401 || serverCode === 'mfa_challenge_required') {
        ctx.log('The Weavestream session has ended; logging in again.');
        session.state = 'logged-out';
        session.stepUpUntil = 0;
      } else {
        throw error;
      }
      await prepare();
      return send(session);
    }
  });
}

/** `GET /backups/runs`, newest first: with the `ws_` API key when the installation has one, else the session. */
export async function listRuns(ctx: AdapterContext): Promise<WeavestreamRun[]> {
  const read = async (client: HttpsClient, prefix: string): Promise<WeavestreamRun[]> =>
    z.array(runSchema).parse((await call(client, prefix, ctx, 'GET', '/backups/runs', { query: { limit: RUNS_LIMIT } })).json());
  const key = await apiKeyClient(ctx);
  if (key) return read(key, apiPrefix(key.baseUrl));
  return sessionCall(ctx, false, (s) => read(s.client, s.prefix));
}

/** `GET /backups/runs/:id`. */
export async function getRun(ctx: AdapterContext, runId: string): Promise<WeavestreamRun> {
  const path = `/backups/runs/${encodeURIComponent(runId)}`;
  const key = await apiKeyClient(ctx);
  if (key) return runSchema.parse((await call(key, apiPrefix(key.baseUrl), ctx, 'GET', path)).json());
  return sessionCall(ctx, false, async (s) => runSchema.parse((await call(s.client, s.prefix, ctx, 'GET', path)).json()));
}

/** `GET /backups/configs`: enabled schedules first, then newest. */
export async function listConfigs(ctx: AdapterContext): Promise<WeavestreamConfig[]> {
  const key = await apiKeyClient(ctx);
  if (key) return z.array(configSchema).parse((await call(key, apiPrefix(key.baseUrl), ctx, 'GET', '/backups/configs')).json());
  return sessionCall(ctx, false, async (s) => z.array(configSchema).parse((await call(s.client, s.prefix, ctx, 'GET', '/backups/configs')).json()));
}

/** `POST /backups/configs/:id/run-now` (step-up; never repeated by Lifeboat): the queued run. */
export async function runNow(ctx: AdapterContext, configId: string): Promise<WeavestreamRun> {
  return sessionCall(ctx, true, async (s) => runSchema.parse((await call(s.client, s.prefix, ctx, 'POST', `/backups/configs/${encodeURIComponent(configId)}/run-now`, { json: {} })).json()));
}

/** `GET /backups/runs/:id/download` (step-up): the dump as a stream with the response headers. */
export async function downloadRun(ctx: AdapterContext, runId: string, onProgress?: (p: { phase: string; bytes: number; total: number | null }) => void): Promise<DownloadResult> {
  return sessionCall(ctx, true, (s) =>
    s.client.download(`${s.prefix}/backups/runs/${encodeURIComponent(runId)}/download`, { signal: ctx.signal, ...(onProgress ? { onProgress } : {}) }),
  );
}

/**
 * Makes sure a step-up window is open (asking for a code if not), so that a pull fails with
 * CODE_REQUIRED before anything streams.
 */
export async function prepareStepUp(ctx: AdapterContext): Promise<void> {
  const session = await sessionOf(ctx);
  await session.serial(() => ensureStepUp(session, ctx));
}

/** The job's client with the installation's `ws_` API key, or null when it logs in with a password. */
async function apiKeyClient(ctx: AdapterContext): Promise<HttpsClient | null> {
  if (ctx.installation.https?.auth !== 'bearer') return null;
  const token = await ctx.secret('api-token');
  if (token !== null && !token.startsWith('ws_')) {
    // A non-ws_ bearer token is ignored by Weavestream (§3.2): every read would then be a puzzling 401.
    throw new LifeboatError('INVALID_INPUT', `The API token of "${ctx.installation.name}" is not a Weavestream API key (they start with ws_).`);
  }
  return ctx.https();
}

/** Waits `ms`, or throws CANCELLED when the job is cancelled. */
export async function waitOrCancel(ms: number, signal: AbortSignal, what: string): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    throw new LifeboatError('CANCELLED', `Cancelled while ${what}.`, { cause: error });
  }
}
