// A fake Weavestream web origin written from specs/weavestream.md §3 (not shaped to any client):
// `/api/v1` over real TLS (self-signed, 127.0.0.1) with CSRF double-submit (nonce.hmac),
// signed session cookies (cookie-parser's `s:` format) with refresh-token rotation, mandatory
// MFA with real RFC 6238 TOTP, the step-up window, read-only `ws_` API keys, problem+json
// errors, the named rate limits, and the backup endpoints. Runs are the fleet's real pg_dump
// files: what is in the backup directory is listed as SCHEDULED runs (the worker made them), and
// run-now calls the fleet's export (bin/weavestream-export) as the worker would, one at a time.
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { makeCertDir, makeSelfSignedCert, removeCertDir, startHttpsServer, type TestCert, type TestServer } from '../../harness/tls';
import { base32, hotp, newTotpSecret, totp, totpCounter } from '../../harness/totp';

/** Options of {@link startWeavestreamHttps}. */
export interface WeavestreamHttpsOptions {
  /** `${DATA_DIR}/backup`: the dumps and manifests the worker wrote. */
  backupDir: string;
  /** Makes one dump + manifest in backupDir like the worker's handleRun; returns the dump's name. */
  exportNow: () => Promise<string>;
  email?: string;
  password?: string;
  /**
   * Refuse a TOTP value (time step) already accepted for this user, at login or step-up. Whether
   * Weavestream does is unknown (§3.2); default true.
   */
  rejectReusedCodes?: boolean;
  /** STEP_UP_TTL_SEC (60–3600); default 900. */
  stepUpTtlSec?: number;
  /** ACCESS_TOKEN_TTL_MIN in seconds; default 900. A short one makes every request rotate the cookies. */
  accessTtlSec?: number;
  /** Login requests per minute and IP (the `auth` throttler); default 5. */
  loginPerMinute?: number;
}

/** A running fake Weavestream. */
export interface WeavestreamHttpsHandle {
  /** APP_URL: the origin; the API is under `/api/v1`. */
  url: string;
  port: number;
  cert: TestCert;
  /** `openssl x509 -fingerprint -sha256` of the certificate (AB:CD:…). */
  certSha256: string;
  email: string;
  password: string;
  /** The account's TOTP secret (what the authenticator app holds). */
  totpSecret: Buffer;
  /** `otpauth://` URI of the secret, for a person to add it to an authenticator app. */
  otpauthUri: string;
  /** Single-use backup codes `XXXXX-XXXXX`. */
  backupCodes: string[];
  /** A read-only `ws_<keyId>_<secret>` API key. */
  apiKey: string;
  /** The current TOTP code, or the one `stepOffset` steps later (+1 = the next code, accepted within the ±1 window). */
  code(stepOffset?: number): string;
  /** Every request answered: method, path (without query) and status. */
  requests: { method: string; path: string; status: number }[];
  /** Audit actions written (backup.run.triggered, backup.run.downloaded, …). */
  audit: { action: string; runId?: string }[];
  /** How often an expired access cookie was answered with rotated session cookies. */
  rotations(): number;
  /** Sets options that may change while running. */
  configure(changes: Pick<WeavestreamHttpsOptions, 'rejectReusedCodes' | 'stepUpTtlSec' | 'accessTtlSec'>): void;
  /** Ends every session's step-up window (as a Redis restart would). */
  expireStepUps(): void;
  stop(): Promise<void>;
}

type RunStatus = 'queued' | 'running' | 'success' | 'failed';

interface Run {
  id: string;
  configId: string | null;
  kind: 'SCHEDULED' | 'MANUAL';
  status: RunStatus;
  startedAt: string | null;
  finishedAt: string | null;
  sizeBytes: number | null;
  manifest: Record<string, unknown> | null;
  dumpPath: string | null;
  error: string | null;
  createdAt: string;
}

