/**
 * Reading the vault: snapshots, the files in a snapshot's trees, and streaming a file back out
 * with every blob verified (MAC, zstd, sha256) on the way.
 */
import { Readable } from 'node:stream';
import { LifeboatError } from '../../shared/errors';
import { HeldLock } from './lock';
import type { Repository } from './repository';
import { checkSnapshotJson, decodeTree, isDir, isSymlink } from './tree';
import type { SnapshotJson, TreeNode } from './tree';
import type { OperationOptions } from './ingest';
import type { BlobLocation } from './repo-index';

/** A snapshot as the UI and CLI see it. */
export interface SnapshotInfo {
  id: string;
  shortId: string;
  /** As stored (RFC 3339 with the writer's offset). */
  time: string;
  hostname: string;
  username: string;
  paths: string[];
  tags: string[];
  tree: string;
  parent?: string;
  programVersion?: string;
}

/** Narrows `listSnapshots` (all given conditions must hold; `tags` means "has all of these"). */
export interface SnapshotFilter {
  hostname?: string;
  tags?: string[];
  paths?: string[];
}

/** One entry of a snapshot's file tree. */
export interface FileInfoEntry {
  /** Path from the snapshot root, starting with "/". */
  path: string;
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  /** As stored. */
  mtime: string;
}

function toInfo(id: string, s: SnapshotJson): SnapshotInfo {
  const info: SnapshotInfo = {
    id,
    shortId: id.slice(0, 8),
    time: s.time,
    hostname: s.hostname ?? '',
    username: s.username ?? '',
    paths: s.paths,
    tags: s.tags ?? [],
    tree: s.tree,
  };
  if (s.parent) info.parent = s.parent;
  if (s.program_version) info.programVersion = s.program_version;
  return info;
}

/** Loads one snapshot by full id. */
export async function loadSnapshot(repo: Repository, id: string): Promise<SnapshotInfo> {
  return toInfo(id, checkSnapshotJson(await repo.loadJson('snapshots', id), id));
}

/** Lists snapshots, oldest first. */
export async function listSnapshots(repo: Repository, filter: SnapshotFilter = {}): Promise<SnapshotInfo[]> {
  const all: SnapshotInfo[] = [];
  for (const id of await repo.listIds('snapshots')) {
    const s = await loadSnapshot(repo, id);
    if (filter.hostname !== undefined && s.hostname !== filter.hostname) continue;
    if (filter.tags && !filter.tags.every((t) => s.tags.includes(t))) continue;
    if (filter.paths && !filter.paths.every((p) => s.paths.includes(p))) continue;
    all.push(s);
  }
  return all.sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || a.id.localeCompare(b.id));
}

/** Resolves a unique id prefix (as on restic's command line) to a full snapshot id; "latest" is the newest. */
export async function findSnapshot(repo: Repository, prefix: string): Promise<string> {
  if (prefix === 'latest') {
    const all = await listSnapshots(repo);
    const last = all.at(-1);
    if (!last) throw new LifeboatError('NOT_FOUND', 'The vault holds no snapshots yet.');
    return last.id;
  }
  if (!/^[0-9a-f]{1,64}$/.test(prefix)) throw new LifeboatError('INVALID_INPUT', `"${prefix}" is not a snapshot id (hex characters expected).`);
  const matches = (await repo.listIds('snapshots')).filter((id) => id.startsWith(prefix));
  if (matches.length === 0) throw new LifeboatError('NOT_FOUND', `No snapshot id starts with "${prefix}".`);
  if (matches.length > 1) throw new LifeboatError('INVALID_INPUT', `"${prefix}" matches ${matches.length} snapshots; give more characters.`);
  return matches[0] as string;
}

/** Finds a blob in the index or fails with VAULT_CORRUPT naming it. */
export function locate(repo: Repository, id: string, what: string): BlobLocation {
  const loc = repo.index.find(id);
  if (!loc) throw new LifeboatError('VAULT_CORRUPT', `${what}: blob ${id} is not in any index (its pack is missing or unindexed).`, { details: { blobId: id } });
  return loc;
}

/** Loads and decodes a tree blob. */
export async function loadTree(repo: Repository, treeId: string): Promise<TreeNode[]> {
  const plain = await repo.readBlob(locate(repo, treeId, `Tree ${treeId.slice(0, 8)}`));
  return decodeTree(plain, treeId);
}

function nodeType(node: TreeNode): FileInfoEntry['type'] {
  if (isDir(node)) return 'dir';
  if (isSymlink(node)) return 'symlink';
  return node.type === 'file' ? 'file' : 'other';
}

/**
 * Loads the index when it is empty, or when it does not know a snapshot's tree: another process
 * (a CLI pull beside a running serve) has added packs and an index file since it was read.
 */
