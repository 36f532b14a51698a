// The fake MeshMonitor's RESTORE_FROM_BACKUP restart against restore-log-excerpts.txt and curl-transcript-post-restore.txt.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyMeshMonitorBackup, writeSelectiveBackupDirectory } from '../../src/main/apps/meshmonitor/backup-format';
import { createHttpsClient, type HttpsClient } from '../../src/main/transport/https';
import { LifeboatError } from '../../src/shared/errors';
import { SAMPLE_ARCHIVE, startMeshMonitor, type MeshMonitorHandle } from '../fleet/meshmonitor/server';
import { addUnknownNodeColumn } from '../fleet/meshmonitor/edits';

const run = promisify(execFile);
const SAMPLE_DIRNAME = '2026-11-23_131719';
const EXCERPTS = path.resolve('test/fixtures/meshmonitor/restore-log-excerpts.txt');

/** The log lines of one run in restore-log-excerpts.txt, without line numbers and without the marker-file warnings. */
async function excerpt(run: string): Promise<string[]> {
  const text = await readFile(EXCERPTS, 'utf8');
  const section = text.split(/^=== /m).find((s) => s.startsWith(run));
  if (!section) throw new Error(`no section ${run} in the excerpts`);
  return section
    .split('\n')
    .slice(1)
    .map((line) => line.replace(/^\d+:/, ''))
    // Upstream could not write /data/.restore-completed; the fake's data dir is writable.
    .filter((line) => line.startsWith('[') && !/restore marker file|Re-restore protection/.test(line))
    .map(normalise);
}

const normalise = (line: string): string => line.replace(/ in \d+\.\d\ds$/, ' in <t>s');

