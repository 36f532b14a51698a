/**
 * Verifies a Nojoin ZIP while it streams into the vault.
 *
 * Why the bytes are spooled to a temp file rather than parsed from the local headers as they pass:
 * - the central directory, at the end, is what Nojoin's restore (Python's zipfile) trusts; local
 *   headers can disagree with it (a ZIP read two ways is a classic smuggling trick), and symlink
 *   flags and Zip64 sizes live only there — so a streaming parse would have to be redone anyway;
 * - members written with a data descriptor (bit 3, as archiver writes streamed entries) have no
 *   sizes up front; a stored member then has no end a streaming reader can find;
 * - `write` is synchronous and gives no backpressure: a parser running behind it on promises
 *   would queue chunks without bound whenever inflating is slower than the download.
 * Chunks are gathered into 1 MiB blocks, each written at its own file position by the thread pool
 * (a synchronous write per chunk stalled the pull's thread for seconds per GiB on a busy disk);
 * while more than 16 MiB wait for the disk, a block is written synchronously instead, so memory
 * stays bounded whatever the archive's size and however slow the disk.
 * At `finish` the spooled copy is read at random like any other archive (zip.ts, scan.ts), so
 * pulls, previews and pre-restore checks all run the same verification. The copy is deleted after.
 *
 * Except for the bulk of it: as the bytes pass, local headers are followed, and every member of at
 * least 1 MiB (compressed) that is not JSON — the audio and document files — is inflated and
 * CRC-checked right there (synchronously: minizlib) and its data left out of the copy (a hole in a
 * sparse file). Writing a GiB archive twice (the copy, then the vault's packs) made the disk the
 * bottleneck of a pull; the scan then compares what was found with the central directory
 * (method, sizes, CRC) instead of reading those members again. A member whose size is not in its
 * local header (data descriptor, Zip64) ends the following: from there on everything is spooled.
 */
import { closeSync, mkdtempSync, openSync, rmSync, write as writeAt, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { InflateRaw } from 'minizlib';
import path from 'node:path';
import type { IntegrityCheck } from '../../../../shared/apps';
import { LifeboatError } from '../../../../shared/errors';
import type { StreamVerifier, WholeArchive } from '../../adapter';
import type { JsonScanLimits } from './json-scan';
import { AUDIO_HEAD_BYTES, scanNojoinArchive, type ArchiveScan, type PrecheckedMember } from './scan';
import { DecompressBudget, type DecompressLimits } from '../../../formats/decompress-budget';
import { budgetBlock, DEFAULT_ZIP_LIMITS, fileByteSource, NojoinZip, zipDecompressLimits, type ZipLimits } from './zip';

/** Bytes gathered before a block goes to the disk. */
const BLOCK_BYTES = 1024 * 1024;
/** Bytes of blocks that may wait for the disk before writes turn synchronous. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/** Writes all of `buffer` at `position` in the thread pool. */
function writeFully(fd: number, buffer: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (offset: number): void => {
      writeAt(fd, buffer, offset, buffer.length - offset, position + offset, (error, written) => {
        if (error) reject(error);
        else if (offset + written < buffer.length) from(offset + written);
        else resolve();
      });
    };
    from(0);
  });
}

/** Members at least this big (compressed), JSON excepted, are checked as they stream and not spooled. */
const PRECHECK_FROM_BYTES = 1024 * 1024;
const LOCAL_HEADER = 0x04034b50;

/** One member being checked as it streams. */
class StreamedMember {
  private crc = 0;
  private size = 0;
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private error: string | null = null;
  private readonly inflater: InflateRaw | null;
  /** Counts what a DEFLATE member inflates to, against the shared bounds (see zip.ts). */
  private readonly budget: DecompressBudget | null;

