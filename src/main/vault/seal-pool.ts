/**
 * Hashes and seals the chunks of one stream on a worker thread, so that reading and chunking
 * (main thread) overlap with the SHA-256s, AES-CTR and Poly1305 (worker). One worker, fed in
 * order, so it can also hash the whole stream. Where no worker script can be found (the CJS
 * Electron bundle has no import.meta.url), or with `{ inline: true }`, the same work runs on the
 * calling thread: slower, never different.
 *
 * Chunks are sealed in place, in memory the pool hands out (`chunkBuffer`) and takes back once a
 * sealed chunk is stored (`recycle`): the buffer goes to the worker and back by transfer, so a
 * GiB pulled allocates a few MiB of chunk memory instead of two GiB (each chunk, then its sealed
 * copy), and the pulling thread no longer spends its time in garbage collections forced by
 * external memory (a third of its CPU in a 1 GiB pull) nor holds that garbage in its RSS.
 */
import { createHash, type Hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LifeboatError } from '../../shared/errors';
import { CRYPTO_OVERHEAD, sealInto } from './crypto';
import type { RepoKey } from './crypto';
import { sha256Hex } from './repository';
import { SEAL_IV_BYTES } from './seal-protocol';
import type { SealReply, SealRequest, SealWorkerData } from './seal-protocol';

/** A chunk's blob id and its sealed bytes; hand it to `recycle` once they are stored. */
export interface SealedChunk {
  id: string;
  sealed: Buffer;
  plaintextLength: number;
}

/** Digests of the whole stream: SHA-256 always, MD5 when the pool was asked for it. */
export interface StreamDigests {
  sha256: string;
  md5?: string;
}

interface Waiter {
  resolve: (reply: SealReply) => void;
  reject: (error: Error) => void;
}

/** Chunk buffers are made in multiples of this, so one fits chunks of many lengths when recycled. */
const BUFFER_STEP = 1024 * 1024;
/** Recycled chunk memory kept for later chunks; beyond it a returned buffer is left to the GC. */
const MAX_SPARE_BYTES = 24 * 1024 * 1024;

/** What to start the worker from: the bundled .js next to this module, or (source runs) the .ts through tsx. */
function workerScript(): URL | string | null {
  // typeof guard: esbuild's CJS output leaves import.meta empty.
  const here = typeof import.meta.url === 'string' ? import.meta.url : null;
  if (!here) return null;
  if (here.endsWith('.ts')) {
    // Node 20 does not apply `--import tsx` to a worker's entry file, so load it through tsx's API.
    const source = JSON.stringify(new URL('./seal-worker.ts', here).href);
    return `import('tsx/esm/api').then(({ tsImport }) => tsImport(${source}, ${source}));`;
  }
  const url = new URL('./seal-worker.js', here);
  return existsSync(fileURLToPath(url)) ? url : null;
}

/** Seals one stream's chunks in order; `close()` it when the ingest ends, however it ends. */
export class SealPool {
  private readonly worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiter>();
  /** The whole-stream hash when sealing inline. */
  private readonly whole = createHash('sha256');
  private readonly wholeMd5: Hash | null;
  private seq = 0;
  private failure: Error | null = null;
  /** Buffers this pool made (a chunk in one is sealed where it lies), and those free for reuse. */
  private readonly owned = new WeakSet<ArrayBuffer>();
  private readonly spare: ArrayBuffer[] = [];
  private spareBytes = 0;

  constructor(
    private readonly key: RepoKey,
    options: { inline?: boolean; md5?: boolean } = {},
  ) {
    // MD5 is for sources whose checksums are MD5 (DBackup's sidecars): kept on the worker with
    // the SHA-256, so the pull's own thread never hashes the archive.
    this.wholeMd5 = options.md5 ? createHash('md5') : null;
    const script = options.inline ? null : workerScript();
    if (!script) return;
    const workerData: SealWorkerData<RepoKey> = { key, md5: options.md5 === true };
    this.worker = new Worker(script, { workerData, eval: typeof script === 'string' });
    this.worker.on('message', (reply: SealReply) => {
      this.waiting.get(reply.seq)?.resolve(reply);
      this.waiting.delete(reply.seq);
    });
    this.worker.on('error', (error) => this.fail(new LifeboatError('INTERNAL', 'The vault encryption worker failed.', { cause: error })));
    this.worker.on('exit', (code) => this.fail(new LifeboatError('INTERNAL', `The vault encryption worker stopped (exit code ${code}).`)));
  }

