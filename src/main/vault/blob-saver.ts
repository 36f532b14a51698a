/**
 * Saves blobs into packs (data and tree blobs in separate packs, ~16 MiB each), deduplicating
 * against the repository index and against what this saver already holds, then writes the index
 * files for the packs it wrote. Used by ingest and by prune's repacking.
 */
import { CRYPTO_OVERHEAD } from './crypto';
import { PACK_TARGET_SIZE, PackBuilder } from './pack';
import { encodeIndexJson } from './repo-index';
import type { BlobType, IndexPack } from './repo-index';
import type { Repository } from './repository';
import type { SealedChunk } from './seal-pool';

/** restic starts a new index file after this many blobs. */
const INDEX_MAX_BLOBS = 50_000;
/**
 * Pack writes allowed to run while the next pack fills. One overlaps I/O with chunking and sealing
 * already; each more pins another 16 MiB pack buffer (peak memory of a pull is a benchmark target).
 */
const MAX_WRITES = 1;

/** Accumulates blobs into packs and writes them; call `finish()` to get the new packs indexed. */
export class BlobSaver {
  private readonly open: Record<BlobType, PackBuilder> = { data: new PackBuilder('data'), tree: new PackBuilder('tree') };
  /** Ids of blobs in packs this saver wrote or is writing (not yet in the repository index). */
  private readonly saved = new Set<string>();
  /** Pack writes still running (oldest first). */
  private readonly inFlight: Promise<void>[] = [];
  /** Buffers of packs already on disk, ready for the next pack of that type. */
  private readonly spare: Record<BlobType, Buffer[]> = { data: [], tree: [] };
  /** Packs written so far (not yet in any index file until `finish`). */
  readonly packs: IndexPack[] = [];
  /** Plaintext bytes of blobs that were new to the repository. */
  addedBytes = 0;
  /** Bytes of every file written (packs, then index files). */
  storedBytes = 0;
  /** Size of each pack written, for `discard`. */
  private readonly packSizes = new Map<string, number>();
  /** True once an index lists the packs: from then on they belong to the repository. */
  private indexed = false;

  constructor(
    private readonly repo: Repository,
    private readonly options: { dedup?: boolean } = {},
  ) {}

  /** Whether a blob is already stored (in the repository index or by this saver). */
  has(id: string): boolean {
    return this.saved.has(id) || (this.options.dedup !== false && this.repo.index.has(id));
  }

  /** Stores one blob unless it is already there; returns true when it was new. */
  async save(type: BlobType, id: string, plaintext: Buffer): Promise<boolean> {
    if (this.has(id)) return false;
    this.saved.add(id);
    this.addedBytes += plaintext.length;
    if (this.open[type].count > 0 && this.open[type].size + plaintext.length + CRYPTO_OVERHEAD > PACK_TARGET_SIZE) await this.closePack(type);
    const pack = this.open[type];
    pack.add(this.repo.key, id, plaintext);
    if (pack.size >= PACK_TARGET_SIZE) await this.closePack(type);
    return true;
  }

  /** Like `save`, for a blob already hashed and sealed (by a SealPool); returns true when it was new. */
  async saveSealed(type: BlobType, chunk: SealedChunk): Promise<boolean> {
    if (this.has(chunk.id)) return false;
    this.saved.add(chunk.id);
    this.addedBytes += chunk.plaintextLength;
    // Close first when this blob would take the pack past the target: packs (and their reused
    // buffers) then stay within PACK_TARGET_SIZE, instead of target + one 8 MiB chunk.
    if (this.open[type].count > 0 && this.open[type].size + chunk.sealed.length > PACK_TARGET_SIZE) await this.closePack(type);
    const pack = this.open[type];
    pack.addSealed(chunk.id, chunk.sealed);
    if (pack.size >= PACK_TARGET_SIZE) await this.closePack(type);
    return true;
  }

  /** Writes the open packs, then one or more index files for every pack written; returns the index file ids. */
  async finish(): Promise<string[]> {
    await this.flushPacks();
    const { ids, bytes } = await writeIndexFiles(this.repo, this.packs);
    this.indexed = true;
    this.storedBytes += bytes;
    return ids;
  }

  /**
   * After `settle`, when the write is abandoned before `finish`: removes the packs this saver
   * wrote. No index lists them, so nothing else can refer to their blobs. Returns the bytes freed.
   */
  async discard(): Promise<number> {
    if (this.indexed) return 0;
    let freed = 0;
    for (const pack of this.packs.splice(0)) {
      const size = this.packSizes.get(pack.id) ?? 0;
      await this.repo.backend.remove('data', pack.id).then(
        () => (freed += size),
        // A pack that cannot be removed now is unreferenced: the next prune removes it.
        () => undefined,
      );
    }
    return freed;
  }

  /** Writes the open packs and waits for every pack write, without writing any index. */
  async flushPacks(): Promise<void> {
    await this.closePack('data');
    await this.closePack('tree');
    while (this.inFlight.length > 0) await this.inFlight.shift();
  }

  /** Waits for a pack write that may still be running, after a failure or abort (no index is written). */
  async settle(): Promise<void> {
    // The caller is already failing with the error that matters; a failed write here only means
    // one orphaned pack fewer, which prune would have removed anyway.
    await Promise.allSettled(this.inFlight.splice(0));
  }

  private async closePack(type: BlobType): Promise<void> {
    const pack = this.open[type];
    if (pack.count === 0) return;
    // The pack's bytes are final at once; its hash (its name) runs on the thread pool meanwhile.
    const finished = pack.finish(this.repo.key);
    // Handled: the write below rethrows it; this only covers the await right after.
    finished.catch(() => undefined);
    // Up to MAX_WRITES pack writes run while the next pack fills: overlaps I/O with hashing and encryption.
    if (this.inFlight.length >= MAX_WRITES) await this.inFlight.shift();
    // A pack already on disk lends its buffer to the next pack (no 24 MiB allocation per pack).
    this.open[type] = new PackBuilder(type, this.spare[type].pop());
    const write = finished.then(async ({ id, data, pack: entry }) => {
      await this.repo.backend.write('data', id, data);
      this.packs.push(entry);
      this.packSizes.set(id, data.length);
      this.storedBytes += data.length;
      this.spare[type].push(pack.release());
    });
    // Marks the rejection as handled until `flushPacks` awaits it and rethrows.
    write.catch(() => undefined);
    this.inFlight.push(write);
  }
}

/** Writes index files (at most 50 000 blobs each) listing `packs`, adds them to the loaded index; returns their ids and size. */
export async function writeIndexFiles(repo: Repository, packs: IndexPack[]): Promise<{ ids: string[]; bytes: number }> {
  const ids: string[] = [];
  let bytes = 0;
  let batch: IndexPack[] = [];
  let blobs = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const json = encodeIndexJson(batch);
    const id = await repo.saveJson('index', json);
    bytes += json.length + 32;
    repo.index.add(batch, id);
    ids.push(id);
    batch = [];
    blobs = 0;
  };
  for (const pack of packs) {
    batch.push(pack);
    blobs += pack.blobs.length;
    if (blobs >= INDEX_MAX_BLOBS) await flush();
  }
  await flush();
  return { ids, bytes };
}
