/**
 * A folder of archives over SSH: whatever backup job the operator already runs writes files into
 * a directory; Lifeboat lists the files matching a glob, pulls each once its size has stopped
 * changing, checks it against a `.sha256` sidecar when one lies beside it, and can put a file back
 * into the folder (written under a temporary name, then renamed, then re-read and hashed).
 */
import { createHash } from 'node:crypto';
import path from 'node:path/posix';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AdapterCapabilities, IntegrityCheck, RestoreOptions } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { Installation } from '../../../shared/installations';
import type { AdapterContext, ArchiveAccess, PullSource, Sidecar, StepContext, WholeArchive } from '../adapter';
import type { AppModule, ArchiveProbe, Detection, RemoteListing } from '../module';
import { progressCounter } from '../module-kit/progress';
import type { SshSession } from '../../transport/ssh/session';
import { archiveChecks } from './checks';
import { checksumSidecarName } from './checksum-sidecar';
import { DIRECTORY_SETTINGS, directorySettings, globToRegExp } from './settings';

/** A file whose size changed between two looks this far apart is still being written. */
const STABLE_AFTER_MS = 1500;
const MAX_SIDECAR_BYTES = 64 * 1024;

const RESTORE_OPTIONS: RestoreOptions = {
  scopes: [{ id: 'full', label: 'Put the file back', description: 'Writes the archive into the folder under its own name (a temporary name first, then renamed), for your own tools to restore from; a different file of that name is never replaced.', selectable: false }],
  conflict: null,
};

function capabilities(installation: Installation): AdapterCapabilities {
  const ssh = installation.ssh !== undefined;
  return {
    list: ssh,
    trigger: false,
    pull: ssh,
    preview: true,
    restore: ssh,
    restoreOptions: RESTORE_OPTIONS,
    notes: ssh ? ['A folder of archives has no backup trigger: your own job writes the files.'] : ['A folder of archives is read over SSH: add an SSH connection.'],
  };
}

async function listFiles(ctx: AdapterContext): Promise<RemoteListing[]> {
  const settings = directorySettings(ctx.installation);
  const matches = globToRegExp(settings.pattern);
  const entries = await (await ctx.ssh()).list(settings.directory);
  const names = new Set(entries.map((e) => e.name));
  return entries
    .filter((e) => e.isFile && matches.test(e.name) && !e.name.endsWith('.sha256') && !e.name.startsWith('.'))
    .sort((a, b) => b.mtime.getTime() - a.mtime.getTime() || b.name.localeCompare(a.name))
    .map((e) => ({
      id: e.name,
      name: e.name,
      createdAt: e.mtime.toISOString(),
      sizeBytes: e.size,
      details: { checksum: names.has(checksumSidecarName(e.name)) ? checksumSidecarName(e.name) : 'no .sha256 sidecar' },
    }));
}

/** Stats twice; a file that is still growing is not pulled yet. */
async function stableStat(session: SshSession, file: string, signal: AbortSignal): Promise<{ size: number; mtime: Date }> {
  const first = await session.stat(file);
  await sleep(STABLE_AFTER_MS, undefined, { signal });
  const second = await session.stat(file);
  if (first.size !== second.size || first.mtime.getTime() !== second.mtime.getTime()) {
    throw new LifeboatError('ARCHIVE_INVALID', `${path.basename(file)} is still being written (its size went from ${first.size} to ${second.size} bytes); pull it once your backup job has finished.`);
  }
  return second;
}

async function openFile(ctx: AdapterContext, remoteId: string): Promise<PullSource> {
  if (remoteId.includes('/') || remoteId === '..' || remoteId === '.') throw new LifeboatError('INVALID_INPUT', `"${remoteId.slice(0, 80)}" is not a file name in the folder.`);
  const settings = directorySettings(ctx.installation);
  const file = path.join(settings.directory, remoteId);
  const session = await ctx.ssh();
  const info = await stableStat(session, file, ctx.signal);
  const sidecarPath = `${file}.sha256`;
  const sidecarInfo = await session.statOrNull(sidecarPath);
  const sidecars: Sidecar[] = sidecarInfo?.isFile && sidecarInfo.size <= MAX_SIDECAR_BYTES ? [{ name: checksumSidecarName(remoteId), content: await session.readFile(sidecarPath, { maxBytes: MAX_SIDECAR_BYTES, signal: ctx.signal }) }] : [];
  return {
    remoteId,
    fileName: remoteId,
    size: info.size,
    mtime: info.mtime,
    sidecars,
    groupPath: settings.directory,
    resumable: true,
    open: async (offset) => (await ctx.ssh()).createReadStream(file, { start: offset, signal: ctx.signal }),
    createVerifier: () => ({
      write: () => undefined,
      finish: async (whole) => archiveChecks(remoteId, whole, info.size, sidecars),
    }),
  };
}

async function hashArchive(archive: ArchiveAccess, ctx: StepContext): Promise<WholeArchive> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of (await archive.open()) as AsyncIterable<Buffer>) {
    if (ctx.signal.aborted) throw new LifeboatError('CANCELLED', 'Cancelled by the operator.');
    hash.update(chunk);
    size += chunk.length;
    ctx.progress({ phase: 'hashing', bytes: size, total: archive.size });
  }
  return { size, sha256: hash.digest('hex') };
}

