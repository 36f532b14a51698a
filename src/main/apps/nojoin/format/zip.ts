/**
 * Random-access ZIP reading for Nojoin archives, over any source that can read a byte range: the
 * central directory (at the end) is read first, without reading the members, and each member is
 * then streamed (inflated, CRC-32 checked) on its own. yauzl does the parsing; its member-name
 * validation is kept (and made strict: a backslash is refused, not rewritten). On top of it this
 * module refuses what Nojoin's restore should never be handed: symlinks, encrypted or overlapping
 * members, duplicate names, and archives over the caps below. Zip bombs meet the shared
 * DecompressBudget: a DEFLATE member whose directory sizes declare too much (or a ratio past
 * 200:1 beyond 64 MiB) is refused when the directory is read, and every inflated member's output
 * is counted as it streams, so one whose sizes lie stops at the bound, naming the member.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, open as openFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import yauzl from 'yauzl';
import { LifeboatError } from '../../../../shared/errors';
import { diskFullError, isDiskFull } from '../../../fs/disk-full';
import { DecompressBudget, DEFAULT_DECOMPRESS_LIMITS, type DecompressLimits } from '../../../formats/decompress-budget';
import type { ArchiveAccess, StepContext } from '../../adapter';

/** Something that can hand out any byte range of an archive: a local file, a vault blob, an upload. */
export interface ByteRangeSource {
  /** Total size in bytes. */
  readonly size: number;
  /** A stream of bytes `start` (inclusive) to `end` (exclusive). */
  readRange(start: number, end: number): Readable;
  /**
   * Copies up to `length` bytes from `position` into `buffer` at `offset`; resolves with how many
   * (fewer only at the end). Sources that can read in place offer it; the others are read through
   * `readRange`.
   */
  readInto?(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** Caps that turn a hostile or absurd archive into a typed error before any work is done. */
export interface ZipLimits {
  maxMembers: number;
  /** Sum of the members' uncompressed sizes; also the decompress budget's total. */
  maxTotalUncompressedBytes: number;
}

/** Defaults: 50 000 members, 64 GiB unpacked (Nojoin's own upload limit is 25 GiB). */
export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxMembers: 50_000,
  maxTotalUncompressedBytes: 64 * 1024 ** 3,
};

/** The shared decompress bounds (4 GiB a member, 200:1 past 64 MiB), the total being the archive's cap. */
export function zipDecompressLimits(limits: ZipLimits): DecompressLimits {
  return { ...DEFAULT_DECOMPRESS_LIMITS, maxTotalBytes: limits.maxTotalUncompressedBytes };
}

/** What a member is called in a decompress budget's error. */
export function budgetBlock(name: string, label: string): string {
  return `member "${name.slice(0, 200)}" of ${label}`;
}

/** A budget's bomb error, with the member named in its details as every other refusal here. */
function bombError(error: unknown, member: string): unknown {
  if (!(error instanceof LifeboatError)) return error;
  return new LifeboatError(error.code, error.message, { details: { ...error.details, member }, cause: error });
}

/** One member as the central directory describes it. */
export interface ZipMember {
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
  /** 0 stored, 8 DEFLATE (the only two accepted). */
  method: number;
  modified: Date;
  isDirectory: boolean;
  /** Where the member's local header starts. */
  localHeaderOffset: number;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const LOCAL_HEADER_FIXED_BYTES = 30;
const READ_CHUNK_BYTES = 256 * 1024;
/** yauzl's reads up to this size (directory entries, local headers) are served from a read-ahead block. */
const SMALL_READ_BYTES = 64 * 1024;
const READ_AHEAD_BYTES = 256 * 1024;

/**
 * yauzl's reader over a ByteRangeSource. yauzl reads the central directory and each local header
 * in pieces of a few dozen bytes (46 fixed, then the name, per entry); one stream per piece made
 * listing 50 000 members take seconds. Small reads are served instead from one read-ahead block,
 * so a directory costs a read per 256 KiB, and a run of small members' headers one read for many;
 * member data (`_readStreamForRange`) is streamed from the source as before.
 */
class SourceReader extends yauzl.RandomAccessReader {
  private block: Buffer | null = null;
  private blockStart = 0;

