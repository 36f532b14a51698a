/**
 * Tree blobs (spec §8) and snapshot documents (spec §9): how they are encoded for restic and
 * decoded from whatever restic wrote.
 */
import { LifeboatError } from '../../shared/errors';
import { compareUtf8, goJson, goQuote, goUnquote } from './go-encoding';

/** Go os.FileMode bits restic stores in `mode`. */
export const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;

/** A node as restic's JSON holds it (only the keys Lifeboat reads or writes are typed). */
export interface TreeNodeJson {
  name: string;
  type: string;
  mode?: number;
  mtime?: string;
  atime?: string;
  ctime?: string;
  uid?: number;
  gid?: number;
  user?: string;
  size?: number;
  links?: number;
  linktarget?: string;
  content?: string[] | null;
  subtree?: string;
}

/** A decoded node: `name` is the real name (Go-unquoted). */
export interface TreeNode extends TreeNodeJson {
  /** The name as stored in the tree (Go-quoted). */
  storedName: string;
}

/** A regular file to place in a tree Lifeboat writes. */
export interface FileEntry {
  name: string;
  size: number;
  mtime: string;
  content: string[];
  mode?: number;
}

/** Builds the exact tree blob bytes restic's TreeJSONBuilder would (`{"nodes":[…]}\n`), nodes sorted by UTF-8 name. */
export function encodeFileTree(files: FileEntry[], owner: { uid: number; gid: number; user: string }): Buffer {
  const sorted = [...files].sort((a, b) => compareUtf8(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1]?.name === sorted[i]?.name) throw new LifeboatError('INVALID_INPUT', `Two files in one snapshot are both named "${sorted[i]?.name ?? ''}".`);
  }
  const nodes = sorted.map((f) => {
    // Key order and omitempty rules follow restic's Node struct, so restic rewrites it unchanged.
    const node: TreeNodeJson = {
      name: goQuote(f.name),
      type: 'file',
      mode: f.mode ?? 0o600,
      mtime: f.mtime,
      atime: f.mtime,
      ctime: f.mtime,
      uid: owner.uid,
      gid: owner.gid,
    };
    if (owner.user) node.user = owner.user;
    // An empty file must have `size` omitted and `content: []`; a non-empty one must have `size` (spec §8.1).
    if (f.size > 0) node.size = f.size;
    node.links = 1;
    node.content = f.content;
    return goJson(node);
  });
  return Buffer.from(`{"nodes":[${nodes.join(',')}]}\n`);
}

/** Decodes a tree blob's plaintext. Throws VAULT_CORRUPT naming the tree. */
export function decodeTree(plain: Buffer, treeId: string): TreeNode[] {
  let parsed: { nodes?: unknown };
  try {
    parsed = JSON.parse(plain.toString('utf8')) as { nodes?: unknown };
  } catch (error) {
    throw new LifeboatError('VAULT_CORRUPT', `Tree ${treeId.slice(0, 8)} is damaged: it is not valid JSON.`, { cause: error, details: { treeId } });
  }
  // restic writes `"nodes":null` for an empty directory.
  const nodes = parsed?.nodes ?? [];
  if (!Array.isArray(nodes)) throw new LifeboatError('VAULT_CORRUPT', `Tree ${treeId.slice(0, 8)} is damaged: it has no node list.`, { details: { treeId } });
  return (nodes as TreeNodeJson[]).map((n) => {
    if (typeof n?.name !== 'string' || typeof n.type !== 'string') {
      throw new LifeboatError('VAULT_CORRUPT', `Tree ${treeId.slice(0, 8)} is damaged: a node lacks its name or type.`, { details: { treeId } });
    }
    return { ...n, storedName: n.name, name: goUnquote(n.name) };
  });
}

/** True for a directory node (type, or the Go mode bit for old writers). */
export function isDir(node: TreeNodeJson): boolean {
  return node.type === 'dir' || ((node.mode ?? 0) & GO_MODE_DIR) !== 0;
}

/** True for a symlink node. */
export function isSymlink(node: TreeNodeJson): boolean {
  return node.type === 'symlink' || Math.floor((node.mode ?? 0) / GO_MODE_SYMLINK) % 2 === 1;
}

/** A snapshot document as stored (spec §9). */
export interface SnapshotJson {
  time: string;
  parent?: string;
  tree: string;
  paths: string[];
  hostname?: string;
  username?: string;
  uid?: number;
  gid?: number;
  excludes?: string[];
  tags?: string[];
  original?: string;
  program_version?: string;
}

/** Encodes a snapshot like Go's json.Marshal of restic's Snapshot struct (field order, omitempty). */
export function encodeSnapshot(s: SnapshotJson): Buffer {
  const ordered: Record<string, unknown> = { time: s.time };
  if (s.parent) ordered.parent = s.parent;
  ordered.tree = s.tree;
  ordered.paths = s.paths;
  if (s.hostname) ordered.hostname = s.hostname;
  if (s.username) ordered.username = s.username;
  if (s.uid) ordered.uid = s.uid;
  if (s.gid) ordered.gid = s.gid;
  if (s.excludes?.length) ordered.excludes = s.excludes;
  if (s.tags?.length) ordered.tags = s.tags;
  if (s.original) ordered.original = s.original;
  if (s.program_version) ordered.program_version = s.program_version;
  return Buffer.from(goJson(ordered));
}

/** Validates a decoded snapshot document; throws VAULT_CORRUPT naming the snapshot. */
export function checkSnapshotJson(json: unknown, id: string): SnapshotJson {
  const s = json as Partial<SnapshotJson> | null;
  if (!s || typeof s.time !== 'string' || typeof s.tree !== 'string' || !/^[0-9a-f]{64}$/.test(s.tree)) {
    throw new LifeboatError('VAULT_CORRUPT', `Snapshot ${id.slice(0, 8)} is damaged: it lacks its time or root tree.`, { details: { snapshotId: id } });
  }
  return { ...s, paths: Array.isArray(s.paths) ? s.paths : [] } as SnapshotJson;
}
