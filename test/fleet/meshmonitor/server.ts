// A fake MeshMonitor 4.15.1 written from specs/meshmonitor.md and the curl transcripts in
// test/fixtures/meshmonitor: the auth, CSRF, rate-limit and system-backup API over HTTPS with a
// self-signed certificate, and the RESTORE_FROM_BACKUP restart path. Not shaped to any client.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TarArchive } from 'archiver';
import { makeSelfSignedCert, type TestCert } from '../../harness/tls';
import {
  bcryptHash,
  bcryptVerify,
  DIRNAME_RE,
  MeshMonitorStore,
  MM_VERSION,
  ServerLog,
  type Row,
} from './store';

/** The real 4.15.1 backup the fake's live data is seeded from. */
export const SAMPLE_ARCHIVE = fileURLToPath(new URL('../../fixtures/meshmonitor/2026-11-23_131719.tar.gz', import.meta.url));

/** Options of `startMeshMonitor`. */
export interface MeshMonitorOptions {
  dataDir: string;
  /** Password of `admin` (the seed's admin has "changeme"; anything else is re-hashed). */
  adminPassword: string;
  /** `mm_v1_` + 32 hex to install for admin, or true to generate one. */
  apiToken?: string | true;
  /** NODE_ENV=production: 5 failed logins per 15 minutes instead of 100. */
  production: boolean;
  /** RATE_LIMIT_AUTH; 0 turns the login limiter off. */
  rateLimitAuth?: number;
  /** Seed archive for an empty data dir (default the real sample); null for an empty database. */
  seedArchive?: string | null;
  /** Environment of the first start, e.g. RESTORE_FROM_BACKUP on a fresh data dir. */
  env?: { RESTORE_FROM_BACKUP?: string };
  /** Port to listen on; default a free one. */
  port?: number;
}

/** A running fake MeshMonitor. */
export interface MeshMonitorHandle {
  url: string;
  port: number;
  /** SHA-256 of the self-signed certificate, `AB:CD:…` (what openssl prints). */
  certSha256: string;
  cert: TestCert;
  dataDir: string;
  /** `<dataDir>/system-backups` (SYSTEM_BACKUP_DIR). */
  backupDir: string;
  logFile: string;
  apiToken: string | undefined;
  /** Makes a new API token for admin, as its Settings page does (revoking admin's older one). */
  issueToken(): Promise<string>;
  /** Live rows of a table (for assertions). */
  rows(table: string): Row[];
  /** Stops and starts again like a container restart: new session secret, optional RESTORE_FROM_BACKUP. */
  restart(options?: { env?: { RESTORE_FROM_BACKUP?: string } }): Promise<void>;
  stop(): Promise<void>;
}

const COOKIE_NAME = 'meshmonitor.sid';
const SESSION_MAX_AGE_MS = 24 * 60 * 60 * 1000;
const AUTH_WINDOW_MS = 15 * 60 * 1000;

// helmet + cors headers every response of the transcript carries.
const COMMON_HEADERS: Record<string, string> = {
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Origin-Agent-Cluster': '?1',
  'Referrer-Policy': 'strict-origin-when-cross-origin',
  'X-Content-Type-Options': 'nosniff',
  'X-DNS-Prefetch-Control': 'off',
  'X-Download-Options': 'noopen',
  'X-Frame-Options': 'DENY',
  'X-Permitted-Cross-Domain-Policies': 'none',
  'X-XSS-Protection': '0',
  'Content-Security-Policy': "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: http: https:; connect-src 'self' ws: wss: https://*.tile.openstreetmap.org https://*.tile.openstreetmap.fr https://*.basemaps.cartocdn.com https://*.tile.opentopomap.org https://server.arcgisonline.com http://*.tile.openstreetmap.org; worker-src 'self' blob:; font-src 'self'; object-src 'none'; media-src 'self'; frame-src 'none'; base-uri 'self'; form-action 'self'",
  Vary: 'Origin',
  'Access-Control-Allow-Credentials': 'true',
};

interface Session {
  id: string;
  csrfToken?: string;
  userId?: number;
}

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  method: string;
  session: Session;
  /** False once the session was destroyed (logout): no Set-Cookie then. */
  sessionAlive: boolean;
  body: Record<string, unknown>;
  ip: string;
}

/** express's weak ETag: W/"<length hex>-<sha1 base64, 27 chars>". */
function etag(body: Buffer): string {
  return `W/"${body.length.toString(16)}-${createHash('sha1').update(body).digest('base64').slice(0, 27)}"`;
}

