/**
 * Restoring a Loomio backup over SSH (spec §9). The stack's own scripts decrypt to a plaintext
 * file and feed it to psql without ON_ERROR_STOP, so a failing statement is skipped and the
 * restore "succeeds" half-done. Lifeboat instead:
 *
 * 1. verifies the whole token first (one pass: the HMAC is known only at the end);
 * 2. stops the services that use the database (`app worker channels hocuspocus`: hocuspocus
 *    holds a connection, and DROP/RENAME DATABASE fail while anyone is connected);
 * 3. decrypts in a second pass on its side and streams the plaintext over SSH into psql's stdin
 *    (nothing plaintext touches a disk on either side), inside one transaction it opens itself
 *    with ON_ERROR_STOP, and sends COMMIT only after the stream ended with the HMAC verified
 *    again. (Not `psql --single-transaction`: psql commits at the end of its input even when that
 *    input was cut short — a stream broken mid-COPY would be committed half-loaded.)
 *    `full` loads into a new database and swaps the names in one transaction, so a failing
 *    statement or a cancel leaves the live database exactly as it was; `empty-database` loads
 *    into the existing, empty database (what the stack's entrypoint does after a reboot);
 * 4. writes the restored state back as a manual backup (`loomio-manual-<time>-lifeboat-restore.sql.enc`,
 *    encrypted with the installation's key): the database lives on tmpfs and a reboot restores
 *    the newest backup by mtime, which would otherwise be the one from before the restore;
 * 5. starts the services again, whatever happened.
 */
import path from 'node:path/posix';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IntegrityCheck, PlannedChange, PreflightCheck, RestoreOptions } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { AdapterContext, ArchiveAccess, RestoreContext, RestorePlanDraft, StepContext } from '../adapter';
import { replaceOnly, type ArchiveOrigin, type RestorePart } from '../module';
import { progressCounter } from '../module-kit/progress';
import type { SshSession } from '../../transport/ssh/session';
import type { ExecResult } from '../../transport/ssh/exec';
import { TunnelDb, quoteIdent, type TunnelDbAddress } from '../../transport/postgres/tunnel-db';
import { fernetEncryptStream, fernetKeyId } from '../../formats/fernet';
import { TRANSACTION_LINE, plainSqlLineFilter, type PlainSqlTable } from '../../formats/plain-sql';
import { openPlaintext, scanLoomioArchive, type LoomioScan } from './archive-scan';
import { archiveKey, archiveKeyOwner, storedInstallationKey, type LoomioKey } from './key';
import { manualBackupName } from './names';
import { majorOf } from './preview';
import { pullVerifier, readFolders } from './sources';
import { loomioSettings, renderLoomioCommand, type LoomioSettings } from './settings';

const FULL_POINT_OF_NO_RETURN = 'the restored copy takes the live database\'s name (one ALTER DATABASE … RENAME transaction); the old database is then dropped';
const EMPTY_POINT_OF_NO_RETURN = 'the load into the empty database is committed';
/** The reason in the name of the copy of the restored state Lifeboat leaves in the backup folder. */
export const REBOOT_COPY_REASON = 'lifeboat-restore';

/** Full replace, and load into an empty database. */
export const LOOMIO_RESTORE_OPTIONS: RestoreOptions = replaceOnly([
  { id: 'full', label: 'Full replace', description: 'The stack\'s only restore: the database is replaced by the dump. Lifeboat loads it into a new database first and swaps the names, so a failed load changes nothing.', selectable: false },
  { id: 'empty-database', label: 'Into an empty database', description: 'Loads the dump into the existing database without dropping it, as the stack does after a reboot; refused when the database has tables.', selectable: false },
]);

/** The restore part of the module. */
export const loomioRestore: RestorePart = {
  plan: planRestore,
  run: runRestore,
  verify: verifyRestore,
};

/** Reads the archive with the key of where it came from (`origin`): the source installation's, or the one given for a file. */
async function scanWithKey(archive: ArchiveAccess, ctx: AdapterContext, readDump: boolean, origin: ArchiveOrigin | undefined): Promise<{ scan: LoomioScan; key: LoomioKey | null }> {
  let key: LoomioKey | null = null;
  const scan = await scanLoomioArchive(archive, ctx, { readDump, key: async (head) => (key = await archiveKey(ctx, origin, head)) });
  return { scan, key };
}

