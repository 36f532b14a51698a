/**
 * The Weavestream module: scheduled `pg_dump --format=custom` exports with a manifest sidecar
 * (spec weavestream.md). With an SSH connection everything goes over SSH: SFTP for the backup
 * directory, commands for trigger and restore, and `pg` through SSH forwarding for preflight, the
 * advisory lock and verification. An installation with only HTTPS uses Weavestream's API
 * (https-verbs.ts, https-api.ts) as an operator-present option: list, pull and Run now, each
 * asking for the operator's TOTP code when Weavestream's login or step-up needs one
 * (CODE_REQUIRED); no restore (there is no restore endpoint).
 *
 * Installation settings (`installation.settings`; schema, form fields and defaults in settings.ts):
 *
 * | key                       | default                                                  | meaning |
 * |---------------------------|----------------------------------------------------------|---------|
 * | `composeDir`              | `weavestream` (relative to the SSH user's home)          | directory of Weavestream's compose.yml; every command runs there |
 * | `backupDir`               | `<composeDir>/data/backup`                               | `${DATA_DIR}/backup` on the host |
 * | `envFile`                 | `<composeDir>/.env`                                      | read only for the password-encryption key ids (never the keys) |
 * | `triggerCommand`          | empty: no trigger                                        | makes a dump + manifest in backupDir now (Weavestream has no CLI for it): "Run backup now" |
 * | `dumpCommand`             | `docker compose exec -T postgres sh -c 'exec pg_dump "$@" -U "$POSTGRES_USER" -d "$POSTGRES_DB"' pg_dump --format=custom --no-owner --no-acl` | writes a custom dump to stdout: the safety pull before a restore when triggerCommand is empty (live-dump.ts) |
 * | `restoreCommand`          | `docker compose exec -T postgres sh -c 'exec pg_restore "$@" -U "$POSTGRES_USER" -d "$POSTGRES_DB"' pg_restore {flags}` | reads the dump on stdin (the documented restore, §4.1) |
 * | `pgRestoreVersionCommand` | `docker compose exec -T postgres pg_restore --version`   | which pg_restore restoreCommand runs |
 * | `databaseHost`/`databasePort` | `127.0.0.1` / `5432`                                 | PostgreSQL as seen from the SSH server (publish it to the host's loopback) |
 * | `databaseName`/`databaseUser` | `weavestream` / `weavestream`                        | password: the installation's `database-password` secret, if any |
 * | `cadenceHours`            | empty: read from the enabled `backup_config` crons       | hours between backups for the fleet badge |
 *
 * Over HTTPS (no SSH): `https.baseUrl` is Weavestream's `APP_URL` (`/api/v1` is added unless it
 * ends with it); `https.username` is the e-mail of an account with backup rights (SUPER_ADMIN or
 * BACKUP_MANAGE) and the `https-password` secret its password; with `https.auth` `bearer` the
 * `api-token` secret is a read-only `ws_…` API key that lists runs without a code. Run now runs
 * the first schedule (enabled ones first) and waits for the run to finish.
 *
 * Templates use `{flags}` (pg_restore options of the mode, several words), `{composeDir}`,
 * `{backupDir}`, `{database}`, `{user}`, `{host}`, `{port}`; every value is shell-quoted.
 * Full restore flags: `--clean --if-exists --no-owner --no-acl`. Selective restore empties the
 * chosen tables (foreign-key triggers off) and reloads them with `--data-only --disable-triggers
 * --single-transaction -n <schema> -t <table> -t <owned sequence>` — `-t` rather than a `-L` file
 * because a list file on the host is not visible inside the postgres container.
 */
import path from 'node:path/posix';
import type { IntegrityCheck, PlannedChange, PreflightCheck, RemoteBackup, RestoreOptions } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { AdapterContext, ArchiveAccess, PullSource, RestorePlanDraft, StepContext } from '../adapter';
import type { AppModule, ArchiveProbe, Detection } from '../module';
import { progressCounter } from '../module-kit/progress';
import { buildSelectiveRestoreList, minPgRestoreMajor } from '../../formats/pgdump';
import type { PgDumpArchive } from '../../formats/pgdump';
import type { SshSession } from '../../transport/ssh/session';
import { dumpNameFor, manifestNameFor, pairWeavestreamFiles } from './backup-files';
import { WEAVESTREAM_DUMP_NAME, effectivePasswordKid, hasKnownMigrationHash, parseWeavestreamManifest, type WeavestreamManifest } from './manifest';
import { migrationDifference, scanWeavestreamArchive, type ArchiveScan, type ScannedTable } from './archive-scan';
import { WeavestreamDumpVerifier, findManifest } from './dump-verifier';
import { readTargetKids } from './env-keys';
import { openLiveDump } from './live-dump';
import { expectedCadenceHoursHttps, httpsCapabilities, listRemoteHttps, openPullHttps, triggerHttps, usesWeavestreamHttps } from './https-verbs';
import { cadenceHoursFromSchedules, type WeavestreamSchedule } from './cadence';
import { buildWeavestreamPreview } from './preview';
import { weavestreamDrill } from './drill';
import { WEAVESTREAM_SETTINGS, renderCommand, weavestreamSettings, type WeavestreamSettings } from './settings';
import { TunnelDb as TargetDb, type LiveTable, type TunnelDbAddress as TargetDbAddress } from '../../transport/postgres/tunnel-db';
import { WEAVESTREAM_LOCK_SQL_KEY, appliedMigrations } from './target-db';