async function indexKnows(repo: Repository, treeId: string): Promise<void> {
  if (repo.index.blobCount === 0 || !repo.index.find(treeId)) await repo.loadIndex();
}

/** Lists every entry of a snapshot (depth first, in tree order). */
export async function listFiles(repo: Repository, snapshotId: string): Promise<FileInfoEntry[]> {
  const snapshot = await loadSnapshot(repo, snapshotId);
  await indexKnows(repo, snapshot.tree);
  const out: FileInfoEntry[] = [];
  const walk = async (treeId: string, prefix: string): Promise<void> => {
    for (const node of await loadTree(repo, treeId)) {
      const path = `${prefix}/${node.name}`;
      const type = nodeType(node);
      out.push({ path, name: node.name, type, size: node.size ?? 0, mtime: node.mtime ?? '' });
      if (type === 'dir') {
        if (!node.subtree) throw new LifeboatError('VAULT_CORRUPT', `Directory ${path} in snapshot ${snapshotId.slice(0, 8)} has no subtree.`);
        await walk(node.subtree, path);
      }
    }
  };
  await walk(snapshot.tree, '');
  return out;
}

/** Finds the node at `path` ("/a/b.txt" or "a/b.txt") in a snapshot. */
export async function findNode(repo: Repository, snapshotId: string, path: string): Promise<TreeNode> {
  const snapshot = await loadSnapshot(repo, snapshotId);
  await indexKnows(repo, snapshot.tree);
  const parts = path.split('/').filter((p) => p.length > 0);
  if (parts.length === 0) throw new LifeboatError('INVALID_INPUT', 'Give the path of a file inside the snapshot, not the root.');
  let treeId = snapshot.tree;
  for (let i = 0; ; i++) {
    const node = (await loadTree(repo, treeId)).find((n) => n.name === parts[i]);
    if (!node) throw new LifeboatError('NOT_FOUND', `Snapshot ${snapshotId.slice(0, 8)} has no "${parts.slice(0, i + 1).join('/')}".`);
    if (i === parts.length - 1) return node;
    if (!isDir(node) || !node.subtree) throw new LifeboatError('NOT_FOUND', `"${parts.slice(0, i + 1).join('/')}" in snapshot ${snapshotId.slice(0, 8)} is not a folder.`);
    treeId = node.subtree;
  }
}

/** How many blobs are read ahead while the consumer handles the current one. */
const READ_AHEAD = 2;

/**
 * Streams a file out of a snapshot. Every blob is verified before its bytes are passed on; a damaged
 * blob ends the stream with VAULT_CORRUPT naming the blob and its pack. A shared lock is held while
 * the stream is open, so a concurrent prune cannot delete its packs.
 */
export async function dumpFile(repo: Repository, snapshotId: string, path: string, options: OperationOptions = {}): Promise<Readable> {
  const lock = await HeldLock.acquire(repo, false);
  let node: TreeNode;
  try {
    await repo.loadIndex();
    node = await findNode(repo, snapshotId, path);
    if (node.type !== 'file') throw new LifeboatError('INVALID_INPUT', `"${path}" in snapshot ${snapshotId.slice(0, 8)} is a ${node.type}, not a file.`);
  } catch (error) {
    await lock.release();
    throw error;
  }
  const content = node.content ?? [];
  const total = node.size ?? null;
  async function* blobs(): AsyncGenerator<Buffer> {
    try {
      const locations = content.map((id) => locate(repo, id, `File ${path}`));
      const pending: Promise<Buffer>[] = [];
      let next = 0;
      let bytes = 0;
      const fill = (): void => {
        while (pending.length < READ_AHEAD && next < locations.length) {
          const read = repo.readBlob(locations[next++] as BlobLocation);
          read.catch(() => undefined); // handled when awaited below, in order
          pending.push(read);
        }
      };
      fill();
      while (pending.length > 0) {
        if (options.signal?.aborted) throw new LifeboatError('CANCELLED', `Reading ${path} was cancelled.`);
        const data = await (pending.shift() as Promise<Buffer>);
        fill();
        bytes += data.length;
        options.onProgress?.({ phase: 'dump', bytes, total });
        yield data;
      }
      if (total !== null && bytes !== total) {
        throw new LifeboatError('VAULT_CORRUPT', `File ${path} in snapshot ${snapshotId.slice(0, 8)} came out as ${bytes} bytes, but its tree says ${total}.`);
      }
    } finally {
      await lock.release();
    }
  }
  const stream = Readable.from(blobs(), { objectMode: false });
  // A stream destroyed before its first read never runs the generator's `finally`.
  stream.once('close', () => {
    lock.release().catch((error: unknown) => {
      // Nobody is listening any more; the lock file stays and will show up as stale in listLocks().
      stream.emit('lock-release-failed', error);
    });
  });
  return stream;
}