  /**
   * `length` bytes for the stream's next chunk (a Chunker's `allocate`), with room around them for
   * the IV and MAC: a chunk written here is sealed in place by `seal`.
   */
  chunkBuffer(length: number): Buffer {
    const needed = length + CRYPTO_OVERHEAD;
    let best = -1;
    this.spare.forEach((b, i) => {
      if (b.byteLength >= needed && (best < 0 || b.byteLength < (this.spare[best] as ArrayBuffer).byteLength)) best = i;
    });
    let buffer: ArrayBuffer;
    if (best >= 0) {
      buffer = this.spare.splice(best, 1)[0] as ArrayBuffer;
      this.spareBytes -= buffer.byteLength;
    } else {
      buffer = new ArrayBuffer(Math.ceil(needed / BUFFER_STEP) * BUFFER_STEP);
      this.owned.add(buffer);
    }
    return Buffer.from(buffer, SEAL_IV_BYTES, length);
  }

  /** Takes back the memory of a sealed chunk once its bytes are stored (or no longer needed). */
  recycle(chunk: SealedChunk): void {
    const buffer = chunk.sealed.buffer;
    if (!(buffer instanceof ArrayBuffer) || !this.owned.has(buffer) || this.spareBytes + buffer.byteLength > MAX_SPARE_BYTES) return;
    this.spare.push(buffer);
    this.spareBytes += buffer.byteLength;
  }

  /**
   * Hashes and seals the stream's next chunk; takes ownership of `plaintext` (a `chunkBuffer` is
   * sealed where it lies, its memory moving to the worker and back; anything else is copied into one).
   */
  async seal(plaintext: Buffer): Promise<SealedChunk> {
    const plaintextLength = plaintext.length;
    let chunk = plaintext;
    if (!(chunk.buffer instanceof ArrayBuffer && this.owned.has(chunk.buffer) && chunk.byteOffset === SEAL_IV_BYTES)) {
      chunk = this.chunkBuffer(plaintextLength);
      chunk.set(plaintext);
    }
    const buffer = chunk.buffer as ArrayBuffer;
    if (!this.worker) {
      this.whole.update(chunk);
      this.wholeMd5?.update(chunk);
      const id = sha256Hex(chunk);
      const target = Buffer.from(buffer);
      sealInto(this.key, chunk, target, 0);
      return { id, sealed: target.subarray(0, plaintextLength + CRYPTO_OVERHEAD), plaintextLength };
    }
    const reply = await this.request(buffer, plaintextLength);
    if (!reply.buffer) throw new LifeboatError('INTERNAL', 'The vault encryption worker sent no sealed bytes.');
    this.owned.add(reply.buffer);
    return { id: reply.id, sealed: Buffer.from(reply.buffer, 0, plaintextLength + CRYPTO_OVERHEAD), plaintextLength };
  }

  /**
   * SHA-256 (hex) of every chunk passed to `seal`, concatenated, and its MD5 when the pool was
   * made with `md5`; call once, after the last chunk.
   */
  async digests(): Promise<StreamDigests> {
    if (!this.worker) return { sha256: this.whole.digest('hex'), ...(this.wholeMd5 ? { md5: this.wholeMd5.digest('hex') } : {}) };
    const reply = await this.request(null, 0);
    return { sha256: reply.id, ...(reply.md5 !== undefined ? { md5: reply.md5 } : {}) };
  }

  /** Stops the worker; pending calls reject. */
  async close(): Promise<void> {
    this.failure ??= new LifeboatError('CANCELLED', 'The vault encryption worker was stopped.');
    this.spare.length = 0;
    await this.worker?.terminate();
  }

  private async request(buffer: ArrayBuffer | null, length: number): Promise<SealReply> {
    if (this.failure) throw this.failure;
    const worker = this.worker as Worker;
    const request: SealRequest = { seq: this.seq++, buffer, length };
    return new Promise<SealReply>((resolve, reject) => {
      this.waiting.set(request.seq, { resolve, reject });
      worker.postMessage(request, buffer ? [buffer] : []);
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }
}
