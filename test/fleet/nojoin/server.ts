// A fake Nojoin 2.4.0 written from specs/nojoin.md §2 (not shaped to any client): HTTPS on
// 127.0.0.1 with a self-signed certificate (as nginx's default), the Host allow-list, the form
// login with 60-minute HS256 JWTs and the 10-per-10-minutes login limit, superuser-only backup
// routes (400, not 403), the Celery export job (PENDING/PROCESSING/SUCCESS/FAILURE, result and
// file expiry after 24 h) with Range downloads, the single-shot and chunked restore uploads with
// their real error bodies (413, 409, 422, 429), and the restore job over the store (store.ts).
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type http from 'node:http';
import { fileURLToPath } from 'node:url';
import { makeCertDir, makeSelfSignedCert, removeCertDir, startHttpsServer, type TestCert, type TestServer } from '../../harness/tls';
import type { Row } from './models';
import { APP_VERSION, NojoinStore, RestoreRefused, type ExportWarnings, type RestoreMode } from './store';

/** The real sample archive the fake's data is seeded from by default. */
export const SAMPLE_ARCHIVE = fileURLToPath(new URL('../../fixtures/nojoin/nojoin_backup_sample.zip', import.meta.url));

/** An account that can log in. The fake cannot check argon2id, so each has its password here. */
export interface FakeAccount {
  username: string;
  password: string;
  /** Creates the user when no seeded user has this name (default superuser, active). */
  isSuperuser?: boolean;
  isActive?: boolean;
  forcePasswordChange?: boolean;
}

/** Options of `startNojoin`. */
export interface NojoinFakeOptions {
  /** Seed archive restored into the empty database at start (default the sample); null: empty. */
  seedArchive?: string | null;
  /** Default: alice and bob of the sample with their passwords, and `admin` (superuser, "admin-password"). */
  accounts?: FakeAccount[];
  /** The server's clock in ms: JWT expiry, login limit, export expiry (tests move it). */
  now?: () => number;
  tokenLifetimeSeconds?: number;
  /** UPLOAD_LIMIT_BACKUP (default 25 GiB). */
  uploadLimitBytes?: number;
  /** nginx's client_max_body_size (default 500 MiB). */
  maxRequestBytes?: number;
  /** How long an export waits in PENDING and in its last stage (default 60 ms). */
  exportStepMs?: number;
  /** How long each restore progress step lasts (default 20 ms). */
  restoreStepMs?: number;
  /** The hostname of WEB_APP_URL, allowed in Host besides localhost/127.0.0.1/::1/test/testserver. */
  webAppHost?: string;
  /**
   * Every export's file is this archive on disk, streamed from it on download (as Starlette's
   * FileResponse does), instead of one made from the store and held in memory: for benchmarks
   * that pull a GiB-sized export. The export job still runs its stages.
   */
  exportFile?: string;
}

/** Faults a test can arm. */
export interface NojoinFaults {
  /** The next export job ends in FAILURE. */
  failNextExport(): void;
  /** The next download stops (connection cut) after this many bytes of body. */
  cutNextDownloadAfter(bytes: number): void;
  /** The next `times` uploads of chunk `index` fail: 500 "Failed to save…", or the connection dropped. */
  failChunk(index: number, times: number, how: 'error' | 'drop'): void;
  /** The next chunk request answers 200 for `index` but confirms another index. */
  misconfirmChunk(index: number): void;
  /** Deletes every export file on disk (cleanup ran, or the backups folder was emptied) while the job results stay. */
  deleteExportFiles(): void;
  /** Flips one bit in the middle of an export's file (the newest when no task id is given), as a bad disk would. */
  corruptExport(taskId?: string): void;
  /**
   * Another restore (from the web UI, another client) takes the Redis restore lock and holds it
   * until the returned function releases it: meanwhile `complete` and `/import` answer 409.
   */
  holdRestoreLock(): () => void;
  /**
   * Holds every request `match` picks (before its body is read) until `release`: the client waits
   * as on a stalled server. `arrived` resolves at the first one held.
   */
  holdRequests(match: (method: string, path: string) => boolean): { arrived: Promise<void>; release(): void };
}

