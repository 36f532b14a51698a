/**
 * One pass over a stored whole-file backup: every stored byte goes to the caller's hash (so the
 * checksum is checked in the same read), then through AES-256-GCM (when encrypted) and
 * decompression into the caller's reader. The reader may stop early (a TOC is near the start);
 * the rest is still decrypted, not decompressed, to reach the tag. A decompression bomb stops the
 * whole read at once: nothing more is read from the input (the tag is then not reached). Nothing
 * is buffered beyond stream high-water marks.
 *
 *   stored ─▶ hash ─▶ decipher ─▶ router ─┬─▶ counter ─▶ gunzip/brotli ─▶ caps ─▶ sink ─▶ reader
 *                                         └─▶ (dropped once the reader is done)
 */
import { PassThrough, Writable, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifeboatError } from '../../../shared/errors';
import { DecompressBudget } from '../decompress-budget';
import { WholeFileDecipher, type WholeFileSecrets } from './decipher';
import type { KeyRef } from './errors';
import type { HeadVerdict, PayloadCompression } from './head';
import { inflateStages, isDecompressionBomb, typedInflateError } from './inflate';

/** Smallest block handed to the decipher (but the last): see the input loop of `readPayload`. */
export const FEED_BYTES = 1024 * 1024;

/** Options of `readPayload`. */
export interface ReadPayloadOptions<T> {
  /** The file, for messages. */
  label: string;
  /** Null: the file is not encrypted (or `decipher` decrypts it). */
  secrets: WholeFileSecrets | null;
  /** Another format's decryption (a v2 archive's sealed entry), used when `secrets` is null. */
  decipher?: PayloadDecipher;
  keyRef?: KeyRef;
  compression: PayloadCompression;
  /** The bounds the decompressed output is counted against (default: the file's own, with the default limits). */
  budget?: DecompressBudget;
  signal?: AbortSignal;
  /**
   * Sees every stored (still encrypted) byte, in order: hash here. A returned promise holds the
   * next chunk back until it settles (a hasher whose buffer is full).
   */
  onStoredChunk?: (chunk: Buffer) => unknown;
  /** Reads the plaintext (untrusted until `authenticated`); null: only decrypt to the tag. */
  read: ((plaintext: Readable) => Promise<T>) | null;
}

/** A decrypting Transform whose tag is checked at its end, as WholeFileDecipher. */
export interface PayloadDecipher extends Transform {
  readonly authenticated: boolean | null;
  readonly headVerdict: HeadVerdict | null;
}

/** What one pass found; failures of the payload are values here, never thrown. */
export interface PayloadOutcome<T> {
  storedBytes: number;
  /** True: the GCM tag matched; false: it did not (or the key was refused early); null: not encrypted. */
  authenticated: boolean | null;
  /** Wrong key or damaged ciphertext (errors.ts), when `authenticated` is false. */
  decryptError: LifeboatError | null;
  /** What the decrypted head looked like. */
  head: HeadVerdict | null;
  /** What `read` returned. Untrusted when `authenticated` is false. */
  value: T | null;
  /** Why `read` failed: bad compression, a cap, or the reader's own typed error. */
  readError: LifeboatError | null;
  /** True: a decompression bomb stopped the read before the input's end (`readError` says which bound; the tag was not reached). */
  stopped: boolean;
}

/** Resolves once `stream` can take more, or is gone (closed, destroyed). */
export function untilWritable(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/** A Writable that forwards into `target` while `active()` holds, with backpressure; drops bytes after. */
function forwarder(target: () => Writable, active: () => boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const to = target();
      if (!active() || to.destroyed) return done();
      if (to.write(chunk)) return done();
      void untilWritable(to).then(() => done());
    },
    final(done) {
      const to = target();
      if (active() && !to.destroyed) to.end();
      done();
    },
  });
}

/**
 * Reads a stored file to its end: hash, decrypt, decompress, hand to `read`. Throws only for
 * the input itself (a broken connection, a vault read error), cancellation and bugs in `read`;
 * a wrong key, a damaged file, a bomb or a bad payload come back in the outcome.
 */
