// The fake MeshMonitor's HTTP API against the spec and curl-transcript.txt, driven by Lifeboat's HTTPS client.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyMeshMonitorBackup } from '../../src/main/apps/meshmonitor/backup-format';
import { createHttpsClient, type HttpsClient } from '../../src/main/transport/https';
import { LifeboatError } from '../../src/shared/errors';
import { startMeshMonitor, type MeshMonitorHandle } from '../fleet/meshmonitor/server';

const PASSWORD = 'correct horse battery';
let dataDir: string;
let mm: MeshMonitorHandle;
const clients: HttpsClient[] = [];

function client(options: { bearerToken?: string } = {}): HttpsClient {
  const c = createHttpsClient({ baseUrl: mm.url, auth: options.bearerToken ? 'bearer' : 'password', pinnedCertSha256: mm.certSha256 }, { ...options, retry: { maxRetries: 0 } });
  clients.push(c);
  return c;
}

async function failure(promise: Promise<unknown>): Promise<LifeboatError> {
  const error = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LifeboatError);
  return error as LifeboatError;
}

interface ListEntry {
  dirname: string;
  timestamp: string;
  timestampUnix: number;
  type: string;
  size: number;
  tableCount: number;
  meshmonitorVersion: string;
  schemaVersion: number;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-mm-api-'));
  mm = await startMeshMonitor({ dataDir, adminPassword: PASSWORD, apiToken: true, production: true });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await mm?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('detection and TLS', () => {
  it('answers /api/health publicly with version and database type', async () => {
    const health = await client().json<Record<string, unknown>>('GET', '/api/health');
    expect(health).toMatchObject({ status: 'ok', version: '4.15.1', databaseType: 'sqlite' });
  });

  it('is self-signed: without the pin the client refuses it and reports its fingerprint', async () => {
    const unpinned = createHttpsClient({ baseUrl: mm.url, auth: 'none' });
    clients.push(unpinned);
    const error = await failure(unpinned.json('GET', '/api/health'));
    expect(error.code).toBe('TLS_UNTRUSTED');
    expect(error.details?.actual).toBe(mm.certSha256);
  });
});

describe('Bearer token (no cookie, no CSRF)', () => {
  it('lists, creates, downloads a verifiable tar.gz, and deletes', async () => {
    const api = client({ bearerToken: mm.apiToken });
    expect(await api.json('GET', '/api/system/backup/list')).toEqual([]);

    const created = await api.json<{ success: boolean; dirname: string; message: string }>('POST', '/api/system/backup');
    expect(created).toMatchObject({ success: true, message: 'System backup created successfully' });
    expect(created.dirname).toMatch(/^\d{4}-\d{2}-\d{2}_\d{6}$/);

    const list = await api.json<ListEntry[]>('GET', '/api/system/backup/list');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ dirname: created.dirname, type: 'manual', tableCount: 20, meshmonitorVersion: '4.15.1', schemaVersion: 21 });

    const download = await api.download(`/api/system/backup/download/${created.dirname}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/gzip');
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="${created.dirname}.tar.gz"`);
    expect(download.headers.get('content-length')).toBeNull();
    expect(download.headers.get('transfer-encoding')).toBe('chunked');
    const summary = await verifyMeshMonitorBackup(download.stream);
    expect(summary.dirname).toBe(created.dirname);
    expect(summary.tables).toHaveLength(20);
    expect(summary.size).toBe(list[0]!.size);
    expect(summary.createdAt).toBe(list[0]!.timestamp);
    // The backup's own history table predates its row (§1.4); seeded data: 2 users, 191 settings.
    expect(summary.tables.find((t) => t.table === 'system_backup_history')?.rows).toBe(0);
    expect(summary.tables.find((t) => t.table === 'settings')?.rows).toBe(191);

    expect(await api.json('DELETE', `/api/system/backup/delete/${created.dirname}`)).toEqual({ success: true });
    const again = await failure(api.json('DELETE', `/api/system/backup/delete/${created.dirname}`));
    expect(again.code).toBe('HTTP_STATUS');
    expect(again.details).toMatchObject({ status: 500 });
    expect(again.details?.serverMessage).toBe('Failed to delete system backup: Failed to delete system backup: Backup not found');
  });

  it('rejects bad names with 400 and absent ones with 404', async () => {
    const api = client({ bearerToken: mm.apiToken });
    const bad = await failure(api.download('/api/system/backup/download/not-a-backup'));
    expect(bad.details).toMatchObject({ status: 400, serverMessage: 'Invalid backup directory name format' });
    const absent = await failure(api.download('/api/system/backup/download/1999-01-01_000000'));
    expect(absent.details).toMatchObject({ status: 404, serverMessage: 'Backup not found' });
    const traversal = await failure(api.json('DELETE', '/api/system/backup/delete/..%2F..%2Fetc'));
    expect(traversal.details).toMatchObject({ status: 400 });
  });