/** A running fake Nojoin. */
export interface NojoinFakeHandle {
  url: string;
  port: number;
  /** SHA-256 of the certificate as openssl prints it (`AB:CD:…`). */
  certSha256: string;
  cert: TestCert;
  store: NojoinStore;
  faults: NojoinFaults;
  /** Login attempts received (each counts against the limit). */
  loginAttempts(): number;
  /** Every request: method, path (no query) and status. */
  requests: { method: string; path: string; status: number }[];
  /** Every archive a restore job was queued with (the assembled `temp_restores/…_restored.zip`), in order. */
  restoredArchives: Buffer[];
  /** Bumps a user's token_version (password change, "log out everywhere"): their tokens die. */
  invalidateTokens(username: string): void;
  /** How many upload folders and assembled archives the server holds (leftovers). */
  pendingUploads(): number;
  /** Single-shot imports being received right now, over all users (each counts against its user's 2). */
  importsInFlight(): number;
  stop(): Promise<void>;
}

const DEFAULT_ACCOUNTS: FakeAccount[] = [
  { username: 'alice', password: 'alice-password-1' },
  { username: 'bob', password: 'bob-password-1' },
  { username: 'admin', password: 'admin-password', isSuperuser: true },
];
const ALLOWED_HOSTS = ['localhost', '127.0.0.1', '::1', 'test', 'testserver'];
const LOGIN_ATTEMPTS = 10;
const LOGIN_WINDOW_MS = 10 * 60_000;
const DAY_MS = 24 * 3_600_000;
const GENERIC_FAILURE = 'Restore failed. Check server logs for details.';
const RESTORE_LOCKED = 'A restore is already running on this server. Wait for it to finish before starting another.';
const STAGES = ['Starting...', 'Validating backup...', 'Extracting files...', 'Restoring database...'];

interface ExportJob {
  state: 'PENDING' | 'PROCESSING' | 'SUCCESS' | 'FAILURE';
  stage: string | null;
  current: number | null;
  total: number | null;
  finishedAt: number | null;
  zip: Buffer | null;
  /** With `exportFile`: the file served instead of `zip`, and its size. */
  file: { path: string; size: number } | null;
  zipPath: string | null;
  warnings: ExportWarnings | null;
}

interface ImportJob {
  status: 'pending' | 'processing' | 'completed' | 'completed_with_warnings' | 'failed';
  progress: string;
  skipped: Record<string, Record<string, number>> | null;
}

interface Upload {
  createdAt: number;
  parts: Map<number, Buffer>;
}

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  body: Buffer;
  ip: string;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === 'string' ? detail : JSON.stringify(detail));
  }
}

function boolParam(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const value = query.get(name);
  if (value === null) return fallback;
  const lower = value.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  throw new ApiError(422, [{ type: 'bool_parsing', loc: ['query', name], msg: 'Input should be a valid boolean, unable to interpret input', input: value }]);
}

function requiredParam(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (value === null) throw new ApiError(422, [{ type: 'missing', loc: ['query', name], msg: 'Field required', input: null }]);
  return value;
}

function intParam(query: URLSearchParams, name: string): number {
  const value = requiredParam(query, name);
  if (!/^-?\d+$/.test(value)) throw new ApiError(422, [{ type: 'int_parsing', loc: ['query', name], msg: 'Input should be a valid integer, unable to parse string as an integer', input: value }]);
  return Number(value);
}

/** The `file` part of a multipart/form-data body (python-multipart's view of it). */
function multipartFile(ctx: Ctx): { filename: string | null; data: Buffer } {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(ctx.req.headers['content-type'] ?? '');
  const missing = new ApiError(422, [{ type: 'missing', loc: ['body', 'file'], msg: 'Field required', input: null }]);
  if (!boundary) throw missing;
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  for (let at = ctx.body.indexOf(delimiter); at >= 0; ) {
    const next = ctx.body.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    const part = ctx.body.subarray(at + delimiter.length + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    const disposition = /^content-disposition:([^\r\n]*)/im.exec(part.subarray(0, split).toString('utf8'))?.[1] ?? '';
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (name === 'file') return { filename: /;\s*filename="([^"]*)"/i.exec(disposition)?.[1] ?? null, data: part.subarray(split + 4) };
    at = next;
  }
  throw missing;
}

