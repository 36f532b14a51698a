/**
 * Forget (delete snapshot files) and prune (free the space no snapshot uses), under an exclusive
 * lock, in restic's crash-safe order (spec §13.4): write repacked packs → write the new index →
 * delete the old index files → delete the packs nobody needs. A crash at any point leaves a vault
 * that restic and Lifeboat read correctly (at worst with duplicates or orphans for the next prune).
 */
import { LifeboatError } from '../../shared/errors';
import type { FileType } from './backend';
import { BlobSaver, writeIndexFiles } from './blob-saver';
import { throwIfAborted } from './ingest';
import type { OperationOptions } from './ingest';
import { withLock } from './lock';
import { loadTree } from './reader';
import type { Repository } from './repository';
import type { BlobType, IndexPack } from './repo-index';
import { checkSnapshotJson, isDir } from './tree';

/** Deletes the given snapshots (full ids or unique prefixes are resolved by the caller). Data stays until prune. */
export async function forgetSnapshots(repo: Repository, ids: string[]): Promise<{ removed: string[] }> {
  return withLock(repo, true, async () => {
    const existing = new Set(await repo.listIds('snapshots'));
    const unknown = ids.filter((id) => !existing.has(id));
    if (unknown.length > 0) throw new LifeboatError('NOT_FOUND', `No snapshot ${unknown.map((id) => id.slice(0, 8)).join(', ')} in the vault; nothing was removed.`);
    for (const id of ids) await repo.backend.remove('snapshots', id);
    return { removed: ids };
  });
}

/** Options for `prune`. */
export interface PruneOptions extends OperationOptions {
  /** Unused bytes allowed to stay in partly used data packs, as a share of the vault (restic's default 5 %). */
  maxUnusedFraction?: number;
}

/** What prune did. */
export interface PruneResult {
  packsDeleted: number;
  packsRepacked: number;
  packsWritten: number;
  indexFilesReplaced: number;
  /** Temp files of writers that were killed mid-write (only a local vault can have them). */
  abandonedWritesRemoved: number;
  bytesBefore: number;
  bytesAfter: number;
}

/** Collects every blob id reachable from every snapshot (trees and data). */
async function usedBlobs(repo: Repository, signal: AbortSignal | undefined): Promise<Set<string>> {
  const used = new Set<string>();
  const walk = async (treeId: string, where: string): Promise<void> => {
    if (used.has(treeId)) return;
    throwIfAborted(signal, 'Pruning');
    used.add(treeId);
    if (!repo.index.has(treeId)) {
      throw new LifeboatError('VAULT_CORRUPT', `Prune stopped before deleting anything: ${where} needs tree ${treeId}, which is not in any index. Run a check.`);
    }
    for (const node of await loadTree(repo, treeId)) {
      if (isDir(node) && node.subtree) await walk(node.subtree, where);
      for (const id of node.content ?? []) used.add(id);
    }
  };
  for (const id of await repo.listIds('snapshots')) {
    const snapshot = checkSnapshotJson(await repo.loadJson('snapshots', id), id);
    await walk(snapshot.tree, `snapshot ${id.slice(0, 8)}`);
  }
  return used;
}