const MAX_MANIFEST_BYTES = 64 * 1024;
const FULL_FLAGS = ['--clean', '--if-exists', '--no-owner', '--no-acl'] as const;
const FULL_POINT_OF_NO_RETURN = 'pg_restore --clean starts dropping objects';
const SELECTIVE_POINT_OF_NO_RETURN = 'the chosen tables are emptied before pg_restore reloads them';

const RESTORE_OPTIONS: RestoreOptions = {
  scopes: [
    { id: 'full', label: 'Full replace', description: 'Weavestream\'s documented restore: pg_restore --clean --if-exists replaces every object in the dump.', selectable: false },
    { id: 'selective', label: 'Chosen tables', description: 'Empties only the chosen tables and reloads their rows from the dump; the schema and all other tables stay as they are.', selectable: true },
  ],
  conflict: null,
};

/**
 * A custom-format pg_dump (`PGDMP`) with a Weavestream manifest beside it, or named as
 * Weavestream names its dumps. A bare pg_dump archive is only a weak claim: other apps make them too.
 */
function detect(probe: ArchiveProbe): Detection | null {
  if (probe.head.subarray(0, 5).toString('latin1') !== 'PGDMP') return null;
  const manifest = findManifest(probe.fileName, probe.sidecars).manifest;
  if (manifest) return { confidence: 0.95, reason: 'a pg_dump custom archive with its Weavestream manifest' };
  if (WEAVESTREAM_DUMP_NAME.test(probe.fileName)) return { confidence: 0.8, reason: 'a pg_dump custom archive named as Weavestream names its dumps' };
  return { confidence: 0.3, reason: 'a pg_dump custom archive (no Weavestream manifest came with it)' };
}