class FakeNojoin {
  readonly store = new NojoinStore();
  readonly requests: { method: string; path: string; status: number }[] = [];
  private server: TestServer | null = null;
  private readonly secret = randomBytes(32);
  private readonly passwords = new Map<string, string>();
  private readonly loginHits = new Map<string, number[]>();
  private readonly exports = new Map<string, ExportJob>();
  /** Requests held by `holdRequests` until released. */
  private readonly holds = new Set<{ match: (method: string, path: string) => boolean; released: Promise<void>; arrive: () => void }>();
  private readonly imports = new Map<string, ImportJob>();
  private readonly uploads = new Map<string, Upload>();
  private restoreRunning = false;
  /** Restore locks taken by restores this fake does not run (holdRestoreLock). */
  private locksElsewhere = 0;
  readonly restoredArchives: Buffer[] = [];
  private readonly importsInFlight = new Map<string, number>();
  private failExport = false;
  private cutDownloadAfter: number | null = null;
  private readonly chunkFaults = new Map<number, { times: number; how: 'error' | 'drop' }>();
  private readonly misconfirm = new Set<number>();
  logins = 0;
  port = 0;

  constructor(
    readonly options: NojoinFakeOptions,
    readonly cert: TestCert,
  ) {}

  now(): number {
    return this.options.now?.() ?? Date.now();
  }

  readonly faults: NojoinFaults = {
    failNextExport: () => {
      this.failExport = true;
    },
    cutNextDownloadAfter: (bytes) => {
      this.cutDownloadAfter = bytes;
    },
    failChunk: (index, times, how) => {
      this.chunkFaults.set(index, { times, how });
    },
    misconfirmChunk: (index) => {
      this.misconfirm.add(index);
    },
    deleteExportFiles: () => {
      for (const job of this.exports.values()) Object.assign(job, { zip: null, file: null });
    },
    corruptExport: (taskId) => {
      const job = taskId === undefined ? [...this.exports.values()].filter((j) => j.zip).at(-1) : this.exports.get(taskId);
      if (!job?.zip) throw new Error(`no export file ${taskId ?? ''} to corrupt`);
      job.zip = Buffer.from(job.zip);
      job.zip[Math.floor(job.zip.length / 3)]! ^= 0x20;
    },
    holdRequests: (match) => {
      let arrived!: () => void;
      let release!: () => void;
      const hold = { match, arrived: new Promise<void>((r) => (arrived = r)), released: new Promise<void>((r) => (release = r)), arrive: () => arrived() };
      this.holds.add(hold);
      return { arrived: hold.arrived, release: () => { this.holds.delete(hold); release(); } };
    },
    holdRestoreLock: () => {
      this.locksElsewhere++;
      let held = true;
      return () => {
        if (held) this.locksElsewhere--;
        held = false;
      };
    },
  };

  /** The Redis key `nojoin:backup:restore-lock` is set. */
  private restoreLocked(): boolean {
    return this.restoreRunning || this.locksElsewhere > 0;
  }