/** Removes data no snapshot uses and repacks mostly unused packs. */
export async function prune(repo: Repository, options: PruneOptions = {}): Promise<PruneResult> {
  const { signal, onProgress } = options;
  return withLock(repo, true, async () => {
    onProgress?.({ phase: 'scan', bytes: 0, total: null });
    await repo.loadIndex();
    const used = await usedBlobs(repo, signal);

    const stored = new Map<string, number>();
    for await (const f of repo.backend.list('data')) stored.set(f.name, f.size);
    const bytesBefore = [...stored.values()].reduce((a, b) => a + b, 0);
    for (const [packId, blobs] of repo.index.packs) {
      if (!stored.has(packId) && blobs.some((b) => used.has(b.id))) {
        throw new LifeboatError('VAULT_CORRUPT', `Prune stopped before deleting anything: pack ${packId} is missing but holds blobs that snapshots use. Run a check.`);
      }
    }

    // Classify packs. A blob stored twice counts as used only in the first pack that has it.
    const home = new Map<string, string>(); // used blob id → the one pack that keeps it
    const remove = new Set<string>([...stored.keys()].filter((id) => !repo.index.packs.has(id)));
    const partly: { id: string; type: BlobType; unused: number; size: number }[] = [];
    let unusedKept = 0;
    for (const [packId, blobs] of repo.index.packs) {
      const size = stored.get(packId);
      if (size === undefined) continue;
      let unused = 0;
      let usedCount = 0;
      for (const b of blobs) {
        if (used.has(b.id) && !home.has(b.id)) {
          home.set(b.id, packId);
          usedCount++;
        } else unused += b.length;
      }
      if (usedCount === 0) remove.add(packId);
      else if (unused > 0) partly.push({ id: packId, type: blobs[0]?.type ?? 'data', unused, size });
    }
    for (const p of partly) unusedKept += p.unused;
    // Tree packs are always repacked (they are small); data packs worst-first until little waste is left.
    const maxUnused = (options.maxUnusedFraction ?? 0.05) * bytesBefore;
    const repack = new Set<string>();
    for (const p of partly.sort((a, b) => Number(a.type === 'data') - Number(b.type === 'data') || b.unused / b.size - a.unused / a.size)) {
      if (p.type === 'tree' || unusedKept > maxUnused) {
        repack.add(p.id);
        unusedKept -= p.unused;
      }
    }

    // 1) write repacked packs (their index comes with the full new index below).
    const saver = new BlobSaver(repo, { dedup: false });
    let repackBytes = 0;
    const repackTotal = [...repack].reduce((a, id) => a + (stored.get(id) ?? 0), 0);
    const oldIndexFiles = [...repo.index.files.keys()];
    try {
      for (const packId of repack) {
        throwIfAborted(signal, 'Pruning');
        onProgress?.({ phase: 'repack', bytes: repackBytes, total: repackTotal });
        const data = await repo.backend.read('data', packId);
        repackBytes += data.length;
        for (const blob of repo.index.packs.get(packId) ?? []) {
          if (home.get(blob.id) !== packId || saver.has(blob.id)) continue;
          const plain = repo.openBlob({ ...blob, packId }, data.subarray(blob.offset, blob.offset + blob.length));
          await saver.save(blob.type, blob.id, plain);
        }
      }
      await saver.flushPacks();
      throwIfAborted(signal, 'Pruning');

      // 2) the new index: every pack that stays, plus the new ones.
      onProgress?.({ phase: 'index', bytes: 0, total: null });
      const keepPacks: IndexPack[] = [];
      for (const [packId, blobs] of repo.index.packs) {
        if (!remove.has(packId) && !repack.has(packId) && stored.has(packId)) keepPacks.push({ id: packId, blobs });
      }
      await writeIndexFiles(repo, [...keepPacks, ...saver.packs]);
    } catch (error) {
      // Nothing was deleted yet: take back what this prune wrote (a full disk, a cancel) and the
      // vault is exactly as before, with no orphaned packs or half of a new index.
      await saver.settle();
      await undoWrites(repo, saver, new Set(oldIndexFiles));
      throw error;
    }

    // 3) then the old index files, 4) then the packs nobody needs any more.
    onProgress?.({ phase: 'delete', bytes: 0, total: null });
    await removeAll(repo, 'index', oldIndexFiles);
    await removeAll(repo, 'data', [...remove, ...repack]);
    // The exclusive lock means no writer is mid-write, so every temp file left is a killed one's.
    const abandonedWritesRemoved = (await repo.backend.removeAbandonedWrites?.()) ?? 0;
    await repo.loadIndex();

    let bytesAfter = 0;
    for await (const f of repo.backend.list('data')) bytesAfter += f.size;
    return {
      packsDeleted: remove.size + repack.size,
      packsRepacked: repack.size,
      packsWritten: saver.packs.length,
      indexFilesReplaced: oldIndexFiles.length,
      abandonedWritesRemoved,
      bytesBefore,
      bytesAfter,
    };
  });
}

/**
 * Removes the index files and packs a failed prune wrote before it deleted anything. The lock is
 * exclusive, so every index file not in `oldIndexFiles` is this prune's, and no snapshot can use
 * the new packs' blobs from them yet (the old index still lists each blob where it was).
 */
async function undoWrites(repo: Repository, saver: BlobSaver, oldIndexFiles: Set<string>): Promise<void> {
  const written = (await repo.listIds('index')).filter((id) => !oldIndexFiles.has(id));
  await removeAll(repo, 'index', written);
  await saver.discard();
  await repo.loadIndex();
}

async function removeAll(repo: Repository, type: FileType, ids: string[]): Promise<void> {
  for (const id of ids) {
    try {
      await repo.backend.remove(type, id);
    } catch (error) {
      // Already gone (e.g. a prune that crashed half-way ran before): that is the goal anyway.
      if (!(error instanceof LifeboatError && error.code === 'NOT_FOUND')) throw error;
    }
  }
}
