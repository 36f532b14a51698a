// MeshMonitor's HTTP API as Lifeboat uses it: Bearer token or cookie + CSRF login (once per job,
// never retried), the system-backup endpoints, and live row counts. Facts: specs/meshmonitor.md §3, §4.
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';
import type { DownloadResult, HttpsClient } from '../../transport/https';
import type { AdapterContext } from '../adapter';
import { MESHMONITOR_DIRNAME_PATTERN, verifyMeshMonitorBackup } from './backup-format';

const listEntrySchema = z.object({
  dirname: z.string().regex(MESHMONITOR_DIRNAME_PATTERN),
  timestamp: z.string(),
  timestampUnix: z.number(),
  type: z.string(),
  size: z.number().nullable(),
  tableCount: z.number().nullable(),
  meshmonitorVersion: z.string().nullable(),
  schemaVersion: z.number().nullable(),
});

/** One row of `GET /api/system/backup/list` (a bare array, newest first, from the history table). */
export type MeshMonitorListEntry = z.infer<typeof listEntrySchema>;

/** What the public `GET /api/health` says. */
export interface MeshMonitorHealth {
  version: string | null;
  databaseType: string | null;
}

// One login per HTTPS client, i.e. per job: the promise (even a failed one) is reused, so a wrong
// password costs exactly one attempt of MeshMonitor's 5-per-15-minutes budget.
const logins = new WeakMap<HttpsClient, Promise<void>>();

/** The installation's HTTPS client, logged in when it uses a password (Bearer tokens need nothing more). */
export async function meshMonitorApi(ctx: AdapterContext): Promise<HttpsClient> {
  const client = await ctx.https();
  let login = logins.get(client);
  if (login === undefined) {
    login = logIn(ctx, client);
    logins.set(client, login);
  }
  await login;
  return client;
}

async function logIn(ctx: AdapterContext, client: HttpsClient): Promise<void> {
  const connection = ctx.installation.https;
  if (connection?.auth !== 'password') return;
  const username = connection.username;
  if (!username) {
    throw new LifeboatError('INVALID_INPUT', `"${ctx.installation.name}" logs in with a password but has no user name; edit the installation.`);
  }
  const password = await ctx.secret('https-password');
  if (!password) {
    throw new LifeboatError('SECRET_REQUIRED', `No password is stored for ${username} on "${ctx.installation.name}"; edit the installation to enter it.`, {
      details: { purpose: 'https-password' },
    });
  }
  // GET /api/csrf-token starts the session; login regenerates it but keeps the token valid (§3.1).
  await client.enableCsrf({ source: { endpoint: '/api/csrf-token' } }, { signal: ctx.signal });
  let body: { success?: unknown; requireMfa?: unknown };
  try {
    const response = await client.request('POST', '/api/auth/login', { json: { username, password }, signal: ctx.signal, retry: false });
    body = response.json();
  } catch (error) {
    if (error instanceof LifeboatError && error.code === 'HTTP_AUTH_FAILED') {
      throw new LifeboatError(
        'HTTP_AUTH_FAILED',
        `MeshMonitor refused the login of "${username}" (${String(error.details?.serverMessage ?? error.message)}). Lifeboat does not try again by itself: ` +
          'MeshMonitor allows only 5 failed logins per 15 minutes. Check the password, or use an API token.',
        { details: { ...error.details, username }, cause: error },
      );
    }
    if (error instanceof LifeboatError && error.code === 'HTTP_RATE_LIMITED') {
      const seconds = error.details?.retryAfterSeconds;
      throw new LifeboatError(
        'HTTP_RATE_LIMITED',
        `MeshMonitor has blocked logins from this address after too many failures` +
          (typeof seconds === 'number' ? `; try again in ${Math.ceil(seconds / 60)} min (${seconds} s).` : '; try again in 15 minutes.'),
        { details: { ...error.details, username }, cause: error },
      );
    }
    throw error;
  }
  if (body.requireMfa === true) {
    throw new LifeboatError('HTTP_AUTH_FAILED', `"${username}" has two-factor login on MeshMonitor; Lifeboat cannot answer it. Use an API token (mm_v1_…) instead.`, {
      details: { username, requireMfa: true },
    });
  }
  if (body.success !== true) {
    throw new LifeboatError('HTTP_AUTH_FAILED', `MeshMonitor's login of "${username}" did not report success.`, { details: { username } });
  }
}

/** Adds what a 403 from MeshMonitor usually means: a missing permission or a token that no longer exists. */
function explainRefusal(error: unknown, permission: 'read' | 'write'): unknown {
  if (!(error instanceof LifeboatError) || error.code !== 'HTTP_AUTH_FAILED') return error;
  return new LifeboatError(
    'HTTP_AUTH_FAILED',
    `${error.message} — this needs the configuration:${permission} permission. An unknown or revoked API token silently acts as ` +
      'the anonymous user, and a restore of the users table deletes every API token.',
    { details: error.details, cause: error },
  );
}

