/**
 * Checking a vault: structure (snapshots and index files decode, every indexed pack exists and its
 * header matches the index, every tree decodes, every blob a snapshot uses is indexed) and, with
 * `readData`, every blob decrypted and verified. Problems are reported in plain words, per snapshot.
 */
import { LifeboatError } from '../../shared/errors';
import { throwIfAborted } from './ingest';
import type { OperationOptions } from './ingest';
import { withLock } from './lock';
import type { Repository } from './repository';
import { sha256Hex } from './repository';
import { RepoIndex } from './repo-index';
import type { IndexPack } from './repo-index';
import { checkSnapshotJson, decodeTree, isDir } from './tree';
import type { SnapshotJson } from './tree';

/** One problem found. */
export interface CheckProblem {
  /** The snapshot affected, when the problem is inside one. */
  snapshotId?: string;
  message: string;
}

/** What `check` found. */
export interface CheckResult {
  ok: boolean;
  problems: CheckProblem[];
  stats: {
    snapshots: number;
    indexFiles: number;
    packs: number;
    blobs: number;
    trees: number;
    /** Packs no index lists (left by an interrupted ingest): harmless, prune removes them. */
    unindexedPacks: number;
    /** Bytes read and verified with readData. */
    bytesRead: number;
  };
}

/** Options for `check`. */
export interface CheckOptions extends OperationOptions {
  /** Also decrypt and verify every blob (reads the whole vault). */
  readData?: boolean;
  /**
   * With readData: which packs to read this time (like restic's --read-data-subset), given every
   * indexed pack that is stored; the others are only checked by header. Default: all of them.
   */
  readSubset?: (packs: { id: string; size: number }[]) => string[];
}

