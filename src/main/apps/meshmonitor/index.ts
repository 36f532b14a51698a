/**
 * The MeshMonitor module: system backups (`<dataDir>/system-backups/<YYYY-MM-DD_HHMMSS>/`) listed,
 * made and downloaded through the HTTP API, or read straight from the directory over SSH; restored by
 * uploading a directory over SFTP and restarting MeshMonitor with RESTORE_FROM_BACKUP (it has no HTTP
 * restore). Facts: specs/meshmonitor.md (MeshMonitor 4.15.1).
 *
 * Installation settings: settings.ts (what each means, defaults, rules).
 *
 * Authentication over HTTPS: a Bearer API token (`mm_v1_…`, no CSRF; works with MFA and OIDC-only
 * installs) or user name + password (GET /api/csrf-token → POST /api/auth/login with X-CSRF-Token →
 * session cookie), logged in once per job and never retried: MeshMonitor allows 5 failed logins per 15 min.
 */
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import type { AdapterCapabilities, RemoteBackup, RestoreOptions } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { Installation } from '../../../shared/installations';
import type { AdapterContext, PullSource, Sidecar } from '../adapter';
import type { AppModule, ArchiveProbe, Detection } from '../module';
import { backupSettings, createBackup, downloadBackup, listBackups, meshMonitorApi, type MeshMonitorListEntry } from './api';
import { MESHMONITOR_DIRNAME_PATTERN, serializeMeshMonitorMetadata } from './backup-format';
import { previewBackup } from './preview';
import { backupRootOf, inspectBackupDir, listBackupDirs, streamBackupDirAsTarGz, type RemoteBackupDir } from './remote-dir';
import { planMeshMonitorRestore, runMeshMonitorRestore, verifyMeshMonitorRestore } from './restore';
import { MESHMONITOR_SETTINGS, meshMonitorSettings } from './settings';
import { createStreamVerifier } from './verifier';
import { structuralDrill } from '../module-kit/structural-drill';

// Retention groups snapshots by this: one stable folder per installation.
const GROUP_PATH = 'system-backups';

const RESTORE_OPTIONS: RestoreOptions = {
  scopes: [
    { id: 'full', label: 'All tables', description: 'Replace all tables in the backup (about 20 of MeshMonitor\'s 70), in one transaction.', selectable: false },
    { id: 'selective', label: 'Chosen tables', description: 'Replace only the chosen tables; the restored copy gets its own metadata.json and checksums.', selectable: true },
  ],
  conflict: null,
};

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
    restoreOptions: RESTORE_OPTIONS,
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

/**
 * A MeshMonitor download is a gzip'd tar whose members are `<YYYY-MM-DD_HHMMSS>/<table>.json` and
 * `metadata.json`: the first tar header, inflated from the first bytes, says so.
 */
function detect(probe: ArchiveProbe): Detection | null {
  if (probe.head[0] !== 0x1f || probe.head[1] !== 0x8b) return null;
  let tar: Buffer;
  try {
    tar = gunzipSync(probe.head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    return null;
  }
  if (tar.length < 512 || tar.subarray(257, 262).toString('latin1') !== 'ustar') return null;
  const first = tar.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
  const [dir, file] = first.split('/');
  if (!dir || !MESHMONITOR_DIRNAME_PATTERN.test(dir) || !file?.endsWith('.json')) return null;
  return { confidence: 0.9, reason: `a tar.gz of ${dir}/*.json, as MeshMonitor's system backup download` };
}

/** The MeshMonitor module (settings in settings.ts). */
export const meshMonitorModule: AppModule = {
  kind: 'meshmonitor',
  label: 'MeshMonitor',
  // MeshMonitor allows 5 failed logins per 15 minutes: unattended runs leave two of them to the operator.
  loginLimit: { attempts: 3, perMinutes: 15 },
  summary: 'System backups (a JSON file per table with SHA-256 checksums) over its HTTPS API or SSH; restore on restart over SSH.',
  transports: ['https', 'ssh'],
  settings: MESHMONITOR_SETTINGS,
  secretSlots: [],
  healthPath: '/api/health',
  detect,
  capabilities,

  // Over SSH the login itself is the check; over HTTPS a token or password is tried on the backup list.
  async checkAccess(ctx) {
    if (!ctx.installation.https || ctx.installation.https.auth === 'none') return null;
    const list = await listBackups(await meshMonitorApi(ctx), ctx.signal);
    return `signed in: the API lists ${list.length} system backup(s)`;
  },

  sources: {
    async list(ctx) {
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

    open: openPull,

    async cadenceHours(ctx) {
      const settings = meshMonitorSettings(ctx.installation);
      if (settings.cadenceHours !== null) return settings.cadenceHours;
      if (!ctx.installation.https) return null;
      // MeshMonitor's scheduler makes at most one automatic backup per day when it is on.
      return (await backupSettings(await meshMonitorApi(ctx), ctx.signal)).enabled ? 24 : null;
    },
  },

  format: { preview: previewBackup },
  drill: structuralDrill(
    { preview: previewBackup },
    ['gzip and tar read to the end', 'every table file parsed, its rows counted', 'each table\'s checksum against metadata.json', 'the schema version against what this MeshMonitor format allows'],
    (row) => (typeof row.table === 'string' ? { table: row.table, rows: typeof row.rows === 'number' ? row.rows : null } : null),
  ),
  restore: { plan: planMeshMonitorRestore, run: runMeshMonitorRestore, verify: verifyMeshMonitorRestore },
};