  constructor(private readonly source: ByteRangeSource) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return this.source.readRange(start, end);
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (error: Error | null, bytesRead?: number) => void): void {
    const block = this.block;
    if (length <= SMALL_READ_BYTES && block !== null && position >= this.blockStart && position + length <= this.blockStart + block.length) {
      // In the block already: answered at once (yauzl reads the next entry from inside this call).
      const from = position - this.blockStart;
      callback(null, block.copy(buffer, offset, from, from + length));
      return;
    }
    this.readSmall(buffer, offset, length, position).then(
      (bytesRead) => callback(null, bytesRead),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  private async readSmall(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    if (length > SMALL_READ_BYTES) return this.readDirect(buffer, offset, length, position);
    let block = this.block;
    const start = this.blockStart;
    if (block === null || position < start || position + length > start + block.length) {
      const ahead = Buffer.allocUnsafe(Math.max(0, Math.min(Math.max(READ_AHEAD_BYTES, length), this.source.size - position)));
      block = ahead.subarray(0, await this.readDirect(ahead, 0, ahead.length, position));
      this.block = block;
      this.blockStart = position;
      return block.copy(buffer, offset, 0, Math.min(length, block.length));
    }
    const from = position - start;
    return block.copy(buffer, offset, from, from + length);
  }

  private readDirect(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    return readAt(this.source, buffer, offset, length, position);
  }
}

/** Fills `buffer[offset, offset + length)` from `source` at `position`; fewer bytes only at its end. */
async function readAt(source: ByteRangeSource, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  if (length === 0) return 0;
  let done = 0;
  if (source.readInto) {
    while (done < length) {
      const n = await source.readInto(buffer, offset + done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }
  for await (const chunk of source.readRange(position, Math.min(position + length, source.size)) as AsyncIterable<Buffer>) {
    done += chunk.copy(buffer, offset + done, 0, Math.min(chunk.length, length - done));
  }
  return done;
}

/** A local file as a ByteRangeSource; one file handle serves every range. */
export async function fileByteSource(file: string): Promise<ByteRangeSource> {
  const handle = await openFile(file, 'r').catch((error: unknown) => {
    throw new LifeboatError('NOT_FOUND', `Cannot open ${path.basename(file)}: ${(error as Error).message}.`, { cause: error });
  });
  const { size } = await handle.stat();
  // Positional reads rather than handle.createReadStream, whose 'close' closes the shared handle.
  async function* range(start: number, end: number): AsyncGenerator<Buffer> {
    for (let position = start; position < end; ) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, end - position));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }
  return {
    size,
    readRange: (start, end) => Readable.from(range(start, end), { objectMode: false }),
    readInto: async (buffer, offset, length, position) => (await handle.read(buffer, offset, length, position)).bytesRead,
    close: () => handle.close(),
  };
}

/** An in-memory archive as a ByteRangeSource (tests, small uploads). */
export function bufferByteSource(buffer: Buffer): ByteRangeSource {
  return {
    size: buffer.length,
    readRange: (start, end) => {
      const stream = new PassThrough();
      stream.end(buffer.subarray(start, end));
      return stream;
    },
    readInto: async (target, offset, length, position) => buffer.copy(target, offset, position, Math.min(position + length, buffer.length)),
    close: async () => undefined,
  };
}

/** Default tail kept by `reopeningByteSource`: room for the central directory of ~50 000 members. */
export const DEFAULT_TAIL_CACHE_BYTES = 8 * 1024 * 1024;

/**
 * An archive that can only be streamed from its start (a vault snapshot's `open()`) as a
 * ByteRangeSource: the last `tailBytes` — the central directory — are read once and kept, any
 * other range re-opens the stream and skips to it. Right for listing an archive and streaming one
 * member (the audio player) without a local copy; to read every member, spool the archive instead.
 */
export function reopeningByteSource(archive: Pick<ArchiveAccess, 'fileName' | 'size' | 'open'>, tailBytes = DEFAULT_TAIL_CACHE_BYTES): ByteRangeSource {
  const size = archive.size;
  if (size === null) throw new LifeboatError('INVALID_INPUT', `The size of ${archive.fileName} is not known, so its end cannot be found without reading it all.`);
  const tailStart = Math.max(0, size - tailBytes);
  let tail: Promise<Buffer> | null = null;
  /** Bytes [start, end) of a fresh stream from the start of the archive. */
  async function* fromStart(start: number, end: number): AsyncGenerator<Buffer> {
    const stream = await archive.open();
    let position = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const from = Math.max(start - position, 0);
        const to = Math.min(end - position, chunk.length);
        position += chunk.length;
        if (to > from) yield chunk.subarray(from, to);
        if (position >= end) return;
      }
    } finally {
      stream.destroy();
    }
  }
  async function* cached(start: number, end: number): AsyncGenerator<Buffer> {
    tail ??= (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of fromStart(tailStart, size!)) chunks.push(chunk);
      return Buffer.concat(chunks);
    })();
    yield (await tail).subarray(start - tailStart, end - tailStart);
  }
  return {
    size,
    readRange: (start, end) => Readable.from(start >= tailStart ? cached(start, end) : fromStart(start, end), { objectMode: false }),
    close: async () => undefined,
  };
}

