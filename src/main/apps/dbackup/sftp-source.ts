/**
 * A DBackup storage destination read directly over SFTP (spec §5): `<job name>/<file>` (folder =
 * raw job name, spaces kept), incremental chains one folder deeper (`chain-<ts>/`), config
 * backups in `config-backups/`, DBackup's own `.dbackup/` hidden. Every backup is a file with
 * `<file>.meta.json` (and `<file>.index` for v2 archives); the sidecars travel with the pull.
 */
import path from 'node:path/posix';
import { setTimeout as sleep } from 'node:timers/promises';
import { LifeboatError } from '../../../shared/errors';
import type { AdapterContext, PullSource, Sidecar } from '../adapter';
import type { RemoteListing } from '../module';
import type { SshSession } from '../../transport/ssh/session';
import type { RemoteEntry } from '../../transport/ssh/sftp';
import { DbackupVerifier } from './checks';
import { dbackupSettings } from './settings';
import { MAX_SIDECAR_BYTES, indexNameFor, parseDbackupSidecar, sidecarNameFor, type DbackupSidecar } from './sidecar';

/** The vault keeps sidecars up to 4 MiB; a bigger `.index` stays behind (it is also the archive's last member). */
const MAX_INDEX_SIDECAR_BYTES = 4 * 1024 * 1024;
/** A file modified this recently may still be uploading: its size must hold still first. */
const RECENT_MS = 60_000;
const STABLE_AFTER_MS = 1500;
/** root / job / chain-… / file. */
const MAX_DEPTH = 3;

const isSidecarName = (name: string): boolean => name.endsWith('.meta.json') || name.endsWith('.index');

/** The destination folder, or INVALID_INPUT when the installation has none. */
function destinationOf(ctx: AdapterContext): string {
  const { destinationDir } = dbackupSettings(ctx.installation);
  if (!destinationDir) throw new LifeboatError('INVALID_INPUT', `"${ctx.installation.name}" has no destination folder: set destinationDir to the root of the DBackup storage destination on the server.`, { details: { setting: 'destinationDir' } });
  return destinationDir;
}

/** Checks that a remote id is a relative path inside the destination. */
function safeRelative(remoteId: string): string {
  const segments = remoteId.split('/');
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (remoteId.startsWith('/') || remoteId.includes('\\') || /[\u0000-\u001f]/.test(remoteId) || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new LifeboatError('INVALID_INPUT', `"${remoteId.slice(0, 120)}" is not a backup path inside the destination.`);
  }
  return remoteId;
}

interface FoundFile {
  relative: string;
  entry: RemoteEntry;
  siblings: Set<string>;
}

async function walk(session: SshSession, root: string, relative: string, depth: number, out: FoundFile[]): Promise<void> {
  const entries = await session.list(relative ? path.join(root, relative) : root);
  const names = new Set(entries.map((e) => e.name));
  for (const entry of entries) {
    const child = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory) {
      if (entry.name === '.dbackup' && !relative) continue;
      if (depth < MAX_DEPTH) await walk(session, root, child, depth + 1, out);
    } else if (entry.isFile && !isSidecarName(entry.name) && depth > 1) {
      out.push({ relative: child, entry, siblings: names });
    }
  }
}

/** A small remote file, or null when it is absent or too big. */
async function readSmall(session: SshSession, file: string, max: number, signal: AbortSignal): Promise<Buffer | null> {
  const info = await session.statOrNull(file);
  if (!info?.isFile || info.size > max) return null;
  return session.readFile(file, { maxBytes: max, signal });
}

function listingDetails(sidecar: DbackupSidecar | null, problem: string | null): Record<string, string> {
  if (!sidecar) return { sidecar: problem ?? 'missing' };
  const details: Record<string, string> = { kind: sidecar.kind, sourceType: sidecar.sourceType, encrypted: sidecar.encryption || sidecar.archive?.encrypted ? 'yes' : 'no', compression: sidecar.compression };
  if (sidecar.jobName) details.job = sidecar.jobName;
  if (sidecar.engineVersion) details.engineVersion = sidecar.engineVersion;
  if (sidecar.databases) details.databases = sidecar.databases.join(', ');
  const profile = sidecar.encryption?.profileId ?? sidecar.archive?.profileId;
  if (profile) details.encryptionProfile = profile;
  if (sidecar.sha256) details.sha256 = sidecar.sha256;
  if (sidecar.locked !== null) details.locked = String(sidecar.locked);
  if (sidecar.archive) details.format = 'seekable archive v2';
  return details;
}

