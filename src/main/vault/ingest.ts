/**
 * Adds one archive (plus its small sidecar files) to the vault as a new snapshot, streaming:
 * chunk → dedup → encrypt → pack, then index, then snapshot last. Nothing partial is ever visible:
 * on abort or failure no snapshot is written (packs already written are orphans for prune).
 */
import os from 'node:os';
import type { Readable } from 'node:stream';
import { LifeboatError } from '../../shared/errors';
import { BlobSaver } from './blob-saver';
import { chunkBuffer, chunkStream } from './chunker';
import { formatGoTime, nowGoTime } from './go-encoding';
import { withLock } from './lock';
import { sha256Hex } from './repository';
import type { Repository } from './repository';
import { SealPool } from './seal-pool';
import type { SealedChunk } from './seal-pool';
import { encodeFileTree, encodeSnapshot } from './tree';
import type { FileEntry, SnapshotJson } from './tree';

/** Progress of a long vault operation. */
export interface VaultProgress {
  phase: string;
  bytes: number;
  total: number | null;
}

/** Cancellation and progress, as every long operation takes them. */
export interface OperationOptions {
  signal?: AbortSignal;
  onProgress?: (p: VaultProgress) => void;
}

/** A small file stored next to the archive in the snapshot (manifest, checksums…). */
export interface Sidecar {
  name: string;
  content: Buffer;
}

/** What to add. */
export interface AddArchiveOptions extends OperationOptions {
  /** The archive bytes; read once, never held whole in memory. */
  input: Readable | AsyncIterable<Uint8Array>;
  /** File name of the archive inside the snapshot's root tree. */
  fileName: string;
  /** Expected size in bytes, if known: used for progress, and a mismatch fails the ingest. */
  size?: number;
  /** Modification time recorded for the archive and its sidecars. */
  mtime: Date;
  /**
   * Sidecars, or a function giving them that is called after the archive's last byte: a source
   * may only know a sidecar (a manifest with the SHA-256) once the bytes have streamed by.
   */
  sidecars?: Sidecar[] | (() => Sidecar[]);
  hostname: string;
  /** Read when the snapshot is written, after `beforeSnapshot` (a verdict may add a tag). */
  tags?: string[] | (() => string[]);
  /** Paths recorded in the snapshot (restic groups snapshots by host + paths). */
  paths: string[];
  /** Snapshot time; now if omitted. */
  time?: Date;
  /**
   * Called after the archive's last byte with its size and SHA-256 (hashed on the seal worker),
   * before anything that makes a snapshot: throwing here leaves no snapshot, like an abort.
   */
  beforeSnapshot?: (archive: WholeDigests) => Promise<void>;
  /** Also the MD5 of the whole archive (on the seal worker), handed to `beforeSnapshot`: for sources whose checksum is MD5. */
  wholeMd5?: boolean;
}

/** Size and digests of a whole archive, after its last byte. */
export interface WholeDigests {
  size: number;
  sha256: string;
  /** Only when asked for (`wholeMd5`). */
  md5?: string;
}

/** What an ingest produced. */
export interface AddArchiveResult {
  snapshotId: string;
  treeId: string;
  /** Archive size in bytes. */
  size: number;
  /** SHA-256 of the whole archive, computed while streaming. */
  sha256: string;
  /** Plaintext bytes of blobs that were new to the vault. */
  addedBytes: number;
  /** Bytes of repository files written (packs, index, snapshot). */
  storedBytes: number;
}

const PROGRESS_EVERY = 4 * 1024 * 1024;
/**
 * Plaintext bytes handed to the seal worker and not yet stored: keeps the worker busy while
 * bounding memory (each chunk is held twice meanwhile, plaintext and sealed), whether chunks are
 * ~1 MiB (varied data) or 8 MiB (long runs without a cut). At least two chunks are always in flight.
 */
const SEAL_BYTES_IN_FLIGHT = 8 * 1024 * 1024;