/** A file copied into a private temp folder; `remove()` deletes folder and file. */
export interface SpooledArchive {
  file: string;
  size: number;
  remove(): Promise<void>;
}

/**
 * Copies an archive that can only be streamed from its start (a vault snapshot, an upload) into a
 * temp folder under `stagingDir`, so that it can be read at random; progress goes to `ctx`.
 */
export async function spoolArchive(archive: ArchiveAccess, stagingDir: string, ctx: Pick<StepContext, 'signal' | 'progress'>): Promise<SpooledArchive> {
  const dir = await mkdtemp(path.join(stagingDir, 'nojoin-'));
  const file = path.join(dir, 'archive.zip');
  const remove = () => rm(dir, { recursive: true, force: true });
  let size = 0;
  try {
    const input = await archive.open();
    input.on('data', (chunk: Buffer) => {
      size += chunk.length;
      ctx.progress({ bytes: size, total: archive.size });
    });
    await pipeline(input, createWriteStream(file), { signal: ctx.signal });
  } catch (error) {
    await remove();
    if (ctx.signal.aborted) throw new LifeboatError('CANCELLED', `Reading ${archive.fileName} was cancelled.`, { cause: error });
    if (isDiskFull(error)) throw await diskFullError(stagingDir, `stage a copy of ${archive.fileName}`, error, archive.size ?? undefined);
    throw error;
  }
  return { file, size, remove };
}

/** Why yauzl's name check refused a name, in words (its messages start with these prefixes). */
function describeNameProblem(problem: string): string {
  if (problem.startsWith('invalid characters')) return 'it holds a backslash, which Windows and some unzip tools treat as a folder separator';
  if (problem.startsWith('absolute path')) return 'it is an absolute path';
  if (problem.startsWith('invalid relative path')) return 'it climbs out of the extraction folder with ".." (zip slip)';
  return problem;
}

function invalid(message: string, member: string | null, cause?: unknown): LifeboatError {
  return new LifeboatError('ARCHIVE_INVALID', message, { details: member === null ? {} : { member }, ...(cause === undefined ? {} : { cause }) });
}

/** A ZIP whose central directory has been read and checked; members are streamed on demand. */
export class NojoinZip {
  private readonly byName: Map<string, { member: ZipMember; entry: yauzl.Entry }>;

  private constructor(
    private readonly zipfile: yauzl.ZipFile,
    private readonly source: ByteRangeSource,
    readonly label: string,
    private readonly limits: DecompressLimits,
    entries: { member: ZipMember; entry: yauzl.Entry }[],
  ) {
    this.byName = new Map(entries.map((e) => [e.member.name, e]));
    this.members = entries.map((e) => e.member);
  }

  /** Every member, in central-directory order. */
  readonly members: readonly ZipMember[];