  async start(): Promise<void> {
    const seed = this.options.seedArchive === undefined ? SAMPLE_ARCHIVE : this.options.seedArchive;
    if (seed !== null) await this.store.restore(await readFile(seed), { clearExisting: false, overwriteExisting: false });
    for (const account of this.options.accounts ?? DEFAULT_ACCOUNTS) {
      this.passwords.set(account.username, account.password);
      const existing = this.store.rows('users').find((u) => u.username === account.username);
      const flags: Row = {
        ...(account.isSuperuser !== undefined ? { is_superuser: account.isSuperuser } : {}),
        ...(account.isActive !== undefined ? { is_active: account.isActive } : {}),
        ...(account.forcePasswordChange !== undefined ? { force_password_change: account.forcePasswordChange } : {}),
      };
      if (existing) Object.assign(existing, flags);
      else {
        this.store.insert('users', {
          username: account.username, hashed_password: '$argon2id$v=19$m=65536,t=3,p=4$ZmFrZQ$ZmFrZQ', is_active: true, is_superuser: true,
          force_password_change: false, role: 'owner', token_version: 0, settings: {}, has_seen_demo_recording: true, invitation_id: null, ...flags,
        });
      }
    }
    this.server = await startHttpsServer(this.cert, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.store.log.push(`unhandled: ${String(error)}`);
        if (!res.headersSent) this.send(req, res, 500, { detail: 'Internal Server Error' });
        else res.destroy();
      });
    });
    this.port = this.server.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await server?.close();
  }

  private send(req: http.IncomingMessage, res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const payload = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': payload.length, ...headers });
    res.end(payload);
    this.requests.push({ method: req.method ?? 'GET', path: (req.url ?? '').split('?')[0]!, status });
  }

  /** Reads the body up to nginx's limit; past it nginx answers 413 with its HTML page. */
  private async readBody(req: http.IncomingMessage, res: http.ServerResponse): Promise<Buffer | null> {
    const limit = this.options.maxRequestBytes ?? 500 * 1024 * 1024;
    const declared = Number(req.headers['content-length'] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = () => {
      const html = '<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
      res.writeHead(413, { 'content-type': 'text/html', connection: 'close' });
      res.end(html);
      this.requests.push({ method: req.method ?? 'GET', path: (req.url ?? '').split('?')[0]!, status: 413 });
      return null;
    };
    if (declared > limit) return tooLarge();
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) return tooLarge();
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const hostname = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    if (![...ALLOWED_HOSTS, this.options.webAppHost ?? ''].includes(hostname)) {
      // Starlette's TrustedHostMiddleware: plain text.
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Invalid host header');
      return;
    }
    const url = new URL(req.url ?? '/', 'https://nojoin.invalid');
    const hold = [...this.holds].find((h) => h.match((req.method ?? 'GET').toUpperCase(), url.pathname));
    if (hold) {
      hold.arrive();
      await hold.released;
      if (req.destroyed || res.destroyed) return;
    }
    // Single-shot imports stream to disk while they arrive; at most 2 may do so per user at once.
    const importer = req.method === 'POST' && url.pathname === '/api/v1/backup/import' ? this.bearerSubject(req) : null;
    if (importer !== null && (this.importsInFlight.get(importer) ?? 0) >= 2) {
      req.resume();
      this.send(req, res, 429, { detail: 'Too many concurrent uploads. Please wait for an existing upload to finish.' });
      return;
    }
    if (importer !== null) this.importsInFlight.set(importer, (this.importsInFlight.get(importer) ?? 0) + 1);
    try {
      const body = await this.readBody(req, res);
      if (body === null) return;
      const ctx: Ctx = { req, res, method: (req.method ?? 'GET').toUpperCase(), path: url.pathname, query: url.searchParams, body, ip: req.socket.remoteAddress ?? '' };
      await this.route(ctx);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.send(req, res, error.status, { detail: error.detail }, error.headers);
    } finally {
      if (importer !== null) this.importsInFlight.set(importer, (this.importsInFlight.get(importer) ?? 1) - 1);
    }
  }

  /** The `sub` of a bearer token, unverified (only to count a user's uploads; routes verify). */
  private bearerSubject(req: http.IncomingMessage): string | null {
    const payload = (req.headers.authorization ?? '').split('.')[1];
    if (!payload) return null;
    try {
      return String((JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub ?? '');
    } catch {
      return null;
    }
  }

  private async route(ctx: Ctx): Promise<void> {
    const { method, path } = ctx;
    const key = `${method} ${path}`;
    if (key === 'GET /health' || key === 'GET /api/health') return this.send(ctx.req, ctx.res, 200, { status: 'ok' });
    if (!path.startsWith('/api/v1/')) throw new ApiError(404, 'Not Found');
    const route = path.slice('/api/v1'.length);
    if (`${method} ${route}` === 'POST /login/access-token') return this.login(ctx);
    const user = this.authenticate(ctx);
    if (`${method} ${route}` === 'GET /users/me') return this.send(ctx.req, ctx.res, 200, publicUser(user));
    if (`${method} ${route}` === 'GET /system/fingerprint') return this.send(ctx.req, ctx.res, 200, { fingerprint: this.cert.sha256.replace(/:/g, '').toLowerCase() });
    if (`${method} ${route}` === 'GET /system/health') {
      return this.send(ctx.req, ctx.res, 200, { status: 'ok', version: APP_VERSION, deployment_warnings: [], components: { db: 'connected', worker: 'ok' } });
    }
    if (!route.startsWith('/backup/')) throw new ApiError(404, 'Not Found');
    // get_current_active_superuser: 400, not 403.
    if (user.is_superuser !== true) throw new ApiError(400, "The user doesn't have enough privileges");
    const backup = route.slice('/backup'.length);
    let match: RegExpExecArray | null;
    if (method === 'POST' && backup === '/export') return this.startExport(ctx);
    if (method === 'GET' && (match = /^\/export\/([^/]+)$/.exec(backup))) return this.exportStatus(ctx, match[1]!);
    if (method === 'GET' && (match = /^\/export\/([^/]+)\/download$/.exec(backup))) return this.download(ctx, match[1]!);
    if (method === 'POST' && backup === '/import') return this.importSingle(ctx);
    if (method === 'POST' && backup === '/upload/init') return this.uploadInit(ctx);
    if (method === 'POST' && (match = /^\/upload\/([^/]+)\/chunk$/.exec(backup))) return this.uploadChunk(ctx, match[1]!);
    if (method === 'POST' && (match = /^\/upload\/([^/]+)\/complete$/.exec(backup))) return this.uploadComplete(ctx, match[1]!);
    if (method === 'GET' && (match = /^\/import\/([^/]+)$/.exec(backup))) return this.importStatus(ctx, match[1]!);
    throw new ApiError(404, 'Not Found');
  }

  // ---- authentication ----

  private sign(payload: Record<string, unknown>): string {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(payload)}`;
    return `${unsigned}.${createHmac('sha256', this.secret).update(unsigned).digest('base64url')}`;
  }

  /** `enforce_rate_limit`: 10 attempts, successful or not, per 10 minutes per client address. */
  private login(ctx: Ctx): void {
    const now = this.now();
    const hits = (this.loginHits.get(ctx.ip) ?? []).filter((t) => now - t < LOGIN_WINDOW_MS);
    this.loginHits.set(ctx.ip, hits);
    this.logins++;
    if (hits.length >= LOGIN_ATTEMPTS) {
      const retryAfter = Math.ceil((hits[0]! + LOGIN_WINDOW_MS - now) / 1000);
      throw new ApiError(429, 'Too many login attempts. Please try again later.', { 'retry-after': String(retryAfter) });
    }
    hits.push(now);
    if (!(ctx.req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      throw new ApiError(422, [{ type: 'missing', loc: ['body', 'username'], msg: 'Field required', input: null }]);
    }
    const form = new URLSearchParams(ctx.body.toString('utf8'));
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    const user = this.store.rows('users').find((u) => u.username === username);
    const expected = this.passwords.get(username);
    const matches = expected !== undefined && expected.length === password.length && timingSafeEqual(Buffer.from(expected), Buffer.from(password));
    if (!user || !matches) throw new ApiError(400, 'Incorrect username or password');
    if (user.is_active !== true) throw new ApiError(400, 'Inactive user');
    const lifetime = this.options.tokenLifetimeSeconds ?? 3600;
    const iat = Math.floor(now / 1000);
    const token = this.sign({ sub: String(user.id), exp: iat + lifetime, iat, jti: randomUUID(), tv: user.token_version ?? 0, token_type: 'api', scope: 'api:full' });
    this.send(ctx.req, ctx.res, 200, {
      access_token: token, token_type: 'bearer', expires_in: lifetime,
      force_password_change: user.force_password_change === true, is_superuser: user.is_superuser === true, username: user.username,
    });
  }

  private authenticate(ctx: Ctx): Row {
    const header = ctx.req.headers.authorization ?? '';
    if (!header.startsWith('Bearer ')) throw new ApiError(401, 'Not authenticated', { 'www-authenticate': 'Bearer' });
    const invalid = new ApiError(401, 'Could not validate credentials', { 'www-authenticate': 'Bearer' });
    const [head, payload, signature] = header.slice(7).split('.');
    if (!head || !payload || !signature) throw invalid;
    const expected = createHmac('sha256', this.secret).update(`${head}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: string; exp?: number; tv?: number; token_type?: string };
    if (claims.token_type !== 'api' || typeof claims.exp !== 'number' || claims.exp * 1000 <= this.now()) throw invalid;
    const user = this.store.rows('users').find((u) => String(u.id) === claims.sub);
    if (!user || user.is_active !== true) throw invalid;
    if ((user.token_version ?? 0) !== claims.tv) throw new ApiError(401, 'Session has been invalidated. Please sign in again.', { 'www-authenticate': 'Bearer' });
    if (user.force_password_change === true) throw new ApiError(403, 'Password change required');
    return user;
  }

  invalidateTokens(username: string): void {
    const user = this.store.rows('users').find((u) => u.username === username);
    if (user) user.token_version = Number(user.token_version ?? 0) + 1;
  }

  // ---- export ----

  private startExport(ctx: Ctx): void {
    const includeAudio = boolParam(ctx.query, 'include_audio', true);
    const quality = ctx.query.get('archive_quality') ?? 'compressed';
    if (quality !== 'compressed' && quality !== 'original') throw new ApiError(400, 'archive_quality must be one of compressed, original.');
    const taskId = randomUUID();
    const job: ExportJob = { state: 'PENDING', stage: null, current: null, total: null, finishedAt: null, zip: null, file: null, zipPath: null, warnings: null };
    this.exports.set(taskId, job);
    const fail = this.failExport;
    this.failExport = false;
    const step = this.options.exportStepMs ?? 60;
    setTimeout(() => {
      void this.runExport(job, { includeAudio, archiveQuality: quality }, fail, step);
    }, step);
    this.send(ctx.req, ctx.res, 200, { task_id: taskId });
  }

  private async runExport(job: ExportJob, request: { includeAudio: boolean; archiveQuality: 'compressed' | 'original' }, fail: boolean, step: number): Promise<void> {
    job.state = 'PROCESSING';
    const onStage = (stage: string, current: number | null, total: number | null) => Object.assign(job, { stage, current, total });
    try {
      if (fail) throw new Error('disk full (injected)');
      const exportFile = this.options.exportFile;
      const made = exportFile === undefined
        ? { ...(await this.store.export(request, onStage)), file: null }
        : { zip: null, file: { path: exportFile, size: (await stat(exportFile)).size }, warnings: { recordings_without_audio: 0, recordings_audio_failed: 0, documents_without_files: 0, documents_failed: 0 } };
      await new Promise((resolve) => setTimeout(resolve, step));
      Object.assign(job, { state: 'SUCCESS', ...made, zipPath: `/app/data/backups/tmp${randomBytes(4).toString('hex')}.zip`, finishedAt: this.now() });
    } catch (error) {
      this.store.log.push(`export failed: ${String(error)}`);
      Object.assign(job, { state: 'FAILURE', finishedAt: this.now() });
    }
  }

  /** Celery results expire after a day: the id then reads PENDING again. */
  private liveExport(taskId: string): ExportJob | null {
    const job = this.exports.get(taskId);
    if (!job || (job.finishedAt !== null && this.now() - job.finishedAt > DAY_MS)) return null;
    return job;
  }

  private exportStatus(ctx: Ctx, taskId: string): void {
    const job = this.liveExport(taskId);
    const reply = (body: unknown) => this.send(ctx.req, ctx.res, 200, body);
    if (!job || job.state === 'PENDING') return reply({ state: 'PENDING', status: 'Waiting for a worker...' });
    if (job.state === 'PROCESSING') {
      const status = job.stage === null ? 'Working' : job.current !== null ? `${job.stage} (${job.current} of ${job.total})` : job.stage;
      return reply({ state: 'PROCESSING', status, stage: job.stage, current: job.current, total: job.total, result: null });
    }
    if (job.state === 'FAILURE') return reply({ state: 'FAILURE', status: 'Backup export failed. Check server logs for details.' });
    return reply({ state: 'SUCCESS', status: 'success', stage: null, current: null, total: null, result: { status: 'success', zip_path: job.zipPath, warnings: job.warnings } });
  }

  /** Starlette's FileResponse: whole file or one `bytes=` range; the file is kept after download. */
  private download(ctx: Ctx, taskId: string): void {
    const job = this.liveExport(taskId);
    if (!job || job.state !== 'SUCCESS') throw new ApiError(400, 'Backup not ready or failed');
    // cleanup_backup_artifacts deletes exports older than 24 h.
    if ((!job.zip && !job.file) || this.now() - (job.finishedAt ?? 0) > DAY_MS) throw new ApiError(404, 'Backup file not found (triggered expired?)');
    const size = job.zip?.length ?? job.file!.size;
    const local = new Date(this.now());
    const pad = (n: number) => String(n).padStart(2, '0');
    const name = `nojoin_backup_${local.getFullYear()}${pad(local.getMonth() + 1)}${pad(local.getDate())}_${pad(local.getHours())}${pad(local.getMinutes())}${pad(local.getSeconds())}.zip`;
    const headers: Record<string, string | number> = {
      'content-type': 'application/zip', 'content-disposition': `attachment; filename="${name}"`, 'accept-ranges': 'bytes', etag: `"${taskId}"`,
    };
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = /^bytes=(\d*)-(\d*)$/.exec(String(ctx.req.headers.range ?? ''));
    if (ctx.req.headers.range !== undefined) {
      if (!range || (range[1] === '' && range[2] === '')) throw new ApiError(416, 'Range Not Satisfiable', { 'content-range': `bytes */${size}` });
      start = range[1] === '' ? Math.max(0, size - Number(range[2])) : Number(range[1]);
      end = range[1] !== '' && range[2] !== '' ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start >= size || start > end) {
        ctx.res.writeHead(416, { 'content-range': `bytes */${size}` });
        ctx.res.end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['content-length'] = end + 1 - start;
    ctx.res.writeHead(status, headers);
    this.requests.push({ method: 'GET', path: ctx.path, status });
    if (job.file) {
      createReadStream(job.file.path, { start, end, highWaterMark: 1024 * 1024 }).on('error', () => ctx.res.destroy()).pipe(ctx.res);
      return;
    }
    const slice = job.zip!.subarray(start, end + 1);
    const cut = this.cutDownloadAfter;
    if (cut !== null && cut < slice.length) {
      this.cutDownloadAfter = null;
      // End the TLS connection after the bytes are flushed (a destroy could reset them away):
      // the client gets `cut` bytes of a response that promised more, as a dropped link gives.
      ctx.res.write(slice.subarray(0, cut), () => ctx.req.socket.end());
      return;
    }
    ctx.res.end(slice);
  }

  // ---- restore ----

  private uploadLimit(): number {
    return this.options.uploadLimitBytes ?? 26_843_545_600;
  }

  private startRestore(archive: Buffer, mode: RestoreMode): string {
    const jobId = randomUUID();
    const job: ImportJob = { status: 'pending', progress: 'Queued', skipped: null };
    this.imports.set(jobId, job);
    this.restoreRunning = true;
    this.restoredArchives.push(archive);
    void this.runRestore(job, archive, mode);
    return jobId;
  }

  private async runRestore(job: ImportJob, archive: Buffer, mode: RestoreMode): Promise<void> {
    const step = () => new Promise((resolve) => setTimeout(resolve, this.options.restoreStepMs ?? 20));
    try {
      for (const progress of STAGES) {
        await step();
        Object.assign(job, { status: 'processing', progress });
      }
      const skipped = await this.store.restore(archive, mode);
      for (const progress of [...(mode.clearExisting ? ['Old data cleared'] : []), 'Database restored', 'Cleaning up...']) {
        job.progress = progress;
        await step();
      }
      const warned = Object.keys(skipped).length > 0;
      Object.assign(job, { status: warned ? 'completed_with_warnings' : 'completed', progress: 'Done', skipped });
    } catch (error) {
      this.store.log.push(`restore failed: ${error instanceof RestoreRefused ? error.message : String(error)}`);
      Object.assign(job, { status: 'failed', progress: 'Failed', skipped: null });
    } finally {
      this.restoreRunning = false;
    }
  }

  private restoreMode(ctx: Ctx): RestoreMode {
    return { clearExisting: boolParam(ctx.query, 'clear_existing', false), overwriteExisting: boolParam(ctx.query, 'overwrite_existing', false) };
  }

  private importSingle(ctx: Ctx): void {
    const { filename, data } = multipartFile(ctx);
    if (!filename) throw new ApiError(400, 'No filename supplied.');
    if (filename.includes('..') || filename.includes('/') || filename.includes('\\')) throw new ApiError(400, 'Filename contains illegal path traversal characters.');
    if (data.length > this.uploadLimit()) throw new ApiError(413, `Upload size exceeds the maximum limit of ${this.uploadLimit()} bytes.`);
    const mode = this.restoreMode(ctx);
    if (this.restoreLocked()) throw new ApiError(409, RESTORE_LOCKED);
    this.send(ctx.req, ctx.res, 202, { job_id: this.startRestore(data, mode), message: 'Restore started' });
  }

  private uploadInit(ctx: Ctx): void {
    requiredParam(ctx.query, 'filename');
    const size = intParam(ctx.query, 'file_size');
    intParam(ctx.query, 'total_chunks');
    if (size < 0) throw new ApiError(400, 'Invalid file size.');
    const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
    if (size > this.uploadLimit()) {
      throw new ApiError(413, `Backup archive is too large: ${mb(size)} MB exceeds the ${mb(this.uploadLimit())} MB limit. Raise UPLOAD_LIMIT_BACKUP to restore larger archives.`);
    }
    for (const [id, upload] of this.uploads) if (this.now() - upload.createdAt > DAY_MS) this.uploads.delete(id);
    const uploadId = randomUUID();
    this.uploads.set(uploadId, { createdAt: this.now(), parts: new Map() });
    this.send(ctx.req, ctx.res, 200, { upload_id: uploadId });
  }

  private uploadChunk(ctx: Ctx, uploadId: string): void {
    const upload = this.uploads.get(uploadId);
    const index = intParam(ctx.query, 'chunk_index');
    if (!upload || index < 0) throw new ApiError(400, 'Invalid upload_id or chunk_index.');
    const { data } = multipartFile(ctx);
    const fault = this.chunkFaults.get(index);
    if (fault && fault.times > 0) {
      fault.times--;
      if (fault.how === 'drop') {
        ctx.req.socket.destroy();
        return;
      }
      throw new ApiError(500, 'Failed to save the uploaded chunk.');
    }
    const others = [...upload.parts].filter(([i]) => i !== index).reduce((sum, [, part]) => sum + part.length, 0);
    if (others + data.length > this.uploadLimit()) {
      this.uploads.delete(uploadId);
      throw new ApiError(413, `Backup archive exceeds the ${Math.round(this.uploadLimit() / (1024 * 1024))} MB upload limit.`);
    }
    upload.parts.set(index, data);
    const confirmed = this.misconfirm.delete(index) ? index + 1 : index;
    this.send(ctx.req, ctx.res, 200, { status: 'ok', chunk_index: confirmed });
  }

  /** Joins the parts by numeric index — without checking total_chunks or gaps, as Nojoin does. */
  private uploadComplete(ctx: Ctx, uploadId: string): void {
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.parts.size === 0) throw new ApiError(400, 'Invalid or empty upload.');
    const mode = this.restoreMode(ctx);
    const archive = Buffer.concat([...upload.parts].sort(([a], [b]) => a - b).map(([, part]) => part));
    this.uploads.delete(uploadId);
    // The assembled archive is deleted when the lock is taken.
    if (this.restoreLocked()) throw new ApiError(409, RESTORE_LOCKED);
    this.send(ctx.req, ctx.res, 202, { job_id: this.startRestore(archive, mode), message: 'Restore started' });
  }

  private importStatus(ctx: Ctx, jobId: string): void {
    const job = this.imports.get(jobId);
    if (!job || job.status === 'pending') return this.send(ctx.req, ctx.res, 200, { status: 'pending', progress: 'Queued', error: null, warnings: null });
    const done = job.status === 'completed' || job.status === 'completed_with_warnings';
    this.send(ctx.req, ctx.res, 200, {
      status: job.status,
      progress: job.progress,
      error: job.status === 'failed' ? GENERIC_FAILURE : null,
      warnings: done ? { skipped: job.skipped ?? {} } : null,
    });
  }

  pendingUploads(): number {
    return this.uploads.size;
  }

  importsReceiving(): number {
    return [...this.importsInFlight.values()].reduce((sum, n) => sum + n, 0);
  }
}

