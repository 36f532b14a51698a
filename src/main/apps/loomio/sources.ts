/**
 * The stack's backups over SSH: the current folder and the two legacy ones listed with both name
 * generations (tier, reason, Fernet time read from each file's first 12 characters without the
 * key), pulled by SFTP with resume and verified as they stream (Fernet structure + HMAC with the
 * installation's key, or the plain dump's structure), and made on demand by the stack's manual
 * backup command.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path/posix';
import type { IntegrityCheck } from '../../../shared/apps';
import { formatBytes } from '../../../shared/format-bytes';
import { LifeboatError } from '../../../shared/errors';
import type { AdapterContext, PullSource, StreamVerifier, WholeArchive } from '../adapter';
import type { RemoteListing } from '../module';
import type { SshSession } from '../../transport/ssh/session';
import type { RemoteEntry } from '../../transport/ssh/sftp';
import { FernetTokenReader, fernetKeyId, readFernetTimestamp } from '../../formats/fernet';
import { PlainSqlReader } from '../../formats/plain-sql';
import { KEY_HINT, installationKey, looksLikeDumpStart, type LoomioKey } from './key';
import { isRestoreLeftover, parseLoomioBackupName, retentionDeadline, type LoomioBackupName } from './names';
import { loomioSettings, renderLoomioCommand, type LoomioSettings } from './settings';

/** One backup file found on the server. */
export interface FoundBackup {
  /** Where it is: the file name in the current folder, `<folder>/<name>` (relative to the stack) in a legacy one. */
  location: string;
  dir: string;
  entry: RemoteEntry;
  name: LoomioBackupName;
}

/** What the folders hold: the backups, newest first, and plaintext restore leftovers (a finding). */
export interface StackFolders {
  backups: FoundBackup[];
  leftovers: { path: string; size: number; mtime: Date }[];
}

/** Lists every backup folder that exists. */
export async function readFolders(session: SshSession, settings: LoomioSettings): Promise<StackFolders> {
  const found: StackFolders = { backups: [], leftovers: [] };
  for (const dir of settings.backupDirs) {
    const info = await session.statOrNull(dir);
    if (!info?.isDirectory) continue;
    for (const entry of await session.list(dir)) {
      if (!entry.isFile || entry.name.startsWith('.')) continue;
      if (isRestoreLeftover(entry.name)) {
        found.leftovers.push({ path: path.join(dir, entry.name), size: entry.size, mtime: entry.mtime });
        continue;
      }
      const name = parseLoomioBackupName(entry.name);
      if (!name) continue;
      const location = dir === settings.backupDir ? entry.name : `${path.relative(settings.stackDir, dir)}/${entry.name}`;
      found.backups.push({ location, dir, entry, name });
    }
  }
  found.backups.sort((a, b) => b.entry.mtime.getTime() - a.entry.mtime.getTime() || b.name.nameTime.getTime() - a.name.nameTime.getTime());
  return found;
}

/** The security finding about plaintext restore leftovers, or null when there are none. */
export function leftoverFinding(folders: StackFolders, now = new Date()): string | null {
  if (folders.leftovers.length === 0) return null;
  const files = folders.leftovers.map((l) => `${l.path} (${formatBytes(l.size)}, ${ageText(now.getTime() - l.mtime.getTime())} old, since ${l.mtime.toISOString()})`).join(', ');
  const one = folders.leftovers.length === 1;
  return `${one ? 'a plaintext database dump is' : `${folders.leftovers.length} plaintext database dumps are`} lying on the server: ${files}, left behind by the stack's restore scripts. ${one ? 'It is' : 'Each is'} an unencrypted copy of the whole database, and the next Google Drive sync uploads it; delete it on the server.`;
}