  /**
   * Reads and checks the central directory of `source`, which the archive then owns (closed by
   * `close`, or here when the archive is refused); throws ARCHIVE_INVALID naming the member at fault.
   */
  static async open(source: ByteRangeSource, options: { label: string; limits?: Partial<ZipLimits> }): Promise<NojoinZip> {
    const limits = { ...DEFAULT_ZIP_LIMITS, ...options.limits };
    const label = options.label;
    let zipfile: yauzl.ZipFile | null = null;
    try {
      try {
        // decodeStrings off: the names are decoded and checked below with yauzl's own functions, so a
        // refusal can say which member and which rule instead of ending the listing with a bare Error.
        zipfile = await yauzl.fromRandomAccessReaderPromise(new SourceReader(source), source.size, {
          lazyEntries: true,
          autoClose: false,
          decodeStrings: false,
          validateEntrySizes: true,
        });
      } catch (error) {
        throw invalid(`${label} is not a complete ZIP archive (${(error as Error).message}); it may be truncated.`, null, error);
      }
      if (zipfile.entryCount > limits.maxMembers) {
        throw invalid(`${label} lists ${zipfile.entryCount} members, more than the ${limits.maxMembers} Lifeboat accepts.`, null);
      }
      const entries = await readEntries(zipfile, source, label, limits);
      checkNoOverlap(entries, source.size, label);
      return new NojoinZip(zipfile, source, label, zipDecompressLimits(limits), entries);
    } catch (error) {
      zipfile?.close();
      await source.close();
      throw error;
    }
  }

  /** The member called `name`, if any. */
  member(name: string): ZipMember | undefined {
    return this.byName.get(name)?.member;
  }

  /**
   * The member's uncompressed bytes. Read whole, the CRC-32 is checked at the end (the stream then
   * fails with ARCHIVE_INVALID); `start`/`end` (uncompressed offsets) give a slice without that check.
   */
  async openMember(name: string, range: { start?: number; end?: number } = {}): Promise<Readable> {
    const found = this.byName.get(name);
    if (!found) throw new LifeboatError('NOT_FOUND', `${this.label} has no member "${name}".`, { details: { member: name } });
    const { member, entry } = found;
    let raw: Readable;
    try {
      // DEFLATE members come raw and are inflated here, so the budget weighs each inflated chunk
      // against the compressed bytes actually fed (yauzl's own inflate hides them).
      raw = await this.zipfile.openReadStreamPromise(entry, member.method === 8 ? { decompress: false } : {});
    } catch (error) {
      throw invalid(`Member "${name}" of ${this.label} cannot be read: ${(error as Error).message}.`, name, error);
    }
    const start = range.start ?? 0;
    const end = Math.min(range.end ?? member.uncompressedSize, member.uncompressedSize);
    const whole = start === 0 && end === member.uncompressedSize;
    let budget: DecompressBudget | null = null;
    let inflate: Transform | null = null;
    if (member.method === 8) {
      const counted = new DecompressBudget(this.label, this.limits);
      counted.startBlock(budgetBlock(name, this.label));
      raw.on('data', (chunk: Buffer) => counted.input(chunk.length));
      budget = counted;
      inflate = createInflateRaw();
    }
    const stop = () => {
      raw.destroy();
      inflate?.destroy();
    };
    const checker = new MemberCheck(member, this.label, whole ? null : { start, end }, budget, stop);
    const damaged = (error: Error) => {
      stop();
      checker.destroy(invalid(`Member "${name}" of ${this.label} is damaged: ${error.message}.`, name, error));
    };
    raw.on('error', damaged);
    if (inflate === null) return raw.pipe(checker);
    inflate.on('error', damaged);
    return raw.pipe(inflate).pipe(checker);
  }

