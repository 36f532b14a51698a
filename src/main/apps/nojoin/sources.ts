/**
 * Where Nojoin backups come from. Nojoin keeps no list of past exports, so over HTTPS a backup is
 * made on demand: `POST /backup/export`, poll its job (stage and progress shown in Lifeboat's
 * job), then download with Range resume. Over SSH the finished exports that still lie in
 * `<compose dir>/data/backups` (`tmp*.zip`, gone after about a day) are listed and pulled by SFTP.
 * Either way each archive is verified as it streams (stream-verifier.ts) before it counts, and its
 * backup_info.json travels with the snapshot as a sidecar.
 *
 * Remote ids: `export:<task id>` for an HTTPS export, `sftp:<file name>@<mtime seconds>` for a
 * file on the server (the time tells a rewritten file from the one listed).
 */
import path from 'node:path/posix';
import type { Readable } from 'node:stream';
import { LifeboatError } from '../../../shared/errors';
import type { AdapterContext, PullSource, Sidecar } from '../adapter';
import type { RemoteListing } from '../module';
import type { SshSession } from '../../transport/ssh/session';
import type { RemoteEntry } from '../../transport/ssh/sftp';
import { downloadFileName, openExportDownload, startExport, waitForExport, type ExportWarnings } from './api';
import { BACKUP_INFO_MEMBER, createNojoinStreamVerifier } from './format';
import { nojoinSessionFor, type CallContext } from './session';
import { nojoinSettings } from './settings';

/** Retention groups snapshots by it: the folder Nojoin writes exports to, whichever way they came. */
const GROUP_PATH = 'data/backups';
const EXPORT_PREFIX = 'export:';
const SFTP_PREFIX = 'sftp:';
/** Python's tempfile names (`tmp` + 8 characters of [a-z0-9_]), as Nojoin's export writes them. */
const EXPORT_FILE = /^tmp[a-z0-9_]{1,32}\.zip$/i;
/** The end-of-central-directory record is in the last 22 + 65 535 bytes of a finished ZIP. */
const EOCD_WINDOW = 22 + 0xffff;
const EOCD_SIGNATURE = Buffer.from([0x50, 0x4b, 0x05, 0x06]);

function callContext(ctx: AdapterContext): CallContext {
  return { signal: ctx.signal, unattended: false };
}

/** The verifier of a pull, keeping the archive's backup_info.json as the snapshot's sidecar. */
function verifierFor(ctx: AdapterContext, fileName: string, sidecars: Sidecar[]): PullSource['createVerifier'] {
  return () =>
    createNojoinStreamVerifier({
      stagingDir: ctx.stagingDir,
      label: fileName,
      onScan: (scan) => {
        if (scan.infoText !== null) sidecars.push({ name: BACKUP_INFO_MEMBER, content: Buffer.from(scan.infoText) });
      },
    });
}

// ---- HTTPS: export on demand ----

function describeWarnings(warnings: ExportWarnings | null): string {
  if (!warnings) return 'no export warnings reported';
  return `recordings without audio ${warnings.recordings_without_audio}, audio failed ${warnings.recordings_audio_failed}, documents without files ${warnings.documents_without_files}, documents failed ${warnings.documents_failed}`;
}

/** Asks Nojoin for an export with the installation's options and waits until its file is ready; returns the task id. */
export async function makeExport(ctx: AdapterContext): Promise<{ taskId: string; warnings: ExportWarnings | null }> {
  const settings = nojoinSettings(ctx.installation);
  const session = await nojoinSessionFor(ctx);
  const call = callContext(ctx);
  ctx.progress({ phase: 'Nojoin is exporting', bytes: 0, total: null });
  const taskId = await startExport(session, settings.export, call);
  ctx.log(`export ${taskId} started (${settings.export.includeAudio ? `with audio, ${settings.export.archiveQuality}` : 'without audio'})`);
  const done = await waitForExport(session, taskId, call, {
    onProgress: (p) => ctx.progress({ phase: `Nojoin is exporting: ${p.detail}${p.done !== null && p.total !== null ? ` (${p.done}/${p.total})` : ''}` }),
  });
  ctx.log(`export ${taskId} is ready: ${describeWarnings(done.warnings)}`);
  return { taskId, warnings: done.warnings };
}

/** Opens a finished export's download; the first request tells the file's name and size. */
export async function openExport(ctx: AdapterContext, taskId: string): Promise<PullSource> {
  const session = await nojoinSessionFor(ctx);
  const call = callContext(ctx);
  const first = await openExportDownload(session, taskId, 0, call);
  const fileName = downloadFileName(first, taskId);
  const sidecars: Sidecar[] = [];
  let unread: Readable | null = first.stream;
  return {
    remoteId: `${EXPORT_PREFIX}${taskId}`,
    fileName,
    size: first.total,
    mtime: new Date(),
    sidecars,
    groupPath: GROUP_PATH,
    resumable: true,
    async open(offset) {
      const stream = unread;
      unread = null;
      if (stream && offset === 0) return stream;
      stream?.destroy();
      return (await openExportDownload(session, taskId, offset, call)).stream;
    },
    createVerifier: verifierFor(ctx, fileName, sidecars),
  };
}

// ---- SSH: the finished exports on the server ----

/** Whether a file ends with a ZIP's end-of-central-directory record (an export still being written does not). */
async function isFinishedZip(session: SshSession, file: string, size: number, signal: AbortSignal): Promise<boolean> {
  if (size < 22) return false;
  const start = Math.max(0, size - EOCD_WINDOW);
  const chunks: Buffer[] = [];
  for await (const chunk of (await session.createReadStream(file, { start, signal })) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).lastIndexOf(EOCD_SIGNATURE) >= 0;
}