/** The Weavestream module. */
export const weavestreamModule: AppModule = {
  kind: 'weavestream',
  label: 'Weavestream',
  summary: 'Scheduled pg_dump custom exports with a manifest, pulled over SSH (or over HTTPS with your authenticator code); restored with pg_restore over SSH.',
  transports: ['ssh', 'https'],
  settings: WEAVESTREAM_SETTINGS,
  secretSlots: [{ slot: 'database-password', label: 'Database password', help: 'Password of the database user, if PostgreSQL asks for one (seen from the SSH server).', keyed: false }],
  healthPath: '/health',
  sidecarOf: (fileName) => (/\.manifest\.json$/.test(fileName) ? dumpNameFor(fileName) : null),
  detect,

  capabilities(installation) {
    if (usesWeavestreamHttps(installation)) return httpsCapabilities(installation);
    const ssh = installation.ssh !== undefined;
    const trigger = ssh && String(installation.settings?.triggerCommand ?? '').trim() !== '';
    const notes: string[] = [];
    if (!ssh) notes.push('Weavestream backups are pulled over SSH: add an SSH connection to the host that runs Weavestream.');
    notes.push('HTTPS is not used for unattended pulls: Weavestream asks for a fresh TOTP step-up for every download and "Run now".');
    if (ssh && !trigger) notes.push('Weavestream has no command-line backup trigger: Run backup now needs triggerCommand (or use Admin → Backups → Run now); the safety pull before a restore uses dumpCommand.');
    return {
      list: ssh,
      trigger,
      pull: ssh,
      preview: true,
      restore: ssh,
      restoreOptions: RESTORE_OPTIONS,
      notes,
    };
  },

  // Only the read-only API key can be checked unattended: a password login needs the operator's code.
  async checkAccess(ctx) {
    if (!usesWeavestreamHttps(ctx.installation) || ctx.installation.https?.auth !== 'bearer') return null;
    return `the API key lists ${(await listRemoteHttps(ctx)).length} backup(s)`;
  },

  sources: {
    async list(ctx) {
      if (usesWeavestreamHttps(ctx.installation)) return listRemoteHttps(ctx);
      const settings = weavestreamSettings(ctx.installation);
      return listBackups(await ctx.ssh(), settings.backupDir, ctx.signal);
    },

    async trigger(ctx) {
      if (usesWeavestreamHttps(ctx.installation)) return triggerHttps(ctx);
      const settings = weavestreamSettings(ctx.installation);
      if (!settings.triggerCommand) {
        throw new LifeboatError('APP_UNSUPPORTED', `"${ctx.installation.name}" has no triggerCommand: Weavestream has no command-line backup trigger (use Admin → Backups → Run now, or set triggerCommand).`);
      }
      const session = await ctx.ssh();
      const before = new Set((await listBackups(session, settings.backupDir, ctx.signal)).map((b) => b.id));
      ctx.log('Running triggerCommand on the Weavestream host.');
      await session.execChecked(renderCommand(settings.triggerCommand, settings), { signal: ctx.signal, describe: 'triggerCommand' });
      const fresh = (await listBackups(session, settings.backupDir, ctx.signal)).filter((b) => !before.has(b.id));
      const newest = fresh[0] ?? null;
      return {
        message: newest ? `Weavestream wrote ${newest.id}.` : 'triggerCommand finished, but no new dump appeared in the backup directory.',
        remoteId: newest?.id ?? null,
      };
    },

    safetyCopy(ctx) {
      return openLiveDump(ctx);
    },

    async open(ctx, remoteId) {
      if (usesWeavestreamHttps(ctx.installation)) return openPullHttps(ctx, remoteId);
      const settings = weavestreamSettings(ctx.installation);
      if (!WEAVESTREAM_DUMP_NAME.test(remoteId)) {
        throw new LifeboatError('INVALID_INPUT', `"${remoteId}" is not a Weavestream dump name (weavestream-postgres-<time>.dump).`);
      }
      const session = await ctx.ssh();
      const dumpPath = path.join(settings.backupDir, remoteId);
      const info = await session.stat(dumpPath);
      const manifestName = manifestNameFor(remoteId);
      const manifest = await readSmallFile(session, path.join(settings.backupDir, manifestName), ctx.signal);
      const sidecars = manifest ? [{ name: manifestName, content: manifest }] : [];
      const lookup = findManifest(remoteId, sidecars);
      if (!lookup.manifest) ctx.log(`No usable manifest for ${remoteId}: ${lookup.problem ?? ''}`);
      const source: PullSource = {
        remoteId,
        fileName: remoteId,
        size: info.size,
        mtime: info.mtime,
        sidecars,
        groupPath: settings.backupDir,
        resumable: true,
        // ctx.ssh() again: after a cut connection it is a new session, and the read resumes there.
        open: async (offset) => (await ctx.ssh()).createReadStream(dumpPath, { start: offset, signal: ctx.signal }),
        createVerifier: () => new WeavestreamDumpVerifier(remoteId, lookup),
      };
      return source;
    },

    async cadenceHours(ctx) {
      const settings = weavestreamSettings(ctx.installation);
      if (settings.cadenceHours !== null) return settings.cadenceHours;
      if (usesWeavestreamHttps(ctx.installation)) return expectedCadenceHoursHttps(ctx);
      const db = await TargetDb.connect(await ctx.ssh(), await dbAddress(ctx, settings));
      try {
        const exists = await db.client.query<{ t: string | null }>(`SELECT to_regclass('public.backup_config')::text AS t`);
        if (!exists.rows[0]?.t) return null;
        const configs = await db.client.query<WeavestreamSchedule>('SELECT cron, timezone FROM public.backup_config WHERE enabled');
        return cadenceHoursFromSchedules(configs.rows);
      } finally {
        await db.close();
      }
    },
  },

  format: {
    async preview(archive, ctx) {
      return buildWeavestreamPreview(archive, await scanWeavestreamArchive(archive, ctx));
    },
  },

  drill: { ...weavestreamDrill, serverDatabase: (ctx) => dbAddress(ctx, weavestreamSettings(ctx.installation)) },

  restore: {
    async plan(ctx, { archive, mode, selection }) {
      const settings = weavestreamSettings(ctx.installation);
      const scan = await scanWeavestreamArchive(archive, ctx);
      const preflight: PreflightCheck[] = [{
        id: 'archive-integrity', kind: 'integrity', name: 'Archive integrity',
        ok: scan.ok,
        blocking: true,
        detail: scan.ok ? 'the dump passed every integrity check' : `failed: ${scan.checks.filter((c) => !c.ok).map((c) => `${c.name} (${c.detail})`).join('; ')}`,
      }];
      const chosen = mode === 'selective' ? resolveSelection(scan, selection, preflight) : scan.tables;
      const draft = (changes: PlannedChange[]): RestorePlanDraft => ({ preflight, changes, ...restoreSteps(mode) });
      if (!scan.archive) return draft([]);

      let session: SshSession;
      let db: TargetDb;
      try {
        session = await ctx.ssh();
        db = await TargetDb.connect(session, await dbAddress(ctx, settings));
      } catch (error) {
        if (!(error instanceof LifeboatError) || error.code === 'CANCELLED') throw error;
        preflight.push({ id: 'target-reachable', kind: 'target', name: 'Target database reachable', ok: false, blocking: true, detail: error.message });
        return draft([]);
      }
      try {
        preflight.push({ id: 'target-reachable', kind: 'target', name: 'Target database reachable', ok: true, blocking: true, detail: `${session.info.target.user}@${session.info.target.host}; database ${settings.databaseName}, PostgreSQL ${await db.serverVersion()}` });
        await checkTarget({ ctx, settings, session, db, scan, archive: scan.archive, mode, chosen, preflight });
        return draft(await plannedChanges(db, scan, mode, chosen));
      } finally {
        await db.close();
      }
    },

    async run(ctx, { plan, archive }) {
      const settings = weavestreamSettings(ctx.installation);
      const scan = await scanWeavestreamArchive(archive, ctx);
      if (!scan.archive) throw new LifeboatError('RESTORE_FAILED', `${archive.fileName} did not pass its integrity checks; nothing was restored.`);
      const session = await ctx.ssh();
      const db = await TargetDb.connect(session, await dbAddress(ctx, settings));
      let locked = false;
      try {
        locked = await db.tryAdvisoryLock(WEAVESTREAM_LOCK_SQL_KEY);
        if (!locked) throw new LifeboatError('RESTORE_FAILED', 'A Weavestream backup (or another restore) holds the backup advisory lock; nothing was restored. Try again when it has finished.');
        ctx.log('Holding Weavestream\'s backup advisory lock for the whole restore.');
        const tables = plan.mode === 'selective' ? selectedTables(scan, plan.selection) : [];
        const flags = plan.mode === 'selective' ? selectiveFlags(scan.archive, tables) : [...FULL_FLAGS];
        if (ctx.signal.aborted) throw new LifeboatError('CANCELLED', 'The restore was cancelled before anything on the target changed.');

        if (plan.mode === 'selective') {
          ctx.passPointOfNoReturn(SELECTIVE_POINT_OF_NO_RETURN);
          ctx.log(`Emptying ${tables.map((t) => `${t.schema}.${t.name}`).join(', ')}.`);
          await db.emptyTables(tables);
        } else {
          ctx.passPointOfNoReturn(FULL_POINT_OF_NO_RETURN);
        }
        await runPgRestore(ctx, session, settings, archive, flags);
        ctx.log('pg_restore finished.');
      } finally {
        if (locked) await releaseLock(ctx, db);
        await db.close();
      }
    },

    async verify(ctx, { plan, archive }) {
      const settings = weavestreamSettings(ctx.installation);
      const scan = await scanWeavestreamArchive(archive, ctx);
      const db = await TargetDb.connect(await ctx.ssh(), await dbAddress(ctx, settings));
      try {
        const checks: IntegrityCheck[] = [];
        const restored = plan.mode === 'selective' ? scan.tables.filter((t) => plan.selection.includes(t.qualified)) : scan.tables.filter((t) => t.hasData);
        for (const table of restored) {
          if (table.rows === null) {
            checks.push({ id: `rows:${table.qualified}`, kind: 'verification', name: `Rows of ${table.qualified}`, ok: true, detail: 'row count in the dump is unknown; not compared' });
            continue;
          }
          const live = await db.countRows({ schema: table.schema ?? 'public', name: table.name });
          checks.push({ id: `rows:${table.qualified}`, kind: 'verification', name: `Rows of ${table.qualified}`, ok: live === table.rows, detail: `${live} rows live, ${table.rows} in the dump` });
        }
        checks.push(await migrationsCheck(db, scan));
        return checks;
      } finally {
        await db.close();
      }
    },
  },
};