async function planRestore(ctx: AdapterContext, input: { archive: ArchiveAccess; mode: string; origin?: ArchiveOrigin }): Promise<RestorePlanDraft> {
  const settings = loomioSettings(ctx.installation);
  const { scan, key } = await scanWithKey(input.archive, ctx, true, input.origin);
  const sql = scan.failure ? null : scan.sql;
  const preflight: PreflightCheck[] = [{
    id: 'archive-integrity', kind: 'integrity', name: 'Archive integrity', blocking: true,
    ok: sql !== null && sql.complete,
    detail: sql ? (sql.complete ? `${scan.encrypted ? 'the Fernet HMAC verified; ' : 'not encrypted; '}${sql.tables.length} tables, ${sql.totalRows} rows` : 'pg_dump did not finish this dump (no "dump complete" trailer)') : scan.failure?.message ?? 'not read',
  }, await keysCheck(ctx, input.origin, scan.encrypted ? key : null)];
  const draft = (changes: PlannedChange[]): RestorePlanDraft => ({ preflight, changes, ...restoreSteps(input.mode, settings) });
  if (!sql) return draft([]);

  let session: SshSession;
  let db: TunnelDb;
  try {
    session = await ctx.ssh();
    db = await TunnelDb.connect(session, await dbAddress(ctx, settings));
  } catch (error) {
    if (!(error instanceof LifeboatError) || error.code === 'CANCELLED') throw error;
    preflight.push({ id: 'target-reachable', kind: 'target', name: 'Target database reachable', ok: false, blocking: true, detail: error.message });
    return draft([]);
  }
  try {
    const live = await db.tables();
    const serverVersion = await db.serverVersion();
    preflight.push({ id: 'target-reachable', kind: 'target', name: 'Target database reachable', ok: true, blocking: true, detail: `database ${settings.databaseName} on PostgreSQL ${serverVersion}, ${live.length} tables` });
    if (input.mode === 'empty-database') {
      preflight.push({ id: 'target-empty', kind: 'target', name: 'Database is empty', ok: live.length === 0, blocking: true, detail: live.length === 0 ? `${settings.databaseName} has no tables` : `${settings.databaseName} has ${live.length} tables (${live.slice(0, 5).map((t) => `${t.schema}.${t.name}`).join(', ')}…): use Full replace, or empty it first` });
    }
    const dumpMajor = majorOf(sql.serverVersion);
    const liveMajor = majorOf(serverVersion);
    preflight.push({
      id: 'server-version', kind: 'compatibility', name: 'PostgreSQL version', blocking: false,
      ok: dumpMajor === null || liveMajor === null || dumpMajor <= liveMajor,
      detail: `dumped from ${sql.serverVersion ?? 'unknown'}, target runs ${serverVersion}${sql.settings.includes('transaction_timeout') && liveMajor !== null && liveMajor < 17 ? '; the dump\'s SET transaction_timeout line will be left out (PostgreSQL < 17 rejects it)' : ''}`,
    });
    preflight.push(await psqlCheck(ctx, session, settings, sql.restrictLines));
    const others = await db.client.query<{ who: string }>(`SELECT coalesce(nullif(application_name, ''), usename) AS who FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
    preflight.push({
      id: 'connections', kind: 'target', name: 'Other connections', blocking: false,
      ok: true,
      detail: others.rows.length === 0 ? 'nobody else is connected' : `${others.rows.length} connection(s) now (${[...new Set(others.rows.map((r) => r.who))].join(', ')}); the restore stops ${settings.services.join(' ')} first and stops itself, changing nothing, if any connection is left then`,
    });
    const folder = await session.statOrNull(settings.backupDir);
    preflight.push({ id: 'backup-folder', kind: 'target', name: 'Backup folder', blocking: false, ok: folder?.isDirectory === true, detail: folder?.isDirectory ? `${settings.backupDir} exists: the restored state is written there as a backup` : `${settings.backupDir} is missing: no backup of the restored state can be left there, so a reboot of the Pi would restore an older backup` });
    return draft(await plannedChanges(db, sql.tables, input.mode));
  } finally {
    await db.close();
  }
}

async function plannedChanges(db: TunnelDb, tables: PlainSqlTable[], mode: string): Promise<PlannedChange[]> {
  const live = await db.tables();
  const liveNames = new Set(live.map((t) => `${t.schema}.${t.name}`));
  const changes: PlannedChange[] = [];
  for (const table of tables) {
    const key = `${table.schema ?? 'public'}.${table.name}`;
    const exists = liveNames.has(key);
    changes.push({ item: table.qualified, action: exists ? 'replace' : 'add', live: exists ? await db.countRows({ schema: table.schema ?? 'public', name: table.name }) : null, archive: table.rows });
    liveNames.delete(key);
  }
  if (mode === 'full') {
    // The whole database is replaced: tables that are not in the dump are gone afterwards.
    for (const table of live) {
      if (liveNames.has(`${table.schema}.${table.name}`)) changes.push({ item: `${table.schema}.${table.name} (not in the dump)`, action: 'remove', live: await db.countRows(table), archive: null });
    }
  }
  return changes;
}

function restoreSteps(mode: string, settings: LoomioSettings): Pick<RestorePlanDraft, 'steps' | 'pointOfNoReturn' | 'followUps'> {
  const followUps = [
    'Uploaded files are not in the dump: if they were lost too, restore data/production/uploads/{storage,system,files} from the same point in time (the stack syncs them to Google Drive).',
    `The backup of the restored state (loomio-manual-…-${REBOOT_COPY_REASON}.sql.enc) is deleted by the stack's retention after 30 days; later hourly backups take over.`,
  ];
  const common = [
    'Verify the whole Fernet token (HMAC) before anything on the Pi changes.',
    `Stop ${settings.services.join(' ')} (stopCommand); every outcome starts them again.`,
  ];
  const tail = [
    `Write the restored state into ${settings.backupDir} as a manual backup, so a reboot of the Pi (the database lives in RAM) brings back this state.`,
    `Start ${settings.services.join(' ')} (startCommand).`,
    'Compare live row counts with the dump\'s COPY blocks.',
  ];
  if (mode === 'empty-database') {
    return {
      steps: [...common, `Refuse if ${settings.databaseName} has tables; decrypt on this computer and stream the dump into psql (ON_ERROR_STOP, one transaction) in ${settings.databaseName}; COMMIT only after the HMAC verified again.`, ...tail],
      pointOfNoReturn: EMPTY_POINT_OF_NO_RETURN,
      followUps,
    };
  }
  return {
    steps: [
      ...common,
      `Refuse if anyone is still connected to ${settings.databaseName}; create a new database and stream the decrypted dump into it with psql (ON_ERROR_STOP, one transaction, COMMIT only after the HMAC verified again). A failure drops the new database: the live one is untouched.`,
      `Swap the names in one transaction (the live database is renamed away, the new one takes its name), then drop the old database. Needs room for both in the Pi's RAM for a moment.`,
      ...tail,
    ],
    pointOfNoReturn: FULL_POINT_OF_NO_RETURN,
    followUps,
  };
}

/**
 * Which key decrypts the archive and which encrypts the backup of the restored state left on the
 * Pi (always the target's: the stack decrypts its backups with its own key after a reboot).
 */
async function keysCheck(ctx: AdapterContext, origin: ArchiveOrigin | undefined, decrypting: LoomioKey | null): Promise<PreflightCheck> {
  const check = { id: 'keys', kind: 'compatibility', name: 'Keys', blocking: false } as const;
  const target = await storedInstallationKey(ctx);
  const same = decrypting !== null && target !== null && fernetKeyId(decrypting.key) === fernetKeyId(target.key);
  const decrypt = decrypting ? `Decrypted with ${archiveKeyOwner(ctx, origin, same)}, key ${fernetKeyId(decrypting.key)}` : 'Not encrypted: nothing to decrypt';
  if (!target) {
    return { ...check, ok: false, detail: `${decrypt}. No BACKUP_ENCRYPTION_KEY is stored for "${ctx.installation.name}", so the backup of the restored state cannot be encrypted and is not written: a reboot of the Pi would restore an older backup. Store "${ctx.installation.name}"'s key to have it written.` };
  }
  return { ...check, ok: true, detail: `${decrypt}. The backup of the restored state written to the Pi (loomio-manual-…-${REBOOT_COPY_REASON}.sql.enc) is encrypted with "${ctx.installation.name}"'s BACKUP_ENCRYPTION_KEY, key ${fernetKeyId(target.key)}${decrypting ? (same ? ' (the same key)' : ' (another key than the archive\'s: the stack there decrypts with its own)') : ''}.` };
}

async function runRestore(ctx: RestoreContext, input: { plan: { mode: string }; archive: ArchiveAccess; origin?: ArchiveOrigin }): Promise<void> {
  const settings = loomioSettings(ctx.installation);
  ctx.log('Verifying the whole archive before anything changes (pass 1 of 2).');
  const { scan, key } = await scanWithKey(input.archive, ctx, false, input.origin);
  if (key) {
    const id = fernetKeyId((key as LoomioKey).key);
    const target = await storedInstallationKey(ctx);
    const targets = target !== null && fernetKeyId(target.key) === id;
    ctx.log(`The archive is decrypted with ${archiveKeyOwner(ctx, input.origin, targets)} (key ${id}).`);
  }
  if (scan.failure) throw new LifeboatError('RESTORE_FAILED', `${scan.failure.message} Nothing on the Pi was changed.`, { cause: scan.failure });
  const session = await ctx.ssh();
  const psqlVersion = await psqlVersionOf(ctx, session, settings);
  const serverMajor = Math.floor(Number(await psqlQuery(ctx, session, settings, 'postgres', 'SHOW server_version_num')) / 10_000);
  const dropLine = dropRules(serverMajor, psqlVersion ? restrictSupported(psqlVersion) : false);
  throwIfCancelled(ctx, 'before anything on the Pi changed');

  await withServicesStopped(ctx, session, settings, async () => {
    const load = (database: string, beforeCommit: () => void): Promise<void> => loadDump({ ctx, session, settings, database, archive: input.archive, scan, key, dropLine, beforeCommit });
    if (input.plan.mode === 'empty-database') {
      const tables = Number(await psqlQuery(ctx, session, settings, settings.databaseName, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`));
      if (tables > 0) throw new LifeboatError('RESTORE_FAILED', `${settings.databaseName} is not empty (${tables} tables); nothing was changed. Use Full replace.`);
      await load(settings.databaseName, () => ctx.passPointOfNoReturn(EMPTY_POINT_OF_NO_RETURN));
    } else {
      await replaceDatabase(ctx, session, settings, load);
    }
    await writeRebootCopy(ctx, session, settings, input.archive, scan, key);
  });
}

/** Full replace: load into a new database, then swap names atomically and drop the old one. */
async function replaceDatabase(ctx: RestoreContext, session: SshSession, settings: LoomioSettings, load: (database: string, beforeCommit: () => void) => Promise<void>): Promise<void> {
  const db = settings.databaseName;
  const others = await psqlQuery(ctx, session, settings, 'postgres', `SELECT coalesce(string_agg(coalesce(nullif(application_name, ''), usename) || ' (pid ' || pid || ')', ', '), '') FROM pg_stat_activity WHERE datname = ${quoteLiteral(db)} AND pid <> pg_backend_pid()`);
  if (others.trim()) {
    throw new LifeboatError('RESTORE_FAILED', `Still connected to ${db} after stopping ${settings.services.join(' ')}: ${others.trim()}. Nothing was changed; stop those clients (or add their service to the services setting) and try again.`);
  }
  const stamp = Date.now().toString(36);
  const fresh = `${db.slice(0, 40)}_lifeboat_${stamp}`;
  const old = `${db.slice(0, 40)}_lifeboat_old_${stamp}`;
  await psqlQuery(ctx, session, settings, 'postgres', `CREATE DATABASE ${quoteIdent(fresh)}`);
  ctx.log(`Loading the dump into the new database ${fresh} (pass 2 of 2); ${db} stays as it is until the load has committed.`);
  try {
    await load(fresh, () => undefined);
    throwIfCancelled(ctx, `the new database ${fresh} was dropped; ${db} is as it was`);
    ctx.passPointOfNoReturn(FULL_POINT_OF_NO_RETURN);
    // Both renames in one -c run as one transaction: either both happen or neither.
    await psqlQuery(ctx, session, settings, 'postgres', `ALTER DATABASE ${quoteIdent(db)} RENAME TO ${quoteIdent(old)}; ALTER DATABASE ${quoteIdent(fresh)} RENAME TO ${quoteIdent(db)}`, { cancellable: false });
  } catch (error) {
    const dropFailure = await psqlQuery(ctx, session, settings, 'postgres', `DROP DATABASE IF EXISTS ${quoteIdent(fresh)}`, { cancellable: false }).then(() => null, (failure: unknown) => failure as Error);
    if (!dropFailure) throw error;
    const note = `The new database ${fresh} may be left on the server (dropping it failed: ${dropFailure.message}): drop it by hand.`;
    ctx.log(note);
    throw withNote(error, note);
  }
  ctx.log(`${db} is now the restored database; dropping the old one (${old}).`);
  await psqlQuery(ctx, session, settings, 'postgres', `DROP DATABASE ${quoteIdent(old)}`, { cancellable: false }).catch((error: unknown) => ctx.log(`Dropping the old database ${old} failed: ${(error as Error).message}; drop it by hand to free the Pi's RAM.`));
}

/** Stops the services, runs `work`, and starts them again in every outcome (also after a cancel). */
async function withServicesStopped(ctx: RestoreContext, session: SshSession, settings: LoomioSettings, work: () => Promise<void>): Promise<void> {
  let failure: unknown = null;
  try {
    ctx.log(`Stopping ${settings.services.join(' ')}.`);
    await session.execChecked(renderLoomioCommand(settings.stopCommand, settings), { describe: 'stopCommand', onStderr: (c) => ctx.log(c.toString('utf8').trimEnd()) });
    await work();
  } catch (error) {
    failure = error;
  }
  ctx.log(`Starting ${settings.services.join(' ')} again.`);
  // No signal: the services must come back even when the job was cancelled.
  const start = await session.exec(renderLoomioCommand(settings.startCommand, settings), { describe: 'startCommand' }).catch((error: unknown) => error as Error);
  const problem = start instanceof Error ? start.message : start.code !== 0 ? `exit ${start.code ?? start.signal}: ${start.stderr.trim().slice(-500)}` : null;
  if (failure !== null) {
    if (!problem) throw failure;
    const note = `${settings.services.join(' ')} are stopped: starting them failed too (${problem}); start them by hand (${renderLoomioCommand(settings.startCommand, settings)}).`;
    ctx.log(note);
    throw withNote(failure, note);
  }
  if (problem) throw new LifeboatError('RESTORE_FAILED', `The database was restored, but starting ${settings.services.join(' ')} failed (${problem}); start them by hand.`);
}

/** The same failure with what else the operator must know added to its message (a leftover, stopped services). */
function withNote(error: unknown, note: string): LifeboatError {
  if (error instanceof LifeboatError) return new LifeboatError(error.code, `${error.message} ${note}`, { cause: error.cause ?? error, ...(error.details ? { details: error.details } : {}) });
  return new LifeboatError('RESTORE_FAILED', `${(error as Error).message} ${note}`, { cause: error });
}

interface LoadInput {
  ctx: RestoreContext;
  session: SshSession;
  settings: LoomioSettings;
  database: string;
  archive: ArchiveAccess;
  scan: LoomioScan;
  key: LoomioKey | null;
  dropLine: (line: string) => boolean;
  beforeCommit: () => void;
}

/** Streams the decrypted dump into psql inside BEGIN … COMMIT; COMMIT is sent only after the whole token verified. */
async function loadDump(input: LoadInput): Promise<void> {
  const { ctx, settings } = input;
  const dropped: number[] = [];
  const plaintext = await openPlaintext(input.archive, input.scan, input.key);
  const filter = plainSqlLineFilter({
    drop: input.dropLine,
    onDropped(line, lineNumber) {
      dropped.push(lineNumber);
      ctx.log(`Leaving out line ${lineNumber}: ${line.slice(0, 80)}`);
    },
  });
  plaintext.on('error', (error) => filter.destroy(error));
  const counter = progressCounter(ctx, 'loading into PostgreSQL', null);
  filter.on('error', (error) => counter.destroy(error));
  plaintext.pipe(filter).pipe(counter);
  let commitSent = false;
  async function* framed(): AsyncGenerator<Buffer> {
    yield Buffer.from('BEGIN;\n');
    for await (const chunk of counter as AsyncIterable<Buffer>) {
      throwIfCancelled(ctx, 'nothing of the load was committed');
      yield chunk;
    }
    // The decrypt stream ended without an error: the token's HMAC verified in this pass too.
    input.beforeCommit();
    commitSent = true;
    yield Buffer.from('\nCOMMIT;\n');
  }
  const stdin = Readable.from(framed());
  let result: ExecResult;
  try {
    result = await input.session.exec(renderLoomioCommand(settings.psqlCommand, settings, { args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--echo-errors', '-d', input.database, '-f', '-'] }), { stdin, describe: 'psqlCommand (load)', maxBuffer: 256 * 1024 });
  } catch (error) {
    const cause = error instanceof LifeboatError && error.cause instanceof LifeboatError ? error.cause : error;
    if (cause instanceof LifeboatError && cause.code === 'CANCELLED') throw cause;
    throw new LifeboatError('RESTORE_FAILED', `Streaming the dump into psql broke off (${(cause as Error).message}); nothing of the load was committed.`, { cause });
  } finally {
    plaintext.destroy();
  }
  if (result.code === null && result.signal === null) {
    // No exit status: the channel closed under psql (the connection or sshd died).
    throw new LifeboatError('RESTORE_FAILED', `The SSH channel closed before psql said how the load ended; ${commitSent ? 'COMMIT had been sent, so the load may have been committed' : 'nothing of the load was committed'}.`, { details: { exitCode: null } });
  }
  if (result.code !== 0) {
    const failure = firstPsqlError(result.stderr, dropped);
    const where = failure?.line ? ` on line ${failure.line} of the dump` : '';
    throw new LifeboatError('RESTORE_FAILED', `psql stopped at the first failing statement${where}: ${failure?.error ?? (result.stderr.trim().slice(-500) || `exit ${result.code ?? result.signal}`)}${failure?.statement ? ` — statement: ${failure.statement.slice(0, 400)}` : ''}. The load was one transaction, so nothing of it was kept.`, {
      details: { line: failure?.line ?? null, error: failure?.error ?? null, statement: failure?.statement ?? null, exitCode: result.code },
    });
  }
  ctx.log(`psql loaded the dump into ${input.database}${dropped.length ? ` (${dropped.length} line(s) left out)` : ''}.`);
}

/** The first error psql reported (with `--echo-errors`): its line in the dump, message and statement. */
export function firstPsqlError(stderr: string, dropped: number[] = []): { line: number | null; error: string; statement: string | null } | null {
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => /^psql:[^:]*:\d+: ERROR: /.test(l));
  if (at === -1) return null;
  const head = /^psql:[^:]*:(\d+): ERROR:\s+(.*)$/.exec(lines[at]!)!;
  const detail: string[] = [head[2]!];
  let statement: string[] | null = null;
  for (const line of lines.slice(at + 1)) {
    const stmt = /^psql:[^:]*:\d+: STATEMENT:\s+(.*)$/.exec(line);
    if (stmt) {
      statement = [stmt[1]!];
      continue;
    }
    if (/^psql:/.test(line)) break;
    if (statement) statement.push(line);
    else if (/^(CONTEXT|DETAIL|HINT):/.test(line)) detail.push(line.trim());
  }
  // psql counts lines of what it read: our BEGIN line first, without the lines left out.
  let original = Number(head[1]) - 1;
  for (const d of [...dropped].sort((a, b) => a - b)) if (d <= original) original += 1;
  return { line: original > 0 ? original : null, error: detail.join(' '), statement: statement ? statement.join('\n').trim() : null };
}

/** Writes the restored state, encrypted with the installation's key, as a manual backup (temporary dot-name, then renamed). */
async function writeRebootCopy(ctx: StepContext & AdapterContext, session: SshSession, settings: LoomioSettings, archive: ArchiveAccess, scan: LoomioScan, key: LoomioKey | null): Promise<void> {
  const folder = await session.statOrNull(settings.backupDir);
  if (!folder?.isDirectory) {
    ctx.log(`${settings.backupDir} does not exist: no backup of the restored state was written; a reboot of the Pi would restore an older backup.`);
    return;
  }
  // The target's own stored key, whatever opened the archive: the stack there decrypts its backups with it.
  const target = await storedInstallationKey(ctx);
  if (!target) {
    ctx.log(`No BACKUP_ENCRYPTION_KEY is stored for "${ctx.installation.name}": no backup of the restored state was written (a key typed this session may be another stack's). Make a manual backup on the Pi (make create-backup) before it reboots.`);
    return;
  }
  const name = manualBackupName(new Date(), REBOOT_COPY_REASON);
  const temporary = path.join(settings.backupDir, `.${name}.lifeboat-tmp`);
  try {
    await pipeline(await openPlaintext(archive, scan, key), fernetEncryptStream(target.key), await session.createWriteStream(temporary, { fsync: true }));
    await session.rename(temporary, path.join(settings.backupDir, name));
    ctx.log(`Wrote ${name}, encrypted with "${ctx.installation.name}"'s BACKUP_ENCRYPTION_KEY (key ${fernetKeyId(target.key)}): the newest backup by mtime, so a reboot of the Pi restores this state.`);
  } catch (error) {
    await session.remove(temporary).catch(() => undefined);
    ctx.log(`Writing the backup of the restored state failed (${(error as Error).message}); make a manual backup (make create-backup) before the Pi reboots.`);
  }
}

async function verifyRestore(ctx: AdapterContext, input: { plan: { createdAt: string }; archive: ArchiveAccess; origin?: ArchiveOrigin }): Promise<IntegrityCheck[]> {
  const settings = loomioSettings(ctx.installation);
  const { scan } = await scanWithKey(input.archive, ctx, true, input.origin);
  if (scan.failure || !scan.sql) return [{ id: 'archive', kind: 'verification', name: 'Archive', ok: false, detail: scan.failure?.message ?? 'not read' }];
  const session = await ctx.ssh();
  const db = await TunnelDb.connect(session, await dbAddress(ctx, settings));
  const checks: IntegrityCheck[] = [];
  try {
    const live = new Set((await db.tables()).map((t) => `${t.schema}.${t.name}`));
    for (const table of scan.sql.tables) {
      const ref = { schema: table.schema ?? 'public', name: table.name };
      const exists = live.has(`${ref.schema}.${ref.name}`);
      const count = exists ? await db.countRows(ref) : null;
      checks.push({ id: `rows:${table.qualified}`, kind: 'verification', name: `Rows of ${table.qualified}`, ok: count === table.rows, detail: count === null ? 'the table does not exist after the restore' : `${count} rows live, ${table.rows} in the dump` });
    }
  } finally {
    await db.close();
  }
  const since = new Date(input.plan.createdAt).getTime();
  const copy = (await readFolders(session, settings)).backups.find((b) => b.name.reason === REBOOT_COPY_REASON && b.dir === settings.backupDir && b.entry.mtime.getTime() >= since - 5000);
  checks.push(copy
    ? await rebootCopyCheck(ctx, session, copy.location, path.join(copy.dir, copy.entry.name), copy.entry.size)
    : { id: 'reboot-copy', kind: 'verification', name: 'Backup of the restored state', ok: true, detail: 'none was written', skipped: `no loomio-manual-…-${REBOOT_COPY_REASON}.sql.enc in ${settings.backupDir}: make a manual backup before the Pi reboots, or it restores an older one` });
  checks.push(await servicesCheck(ctx, session, settings));
  return checks;
}

/** The backup of the restored state, read back from the Pi: its HMAC verifies with the target's key (the one the stack there decrypts with). */
async function rebootCopyCheck(ctx: AdapterContext, session: SshSession, location: string, file: string, size: number): Promise<IntegrityCheck> {
  const check = { id: 'reboot-copy', kind: 'verification', name: 'Backup of the restored state' } as const;
  const key = await storedInstallationKey(ctx);
  if (!key) return { ...check, ok: false, detail: `${location} was found, but no BACKUP_ENCRYPTION_KEY is stored for "${ctx.installation.name}" to check it with` };
  const verifier = pullVerifier(path.basename(file), size, key);
  let bytes = 0;
  for await (const chunk of await session.createReadStream(file, { signal: ctx.signal }) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    verifier.write(chunk);
  }
  const hmac = (await verifier.finish({ size: bytes, sha256: '' })).find((c) => c.id === 'fernet-hmac');
  return hmac?.ok
    ? { ...check, ok: true, detail: `${location} (${size} bytes) is the newest backup, so a reboot of the Pi restores this state; its HMAC verifies with "${ctx.installation.name}"'s BACKUP_ENCRYPTION_KEY (key ${fernetKeyId(key.key)})` }
    : { ...check, ok: false, detail: `${location} does not verify with "${ctx.installation.name}"'s BACKUP_ENCRYPTION_KEY: ${hmac?.detail ?? 'it is not a Fernet token'}; the stack could not restore it after a reboot: make a manual backup now` };
}

/** The app's health after a restore: every service the restore stopped is running again (statusCommand); an explicitly empty statusCommand skips it. */
async function servicesCheck(ctx: AdapterContext, session: SshSession, settings: LoomioSettings): Promise<IntegrityCheck> {
  const check = { id: 'services', kind: 'verification', name: 'Services running again' } as const;
  if (String(ctx.installation.settings?.statusCommand ?? 'default').trim() === '') {
    return { ...check, ok: true, detail: 'not checked', skipped: 'the statusCommand setting is empty: check by hand that the app answers' };
  }
  const result = await session.exec(renderLoomioCommand(settings.statusCommand, settings), { describe: 'statusCommand', signal: ctx.signal }).catch((error: unknown) => error as Error);
  if (result instanceof Error || result.code !== 0) {
    return { ...check, ok: false, detail: `statusCommand failed (${result instanceof Error ? result.message : `exit ${result.code ?? result.signal}: ${result.stderr.trim().slice(-300)}`}); start ${settings.services.join(' ')} by hand and check the app` };
  }
  const running = new Set(result.stdout.split(/\s+/).filter(Boolean));
  const missing = settings.services.filter((s) => !running.has(s));
  return missing.length === 0
    ? { ...check, ok: true, detail: `${settings.services.join(', ')} running` }
    : { ...check, ok: false, detail: `not running after the restore: ${missing.join(', ')} (statusCommand lists ${[...running].join(', ') || 'none'}); start them (docker compose start ${missing.join(' ')}) and look at their logs` };
}

/** Runs psql with arguments through psqlCommand. */
function runPsql(ctx: StepContext, session: SshSession, settings: LoomioSettings, args: string[], options: { cancellable?: boolean; describe: string }): Promise<ExecResult> {
  return session.exec(renderLoomioCommand(settings.psqlCommand, settings, { args }), { describe: options.describe, ...(options.cancellable === false ? {} : { signal: ctx.signal }) });
}

/** One SQL command through psqlCommand (ON_ERROR_STOP, unaligned tuples); RESTORE_FAILED with psql's error. */
async function psqlQuery(ctx: StepContext, session: SshSession, settings: LoomioSettings, database: string, sql: string, options: { cancellable?: boolean } = {}): Promise<string> {
  const result = await runPsql(ctx, session, settings, ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', sql], { ...options, describe: `psqlCommand (${sql.slice(0, 60)})` });
  if (result.code !== 0) throw new LifeboatError('RESTORE_FAILED', `psql failed on "${sql.slice(0, 200)}": ${result.stderr.trim().slice(-800) || `exit ${result.code ?? result.signal}`}`);
  return result.stdout.trim();
}

/** `psql --version` through the template: `[major, minor]`, or null when it printed none. */
async function psqlVersionOf(ctx: StepContext, session: SshSession, settings: LoomioSettings): Promise<[number, number] | null> {
  const result = await runPsql(ctx, session, settings, ['--version'], { describe: 'psqlCommand --version' });
  const match = /\(PostgreSQL\) (\d+)(?:\.(\d+))?/.exec(result.stdout);
  return result.code === 0 && match ? [Number(match[1]), Number(match[2] ?? 0)] : null;
}

async function psqlCheck(ctx: StepContext, session: SshSession, settings: LoomioSettings, restrictLines: number): Promise<PreflightCheck> {
  const version = await psqlVersionOf(ctx, session, settings);
  if (!version) return { id: 'psql', kind: 'target', name: 'psql client on the target', ok: false, blocking: true, detail: 'psqlCommand --version printed no psql version: check the psql command setting (and that the db container runs)' };
  const restrict = restrictSupported(version);
  return { id: 'psql', kind: 'target', name: 'psql client on the target', ok: true, blocking: true, detail: `psql ${version.join('.')}${restrictLines > 0 && !restrict ? ': too old for the dump\'s \\restrict lines, which will be left out' : ''}` };
}

/** psql knows `\restrict` from 13.22, 14.19, 15.14, 16.10, 17.6 and 18 on (CVE-2025-8714). */
export function restrictSupported([major, minor]: [number, number]): boolean {
  const since: Record<number, number> = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 };
  return major >= 18 || (since[major] !== undefined && minor >= since[major]);
}

/** Which statement lines the load leaves out for this server and psql. */
export function dropRules(serverMajor: number, psqlKnowsRestrict: boolean): (line: string) => boolean {
  return (line) =>
    // The load is one transaction of Lifeboat's: the dump's own BEGIN/COMMIT would end it early.
    TRANSACTION_LINE.test(line) ||
    (!psqlKnowsRestrict && /^\\(un)?restrict /.test(line)) ||
    (serverMajor < 17 && /^SET transaction_timeout = /.test(line));
}

function throwIfCancelled(ctx: StepContext, state: string): void {
  if (ctx.signal.aborted) throw new LifeboatError('CANCELLED', `The restore was cancelled; ${state}.`);
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export async function dbAddress(ctx: AdapterContext, settings: LoomioSettings): Promise<TunnelDbAddress> {
  return {
    host: settings.databaseHost, port: settings.databasePort, database: settings.databaseName, user: settings.databaseUser,
    password: await ctx.secret('database-password'),
    passwordFrom: { installation: ctx.installation.name, slot: 'database-password' },
  };
}
