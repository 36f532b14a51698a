// Restoring a MeshMonitor system backup: plan (preflight, per-table changes), push (upload over SFTP,
// restart with RESTORE_FROM_BACKUP, read the log until the server says how it went) and verify.
// MeshMonitor has no HTTP restore (specs/meshmonitor.md §5), so all of this needs SSH.
import type { IntegrityCheck, PlannedChange, PreflightCheck, PreviewReport, RestoreMode, RestorePlan } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { SshSession } from '../../transport/ssh/session';
import { createHttpsClient } from '../../transport/https';
import type { AdapterContext, ArchiveAccess, RestoreContext, RestorePlanDraft } from '../adapter';
import { fetchHealth, meshMonitorApi, probeLiveCounts, type LiveCounts } from './api';
import { MESHMONITOR_SCHEMA_VERSION, parseMeshMonitorMetadata } from './backup-format';
import { backupRootOf, uploadBackup } from './remote-dir';
import { findRestoreOutcome, lastRestoreSuccess } from './restore-log';
import { fillCommandTemplate as fillTemplate } from '../../transport/ssh/command-template';
import { meshMonitorSettings, type MeshMonitorSettings } from './settings';
import { restoreEffects } from './tables';
import { tablesLeftOut } from './live-tables';

const LOG_POLL_MS = 1000;
const LOG_TAIL_BYTES = 4 * 1024 * 1024;
// `--since` slack: the server's clock may be behind ours; the log parser keys on the dirname anyway.
const LOG_SINCE_SLACK_MS = 10 * 60 * 1000;

/** Tables a restore of this plan replaces: all of the archive's, or the selection. */
export function restoredTables(preview: PreviewReport, mode: RestoreMode, selection: readonly string[]): string[] {
  return mode === 'full' ? [...preview.selectable] : preview.selectable.filter((t) => selection.includes(t));
}

function archiveRows(preview: PreviewReport): Map<string, number> {
  const rows = new Map<string, number>();
  for (const row of preview.contents.rows) {
    if (typeof row.table === 'string' && typeof row.rows === 'number') rows.set(row.table, row.rows);
  }
  return rows;
}

function archiveSchema(preview: PreviewReport): number | null {
  const text = preview.sidecars.find((s) => s.name === 'metadata.json')?.text;
  if (text === undefined) return null;
  return parseMeshMonitorMetadata(text).schemaVersion;
}

/**
 * The newest schemaVersion the target restores. Upstream hard-codes 21 on both sides (4.15.1,
 * §5.3) and has no other version mapping, so every version reads as 21 until one is known to differ.
 */
