/**
 * Streaming decompression of a whole-file payload (DBackup: gzip with Node's defaults, brotli
 * quality 10) with caps on the output size and on the ratio of output to input, so a hostile
 * file (a gzip or brotli bomb) stops early with a typed error instead of filling memory or time.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createBrotliDecompress, createGunzip } from 'node:zlib';
import { LifeboatError } from '../../../shared/errors';
import { badCompressionError, bombError } from './errors';
import type { PayloadCompression } from './head';

/** Caps of one decompression. */
export interface InflateLimits {
  /** Most bytes the payload may unpack to. */
  maxOutputBytes: number;
  /** Most output bytes per input byte, checked once the output passes `ratioGraceBytes`. */
  maxRatio: number;
  ratioGraceBytes: number;
}

/** Defaults: 64 GiB out, and 200:1 after the first 16 MiB (gzip tops out near 1032:1, real dumps far below 200:1). */
export const DEFAULT_INFLATE_LIMITS: InflateLimits = {
  maxOutputBytes: 64 * 1024 ** 3,
  maxRatio: 200,
  ratioGraceBytes: 16 * 1024 * 1024,
};

/** Counts bytes passing one way; the caps read both counters. */
class Counter extends Transform {
  bytes = 0;

  constructor(private readonly check: ((bytes: number) => Error | null) | null = null) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    const failure = this.check?.(this.bytes) ?? null;
    if (failure) return done(failure);
    done(null, chunk);
  }
}

/**
 * The stages that decompress a payload, to put in a pipeline in this order: an input counter,
 * the zlib stream, and an output counter that enforces the caps. Empty for `none`.
 */
export function inflateStages(compression: PayloadCompression, label: string, limits: Partial<InflateLimits> = {}): Transform[] {
  if (compression === 'none') return [];
  const caps = { ...DEFAULT_INFLATE_LIMITS, ...limits };
  const input = new Counter();
  const zlib = compression === 'gzip' ? createGunzip() : createBrotliDecompress();
  const output = new Counter((bytes) => {
    if (bytes > caps.maxOutputBytes) return bombError(label, `more than ${caps.maxOutputBytes} bytes`, caps.maxOutputBytes);
    if (bytes > caps.ratioGraceBytes && bytes > caps.maxRatio * Math.max(1, input.bytes)) {
      return bombError(label, `${bytes} bytes out of ${input.bytes} compressed (over ${caps.maxRatio}:1)`, caps.maxRatio);
    }
    return null;
  });
  return [input, zlib, output];
}

/** A failure of the stages as a typed error: zlib's own ("unexpected end of file", "incorrect header check") become bad-compression. */
export function typedInflateError(error: unknown, label: string, compression: PayloadCompression): LifeboatError {
  return error instanceof LifeboatError ? error : badCompressionError(label, compression, error);
}
