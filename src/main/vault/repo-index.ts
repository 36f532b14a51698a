/**
 * The repository index (spec §7): which pack holds each blob, at which offset and length.
 * The in-memory index is the union of every `index/*` file; it also remembers which index file
 * listed which pack, so prune can rewrite exactly the files it has to.
 */
import { LifeboatError } from '../../shared/errors';

/** Data blobs hold file content; tree blobs hold directory listings. */
export type BlobType = 'data' | 'tree';

/** Where one blob is stored. `uncompressedLength` is set only for zstd-compressed blobs. */
export interface BlobLocation {
  id: string;
  type: BlobType;
  packId: string;
  offset: number;
  length: number;
  uncompressedLength?: number;
}

/** One pack as an index file lists it. */
export interface IndexPack {
  id: string;
  blobs: Omit<BlobLocation, 'packId'>[];
}

interface JsonBlob {
  id: string;
  type: string;
  offset: number;
  length: number;
  uncompressed_length?: number;
}

/** Parses one index document; throws VAULT_CORRUPT naming the file when it does not fit the format. */
export function parseIndexJson(json: unknown, fileId: string, repoVersion: number): IndexPack[] {
  const bad = (why: string): LifeboatError =>
    new LifeboatError('VAULT_CORRUPT', `Index file ${fileId.slice(0, 8)} is damaged: ${why}.`, { details: { indexFile: fileId } });
  // restic <= 0.8 wrote a bare array of packs ("old format"); 0.14 still reads it.
  const packs = Array.isArray(json) ? json : (json as { packs?: unknown } | null)?.packs;
  if (!Array.isArray(packs)) throw bad('it has no "packs" list');
  return packs.map((p: { id?: unknown; blobs?: unknown }) => {
    if (typeof p?.id !== 'string' || !/^[0-9a-f]{64}$/.test(p.id) || !Array.isArray(p.blobs)) throw bad('a pack entry lacks its id or blob list');
    return {
      id: p.id,
      blobs: (p.blobs as JsonBlob[]).map((b) => {
        if (typeof b?.id !== 'string' || (b.type !== 'data' && b.type !== 'tree') || !Number.isSafeInteger(b.offset) || !Number.isSafeInteger(b.length)) {
          throw bad(`pack ${p.id!.toString().slice(0, 8)} has a malformed blob entry`);
        }
        if (b.uncompressed_length && repoVersion < 2) throw bad('a version 1 repository cannot hold compressed blobs');
        const blob: Omit<BlobLocation, 'packId'> = { id: b.id, type: b.type, offset: b.offset, length: b.length };
        if (b.uncompressed_length) blob.uncompressedLength = b.uncompressed_length;
        return blob;
      }),
    };
  });
}

/** Encodes packs as restic's index JSON (compact, trailing LF like Go's json.Encoder). */
export function encodeIndexJson(packs: IndexPack[]): Buffer {
  const doc = {
    packs: packs.map((p) => ({
      id: p.id,
      blobs: p.blobs.map((b) => {
        const out: JsonBlob = { id: b.id, type: b.type, offset: b.offset, length: b.length };
        if (b.uncompressedLength) out.uncompressed_length = b.uncompressedLength;
        return out;
      }),
    })),
  };
  return Buffer.from(`${JSON.stringify(doc)}\n`);
}

/** The union of all index files. */
export class RepoIndex {
  private readonly blobs = new Map<string, BlobLocation>();
  /** pack id → its blobs (every copy, in the order listed). */
  readonly packs = new Map<string, Omit<BlobLocation, 'packId'>[]>();
  /** index file id → the pack ids it lists. */
  readonly files = new Map<string, string[]>();

  /** Adds the packs of one index file (or of a pack just written, with `fileId` null). */
  add(packs: IndexPack[], fileId: string | null): void {
    if (fileId) this.files.set(fileId, packs.map((p) => p.id));
    for (const pack of packs) {
      // The same pack may be listed by several index files; keep one copy of its blob list.
      if (!this.packs.has(pack.id)) this.packs.set(pack.id, pack.blobs);
      for (const blob of pack.blobs) {
        if (!this.blobs.has(blob.id)) this.blobs.set(blob.id, { ...blob, packId: pack.id });
      }
    }
  }

  /** Where a blob is stored, or undefined when no index lists it. */
  find(id: string): BlobLocation | undefined {
    return this.blobs.get(id);
  }

  /** Whether a blob of that id is stored (dedup check). */
  has(id: string): boolean {
    return this.blobs.has(id);
  }

  /** Number of distinct blobs. */
  get blobCount(): number {
    return this.blobs.size;
  }

  /** Every distinct blob. */
  allBlobs(): IterableIterator<BlobLocation> {
    return this.blobs.values();
  }
}