/** Every backup under the destination, newest first, with its sidecar's facts. */
export async function listDestination(ctx: AdapterContext): Promise<RemoteListing[]> {
  const root = destinationOf(ctx);
  const session = await ctx.ssh();
  const found: FoundFile[] = [];
  await walk(session, root, '', 1, found);
  const listing: (RemoteListing & { sortKey: number })[] = [];
  for (const file of found) {
    let sidecar: DbackupSidecar | null = null;
    let problem: string | null = null;
    const name = sidecarNameFor(file.entry.name);
    if (file.siblings.has(name)) {
      const text = await readSmall(session, path.join(root, path.dirname(file.relative), name), MAX_SIDECAR_BYTES, ctx.signal);
      try {
        sidecar = text ? parseDbackupSidecar(text.toString('utf8'), name) : null;
        if (!text) problem = 'too large to be a sidecar';
      } catch (error) {
        if (!(error instanceof LifeboatError)) throw error;
        problem = `invalid: ${error.message}`;
      }
    }
    const createdAt = sidecar?.createdAt && !Number.isNaN(Date.parse(sidecar.createdAt)) ? sidecar.createdAt : file.entry.mtime.toISOString();
    listing.push({ id: file.relative, name: file.entry.name, createdAt, sizeBytes: file.entry.size, details: listingDetails(sidecar, problem), sortKey: Date.parse(createdAt) });
  }
  return listing.sort((a, b) => b.sortKey - a.sortKey).map(({ sortKey: _sortKey, ...rest }) => rest);
}

/** Opens one backup for a pull: its size (held still if it was just written), its sidecars, a verifier. */
export async function openDestinationFile(ctx: AdapterContext, remoteId: string): Promise<PullSource> {
  const root = destinationOf(ctx);
  const relative = safeRelative(remoteId);
  const file = path.join(root, relative);
  const fileName = path.basename(relative);
  const session = await ctx.ssh();
  let info = await session.stat(file);
  if (!info.isFile) throw new LifeboatError('NOT_FOUND', `${relative} is not a file on the destination.`);
  if (Date.now() - info.mtime.getTime() < RECENT_MS) {
    await sleep(STABLE_AFTER_MS, undefined, { signal: ctx.signal });
    const again = await session.stat(file);
    if (again.size !== info.size || again.mtime.getTime() !== info.mtime.getTime()) {
      throw new LifeboatError('ARCHIVE_INVALID', `${relative} is still being written (its size went from ${info.size} to ${again.size} bytes); pull it once DBackup's upload has finished.`);
    }
    info = again;
  }
  const sidecars: Sidecar[] = [];
  const meta = await readSmall(session, `${file}.meta.json`, MAX_SIDECAR_BYTES, ctx.signal);
  if (meta) sidecars.push({ name: sidecarNameFor(fileName), content: meta });
  else ctx.log(`No usable ${sidecarNameFor(fileName)} beside ${relative}.`);
  const index = await readSmall(session, `${file}.index`, MAX_INDEX_SIDECAR_BYTES, ctx.signal);
  if (index) sidecars.push({ name: indexNameFor(fileName), content: index });
  return {
    remoteId: relative,
    fileName,
    size: info.size,
    mtime: info.mtime,
    sidecars,
    groupPath: path.join(root, path.dirname(relative)),
    resumable: true,
    // ctx.ssh() again: after a cut connection it is a new session, and the read resumes there.
    open: async (offset) => (await ctx.ssh()).createReadStream(file, { start: offset, signal: ctx.signal }),
    createVerifier: () => new DbackupVerifier(fileName, () => sidecars, info.size),
  };
}