/** Lists and pairs the backup directory: dumps newest first, with their manifest facts. */
async function listBackups(session: SshSession, backupDir: string, signal: AbortSignal): Promise<Omit<RemoteBackup, 'inVault'>[]> {
  const entries = await session.list(backupDir);
  const { backups } = pairWeavestreamFiles(entries.filter((e) => e.isFile).map((e) => ({ name: e.name, size: e.size })));
  const result: Omit<RemoteBackup, 'inVault'>[] = [];
  for (const pair of backups) {
    if (!pair.dump) continue;
    const details: Record<string, string> = {};
    let manifest: WeavestreamManifest | null = null;
    if (pair.manifest) {
      const text = await readSmallFile(session, path.join(backupDir, pair.manifest.name), signal);
      try {
        manifest = text ? parseWeavestreamManifest(text.toString('utf8'), { source: pair.manifest.name }) : null;
        details.manifest = manifest ? pair.manifest.name : 'missing';
      } catch (error) {
        if (!(error instanceof LifeboatError)) throw error;
        details.manifest = `invalid: ${error.message}`;
      }
    } else {
      details.manifest = 'missing';
    }
    if (manifest) {
      details.weavestreamVersion = manifest.weavestreamVersion;
      details.prismaMigrationHash = manifest.prismaMigrationHash;
      details.passwordEncryptionKid = effectivePasswordKid(manifest);
      details.sha256 = manifest.sha256;
    }
    result.push({
      id: pair.dump.name,
      name: pair.dump.name,
      createdAt: manifest?.generatedAt ?? pair.startedAt.toISOString(),
      sizeBytes: pair.dump.size ?? null,
      details,
    });
  }
  return result;
}

