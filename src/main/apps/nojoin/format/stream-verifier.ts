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
 */
import { closeSync, mkdtempSync, openSync, rmSync, write as writeAt, writeSync } from 'node:fs';
import path from 'node:path';
import type { IntegrityCheck } from '../../../../shared/apps';
import { LifeboatError } from '../../../../shared/errors';
import type { StreamVerifier, WholeArchive } from '../../adapter';
import type { JsonScanLimits } from './json-scan';
import { scanNojoinArchive, type ArchiveScan } from './scan';
import { fileByteSource, NojoinZip, type ZipLimits } from './zip';

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

  constructor(private readonly options: NojoinStreamVerifierOptions) {
    this.dir = mkdtempSync(path.join(options.stagingDir, 'nojoin-verify-'));
    this.file = path.join(this.dir, 'archive.zip');
    this.fd = openSync(this.file, 'wx', 0o600);
  }

  /** Appends the chunk to the temp copy; a failing disk is remembered and reported by `finish`. */
  write(chunk: Buffer): void {
    if (this.fd === null || this.writeError !== null) return;
    this.written += chunk.length;
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
    const block = this.filled === this.block.length ? this.block : this.block.subarray(0, this.filled);
    const position = this.submitted;
    this.submitted += block.length;
    this.block = Buffer.allocUnsafe(BLOCK_BYTES);
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
        const scan = await scanNojoinArchive(zip, this.options.jsonLimits ? { json: this.options.jsonLimits } : {});
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