/** Checks that `expected` occur in `actual` in the same order (other lines may sit between them). */
function expectInOrder(actual: string[], expected: string[]): void {
  let at = 0;
  for (const line of expected) {
    const found = actual.indexOf(line, at);
    expect(found, `missing or out of order: ${line}\nlog:\n${actual.join('\n')}`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

let tmp: string;
let mm: MeshMonitorHandle;
const clients: HttpsClient[] = [];
const PASSWORD = 'restore-test-password';

async function logSince(offset: number): Promise<string[]> {
  return (await readFile(mm.logFile, 'utf8')).split('\n').slice(offset).filter(Boolean).map(normalise);
}
async function logLength(): Promise<number> {
  return (await readFile(mm.logFile, 'utf8')).split('\n').filter(Boolean).length;
}

function client(server: MeshMonitorHandle, bearerToken?: string): HttpsClient {
  const c = createHttpsClient({ baseUrl: server.url, auth: bearerToken ? 'bearer' : 'password', pinnedCertSha256: server.certSha256 }, { bearerToken, retry: { maxRetries: 0 } });
  clients.push(c);
  return c;
}

async function login(server: MeshMonitorHandle, password: string): Promise<HttpsClient> {
  const web = client(server);
  await web.enableCsrf({ source: { endpoint: '/api/csrf-token' } });
  await web.json('POST', '/api/auth/login', { json: { username: 'admin', password } });
  return web;
}

/** A copy of the sample backup under a new name in the server's backup dir, optionally edited. */
async function stageCopy(dirname: string, edit?: (dir: string) => Promise<void>): Promise<string> {
  const dir = path.join(mm.backupDir, dirname);
  await run('mkdir', ['-p', dir]);
  await run('tar', ['-xzf', SAMPLE_ARCHIVE, '-C', dir, '--strip-components=1']);
  await edit?.(dir);
  return dir;
}

function snapshotCounts(): Record<string, number> {
  const tables = ['sources', 'nodes', 'settings', 'users', 'permissions', 'api_tokens', 'system_backup_history'];
  return Object.fromEntries(tables.map((t) => [t, mm.rows(t).length]));
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-mm-restore-'));
  mm = await startMeshMonitor({ dataDir: path.join(tmp, 'server'), adminPassword: PASSWORD, apiToken: true, production: true });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await mm?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('refused restores leave the data alone and log what upstream logs', () => {
  it('checksum mismatch (settings.json with one added space)', async () => {
    await stageCopy('2026-01-01_000000', async (dir) => {
      const file = path.join(dir, 'settings.json');
      await writeFile(file, (await readFile(file, 'utf8')).replace('"key"', '"key" '));
    });
    const before = snapshotCounts();
    const offset = await logLength();
    await mm.restart({ env: { RESTORE_FROM_BACKUP: '2026-01-01_000000' } });
    expectInOrder(await logSince(offset), await excerpt('server-restore-2026-01-01_000000.log'));
    expect(snapshotCounts()).toEqual(before);
  });

  it('future schema version (metadata.json says 22; not caught as tampering)', async () => {
    await stageCopy('2026-01-02_000000', async (dir) => {
      const file = path.join(dir, 'metadata.json');
      await writeFile(file, (await readFile(file, 'utf8')).replace('"schemaVersion": 21', '"schemaVersion": 22'));
    });
    const offset = await logLength();
    await mm.restart({ env: { RESTORE_FROM_BACKUP: '2026-01-02_000000' } });
    expectInOrder(await logSince(offset), await excerpt('server-restore-2026-01-02_000000.log'));
  });

  it('a name that does not exist fails before the database is ready', async () => {
    const offset = await logLength();
    await mm.restart({ env: { RESTORE_FROM_BACKUP: '2099-09-09_090909' } });
    const log = await logSince(offset);
    expectInOrder(log, await excerpt('server-restore-2099-09-09_090909.log'));
    expect(log.some((l) => l.startsWith('[ERROR] ❌ Backup directory not found: ') && l.endsWith(path.join('system-backups', '2099-09-09_090909')))).toBe(true);
  });

  it('an unknown column (checksum fixed) rolls the whole transaction back', async () => {
    await stageCopy('2026-01-03_000000', addUnknownNodeColumn);
    // Lifeboat's verifier agrees the edited backup is intact: this is a schema problem, not tampering.
    await expect(verifyMeshMonitorBackup(path.join(mm.backupDir, '2026-01-03_000000'))).resolves.toBeDefined();
    const before = snapshotCounts();
    const settingsBefore = JSON.stringify(mm.rows('settings'));
    const offset = await logLength();
    await mm.restart({ env: { RESTORE_FROM_BACKUP: '2026-01-03_000000' } });
    expectInOrder(await logSince(offset), await excerpt('server-restore-bogus.log'));
    expect(snapshotCounts()).toEqual(before);
    expect(JSON.stringify(mm.rows('settings'))).toBe(settingsBefore);
  });
});

describe('successful restores', () => {
  it('restores the real backup on the same instance: same log lines, history and settings reverted, API token wiped', async () => {
    const web = await login(mm, PASSWORD);
    await web.json('POST', '/api/system/backup/settings', { json: { enabled: false, maxBackups: 10, backupTime: '04:15' } });
    const made = await web.json<{ dirname: string }>('POST', '/api/system/backup');
    expect(await client(mm, mm.apiToken).json('GET', '/api/system/backup/list')).not.toEqual([]);
    await stageCopy(SAMPLE_DIRNAME);

    const offset = await logLength();
    await mm.restart({ env: { RESTORE_FROM_BACKUP: SAMPLE_DIRNAME } });
    expectInOrder(await logSince(offset), await excerpt('server2-restore.log'));
    expect(await logSince(offset)).toContain('[INFO] ✅ System restore completed: 20 tables, 225 rows in <t>s');

    // curl-transcript-post-restore.txt: the sample's users (admin/changeme) log in; list [] ; settings back to defaults.
    const after = await login(mm, 'changeme');
    expect(await after.json('GET', '/api/system/backup/list')).toEqual([]);
    expect(await after.json('GET', '/api/system/backup/settings')).toEqual({ enabled: false, maxBackups: 7, backupTime: '03:00' });
    const stillThere = await after.download(`/api/system/backup/download/${made.dirname}`);
    expect((await verifyMeshMonitorBackup(stillThere.stream)).dirname).toBe(made.dirname);
    // DELETE FROM users cascaded to api_tokens: the stored token is dead (anonymous → 403).
    expect(mm.rows('api_tokens')).toHaveLength(0);
    const dead = await client(mm, mm.apiToken).json('GET', '/api/system/backup/list').catch((e: unknown) => e);
    expect(dead).toBeInstanceOf(LifeboatError);
    expect((dead as LifeboatError).details).toMatchObject({ status: 403, serverCode: 'FORBIDDEN' });
  });

  it('the same restore again is skipped by the marker file', async () => {
    const offset = await logLength();
    await mm.restart({ env: { RESTORE_FROM_BACKUP: SAMPLE_DIRNAME } });
    const log = await logSince(offset);
    expect(log).toContain('[WARN] ⚠️  RESTORE ALREADY COMPLETED');
    expect(log).toContain('[WARN] ⚠️  Skipping restore to prevent data loss.');
    expect(log.some((l) => l.includes('System restore completed:'))).toBe(false);
  });

  it('accepts a selective backup built by Lifeboat: only the chosen tables are replaced', async () => {
    const web = await login(mm, 'changeme');
    await web.json('POST', '/api/system/backup/settings', { json: { enabled: true, maxBackups: 20, backupTime: '05:30' } });
    const source = path.join(mm.backupDir, SAMPLE_DIRNAME);
    const { metadata } = await writeSelectiveBackupDirectory(source, ['nodes', 'settings'], mm.backupDir, { dirname: '2026-01-04_000000' });
    expect(metadata.tables).toEqual(['nodes', 'settings']);
    const auditBefore = mm.rows('audit_log').length;
    const offset = await logLength();
    await mm.restart({ env: { RESTORE_FROM_BACKUP: '2026-01-04_000000' } });
    const log = await logSince(offset);
    expect(log).toContain('[INFO] ✅ System restore completed: 2 tables, 192 rows in <t>s');
    expect(log).toContain('[INFO] 📊 Restored 2 tables with 192 rows');
    const after = await login(mm, 'changeme');
    expect(await after.json('GET', '/api/system/backup/settings')).toEqual({ enabled: false, maxBackups: 7, backupTime: '03:00' });
    // audit_log was not in the selective backup: kept, plus the restore's own entries.
    expect(mm.rows('audit_log').length).toBeGreaterThan(auditBefore);
  });

  it('restores a downloaded tar.gz extracted into an empty data dir: no default admin, the backup\'s users', async () => {
    const fresh = path.join(tmp, 'fresh');
    await run('mkdir', ['-p', path.join(fresh, 'system-backups')]);
    await run('tar', ['-xzf', SAMPLE_ARCHIVE, '-C', path.join(fresh, 'system-backups')]);
    const other = await startMeshMonitor({ dataDir: fresh, adminPassword: 'unused-default', production: true, seedArchive: null, env: { RESTORE_FROM_BACKUP: SAMPLE_DIRNAME } });
    try {
      const log = (await readFile(other.logFile, 'utf8')).split('\n').filter(Boolean).map(normalise);
      expectInOrder(log, await excerpt('server-fresh-restore.log'));
      expect(log.some((l) => l.includes('FIRST RUN'))).toBe(false);
      const web = await login(other, 'changeme');
      expect(await web.json('GET', '/api/system/backup/list')).toEqual([]);
      expect(other.rows('users').map((u) => u.username)).toEqual(['anonymous', 'admin']);
    } finally {
      await other.stop();
    }
  });

  it('a fresh data dir without a restore gets the first-run admin with the given password', async () => {
    const other = await startMeshMonitor({ dataDir: path.join(tmp, 'empty'), adminPassword: 'first-run-pw', production: true, seedArchive: null });
    try {
      expect(await readFile(other.logFile, 'utf8')).toContain('🔐 FIRST RUN: Admin user created');
      const web = await login(other, 'first-run-pw');
      expect(await web.json('GET', '/api/system/backup/list')).toEqual([]);
      expect(await web.json('GET', '/api/auth/check-default-password')).toEqual({ isDefaultPassword: false });
    } finally {
      await other.stop();
    }
  });
});
