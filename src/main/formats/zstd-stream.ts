/**
 * Streaming zstd decoding of untrusted input with fzstd, bounded and interruptible. fzstd trusts
 * what a frame header says: it allocates the declared window (a single-segment frame's window is
 * its whole content size, so a frame declaring 2 GiB allocated 2 GiB), moves that whole window
 * after every block (a 256 MiB window made a frame of tiny RLE blocks run for minutes), decodes all
 * it is given in one synchronous call and throws plain Errors. So the frames are walked here first
 * (RFC 8878 §3.1): headers are checked before fzstd sees them, the decoder gets one block at a
 * time, every decoded block is counted by the archive's DecompressBudget, the event loop gets a
 * turn after a bounded amount of work, and cancellation is checked at each turn.
 */
import { Decompress } from 'fzstd';
import { LifeboatError } from '../../shared/errors';
import type { DecompressBudget } from './decompress-budget';

/**
 * The largest window accepted: 8 MiB, what zstd levels 1–19 use (pg_dump's default level 3 uses
 * 2 MiB). Levels 20–22 and long-distance mode (`zstd:long`) need up to 128 MiB, which fzstd
 * would move in full after every 128 KiB block; such frames are refused with a message that says so.
 */
export const MAX_ZSTD_WINDOW_BYTES = 8 * 1024 * 1024;
/** A block never decodes to more than this (RFC 8878 §3.1.1.2.4: Block_Maximum_Size). */
const MAX_BLOCK_BYTES = 128 * 1024;
/** Decoder work (bytes written or moved) between two turns of the event loop. */
const WORK_PER_TURN = 16 * 1024 * 1024;

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

const enum State {
  Magic,
  FrameHeader,
  BlockHeader,
  BlockContent,
  Checksum,
  SkipSize,
  Skip,
}

/** What a {@link ZstdStream} needs from its caller. */
export interface ZstdStreamOptions {
  /** Counts the output; `startBlock` is the caller's, once per compressed block of the archive. */
  budget: DecompressBudget;
  onData: (data: Buffer) => void;
  signal?: AbortSignal | undefined;
  /** Names the stream in errors ("the data of TABLE DATA public.users (dump id 3) at byte 404 of x.dump"). */
  what: string;
  /** The caller's CANCELLED error. */
  cancelled: () => LifeboatError;
}

/** One zstd stream (any number of frames, skippable frames included), written in chunks of any size. */
export class ZstdStream {
  private readonly decoder: Decompress;
  private state = State.Magic;
  /** Bytes of the current field gathered so far (magic, frame header, block header, checksum). */
  private readonly field = Buffer.alloc(18);
  private fieldFill = 0;
  private fieldNeed = 4;
  /** Bytes left in the current block's content or skippable frame. */
  private left = 0;
  private lastBlock = false;
  private checksum = false;
  private window = 0;
  private blockLimit = MAX_BLOCK_BYTES;
  /** Offset in the compressed stream of the next byte. */
  private offset = 0;
  private work = 0;