class FakeMeshMonitor {
  private server: https.Server | null = null;
  private store!: MeshMonitorStore;
  private sessions = new Map<string, Session>();
  private secret = randomBytes(32);
  private startedAt = Date.now();
  private authHits = new Map<string, { count: number; resetAt: number }>();
  port = 0;
  apiToken: string | undefined;
  readonly log: ServerLog;

  constructor(
    readonly options: MeshMonitorOptions,
    readonly cert: TestCert,
  ) {
    this.log = new ServerLog(path.join(options.dataDir, 'logs', 'meshmonitor.log'));
  }

  private get authLimit(): number {
    return this.options.rateLimitAuth ?? (this.options.production ? 5 : 100);
  }

  async start(env: { RESTORE_FROM_BACKUP?: string } = {}, first = false): Promise<void> {
    await mkdir(path.dirname(this.log.file), { recursive: true });
    // SESSION_SECRET unset: a random one per start, so every session dies with the process.
    this.secret = randomBytes(32);
    this.sessions.clear();
    this.authHits.clear();
    this.startedAt = Date.now();
    this.store = await MeshMonitorStore.open({
      dataDir: this.options.dataDir,
      adminPassword: this.options.adminPassword,
      seedArchive: this.options.seedArchive === undefined ? SAMPLE_ARCHIVE : this.options.seedArchive,
      log: this.log,
    });
    const databaseReady = (): Promise<void> => this.log.write('INFO', '✅ Database ready, starting HTTP server...');
    const restore = env.RESTORE_FROM_BACKUP;
    if (restore) await this.store.restoreAtStartup(restore, databaseReady);
    else await databaseReady();
    await this.store.ensureDefaultUsers();
    if (first && this.options.apiToken !== undefined) await this.installToken(this.options.apiToken);
    this.server = https.createServer({ cert: this.cert.certPem, key: this.cert.keyPem }, (req, res) => {
      this.handle(req, res).catch(async (error: unknown) => {
        await this.log.write('ERROR', `Unhandled error: ${String(error)}`);
        if (!res.headersSent) this.json(res, 500, { error: 'Internal server error', code: 'INTERNAL_ERROR' });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port || this.options.port || 0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.server.keepAliveTimeout = 65_000; // the transcript's Keep-Alive: timeout=65
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  }

  rows(table: string): Row[] {
    return this.store.rows(table);
  }

  issueToken(): Promise<void> {
    return this.installToken(true);
  }

  private async installToken(option: string | true): Promise<void> {
    const token = option === true ? `mm_v1_${randomBytes(16).toString('hex')}` : option;
    if (!/^mm_v1_[0-9a-f]{32}$/.test(token)) throw new Error('apiToken must be mm_v1_ followed by 32 hex digits');
    const admin = this.store.rows('users').find((u) => u.username === 'admin');
    await this.storeToken(Number(admin!.id), token);
    this.apiToken = token;
  }

  /** One active token per user: a new one revokes the old (auth.ts:606-617). Stored bcrypt-hashed. */
  private async storeToken(userId: number, token: string): Promise<Row> {
    for (const row of this.store.rows('api_tokens')) if (row.user_id === userId) row.is_active = 0;
    const row: Row = {
      id: this.store.nextId('api_tokens'), user_id: userId, token_hash: await bcryptHash(token), prefix: token.slice(0, 12),
      created_at: Date.now(), last_used_at: null, is_active: 1,
    };
    this.store.rows('api_tokens').push(row);
    await this.store.save();
    return row;
  }

  // ---- sessions and cookies (express-session, signed "s:<id>.<hmac>") ----

  private sign(id: string): string {
    return `s:${id}.${createHmac('sha256', this.secret).update(id).digest('base64').replace(/=+$/, '')}`;
  }

  private loadSession(req: http.IncomingMessage): Session {
    const raw = (req.headers.cookie ?? '').split(/;\s*/).find((c) => c.startsWith(`${COOKIE_NAME}=`));
    if (raw) {
      const value = decodeURIComponent(raw.slice(COOKIE_NAME.length + 1));
      const match = /^s:([^.]+)\..+$/.exec(value);
      if (match && this.sign(match[1]!) === value) {
        const session = this.sessions.get(match[1]!);
        if (session) return session;
      }
    }
    return { id: randomBytes(24).toString('base64url') };
  }

  private cookieHeader(session: Session): string {
    const expires = new Date(Date.now() + SESSION_MAX_AGE_MS).toUTCString();
    return `${COOKIE_NAME}=${encodeURIComponent(this.sign(session.id))}; Path=/; Expires=${expires}; HttpOnly; SameSite=Lax`;
  }

  private json(res: http.ServerResponse, status: number, body: unknown, ctx?: Ctx, extra: Record<string, string> = {}): void {
    const payload = Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {
      ...COMMON_HEADERS,
      ...extra,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': payload.length,
      ETag: etag(payload),
    };
    if (ctx) this.addSessionCookie(ctx, headers);
    res.writeHead(status, headers);
    res.end(payload);
  }

  /** Rolling session: any initialised, live session is re-sent on every response. */
  private addSessionCookie(ctx: Ctx, headers: Record<string, string | number>): void {
    const { session } = ctx;
    if (!ctx.sessionAlive || (session.csrfToken === undefined && session.userId === undefined)) return;
    this.sessions.set(session.id, session);
    headers['Set-Cookie'] = this.cookieHeader(session);
  }

  private async readBody(req: http.IncomingMessage): Promise<Record<string, unknown> | 'too-large' | 'invalid'> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 10 * 1024 * 1024) return 'too-large';
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.length === 0) return {};
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('application/json')) {
      try {
        const parsed: unknown = JSON.parse(text);
        return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
      } catch {
        return 'invalid';
      }
    }
    if (type.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
    return {};
  }

  // ---- request pipeline: session → CSRF → route ----

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://meshmonitor.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const body = await this.readBody(req);
    const ctx: Ctx = { req, res, url, method, session: this.loadSession(req), sessionAlive: true, body: {}, ip: req.socket.remoteAddress ?? '' };
    if (body === 'too-large') return this.json(res, 413, { error: 'Payload too large' }, ctx);
    if (body === 'invalid') return this.json(res, 400, { error: 'Invalid JSON' }, ctx);
    ctx.body = body;
    const route = url.pathname.replace(/^\/api/, '');
    if (!url.pathname.startsWith('/api/')) return this.json(res, 404, { error: 'Not found' }, ctx);

    const bearer = (req.headers.authorization ?? '').startsWith('Bearer ');
    const unsafe = ['POST', 'PUT', 'DELETE', 'PATCH'].includes(method);
    const csrfExempt = route === '/csrf-token' || route === '/auth/status' || bearer;
    if (unsafe && !csrfExempt) {
      const failure = this.checkCsrf(ctx);
      if (failure) return this.json(res, 403, failure, ctx);
    }
    // The CSRF middleware writes a token into every session it lets through, so each request gets a cookie.
    ctx.session.csrfToken ??= randomBytes(32).toString('hex');
    return this.route(ctx, route);
  }

