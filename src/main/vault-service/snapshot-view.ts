import { appKindSchema, type AppKind } from '../../shared/installations';
import type { SnapshotSource, SnapshotView } from '../../shared/vault';
import type { FileInfoEntry, SnapshotInfo } from '../vault';

/**
 * How Lifeboat labels a snapshot in restic's own fields, so `restic snapshots --tag meshmonitor`
 * works for an operator without Lifeboat: hostname = installation name, tags = app kind, source,
 * `installation:<id>`, `remote:<app's backup id>`.
 */
export function snapshotTags(input: { app: AppKind | null; source: SnapshotSource; installationId?: string | null; remoteId?: string | null; storedAt?: Date; unverified?: boolean }): string[] {
  const tags: string[] = [input.source];
  if (input.unverified) tags.push(UNVERIFIED_TAG);
  if (input.storedAt) tags.push(`stored:${input.storedAt.toISOString().replace(/\.\d{3}Z$/, 'Z')}`);
  if (input.app) tags.unshift(input.app);
  if (input.installationId) tags.push(`installation:${input.installationId}`);
  // restic splits tag lists on commas; keep the remote id one tag.
  if (input.remoteId) tags.push(`remote:${input.remoteId.replace(/,/g, '_')}`);
  return tags;
}

const SOURCES: readonly SnapshotSource[] = ['pull', 'import', 'pre-restore'];
/** The tag of an archive stored although it did not pass verification (the operator asked). */
const UNVERIFIED_TAG = 'unverified';

/** Reads Lifeboat's labels back from a snapshot; snapshots restic wrote get neutral values. */
/** The archive is the largest file at the snapshot's root; the rest are its sidecars. */
export function toSnapshotView(info: SnapshotInfo, files: FileInfoEntry[] | null): SnapshotView {
  const tagValue = (prefix: string) => info.tags.find((t) => t.startsWith(prefix))?.slice(prefix.length) ?? null;
  // The app kind is the one bare tag that is neither a source nor a prefixed label.
  const app: AppKind | null = info.tags.find((t) => !(SOURCES as readonly string[]).includes(t) && t !== UNVERIFIED_TAG && !t.includes(':') && appKindSchema.safeParse(t).success) ?? null;
  const source = (info.tags.find((t) => (SOURCES as readonly string[]).includes(t)) as SnapshotSource | undefined) ?? 'other';
  const topFiles = (files ?? []).filter((f) => f.type === 'file' && f.path === `/${f.name}`);
  const archive = topFiles.reduce<FileInfoEntry | null>((largest, f) => (!largest || f.size > largest.size ? f : largest), null);
  return {
    id: info.id,
    shortId: info.shortId,
    time: info.time,
    storedAt: tagValue('stored:') ?? info.time,
    hostname: info.hostname,
    installationId: tagValue('installation:'),
    app,
    source,
    remoteId: tagValue('remote:'),
    unverified: info.tags.includes(UNVERIFIED_TAG),
    tags: info.tags,
    paths: info.paths,
    archive: archive ? { name: archive.name, size: archive.size } : null,
    sidecars: topFiles.filter((f) => f !== archive).map((f) => ({ name: f.name, size: f.size })),
  };
}
