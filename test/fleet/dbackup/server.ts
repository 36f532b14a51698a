// A fake DBackup (v3.2.0) HTTP API, written from specs/dbackup.md §8 and §3: API keys
// (`dbackup_<40 hex>`, stored as SHA-256, each with an explicit permission list, enable flag and
// expiry), per-address rate limits (auth 5/min, GET 100/min, other 20/min → 429 + Retry-After),
// storage destinations that are folders on disk, listed as sidecar-enriched rows, raw downloads
// (an encrypted file with a sidecar arrives as a ZIP of file + .meta.json; decrypt=true decrypts
// whole files only), jobs that run and executions to poll, and a restore that decrypts, checks the
// tag, decompresses and hands each dump to the target source (the fleet's real pg_restore).
import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { makeCertDir, makeSelfSignedCert, removeCertDir, startHttpsServer, type TestServer } from '../../harness/tls';
import { writeRawZip } from '../nojoin/zip-tools';

/** Every permission the fake checks. */
export const ALL_PERMISSIONS = ['jobs:read', 'jobs:execute', 'history:read', 'destinations:read', 'sources:view', 'storage:read', 'storage:download', 'storage:restore'] as const;

/** A storage destination: a folder that is the adapter's root. */
export interface FakeStorage {
  id: string;
  name: string;
  rootDir: string;
}

/** A database source a restore can go into. */
export interface FakeSource {
  id: string;
  name: string;
  adapterId: string;
  /** Restores one database from its dump (e.g. pg_restore); throws on failure. */
  restore(database: string, dump: Buffer): Promise<void>;
}

/** A job "Run now" runs: makes a backup on a storage, returns its path there. */
export interface FakeJob {
  id: string;
  name: string;
  run(): Promise<string>;
}

/** Options of {@link startFakeDbackup}. */
export interface FakeDbackupOptions {
  storages: FakeStorage[];
  sources?: FakeSource[];
  jobs?: FakeJob[];
  /** Encryption profiles the fake holds keys for (for restores and decrypt=true). */
  profiles?: Record<string, string>;
  /** Per-window limits and the window; DBackup's (per minute) by default. `retryAfterSeconds` fixes the Retry-After. */
  limits?: { auth: number; get: number; other: number; windowMs?: number; retryAfterSeconds?: number };
  /** How the download's ZIP holds the encrypted file: DEFLATE (8, the default) or stored (0, the benchmark: ciphertext does not shrink). */
  zipMethod?: 0 | 8;
}

/** One request as the fake saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  status: number;
  key: string | null;
}

/** A running fake. */
export interface FakeDbackup {
  url: string;
  certSha256: string;
  /** Issues an API key with these permissions; returns the secret (shown once, as in DBackup). */
  issueKey(name: string, permissions: readonly string[], options?: { enabled?: boolean; expiresAt?: Date }): string;
  requests: SeenRequest[];
  /** The next restore ends with this status instead of running. */
  failNextRestore(status: 'Partial' | 'Failed'): void;
  /** Restores that ran: file, source, database. */
  restores: { file: string; sourceId: string; databases: string[] }[];
  /** Files analyzed (POST /storage/{id}/analyze), in order. */
  analyses: { file: string; type: string | null }[];
  stop(): Promise<void>;
}

type Status = 'Pending' | 'Running' | 'Success' | 'Failed' | 'Partial' | 'Cancelled';
interface ExecutionRow {
  id: string;
  type: 'Backup' | 'Restore';
  status: Status;
  progress: number;
  stage: string;
  path: string | null;
  size: number | null;
  error: string | null;
  logs: string[];
}

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as unknown) : {};
}

/** Files under a storage root the way DBackup's listing sees them: no sidecars, no .dbackup/. */
async function backupFiles(root: string, relative = ''): Promise<string[]> {
  const entries = await readdir(path.join(root, relative), { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const entry of entries) {
    const child = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (child !== '.dbackup') out.push(...(await backupFiles(root, child)));
    } else if (entry.isFile() && !entry.name.endsWith('.meta.json') && !entry.name.endsWith('.index')) out.push(child);
  }
  return out;
}