  it('a bogus token falls back to anonymous: 403 FORBIDDEN, not 401', async () => {
    const error = await failure(client({ bearerToken: 'mm_v1_00000000000000000000000000000000' }).json('GET', '/api/system/backup/list'));
    expect(error.code).toBe('HTTP_AUTH_FAILED');
    expect(error.details).toMatchObject({ status: 403, serverCode: 'FORBIDDEN' });
  });
});

describe('cookie session + CSRF', () => {
  it('anonymous is refused, login without CSRF is 403, with CSRF it logs in and rotates the cookie', async () => {
    const web = client();
    await web.json('GET', '/api/csrf-token');
    const anonymous = await failure(web.json('GET', '/api/system/backup/list'));
    expect(anonymous.details).toMatchObject({ status: 403, serverCode: 'FORBIDDEN' });
    const noCsrf = await failure(web.json('POST', '/api/auth/login', { json: { username: 'admin', password: PASSWORD } }));
    expect(noCsrf.details).toMatchObject({ status: 403, serverCode: 'CSRF_TOKEN_REQUIRED' });

    await web.enableCsrf({ source: { endpoint: '/api/csrf-token' } });
    const before = await web.cookies.getCookieString(mm.url);
    const login = await web.json<{ success: boolean; user: { username: string; isAdmin: boolean } }>('POST', '/api/auth/login', {
      json: { username: 'admin', password: PASSWORD },
    });
    expect(login).toMatchObject({ success: true, user: { username: 'admin', isAdmin: true } });
    const after = await web.cookies.getCookieString(mm.url);
    expect(after).toMatch(/^meshmonitor\.sid=s%3A/);
    expect(after).not.toBe(before);

    const created = await web.json<{ dirname: string }>('POST', '/api/system/backup');
    const list = await web.json<ListEntry[]>('GET', '/api/system/backup/list');
    expect(list.map((e) => e.dirname)).toContain(created.dirname);

    const settings = { enabled: false, maxBackups: 10, backupTime: '04:15' };
    expect(await web.json('GET', '/api/system/backup/settings')).toEqual({ enabled: false, maxBackups: 7, backupTime: '03:00' });
    const invalid = await failure(web.json('POST', '/api/system/backup/settings', { json: { ...settings, backupTime: '3:00' } }));
    expect(invalid.details?.serverMessage).toBe('Invalid backupTime format (must be HH:MM)');
    expect(await web.json('POST', '/api/system/backup/settings', { json: settings })).toEqual({ success: true });
    expect(await web.json('GET', '/api/system/backup/settings')).toEqual(settings);

    expect(await web.json('POST', '/api/auth/logout')).toEqual({ success: true });
    expect((await failure(web.json('GET', '/api/system/backup/list'))).details).toMatchObject({ status: 403 });
  });

  it('a POST with no session at all is CSRF_SESSION_MISSING', async () => {
    const error = await failure(client().json('POST', '/api/system/backup'));
    expect(error.details).toMatchObject({ status: 403, serverCode: 'CSRF_SESSION_MISSING' });
  });
});

describe('login rate limit (production: 5 per 15 minutes)', () => {
  it('five failures are 401, the sixth attempt is 429 with Retry-After, even with the right password', async () => {
    const web = client();
    await web.enableCsrf({ source: { endpoint: '/api/csrf-token' } });
    for (let i = 0; i < 5; i++) {
      const error = await failure(web.json('POST', '/api/auth/login', { json: { username: 'admin', password: `wrong-${i}` } }));
      expect(error.code).toBe('HTTP_AUTH_FAILED');
      expect(error.details?.serverMessage).toBe('Invalid username or password');
    }
    const limited = await failure(web.json('POST', '/api/auth/login', { json: { username: 'admin', password: 'wrong-6' } }));
    expect(limited.code).toBe('HTTP_RATE_LIMITED');
    expect(limited.details).toMatchObject({ status: 429, serverCode: 'AUTH_RATE_LIMITED' });
    expect(Number(limited.details?.retryAfterSeconds)).toBeGreaterThan(800);
    expect(limited.details?.serverMessage).toBe('Too many login attempts, please try again later');
    const right = await failure(web.json('POST', '/api/auth/login', { json: { username: 'admin', password: PASSWORD } }));
    expect(right.code).toBe('HTTP_RATE_LIMITED');
    // Token auth does not go through the login limiter.
    expect(await client({ bearerToken: mm.apiToken }).json('GET', '/api/system/backup/list')).toBeInstanceOf(Array);
  });
});