/** A small remote file (a manifest), or null when it does not exist. */
async function readSmallFile(session: SshSession, remotePath: string, signal: AbortSignal): Promise<Buffer | null> {
  try {
    return await session.readFile(remotePath, { maxBytes: MAX_MANIFEST_BYTES, signal });
  } catch (error) {
    if (error instanceof LifeboatError && error.code === 'NOT_FOUND') return null;
    throw error;
  }
}

async function dbAddress(ctx: AdapterContext, settings: WeavestreamSettings): Promise<TargetDbAddress> {
  return {
    host: settings.databaseHost,
    port: settings.databasePort,
    database: settings.databaseName,
    user: settings.databaseUser,
    password: await ctx.secret('database-password'),
    passwordFrom: { installation: ctx.installation.name, slot: 'database-password' },
  };
}

function restoreSteps(mode: string): Pick<RestorePlanDraft, 'steps' | 'pointOfNoReturn' | 'followUps'> {
  if (mode === 'selective') {
    return {
      steps: [
        'Take Weavestream\'s backup advisory lock and hold it until the end (refuse if a backup is running).',
        'Empty the chosen tables in one transaction, with foreign-key triggers off so other tables keep their rows.',
        'Stream the dump into restoreCommand: pg_restore --data-only --disable-triggers --single-transaction, only the chosen tables and their sequence values.',
        'Release the lock; compare live row counts with the dump.',
      ],
      pointOfNoReturn: SELECTIVE_POINT_OF_NO_RETURN,
    };
  }
  return {
    steps: [
      'Take Weavestream\'s backup advisory lock and hold it until the end (refuse if a backup is running).',
      'Stream the dump into restoreCommand: pg_restore --clean --if-exists --no-owner --no-acl (drops and recreates every object in the dump).',
      'Release the lock; compare live row counts and _prisma_migrations with the dump.',
    ],
    pointOfNoReturn: FULL_POINT_OF_NO_RETURN,
    followUps: ['Restore ${DATA_DIR}/files from the same point in time (uploaded files are not in the dump), then start api, worker and web.'],
  };
}

/** The chosen tables of a selective restore; unknown names become a blocking preflight failure. */
function resolveSelection(scan: ArchiveScan, selection: string[], preflight: PreflightCheck[]): ScannedTable[] {
  const byName = new Map(scan.tables.filter((t) => t.hasData).map((t) => [t.qualified, t]));
  const unknown = selection.filter((name) => !byName.has(name));
  const chosen = selection.map((name) => byName.get(name)).filter((t): t is ScannedTable => t !== undefined);
  if (selection.length === 0) preflight.push({ id: 'selection', kind: 'selection', name: 'Selection', ok: false, blocking: true, detail: 'no table was chosen' });
  else if (unknown.length > 0) preflight.push({ id: 'selection', kind: 'selection', name: 'Selection', ok: false, blocking: true, detail: `not tables with data in the dump: ${unknown.join(', ')}` });
  else preflight.push({ id: 'selection', kind: 'selection', name: 'Selection', ok: true, blocking: true, detail: `restoring ${chosen.map((t) => t.qualified).join(', ')}` });
  return chosen;
}