async function sidecarOf(root: string, file: string): Promise<Record<string, unknown> | null> {
  const text = await readFile(path.join(root, `${file}.meta.json`), 'utf8').catch(() => null);
  try {
    return text ? (JSON.parse(text) as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A row of `GET /storage/{id}/files` (storage-service.ts, backup-file-fields.ts). */
async function fileRow(root: string, file: string): Promise<Record<string, unknown>> {
  const info = await stat(path.join(root, file));
  const meta = await sidecarOf(root, file);
  const encryption = meta?.encryption as { enabled?: boolean; profileId?: string } | string | undefined;
  const databases = meta?.databases as { count?: number; names?: string[] } | undefined;
  return {
    name: path.posix.basename(file),
    path: file,
    size: info.size,
    lastModified: info.mtime.toISOString(),
    jobName: (meta?.jobName as string | undefined) ?? null,
    sourceType: (meta?.sourceType as string | undefined) ?? null,
    dbInfo: databases ? { count: databases.count ?? 0, label: (databases.names ?? []).join(', ') } : null,
    isEncrypted: file.endsWith('.enc') || (typeof encryption === 'object' && encryption.enabled === true),
    encryptionProfileId: typeof encryption === 'object' ? (encryption.profileId ?? null) : ((meta?.encryptionProfileId as string | undefined) ?? null),
    compression: (meta?.compression as string | undefined) ?? null,
    locked: (meta?.locked as boolean | undefined) ?? false,
    checksum: (meta?.checksum as string | undefined) ?? null,
    checksumMd5: (meta?.checksumMd5 as string | undefined) ?? null,
    hasFileIndex: await stat(path.join(root, `${file}.index`)).then(() => true, () => false),
    backupType: (meta?.backupType as string | undefined) ?? 'full',
  };
}

/** Whole-file decryption as DBackup's restore does it: IV and tag from the sidecar, the key directly. */
function decryptWhole(stored: Buffer, meta: Record<string, unknown>, profiles: Record<string, string>): Buffer {
  const encryption = meta.encryption as { profileId: string; iv: string; authTag: string } | undefined;
  if (!encryption) return stored;
  const key = profiles[encryption.profileId];
  if (!key) throw Object.assign(new Error(`no key for profile ${encryption.profileId}`), { code: 'ENCRYPTION_KEY_REQUIRED', profileId: encryption.profileId });
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(key, 'hex'), Buffer.from(encryption.iv, 'hex'));
  decipher.setAuthTag(Buffer.from(encryption.authTag, 'hex'));
  return Buffer.concat([decipher.update(stored), decipher.final()]);
}

/** The dumps of a decompressed payload: a v1 TAR's members by database, or one dump. */
async function dumpsOf(payload: Buffer, meta: Record<string, unknown>): Promise<{ database: string; dump: Buffer }[]> {
  if (!meta.multiDb) return [{ database: ((meta.databases as { names?: string[] } | undefined)?.names ?? ['postgres'])[0]!, dump: payload }];
  const members = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      members.set(entry.header.name, Buffer.concat(chunks));
    }
  })();
  extract.end(payload);
  await done;
  const manifest = JSON.parse(members.get('manifest.json')?.toString('utf8') ?? '{}') as { databases?: { name: string; filename: string }[] };
  return (manifest.databases ?? []).map((d) => {
    const dump = members.get(d.filename);
    if (!dump) throw new Error(`the TAR has no ${d.filename}`);
    return { database: d.name, dump };
  });
}

/**
 * The databases DBackup's analyze lists in a decompressed payload (its postgres adapter's
 * analyzeDump): a multi-DB TAR's manifest names, else the `CREATE DATABASE` / `\connect` lines
 * of a plain SQL dump; nothing for a single custom-format dump, whose name only the sidecar knows.
 */
async function analyzeDump(payload: Buffer, meta: Record<string, unknown>): Promise<string[]> {
  if (payload.length >= 262 && payload.subarray(257, 262).toString('latin1') === 'ustar') return (await dumpsOf(payload, { ...meta, multiDb: true })).map((d) => d.database);
  const names = new Set<string>();
  for (const line of payload.toString('latin1').split('\n')) {
    const match = /^CREATE DATABASE "?([^"\s;]+)"?/.exec(line) ?? /^\\connect "?([^"\s;]+)"?/.exec(line);
    if (match) names.add(match[1]!);
  }
  return [...names];
}