  constructor(private readonly options: ZstdStreamOptions) {
    this.decoder = new Decompress((chunk) => {
      if (chunk.length === 0) return;
      this.work += chunk.length;
      options.budget.output(chunk.length);
      options.onData(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
  }

  /** Decodes `chunk`, handing the decoder at most one block per call and yielding after a bounded amount of work. */
  async write(chunk: Buffer): Promise<void> {
    this.options.budget.input(chunk.length);
    let i = 0;
    let forwarded = 0;
    // An empty raw block is complete as soon as its header is: the loop runs once more for it.
    while (i < chunk.length || (this.left === 0 && (this.state === State.BlockContent || this.state === State.Skip))) {
      if (this.state === State.BlockContent || this.state === State.Skip) {
        const take = Math.min(this.left, chunk.length - i);
        i += take;
        this.left -= take;
        this.offset += take;
        if (this.left > 0) continue;
        if (this.state === State.Skip) {
          this.expect(State.Magic, 4);
          continue;
        }
        if (this.lastBlock) {
          if (this.checksum) this.expect(State.Checksum, 4);
          else this.expect(State.Magic, 4);
        } else {
          this.expect(State.BlockHeader, 3);
        }
        // A block is complete: decode it alone, then perhaps give the event loop a turn.
        this.push(chunk.subarray(forwarded, i));
        forwarded = i;
        await this.turn();
        continue;
      }
      const take = Math.min(this.fieldNeed - this.fieldFill, chunk.length - i);
      chunk.copy(this.field, this.fieldFill, i, i + take);
      this.fieldFill += take;
      i += take;
      this.offset += take;
      if (this.fieldFill === this.fieldNeed) this.onField();
    }
    if (forwarded < chunk.length) this.push(chunk.subarray(forwarded));
  }

  /** The input ended: it must end between frames. */
  end(): Promise<void> {
    if (this.state !== State.Magic || this.fieldFill !== 0) {
      throw this.invalid(`it ends inside a zstd frame, at byte ${this.offset} of the compressed stream`, 'truncated');
    }
    this.push(new Uint8Array(0), true);
    return Promise.resolve();
  }

  private expect(state: State, bytes: number): void {
    this.state = state;
    this.fieldFill = 0;
    this.fieldNeed = bytes;
  }

  private onField(): void {
    const at = this.offset - this.fieldNeed;
    switch (this.state) {
      case State.Magic: {
        const magic = this.field.readUInt32LE(0);
        if (magic === ZSTD_MAGIC) this.expect(State.FrameHeader, 1);
        else if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) this.expect(State.SkipSize, 4);
        else throw this.invalid(`no zstd frame starts at byte ${at} of the compressed stream (magic 0x${magic.toString(16).padStart(8, '0')})`, 'corrupt-data');
        return;
      }
      case State.SkipSize:
        this.left = this.field.readUInt32LE(0);
        this.state = State.Skip;
        return;
      case State.FrameHeader:
        this.onFrameHeader(at);
        return;
      case State.BlockHeader: {
        const value = this.field[0]! | (this.field[1]! << 8) | (this.field[2]! << 16);
        this.lastBlock = (value & 1) === 1;
        const type = (value >> 1) & 3;
        const size = value >>> 3;
        if (type === 3) throw this.invalid(`the block at byte ${at} of the compressed stream has the reserved block type 3`, 'corrupt-data');
        if (size > this.blockLimit) {
          throw this.invalid(`the block at byte ${at} of the compressed stream says ${size} bytes, more than the ${this.blockLimit} a zstd block may hold`, 'corrupt-data');
        }
        // fzstd fills an RLE block and moves its window once per block: count both as work.
        this.work += this.window + (type === 1 ? size : 0);
        this.left = type === 1 ? 1 : size;
        this.state = State.BlockContent;
        return;
      }
      case State.Checksum:
        this.expect(State.Magic, 4);
        return;
      default:
        throw new LifeboatError('INTERNAL', `zstd walk read a field in state ${this.state}`);
    }
  }

  /** Frame_Header_Descriptor and what it says follows (RFC 8878 §3.1.1.1). */
  private onFrameHeader(at: number): void {
    const descriptor = this.field[0]!;
    const fcsFlag = descriptor >> 6;
    const singleSegment = (descriptor >> 5) & 1;
    const dictFlag = descriptor & 3;
    const headerBytes = 1 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictFlag]! + [singleSegment, 2, 4, 8][fcsFlag]!;
    if (this.fieldNeed === 1 && headerBytes > 1) {
      this.fieldNeed = headerBytes;
      return;
    }
    const frameAt = at - 4;
    if (descriptor & 0x08) throw this.invalid(`the zstd frame at byte ${frameAt} sets the reserved bit of its header`, 'corrupt-data');
    let p = 1;
    let window = 0;
    if (!singleSegment) {
      const wd = this.field[p++]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    const dictBytes = [0, 1, 2, 4][dictFlag]!;
    let dictionary = 0;
    for (let b = 0; b < dictBytes; b++) dictionary += this.field[p + b]! * 2 ** (8 * b);
    p += dictBytes;
    if (dictionary !== 0) throw this.invalid(`the zstd frame at byte ${frameAt} needs dictionary ${dictionary}, which no archive carries`, 'corrupt-data');
    const fcsBytes = [singleSegment, 2, 4, 8][fcsFlag]!;
    let contentSize: number | null = null;
    if (fcsBytes > 0) {
      contentSize = 0;
      for (let b = 0; b < fcsBytes; b++) contentSize += this.field[p + b]! * 2 ** (8 * b);
      if (fcsBytes === 2) contentSize += 256;
    }
    if (singleSegment) window = contentSize ?? 0;
    if (window > MAX_ZSTD_WINDOW_BYTES) {
      throw this.invalid(
        `the zstd frame at byte ${frameAt} of the compressed stream declares a window of ${window} bytes${singleSegment ? ' (its whole content)' : ''}, more than the ${MAX_ZSTD_WINDOW_BYTES} Lifeboat decodes (zstd levels 1–19 use at most that; levels 20–22 and zstd:long need more)`,
        'zstd-window', { window, limit: MAX_ZSTD_WINDOW_BYTES },
      );
    }
    if (contentSize !== null) this.options.budget.declared(contentSize);
    this.window = window;
    this.blockLimit = Math.min(MAX_BLOCK_BYTES, Math.max(window, 1));
    this.checksum = ((descriptor >> 2) & 1) === 1;
    // fzstd allocates the window for each frame: that is work too.
    this.work += window;
    this.expect(State.BlockHeader, 3);
  }

  private push(bytes: Uint8Array, final = false): void {
    try {
      this.decoder.push(bytes, final);
    } catch (error) {
      if (error instanceof LifeboatError) throw error;
      throw this.invalid(`it is not valid zstd data (${(error as Error).message}) before byte ${this.offset} of the compressed stream`, 'corrupt-data', {}, error);
    }
  }

  /** After WORK_PER_TURN bytes of decoding: a turn of the event loop, and a look at the signal on both sides of it. */
  private async turn(): Promise<void> {
    if (this.work < WORK_PER_TURN) return;
    this.work = 0;
    if (this.options.signal?.aborted) throw this.options.cancelled();
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.options.signal?.aborted) throw this.options.cancelled();
  }

  private invalid(what: string, reason: string, details: Record<string, unknown> = {}, cause?: unknown): LifeboatError {
    return new LifeboatError('ARCHIVE_INVALID', `${capitalize(this.options.what)} does not decompress: ${what}.`, {
      details: { reason, offset: this.offset, ...details },
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