function selectedTables(scan: ArchiveScan, selection: string[]): LiveTable[] {
  const problems: PreflightCheck[] = [];
  const chosen = resolveSelection(scan, selection, problems);
  if (problems.some((p) => !p.ok)) throw new LifeboatError('RESTORE_FAILED', `The plan's selection does not fit the dump: ${problems.map((p) => p.detail).join('; ')}.`);
  return chosen.map((t) => ({ schema: t.schema ?? 'public', name: t.name }));
}

/**
 * pg_restore options for a data-only reload of the tables: `-n` per schema, `-t` per table and
 * per sequence whose value the tables own (what the selective `-L` list builder selects).
 */
function selectiveFlags(archive: PgDumpArchive, tables: LiveTable[]): string[] {
  const list = buildSelectiveRestoreList(archive, tables.map((t) => ({ schema: t.schema, name: t.name })), { mode: 'data-only' });
  const schemas = new Set(list.entries.map((e) => e.namespace ?? 'public'));
  const names = new Set(list.entries.map((e) => e.tag));
  return [
    '--data-only', '--disable-triggers', '--single-transaction', '--no-owner', '--no-acl',
    ...[...schemas].flatMap((s) => ['-n', s]),
    ...[...names].flatMap((n) => ['-t', n]),
  ];
}

/** Entries pg_restore would pick with the `-n`/`-t` flags beyond the ones meant (same name in another schema). */
function overSelected(archive: PgDumpArchive, tables: LiveTable[]): string[] {
  const list = buildSelectiveRestoreList(archive, tables.map((t) => ({ schema: t.schema, name: t.name })), { mode: 'data-only' });
  const meant = new Set(list.entries.map((e) => e.dumpId));
  const schemas = new Set(list.entries.map((e) => e.namespace));
  const names = new Set(list.entries.map((e) => e.tag));
  return archive.entries
    .filter((e) => ['TABLE DATA', 'SEQUENCE SET'].includes(e.desc) && schemas.has(e.namespace) && names.has(e.tag) && !meant.has(e.dumpId))
    .map((e) => `${e.namespace ?? ''}.${e.tag}`);
}

interface TargetCheckInput {
  ctx: AdapterContext;
  settings: WeavestreamSettings;
  session: SshSession;
  db: TargetDb;
  scan: ArchiveScan;
  archive: PgDumpArchive;
  mode: string;
  chosen: ScannedTable[];
  preflight: PreflightCheck[];
}

/** The preflight checks that need the target: lock, pg_restore version, migrations, key id, selection. */
async function checkTarget({ ctx, settings, session, db, scan, archive, mode, chosen, preflight }: TargetCheckInput): Promise<void> {
  const busy = await db.advisoryLockHeld(WEAVESTREAM_LOCK_SQL_KEY);
  preflight.push({ id: 'no-backup-running', kind: 'target', name: 'No backup running', ok: !busy, blocking: true, detail: busy ? 'a Weavestream backup holds the advisory lock right now' : 'no session holds Weavestream\'s backup lock' });

  const others = await db.client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  const sessions = Number(others.rows[0]?.n ?? 0);
  preflight.push({
    id: 'app-stopped', kind: 'target', name: 'Weavestream stopped',
    ok: sessions === 0,
    blocking: false,
    detail: sessions === 0 ? 'no other session is connected to the database' : `${sessions} other session(s) are connected: stop api, worker and web (docker compose stop api worker web) before restoring`,
  });

  preflight.push(await pgRestoreVersionCheck(ctx, session, settings, archive));

  const { manifest } = scan.lookup;
  preflight.push(await migrationHashCheck(session, settings, manifest, ctx.signal));
  const live = await appliedMigrations(db);
  if (scan.migrations && live) {
    const difference = migrationDifference(scan.migrations, live);
    preflight.push({
      id: 'applied-migrations', kind: 'compatibility', name: 'Applied migrations',
      ok: difference === null,
      blocking: true,
      detail: difference === null ? `the target has applied the same ${live.length} migrations as the dump` : `migration levels differ: ${difference}`,
    });
  } else {
    preflight.push({ id: 'applied-migrations', kind: 'compatibility', name: 'Applied migrations', ok: false, blocking: false, detail: `cannot compare: ${scan.migrations ? 'the target has no _prisma_migrations table' : 'the dump holds no _prisma_migrations data'}` });
  }
  preflight.push(await kidCheck(session, settings, manifest, ctx.signal));

  if (mode === 'selective') {
    const liveTables = new Set((await db.tables()).map((t) => `${t.schema}.${t.name}`));
    const missing = chosen.filter((t) => !liveTables.has(`${t.schema ?? 'public'}.${t.name}`)).map((t) => t.qualified);
    preflight.push({ id: 'tables-exist', kind: 'target', name: 'Chosen tables exist', ok: missing.length === 0, blocking: true, detail: missing.length === 0 ? 'every chosen table exists on the target' : `a selective restore reloads rows into existing tables; missing: ${missing.join(', ')}` });
    const superuser = await db.isSuperuser();
    preflight.push({ id: 'superuser', kind: 'target', name: 'Superuser', ok: superuser, blocking: true, detail: superuser ? `${settings.databaseUser} is a superuser` : `${settings.databaseUser} is not a superuser, which a selective restore needs to skip foreign-key triggers` });
    const extra = overSelected(archive, chosen.map((t) => ({ schema: t.schema ?? 'public', name: t.name })));
    preflight.push({ id: 'selection-exact', kind: 'selection', name: 'Selection is exact', ok: extra.length === 0, blocking: true, detail: extra.length === 0 ? 'pg_restore -n/-t picks exactly the chosen tables' : `pg_restore -n/-t would also pick ${extra.join(', ')}` });
  }
}