  constructor(
    private readonly name: string,
    private readonly method: number,
    private readonly compressedSize: number,
    private readonly claimedSize: number,
    label: string,
    limits: DecompressLimits,
  ) {
    this.budget = method === 8 ? new DecompressBudget(label, limits) : null;
    this.budget?.startBlock(budgetBlock(name, label));
    try {
      // Sizes that declare a bomb: refused before anything is inflated.
      this.budget?.declared(claimedSize, compressedSize);
    } catch (error) {
      this.error = (error as Error).message;
    }
    this.inflater = method === 8 && this.error === null ? new InflateRaw({}) : null;
    this.inflater?.on('data', (data: Buffer) => this.take(data));
    this.inflater?.on('error', (error: unknown) => this.fail((error as Error).message));
  }

  write(data: Buffer): void {
    if (this.error !== null) return;
    if (this.inflater === null) return this.take(data);
    this.budget?.input(data.length);
    try {
      this.inflater.write(data);
    } catch (error) {
      this.fail((error as Error).message);
    }
  }

  end(): PrecheckedMember {
    if (this.inflater !== null && this.error === null) {
      try {
        this.inflater.end();
      } catch (error) {
        this.fail((error as Error).message);
      }
    }
    if (this.error === null && this.size !== this.claimedSize) this.error = `it inflates to ${this.size} bytes, its header says ${this.claimedSize}`;
    return { name: this.name, method: this.method, compressedSize: this.compressedSize, uncompressedSize: this.claimedSize, crc32: this.crc, head: Buffer.concat(this.head), error: this.error };
  }

  private take(data: Buffer): void {
    if (this.error !== null) return;
    this.size += data.length;
    // A bomb stops here: never inflated past what the header claims, nor past the shared bounds.
    if (this.size > this.claimedSize) return this.fail(`it inflates to more than the ${this.claimedSize} bytes its header says`);
    try {
      this.budget?.output(data.length);
    } catch (error) {
      return this.fail((error as Error).message);
    }
    this.crc = crc32(data, this.crc);
    if (this.headBytes < AUDIO_HEAD_BYTES) {
      const piece = Buffer.from(data.subarray(0, AUDIO_HEAD_BYTES - this.headBytes));
      this.head.push(piece);
      this.headBytes += piece.length;
    }
  }

  private fail(why: string): void {
    this.error ??= why;
    this.inflater?.removeAllListeners('data');
  }
}

/**
 * Follows local headers through the byte stream, saying which bytes go to the spooled copy
 * (`keep`) and which were checked here instead (`skip`); the members checked, by header offset.
 */
class LocalHeaderFollower {
  readonly prechecked = new Map<number, PrecheckedMember>();
  private state: 'header' | 'data' | 'rest' = 'header';
  private header = Buffer.alloc(0);
  private headerStart = 0;
  private position = 0;
  private remaining = 0;
  private member: StreamedMember | null = null;

  constructor(
    private readonly keep: (bytes: Buffer) => void,
    private readonly skip: (length: number) => void,
    private readonly label: string,
    private readonly limits: DecompressLimits,
  ) {}

