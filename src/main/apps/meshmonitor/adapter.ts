/**
 * The MeshMonitor adapter: system backups (`<dataDir>/system-backups/<YYYY-MM-DD_HHMMSS>/`) listed,
 * made and downloaded through the HTTP API, or read straight from the directory over SSH; restored by
 * uploading a directory over SFTP and restarting MeshMonitor with RESTORE_FROM_BACKUP (it has no HTTP
 * restore). Facts: specs/meshmonitor.md (MeshMonitor 4.15.1).
 *
 * Installation settings (strings in installation.settings):
 * - `dataDir` (default `/data`): MeshMonitor's data directory as seen on the SSH host (the Docker
 *   volume's host path, or /data in the LXC install); backups live in `<dataDir>/system-backups`.
 * - `restartCommand` (default `cd /opt/meshmonitor && RESTORE_FROM_BACKUP={dirname} docker compose up -d
 *   --force-recreate meshmonitor`; the compose file must pass `RESTORE_FROM_BACKUP: ${RESTORE_FROM_BACKUP:-}`
 *   into the container): run over SSH to restart the service so that it restores `{dirname}`.
 * - `logCommand` (default `docker logs --since {since} meshmonitor 2>&1`): prints the server log after the
 *   restart; only lines after "RESTORE_FROM_BACKUP environment variable detected: {dirname}" count, so a
 *   command that prints the whole log works too.
 * - `cadenceHours` (optional): hours between expected backups; otherwise 24 when MeshMonitor's own daily
 *   schedule is on.
 * - `restoreTimeoutSeconds` (default 300): how long to wait for the log's verdict after the restart.
 * - `liveCounts` (`probe` | `off`, default `probe`): count live rows for plans and verification by making a
 *   throwaway backup through the API (deleted again; skipped when it could make MeshMonitor prune one).
 * Placeholders in the command templates, each filled in shell-quoted: `{dirname}`, `{dataDir}`,
 * `{backupDir}` and `{since}` (ISO-8601 time shortly before the restart).
 *
 * Authentication over HTTPS: a Bearer API token (`mm_v1_…`, no CSRF; works with MFA and OIDC-only
 * installs) or user name + password (GET /api/csrf-token → POST /api/auth/login with X-CSRF-Token →
 * session cookie), logged in once per job and never retried: MeshMonitor allows 5 failed logins per 15 min.
 */
import type { AdapterCapabilities, RemoteBackup } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { Installation } from '../../../shared/installations';
import type { AdapterContext, AppAdapter, PullSource, Sidecar } from '../adapter';
import { backupSettings, createBackup, downloadBackup, listBackups, meshMonitorApi, type MeshMonitorListEntry } from './api';
import { MESHMONITOR_DIRNAME_PATTERN, serializeMeshMonitorMetadata } from './backup-format';
import { previewBackup } from './preview';
import { backupRootOf, inspectBackupDir, listBackupDirs, streamBackupDirAsTarGz, type RemoteBackupDir } from './remote-dir';
import { planMeshMonitorRestore, runMeshMonitorRestore, verifyMeshMonitorRestore } from './restore';
import { meshMonitorSettings } from './settings';
import { createStreamVerifier } from './verifier';

// Retention groups snapshots by this: one stable folder per installation.
const GROUP_PATH = 'system-backups';

function capabilities(installation: Installation): AdapterCapabilities {
  const https = installation.https !== undefined;
  const ssh = installation.ssh !== undefined;
  const notes: string[] = [];
  if (!https) notes.push('Making a backup needs the HTTPS API (MeshMonitor makes system backups only through it).');
  if (!ssh) notes.push('Restoring needs an SSH connection: MeshMonitor restores only at startup, from a directory in its data volume.');
  return {
    list: https || ssh,
    trigger: https,
    pull: https || ssh,
    preview: true,
    restore: ssh,
    restoreModes: [
      { id: 'full', label: 'All tables', description: 'Replace all tables in the backup (about 20 of MeshMonitor\'s 70), in one transaction.' },
      { id: 'selective', label: 'Chosen tables', description: 'Replace only the chosen tables; the restored copy gets its own metadata.json and checksums.' },
    ],
    notes,
  };
}

/** `2026-11-23_131719` read as the server's local time (that is how MeshMonitor names it), here our local time. */
function dirnameDate(dirname: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})_(\d{2})(\d{2})(\d{2})$/.exec(dirname);
  if (!m) return new Date();
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

function fromListEntry(entry: MeshMonitorListEntry): Omit<RemoteBackup, 'inVault'> {
  const details: Record<string, string> = { type: entry.type };
  if (entry.tableCount !== null) details.tables = String(entry.tableCount);
  if (entry.schemaVersion !== null) details.schemaVersion = String(entry.schemaVersion);
  if (entry.meshmonitorVersion !== null) details.appVersion = entry.meshmonitorVersion;
  details.rows = 'not listed by MeshMonitor (known after a pull)';
  return { id: entry.dirname, name: `${entry.dirname} (${entry.type})`, createdAt: entry.timestamp, sizeBytes: entry.size, details };
}

