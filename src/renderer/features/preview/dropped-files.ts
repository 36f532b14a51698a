/**
 * Files dropped anywhere on the window (outside a page's own drop zone): the core pairs them
 * (an archive with its manifest, .meta.json or .sha256), the archive is staged (uploaded to the
 * twin, or its local path in Electron) with its sidecars, and the file preview takes it from here.
 */
import { api, pathForFile, uploadFile } from '../../lib/api';
import type { PickedFile } from './archive-file-picker';

type Staged = { path: string } | { uploadId: string; name: string };

async function stage(file: File): Promise<Staged> {
  const localPath = pathForFile(file);
  if (localPath) return { path: localPath };
  const uploaded = await uploadFile(file);
  return { uploadId: uploaded.uploadId, name: uploaded.name };
}

/** The archive among the dropped files, staged with its sidecars; an error names a sidecar dropped alone. */
export async function stageDroppedArchive(files: File[]): Promise<PickedFile> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const pairing = await api.call('apps:pair-files', { names: [...byName.keys()] });
  const archive = pairing.archives[0];
  if (!archive) {
    const lone = pairing.loneSidecars[0]!;
    throw new Error(`${lone.name} is a sidecar of ${lone.archive}, not an archive: drop it together with ${lone.archive}.`);
  }
  const file = byName.get(archive.name)!;
  const source = await stage(file);
  const sidecars = await Promise.all(archive.sidecars.map((name) => stage(byName.get(name)!)));
  if ('path' in source) return { source, name: file.name, size: file.size, sidecarNames: archive.sidecars };
  const uploads = sidecars.filter((s): s is { uploadId: string; name: string } => 'uploadId' in s);
  return { source: { ...source, sidecars: uploads }, name: file.name, size: file.size, sidecarNames: archive.sidecars };
}