export function targetSchemaFor(version: string | null): { schema: number; detail: string } {
  const schema = MESHMONITOR_SCHEMA_VERSION;
  return version === null
    ? { schema, detail: `target version unknown; assuming schema ${schema} (MeshMonitor 4.15.1)` }
    : { schema, detail: `MeshMonitor ${version} restores schema ≤ ${schema}` };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function sshCheck(ctx: AdapterContext, settings: MeshMonitorSettings): Promise<{ checks: PreflightCheck[]; ssh: SshSession | null }> {
  if (!ctx.installation.ssh) {
    return {
      ssh: null,
      checks: [{ id: 'ssh-connection', kind: 'target', name: 'SSH connection', ok: false, blocking: true, detail: 'MeshMonitor restores only from its data directory at startup; add an SSH connection to the host.' }],
    };
  }
  let ssh: SshSession;
  try {
    ssh = await ctx.ssh();
  } catch (error) {
    if (error instanceof LifeboatError && error.code === 'CANCELLED') throw error;
    return { ssh: null, checks: [{ id: 'ssh-connection', kind: 'target', name: 'SSH connection', ok: false, blocking: true, detail: message(error) }] };
  }
  const checks: PreflightCheck[] = [{ id: 'ssh-connection', kind: 'target', name: 'SSH connection', ok: true, blocking: true, detail: `connected to ${ssh.info.target.user}@${ssh.info.target.host}` }];
  const root = backupRootOf(settings.dataDir);
  const [data, backups] = [await ssh.statOrNull(settings.dataDir), await ssh.statOrNull(root)];
  if (!data?.isDirectory) {
    checks.push({ id: 'data-directory', kind: 'target', name: 'Data directory', ok: false, blocking: true, detail: `${settings.dataDir} does not exist on the server; set dataDir to MeshMonitor's data volume on the host.` });
  } else {
    checks.push({ id: 'data-directory', kind: 'target', name: 'Data directory', ok: true, blocking: true, detail: backups?.isDirectory ? `${root} exists` : `${root} will be created` });
  }
  return { ssh, checks };
}

/** The dry run: what must hold, what changes per table, and where cancelling stops being possible. */
export async function planMeshMonitorRestore(
  ctx: AdapterContext,
  input: { archive: ArchiveAccess; preview: PreviewReport; mode: RestoreMode; selection: string[] },
): Promise<RestorePlanDraft> {
  const settings = meshMonitorSettings(ctx.installation);
  const { preview, mode, selection } = input;
  const tables = restoredTables(preview, mode, selection);
  const preflight: PreflightCheck[] = [];
  const { checks, ssh } = await sshCheck(ctx, settings);
  preflight.push(...checks);

  const integrity = preview.integrity.checks.filter((c) => c.name !== 'Schema version');
  const bad = integrity.filter((c) => !c.ok);
  preflight.push({
    id: 'archive-integrity', kind: 'integrity', name: 'Archive integrity',
    ok: bad.length === 0,
    blocking: true,
    detail: bad.length === 0 ? 'every table file matches its checksum' : bad.map((c) => `${c.name}: ${c.detail}`).join('; '),
  });
  if (mode === 'selective') {
    const unknown = selection.filter((t) => !preview.selectable.includes(t));
    preflight.push({
      id: 'selection', kind: 'selection', name: 'Selection',
      ok: tables.length > 0 && unknown.length === 0,
      blocking: true,
      detail: unknown.length > 0 ? `the archive has no table ${unknown.join(', ')}` : tables.length === 0 ? 'choose at least one table' : tables.join(', '),
    });
  }

  let version: string | null = null;
  let reachable = false;
  if (ctx.installation.https) {
    try {
      version = (await fetchHealth(await ctx.https(), ctx.signal)).version;
      reachable = true;
      preflight.push({ id: 'meshmonitor-answers', kind: 'target', name: 'MeshMonitor answers', ok: true, blocking: false, detail: `/api/health: version ${version ?? 'unknown'}` });
    } catch (error) {
      if (error instanceof LifeboatError && error.code === 'CANCELLED') throw error;
      preflight.push({ id: 'meshmonitor-answers', kind: 'target', name: 'MeshMonitor answers', ok: false, blocking: false, detail: `/api/health failed: ${message(error)}` });
    }
  } else {
    preflight.push({ id: 'meshmonitor-answers', kind: 'target', name: 'MeshMonitor answers', ok: true, blocking: false, detail: 'no HTTPS connection: the restore is watched through the server log only' });
  }
  const schema = archiveSchema(preview);
  const target = targetSchemaFor(version);
  preflight.push({
    id: 'schema-version', kind: 'compatibility', name: 'Schema version',
    ok: schema !== null && schema <= target.schema,
    blocking: true,
    detail:
      schema === null
        ? 'the archive has no readable metadata.json'
        : schema <= target.schema
          ? `archive ${schema}; ${target.detail}`
          : `archive ${schema} is newer than the target's ${target.schema}: MeshMonitor refuses to restore from a future version (${target.detail})`,
  });
  if (tables.includes('users') && ctx.installation.https?.auth === 'bearer') {
    preflight.push({
      id: 'api-token', kind: 'target', name: 'API token',
      ok: false,
      blocking: false,
      detail: 'restoring users deletes every API token, including the one Lifeboat uses; make a new token afterwards and store it in the installation',
    });
  }

  let live: LiveCounts;
  // A blocked plan touches nothing: the count would make (and delete) a backup on the server.
  if (preflight.some((c) => c.blocking && !c.ok)) live = { counts: null, detail: 'live rows not counted: the plan is blocked, and counting makes a throwaway backup on the server' };
  else if (settings.liveCounts === 'off') live = { counts: null, detail: 'live rows not counted (the setting liveCounts is off)' };
  else if (!ctx.installation.https) live = { counts: null, detail: 'live rows not counted: MeshMonitor tells them only through its API (no HTTPS connection)' };
  else if (!reachable) live = { counts: null, detail: 'live rows not counted: the API is not reachable' };
  else {
    try {
      live = await probeLiveCounts(ctx);
    } catch (error) {
      if (error instanceof LifeboatError && error.code === 'CANCELLED') throw error;
      live = { counts: null, detail: `live rows not counted: ${message(error)}` };
    }
  }
  preflight.push({ id: 'live-row-counts', kind: 'target', name: 'Live row counts', ok: live.counts !== null, blocking: false, detail: live.detail });
  preflight.push(await tablesLeftOut(ssh, settings, { restored: tables, archive: preview.selectable }, ctx.signal));

  const rows = archiveRows(preview);
  const changes: PlannedChange[] = tables.map((table) => ({ item: table, action: 'replace', live: live.counts?.get(table) ?? null, archive: rows.get(table) ?? null }));
  const effects = restoreEffects(tables);
  const steps = [
    mode === 'full'
      ? 'Copy the backup into a new directory under system-backups over SFTP (the original backups stay as they are)'
      : `Copy a selective backup of ${tables.length} table(s) with a fresh metadata.json and checksums into a new directory under system-backups over SFTP`,
    `Restart MeshMonitor with RESTORE_FROM_BACKUP set to that directory: ${settings.restartCommand}`,
    `Read the server log (${settings.logCommand}) until it reports "System restore completed" or why it refused`,
    `Afterwards remove RESTORE_FROM_BACKUP from the service environment (the marker file ${settings.markerFile}, the container's /data/.restore-completed, only guards the same name)`,
    ...effects.map((e) => `Side effect: ${e}`),
  ];
  const followUps = tables.includes('users') && ctx.installation.https?.auth === 'bearer' ? [TOKEN_FOLLOW_UP] : [];
  return { preflight, changes, steps, pointOfNoReturn: 'Restarting MeshMonitor with RESTORE_FROM_BACKUP', followUps };
}

/**
 * A `YYYY-MM-DD_HHMMSS` name (UTC) that no directory under `root` has yet and that is not the
 * name in MeshMonitor's restore marker: a restore of a name the marker holds is skipped by the
 * server ("RESTORE ALREADY COMPLETED"), even when that directory is gone.
 */
async function freeDirname(ssh: SshSession, root: string, markerFile: string): Promise<string> {
  const marker = (await ssh.statOrNull(markerFile)) ? (await ssh.readFile(markerFile, { maxBytes: 4096 })).toString('utf8').trim() : '';
  const start = Date.now();
  for (let i = 0; i < 120; i++) {
    const iso = new Date(start + i * 1000).toISOString();
    const candidate = `${iso.slice(0, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
    if (!marker.includes(candidate) && !(await ssh.statOrNull(`${root}/${candidate}`))) return candidate;
  }
  throw new LifeboatError('ALREADY_EXISTS', `No free backup name under ${root} in the next two minutes.`);
}

/** Runs the log command and keeps its last 4 MiB (newest lines are the ones that matter). */
async function readLog(ssh: SshSession, command: string, signal: AbortSignal): Promise<{ text: string; error: string | null }> {
  const chunks: Buffer[] = [];
  let kept = 0;
  const result = await ssh.exec(command, {
    signal,
    maxBuffer: 64 * 1024,
    onStdout: (chunk) => {
      chunks.push(chunk);
      kept += chunk.length;
      while (kept - chunks[0]!.length >= LOG_TAIL_BYTES) kept -= chunks.shift()!.length;
    },
  });
  const text = Buffer.concat(chunks).toString('utf8');
  return { text, error: result.code === 0 ? null : `exit ${result.code ?? result.signal}: ${result.stderr.trim().slice(-500)}` };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new LifeboatError('CANCELLED', 'Stopped waiting for the MeshMonitor restore.'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Pushes the plan: upload, point of no return, restart, then the log's verdict (RESTORE_FAILED with the server's reason). */
export async function runMeshMonitorRestore(ctx: RestoreContext, input: { plan: RestorePlan; archive: ArchiveAccess; preview: PreviewReport }): Promise<void> {
  const { plan, archive } = input;
  if (plan.blocked) throw new LifeboatError('PREFLIGHT_FAILED', 'This restore plan has a failed blocking check; make a new plan.');
  const settings = meshMonitorSettings(ctx.installation);
  const ssh = await ctx.ssh();
  const root = backupRootOf(settings.dataDir);
  const dirname = await freeDirname(ssh, root, settings.markerFile);
  const tables = plan.mode === 'full' ? null : plan.selection;
  ctx.log(`uploading ${plan.mode === 'full' ? 'the backup' : `${plan.selection.length} table(s)`} to ${root}/${dirname}`);
  ctx.progress({ phase: 'upload', bytes: 0, total: null });
  const uploaded = await uploadBackup(ssh, root, await archive.open(), {
    dirname,
    tables,
    signal: ctx.signal,
    onProgress: (p) => ctx.progress({ phase: p.phase, bytes: p.bytes }),
  });
  if (ctx.signal.aborted) {
    await ssh.remove(uploaded.dir, { recursive: true });
    throw new LifeboatError('CANCELLED', `Cancelled before MeshMonitor was restarted; ${uploaded.dir} was removed again.`);
  }
  ctx.log(`uploaded ${uploaded.tables.length} table(s), ${uploaded.rows} rows`);

  const values = { dirname, dataDir: settings.dataDir, backupDir: root, since: new Date(Date.now() - LOG_SINCE_SLACK_MS).toISOString() };
  const restart = fillTemplate(settings.restartCommand, values);
  const logCommand = fillTemplate(settings.logCommand, values);
  ctx.passPointOfNoReturn(`restarting MeshMonitor with RESTORE_FROM_BACKUP=${dirname}`);
  ctx.progress({ phase: 'restart', bytes: 0, total: null });
  const restarted = await ssh.exec(restart, { signal: ctx.signal });
  if (restarted.code !== 0) {
    throw new LifeboatError(
      'RESTORE_FAILED',
      `The restart command failed (exit ${restarted.code ?? restarted.signal}): ${restarted.stderr.trim().slice(-500) || '(no output)'}. ` +
        `MeshMonitor may not have restarted; the backup is waiting in ${uploaded.dir}.`,
      { details: { dirname, exitCode: restarted.code } },
    );
  }
  const started = Date.now();
  const deadline = started + settings.restoreTimeoutSeconds * 1000;
  for (;;) {
    ctx.progress({ phase: `waiting for MeshMonitor to restore (${Math.round((Date.now() - started) / 1000)} s of at most ${settings.restoreTimeoutSeconds} s)`, bytes: 0, total: null });
    const log = await readLog(ssh, logCommand, ctx.signal);
    const outcome = findRestoreOutcome(log.text, dirname);
    if (outcome.state === 'succeeded') {
      ctx.log(`MeshMonitor: ${outcome.line}`);
      if (outcome.tables !== uploaded.tables.length || outcome.rows !== uploaded.rows) {
        ctx.log(`note: the server restored ${outcome.tables} tables / ${outcome.rows} rows; the upload held ${uploaded.tables.length} / ${uploaded.rows}`);
      }
      ctx.log('remove RESTORE_FROM_BACKUP from the service environment before its next restart');
      return;
    }
    if (outcome.state === 'failed') {
      throw new LifeboatError('RESTORE_FAILED', `MeshMonitor did not restore ${dirname}: ${outcome.reason}. It started on its existing database.`, {
        details: { dirname, reason: outcome.reason, line: outcome.line },
      });
    }
    if (Date.now() > deadline) {
      throw new LifeboatError(
        'RESTORE_FAILED',
        `After ${settings.restoreTimeoutSeconds} s the server log still says nothing about restoring ${dirname}` +
          (log.error ? ` (the log command failed: ${log.error})` : '') +
          '. Check that the restart command passes RESTORE_FROM_BACKUP to MeshMonitor and that the log command shows its output.',
        { details: { dirname } },
      );
    }
    await sleep(LOG_POLL_MS, ctx.signal);
  }
}

const TOKEN_FOLLOW_UP = "Make a new API token in MeshMonitor and store it in Lifeboat (Edit the installation): the restore of users removes every token, Lifeboat's too.";

/** The restore deleted the API token and no password login is configured to count with instead. */
class TokenRemoved extends Error {}

/**
 * Live counts after a restore. A restore of users deletes every API token (MeshMonitor's FK
 * cascade), so with a token that is now refused, count once more through a password login when
 * the installation also has a user name and password.
 */
async function countWithTokenOrPassword(ctx: AdapterContext, tables: string[]): Promise<LiveCounts> {
  try {
    await meshMonitorApi(ctx);
    return await probeLiveCounts(ctx);
  } catch (error) {
    const tokenGone = error instanceof LifeboatError && error.code === 'HTTP_AUTH_FAILED' && tables.includes('users') && ctx.installation.https?.auth === 'bearer';
    if (!tokenGone) throw error;
    const https = ctx.installation.https!;
    if (!https.username || !(await ctx.secret('https-password'))) throw new TokenRemoved();
    const client = createHttpsClient({ ...https, auth: 'password' }, { signal: ctx.signal });
    try {
      const byPassword: AdapterContext = { ...ctx, installation: { ...ctx.installation, https: { ...https, auth: 'password' } }, https: async () => client };
      ctx.log('The API token is gone after the restore of users; counting with the user name and password instead.');
      await meshMonitorApi(byPassword);
      return await probeLiveCounts(byPassword);
    } finally {
      await client.close();
    }
  }
}

/** After a restore: the server answers, the log's row total matches, and live row counts match the archive. */
export async function verifyMeshMonitorRestore(
  ctx: AdapterContext,
  input: { plan: RestorePlan; archive: ArchiveAccess; preview: PreviewReport },
): Promise<IntegrityCheck[]> {
  const { plan, preview } = input;
  const settings = meshMonitorSettings(ctx.installation);
  const tables = restoredTables(preview, plan.mode, plan.selection);
  const rows = archiveRows(preview);
  const expectedRows = tables.reduce((sum, t) => sum + (rows.get(t) ?? 0), 0);
  const checks: IntegrityCheck[] = [];

  if (ctx.installation.https) {
    try {
      const health = await fetchHealth(await ctx.https(), ctx.signal);
      checks.push({ id: 'meshmonitor-answers', kind: 'verification', name: 'MeshMonitor answers', ok: true, detail: `/api/health: version ${health.version ?? 'unknown'}, ${health.databaseType ?? 'unknown'} database` });
    } catch (error) {
      if (error instanceof LifeboatError && error.code === 'CANCELLED') throw error;
      checks.push({ id: 'meshmonitor-answers', kind: 'verification', name: 'MeshMonitor answers', ok: false, detail: `/api/health failed: ${message(error)}` });
    }
  }
  if (ctx.installation.ssh) {
    const since = new Date(Date.parse(plan.createdAt) - LOG_SINCE_SLACK_MS).toISOString();
    const root = backupRootOf(settings.dataDir);
    const log = await readLog(await ctx.ssh(), fillTemplate(settings.logCommand, { dirname: '', dataDir: settings.dataDir, backupDir: root, since }), ctx.signal);
    const last = lastRestoreSuccess(log.text);
    checks.push(
      last === null
        ? { id: 'server-log', kind: 'verification', name: 'Server log', ok: false, detail: `no "System restore completed" line in the log${log.error ? ` (log command: ${log.error})` : ''}` }
        : {
            id: 'server-log', kind: 'verification', name: 'Server log',
            ok: last.tables === tables.length && last.rows === expectedRows,
            detail: `${last.line} (the archive's restored part: ${tables.length} tables, ${expectedRows} rows)`,
          },
    );
  }
  if (ctx.installation.https) checks.push(...(await rowCountChecks(ctx, tables, rows)));
  return checks;
}

