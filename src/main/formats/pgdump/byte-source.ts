/**
 * A forward-only byte buffer over a stream of Buffers. The header and TOC parser asks for a
 * contiguous prefix of the unread bytes, parses it synchronously, and skips what it used; the
 * data walk then takes over the remaining chunks (`detach`). It never seeks, so it works on pipes.
 */
import { LifeboatError } from '../../../shared/errors';

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

  /**
   * Up to `n` of the unread bytes as one Buffer, without consuming them, after `fill(n)`. Also
   * says whether that is everything the input will ever have (it ended within those bytes).
   */
  async contiguous(n: number): Promise<{ bytes: Buffer; isEnd: boolean }> {
    const isEnd = !(await this.fill(n)) || (this.ended && this.buffered === n);
    if (this.chunks.length > 1 && (this.chunks[0] as Buffer).length < n) {
      // Join once and keep the joined buffer, so asking again for more does not re-copy.
      this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    }
    const first = this.chunks[0] ?? Buffer.alloc(0);
    return { bytes: first.subarray(0, Math.min(n, first.length)), isEnd };
  }

  /** Consumes `n` buffered bytes. */
  skip(n: number): void {
    if (n > this.buffered) throw new LifeboatError('INTERNAL', 'ByteSource.skip past the buffered bytes');
    let left = n;
    while (left > 0) {
      const chunk = this.chunks[0] as Buffer;
      if (chunk.length <= left) {
        this.chunks.shift();
        left -= chunk.length;
      } else {
        this.chunks[0] = chunk.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    this.consumed += n;
  }

  /** Hands the unread buffered bytes and the rest of the iterator to a push-style consumer. */
  detach(): { pending: Buffer[]; iterator: AsyncIterator<Buffer>; position: number; ended: boolean } {
    const pending = this.chunks;
    this.chunks = [];
    this.buffered = 0;
    return { pending, iterator: this.iterator, position: this.consumed, ended: this.ended };
  }
}

/** Streams yield Buffers, but an object-mode or string stream could sneak in: normalise. */
export function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'latin1');
  throw new LifeboatError('INVALID_INPUT', 'The dump stream yielded something that is not bytes.');
}