/** SFTP's "permission denied" (status 3). */
function permissionDenied(error: unknown): boolean {
  return error instanceof LifeboatError && error.code === 'SSH_SFTP' && error.details?.sftpStatus === 3;
}

/**
 * Nojoin's worker writes an export as a NamedTemporaryFile: mode 0600, owned by the container's
 * user. An SSH user who is not that user cannot read it; say so and what to do, not only "permission denied".
 */
function unreadableExport(ctx: AdapterContext, file: string, cause: unknown): LifeboatError {
  const user = ctx.installation.ssh?.user ?? 'the SSH user';
  return new LifeboatError(
    'SSH_SFTP',
    `"${user}" may not read ${path.basename(file)} in ${path.dirname(file)} on "${ctx.installation.name}": Nojoin writes its exports readable only by the user its containers run as (mode 0600). ` +
      'Connect over SSH as that user (or root), or add the HTTPS connection so Lifeboat asks Nojoin for exports itself.',
    { details: { path: file, sftpStatus: 3 }, cause },
  );
}

function sftpId(entry: Pick<RemoteEntry, 'name' | 'mtime'>): string {
  return `${SFTP_PREFIX}${entry.name}@${Math.floor(entry.mtime.getTime() / 1000)}`;
}

/** The finished exports in `<compose dir>/data/backups`, newest first. */
export async function listExportFiles(ctx: AdapterContext): Promise<RemoteListing[]> {
  const settings = nojoinSettings(ctx.installation);
  const session = await ctx.ssh();
  const info = await session.statOrNull(settings.backupsDir);
  if (!info?.isDirectory) {
    throw new LifeboatError('NOT_FOUND', `${settings.backupsDir} does not exist on "${ctx.installation.name}": set the compose directory to where Nojoin's docker-compose.yml and data/ are.`, { details: { path: settings.backupsDir } });
  }
  const listings: RemoteListing[] = [];
  for (const entry of await session.list(settings.backupsDir)) {
    if (!entry.isFile || !EXPORT_FILE.test(entry.name)) continue;
    const file = path.join(settings.backupsDir, entry.name);
    const finished = await isFinishedZip(session, file, entry.size, ctx.signal).catch((error: unknown) => {
      throw permissionDenied(error) ? unreadableExport(ctx, file, error) : error;
    });
    if (!finished) {
      ctx.log(`${entry.name} is still being written (no end of ZIP yet); not listed`);
      continue;
    }
    listings.push({
      id: sftpId(entry),
      name: entry.name,
      createdAt: entry.mtime.toISOString(),
      sizeBytes: entry.size,
      details: { folder: settings.backupsDir, kept: 'Nojoin deletes exports 24 to 30 hours after they were made' },
    });
  }
  return listings.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
}

/** Opens one listed export file for a pull: SFTP from any offset. */
export async function openExportFile(ctx: AdapterContext, remoteId: string): Promise<PullSource> {
  const settings = nojoinSettings(ctx.installation);
  const match = /^sftp:([^/@]+)@(\d+)$/.exec(remoteId);
  if (!match || !EXPORT_FILE.test(match[1]!)) throw new LifeboatError('INVALID_INPUT', `"${remoteId.slice(0, 120)}" is not a Nojoin export file in ${settings.backupsDir}.`);
  const name = match[1]!;
  const file = path.join(settings.backupsDir, name);
  const session = await ctx.ssh();
  const info = await session.statOrNull(file);
  if (!info) throw new LifeboatError('NOT_FOUND', `${name} is no longer on "${ctx.installation.name}": Nojoin deletes exports after about a day. Make a new one.`, { details: { path: file } });
  if (sftpId({ name, mtime: info.mtime }) !== remoteId) {
    throw new LifeboatError('NOT_FOUND', `${name} changed since it was listed: list the backups again.`, { details: { path: file } });
  }
  const sidecars: Sidecar[] = [];
  return {
    remoteId,
    fileName: name,
    size: info.size,
    mtime: info.mtime,
    sidecars,
    groupPath: GROUP_PATH,
    resumable: true,
    open: async (offset) =>
      (await ctx.ssh()).createReadStream(file, { start: offset, signal: ctx.signal }).catch((error: unknown) => {
        throw permissionDenied(error) ? unreadableExport(ctx, file, error) : error;
      }),
    createVerifier: verifierFor(ctx, name, sidecars),
  };
}

/** Opens a remote id of either kind. */
export async function openRemote(ctx: AdapterContext, remoteId: string): Promise<PullSource> {
  if (remoteId.startsWith(EXPORT_PREFIX)) {
    if (!ctx.installation.https) throw new LifeboatError('APP_UNSUPPORTED', `"${ctx.installation.name}" has no HTTPS connection to download Nojoin export ${remoteId.slice(EXPORT_PREFIX.length)} from.`);
    return openExport(ctx, remoteId.slice(EXPORT_PREFIX.length));
  }
  if (remoteId.startsWith(SFTP_PREFIX)) return openExportFile(ctx, remoteId);
  throw new LifeboatError('INVALID_INPUT', `"${remoteId.slice(0, 120)}" is not a Nojoin backup id (export:<task id> or sftp:<file>@<time>).`);
}

/** "Pull newest": a fresh export over HTTPS; over SSH alone, the newest finished export on the server. */
export async function pullNewest(ctx: AdapterContext): Promise<PullSource> {
  if (ctx.installation.https) return openExport(ctx, (await makeExport(ctx)).taskId);
  const newest = (await listExportFiles(ctx))[0];
  if (!newest) throw new LifeboatError('NOT_FOUND', `No finished export is in ${nojoinSettings(ctx.installation).backupsDir} on "${ctx.installation.name}"; make one in Nojoin, or add its HTTPS connection so Lifeboat can.`);
  return openExportFile(ctx, newest.id);
}
