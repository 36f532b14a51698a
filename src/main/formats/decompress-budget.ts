/**
 * Bounds on what a decompressor may produce from an archive, shared by every codec Lifeboat
 * reads (zlib, zstd, gzip, brotli, ZIP DEFLATE). A decompression bomb is stopped by the first
 * bound it crosses — output per block, output in all, or unpacked bytes per compressed byte once
 * the output is past a floor (small blocks of repetitive text compress far better than 200:1 and
 * are harmless) — with a typed ARCHIVE_INVALID naming what was being decompressed.
 */
import { LifeboatError } from '../../shared/errors';

export interface DecompressLimits {
  /** Output of one compressed block or member (a pg_dump data block, a ZIP member). */
  maxBlockBytes: number;
  /** Output of all blocks of one archive together. */
  maxTotalBytes: number;
  /** Unpacked bytes per compressed byte, checked once a block's output passes `ratioFloorBytes`. */
  maxRatio: number;
  ratioFloorBytes: number;
}

/** A desktop app previewing an archive: 4 GiB per block, 16 GiB in all, 200:1 past 64 MiB. */
export const DEFAULT_DECOMPRESS_LIMITS: DecompressLimits = {
  maxBlockBytes: 4 * 1024 ** 3,
  maxTotalBytes: 16 * 1024 ** 3,
  maxRatio: 200,
  ratioFloorBytes: 64 * 1024 ** 2,
};

/**
 * Counts one archive's compressed input and decompressed output. Call `startBlock` when a new
 * block or member begins, `input` for each compressed chunk fed to the decoder and `output` for
 * each decoded chunk; `output` throws once a limit is crossed, so the caller stops decoding there.
 */
export class DecompressBudget {
  private blockIn = 0;
  private blockOut = 0;
  private totalOut = 0;
  private block: string;

  constructor(
    /** The archive, as the error names it ("the dump nightly.dump"). */
    private readonly archive: string,
    private readonly limits: DecompressLimits = DEFAULT_DECOMPRESS_LIMITS,
  ) {
    this.block = archive;
  }

  /** A new block or member begins; `what` names it in an error ("the data of TABLE DATA public.users"). */
  startBlock(what: string): void {
    this.block = what;
    this.blockIn = 0;
    this.blockOut = 0;
  }

  /**
   * A header says the current block will unpack to `bytes` (a zstd frame's content size, a ZIP
   * member's uncompressed size): refuses it at once when that alone crosses a size bound — or,
   * given the `compressed` size the header declares too, the ratio bound — before anything is
   * decoded or allocated for it. The output is still counted as it comes.
   */
  declared(bytes: number, compressed?: number): void {
    const { maxBlockBytes, maxTotalBytes, maxRatio, ratioFloorBytes } = this.limits;
    if (bytes > maxBlockBytes) throw this.bomb(`${this.block} declares ${bytes} bytes unpacked, more than ${maxBlockBytes}`, 'block-size');
    if (this.totalOut + bytes > maxTotalBytes) {
      throw this.bomb(`${this.block} declares ${bytes} bytes unpacked, which takes ${this.archive} past ${maxTotalBytes} bytes in all`, 'total-size');
    }
    if (compressed !== undefined && bytes > ratioFloorBytes && bytes > compressed * maxRatio) {
      throw this.bomb(`${this.block} declares ${bytes} bytes unpacked from ${compressed}, more than ${maxRatio} times its compressed size`, 'ratio');
    }
  }

  input(bytes: number): void {
    this.blockIn += bytes;
  }

  output(bytes: number): void {
    this.blockOut += bytes;
    this.totalOut += bytes;
    const { maxBlockBytes, maxTotalBytes, maxRatio, ratioFloorBytes } = this.limits;
    if (this.blockOut > maxBlockBytes) {
      throw this.bomb(`${this.block} unpacks to more than ${maxBlockBytes} bytes`, 'block-size');
    }
    if (this.totalOut > maxTotalBytes) {
      throw this.bomb(`${this.archive} unpacks to more than ${maxTotalBytes} bytes in all`, 'total-size');
    }
    if (this.blockOut > ratioFloorBytes && this.blockOut > this.blockIn * maxRatio) {
      // A member of a compressed stream (a tar member in gzip) may start after all its input was read: then there is no count to show.
      const from = this.blockIn > 0 ? ` from ${this.blockIn}` : ', all of its compressed input read before it began';
      throw this.bomb(`${this.block} unpacks to more than ${maxRatio} times its compressed size (${this.blockOut} bytes${from})`, 'ratio');
    }
  }

  /** The output the archive has produced so far. */
  get totalBytes(): number {
    return this.totalOut;
  }

  private bomb(what: string, limit: 'block-size' | 'total-size' | 'ratio'): LifeboatError {
    return new LifeboatError('ARCHIVE_INVALID', `${capitalize(what)}: a decompression bomb, not read further.`, {
      details: { reason: 'decompression-bomb', limit, block: this.block, unpacked: this.blockOut, compressed: this.blockIn, total: this.totalOut },
    });
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