/** Starts the fake on https://127.0.0.1:<port> with a fresh self-signed certificate. */
export async function startFakeDbackup(options: FakeDbackupOptions): Promise<FakeDbackup> {
  const limits = { windowMs: 60_000, ...(options.limits ?? { auth: 5, get: 100, other: 20 }) };
  const keys = new Map<string, { name: string; permissions: Set<string>; enabled: boolean; expiresAt: Date | null }>();
  const hits = new Map<string, number[]>();
  const executions = new Map<string, ExecutionRow>();
  const requests: SeenRequest[] = [];
  const restores: FakeDbackup['restores'] = [];
  const analyses: FakeDbackup['analyses'] = [];
  const profiles = options.profiles ?? {};
  let nextRestoreFailure: 'Partial' | 'Failed' | null = null;

  const execution = (type: ExecutionRow['type'], work: (row: ExecutionRow) => Promise<void>): ExecutionRow => {
    const row: ExecutionRow = { id: `exec_${randomBytes(6).toString('hex')}`, type, status: 'Pending', progress: 0, stage: 'Queued', path: null, size: null, error: null, logs: [] };
    executions.set(row.id, row);
    setTimeout(() => {
      row.status = 'Running';
      row.stage = type === 'Backup' ? 'Dumping' : 'Restoring';
      work(row).then(
        () => {
          if (row.status === 'Running') Object.assign(row, { status: 'Success', progress: 100, stage: 'Completed' });
        },
        (error: unknown) => Object.assign(row, { status: 'Failed', stage: 'Failed', error: error instanceof Error ? error.message : String(error) }),
      );
    }, 50);
    return row;
  };

  const storage = (id: string): FakeStorage | undefined => options.storages.find((s) => s.id === id);
  const safePath = (file: string): boolean => !file.startsWith('/') && !file.split('/').includes('..');

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse, seen: SeenRequest): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://dbackup.local');
    const method = req.method ?? 'GET';
    // Rate limits come first, per client address (x-forwarded-for, else the socket).
    const ip = String(req.headers['x-forwarded-for'] ?? req.socket.remoteAddress ?? '');
    const category = url.pathname.startsWith('/api/auth') ? 'auth' : method === 'GET' ? 'get' : 'other';
    const bucket = `${ip}|${category}`;
    const now = Date.now();
    const recent = (hits.get(bucket) ?? []).filter((t) => t > now - limits.windowMs);
    if (recent.length >= limits[category]) {
      hits.set(bucket, recent);
      // Retry-After: until the oldest request of the window leaves it (or the override).
      const seconds = limits.retryAfterSeconds ?? Math.max(1, Math.ceil(((recent[0] ?? now) + limits.windowMs - now) / 1000));
      return json(res, 429, { success: false, error: 'Too many requests' }, { 'retry-after': String(seconds) });
    }
    hits.set(bucket, [...recent, now]);
    if (url.pathname === '/api/health') return json(res, 200, { status: 'ok', version: '3.2.0' });

    const header = String(req.headers.authorization ?? '');
    const token = /^Bearer (dbackup_[0-9a-f]{40})$/.exec(header)?.[1];
    const key = token ? keys.get(createHash('sha256').update(token).digest('hex')) : undefined;
    if (!key || !key.enabled || (key.expiresAt && key.expiresAt.getTime() < now)) return json(res, 401, { success: false, error: 'Unauthorized' });
    seen.key = key.name;
    const need = (permission: string): boolean => {
      if (key.permissions.has(permission)) return true;
      json(res, 403, { success: false, error: `Forbidden: missing permission ${permission}` });
      return false;
    };

    let match: RegExpExecArray | null;
    if (method === 'GET' && url.pathname === '/api/adapters') {
      const type = url.searchParams.get('type');
      if (type === 'storage') return need('destinations:read') ? json(res, 200, options.storages.map((s) => ({ id: s.id, name: s.name, type: 'storage', adapterId: 'sftp', config: {}, secretStatus: {} }))) : undefined;
      if (type === 'database') return need('sources:view') ? json(res, 200, (options.sources ?? []).map((s) => ({ id: s.id, name: s.name, type: 'database', adapterId: s.adapterId, config: {}, secretStatus: {} }))) : undefined;
      return json(res, 400, { success: false, error: 'type is required' });
    }
    if (method === 'GET' && url.pathname === '/api/jobs') return need('jobs:read') ? json(res, 200, (options.jobs ?? []).map((j) => ({ id: j.id, name: j.name }))) : undefined;
    if (method === 'POST' && (match = /^\/api\/jobs\/([^/]+)\/run$/.exec(url.pathname))) {
      if (!need('jobs:execute')) return;
      const job = (options.jobs ?? []).find((j) => j.id === decodeURIComponent(match![1]!));
      if (!job) return json(res, 404, { success: false, error: 'Job not found' });
      await readBody(req);
      const row = execution('Backup', async (r) => {
        r.path = await job.run();
      });
      return json(res, 200, { success: true, executionId: row.id, message: 'Job started' });
    }
    if (method === 'GET' && (match = /^\/api\/executions\/([^/]+)$/.exec(url.pathname))) {
      if (!need('history:read')) return;
      const row = executions.get(decodeURIComponent(match[1]!));
      if (!row) return json(res, 404, { success: false, error: 'Execution not found' });
      const { logs: _logs, ...rest } = row;
      return json(res, 200, { success: true, data: url.searchParams.get('includeLogs') === 'true' ? row : rest });
    }
    if ((match = /^\/api\/storage\/([^/]+)\/(files|download|restore|analyze)$/.exec(url.pathname))) {
      const store = storage(decodeURIComponent(match[1]!));
      if (!store) return json(res, 404, { success: false, error: 'Storage not found' });
      const action = match[2];
      if (method === 'GET' && action === 'files') {
        if (!need('storage:read')) return;
        const rows = await Promise.all((await backupFiles(store.rootDir)).map((f) => fileRow(store.rootDir, f)));
        return json(res, 200, { success: true, files: rows.sort((a, b) => String(b.lastModified).localeCompare(String(a.lastModified))) });
      }
      if (method === 'GET' && action === 'download') {
        if (!need('storage:download')) return;
        const file = url.searchParams.get('file') ?? '';
        if (!safePath(file)) return json(res, 400, { success: false, error: 'Invalid path' });
        const bytes = await readFile(path.join(store.rootDir, file)).catch(() => null);
        if (!bytes) return json(res, 404, { success: false, error: 'File not found' });
        const meta = file.endsWith('.meta.json') ? null : await sidecarOf(store.rootDir, file);
        if (url.searchParams.get('decrypt') === 'true') {
          if (meta?.archive) return json(res, 400, { success: false, error: 'v2 archives cannot be decrypted as a whole' });
          try {
            return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(meta ? decryptWhole(bytes, meta, profiles) : bytes);
          } catch (error) {
            return json(res, 422, { success: false, code: 'ENCRYPTION_KEY_REQUIRED', profileId: (error as { profileId?: string }).profileId ?? null, error: (error as Error).message });
          }
        }
        if (file.endsWith('.enc') && meta) {
          const base = path.posix.basename(file);
          const zip = writeRawZip([{ name: base, data: bytes, method: options.zipMethod ?? 8 }, { name: `${base}.meta.json`, data: JSON.stringify(meta, null, 2) }]);
          return void res.writeHead(200, { 'content-type': 'application/zip', 'content-disposition': `attachment; filename="${base}.zip"`, 'content-length': String(zip.length) }).end(zip);
        }
        return void res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) }).end(bytes);
      }
      if (method === 'POST' && action === 'analyze') {
        // route.ts: 400 without a file, the download's failure as 500, then the adapter's analyzeDump.
        if (!need('storage:restore')) return;
        const body = (await readBody(req)) as { file?: string; type?: string };
        if (!body.file) return json(res, 400, { error: 'Missing file' });
        if (!safePath(body.file)) return json(res, 400, { error: 'Invalid path' });
        const stored = await readFile(path.join(store.rootDir, body.file)).catch(() => null);
        if (!stored) return json(res, 500, { error: 'Download failed' });
        const meta = (await sidecarOf(store.rootDir, body.file)) ?? {};
        analyses.push({ file: body.file, type: body.type ?? null });
        try {
          const compressed = decryptWhole(stored, meta, profiles);
          const payload = meta.compression === 'GZIP' ? gunzipSync(compressed) : meta.compression === 'BROTLI' ? brotliDecompressSync(compressed) : compressed;
          return json(res, 200, { databases: await analyzeDump(payload, meta) });
        } catch (error) {
          if ((error as { code?: string }).code === 'ENCRYPTION_KEY_REQUIRED') return json(res, 422, { success: false, code: 'ENCRYPTION_KEY_REQUIRED', profileId: (error as { profileId?: string }).profileId ?? null, error: (error as Error).message });
          return json(res, 500, { error: (error as Error).message });
        }
      }
      if (method === 'POST' && action === 'restore') {
        if (!need('storage:restore')) return;
        const body = (await readBody(req)) as { file?: string; targetSourceId?: string; targetDatabaseName?: string; databaseMapping?: { originalName: string; targetName?: string; selected: boolean }[] };
        const source = (options.sources ?? []).find((s) => s.id === body.targetSourceId);
        if (!body.file || !safePath(body.file)) return json(res, 400, { success: false, error: 'file is required' });
        if (!source) return json(res, 400, { success: false, error: 'Target source not found' });
        const stored = await readFile(path.join(store.rootDir, body.file)).catch(() => null);
        const meta = await sidecarOf(store.rootDir, body.file);
        if (!stored) return json(res, 404, { success: false, error: 'File not found' });
        if (!meta && body.file.endsWith('.enc')) return json(res, 400, { success: false, error: 'Metadata file missing: cannot decrypt' });
        const failure = nextRestoreFailure;
        nextRestoreFailure = null;
        const row = execution('Restore', async (r) => {
          if (failure === 'Partial') {
            r.logs.push('analytics: restored', 'loomio_production: pg_restore exited 1');
            Object.assign(r, { status: 'Partial', stage: 'Completed with errors', error: 'Some databases failed to restore' });
            return;
          }
          if (failure === 'Failed') throw new Error('pg_restore: connection refused');
          const compressed = decryptWhole(stored, meta ?? {}, profiles);
          const payload = meta?.compression === 'GZIP' ? gunzipSync(compressed) : meta?.compression === 'BROTLI' ? brotliDecompressSync(compressed) : compressed;
          const dumps = await dumpsOf(payload, meta ?? {});
          // As DBackup's postgres adapter: with a databaseMapping, databases not selected are skipped and each goes to its targetName.
          const mapping = body.databaseMapping;
          const targets: { database: string; target: string; dump: Buffer }[] = [];
          for (const { database, dump } of dumps) {
            const entry = mapping?.find((m) => m.originalName === database);
            if (mapping && dumps.length > 1 && !entry?.selected) {
              r.logs.push(`Skipping database: ${database} (not selected)`);
              continue;
            }
            const single = mapping && dumps.length === 1 ? mapping.filter((m) => m.selected) : null;
            if (single && single.length !== 1) throw new Error(single.length === 0 ? 'No databases selected for restore.' : 'Single-database backup cannot be restored to multiple databases.');
            const target = single ? single[0]!.targetName || single[0]!.originalName : entry ? entry.targetName || entry.originalName : body.targetDatabaseName && dumps.length === 1 ? body.targetDatabaseName : database;
            targets.push({ database, target, dump });
          }
          for (const { target, dump } of targets) await source.restore(target, dump);
          restores.push({ file: body.file!, sourceId: source.id, databases: targets.map((d) => d.target) });
        });
        return json(res, 202, { success: true, executionId: row.id });
      }
    }
    return json(res, 404, { success: false, error: 'Not found' });
  };

  const certDir = await makeCertDir();
  const cert = await makeSelfSignedCert(certDir, 'dbackup', 'dbackup.local');
  const server: TestServer = await startHttpsServer(cert, (req, res) => {
    const seen: SeenRequest = { method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'https://x').pathname, status: 0, key: null };
    requests.push(seen);
    res.once('finish', () => (seen.status = res.statusCode));
    handler(req, res, seen).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { success: false, error: (error as Error).message });
      else res.destroy();
    });
  });
  return {
    url: server.url,
    certSha256: cert.sha256,
    issueKey(name, permissions, keyOptions = {}) {
      const secret = `dbackup_${randomBytes(20).toString('hex')}`;
      keys.set(createHash('sha256').update(secret).digest('hex'), { name, permissions: new Set(permissions), enabled: keyOptions.enabled ?? true, expiresAt: keyOptions.expiresAt ?? null });
      return secret;
    },
    requests,
    restores,
    analyses,
    failNextRestore(status) {
      nextRestoreFailure = status;
    },
    async stop() {
      await server.close();
      await removeCertDir(certDir);
    },
  };
}
