/**
 * Hashes and seals the chunks of one stream on a worker thread, so that reading and chunking
 * (main thread) overlap with the SHA-256s, AES-CTR and Poly1305 (worker). One worker, fed in
 * order, so it can also hash the whole stream. Where no worker script can be found (the CJS
 * Electron bundle has no import.meta.url), or with `{ inline: true }`, the same work runs on the
 * calling thread: slower, never different.
 */
import { createHash, type Hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LifeboatError } from '../../shared/errors';
import { seal } from './crypto';
import type { RepoKey } from './crypto';
import { sha256Hex } from './repository';
import { ownedBytes } from './seal-protocol';
import type { SealReply, SealRequest, SealWorkerData } from './seal-protocol';

/** A chunk's blob id and its sealed bytes. */
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

  /** Hashes and seals the stream's next chunk; takes ownership of `plaintext` (its memory may move to the worker). */
  async seal(plaintext: Buffer): Promise<SealedChunk> {
    const plaintextLength = plaintext.length;
    if (!this.worker) {
      this.whole.update(plaintext);
      this.wholeMd5?.update(plaintext);
      return { id: sha256Hex(plaintext), sealed: seal(this.key, plaintext), plaintextLength };
    }
    const { id, sealed } = await this.request(ownedBytes(plaintext));
    if (!sealed) throw new LifeboatError('INTERNAL', 'The vault encryption worker sent no sealed bytes.');
    return { id, sealed: Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length), plaintextLength };
  }

  /**
   * SHA-256 (hex) of every chunk passed to `seal`, concatenated, and its MD5 when the pool was
   * made with `md5`; call once, after the last chunk.
   */
  async digests(): Promise<StreamDigests> {
    if (!this.worker) return { sha256: this.whole.digest('hex'), ...(this.wholeMd5 ? { md5: this.wholeMd5.digest('hex') } : {}) };
    const reply = await this.request(null);
    return { sha256: reply.id, ...(reply.md5 !== undefined ? { md5: reply.md5 } : {}) };
  }

  /** Stops the worker; pending calls reject. */
  async close(): Promise<void> {
    this.failure ??= new LifeboatError('CANCELLED', 'The vault encryption worker was stopped.');
    await this.worker?.terminate();
  }

  private async request(plaintext: Uint8Array<ArrayBuffer> | null): Promise<SealReply> {
    if (this.failure) throw this.failure;
    const worker = this.worker as Worker;
    const request: SealRequest = { seq: this.seq++, plaintext };
    return new Promise<SealReply>((resolve, reject) => {
      this.waiting.set(request.seq, { resolve, reject });
      worker.postMessage(request, plaintext ? [plaintext.buffer] : []);
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }
}