export async function readPayload<T>(input: Readable, options: ReadPayloadOptions<T>): Promise<PayloadOutcome<T>> {
  const { label, compression } = options;
  const decipher: PayloadDecipher | null = options.secrets ? new WholeFileDecipher(options.secrets, { compression, label, ...(options.keyRef ? { keyRef: options.keyRef } : {}) }) : (options.decipher ?? null);
  const entry = decipher ?? new PassThrough();
  let feeding = options.read !== null;
  let decryptError: LifeboatError | null = null;
  let readError: LifeboatError | null = null;
  // Set by a decompression bomb: the input is not read further, not even to reach the tag.
  let stopped = false;

  const view = new PassThrough();
  const inflateIn = new PassThrough();
  // Both are destroyed with the failure that ends a read; the failure is reported through the
  // outcome (and the reader's own stream), so an 'error' event here has nobody else to reach.
  for (const stream of [view, inflateIn]) stream.on('error', () => undefined);
  const toInflate = forwarder(() => inflateIn, () => feeding);
  const stages = feeding ? inflateStages(compression, options.budget ?? new DecompressBudget(label)) : [];
  const inflated = feeding
    ? pipeline([inflateIn, ...stages, forwarder(() => view, () => feeding)]).catch((error: unknown) => {
        const typed = typedInflateError(error, label, compression);
        if (feeding && typed !== decryptError) readError ??= typed;
        if (isDecompressionBomb(typed)) {
          stopped = true;
          entry.destroy();
          toInflate.destroy();
          input.destroy();
        }
        view.destroy(typed);
      })
    : Promise.resolve();
  const decrypted = pipeline(entry, toInflate).catch((error: unknown) => {
    if (stopped) return;
    decryptError = error instanceof LifeboatError ? error : new LifeboatError('INTERNAL', `Decrypting ${label} failed: ${String(error)}`, { cause: error });
    inflateIn.destroy(decryptError);
  });

  let value: T | null = null;
  let readBug: unknown = null;
  const reading = options.read
    ? options.read(view).then(
        (result) => {
          value = result;
        },
        (error: unknown) => {
          if (error instanceof LifeboatError) readError ??= error;
          else readBug = error;
        },
      ).finally(() => {
        // The reader is done: the rest is only decrypted (for the tag), not decompressed.
        feeding = false;
        inflateIn.destroy();
        view.destroy();
      })
    : Promise.resolve();

  let storedBytes = 0;
  // Small input chunks (a 64 KiB file stream, a TLS socket) are joined into blocks of at least
  // FEED_BYTES: every chunk costs a decipher call and a trip through each stream below, which at
  // 64 KiB weighs more than the one copy of the join.
  let gathered: Buffer[] = [];
  let gatheredBytes = 0;
  const feed = async (block: Buffer): Promise<void> => {
    if (!entry.destroyed && !entry.write(block)) await untilWritable(entry);
  };
  const feedGathered = async (): Promise<void> => {
    const block = gathered.length === 1 ? (gathered[0] as Buffer) : Buffer.concat(gathered, gatheredBytes);
    gathered = [];
    gatheredBytes = 0;
    await feed(block);
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      if (stopped) break;
      if (options.signal?.aborted) throw new LifeboatError('CANCELLED', `Reading ${label} was cancelled.`);
      storedBytes += chunk.length;
      const hashed = options.onStoredChunk?.(chunk);
      if (hashed instanceof Promise) await hashed;
      if (gatheredBytes === 0 && chunk.length >= FEED_BYTES) {
        await feed(chunk);
        continue;
      }
      gathered.push(chunk);
      gatheredBytes += chunk.length;
      if (gatheredBytes >= FEED_BYTES) await feedGathered();
    }
    if (gatheredBytes > 0 && !stopped) await feedGathered();
  } catch (error) {
    const reason = error instanceof Error ? error : new Error(String(error));
    for (const stream of [entry, inflateIn, view]) stream.destroy(reason);
    await Promise.allSettled([decrypted, inflated, reading]);
    // The input destroyed by a bomb ends the loop with a premature close: that is the stop, not a fault.
    if (!stopped) throw error;
  } finally {
    if (!input.destroyed) input.destroy();
  }
  if (!entry.destroyed) entry.end();
  await decrypted;
  await Promise.all([inflated, reading]);
  if (readBug !== null) throw readBug;
  const failed = decryptError as LifeboatError | null;
  return {
    storedBytes,
    authenticated: decipher ? failed === null && decipher.authenticated === true : null,
    decryptError: failed,
    head: decipher?.headVerdict ?? null,
    value: failed || stopped ? null : value,
    readError: failed ? null : readError,
    stopped,
  };
}

/**
 * Decrypts a whole file to its tag without keeping a byte: what a restore does before it acts.
 * Throws the wrong-key or damaged-file error.
 */
export async function authenticateWholeFile(input: Readable, secrets: WholeFileSecrets, options: Pick<ReadPayloadOptions<never>, 'label' | 'compression' | 'keyRef' | 'signal' | 'onStoredChunk'>): Promise<{ storedBytes: number }> {
  const outcome = await readPayload<never>(input, { ...options, secrets, read: null });
  if (outcome.decryptError) throw outcome.decryptError;
  return { storedBytes: outcome.storedBytes };
}