function fromDir(dir: RemoteBackupDir): Omit<RemoteBackup, 'inVault'> {
  const details: Record<string, string> = {};
  if (dir.metadata) {
    details.tables = String(dir.metadata.tableCount);
    details.schemaVersion = String(dir.metadata.schemaVersion);
    details.appVersion = dir.metadata.meshmonitorVersion;
  }
  if (dir.problem) details.problem = dir.problem;
  return { id: dir.dirname, name: dir.dirname, createdAt: dir.metadata?.timestamp ?? dir.mtime.toISOString(), sizeBytes: dir.size, details };
}

function noResume(dirname: string, offset: number): void {
  if (offset > 0) {
    throw new LifeboatError('INVALID_INPUT', `The download of ${dirname} cannot resume at byte ${offset}: MeshMonitor builds the tar.gz on the fly and does not honour Range.`);
  }
}

async function openPull(ctx: AdapterContext, remoteId: string): Promise<PullSource> {
  if (!MESHMONITOR_DIRNAME_PATTERN.test(remoteId)) {
    throw new LifeboatError('INVALID_INPUT', `A MeshMonitor backup name looks like 2026-11-23_131719, not "${remoteId.slice(0, 80)}".`);
  }
  const dirname = remoteId;
  const sidecars: Sidecar[] = [];
  // Over HTTPS metadata.json is known only once it streams by: the verifier adds the sidecar then.
  const addSidecar = (text: string): void => {
    if (!sidecars.some((s) => s.name === 'metadata.json')) sidecars.push({ name: 'metadata.json', content: Buffer.from(text, 'utf8') });
  };
  const common = {
    remoteId: dirname,
    fileName: `${dirname}.tar.gz`,
    size: null,
    sidecars,
    groupPath: GROUP_PATH,
    // Both sources build the tar.gz afresh on every read, so a later read does not continue an earlier one.
    resumable: false,
    createVerifier: () => createStreamVerifier((summary) => addSidecar(serializeMeshMonitorMetadata(summary.metadata))),
  };
  if (ctx.installation.https) {
    const client = await meshMonitorApi(ctx);
    // Directories copied in by hand are downloadable but never listed; they still pull, dated by name.
    const listed = (await listBackups(client, ctx.signal)).find((e) => e.dirname === dirname);
    return {
      ...common,
      mtime: listed ? new Date(listed.timestampUnix) : dirnameDate(dirname),
      async open(offset) {
        noResume(dirname, offset);
        const download = await downloadBackup(client, dirname, { signal: ctx.signal, onProgress: (p) => ctx.progress({ phase: p.phase, bytes: p.bytes }) });
        return download.stream;
      },
    };
  }
  const settings = meshMonitorSettings(ctx.installation);
  const ssh = await ctx.ssh();
  const root = backupRootOf(settings.dataDir);
  const dir = await inspectBackupDir(ssh, root, dirname, ctx.signal);
  if (dir.metadataText !== null) addSidecar(dir.metadataText);
  return {
    ...common,
    mtime: dir.metadata ? new Date(dir.metadata.timestampUnix) : dir.mtime,
    async open(offset) {
      noResume(dirname, offset);
      return streamBackupDirAsTarGz(await ctx.ssh(), root, dirname, ctx.signal);
    },
  };
}

/** The MeshMonitor adapter (see the settings above). */
export const meshMonitorAdapter: AppAdapter = {
  app: 'meshmonitor',
  capabilities,

  async listRemote(ctx) {
    if (ctx.installation.https) {
      const client = await meshMonitorApi(ctx);
      return (await listBackups(client, ctx.signal)).map(fromListEntry);
    }
    const settings = meshMonitorSettings(ctx.installation);
    const dirs = await listBackupDirs(await ctx.ssh(), backupRootOf(settings.dataDir), ctx.signal);
    return dirs.map(fromDir);
  },

  async trigger(ctx) {
    if (!ctx.installation.https) {
      throw new LifeboatError('APP_UNSUPPORTED', `MeshMonitor makes system backups only through its API; give "${ctx.installation.name}" an HTTPS connection.`);
    }
    const dirname = await createBackup(await meshMonitorApi(ctx), ctx.signal);
    return { message: `MeshMonitor made the system backup ${dirname}.`, remoteId: dirname };
  },

  openPull,

  preview: previewBackup,
  planRestore: planMeshMonitorRestore,
  restore: runMeshMonitorRestore,
  verifyRestore: verifyMeshMonitorRestore,

  async expectedCadenceHours(ctx) {
    const settings = meshMonitorSettings(ctx.installation);
    if (settings.cadenceHours !== null) return settings.cadenceHours;
    if (!ctx.installation.https) return null;
    // MeshMonitor's scheduler makes at most one automatic backup per day when it is on.
    return (await backupSettings(await meshMonitorApi(ctx), ctx.signal)).enabled ? 24 : null;
  },
};