interface Session {
  id: string;
  userId: string;
  refresh: string;
  /** Superseded refresh tokens and when: presented again outside the grace window, they revoke the session. */
  superseded: Map<string, number>;
  mfaVerified: boolean;
  stepUpUntil: number;
  revoked: boolean;
}

type Auth = { kind: 'session'; session: Session } | { kind: 'key' };

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  url: URL;
  /** Path below /api/v1, or the full path for routes outside it. */
  route: string;
  ip: string;
  cookies: Map<string, string>;
  setCookies: string[];
  body: Record<string, unknown>;
}

class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(title);
  }
}

const SESSION_COOKIE = 'ws_session';
const ACCESS_COOKIE = 'ws_session_access';
const CSRF_COOKIE = 'ws_csrf';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SAFE_FILENAME = /^weavestream-postgres-[0-9TZ:-]+\.dump$/;
const REFRESH_GRACE_MS = 10_000;
const MINUTE = 60_000;

/** JSONB's key order (shorter keys first, then bytewise): how `backup_run.manifest` comes back from Postgres. */
export function jsonbOrder(value: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(value).sort((a, b) => Buffer.byteLength(a) - Buffer.byteLength(b) || Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Object.fromEntries(keys.map((k) => [k, value[k]]));
}

class FakeWeavestream {
  readonly email: string;
  readonly password: string;
  readonly userId = randomUUID();
  readonly totpSecret = newTotpSecret();
  readonly backupCodes = Array.from({ length: 8 }, () => `${randomBytes(4).toString('hex').slice(0, 5).toUpperCase()}-${randomBytes(4).toString('hex').slice(0, 5).toUpperCase()}`);
  readonly apiKey: string;
  private readonly apiKeyId = randomBytes(6).toString('hex');
  private readonly apiKeySecretHash: Buffer;
  private readonly cookieKey = randomBytes(32);
  private readonly csrfKey = randomBytes(32);
  private readonly jwtKey = randomBytes(32);
  private readonly sessions = new Map<string, Session>();
  private readonly refreshIndex = new Map<string, string>();
  private readonly usedCounters = new Set<number>();
  private readonly hits = new Map<string, number[]>();
  private readonly failures = new Map<string, number[]>();
  private readonly runs = new Map<string, Run>();
  private readonly config = {
    id: randomUUID(),
    name: 'Nightly',
    enabled: true,
    cron: '0 3 * * *',
    timezone: null as string | null,
    retention: { keepLast: 3, daily: 7, weekly: 4, monthly: 12 },
    notifyEmails: [] as string[],
    notifyOnSuccess: false,
    lastRunAt: null as string | null,
    createdAt: new Date(Date.now() - 30 * 86_400_000).toISOString(),
    updatedAt: new Date(Date.now() - 30 * 86_400_000).toISOString(),
  };
  /** The worker's concurrency of 1: queued runs wait for the one before. */
  private worker: Promise<void> = Promise.resolve();
  readonly requests: WeavestreamHttpsHandle['requests'] = [];
  readonly audit: WeavestreamHttpsHandle['audit'] = [];
  rotations = 0;

  constructor(private readonly options: WeavestreamHttpsOptions) {
    this.email = options.email ?? 'admin@weavestream.test';
    this.password = options.password ?? 'correct horse battery staple';
    const keySecret = randomBytes(24).toString('base64url');
    this.apiKey = `ws_${this.apiKeyId}_${keySecret}`;
    this.apiKeySecretHash = createHash('sha256').update(keySecret).digest();
  }

  configure(changes: Partial<WeavestreamHttpsOptions>): void {
    Object.assign(this.options, changes);
  }

  expireStepUps(): void {
    for (const session of this.sessions.values()) session.stepUpUntil = 0;
  }

  /** A run row for every dump + manifest pair the worker left that no row names yet. */
  async syncRuns(): Promise<void> {
    const names = await readdir(this.options.backupDir);
    const known = new Set([...this.runs.values()].map((r) => r.dumpPath && path.basename(r.dumpPath)));
    for (const name of names.filter((n) => SAFE_FILENAME.test(n) && !known.has(n)).sort()) {
      const manifestName = name.replace(/\.dump$/, '.manifest.json');
      if (!names.includes(manifestName)) continue;
      const manifest = JSON.parse(await readFile(path.join(this.options.backupDir, manifestName), 'utf8')) as Record<string, unknown>;
      const stamp = /(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})Z/.exec(name);
      const startedAt = stamp ? new Date(`${stamp[1]}T${stamp[2]}:${stamp[3]}:${stamp[4]}.000Z`).toISOString() : null;
      const id = randomUUID();
      this.runs.set(id, {
        id,
        configId: this.config.id,
        kind: 'SCHEDULED',
        status: 'success',
        startedAt,
        finishedAt: typeof manifest.generatedAt === 'string' ? manifest.generatedAt : null,
        sizeBytes: typeof manifest.sizeBytes === 'number' ? manifest.sizeBytes : null,
        manifest: jsonbOrder(manifest),
        dumpPath: path.join(this.options.backupDir, name),
        error: null,
        createdAt: startedAt ?? new Date().toISOString(),
      });
    }
  }

  /** A failed run as the advisory lock leaves it (§2.4), so listings see a non-success row too. */
  addConcurrentFailure(): void {
    const id = randomUUID();
    const at = new Date(Date.now() - 3 * 3_600_000).toISOString();
    this.runs.set(id, { id, configId: this.config.id, kind: 'SCHEDULED', status: 'failed', startedAt: null, finishedAt: at, sizeBytes: null, manifest: null, dumpPath: null, error: 'concurrent', createdAt: at });
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://weavestream.invalid');
    const ctx: Ctx = {
      req,
      res,
      method: req.method ?? 'GET',
      url,
      route: url.pathname.startsWith('/api/v1/') ? url.pathname.slice('/api/v1'.length) : url.pathname,
      ip: req.socket.remoteAddress ?? '?',
      cookies: parseCookies(req.headers.cookie),
      setCookies: [],
      body: {},
    };
    let status: number;
    try {
      ctx.body = await readJson(req);
      this.throttle(ctx, 'global', 600);
      status = await this.route(ctx);
    } catch (error) {
      const problem = error instanceof Problem ? error : new Problem(500, 'Internal Server Error');
      status = problem.status;
      this.send(ctx, problem.status, {
        type: `https://weavestream.app/problems/${problem.status}`,
        title: problem.title,
        status: problem.status,
        instance: url.pathname,
        ...problem.extra,
      }, { 'content-type': 'application/problem+json', ...problem.headers });
    }
    this.requests.push({ method: ctx.method, path: url.pathname, status });
  }

  private send(ctx: Ctx, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (ctx.res.headersSent) return;
    const text = JSON.stringify(body);
    ctx.res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers, ...(ctx.setCookies.length ? { 'set-cookie': ctx.setCookies } : {}) });
    ctx.res.end(text);
  }

  private async route(ctx: Ctx): Promise<number> {
    const { method, route } = ctx;
    if (method === 'GET' && (route === '/health' || ctx.url.pathname === '/health')) return this.reply(ctx, 200, { status: 'ok' });
    if (!ctx.url.pathname.startsWith('/api/v1/')) throw new Problem(404, 'Not Found');
    const key = this.apiKeyAuth(ctx);
    if (!key) this.checkCsrf(ctx);
    if (method === 'POST' && route === '/auth/csrf') return this.issueCsrf(ctx);
    if (method === 'POST' && route === '/auth/login') return this.login(ctx);

    const auth: Auth = key ?? { kind: 'session', session: this.authenticate(ctx) };
    if (auth.kind === 'session' && !auth.session.mfaVerified && route !== '/auth/mfa/verify' && route !== '/auth/logout') {
      throw new Problem(403, 'MFA challenge required', { code: 'mfa_challenge_required' });
    }
    if (auth.kind === 'key' && !['GET', 'HEAD', 'OPTIONS'].includes(method)) throw new Problem(403, 'API key is read-only', { code: 'api_key_read_only' });

    if (method === 'POST' && route === '/auth/mfa/verify') return this.verifyMfa(ctx, sessionOf(auth));
    if (method === 'POST' && route === '/auth/logout') return this.logout(ctx, sessionOf(auth));
    if (method === 'GET' && route === '/auth/me') return this.reply(ctx, 200, this.me());
    if (method === 'GET' && route === '/auth/step-up') {
      const session = sessionOf(auth);
      const left = Math.max(0, Math.ceil((session.stepUpUntil - Date.now()) / 1000));
      return this.reply(ctx, 200, { verified: left > 0, factor: 'mfa', expiresInSec: left > 0 ? left : null }, { 'cache-control': 'no-store' });
    }
    if (method === 'POST' && route === '/auth/step-up/verify') return this.verifyStepUp(ctx, sessionOf(auth));

    if (method === 'GET' && route === '/backups/configs') return this.reply(ctx, 200, [this.config]);
    let match = /^\/backups\/configs\/([^/]+)$/.exec(route);
    if (method === 'GET' && match) {
      requireUuid(match[1]!);
      if (match[1] !== this.config.id) throw new Problem(404, 'Backup schedule not found');
      return this.reply(ctx, 200, this.config);
    }
    match = /^\/backups\/configs\/([^/]+)\/run-now$/.exec(route);
    if (method === 'POST' && match) {
      this.requireStepUp(auth);
      this.throttle(ctx, 'run-now', 5);
      requireUuid(match[1]!);
      if (match[1] !== this.config.id) throw new Problem(404, 'Backup schedule not found');
      return this.reply(ctx, 202, this.dto(this.runNow()));
    }
    if (method === 'GET' && route === '/backups/runs') return this.listRuns(ctx);
    match = /^\/backups\/runs\/([^/]+)(\/download)?$/.exec(route);
    if (method === 'GET' && match) {
      if (match[2]) {
        this.requireStepUp(auth);
        this.throttle(ctx, 'download', 10);
      }
      requireUuid(match[1]!);
      await this.syncRuns();
      const run = this.runs.get(match[1]!);
      if (!run) throw new Problem(404, 'Backup run not found');
      if (!match[2]) return this.reply(ctx, 200, this.dto(run));
      return this.download(ctx, run);
    }
    throw new Problem(404, 'Not Found');
  }

  private reply(ctx: Ctx, status: number, body: unknown, headers: Record<string, string> = {}): number {
    this.send(ctx, status, body, headers);
    return status;
  }

  /** Named throttlers per IP; a named one answers with `Retry-After-<name>` (NestJS ThrottlerGuard). */
  private throttle(ctx: Ctx, name: string, limit: number): void {
    const key = `${name}|${ctx.ip}`;
    const now = Date.now();
    const recent = (this.hits.get(key) ?? []).filter((t) => now - t < MINUTE);
    if (recent.length >= limit) {
      const retry = Math.max(1, Math.ceil((recent[0]! + MINUTE - now) / 1000));
      throw new Problem(429, 'Too Many Requests', {}, { [name === 'global' ? 'retry-after' : `retry-after-${name}`]: String(retry) });
    }
    recent.push(now);
    this.hits.set(key, recent);
  }

  /** Failures within 15 minutes (lockouts); true when `limit` is reached. */
  private failed(key: string, record: boolean, limit = 5): boolean {
    const now = Date.now();
    const recent = (this.failures.get(key) ?? []).filter((t) => now - t < 15 * MINUTE);
    if (record) recent.push(now);
    this.failures.set(key, recent);
    return recent.length >= limit;
  }

  private csrfValue(): string {
    const nonce = randomBytes(16).toString('base64url');
    return `${nonce}.${createHmac('sha256', this.csrfKey).update(nonce).digest('base64url')}`;
  }

  private issueCsrf(ctx: Ctx): number {
    const token = this.csrfValue();
    ctx.setCookies.push(`${CSRF_COOKIE}=${token}; Path=/; Secure; SameSite=Lax`);
    return this.reply(ctx, 200, { csrfToken: token });
  }

  private checkCsrf(ctx: Ctx): void {
    if (['GET', 'HEAD', 'OPTIONS'].includes(ctx.method) || ctx.route === '/auth/csrf') return;
    const header = ctx.req.headers['x-csrf-token'];
    const cookie = ctx.cookies.get(CSRF_COOKIE);
    const [nonce, mac] = (cookie ?? '').split('.');
    const valid = typeof header === 'string' && cookie !== undefined && header === cookie && nonce !== undefined && mac !== undefined && safeEqual(mac, createHmac('sha256', this.csrfKey).update(nonce).digest('base64url'));
    if (!valid) throw new Problem(403, 'CSRF token mismatch');
  }

  private apiKeyAuth(ctx: Ctx): Auth | null {
    const match = /^Bearer (.+)$/.exec(ctx.req.headers.authorization ?? '');
    // A non-ws_ bearer token is ignored: cookie authentication continues (§3.2).
    if (!match?.[1]?.startsWith('ws_')) return null;
    const parts = /^ws_([0-9a-f]+)_(.+)$/.exec(match[1]);
    const ok = parts !== null && parts[1] === this.apiKeyId && timingSafeEqual(createHash('sha256').update(parts[2]!).digest(), this.apiKeySecretHash);
    if (!ok) throw new Problem(401, 'Invalid API key');
    return { kind: 'key' };
  }

  private async login(ctx: Ctx): Promise<number> {
    this.throttle(ctx, 'auth', this.options.loginPerMinute ?? 5);
    const { email, password } = ctx.body;
    if (typeof email !== 'string' || email.length > 320 || typeof password !== 'string' || password.length > 256) throw new Problem(400, 'Validation failed');
    const lockKey = `login|${ctx.ip}|${email.toLowerCase()}`;
    if (this.failed(lockKey, false)) throw new Problem(429, 'Too many failed login attempts. Try again later.');
    if (email.toLowerCase() !== this.email || !safeEqual(password, this.password)) {
      this.failed(lockKey, true);
      throw new Problem(401, 'Invalid credentials');
    }
    const session: Session = { id: randomUUID(), userId: this.userId, refresh: '', superseded: new Map(), mfaVerified: false, stepUpUntil: 0, revoked: false };
    this.sessions.set(session.id, session);
    this.issueTokens(ctx, session);
    ctx.setCookies.push(`${CSRF_COOKIE}=${this.csrfValue()}; Path=/; Secure; SameSite=Lax`, 'ws_ui=theme%3Dsystem; Max-Age=31536000; Path=/; SameSite=Lax');
    return this.reply(ctx, 200, { user: { id: this.userId, email: this.email, name: 'Admin', role: 'SUPER_ADMIN' }, mfaSetupRequired: false, mfaChallengeRequired: true, preferences: { theme: 'system' } });
  }

  /** A new refresh token (the old one superseded) and access JWT as signed cookies. */
  private issueTokens(ctx: Ctx, session: Session): void {
    if (session.refresh) {
      session.superseded.set(session.refresh, Date.now());
      this.refreshIndex.delete(session.refresh);
    }
    session.refresh = randomBytes(32).toString('base64url');
    this.refreshIndex.set(session.refresh, session.id);
    const access = this.jwt({ sub: session.userId, sid: session.id, exp: Math.floor(Date.now() / 1000) + (this.options.accessTtlSec ?? 900) });
    ctx.setCookies.push(
      `${SESSION_COOKIE}=${encodeURIComponent(this.sign(session.refresh))}; Max-Age=${30 * 86_400}; Path=/; HttpOnly; Secure; SameSite=Lax`,
      `${ACCESS_COOKIE}=${encodeURIComponent(this.sign(access))}; Max-Age=${15 * 60}; Path=/; HttpOnly; Secure; SameSite=Lax`,
    );
  }

  /** The session of a request: a valid access JWT, or a valid refresh cookie (then both are rotated). */
  private authenticate(ctx: Ctx): Session {
    const access = this.unsign(ctx.cookies.get(ACCESS_COOKIE));
    const claims = access === null ? null : this.verifyJwt(access);
    if (claims && claims.exp * 1000 > Date.now()) {
      const session = this.sessions.get(claims.sid);
      if (session && !session.revoked) return session;
    }
    const refresh = this.unsign(ctx.cookies.get(SESSION_COOKIE));
    if (refresh === null) throw new Problem(401, 'Unauthorized');
    const sessionId = this.refreshIndex.get(refresh);
    if (sessionId) {
      const session = this.sessions.get(sessionId)!;
      this.issueTokens(ctx, session);
      this.rotations += 1;
      return session;
    }
    for (const session of this.sessions.values()) {
      const supersededAt = session.superseded.get(refresh);
      if (supersededAt === undefined || session.revoked) continue;
      if (Date.now() - supersededAt < REFRESH_GRACE_MS) return session;
      // A superseded refresh token outside the grace window: treated as stolen, the session dies.
      session.revoked = true;
      this.refreshIndex.delete(session.refresh);
    }
    throw new Problem(401, 'Unauthorized');
  }

  /** A TOTP code within ±1 step, or an unused backup code; reused steps are refused when configured. */
  private checkCode(code: unknown): boolean {
    if (typeof code !== 'string') return false;
    const backup = this.backupCodes.indexOf(code.toUpperCase());
    if (backup >= 0) {
      this.backupCodes.splice(backup, 1);
      return true;
    }
    if (!/^\d{6}$/.test(code)) return false;
    const now = totpCounter();
    for (const counter of [now - 1, now, now + 1]) {
      if (!safeEqual(hotp(this.totpSecret, counter), code)) continue;
      if ((this.options.rejectReusedCodes ?? true) && this.usedCounters.has(counter)) return false;
      this.usedCounters.add(counter);
      return true;
    }
    return false;
  }

  private verifyMfa(ctx: Ctx, session: Session): number {
    this.throttle(ctx, 'mfa', 10);
    if (!this.checkCode(ctx.body.token)) throw new Problem(401, 'Invalid verification code');
    session.mfaVerified = true;
    ctx.setCookies.push(`${CSRF_COOKIE}=${this.csrfValue()}; Path=/; Secure; SameSite=Lax`);
    return this.reply(ctx, 200, { ok: true });
  }

  private verifyStepUp(ctx: Ctx, session: Session): number {
    this.throttle(ctx, 'step-up', 10);
    const key = `step-up|${session.id}`;
    if (this.failed(key, false)) throw new Problem(429, 'Too many failed step-up attempts. Try again later.');
    if (!this.checkCode(ctx.body.code)) {
      this.failed(key, true);
      throw new Problem(401, 'Invalid verification code');
    }
    session.stepUpUntil = Date.now() + (this.options.stepUpTtlSec ?? 900) * 1000;
    return this.reply(ctx, 200, { ok: true });
  }

  private requireStepUp(auth: Auth): void {
    // API keys never step up: downloads and run-now are interactive only (§3.2).
    if (auth.kind === 'key') throw new Problem(403, 'API keys cannot perform this action', { code: 'interactive_only' });
    if (auth.session.stepUpUntil <= Date.now()) throw new Problem(403, 'Step-up authentication required', { code: 'step_up_required', factor: 'mfa' });
  }

  private logout(ctx: Ctx, session: Session): number {
    session.revoked = true;
    this.refreshIndex.delete(session.refresh);
    ctx.setCookies.push(`${SESSION_COOKIE}=; Max-Age=0; Path=/`, `${ACCESS_COOKIE}=; Max-Age=0; Path=/`);
    return this.reply(ctx, 200, { ok: true });
  }

  private me(): Record<string, unknown> {
    return { id: this.userId, email: this.email, name: 'Admin', role: 'SUPER_ADMIN', globalAccess: true, platformCapabilities: ['BACKUP_MANAGE'], mfaEnabled: true, mfaEnforcementCompletedAt: this.config.createdAt, memberships: [], preferences: { theme: 'system' } };
  }

  private async listRuns(ctx: Ctx): Promise<number> {
    const params = [...ctx.url.searchParams.keys()];
    const limitText = ctx.url.searchParams.get('limit');
    const limit = limitText === null ? 50 : Number(limitText);
    // Strict parse without a mapping to 400: an unknown key or a bad limit is a 500 without detail (§3.3).
    if (params.some((p) => p !== 'limit' && p !== 'configId') || !Number.isInteger(limit) || limit < 1 || limit > 200) throw new Problem(500, 'Internal Server Error');
    await this.syncRuns();
    const configId = ctx.url.searchParams.get('configId');
    const runs = [...this.runs.values()].filter((r) => configId === null || r.configId === configId).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return this.reply(ctx, 200, runs.slice(0, limit).map((r) => this.dto(r)));
  }

  private dto(run: Run): Record<string, unknown> {
    return {
      id: run.id,
      configId: run.configId,
      configName: run.configId === this.config.id ? this.config.name : null,
      kind: run.kind,
      status: run.status,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      sizeBytes: run.sizeBytes,
      manifest: run.manifest,
      dumpFilename: run.dumpPath ? path.basename(run.dumpPath) : null,
      error: run.error,
      createdAt: run.createdAt,
    };
  }

  /** A MANUAL run, queued now and run by the worker after any run before it (concurrency 1). */
  private runNow(): Run {
    const id = randomUUID();
    const run: Run = { id, configId: this.config.id, kind: 'MANUAL', status: 'queued', startedAt: null, finishedAt: null, sizeBytes: null, manifest: null, dumpPath: null, error: null, createdAt: new Date().toISOString() };
    this.runs.set(id, run);
    this.audit.push({ action: 'backup.run.triggered', runId: id });
    this.worker = this.worker.then(() => this.work(run));
    return run;
  }

  private async work(run: Run): Promise<void> {
    run.status = 'running';
    run.startedAt = new Date().toISOString();
    try {
      const name = await this.options.exportNow();
      const manifest = JSON.parse(await readFile(path.join(this.options.backupDir, name.replace(/\.dump$/, '.manifest.json')), 'utf8')) as Record<string, unknown>;
      run.dumpPath = path.join(this.options.backupDir, name);
      run.manifest = jsonbOrder(manifest);
      run.sizeBytes = (await stat(run.dumpPath)).size;
      run.status = 'success';
      this.config.lastRunAt = new Date().toISOString();
      this.audit.push({ action: 'backup.run.completed', runId: run.id });
    } catch (error) {
      run.status = 'failed';
      run.error = error instanceof Error ? error.message : String(error);
      this.audit.push({ action: 'backup.run.failed', runId: run.id });
    } finally {
      run.finishedAt = new Date().toISOString();
    }
  }

  private async download(ctx: Ctx, run: Run): Promise<number> {
    if (run.status !== 'success' || !run.dumpPath) throw new Problem(404, 'Backup run has no downloadable dump');
    const name = path.basename(run.dumpPath);
    if (!SAFE_FILENAME.test(name) || path.dirname(run.dumpPath) !== this.options.backupDir) throw new Problem(403, 'Forbidden');
    const info = await stat(run.dumpPath).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new Problem(404, 'Backup dump file is missing on disk');
      throw error;
    });
    this.audit.push({ action: 'backup.run.downloaded', runId: run.id });
    // Range is not honoured: the spec does not say the API supports it.
    ctx.res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(info.size),
      'content-disposition': `attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(name)}`,
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
      ...(ctx.setCookies.length ? { 'set-cookie': ctx.setCookies } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(run.dumpPath!);
      stream.on('error', reject);
      ctx.res.on('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(ctx.res);
    });
    return 200;
  }

  /** cookie-parser's signed value: `s:<value>.<base64 HMAC-SHA256 without padding>`. */
  private sign(value: string): string {
    return `s:${value}.${createHmac('sha256', this.cookieKey).update(value).digest('base64').replace(/=+$/, '')}`;
  }

  private unsign(cookie: string | undefined): string | null {
    if (!cookie?.startsWith('s:')) return null;
    const body = cookie.slice(2);
    const dot = body.lastIndexOf('.');
    if (dot < 0) return null;
    const value = body.slice(0, dot);
    return safeEqual(this.sign(value), cookie) ? value : null;
  }

  private jwt(claims: { sub: string; sid: string; exp: number }): string {
    const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${head}.${payload}.${createHmac('sha256', this.jwtKey).update(`${head}.${payload}`).digest('base64url')}`;
  }

  private verifyJwt(token: string): { sid: string; exp: number } | null {
    const [head, payload, mac] = token.split('.');
    if (!head || !payload || !mac || !safeEqual(mac, createHmac('sha256', this.jwtKey).update(`${head}.${payload}`).digest('base64url'))) return null;
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sid: string; exp: number };
  }
}

function sessionOf(auth: Auth): Session {
  if (auth.kind !== 'session') throw new Problem(403, 'API keys cannot perform this action', { code: 'interactive_only' });
  return auth.session;
}

function requireUuid(id: string): void {
  if (!UUID.test(id)) throw new Problem(400, 'Validation failed (uuid is expected)');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()));
  }
  return cookies;
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  if (chunks.length === 0) return {};
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    throw new Problem(400, 'Malformed JSON body');
  }
}

/** Starts the fake Weavestream on 127.0.0.1 (free port) with a fresh self-signed certificate. */
export async function startWeavestreamHttps(options: WeavestreamHttpsOptions): Promise<WeavestreamHttpsHandle> {
  const certDir = await makeCertDir();
  let server: TestServer | null = null;
  try {
    const cert = await makeSelfSignedCert(certDir, 'weavestream', 'weavestream.test');
    const fake = new FakeWeavestream({ ...options });
    await fake.syncRuns();
    fake.addConcurrentFailure();
    server = await startHttpsServer(cert, (req, res) => {
      fake.handle(req, res).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
    const running = server;
    return {
      url: running.url,
      port: running.port,
      cert,
      certSha256: cert.sha256,
      email: fake.email,
      password: fake.password,
      totpSecret: fake.totpSecret,
      otpauthUri: `otpauth://totp/Weavestream:${encodeURIComponent(fake.email)}?secret=${base32(fake.totpSecret)}&issuer=Weavestream&algorithm=SHA1&digits=6&period=30`,
      backupCodes: fake.backupCodes,
      apiKey: fake.apiKey,
      code: (stepOffset = 0) => totp(fake.totpSecret, Date.now(), stepOffset),
      requests: fake.requests,
      audit: fake.audit,
      rotations: () => fake.rotations,
      configure: (changes) => fake.configure(changes),
      expireStepUps: () => fake.expireStepUps(),
      async stop() {
        await running.close();
        await removeCertDir(certDir);
      },
    };
  } catch (error) {
    await server?.close();
    await removeCertDir(certDir);
    throw error;
  }
}