  private checkCsrf(ctx: Ctx): { error: string; code: string } | null {
    const stored = ctx.session.csrfToken;
    if (stored === undefined) return { error: 'CSRF token missing. Please refresh the page and try again.', code: 'CSRF_SESSION_MISSING' };
    const header = ctx.req.headers['x-csrf-token'];
    const sent = typeof header === 'string' ? header : typeof ctx.body._csrf === 'string' ? ctx.body._csrf : undefined;
    if (sent === undefined) return { error: 'CSRF token required. Please refresh the page and try again.', code: 'CSRF_TOKEN_REQUIRED' };
    const a = Buffer.from(sent);
    const b = Buffer.from(stored);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { error: 'Invalid CSRF token. Please refresh the page and try again.', code: 'CSRF_TOKEN_INVALID' };
    return null;
  }

  private async route(ctx: Ctx, route: string): Promise<void> {
    const { method, res } = ctx;
    const key = `${method} ${route}`;
    const backupName = /^\/system\/backup\/(download|delete)\/([^/]+)$/.exec(route);
    if (key === 'GET /health') {
      return this.json(res, 200, { status: 'ok', version: MM_VERSION, uptime: Date.now() - this.startedAt, databaseType: 'sqlite' }, ctx);
    }
    if (key === 'GET /csrf-token') return this.json(res, 200, { csrfToken: ctx.session.csrfToken }, ctx);
    if (key === 'POST /auth/login') return this.login(ctx);
    if (key === 'POST /auth/logout') {
      this.sessions.delete(ctx.session.id);
      ctx.sessionAlive = false;
      return this.json(res, 200, { success: true }, ctx);
    }
    if (key === 'GET /auth/status') return this.status(ctx);
    if (key === 'GET /auth/check-default-password') {
      const admin = this.store.rows('users').find((u) => u.username === 'admin');
      return this.json(res, 200, { isDefaultPassword: admin ? await bcryptVerify('changeme', String(admin.password_hash)) : false }, ctx);
    }
    if (route === '/token' && method !== 'POST') return this.tokenRoutes(ctx);
    if (key === 'POST /token/generate') return this.tokenRoutes(ctx);
    if (key === 'POST /system/backup') return this.createBackup(ctx);
    if (key === 'GET /system/backup/list') {
      if (!(await this.authorize(ctx, 'read'))) return;
      return this.json(res, 200, this.store.listBackups(), ctx);
    }
    if (route === '/system/backup/settings' && (method === 'GET' || method === 'POST')) return this.settings(ctx);
    if (backupName && ((backupName[1] === 'download' && method === 'GET') || (backupName[1] === 'delete' && method === 'DELETE'))) {
      if (!(await this.authorize(ctx, backupName[1] === 'download' ? 'read' : 'write'))) return;
      const dirname = decodeURIComponent(backupName[2]!);
      if (!DIRNAME_RE.test(dirname)) return this.json(res, 400, { error: 'Invalid backup directory name format' }, ctx);
      return backupName[1] === 'download' ? this.download(ctx, dirname) : this.deleteBackup(ctx, dirname);
    }
    return this.json(res, 404, { error: 'Not found' }, ctx);
  }