/** True when `done` of `total` items crosses a 10 % step. */
function countStepChanged(done: number, total: number): boolean {
  return total > 0 && Math.floor((10 * done) / total) !== Math.floor((10 * (done + 1)) / total);
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Checks the vault; never throws for damage it finds (only for cancellation or an unreachable backend). */
export async function check(repo: Repository, options: CheckOptions = {}): Promise<CheckResult> {
  return withLock(repo, false, () => runCheck(repo, options));
}

async function runCheck(repo: Repository, options: CheckOptions): Promise<CheckResult> {
  const { signal, onProgress } = options;
  const problems: CheckProblem[] = [];
  const stats: CheckResult['stats'] = { snapshots: 0, indexFiles: 0, packs: 0, blobs: 0, trees: 0, unindexedPacks: 0, bytesRead: 0 };
  const rethrowOperational = (error: unknown): void => {
    if (error instanceof LifeboatError && (error.code === 'CANCELLED' || error.code === 'VAULT_BACKEND')) throw error;
  };

  // Snapshots first, then the index (spec §12 read order).
  onProgress?.({ phase: 'snapshots', bytes: 0, total: null });
  const snapshots: { id: string; json: SnapshotJson }[] = [];
  for (const id of await repo.listIds('snapshots')) {
    throwIfAborted(signal, 'The check');
    try {
      snapshots.push({ id, json: checkSnapshotJson(await repo.loadJson('snapshots', id), id) });
    } catch (error) {
      rethrowOperational(error);
      problems.push({ snapshotId: id, message: `Snapshot ${id.slice(0, 8)} cannot be read: ${message(error)}` });
    }
  }
  stats.snapshots = snapshots.length;

  onProgress?.({ phase: 'index', bytes: 0, total: null });
  const index = new RepoIndex();
  const packIndexFile = new Map<string, string>();
  for (const id of await repo.listIds('index')) {
    throwIfAborted(signal, 'The check');
    try {
      const packs = await repo.loadIndexFile(id);
      index.add(packs, id);
      for (const p of packs) packIndexFile.set(p.id, id);
    } catch (error) {
      rethrowOperational(error);
      problems.push({ message: `Index file ${id.slice(0, 8)} cannot be read, so the packs it lists are unknown: ${message(error)}` });
    }
  }
  repo.index = index;
  stats.indexFiles = index.files.size;
  stats.blobs = index.blobCount;

  // Every indexed pack must exist and its header must agree with the index.
  onProgress?.({ phase: 'checking packs', bytes: 0, total: null });
  const stored = new Map<string, number>();
  for await (const f of repo.backend.list('data')) stored.set(f.name, f.size);
  stats.packs = stored.size;
  const missingPacks = new Set<string>();
  const damagedBlobs = new Map<string, string>(); // blob id → why
  let done = 0;
  for (const [packId, blobs] of index.packs) {
    throwIfAborted(signal, 'The check');
    // Progress counts only bytes; item counts go into the phase text, a few times per phase.
    if (countStepChanged(done++, index.packs.size)) onProgress?.({ phase: `checking packs (${Math.round((100 * done) / index.packs.size)} %)`, bytes: 0, total: null });
    const size = stored.get(packId);
    if (size === undefined) {
      missingPacks.add(packId);
      problems.push({ message: `Pack ${packId} is missing, but index file ${(packIndexFile.get(packId) ?? '').slice(0, 8)} lists it (${blobs.length} blob(s) lost).` });
      continue;
    }
    try {
      const header = await repo.readPackHeader(packId, size);
      const inHeader = new Map(header.map((b) => [b.id + b.type, b]));
      for (const b of blobs) {
        const h = inHeader.get(b.id + b.type);
        if (!h || h.offset !== b.offset || h.length !== b.length) {
          problems.push({ message: `Pack ${packId}: the index places ${b.type} blob ${b.id} at offset ${b.offset} (length ${b.length}), but the pack header does not.` });
        }
      }
    } catch (error) {
      rethrowOperational(error);
      problems.push({ message: `Pack ${packId} has an unreadable header: ${message(error)}` });
    }
  }
  for (const packId of stored.keys()) if (!index.packs.has(packId)) stats.unindexedPacks++;

  if (options.readData) await readAllData(repo, index, stored, damagedBlobs, problems, stats, options);

  // Walk every snapshot's trees; a problem inside a shared tree is reported for each snapshot using it.
  onProgress?.({ phase: 'checking trees', bytes: 0, total: null });
  const treeProblems = new Map<string, string[]>();
  const checkTree = async (treeId: string, path: string): Promise<string[]> => {
    const cached = treeProblems.get(treeId);
    if (cached) return cached;
    throwIfAborted(signal, 'The check');
    const found: string[] = [];
    treeProblems.set(treeId, found); // guards against cycles in a damaged repository
    const loc = index.find(treeId);
    if (!loc) {
      found.push(`folder ${path || '/'} (tree ${treeId.slice(0, 8)}) is not in any index`);
      return found;
    }
    let nodes;
    try {
      nodes = decodeTree(await repo.readBlob(loc), treeId);
      stats.trees++;
    } catch (error) {
      rethrowOperational(error);
      found.push(`folder ${path || '/'} cannot be read: ${message(error)}`);
      return found;
    }
    for (const node of nodes) {
      const nodePath = `${path}/${node.name}`;
      if (!node.name) found.push(`folder ${path || '/'} has an entry with an empty name`);
      if (isDir(node)) {
        if (!node.subtree || /^0+$/.test(node.subtree)) found.push(`folder ${nodePath} has no subtree`);
        else found.push(...(await checkTree(node.subtree, nodePath)));
      } else if (node.type === 'file') {
        if (!Array.isArray(node.content)) found.push(`file ${nodePath} has no content list`);
        for (const blobId of node.content ?? []) {
          const blob = index.find(blobId);
          if (!blob) found.push(`file ${nodePath} needs blob ${blobId}, which is not in any index`);
          else if (missingPacks.has(blob.packId)) found.push(`file ${nodePath} needs blob ${blobId}, whose pack ${blob.packId} is missing`);
          else if (damagedBlobs.has(blobId)) found.push(`file ${nodePath} needs blob ${blobId} in pack ${blob.packId}, which is damaged (${damagedBlobs.get(blobId) ?? ''})`);
        }
      }
    }
    return found;
  };
  for (const [i, s] of snapshots.entries()) {
    if (countStepChanged(i, snapshots.length)) onProgress?.({ phase: `checking trees (${Math.round((100 * i) / snapshots.length)} %)`, bytes: 0, total: null });
    for (const why of new Set(await checkTree(s.json.tree, ''))) {
      problems.push({ snapshotId: s.id, message: `Snapshot ${s.id.slice(0, 8)}: ${why}.` });
    }
  }
  return { ok: problems.length === 0, problems, stats };
}

async function readAllData(
  repo: Repository,
  index: RepoIndex,
  stored: Map<string, number>,
  damagedBlobs: Map<string, string>,
  problems: CheckProblem[],
  stats: CheckResult['stats'],
  { signal, onProgress, readSubset }: CheckOptions,
): Promise<void> {
  const present = [...index.packs.keys()].filter((id) => stored.has(id));
  const chosen = new Set(readSubset ? readSubset(present.map((id) => ({ id, size: stored.get(id) ?? 0 }))) : present);
  let total = 0;
  for (const packId of chosen) total += stored.get(packId) ?? 0;
  for (const [packId, blobs] of index.packs) {
    const size = stored.get(packId);
    if (size === undefined || !chosen.has(packId)) continue;
    throwIfAborted(signal, 'The check');
    onProgress?.({ phase: 'read-data', bytes: stats.bytesRead, total });
    const data = await repo.backend.read('data', packId);
    stats.bytesRead += data.length;
    if (sha256Hex(data) !== packId) problems.push({ message: `Pack ${packId} is damaged: its content no longer matches its name (sha256).` });
    for (const blob of blobs as IndexPack['blobs']) {
      try {
        if (blob.offset + blob.length > data.length) throw new Error(`it would end at byte ${blob.offset + blob.length} of a ${data.length}-byte pack`);
        repo.openBlob({ ...blob, packId }, data.subarray(blob.offset, blob.offset + blob.length));
      } catch (error) {
        rethrowIfCancel(error);
        const why = message(error);
        damagedBlobs.set(blob.id, why.replace(/^The .* is damaged: /, '').replace(/\.$/, ''));
        problems.push({ message: `Pack ${packId}: ${blob.type} blob ${blob.id} is damaged: ${damagedBlobs.get(blob.id) ?? why}.` });
      }
    }
  }
  onProgress?.({ phase: 'read-data', bytes: stats.bytesRead, total });
}

function rethrowIfCancel(error: unknown): void {
  if (error instanceof LifeboatError && error.code === 'CANCELLED') throw error;
}