  /** The whole member in memory, refused when larger than `maxBytes`. */
  async readMember(name: string, maxBytes: number): Promise<Buffer> {
    const member = this.member(name);
    if (member && member.uncompressedSize > maxBytes) {
      throw invalid(`Member "${name}" of ${this.label} is ${member.uncompressedSize} bytes, more than the ${maxBytes} Lifeboat reads into memory.`, name);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of await this.openMember(name)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** The name its local header gives a member (it must equal the central directory's). */
  async localHeaderName(name: string): Promise<string> {
    const found = this.byName.get(name);
    if (!found) throw new LifeboatError('NOT_FOUND', `${this.label} has no member "${name}".`, { details: { member: name } });
    try {
      const header = await this.zipfile.readLocalFileHeaderPromise(found.entry);
      // Decoded exactly as the central name was (UTF-8 flag, CP437 otherwise, Info-ZIP Unicode path field).
      return yauzl.getFileNameLowLevel(header.generalPurposeBitFlag, header.fileName, yauzl.parseExtraFields(header.extraField), true);
    } catch (error) {
      throw invalid(`The local header of "${name}" in ${this.label} is unreadable: ${(error as Error).message}.`, name, error);
    }
  }

  /** Closes the archive and its source. */
  async close(): Promise<void> {
    this.zipfile.close();
    await this.source.close();
  }
}

/** Opens a ZIP over any byte-range source (see NojoinZip.open). */
export function openZip(source: ByteRangeSource, options: { label: string; limits?: Partial<ZipLimits> }): Promise<NojoinZip> {
  return NojoinZip.open(source, options);
}

/** Checks the CRC-32 of a whole member as it streams, or cuts a slice out of it. */
class MemberCheck extends Transform {
  private crc = 0;
  private position = 0;
  private sliceDone = false;

  constructor(
    private readonly member: ZipMember,
    private readonly label: string,
    private readonly slice: { start: number; end: number } | null,
    private readonly budget: DecompressBudget | null,
    private readonly stopSource: () => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.budget?.output(chunk.length);
    } catch (error) {
      // A bomb: nothing more is inflated.
      this.stopSource();
      done(bombError(error, this.member.name) as Error);
      return;
    }
    const at = this.position;
    this.position += chunk.length;
    if (this.position > this.member.uncompressedSize) {
      this.stopSource();
      done(invalid(`Member "${this.member.name}" of ${this.label} is damaged: it inflates to more than the ${this.member.uncompressedSize} bytes the archive says.`, this.member.name));
      return;
    }
    if (this.slice === null) {
      this.crc = crc32(chunk, this.crc);
      done(null, chunk);
      return;
    }
    if (this.sliceDone) {
      done();
      return;
    }
    const from = Math.max(this.slice.start - at, 0);
    const to = Math.min(this.slice.end - at, chunk.length);
    if (to > from) this.push(chunk.subarray(from, to));
    if (this.position >= this.slice.end) {
      // The rest of the member is not wanted: stop inflating it.
      this.sliceDone = true;
      this.stopSource();
      this.push(null);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.slice === null && this.position !== this.member.uncompressedSize) {
      done(invalid(`Member "${this.member.name}" of ${this.label} is damaged: it inflates to ${this.position} bytes, the archive says ${this.member.uncompressedSize}.`, this.member.name));
      return;
    }
    if (this.slice === null && this.crc !== this.member.crc32) {
      done(
        invalid(
          `Member "${this.member.name}" of ${this.label} is damaged: its CRC-32 is ${hex(this.crc)}, the archive says ${hex(this.member.crc32)}.`,
          this.member.name,
        ),
      );
      return;
    }
    done();
  }
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** The central directory is read in blocks of this size; an entry never needs more than one more. */
const DIRECTORY_BLOCK_BYTES = 1024 * 1024;

/**
 * Every entry of the central directory, parsed as yauzl's own `readEntry` does (same fields, same
 * Zip64 extra-field rules, same stored-size check), but from whole blocks read at once and in one
 * synchronous loop: yauzl reads each entry with two reads and an event, about 5–10 µs an entry,
 * where listing a big archive should cost no more than `unzip -l`. The entries are yauzl Entry
 * objects, so yauzl still reads local headers and streams (inflates) each member.
 */
async function readCentralDirectory(source: ByteRangeSource, zipfile: yauzl.ZipFile, label: string): Promise<yauzl.Entry[]> {
  const count = zipfile.entryCount;
  let cursor = zipfile.readEntryCursor as unknown as number;
  let block = Buffer.alloc(0);
  let blockStart = cursor;
  const entries: yauzl.Entry[] = [];
  const damaged = (why: string) => invalid(`The central directory of ${label} is damaged after ${entries.length} members: ${why}.`, null);
  /** Makes `block` hold bytes [cursor, cursor + length). */
  const ensure = async (length: number): Promise<void> => {
    if (cursor + length <= blockStart + block.length) return;
    const kept = block.subarray(cursor - blockStart);
    const more = Buffer.allocUnsafe(Math.max(0, Math.min(Math.max(length - kept.length, DIRECTORY_BLOCK_BYTES), source.size - cursor - kept.length)));
    const got = await readAt(source, more, 0, more.length, cursor + kept.length);
    block = Buffer.concat([kept, more.subarray(0, got)]);
    blockStart = cursor;
    if (block.length < length) throw damaged('unexpected end of file');
  };
  for (let i = 0; i < count; i++) {
    if (cursor + 46 > blockStart + block.length) await ensure(46);
    let at = cursor - blockStart;
    if (block.readUInt32LE(at) !== 0x02014b50) throw damaged(`invalid central directory file header signature: 0x${block.readUInt32LE(at).toString(16)}`);
    const entry = new yauzl.Entry();
    entry.versionMadeBy = block.readUInt16LE(at + 4);
    entry.versionNeededToExtract = block.readUInt16LE(at + 6);
    entry.generalPurposeBitFlag = block.readUInt16LE(at + 8);
    entry.compressionMethod = block.readUInt16LE(at + 10);
    entry.lastModFileTime = block.readUInt16LE(at + 12);
    entry.lastModFileDate = block.readUInt16LE(at + 14);
    entry.crc32 = block.readUInt32LE(at + 16);
    entry.compressedSize = block.readUInt32LE(at + 20);
    entry.uncompressedSize = block.readUInt32LE(at + 24);
    entry.fileNameLength = block.readUInt16LE(at + 28);
    entry.extraFieldLength = block.readUInt16LE(at + 30);
    entry.fileCommentLength = block.readUInt16LE(at + 32);
    entry.internalFileAttributes = block.readUInt16LE(at + 36);
    entry.externalFileAttributes = block.readUInt32LE(at + 38);
    entry.relativeOffsetOfLocalHeader = block.readUInt32LE(at + 42);
    if (entry.generalPurposeBitFlag & 0x40) throw damaged('strong encryption is not supported');
    const variable = entry.fileNameLength + entry.extraFieldLength + entry.fileCommentLength;
    if (cursor + 46 + variable > blockStart + block.length) await ensure(46 + variable);
    at = cursor - blockStart + 46;
    entry.fileNameRaw = block.subarray(at, at + entry.fileNameLength);
    entry.extraFieldRaw = block.subarray(at + entry.fileNameLength, at + entry.fileNameLength + entry.extraFieldLength);
    entry.fileCommentRaw = block.subarray(at + entry.fileNameLength + entry.extraFieldLength, at + variable);
    entry.fileComment = entry.comment = entry.fileCommentRaw as unknown as string;
    entry.fileName = entry.fileNameRaw as unknown as string;
    try {
      entry.extraFields = yauzl.parseExtraFields(entry.extraFieldRaw);
    } catch (error) {
      throw damaged((error as Error).message);
    }
    cursor += 46 + variable;
    applyZip64Fields(entry, damaged);
    if (entry.compressionMethod === 0 && entry.compressedSize !== entry.uncompressedSize + (entry.isEncrypted() ? 12 : 0)) {
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true).slice(0, 200);
      throw invalid(`"${name}" in ${label} is stored uncompressed yet its sizes differ (${entry.compressedSize} bytes in the archive, ${entry.uncompressedSize} claimed); the central directory is damaged or forged.`, name);
    }
    entries.push(entry);
  }
  return entries;
}

/** The Zip64 extended information extra field's sizes and offset, where the 32-bit fields say 0xffffffff. */
function applyZip64Fields(entry: yauzl.Entry, damaged: (why: string) => LifeboatError): void {
  const field = entry.extraFields.find((f) => f.id === 0x0001);
  if (!field) return;
  let index = 0;
  const next = (what: string): number => {
    if (index + 8 > field.data.length) throw damaged(`zip64 extended information extra field does not include ${what}`);
    const value = Number(field.data.readBigUInt64LE(index));
    index += 8;
    return value;
  };
  if (entry.uncompressedSize === 0xffffffff) entry.uncompressedSize = next('uncompressed size');
  if (entry.compressedSize === 0xffffffff) entry.compressedSize = next('compressed size');
  if (entry.relativeOffsetOfLocalHeader === 0xffffffff) entry.relativeOffsetOfLocalHeader = next('relative header offset');
}

async function readEntries(zipfile: yauzl.ZipFile, source: ByteRangeSource, label: string, limits: ZipLimits): Promise<{ member: ZipMember; entry: yauzl.Entry }[]> {
  const entries: { member: ZipMember; entry: yauzl.Entry }[] = [];
  const seen = new Set<string>();
  let total = 0;
  const budget = new DecompressBudget(label, zipDecompressLimits(limits));
  const listing = await readCentralDirectory(source, zipfile, label);
  for (const entry of listing) {
    const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
    const printable = name.slice(0, 200);
    const problem = yauzl.validateFileName(name);
    if (problem !== null) throw invalid(`${label} holds a member named "${printable}", which is refused: ${describeNameProblem(problem)}.`, name);
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is being refused
    if (/[\u0000-\u001f\u007f]/.test(name)) throw invalid(`${label} holds a member whose name has control characters ("${JSON.stringify(printable)}").`, name);
    if (seen.has(name)) throw invalid(`${label} holds two members named "${printable}"; which one a restore uses is undefined.`, name);
    seen.add(name);
    const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
    if (mode === S_IFLNK) throw invalid(`${label} holds "${printable}" as a symbolic link; Nojoin archives hold plain files only.`, name);
    if (entry.isEncrypted()) throw invalid(`${label} holds "${printable}" encrypted; Nojoin never encrypts members.`, name);
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
      throw invalid(`${label} holds "${printable}" compressed with method ${entry.compressionMethod}; only stored and DEFLATE are read.`, name);
    }
    total += entry.uncompressedSize;
    if (total > limits.maxTotalUncompressedBytes) {
      throw invalid(`${label} unpacks to more than ${limits.maxTotalUncompressedBytes} bytes (reached at "${printable}"), over Lifeboat's cap.`, name);
    }
    if (entry.compressionMethod === 8) {
      budget.startBlock(budgetBlock(name, label));
      try {
        budget.declared(entry.uncompressedSize, entry.compressedSize);
      } catch (error) {
        throw bombError(error, name);
      }
    }
    entries.push({
      entry,
      member: {
        name,
        compressedSize: entry.compressedSize,
        uncompressedSize: entry.uncompressedSize,
        crc32: entry.crc32,
        method: entry.compressionMethod,
        modified: entry.getLastModDate(),
        isDirectory: name.endsWith('/'),
        localHeaderOffset: entry.relativeOffsetOfLocalHeader,
      },
    });
  }
  return entries;
}

/**
 * Members whose data overlap are how non-recursive zip bombs multiply one compressed blob into
 * many; a member reaching past the end of the file means a cut-off archive.
 */
function checkNoOverlap(entries: { member: ZipMember; entry: yauzl.Entry }[], fileSize: number, label: string): void {
  const sorted = [...entries].sort((a, b) => a.entry.relativeOffsetOfLocalHeader - b.entry.relativeOffsetOfLocalHeader);
  for (let i = 0; i < sorted.length; i++) {
    const current = sorted[i]!;
    // The local header's extra field may be longer than the central one's, never shorter than none.
    const minimumEnd = current.entry.relativeOffsetOfLocalHeader + LOCAL_HEADER_FIXED_BYTES + current.entry.fileNameLength + current.entry.compressedSize;
    const next = sorted[i + 1];
    if (next && minimumEnd > next.entry.relativeOffsetOfLocalHeader) {
      throw invalid(`Members "${current.member.name}" and "${next.member.name}" of ${label} overlap (a zip bomb or a forged directory).`, current.member.name);
    }
    if (minimumEnd > fileSize) throw invalid(`Member "${current.member.name}" of ${label} runs past the end of the file; the archive is truncated.`, current.member.name);
  }
}
