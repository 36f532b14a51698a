/**
 * Streaming decompression of a whole-file payload (DBackup: gzip with Node's defaults, brotli
 * quality 10), its input and output counted against the archive's DecompressBudget, so a hostile
 * file (a gzip or brotli bomb) stops at the first bound it crosses with a typed error instead of
 * filling memory or time.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createBrotliDecompress, createGunzip } from 'node:zlib';
import { LifeboatError } from '../../../shared/errors';
import type { DecompressBudget } from '../decompress-budget';
import { badCompressionError } from './errors';
import type { PayloadCompression } from './head';

/** Passes bytes on, telling `count` of each chunk first; a bound it throws for ends the stream with that error. */
class Counter extends Transform {
  constructor(private readonly count: (bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.count(chunk.length);
    } catch (error) {
      return done(error as Error);
    }
    done(null, chunk);
  }
}

/**
 * The stages that decompress a payload, to put in a pipeline in this order: an input counter,
 * the zlib stream, and an output counter that enforces the budget's bounds. Empty for `none`.
 */
export function inflateStages(compression: PayloadCompression, budget: DecompressBudget): Transform[] {
  if (compression === 'none') return [];
  const zlib = compression === 'gzip' ? createGunzip() : createBrotliDecompress();
  return [new Counter((bytes) => budget.input(bytes)), zlib, new Counter((bytes) => budget.output(bytes))];
}

/** Whether an error is a decompression bound crossed (DecompressBudget's ARCHIVE_INVALID). */
export function isDecompressionBomb(error: unknown): error is LifeboatError {
  return error instanceof LifeboatError && error.details?.reason === 'decompression-bomb';
}

/** A failure of the stages as a typed error: zlib's own ("unexpected end of file", "incorrect header check") become bad-compression. */
export function typedInflateError(error: unknown, label: string, compression: PayloadCompression): LifeboatError {
  return error instanceof LifeboatError ? error : badCompressionError(label, compression, error);
}