  // ---- auth ----

  /** authLimiter (express-rate-limit): counts every attempt, gives successful ones back. */
  private async login(ctx: Ctx): Promise<void> {
    const limit = this.authLimit;
    const now = Date.now();
    let hits = this.authHits.get(ctx.ip);
    if (!hits || hits.resetAt <= now) {
      hits = { count: 0, resetAt: now + AUTH_WINDOW_MS };
      this.authHits.set(ctx.ip, hits);
    }
    const rateHeaders = (): Record<string, string> => ({
      'RateLimit-Policy': `${limit};w=${AUTH_WINDOW_MS / 1000}`,
      'RateLimit-Limit': String(limit),
      'RateLimit-Remaining': String(Math.max(0, limit - hits!.count)),
      'RateLimit-Reset': String(Math.ceil((hits!.resetAt - now) / 1000)),
    });
    if (limit > 0) {
      hits.count++;
      if (hits.count > limit) {
        const retryAfterSeconds = Math.ceil((hits.resetAt - now) / 1000);
        return this.json(
          ctx.res,
          429,
          { error: 'Too many login attempts, please try again later', code: 'AUTH_RATE_LIMITED', retryAfter: '15 minutes', retryAfterSeconds },
          ctx,
          { ...rateHeaders(), 'Retry-After': String(retryAfterSeconds) },
        );
      }
    }
    const headers = limit > 0 ? rateHeaders() : {};
    const { username, password } = ctx.body;
    if (typeof username !== 'string' || typeof password !== 'string' || !username || !password) {
      return this.json(ctx.res, 400, { error: 'Username and password are required' }, ctx, headers);
    }
    const user = this.store.rows('users').find((u) => u.username === username && u.auth_provider === 'local');
    const ok = user !== undefined && user.is_active === 1 && (await bcryptVerify(password, String(user.password_hash)));
    if (!ok) {
      this.store.audit('login_failed', 'auth', null, { username }, ctx.ip);
      await this.store.save();
      return this.json(ctx.res, 401, { error: 'Invalid username or password' }, ctx, headers);
    }
    if (limit > 0) hits.count--; // skipSuccessfulRequests
    if (user.mfa_enabled === 1) return this.json(ctx.res, 200, { requireMfa: true, userId: user.id }, ctx, headers);
    // session.regenerate(): a new id (new cookie value); the CSRF token is carried over (authRoutes.ts:25-41).
    this.sessions.delete(ctx.session.id);
    ctx.session = { id: randomBytes(24).toString('base64url'), csrfToken: ctx.session.csrfToken, userId: Number(user.id) };
    user.last_login_at = Date.now();
    this.store.audit('login_success', 'auth', Number(user.id), { username, authProvider: 'local' }, ctx.ip);
    await this.store.save();
    return this.json(ctx.res, 200, { success: true, user: publicUser(user) }, ctx, headers);
  }

  private sessionUser(ctx: Ctx): Row | undefined {
    if (ctx.session.userId === undefined) return undefined;
    return this.store.rows('users').find((u) => u.id === ctx.session.userId && u.is_active === 1);
  }