/** Any file can be a folder's archive: the weakest claim, stronger when a checksum sidecar came along. */
function detect(probe: ArchiveProbe): Detection {
  const sidecar = probe.sidecars.some((s) => s.name === checksumSidecarName(probe.fileName));
  return sidecar ? { confidence: 0.2, reason: 'a file with its .sha256 sidecar' } : { confidence: 0.05, reason: 'a file no app module recognises: stored as it is' };
}

/** The folder-of-archives module. */
export const directoryModule: AppModule = {
  kind: 'directory',
  label: 'Folder of archives',
  summary: 'Any backup files your own jobs write into a folder, pulled over SSH once complete, checked against .sha256 sidecars.',
  transports: ['ssh'],
  settings: DIRECTORY_SETTINGS,
  secretSlots: [],
  sidecarOf: (fileName) => (fileName.endsWith('.sha256') && fileName.length > '.sha256'.length ? fileName.slice(0, -'.sha256'.length) : null),
  detect,
  capabilities,

  sources: {
    list: listFiles,
    open: openFile,
    async cadenceHours(ctx) {
      return directorySettings(ctx.installation).cadenceHours;
    },
  },

  format: {
    async preview(archive, ctx) {
      const whole = await hashArchive(archive, ctx);
      const checks: IntegrityCheck[] = archiveChecks(archive.fileName, whole, archive.size, archive.sidecars);
      return {
        app: 'directory',
        fileName: archive.fileName,
        sizeBytes: whole.size,
        appVersion: null,
        createdAt: archive.mtime?.toISOString() ?? null,
        integrity: { ok: checks.every((c) => c.ok), checks },
        summary: [
          { label: 'Size', value: `${whole.size} bytes` },
          { label: 'SHA-256', value: whole.sha256 },
        ],
        contents: { title: 'File', columns: [{ key: 'name', label: 'Name' }, { key: 'size', label: 'Bytes', numeric: true }], rows: [{ name: archive.fileName, size: whole.size }] },
        notIncluded: ['Lifeboat does not look inside a plain archive: what it holds is up to the job that wrote it.'],
        secrets: [],
        warnings: checks.some((c) => c.skipped) ? ['No .sha256 sidecar came with the file: only its size is known to be right.'] : [],
        compatibility: [],
        sidecars: archive.sidecars.map((s) => ({ name: s.name, text: s.content.toString('utf8') })),
        selectable: [],
      };
    },
  },

  restore: {
    async plan(ctx, { archive }) {
      const settings = directorySettings(ctx.installation);
      const session = await ctx.ssh();
      const folder = await session.statOrNull(settings.directory);
      const target = path.join(settings.directory, archive.fileName);
      const existing = await session.statOrNull(target);
      const same = existing?.isFile === true && existing.size === archive.size && (await hashArchive({ ...archive, open: () => session.createReadStream(target, { signal: ctx.signal }) }, ctx)).sha256 === (await hashArchive(archive, ctx)).sha256;
      return {
        preflight: [
          { id: 'folder', kind: 'target', name: 'Folder exists', ok: folder?.isDirectory === true, blocking: true, detail: folder?.isDirectory ? `${settings.directory} exists` : `${settings.directory} is not a folder on the server` },
          {
            id: 'no-overwrite',
            kind: 'target',
            name: 'Nothing is overwritten',
            ok: !existing || same,
            blocking: true,
            detail: !existing ? `${archive.fileName} is not in the folder` : same ? `${archive.fileName} is already there with the same content` : `a different ${archive.fileName} is in the folder: move it away first (Lifeboat never replaces it)`,
          },
        ],
        changes: [{ item: archive.fileName, action: existing ? 'keep' : 'add', live: existing?.size ?? null, archive: archive.size }],
        steps: [`Write ${archive.fileName} into ${settings.directory} under a temporary name`, 'Rename it into place', 'Read it back and compare its SHA-256'],
        pointOfNoReturn: 'the file is renamed into place',
        nothingToSave: 'putting a file back into the folder adds it and replaces nothing',
      };
    },

    async run(ctx, { archive }) {
      const settings = directorySettings(ctx.installation);
      const session = await ctx.ssh();
      const target = path.join(settings.directory, archive.fileName);
      const temporary = path.join(settings.directory, `.${archive.fileName}.lifeboat-${Date.now()}`);
      try {
        await pipeline(await archive.open(), progressCounter(ctx, 'uploading', archive.size), await session.createWriteStream(temporary, { fsync: true, signal: ctx.signal }));
      } catch (error) {
        await session.remove(temporary).catch(() => undefined);
        throw error;
      }
      ctx.passPointOfNoReturn('the file is renamed into place');
      await session.rename(temporary, target);
    },

    async verify(ctx, { archive }) {
      const settings = directorySettings(ctx.installation);
      const target = path.join(settings.directory, archive.fileName);
      const [local, remote] = await Promise.all([
        hashArchive(archive, ctx),
        hashArchive({ ...archive, open: async () => (await ctx.ssh()).createReadStream(target, { signal: ctx.signal }) }, ctx),
      ]);
      return [{ id: 'sha256', kind: 'verification', name: 'The file on the server is the archive', ok: local.sha256 === remote.sha256, detail: local.sha256 === remote.sha256 ? `${target}: ${remote.size} bytes, SHA-256 ${remote.sha256}` : `${target} has SHA-256 ${remote.sha256}, the archive ${local.sha256}` }];
    },
  },
};
