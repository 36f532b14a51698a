/**
 * A forward-only byte reader over a stream of Buffers: reads exact byte counts across chunk
 * boundaries without ever joining more than the bytes asked for. It never seeks, so it works on
 * pipes. Used for the header and TOC; the data walk takes over the remaining chunks (`detach`).
 */
import { LifeboatError } from '../../../shared/errors';

/** Thrown (as ARCHIVE_INVALID) when the input ends before `need` more bytes arrived. */
export class UnexpectedEndError extends LifeboatError {
  constructor(readonly position: number, readonly wanted: number) {
    super('ARCHIVE_INVALID', `ends at byte ${position} (${wanted} more bytes were expected)`, {
      details: { position, wanted },
    });
  }
}

/** Pull reader with an absolute position. */
export class ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private consumed = 0;
  private ended = false;

  constructor(
    private readonly iterator: AsyncIterator<Buffer>,
    private readonly onChunk: (chunk: Buffer) => void,
  ) {}

  /** Bytes consumed so far = absolute offset of the next byte. */
  get position(): number {
    return this.consumed;
  }

  /** Makes at least `n` bytes available; false if the input ended first. */
  async fill(n: number): Promise<boolean> {
    while (this.buffered < n) {
      if (this.ended) return false;
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        return false;
      }
      const chunk = toBuffer(next.value);
      this.onChunk(chunk);
      if (chunk.length === 0) continue;
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    return true;
  }

  /** Reads exactly `n` bytes, or throws UnexpectedEndError. */
  async read(n: number): Promise<Buffer> {
    if (!(await this.fill(n))) throw new UnexpectedEndError(this.consumed + this.buffered, n - this.buffered);
    return this.take(n);
  }

  /** Up to `n` of the next bytes without consuming them (fewer only at the end of input). */
  async peek(n: number): Promise<Buffer> {
    await this.fill(n);
    const have = Math.min(n, this.buffered);
    const first = this.chunks[0];
    if (first && first.length >= have) return first.subarray(0, have);
    return Buffer.concat(this.chunks, this.buffered).subarray(0, have);
  }

  /** Hands the unread buffered bytes and the rest of the iterator to a push-style consumer. */
  detach(): { pending: Buffer[]; iterator: AsyncIterator<Buffer>; position: number; ended: boolean } {
    const pending = this.chunks;
    this.chunks = [];
    this.buffered = 0;
    return { pending, iterator: this.iterator, position: this.consumed, ended: this.ended };
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      // Fast path: the bytes sit in one chunk; subarray shares memory, no copy.
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      this.consumed += n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      if (!chunk) throw new LifeboatError('INTERNAL', 'ByteSource.take past the buffered bytes');
      const part = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    this.buffered -= n;
    this.consumed += n;
    return out;
  }
}

/** Streams yield Buffers, but an object-mode or string stream could sneak in: normalise. */
export function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'latin1');
  throw new LifeboatError('INVALID_INPUT', 'The dump stream yielded something that is not bytes.');
}