  private async bearerUser(ctx: Ctx): Promise<Row | undefined> {
    const match = /^Bearer (mm_v1_[0-9a-f]{32})$/.exec(ctx.req.headers.authorization ?? '');
    if (!match) return undefined;
    const token = match[1]!;
    for (const row of this.store.rows('api_tokens')) {
      if (row.is_active !== 1 || row.prefix !== token.slice(0, 12)) continue;
      if (await bcryptVerify(token, String(row.token_hash))) {
        row.last_used_at = Date.now();
        return this.store.rows('users').find((u) => u.id === row.user_id && u.is_active === 1);
      }
    }
    return undefined;
  }

  /** requirePermission('configuration', action): session user, else Bearer token, else the anonymous user. */
  private async authorize(ctx: Ctx, action: 'read' | 'write'): Promise<Row | null> {
    const user =
      this.sessionUser(ctx) ?? (await this.bearerUser(ctx)) ?? this.store.rows('users').find((u) => u.username === 'anonymous' && u.is_active === 1);
    if (!user) {
      this.json(ctx.res, 401, { error: 'Authentication required', code: 'UNAUTHORIZED' }, ctx);
      return null;
    }
    if (user.is_admin === 1) return user;
    const column = action === 'read' ? 'can_read' : 'can_write';
    const allowed = this.store.rows('permissions').some((p) => p.user_id === user.id && p.resource === 'configuration' && p[column] === 1);
    if (allowed) return user;
    this.json(ctx.res, 403, { error: 'Insufficient permissions', code: 'FORBIDDEN', required: { resource: 'configuration', action } }, ctx);
    return null;
  }

  private status(ctx: Ctx): void {
    const user = this.sessionUser(ctx);
    const permissions = user
      ? Object.fromEntries(
          this.store.rows('permissions').filter((p) => p.user_id === user.id).map((p) => [p.resource, { read: p.can_read === 1, write: p.can_write === 1 }]),
        )
      : {};
    this.json(ctx.res, 200, {
      authenticated: user !== undefined,
      user: user ? publicUser(user) : null,
      permissions,
      oidcEnabled: false,
      localAuthDisabled: false,
      anonymousDisabled: false,
      customTitle: null,
      customLogoUrl: null,
    }, ctx);
  }

  private async tokenRoutes(ctx: Ctx): Promise<void> {
    const user = this.sessionUser(ctx);
    if (!user) return this.json(ctx.res, 401, { error: 'Authentication required', code: 'UNAUTHORIZED' }, ctx);
    const userId = Number(user.id);
    const active = this.store.rows('api_tokens').find((t) => t.user_id === userId && t.is_active === 1);
    if (ctx.method === 'POST') {
      const token = `mm_v1_${randomBytes(16).toString('hex')}`;
      const row = await this.storeToken(userId, token);
      return this.json(ctx.res, 200, {
        message: 'API token generated successfully. Save this token securely - it will not be shown again.',
        token,
        tokenInfo: { id: row.id, prefix: row.prefix, createdAt: row.created_at, isActive: true },
      }, ctx);
    }
    if (ctx.method === 'GET') {
      return this.json(ctx.res, 200, active ? { id: active.id, prefix: active.prefix, createdAt: active.created_at, lastUsedAt: active.last_used_at, isActive: true } : null, ctx);
    }
    if (ctx.method === 'DELETE') {
      if (active) active.is_active = 0;
      await this.store.save();
      return this.json(ctx.res, 200, { success: true }, ctx);
    }
    return this.json(ctx.res, 404, { error: 'Not found' }, ctx);
  }

  // ---- system backup ----

  private async createBackup(ctx: Ctx): Promise<void> {
    const user = await this.authorize(ctx, 'write');
    if (!user) return;
    try {
      const dirname = await this.store.createBackup('manual');
      this.store.audit('system_backup_created', 'system_backup', Number(user.id), { dirname }, ctx.ip);
      await this.store.save();
      return this.json(ctx.res, 200, { success: true, dirname, message: 'System backup created successfully' }, ctx);
    } catch (error) {
      return this.json(ctx.res, 500, { error: 'Failed to create system backup', details: `Failed to create system backup: ${(error as Error).message}` }, ctx);
    }
  }

