/**
 * Hashes one stream with several algorithms at once, each on its own worker thread, so that a
 * reader that also decrypts (a DBackup preview: SHA-256 and MD5 of the stored file next to
 * AES-256-GCM) does not hash on its own thread. The bytes are copied once into a ring of
 * shared-memory blocks (no per-worker copy, no transfer of the caller's buffers); each worker
 * hashes every block in order and hands it back. When the ring is full, `update` returns a
 * promise: the caller awaits it before the next chunk (backpressure, bounded memory).
 *
 * The worker is a few lines of plain JavaScript run with `eval`, so it needs no file of its own
 * next to a bundle (ESM CLI, CJS Electron shell, or the sources under tsx). With `inline` (small
 * inputs, where starting threads costs more than hashing), the same hashes run on the caller's
 * thread: slower for big inputs, never different.
 */
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { LifeboatError } from '../../../shared/errors';

/** Algorithms a hasher may run (node:crypto names). */
export type HashAlgorithm = 'sha256' | 'md5' | 'sha1' | 'sha512';

/** Options of a ParallelHasher. */
export interface ParallelHasherOptions {
  /** Hash on the calling thread instead (small inputs). */
  inline?: boolean;
  /** Bytes of one shared block (default 1 MiB). */
  blockBytes?: number;
  /** Blocks in the ring (default 16): how far the hashing may lag behind the caller. */
  blocks?: number;
}

/** Below this many bytes, starting the worker threads costs more than hashing inline. */
export const PARALLEL_HASH_MIN_BYTES = 16 * 1024 * 1024;

const DEFAULT_BLOCK_BYTES = 1024 * 1024;
const DEFAULT_BLOCKS = 16;

type ToWorker = { block: number; offset: number; length: number } | null;
type FromWorker = { block: number } | { digest: string };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hash = createHash(workerData.algorithm);
const memory = Buffer.from(workerData.memory);
parentPort.on('message', (message) => {
  if (message === null) {
    parentPort.postMessage({ digest: hash.digest('hex') });
    return;
  }
  hash.update(memory.subarray(message.offset, message.offset + message.length));
  parentPort.postMessage({ block: message.block });
});
`;

interface HashThread {
  algorithm: HashAlgorithm;
  worker: Worker;
  digest: Promise<string>;
  reject: (error: Error) => void;
}

/** Several hashes of one stream; `update` in order, then `digest` once; `close` in any case. */
export class ParallelHasher {
  private readonly inline: Map<HashAlgorithm, Hash> | null = null;
  private readonly threads: HashThread[] = [];
  private readonly memory: Buffer = Buffer.alloc(0);
  private readonly blockBytes: number;
  /** Per block: how many workers still hash it. */
  private readonly outstanding: number[] = [];
  private readonly free: number[] = [];
  private current = -1;
  private filled = 0;
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  private finished = false;
  /** Bytes taken so far. */
  bytes = 0;

  constructor(algorithms: readonly HashAlgorithm[], options: ParallelHasherOptions = {}) {
    this.blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    if (options.inline) {
      this.inline = new Map(algorithms.map((a) => [a, createHash(a)]));
      return;
    }
    const blocks = Math.max(2, options.blocks ?? DEFAULT_BLOCKS);
    const shared = new SharedArrayBuffer(blocks * this.blockBytes);
    this.memory = Buffer.from(shared);
    for (let i = blocks - 1; i >= 0; i--) {
      this.free.push(i);
      this.outstanding.push(0);
    }
    for (const algorithm of algorithms) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { algorithm, memory: shared } });
      let reject: (error: Error) => void = () => undefined;
      const digest = new Promise<string>((resolve, rejectDigest) => {
        reject = rejectDigest;
        worker.on('message', (message: FromWorker) => {
          if ('digest' in message) resolve(message.digest);
          else this.release(message.block);
        });
        const fail = (error: Error): void => {
          this.fail(error);
          rejectDigest(error);
        };
        worker.on('error', (error) => fail(new LifeboatError('INTERNAL', `The ${algorithm} hashing thread failed.`, { cause: error })));
        worker.on('exit', (code) => fail(new LifeboatError('INTERNAL', `The ${algorithm} hashing thread stopped (exit code ${code}).`)));
      });
      // A failure is also thrown by update/digest; this copy must not go unhandled.
      digest.catch(() => undefined);
      this.threads.push({ algorithm, worker, digest, reject });
    }
  }

  /** True when the hashes run on worker threads. */
  get parallel(): boolean {
    return this.inline === null;
  }

  /**
   * Takes the next bytes of the stream (copied: the caller keeps `chunk`). Returns a promise when
   * the ring was full: await it before the next call.
   */
  update(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    if (this.finished) throw new LifeboatError('INTERNAL', 'ParallelHasher.update after digest');
    if (this.inline) {
      for (const hash of this.inline.values()) hash.update(chunk);
      this.bytes += chunk.length;
      return undefined;
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.current < 0) {
        const block = this.free.pop();
        if (block === undefined) {
          const rest = chunk.subarray(at);
          return this.blockFreed().then(() => this.update(rest));
        }
        this.current = block;
        this.filled = 0;
      }
      const n = Math.min(this.blockBytes - this.filled, chunk.length - at);
      chunk.copy(this.memory, this.current * this.blockBytes + this.filled, at, at + n);
      this.filled += n;
      this.bytes += n;
      at += n;
      if (this.filled === this.blockBytes) this.dispatch();
    }
    return undefined;
  }

  /** The hex digests of everything taken, by algorithm; then the threads stop. */
  async digest(): Promise<Record<HashAlgorithm, string>> {
    if (this.failure) throw this.failure;
    if (this.finished) throw new LifeboatError('INTERNAL', 'ParallelHasher.digest called twice');
    this.finished = true;
    const out = {} as Record<HashAlgorithm, string>;
    if (this.inline) {
      for (const [algorithm, hash] of this.inline) out[algorithm] = hash.digest('hex');
      return out;
    }
    if (this.current >= 0 && this.filled > 0) this.dispatch();
    for (const thread of this.threads) thread.worker.postMessage(null satisfies ToWorker);
    try {
      const digests = await Promise.all(this.threads.map((t) => t.digest));
      this.threads.forEach((t, i) => (out[t.algorithm] = digests[i] as string));
      return out;
    } finally {
      await this.close();
    }
  }

  /** Stops the threads (after `digest`, or when the stream failed); safe to call more than once. */
  async close(): Promise<void> {
    this.finished = true;
    this.fail(new LifeboatError('CANCELLED', 'The hashing threads were stopped.'));
    await Promise.all(this.threads.map(async (t) => {
      t.worker.removeAllListeners('exit');
      t.reject(this.failure as Error);
      await t.worker.terminate();
    }));
  }

  /** Hands the current block to every thread. */
  private dispatch(): void {
    const block = this.current;
    const message: ToWorker = { block, offset: block * this.blockBytes, length: this.filled };
    this.outstanding[block] = this.threads.length;
    for (const thread of this.threads) thread.worker.postMessage(message);
    this.current = -1;
    this.filled = 0;
  }

  private release(block: number): void {
    const left = (this.outstanding[block] ?? 1) - 1;
    this.outstanding[block] = left;
    if (left > 0) return;
    this.free.push(block);
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private blockFreed(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.wake = () => (this.failure ? reject(this.failure) : resolve());
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