async function pgRestoreVersionCheck(ctx: AdapterContext, session: SshSession, settings: WeavestreamSettings, archive: PgDumpArchive): Promise<PreflightCheck> {
  const needed = minPgRestoreMajor(archive.header);
  const result = await session.exec(renderCommand(settings.pgRestoreVersionCommand, settings), { signal: ctx.signal, describe: 'pgRestoreVersionCommand' });
  const match = /pg_restore \(PostgreSQL\) (\d+)/.exec(result.stdout);
  if (result.code !== 0 || !match?.[1]) {
    const why = result.code !== 0 ? `exited with ${result.code}: ${result.stderr.trim().slice(-300)}` : 'printed no version';
    return { id: 'pg-restore-version', kind: 'compatibility', name: 'pg_restore version', ok: false, blocking: false, detail: `could not tell the target's pg_restore version (pgRestoreVersionCommand ${why}); archive ${archive.header.version} needs ${needed} or newer` };
  }
  const major = Number(match[1]);
  return {
    id: 'pg-restore-version', kind: 'compatibility', name: 'pg_restore version',
    ok: major >= needed,
    blocking: true,
    detail: major >= needed ? `pg_restore ${major} reads archive ${archive.header.version}` : `pg_restore ${major} cannot read archive ${archive.header.version}: it needs PostgreSQL ${needed} or newer`,
  };
}

/**
 * The dump's migration hash against the target's newest own manifest (spec §4.2: "compare with a
 * fresh manifest from the target"); the same hash means the same migration set in the images.
 */
async function migrationHashCheck(session: SshSession, settings: WeavestreamSettings, manifest: WeavestreamManifest | null, signal: AbortSignal): Promise<PreflightCheck> {
  if (!manifest || !hasKnownMigrationHash(manifest)) {
    return { id: 'migration-hash', kind: 'compatibility', name: 'Migration hash', ok: false, blocking: false, detail: 'the dump has no usable migration hash; compared _prisma_migrations only' };
  }
  const own = (await listBackups(session, settings.backupDir, signal)).find((b) => b.id !== manifest.filename && b.details.prismaMigrationHash?.startsWith('sha256:'));
  const targetHash = own?.details.prismaMigrationHash;
  if (!targetHash) return { id: 'migration-hash', kind: 'compatibility', name: 'Migration hash', ok: true, blocking: true, detail: 'the target has no manifest of its own to compare with; compared _prisma_migrations instead' };
  const same = targetHash === manifest.prismaMigrationHash;
  return {
    id: 'migration-hash', kind: 'compatibility', name: 'Migration hash',
    ok: same,
    blocking: true,
    detail: same
      ? `same Prisma migration hash as the target's newest backup (${own.id})`
      : `the dump's Prisma migration hash ${manifest.prismaMigrationHash} differs from the target's ${targetHash} (${own.id}): the images ship different migrations`,
  };
}