async function rowCountChecks(ctx: AdapterContext, tables: string[], rows: Map<string, number>): Promise<IntegrityCheck[]> {
  let live: LiveCounts;
  try {
    live = await countWithTokenOrPassword(ctx, tables);
  } catch (error) {
    if (error instanceof LifeboatError && error.code === 'CANCELLED') throw error;
    if (error instanceof TokenRemoved) {
      // MeshMonitor restored, but the restore removed the means to check it: not a failure.
      return [{ id: 'row-counts', kind: 'verification', name: 'Row counts', ok: false, detail: 'not counted', skipped: 'the restore of users deleted the API token Lifeboat uses (as MeshMonitor always does), and the installation has no user name and password to count with; store a new token', renewSecret: { slot: 'api-token', label: 'API token' } }];
    }
    return [{ id: 'row-counts', kind: 'verification', name: 'Row counts', ok: false, detail: `not checked: ${message(error)}` }];
  }
  if (live.counts === null) return [{ id: 'row-counts', kind: 'verification', name: 'Row counts', ok: false, detail: live.detail }];
  const counts = live.counts;
  return tables.map((table) => {
    const want = rows.get(table) ?? null;
    const have = counts.get(table) ?? null;
    // MeshMonitor appends audit entries for the restore itself (and any login since), so audit_log may only grow.
    const ok = want !== null && have !== null && (table === 'audit_log' ? have >= want : have === want);
    return { id: `rows:${table}`, kind: 'verification', name: `Rows of ${table}`, ok, detail: `${have ?? 'unknown'} live, ${want ?? 'unknown'} in the archive${table === 'audit_log' ? ' (restore entries are added after)' : ''}` };
  });
}