  write(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; ) {
      if (this.state === 'rest') {
        this.keep(chunk.subarray(at));
        this.position += chunk.length - at;
        return;
      }
      if (this.state === 'data') {
        const piece = chunk.subarray(at, at + this.remaining);
        if (this.member) {
          this.member.write(piece);
          this.skip(piece.length);
        } else {
          this.keep(piece);
        }
        at += piece.length;
        this.position += piece.length;
        this.remaining -= piece.length;
        if (this.remaining === 0) this.endMember();
        continue;
      }
      // A header: kept (the scan reads it), and gathered until its name and extra field are in.
      const needed = this.header.length < 30 ? 30 : 30 + this.header.readUInt16LE(26) + this.header.readUInt16LE(28);
      const piece = chunk.subarray(at, at + needed - this.header.length);
      if (this.header.length === 0) this.headerStart = this.position;
      this.header = Buffer.concat([this.header, piece]);
      this.keep(piece);
      at += piece.length;
      this.position += piece.length;
      if (this.header.length >= 4 && this.header.readUInt32LE(0) !== LOCAL_HEADER) {
        // The central directory (or anything else): no more members to follow.
        this.state = 'rest';
        continue;
      }
      if (this.header.length >= 30 && this.header.length === 30 + this.header.readUInt16LE(26) + this.header.readUInt16LE(28)) this.startMember();
    }
  }

  /** The whole stream was seen; a member cut short is left to the scan (it reads the spooled part). */
  end(): void {
    if (this.member && this.remaining > 0) this.member = null;
  }

  private startMember(): void {
    const h = this.header;
    this.header = Buffer.alloc(0);
    const flags = h.readUInt16LE(6);
    const method = h.readUInt16LE(8);
    const compressedSize = h.readUInt32LE(18);
    const uncompressedSize = h.readUInt32LE(22);
    const name = h.subarray(30, 30 + h.readUInt16LE(26)).toString('utf8');
    if ((flags & 0x08) !== 0 || compressedSize === 0xffffffff || uncompressedSize === 0xffffffff) {
      // The data's end cannot be known from here.
      this.state = 'rest';
      return;
    }
    const check = compressedSize >= PRECHECK_FROM_BYTES && (method === 0 || method === 8) && (flags & 0x01) === 0 && !name.toLowerCase().endsWith('.json');
    this.member = check ? new StreamedMember(name, method, compressedSize, uncompressedSize, this.label, this.limits) : null;
    this.remaining = compressedSize;
    this.state = 'data';
    if (this.remaining === 0) this.endMember();
  }

  private endMember(): void {
    if (this.member) this.prechecked.set(this.headerStart, this.member.end());
    this.member = null;
    this.state = 'header';
  }
}

/** Options of a Nojoin stream verifier. */
export interface NojoinStreamVerifierOptions {
  /** Where the temp copy goes (the app home's staging dir); needs room for one archive. */
  stagingDir: string;
  /** The archive's name, for messages. */
  label: string;
  zipLimits?: Partial<ZipLimits>;
  jsonLimits?: Partial<JsonScanLimits>;
  /** Gets the full scan when verification ran (sound or not), e.g. to keep backup_info.json as a sidecar. */
  onScan?: (scan: ArchiveScan) => void;
}

/** The check a verifier returns when the archive could not be opened as a ZIP at all. */
export function unreadableArchiveCheck(error: LifeboatError): IntegrityCheck {
  return { id: 'zip-structure', kind: 'integrity', name: 'ZIP structure', ok: false, detail: error.message };
}

/** A StreamVerifier for Nojoin archives (see the file comment for how it works). */
export class NojoinStreamVerifier implements StreamVerifier {
  private readonly dir: string;
  private readonly file: string;
  private fd: number | null;
  private written = 0;
  private writeError: Error | null = null;
  /** The block being filled, and how much of it is. */
  private block = Buffer.allocUnsafe(BLOCK_BYTES);
  private filled = 0;
  /** Bytes handed to the disk so far (the next block's file position), and those still in flight. */
  private submitted = 0;
  private queued = 0;
  /** Settles when every block handed to the thread pool is on disk (never rejects: see writeError). */
  private writes: Promise<void> = Promise.resolve();
  private readonly follower: LocalHeaderFollower;

  constructor(private readonly options: NojoinStreamVerifierOptions) {
    this.follower = new LocalHeaderFollower(
      (bytes) => this.append(bytes),
      (length) => {
        this.submitBlock();
        this.submitted += length;
      },
      options.label,
      zipDecompressLimits({ ...DEFAULT_ZIP_LIMITS, ...options.zipLimits }),
    );
    this.dir = mkdtempSync(path.join(options.stagingDir, 'nojoin-verify-'));
    this.file = path.join(this.dir, 'archive.zip');
    this.fd = openSync(this.file, 'wx', 0o600);
  }