  private async download(ctx: Ctx, dirname: string): Promise<void> {
    if (!(await this.store.backupExists(dirname))) return this.json(ctx.res, 404, { error: 'Backup not found' }, ctx);
    const headers: Record<string, string | number> = {
      ...COMMON_HEADERS,
      'Content-Type': 'application/gzip',
      'Content-Disposition': `attachment; filename="${dirname}.tar.gz"`,
    };
    this.addSessionCookie(ctx, headers);
    // backupRoutes.ts:188-257: archiver TarArchive, gzip level 9, streamed (chunked, no Content-Length).
    ctx.res.writeHead(200, headers);
    const archive = new TarArchive({ gzip: true, gzipOptions: { level: 9 } });
    archive.on('error', () => ctx.res.end()); // upstream just ends the response: a truncated 200
    archive.pipe(ctx.res);
    archive.directory(path.join(this.store.backupRoot, dirname), dirname);
    await archive.finalize();
    this.store.audit('system_backup_downloaded', 'system_backup', ctx.session.userId ?? null, { dirname }, ctx.ip);
    await this.store.save();
  }

  private async deleteBackup(ctx: Ctx, dirname: string): Promise<void> {
    try {
      await this.store.deleteBackup(dirname);
      this.store.audit('system_backup_deleted', 'system_backup', ctx.session.userId ?? null, { dirname }, ctx.ip);
      await this.store.save();
      return this.json(ctx.res, 200, { success: true }, ctx);
    } catch (error) {
      return this.json(ctx.res, 500, { error: 'Failed to delete system backup', details: `Failed to delete system backup: ${(error as Error).message}` }, ctx);
    }
  }

  private async settings(ctx: Ctx): Promise<void> {
    if (!(await this.authorize(ctx, ctx.method === 'GET' ? 'read' : 'write'))) return;
    if (ctx.method === 'GET') {
      return this.json(ctx.res, 200, {
        enabled: this.store.setting('system_backup_enabled') === 'true',
        maxBackups: Number(this.store.setting('system_backup_maxBackups') ?? 7),
        backupTime: this.store.setting('system_backup_time') ?? '03:00',
      }, ctx);
    }
    const { enabled, maxBackups, backupTime } = ctx.body;
    if (typeof enabled !== 'boolean') return this.json(ctx.res, 400, { error: 'Invalid enabled value' }, ctx);
    if (typeof maxBackups !== 'number' || !Number.isInteger(maxBackups) || maxBackups < 1 || maxBackups > 365) {
      return this.json(ctx.res, 400, { error: 'Invalid maxBackups value (must be 1-365)' }, ctx);
    }
    if (typeof backupTime !== 'string' || !/^\d{2}:\d{2}$/.test(backupTime)) {
      return this.json(ctx.res, 400, { error: 'Invalid backupTime format (must be HH:MM)' }, ctx);
    }
    this.store.setSetting('system_backup_enabled', String(enabled));
    this.store.setSetting('system_backup_maxBackups', String(maxBackups));
    this.store.setSetting('system_backup_time', backupTime);
    await this.store.save();
    return this.json(ctx.res, 200, { success: true }, ctx);
  }
}

function publicUser(user: Row): Record<string, unknown> {
  return {
    id: user.id, username: user.username, email: user.email, displayName: user.display_name, authProvider: user.auth_provider,
    oidcSubject: user.oidc_subject, isAdmin: user.is_admin === 1, isActive: user.is_active === 1,
    passwordLocked: user.password_locked === 1, mfaEnabled: user.mfa_enabled === 1, createdAt: user.created_at, lastLoginAt: user.last_login_at,
  };
}

/** Starts a fake MeshMonitor on https://127.0.0.1:<port> with a fresh self-signed certificate. */
export async function startMeshMonitor(options: MeshMonitorOptions): Promise<MeshMonitorHandle> {
  const tlsDir = path.join(options.dataDir, 'tls');
  await mkdir(tlsDir, { recursive: true });
  const cert = await makeSelfSignedCert(tlsDir, 'meshmonitor', 'meshmonitor.local');
  const fake = new FakeMeshMonitor(options, cert);
  await fake.start(options.env ?? {}, true);
  return {
    get url() {
      return `https://127.0.0.1:${fake.port}`;
    },
    get port() {
      return fake.port;
    },
    certSha256: cert.sha256,
    cert,
    dataDir: options.dataDir,
    backupDir: path.join(options.dataDir, 'system-backups'),
    logFile: fake.log.file,
    get apiToken() {
      return fake.apiToken;
    },
    issueToken: async () => {
      await fake.issueToken();
      return fake.apiToken!;
    },
    rows: (table) => fake.rows(table),
    restart: async (restartOptions = {}) => {
      await fake.stop();
      await fake.start(restartOptions.env ?? {});
    },
    stop: () => fake.stop(),
  };
}