async function guarded<T>(permission: 'read' | 'write', call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explainRefusal(error, permission);
  }
}

function checkDirname(dirname: string): string {
  if (!MESHMONITOR_DIRNAME_PATTERN.test(dirname)) {
    throw new LifeboatError('INVALID_INPUT', `A MeshMonitor backup name looks like 2026-11-23_131719, not "${dirname.slice(0, 80)}".`);
  }
  return dirname;
}

/** The public health endpoint: proves the server answers and gives its version. */
export async function fetchHealth(client: HttpsClient, signal: AbortSignal): Promise<MeshMonitorHealth> {
  const body = await client.json<Record<string, unknown>>('GET', '/api/health', { signal });
  return {
    version: typeof body.version === 'string' ? body.version : null,
    databaseType: typeof body.databaseType === 'string' ? body.databaseType : null,
  };
}

/** `GET /api/system/backup/list`, newest first. */
export async function listBackups(client: HttpsClient, signal: AbortSignal): Promise<MeshMonitorListEntry[]> {
  const body = await guarded('read', () => client.json<unknown>('GET', '/api/system/backup/list', { signal }));
  const parsed = z.array(listEntrySchema).safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LifeboatError('HTTP_STATUS', `MeshMonitor's backup list is not the expected array: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return [...parsed.data].sort((a, b) => b.timestampUnix - a.timestampUnix);
}

/** `POST /api/system/backup` (synchronous); returns the new directory name. */
export async function createBackup(client: HttpsClient, signal: AbortSignal): Promise<string> {
  // Not retried: a repeated POST would make a second backup.
  const body = await guarded('write', () => client.json<Record<string, unknown>>('POST', '/api/system/backup', { signal, retry: false }));
  if (typeof body.dirname !== 'string' || !MESHMONITOR_DIRNAME_PATTERN.test(body.dirname)) {
    throw new LifeboatError('HTTP_STATUS', 'MeshMonitor said it made a backup but named no directory.', { details: { keys: Object.keys(body) } });
  }
  return body.dirname;
}

/** `GET /api/system/backup/download/<dirname>`: a chunked tar.gz without Content-Length or Range support. */
export async function downloadBackup(
  client: HttpsClient,
  dirname: string,
  options: { signal: AbortSignal; onProgress?: (p: { phase: string; bytes: number; total: number | null }) => void },
): Promise<DownloadResult> {
  const name = checkDirname(dirname);
  return guarded('read', () => client.download(`/api/system/backup/download/${name}`, options));
}

/** `DELETE /api/system/backup/delete/<dirname>`. */
export async function deleteBackup(client: HttpsClient, dirname: string, signal: AbortSignal): Promise<void> {
  const name = checkDirname(dirname);
  await guarded('write', () => client.request('DELETE', `/api/system/backup/delete/${name}`, { signal, retry: false }));
}

/** `GET /api/system/backup/settings`: the app's own schedule. */
export async function backupSettings(client: HttpsClient, signal: AbortSignal): Promise<{ enabled: boolean; maxBackups: number; backupTime: string }> {
  const body = await guarded('read', () => client.json<Record<string, unknown>>('GET', '/api/system/backup/settings', { signal }));
  return {
    enabled: body.enabled === true,
    maxBackups: typeof body.maxBackups === 'number' ? body.maxBackups : 7,
    backupTime: typeof body.backupTime === 'string' ? body.backupTime : '03:00',
  };
}

/** Live row counts of the 20 backed-up tables, or why they could not be read. */
export type LiveCounts = { counts: Map<string, number>; detail: string } | { counts: null; detail: string };

/**
 * Live row counts through the API. MeshMonitor has no count endpoint, so this makes a throwaway system
 * backup, counts its arrays while streaming it, and deletes it again. It is skipped when that backup
 * could make MeshMonitor prune the operator's oldest backup (list already at maxBackups).
 */
export async function probeLiveCounts(ctx: AdapterContext): Promise<LiveCounts> {
  if (!ctx.installation.https) return { counts: null, detail: 'no HTTPS connection, so live rows cannot be counted' };
  const client = await meshMonitorApi(ctx);
  const [list, settings] = await Promise.all([listBackups(client, ctx.signal), backupSettings(client, ctx.signal)]);
  if (list.length + 1 > settings.maxBackups) {
    return {
      counts: null,
      detail: `live rows not counted: MeshMonitor holds ${list.length} backups (max ${settings.maxBackups}), and the throwaway backup used to count could make it delete the oldest`,
    };
  }
  const dirname = await createBackup(client, ctx.signal);
  try {
    const download = await downloadBackup(client, dirname, { signal: ctx.signal });
    const summary = await verifyMeshMonitorBackup(download.stream, { signal: ctx.signal, allowNewerSchema: true });
    return {
      counts: new Map(summary.tables.map((t) => [t.table, t.rows])),
      detail: `counted in a throwaway backup ${dirname} made at ${summary.createdAt} (deleted again)`,
    };
  } finally {
    await deleteBackup(client, dirname, ctx.signal);
  }
}
