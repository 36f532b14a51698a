/**
 * Size figures for the UI: how much a snapshot holds (logical) versus what its blobs take in the
 * vault (stored, encrypted), and the same for the whole vault, for a dedup ratio.
 */
import { locate, loadSnapshot, loadTree } from './reader';
import type { Repository } from './repository';
import { isDir } from './tree';

/** Sizes of one snapshot. */
export interface SnapshotSizes {
  snapshotId: string;
  /** Sum of the file sizes in the snapshot. */
  logicalSize: number;
  /** Stored bytes of the distinct blobs the snapshot uses (shared blobs count fully for each snapshot). */
  storedSize: number;
  files: number;
}

/** Sizes of the whole vault. */
export interface VaultSizes {
  snapshots: number;
  /** Sum of every snapshot's logical size. */
  logicalSize: number;
  /** Bytes of all pack files. */
  storedSize: number;
  /** logicalSize / storedSize (1 when the vault is empty). */
  dedupRatio: number;
}

/** Computes one snapshot's logical and stored size by walking its trees. */
export async function snapshotSizes(repo: Repository, snapshotId: string): Promise<SnapshotSizes> {
  if (repo.index.blobCount === 0) await repo.loadIndex();
  const snapshot = await loadSnapshot(repo, snapshotId);
  const seen = new Set<string>();
  const result: SnapshotSizes = { snapshotId, logicalSize: 0, storedSize: 0, files: 0 };
  const count = (id: string, what: string): void => {
    if (seen.has(id)) return;
    seen.add(id);
    result.storedSize += locate(repo, id, what).length;
  };
  const walk = async (treeId: string): Promise<void> => {
    count(treeId, `Snapshot ${snapshotId.slice(0, 8)}`);
    for (const node of await loadTree(repo, treeId)) {
      if (isDir(node) && node.subtree) await walk(node.subtree);
      if (node.type === 'file') {
        result.files++;
        result.logicalSize += node.size ?? 0;
        for (const id of node.content ?? []) count(id, `Snapshot ${snapshotId.slice(0, 8)}`);
      }
    }
  };
  await walk(snapshot.tree);
  return result;
}

/** Computes the vault's totals. */
export async function vaultSizes(repo: Repository): Promise<VaultSizes> {
  await repo.loadIndex();
  let logicalSize = 0;
  const ids = await repo.listIds('snapshots');
  for (const id of ids) logicalSize += (await snapshotSizes(repo, id)).logicalSize;
  let storedSize = 0;
  for await (const f of repo.backend.list('data')) storedSize += f.size;
  return { snapshots: ids.length, logicalSize, storedSize, dedupRatio: storedSize === 0 ? 1 : logicalSize / storedSize };
}