  /** Appends the chunk to the temp copy; a failing disk is remembered and reported by `finish`. */
  write(chunk: Buffer): void {
    if (this.fd === null || this.writeError !== null) return;
    this.written += chunk.length;
    this.follower.write(chunk);
  }

  /** Adds bytes to the block being filled. */
  private append(chunk: Buffer): void {
    for (let offset = 0; offset < chunk.length; ) {
      const copied = chunk.copy(this.block, this.filled, offset);
      this.filled += copied;
      offset += copied;
      if (this.filled === this.block.length) this.submitBlock();
    }
  }

  /** Hands the filled part of the block to the disk and starts a new block. */
  private submitBlock(): void {
    if (this.filled === 0 || this.fd === null || this.writeError !== null) return;
    // A part-filled block (a member's header before audio that is checked, not spooled) goes as a
    // copy of its bytes and the block stays: a fresh 1 MiB block per member allocated (and pinned
    // until its write finished) half a GiB per 1 GiB pull for a few KiB of headers.
    const full = this.filled === this.block.length;
    const block = full ? this.block : Buffer.from(this.block.subarray(0, this.filled));
    const position = this.submitted;
    this.submitted += block.length;
    if (full) this.block = Buffer.allocUnsafe(BLOCK_BYTES);
    this.filled = 0;
    const fd = this.fd;
    if (this.queued + block.length > MAX_QUEUED_BYTES) {
      // The disk is behind: wait for it here, the only backpressure a synchronous write allows.
      try {
        for (let offset = 0; offset < block.length; ) offset += writeSync(fd, block, offset, block.length - offset, position + offset);
      } catch (error) {
        this.writeError = error as Error;
      }
      return;
    }
    this.queued += block.length;
    this.writes = this.writes.then(() =>
      writeFully(fd, block, position).then(
        () => {
          this.queued -= block.length;
        },
        (error: unknown) => {
          this.queued -= block.length;
          this.writeError ??= error as Error;
        },
      ),
    );
  }

  /** Reads the spooled copy at random and returns the integrity lines; the copy is deleted. */
  async finish(whole: WholeArchive): Promise<IntegrityCheck[]> {
    this.follower.end();
    this.submitBlock();
    await this.writes;
    this.closeFile();
    try {
      if (this.writeError !== null) {
        // Not a fault of the archive: the pull fails instead of quarantining a possibly good file.
        throw new LifeboatError('INTERNAL', `Could not keep a temp copy of ${this.options.label} to verify it: ${this.writeError.message}.`, { cause: this.writeError });
      }
      if (this.written !== whole.size) {
        return [{ id: 'size', kind: 'integrity', name: 'Size', ok: false, detail: `the verifier saw ${this.written} bytes, the vault ${whole.size}` }];
      }
      let zip: NojoinZip;
      try {
        zip = await NojoinZip.open(await fileByteSource(this.file), { label: this.options.label, ...(this.options.zipLimits ? { limits: this.options.zipLimits } : {}) });
      } catch (error) {
        if (error instanceof LifeboatError && error.code === 'ARCHIVE_INVALID') return [unreadableArchiveCheck(error)];
        throw error;
      }
      try {
        const scan = await scanNojoinArchive(zip, { prechecked: this.follower.prechecked, ...(this.options.jsonLimits ? { json: this.options.jsonLimits } : {}) });
        this.options.onScan?.(scan);
        return scan.checks;
      } finally {
        await zip.close();
      }
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Drops the temp copy without verifying (a pull that was abandoned). */
  discard(): void {
    const fd = this.fd;
    this.fd = null;
    rmSync(this.dir, { recursive: true, force: true });
    // Writes still in flight go to the unlinked file; its descriptor is closed after them.
    if (fd !== null) void this.writes.then(() => closeSync(fd));
  }

  private closeFile(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}

/** A fresh verifier for one pull (the pull runner's `createVerifier`). */
export function createNojoinStreamVerifier(options: NojoinStreamVerifierOptions): NojoinStreamVerifier {
  return new NojoinStreamVerifier(options);
}