function ageText(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return 'under a minute';
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} hours`;
  return `${Math.round(hours / 24)} days`;
}

/** The first 12 characters of a file: its Fernet time, or null (plain SQL, or not readable). */
async function fernetTime(session: SshSession, file: string, signal: AbortSignal): Promise<Date | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of (await session.createReadStream(file, { length: 12, signal })) as AsyncIterable<Buffer>) chunks.push(chunk);
  return readFernetTimestamp(Buffer.concat(chunks));
}

const VERSION = /@(m?\d+)$/;

/**
 * Which write of a file this is: its Fernet time (`@<epoch>`), or its mtime (`@m<epoch>`) when it
 * has none. Part of the remote id, because the stack overwrites a file under the same name (a
 * second daily or weekly run that day, two manual backups in one second): the new content is a
 * new backup to pull, not one the vault already holds.
 */
async function versionOf(session: SshSession, backup: FoundBackup, signal: AbortSignal): Promise<{ time: Date | null; version: string }> {
  const time = backup.name.encrypted ? await fernetTime(session, path.join(backup.dir, backup.entry.name), signal) : null;
  return { time, version: time ? String(time.getTime() / 1000) : `m${Math.floor(backup.entry.mtime.getTime() / 1000)}` };
}

/** The backups, newest first, each with what its name and its first bytes say. */
export async function listBackups(ctx: AdapterContext): Promise<RemoteListing[]> {
  const settings = loomioSettings(ctx.installation);
  const session = await ctx.ssh();
  const folders = await readFolders(session, settings);
  const finding = leftoverFinding(folders);
  if (finding) ctx.log(`Security finding: ${finding}`);
  const listings: RemoteListing[] = [];
  for (const backup of folders.backups) {
    const { time, version } = await versionOf(session, backup, ctx.signal);
    const deadline = retentionDeadline(backup.name.tier, backup.entry.mtime);
    const details: Record<string, string> = {
      tier: backup.name.tier,
      generation: backup.name.generation,
      folder: backup.dir,
      encrypted: backup.name.encrypted ? 'yes (Fernet)' : 'NO: a plain SQL dump, readable by anyone who gets the file',
      nameTime: backup.name.nameTime.toISOString(),
      fernetTime: time?.toISOString() ?? (backup.name.encrypted ? 'unreadable: not a Fernet token' : 'none (not encrypted)'),
      mtime: backup.entry.mtime.toISOString(),
      retention: deadline ? `the stack deletes it after ${deadline.toISOString()} (by mtime)` : 'never deleted by the stack\'s cleanup (a v1 name)',
    };
    if (backup.name.reason) details.reason = backup.name.reason;
    // The finding concerns the folder every backup lies in, so each entry carries it; a synthetic entry would be pulled as a backup.
    if (finding) details.securityFinding = finding;
    listings.push({ id: `${backup.location}@${version}`, name: backup.entry.name, createdAt: (time ?? backup.name.nameTime).toISOString(), sizeBytes: backup.entry.size, details });
  }
  return listings;
}

/** The folder, file and write (version, when the id names one) of a remote id; INVALID_INPUT for anything that is not a backup in one of the folders. */
function locate(settings: LoomioSettings, remoteId: string): { dir: string; file: string; name: LoomioBackupName; version: string | null } {
  const version = VERSION.exec(remoteId)?.[1] ?? null;
  const location = version ? remoteId.slice(0, -version.length - 1) : remoteId;
  const base = path.basename(location);
  const folder = location.includes('/') ? path.join(settings.stackDir, path.dirname(location)) : settings.backupDir;
  const name = parseLoomioBackupName(base);
  if (!name || !settings.backupDirs.includes(folder)) {
    throw new LifeboatError('INVALID_INPUT', `"${remoteId.slice(0, 120)}" is not a Loomio backup in ${settings.backupDirs.join(', ')}.`);
  }
  return { dir: folder, file: path.join(folder, base), name, version };
}

/** Opens one backup for a pull: SFTP from any offset, verified while it streams. */
export async function openBackup(ctx: AdapterContext, remoteId: string): Promise<PullSource> {
  const settings = loomioSettings(ctx.installation);
  const { dir, file, name, version } = locate(settings, remoteId);
  const session = await ctx.ssh();
  const info = await session.stat(file);
  if (version) {
    const now = await versionOf(session, { location: remoteId, dir, entry: { ...info, name: path.basename(file) }, name }, ctx.signal);
    if (now.version !== version) {
      throw new LifeboatError('NOT_FOUND', `${path.basename(file)} was overwritten since it was listed (the stack reuses the name for a later run): list the backups again to pull what it holds now.`, { details: { listed: version, now: now.version } });
    }
  }
  // The key is needed before the first byte: the verifier checks the HMAC as the bytes pass.
  const key = name.encrypted ? await installationKey(ctx) : null;
  return {
    remoteId,
    fileName: path.basename(file),
    size: info.size,
    mtime: info.mtime,
    sidecars: [],
    groupPath: dir,
    resumable: true,
    // ctx.ssh() again: after a cut connection it is a new session, and the read resumes there.
    open: async (offset) => (await ctx.ssh()).createReadStream(file, { start: offset, signal: ctx.signal }),
    createVerifier: () => pullVerifier(path.basename(file), info.size, key),
  };
}

/** Checks a pull as it streams: the size as listed, and the token (HMAC) or the plain dump's structure. */
export function pullVerifier(fileName: string, listedSize: number, key: LoomioKey | null): StreamVerifier {
  const token = key ? new FernetTokenReader({ key: key.key, decrypt: false, label: fileName, keyVerifiedElsewhere: key.verifiedBefore, keyHint: KEY_HINT, recognizePlaintext: looksLikeDumpStart }) : null;
  const dump = key ? null : new PlainSqlReader({ label: fileName });
  return {
    write(chunk) {
      if (token) token.write(chunk);
      else dump!.write(chunk);
    },
    async finish(whole: WholeArchive): Promise<IntegrityCheck[]> {
      const checks: IntegrityCheck[] = [{
        id: 'size', kind: 'integrity', name: 'Size as listed',
        ok: whole.size === listedSize,
        detail: whole.size === listedSize ? `${whole.size} bytes, as listed` : `${whole.size} bytes arrived, the server listed ${listedSize}: the file changed while it was read (the stack overwrites same-day daily and weekly files)`,
      }];
      if (token) {
        const outcome = token.finish();
        if (outcome.ok) key!.markVerified();
        checks.push(outcome.ok
          ? { id: 'fernet-hmac', kind: 'integrity', name: 'Fernet HMAC', ok: true, detail: `HMAC-SHA256 verified with BACKUP_ENCRYPTION_KEY (key ${fernetKeyId(key!.key)}); token written ${outcome.facts.timestamp.toISOString()}` }
          : { id: 'fernet-hmac', kind: 'integrity', name: 'Fernet HMAC', ok: false, detail: outcome.error.message });
        return checks;
      }
      checks.push(plainDumpCheck(fileName, dump!));
      return checks;
    },
  };
}

/** An unencrypted dump has no checksum: only that pg_dump finished writing it and no COPY block is cut. */
function plainDumpCheck(fileName: string, dump: PlainSqlReader): IntegrityCheck {
  try {
    const summary = dump.finish();
    const ok = summary.isPgDump && summary.complete;
    return {
      id: 'plain-dump', kind: 'integrity', name: 'Plain dump complete',
      ok,
      detail: ok ? `not encrypted, so nothing proves it unaltered; pg_dump finished it (${summary.tables.length} COPY blocks, ${summary.totalRows} rows)` : `${fileName} ${summary.isPgDump ? 'lacks the "dump complete" trailer: pg_dump did not finish it' : 'is not a pg_dump script'}`,
    };
  } catch (error) {
    if (!(error instanceof LifeboatError)) throw error;
    return { id: 'plain-dump', kind: 'integrity', name: 'Plain dump complete', ok: false, detail: error.message };
  }
}

/** Runs the stack's manual backup and returns the file it wrote. */
export async function triggerBackup(ctx: AdapterContext): Promise<{ message: string; remoteId: string | null }> {
  const settings = loomioSettings(ctx.installation);
  if (!settings.backupCommand) throw new LifeboatError('APP_UNSUPPORTED', `"${ctx.installation.name}" has no backupCommand, so Lifeboat cannot ask the stack for a backup.`);
  const session = await ctx.ssh();
  // A reason of its own names the file exactly: the stack names manual backups by the second, so
  // two in one second (or a file touched in that second) could not be told apart by name or mtime.
  const reason = `lifeboat-${randomBytes(3).toString('hex')}`;
  ctx.log(`Running the stack's manual backup (backup.py --type manual --reason ${reason}).`);
  await session.execChecked(renderLoomioCommand(settings.backupCommand, settings, { reason }), { signal: ctx.signal, describe: 'backupCommand', onStderr: (c) => ctx.log(c.toString('utf8').trimEnd()) });
  const made = (await readFolders(session, settings)).backups.find((b) => b.name.tier === 'manual' && b.name.reason === reason) ?? null;
  if (!made) return { message: `backupCommand finished, but no loomio-manual-…-${reason} backup appeared.`, remoteId: null };
  if (!made.name.encrypted) ctx.log(`${made.location} is NOT encrypted: the stack has no BACKUP_ENCRYPTION_KEY (or encryption failed).`);
  const { version } = await versionOf(session, made, ctx.signal);
  return { message: `The stack wrote ${made.location}.`, remoteId: `${made.location}@${version}` };
}
