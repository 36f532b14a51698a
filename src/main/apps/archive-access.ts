import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { LifeboatError } from '../../shared/errors';
import type { ArchiveSourceRef } from '../../shared/apps';
import type { Core } from '../core';
import type { ArchiveAccess, Sidecar } from './adapter';

const MAX_SIDECAR_BYTES = 4 * 1024 * 1024;

/** An archive opened by `openArchive`, with where it came from. */
export type OpenedArchive = Awaited<ReturnType<typeof openArchive>>;

/**
 * Opens an archive for preview or restore, wherever it is: a vault snapshot (archive + its
 * sidecars, every blob verified while read), an uploaded file, or a local path.
 */
export async function openArchive(core: Core, source: ArchiveSourceRef): Promise<{ access: ArchiveAccess; label: string; installationId: string | null; snapshotId: string | null }> {
  if ('snapshotId' in source) {
    const snapshots = await core.vault.snapshots();
    const snapshot = snapshots.find((s) => s.id === source.snapshotId || s.id.startsWith(source.snapshotId));
    if (!snapshot) throw new LifeboatError('NOT_FOUND', `No snapshot ${source.snapshotId} in the vault.`);
    if (!snapshot.archive) throw new LifeboatError('ARCHIVE_INVALID', `Snapshot ${snapshot.shortId} holds no archive file.`);
    const archive = snapshot.archive;
    const sidecars: Sidecar[] = [];
    for (const sidecar of snapshot.sidecars) {
      sidecars.push({ name: sidecar.name, content: await streamToBuffer(await core.vault.dump(snapshot.id, `/${sidecar.name}`), MAX_SIDECAR_BYTES, sidecar.name) });
    }
    return {
      access: { fileName: archive.name, size: archive.size, mtime: new Date(snapshot.time), sidecars, open: () => core.vault.dump(snapshot.id, `/${archive.name}`) },
      label: `vault snapshot ${snapshot.shortId} (${archive.name}, ${snapshot.hostname}, ${snapshot.time})`,
      installationId: snapshot.installationId,
      snapshotId: snapshot.id,
    };
  }
  const file = 'uploadId' in source ? path.join(core.home.stagingDir, source.uploadId) : path.resolve(source.path);
  const name = 'uploadId' in source ? path.basename(source.name) : path.basename(source.path);
  const info = await stat(file).catch((error: unknown) => {
    throw new LifeboatError('NOT_FOUND', `Cannot read ${name}: ${(error as Error).message}.`, { cause: error });
  });
  if (!info.isFile()) throw new LifeboatError('INVALID_INPUT', `${name} is not a regular file.`);
  const sidecars: Sidecar[] = [];
  // An upload brings its sidecars along; a local file's lie beside it, named by the apps' rules.
  const sidecarFiles =
    'uploadId' in source
      ? (source.sidecars ?? []).map((s) => ({ file: path.join(core.home.stagingDir, s.uploadId), name: path.basename(s.name) }))
      : (await readdir(path.dirname(file)).catch(() => [] as string[])).filter((n) => core.apps.pairFiles([name, n]).archives.some((a) => a.name === name && a.sidecars.includes(n))).map((n) => ({ file: path.join(path.dirname(file), n), name: n }));
  for (const sidecar of sidecarFiles) {
    const content = await readFile(sidecar.file).catch(() => null);
    if (!content) continue;
    if (content.length > MAX_SIDECAR_BYTES) throw new LifeboatError('ARCHIVE_INVALID', `${sidecar.name} is ${content.length} bytes: too large for a sidecar (at most ${MAX_SIDECAR_BYTES}).`);
    sidecars.push({ name: sidecar.name, content });
  }
  return {
    access: { fileName: name, size: info.size, mtime: info.mtime, sidecars, localPath: file, open: async () => createReadStream(file) },
    label: `local file ${name}`,
    installationId: null,
    snapshotId: null,
  };
}

async function streamToBuffer(stream: NodeJS.ReadableStream, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new LifeboatError('ARCHIVE_INVALID', `${what} is larger than ${limit} bytes; it is not a sidecar.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