async function kidCheck(session: SshSession, settings: WeavestreamSettings, manifest: WeavestreamManifest | null, signal: AbortSignal): Promise<PreflightCheck> {
  if (!manifest) return { id: 'password-kid', kind: 'compatibility', name: 'Password-encryption key', ok: false, blocking: false, detail: 'no manifest: cannot tell which password-encryption key the dump needs' };
  const kid = effectivePasswordKid(manifest);
  let known: { current: string; previous: string[] };
  try {
    known = await readTargetKids(session, settings.envFile, signal);
  } catch (error) {
    if (!(error instanceof LifeboatError) || error.code === 'CANCELLED') throw error;
    return { id: 'password-kid', kind: 'compatibility', name: 'Password-encryption key', ok: false, blocking: false, detail: `could not read ${settings.envFile} (${error.message}); make sure the target's PASSWORD_ENCRYPTION_KEY_KID or PASSWORD_PREVIOUS_KEYS holds kid ${kid}` };
  }
  const ok = known.current === kid || known.previous.includes(kid);
  return {
    id: 'password-kid', kind: 'compatibility', name: 'Password-encryption key',
    ok,
    blocking: true,
    detail: ok
      ? `the target knows password-encryption kid ${kid}`
      : `the dump's saved passwords use kid ${kid}, the target has kid ${known.current}${known.previous.length ? ` (previous: ${known.previous.join(', ')})` : ''}: they could not be decrypted`,
  };
}

/** Per table: live rows now against rows in the dump. */
async function plannedChanges(db: TargetDb, scan: ArchiveScan, mode: string, chosen: ScannedTable[]): Promise<PlannedChange[]> {
  const live = await db.tables();
  const liveNames = new Set(live.map((t) => `${t.schema}.${t.name}`));
  const changes: PlannedChange[] = [];
  for (const table of chosen) {
    const key = `${table.schema ?? 'public'}.${table.name}`;
    const exists = liveNames.has(key);
    const count = exists ? await db.countRows({ schema: table.schema ?? 'public', name: table.name }) : null;
    changes.push({ item: table.qualified, action: exists ? 'replace' : 'add', live: count, archive: table.rows });
  }
  if (mode === 'full') {
    // pg_restore --clean drops only what the dump holds: other tables stay as they are.
    const inDump = new Set(scan.tables.map((t) => `${t.schema ?? 'public'}.${t.name}`));
    for (const table of live) {
      const key = `${table.schema}.${table.name}`;
      if (!inDump.has(key)) changes.push({ item: `${key} (not in the dump)`, action: 'keep', live: await db.countRows(table), archive: null });
    }
  }
  return changes;
}

async function migrationsCheck(db: TargetDb, scan: ArchiveScan): Promise<IntegrityCheck> {
  const live = await appliedMigrations(db);
  if (!scan.migrations) return { id: 'prisma-migrations', kind: 'verification', name: 'Prisma migrations', ok: true, detail: 'the dump holds no _prisma_migrations data; not compared' };
  if (!live) return { id: 'prisma-migrations', kind: 'verification', name: 'Prisma migrations', ok: false, detail: 'the target has no _prisma_migrations table after the restore' };
  const difference = migrationDifference(scan.migrations, live);
  const hash = scan.lookup.manifest?.prismaMigrationHash;
  return {
    id: 'prisma-migrations', kind: 'verification', name: 'Prisma migrations',
    ok: difference === null,
    detail: difference === null ? `${live.length} applied migrations, as in the dump${hash ? ` (manifest hash ${hash})` : ''}` : difference,
  };
}

/** Streams the archive into restoreCommand; RESTORE_FAILED with pg_restore's stderr tail on a non-zero exit. */
async function runPgRestore(ctx: StepContext, session: SshSession, settings: WeavestreamSettings, archive: ArchiveAccess, flags: string[]): Promise<void> {
  const counter = progressCounter(ctx, 'restore', archive.size);
  const input = await archive.open();
  input.on('error', (error) => counter.destroy(error));
  input.pipe(counter);
  // No signal: past the point of no return, stopping pg_restore halfway would leave less than either state.
  const result = await session.exec(renderCommand(settings.restoreCommand, settings, { flags }), {
    stdin: counter,
    describe: 'restoreCommand (pg_restore)',
    onStderr: (chunk) => ctx.log(chunk.toString('utf8').trimEnd()),
  });
  if (result.code !== 0) {
    const tail = result.stderr.trim().slice(-2000);
    throw new LifeboatError('RESTORE_FAILED', `pg_restore ${result.code !== null ? `exited with code ${result.code}` : `was killed (${result.signal ?? 'no status'})`}: ${tail || 'no error output'}`, {
      details: { exitCode: result.code, stderrTail: tail },
    });
  }
}

async function releaseLock(ctx: StepContext, db: TargetDb): Promise<void> {
  try {
    await db.releaseAdvisoryLock(WEAVESTREAM_LOCK_SQL_KEY);
  } catch (error) {
    // Closing the session right after releases a session-level lock anyway.
    ctx.log(`Releasing the backup lock failed (${(error as Error).message}); closing the connection releases it.`);
  }
}