function publicUser(user: Row): Row {
  const { id, username, is_active, is_superuser, force_password_change, role, created_at, updated_at } = user;
  return { id, username, is_active, is_superuser, force_password_change, role, created_at, updated_at };
}

/** Starts a fake Nojoin on https://127.0.0.1:<free port> with a fresh self-signed certificate. */
export async function startNojoin(options: NojoinFakeOptions = {}): Promise<NojoinFakeHandle> {
  const certDir = await makeCertDir();
  const cert = await makeSelfSignedCert(certDir, 'nojoin', 'localhost');
  const fake = new FakeNojoin(options, cert);
  try {
    await fake.start();
  } catch (error) {
    await removeCertDir(certDir);
    throw error;
  }
  return {
    url: `https://127.0.0.1:${fake.port}`,
    port: fake.port,
    certSha256: cert.sha256,
    cert,
    store: fake.store,
    faults: fake.faults,
    loginAttempts: () => fake.logins,
    requests: fake.requests,
    restoredArchives: fake.restoredArchives,
    invalidateTokens: (username) => fake.invalidateTokens(username),
    pendingUploads: () => fake.pendingUploads(),
    importsInFlight: () => fake.importsReceiving(),
    stop: async () => {
      await fake.stop();
      await removeCertDir(certDir);
    },
  };
}