/** Throws CANCELLED if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new LifeboatError('CANCELLED', `${what} was cancelled.`);
}

function checkName(name: string): void {
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new LifeboatError('INVALID_INPUT', `"${name}" cannot be a file name in the vault (empty, "." or "..", or contains "/" or NUL).`);
  }
}

/** Adds an archive as a new snapshot; see the module comment for the guarantees. */
export async function addArchive(repo: Repository, options: AddArchiveOptions): Promise<AddArchiveResult> {
  checkName(options.fileName);
  if (Array.isArray(options.sidecars)) for (const s of options.sidecars) checkName(s.name);
  if (options.paths.length === 0) throw new LifeboatError('INVALID_INPUT', 'A snapshot needs at least one path.');
  throwIfAborted(options.signal, 'Adding the archive');
  return withLock(repo, false, async (lock) => {
    // Refresh the index under the lock: another writer may have added blobs we can reuse.
    await repo.loadIndex();
    const saver = new BlobSaver(repo);
    const pool = new SealPool(repo.key, { md5: options.wholeMd5 === true });
    try {
      let bytes = 0;
      let nextReport = 0;
      const report = (): void => options.onProgress?.({ phase: 'ingest', bytes, total: options.size ?? null });
      async function* counted(): AsyncGenerator<Uint8Array> {
        for await (const piece of options.input as AsyncIterable<Uint8Array>) {
          throwIfAborted(options.signal, 'Adding the archive');
          bytes += piece.length;
          if (bytes >= nextReport) {
            report();
            nextReport = bytes + PROGRESS_EVERY;
          }
          yield piece;
        }
      }
      const content: string[] = [];
      // Chunks are hashed and sealed on a worker thread, a few at a time, and stored in the order
      // they were cut: the main thread keeps reading and chunking meanwhile. A chunk the vault
      // already holds is sealed for nothing (its id is known only after hashing), but on another core.
      const sealing: Promise<SealedChunk>[] = [];
      let bytesInFlight = 0;
      const storeOldest = async (): Promise<void> => {
        const chunk = await (sealing.shift() as Promise<SealedChunk>);
        bytesInFlight -= chunk.plaintextLength;
        content.push(chunk.id);
        await saver.saveSealed('data', chunk);
        // Its bytes are in a pack buffer now (or were already in the vault): the next chunk reuses its memory.
        pool.recycle(chunk);
      };
      for await (const chunk of chunkStream(counted(), (length) => pool.chunkBuffer(length))) {
        bytesInFlight += chunk.length;
        const sealed = pool.seal(chunk);
        // Marks a rejection as handled while an older chunk is awaited; storeOldest rethrows it.
        sealed.catch(() => undefined);
        sealing.push(sealed);
        while (sealing.length > 2 && bytesInFlight > SEAL_BYTES_IN_FLIGHT) await storeOldest();
      }
      while (sealing.length > 0) await storeOldest();
      const { sha256, md5 } = await pool.digests();
      throwIfAborted(options.signal, 'Adding the archive');
      if (options.size !== undefined && bytes !== options.size) {
        throw new LifeboatError('ARCHIVE_INVALID', `The archive "${options.fileName}" was ${bytes} bytes long, but ${options.size} bytes were expected.`);
      }
      report();
      await options.beforeSnapshot?.({ size: bytes, sha256, ...(md5 !== undefined ? { md5 } : {}) });
      throwIfAborted(options.signal, 'Adding the archive');

      const mtime = formatGoTime(options.mtime);
      const files: FileEntry[] = [{ name: options.fileName, size: bytes, mtime, content }];
      const sidecars = typeof options.sidecars === 'function' ? options.sidecars() : (options.sidecars ?? []);
      for (const sidecar of sidecars) checkName(sidecar.name);
      for (const sidecar of sidecars) {
        const ids: string[] = [];
        for await (const chunk of chunkBuffer(sidecar.content)) {
          const id = sha256Hex(chunk);
          ids.push(id);
          await saver.save('data', id, chunk);
        }
        files.push({ name: sidecar.name, size: sidecar.content.length, mtime, content: ids });
      }
      const user = os.userInfo();
      const tree = encodeFileTree(files, { uid: user.uid, gid: user.gid, user: user.username });
      const treeId = sha256Hex(tree);
      await saver.save('tree', treeId, tree);

      options.onProgress?.({ phase: 'index', bytes, total: options.size ?? null });
      await saver.finish();
      throwIfAborted(options.signal, 'Adding the archive');
      lock.assertHeld();
      const snapshot: SnapshotJson = {
        time: options.time ? formatGoTime(options.time) : nowGoTime(),
        tree: treeId,
        paths: options.paths,
        hostname: options.hostname,
        username: user.username,
        uid: user.uid,
        gid: user.gid,
        tags: (typeof options.tags === 'function' ? options.tags() : options.tags) ?? [],
      };
      const json = encodeSnapshot(snapshot);
      const snapshotId = await repo.saveJson('snapshots', json);
      return {
        snapshotId,
        treeId,
        size: bytes,
        sha256,
        addedBytes: saver.addedBytes,
        storedBytes: saver.storedBytes + json.length + 32,
      };
    } catch (error) {
      await saver.settle();
      // An abandoned ingest (cancelled, failed verification, broken source) leaves none of its packs behind.
      await saver.discard();
      throw error;
    } finally {
      await pool.close();
    }
  });
}
