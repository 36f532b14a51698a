/**
 * Lifeboat's own streaming reader of `pg_dump --format=custom` archives: header, TOC and
 * (optionally) a walk over the data blocks that measures each table's stored size and proves the
 * file is complete. Reads forward only, so a pipe (Weavestream's `pg_dump | …` output, an SSH
 * channel, a tar member) works as well as a file; memory holds the TOC, never the data.
 * Byte layout and rules: ../shared/specs/pgdump-custom-format.md.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LifeboatError } from '../../../shared/errors';
import { ByteSource, toBuffer } from './byte-source';
import { DataBlockWalker } from './data-walk';
import { buildArchive } from './model';
import { decodePgInt, decodePgOffset } from './primitives';
import type {
  PgDumpArchive, PgDumpCompression, PgDumpCreationTm, PgDumpDataState, PgDumpHeader, PgDumpProgress,
  PgDumpSection, PgDumpTocEntry,
} from './types';

/** Highest archive minor this reader understands (pg_dump 17–18 write 1.16). */
export const MAX_ARCHIVE_MINOR = 16;
/** Lowest archive minor accepted (1.10, pg_dump 8.4): older layouts are not worth the code. */
export const MIN_ARCHIVE_MINOR = 10;

/**
 * Bounds on what a TOC may make this reader hold, for a desktop app: a real dump's TOC has a few
 * thousand entries (about 3 per table) and definitions of a few KiB (the largest, a view or a
 * function body, a few MiB). The worst TOC they accept stays well below 300 MB of RSS: measured
 * in a child process (75 MB at rest), 99 000 entries filling 32 MiB peaked at 221 MB and 99 000
 * small entries at 152 MB (test/unit/pgdump-hostile.test.ts checks the latter under 250 MB).
 */
export const TOC_LIMITS = {
  entries: 100_000,
  /** One string field of an entry (a definition, a COPY statement, a name). */
  stringBytes: 16 * 1024 * 1024,
  /** Header and TOC together, strings included. */
  tocBytes: 32 * 1024 * 1024,
} as const;
const READ_CHUNK_BYTES = 1024 * 1024;
/** The first bytes handed to the TOC parser; a TOC is usually smaller, and a bigger one doubles it. */
const FIRST_TOC_BYTES = 64 * 1024;
const PROGRESS_EVERY_BYTES = 8 * 1024 * 1024;
/** pg_restore sniffs this much to recognise a plain SQL dump (`_discoverArchiveFormat`). */
const SNIFF_BYTES = 512;

/** Options of `readPgDumpToc`. */
export interface ReadPgDumpOptions {
  signal?: AbortSignal;
  onProgress?: (progress: PgDumpProgress) => void;
  /** Walk the data blocks to EOF: per-table stored sizes and truncation detection. Default false (header + TOC only). */
  scanData?: boolean;
  /** Sees every chunk read from the input, in order (e.g. to hash the file in the same pass). */
  onChunk?: (chunk: Buffer) => void;
  /** Name used in error messages when the input is a stream (default "the dump stream"). */
  label?: string;
  /** Bytes the header and TOC parser first asks for (default 64 KiB); tests shrink it to cross its re-parse path. */
  firstTocBytes?: number;
}

/**
 * Reads a custom-format archive from a file path or a readable byte stream.
 * Throws LifeboatError ARCHIVE_INVALID (not a custom archive, unsupported version, corrupt or
 * truncated — the message says how far it got), NOT_FOUND (no such file), CANCELLED.
 * A passed stream is consumed and destroyed when reading stops before its end.
 */
export async function readPgDumpToc(input: Readable | string, options: ReadPgDumpOptions = {}): Promise<PgDumpArchive> {
  const { signal } = options;
  if (signal?.aborted) throw cancelled();
  const { iterator, close, total, label } = await openInput(input, options.label, Boolean(options.scanData), options.firstTocBytes ?? FIRST_TOC_BYTES);
  const onAbort = (): void => close(cancelled());
  signal?.addEventListener('abort', onAbort, { once: true });
  const progress = new ProgressReporter(options.onProgress, total);
  const onChunk = (chunk: Buffer): void => {
    options.onChunk?.(chunk);
    progress.add(chunk.length);
  };
  const source = new ByteSource(iterator, onChunk);
  let parserPhase: 'header' | 'toc' = 'header';
  try {
    const { header, entries } = await parseHeaderAndToc(source, total, options.firstTocBytes ?? FIRST_TOC_BYTES, (phase) => {
      parserPhase = phase;
    });
    const dataStart = source.position;
    if (!options.scanData) {
      return buildArchive({ header, entries, dataStart, fileSize: total, dataScanned: false });
    }
    progress.phase = 'data';
    const fileSize = await walkData(source, header, entries, { signal, onChunk });
    progress.flush();
    return buildArchive({ header, entries, dataStart, fileSize, dataScanned: true });
  } catch (error) {
    if (signal?.aborted) throw cancelled();
    throw withLabel(error, label, progress.phase === 'data' ? 'data' : parserPhase);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Ends the stream (and closes the file) when we stop before EOF.
    close();
  }
}

/** The lowest pg_restore major that accepts an archive version (pg_restore reads up to its own minor). */
export function minPgRestoreMajor(header: Pick<PgDumpHeader, 'versionMinor'>): number {
  if (header.versionMinor >= 16) return 17;
  if (header.versionMinor === 15) return 16;
  if (header.versionMinor === 14) return 12;
  if (header.versionMinor === 13) return 11;
  return 9;
}

/** The input as chunks, plus how to stop reading it (with an error for a pending read, on cancel). */
interface OpenedInput {
  iterator: AsyncIterator<Buffer>;
  close: (error?: Error) => void;
  total: number | null;
  label: string;
}

async function openInput(input: Readable | string, label: string | undefined, wholeFile: boolean, firstRead: number): Promise<OpenedInput> {
  if (typeof input !== 'string') return { ...streamInput(input), total: null, label: label ?? 'the dump stream' };
  const name = label ?? path.basename(input);
  let handle;
  try {
    handle = await open(input, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LifeboatError('NOT_FOUND', `Dump file ${input} does not exist.`, { cause: error });
    throw new LifeboatError('INVALID_INPUT', `Could not open dump file ${input}: ${(error as Error).message}`, { cause: error });
  }
  const stat = await handle.stat();
  if (stat.isDirectory()) {
    await handle.close();
    throw new LifeboatError('ARCHIVE_INVALID', `${input} is a directory (a directory-format dump?), not a custom-format pg_dump file.`);
  }
  const total = stat.isFile() ? stat.size : null;
  // A whole walk wants the stream's read-ahead; header and TOC alone are a read or two, and
  // setting up a stream would cost more than reading them.
  if (wholeFile) return { ...streamInput(handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES, autoClose: true })), total, label: name };
  return { ...directReads(handle, firstRead), total, label: name };
}

function streamInput(stream: Readable): Pick<OpenedInput, 'iterator' | 'close'> {
  return {
    iterator: stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>,
    close: (error) => {
      if (!stream.destroyed) stream.destroy(error);
    },
  };
}

/** Reads a file front to back with plain reads: `firstRead` bytes first, then READ_CHUNK_BYTES at a time. */
function directReads(handle: FileHandle, firstRead: number): Pick<OpenedInput, 'iterator' | 'close'> {
  let position = 0;
  let closed = false;
  let failure: Error | undefined;
  const close = (error?: Error): void => {
    failure ??= error;
    if (closed) return;
    closed = true;
    void handle.close().catch(() => undefined);
  };
  const iterator: AsyncIterator<Buffer> = {
    next: async () => {
      if (failure) throw failure;
      if (closed) return { done: true, value: undefined };
      const buffer = Buffer.allocUnsafe(position === 0 ? firstRead : READ_CHUNK_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (failure) throw failure;
      if (bytesRead === 0) {
        close();
        return { done: true, value: undefined };
      }
      position += bytesRead;
      return { done: false, value: buffer.subarray(0, bytesRead) };
    },
  };
  return { iterator, close };
}

async function walkData(
  source: ByteSource, header: PgDumpHeader, entries: PgDumpTocEntry[],
  { signal, onChunk }: { signal: AbortSignal | undefined; onChunk: (chunk: Buffer) => void },
): Promise<number> {
  const dataEntries = entries.filter((e) => e.dataState !== 'NO_DATA');
  const rest = source.detach();
  const walker = new DataBlockWalker(header.intSize, dataEntries, rest.position);
  for (const chunk of rest.pending) walker.push(chunk);
  if (!rest.ended) {
    for (;;) {
      if (signal?.aborted) throw cancelled();
      const next = await rest.iterator.next();
      if (next.done) break;
      const chunk = toBuffer(next.value);
      onChunk(chunk);
      walker.push(chunk);
    }
  }
  walker.finish();
  return walker.position;
}

class ProgressReporter {
  phase: PgDumpProgress['phase'] = 'toc';
  private bytes = 0;
  private lastReported = 0;

  constructor(private readonly onProgress: ((p: PgDumpProgress) => void) | undefined, private readonly total: number | null) {}

  add(n: number): void {
    this.bytes += n;
    if (this.onProgress && this.bytes - this.lastReported >= PROGRESS_EVERY_BYTES) this.flush();
  }

  flush(): void {
    this.lastReported = this.bytes;
    this.onProgress?.({ phase: this.phase, bytes: this.bytes, total: this.total });
  }
}

/**
 * Parses header and TOC from a growing prefix of the input. The parser is synchronous (no await
 * per field): when the prefix runs out it says how many bytes it needs, and the whole prefix is
 * parsed again from the start with at least that many (doubling, so the total work stays linear).
 */
async function parseHeaderAndToc(
  source: ByteSource, total: number | null, firstBytes: number, onPhase: (phase: 'header' | 'toc') => void,
): Promise<{ header: PgDumpHeader; entries: PgDumpTocEntry[] }> {
  let want = firstBytes;
  for (;;) {
    const { bytes, isEnd } = await source.contiguous(want);
    const parser = new TocParser(bytes, isEnd, total);
    onPhase('header');
    try {
      const header = parser.readHeader();
      onPhase('toc');
      const entries = parser.readToc(header);
      source.skip(parser.position);
      return { header, entries };
    } catch (error) {
      if (!(error instanceof NeedMoreBytes)) throw error;
      want = Math.max(error.needed, want * 2);
    }
  }
}

/** The parser reached the end of the prefix it was given, and the input has more. */
class NeedMoreBytes extends Error {
  constructor(readonly needed: number) {
    super(`need ${needed} bytes`);
  }
}

/** Reads header and TOC from one buffer; `context` says what was being read when it failed. */
class TocParser {
  private intSize = 4;
  private offSize = 8;
  private context = 'the header';
  private at = 0;

  /** `isEnd`: the buffer holds the rest of the input, so running out of it means truncation. */
  constructor(private readonly buf: Buffer, private readonly isEnd: boolean, private readonly total: number | null) {}

  /** Bytes parsed so far. */
  get position(): number {
    return this.at;
  }

  readHeader(): PgDumpHeader {
    const sniff = this.buf.subarray(0, SNIFF_BYTES);
    if (sniff.length < SNIFF_BYTES && !this.isEnd) throw new NeedMoreBytes(SNIFF_BYTES);
    if (sniff.length < 5 || sniff.subarray(0, 5).toString('latin1') !== 'PGDMP') throw notCustomFormat(sniff);
    this.bytes(5);
    const version = this.bytes(2);
    const vmaj = version.readUInt8(0);
    const vmin = version.readUInt8(1);
    if (vmaj !== 1) throw invalid(`archive version ${vmaj}.${vmin} is not supported (only 1.x exists)`, { reason: 'unsupported-version' });
    if (vmin > MAX_ARCHIVE_MINOR) {
      throw invalid(`archive version 1.${vmin} is newer than this reader supports (up to 1.${MAX_ARCHIVE_MINOR}, written by pg_dump 17–18)`, { reason: 'unsupported-version', minor: vmin });
    }
    if (vmin < MIN_ARCHIVE_MINOR) {
      throw invalid(`archive version 1.${vmin} is older than this reader supports (from 1.${MIN_ARCHIVE_MINOR}, pg_dump 8.4)`, { reason: 'unsupported-version', minor: vmin });
    }
    const sizes = this.bytes(4);
    const [vrev, intSize, offSize, format] = [sizes.readUInt8(0), sizes.readUInt8(1), sizes.readUInt8(2), sizes.readUInt8(3)];
    if (intSize < 1 || intSize > 8) throw invalid(`header says integers are ${intSize} bytes (expected 1–8)`, { reason: 'corrupt-header' });
    if (offSize < 1 || offSize > 8) throw invalid(`header says offsets are ${offSize} bytes (expected 1–8)`, { reason: 'corrupt-header' });
    this.intSize = intSize;
    this.offSize = offSize;
    if (format !== 1) throw invalid(`the header names archive format ${format} (${formatName(format)}); only the custom format (1) is read here`, { reason: 'not-custom-format' });
    const compression = vmin >= 15 ? this.readAlgorithm() : compressionFromLevel(this.readInt());
    const tm = this.readTm();
    const dbname = this.readStr('database name');
    const serverVersion = this.readStr('server version');
    const pgDumpVersion = this.readStr('pg_dump version');
    return {
      versionMajor: vmaj, versionMinor: vmin, versionRev: vrev,
      version: `${vmaj}.${vmin}-${vrev}`,
      intSize, offSize, format: 'custom', compression,
      createdTm: tm, createdLocal: naiveTime(tm),
      dbname, serverVersion, pgDumpVersion,
    };
  }

  readToc(header: PgDumpHeader): PgDumpTocEntry[] {
    this.context = 'the TOC entry count';
    const count = this.readInt();
    // A cut file runs into its end while reading entries, which names the entry; only absurd counts fail here.
    if (count < 0) throw invalid(`the TOC claims ${count} entries, which cannot be right`, { reason: 'corrupt-toc' });
    if (count > TOC_LIMITS.entries) {
      throw invalid(`the TOC entry count at byte ${this.at - this.intSize - 1} says ${count} entries, more than the ${TOC_LIMITS.entries} this reader accepts`, {
        reason: 'toc-limit', field: 'entry count', value: count, limit: TOC_LIMITS.entries,
      });
    }
    const entries: PgDumpTocEntry[] = [];
    let section: PgDumpTocEntry['effectiveSection'] = 'PRE_DATA';
    for (let i = 0; i < count; i++) {
      this.context = `TOC entry ${i + 1} of ${count}`;
      const entry = this.readEntry(header.versionMinor);
      if (entry.section !== 'NONE') section = entry.section;
      entry.effectiveSection = section;
      entries.push(entry);
    }
    return entries;
  }

  private readEntry(minor: number): PgDumpTocEntry {
    const dumpId = this.readInt();
    if (dumpId <= 0) throw invalid(`entry ID ${dumpId} is out of range (a corrupt TOC)`, { reason: 'corrupt-toc' });
    const hadDumper = this.readInt() !== 0;
    const tableoid = parseOid(this.readStr('tableoid'));
    const oid = parseOid(this.readStr('oid'));
    const tag = this.readStr('tag') ?? '';
    const desc = this.readStr('desc');
    if (desc === null) throw invalid(`entry ${dumpId} has no object type`, { reason: 'corrupt-toc' });
    const section = sectionName(minor >= 11 ? this.readInt() : 2, dumpId);
    const defn = this.readStr('definition');
    const dropStmt = this.readStr('drop statement');
    const copyStmt = this.readStr('COPY statement');
    const namespace = this.readStr('namespace');
    const tablespace = this.readStr('tablespace');
    const tableam = minor >= 14 ? this.readStr('table access method') : null;
    const relkindCode = minor >= 16 ? this.readInt() : 0;
    const owner = this.readStr('owner');
    const withOids = this.readStr('withOids') === 'true';
    const dependencies: number[] = [];
    for (;;) {
      const dep = this.readStr('dependency');
      if (dep === null) break;
      dependencies.push(Number.parseInt(dep, 10));
    }
    const { dataState, dataOffset } = this.readOffset(dumpId);
    return {
      dumpId, hadDumper, tableoid, oid, tag, desc, section, effectiveSection: 'PRE_DATA',
      defn, dropStmt, copyStmt, namespace, tablespace, tableam,
      relkind: relkindCode > 0 ? String.fromCharCode(relkindCode) : null,
      owner, withOids, dependencies, dataState, dataOffset,
    };
  }

  private readAlgorithm(): PgDumpCompression {
    const [code] = this.bytes(1);
    const algorithms = ['none', 'gzip', 'lz4', 'zstd'] as const;
    const algorithm = algorithms[code as number];
    if (!algorithm) throw invalid(`unknown compression algorithm ${code} in the header`, { reason: 'corrupt-header' });
    return { algorithm, level: null };
  }

  private readTm(): PgDumpCreationTm {
    const [sec, min, hour, mday, mon, year, isdst] = [
      this.readInt(), this.readInt(), this.readInt(), this.readInt(), this.readInt(), this.readInt(), this.readInt(),
    ] as [number, number, number, number, number, number, number];
    return { sec, min, hour, mday, mon, year, isdst };
  }

  /** The next `n` bytes (a view, no copy); running out says how much more is needed, or that the file is cut. */
  private bytes(n: number): Buffer {
    const end = this.at + n;
    if (end > TOC_LIMITS.tocBytes) {
      throw invalid(`${this.context} ends past byte ${TOC_LIMITS.tocBytes}: the header and TOC take more than the ${TOC_LIMITS.tocBytes} bytes this reader accepts`, {
        reason: 'toc-limit', field: 'TOC size', limit: TOC_LIMITS.tocBytes, position: this.at,
      });
    }
    if (end > this.buf.length) {
      if (!this.isEnd) throw new NeedMoreBytes(end);
      throw invalid(`the archive is truncated: it ends at byte ${this.buf.length} while reading ${this.context}`, { reason: 'truncated', position: this.buf.length });
    }
    const out = this.buf.subarray(this.at, end);
    this.at = end;
    return out;
  }

  private readInt(): number {
    return decodePgInt(this.bytes(this.intSize + 1), 0, this.intSize);
  }

  /** A Str field; its length is checked against the limits and the file's size before a byte of it is read. */
  private readStr(field: string): string | null {
    const length = this.readInt();
    if (length === -1) return null;
    if (length < 0) throw invalid(`a string length of ${length} in ${this.context}`, { reason: 'corrupt-toc' });
    const at = this.at - this.intSize - 1;
    const limit = (over: string, value: number): LifeboatError => invalid(
      `the ${field} of ${this.context} (length field at byte ${at}) says ${length} bytes, ${over}`,
      { reason: 'toc-limit', field, value: length, limit: value, position: at, context: this.context },
    );
    if (length > TOC_LIMITS.stringBytes) throw limit(`more than the ${TOC_LIMITS.stringBytes} this reader accepts in one string`, TOC_LIMITS.stringBytes);
    if (this.at + length > TOC_LIMITS.tocBytes) {
      throw limit(`which takes the header and TOC past the ${TOC_LIMITS.tocBytes} bytes this reader accepts`, TOC_LIMITS.tocBytes);
    }
    if (this.total !== null && this.at + length > this.total) {
      throw invalid(`${this.context} has a ${field} of ${length} bytes at byte ${this.at}, past the end of the file`, { reason: 'corrupt-toc', field });
    }
    if (length === 0) return '';
    return this.bytes(length).toString('utf8');
  }

  private readOffset(dumpId: number): { dataState: PgDumpDataState; dataOffset: number | null } {
    const buf = this.bytes(1 + this.offSize);
    const flag = buf[0];
    if (flag === 1) return { dataState: 'POS_NOT_SET', dataOffset: null };
    if (flag === 3) return { dataState: 'NO_DATA', dataOffset: null };
    if (flag === 2) return { dataState: 'POS_SET', dataOffset: decodePgOffset(buf, 1, this.offSize) };
    throw invalid(`entry ${dumpId} has an unexpected data offset flag ${flag}`, { reason: 'corrupt-toc' });
  }
}

function compressionFromLevel(level: number): PgDumpCompression {
  return { algorithm: level === 0 ? 'none' : 'gzip', level };
}

function sectionName(code: number, dumpId: number): PgDumpSection {
  switch (code) {
    case 1: return 'NONE';
    case 2: return 'PRE_DATA';
    case 3: return 'DATA';
    case 4: return 'POST_DATA';
    default: throw invalid(`entry ${dumpId} has an unknown section ${code}`, { reason: 'corrupt-toc' });
  }
}

/** OIDs are stored as decimal strings; pg_restore sscanf's them with %u, so junk reads as 0. */
function parseOid(text: string | null): number {
  if (text === null) return 0;
  const value = Number.parseInt(text, 10);
  return Number.isFinite(value) && value >= 0 ? value : 0;
}

function naiveTime(tm: PgDumpCreationTm): string {
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(tm.year + 1900, 4)}-${pad(tm.mon + 1)}-${pad(tm.mday)}T${pad(tm.hour)}:${pad(tm.min)}:${pad(tm.sec)}`;
}

function formatName(format: number): string {
  if (format === 3) return 'tar';
  if (format === 5) return 'directory toc.dat';
  return 'unknown';
}

/** Says what a non-PGDMP input most likely is, the way pg_restore does. */
function notCustomFormat(sniff: Buffer): LifeboatError {
  const text = sniff.toString('latin1');
  let detected = 'unknown';
  let hint = 'it does not start with the PGDMP signature';
  if (sniff.length === 0) {
    detected = 'empty';
    hint = 'the input is empty';
  } else if (text.startsWith('--\n-- PostgreSQL database dump') || text.startsWith('--\n-- PostgreSQL database cluster dump')) {
    detected = 'plain-sql';
    hint = 'it is a plain-text SQL dump (restore it with psql, not pg_restore)';
  } else if (sniff[0] === 0x1f && sniff[1] === 0x8b) {
    detected = 'gzip';
    hint = 'it is gzip-compressed (decompress it first; pg_dump custom archives have no outer gzip)';
  } else if (sniff.length >= 262 && sniff.subarray(257, 262).toString('latin1') === 'ustar') {
    detected = 'tar';
    hint = 'it is a tar archive (pg_dump --format=tar or a bundle of several dumps)';
  } else if (sniff.length < 5) {
    detected = 'too-short';
    hint = `it is only ${sniff.length} bytes long`;
  }
  return invalid(`not a pg_dump custom-format archive: ${hint}`, { reason: 'not-custom-format', detected });
}

function invalid(message: string, details: Record<string, unknown>): LifeboatError {
  return new LifeboatError('ARCHIVE_INVALID', message, { details });
}

function cancelled(): LifeboatError {
  return new LifeboatError('CANCELLED', 'Reading the pg_dump archive was cancelled.');
}

/**
 * Prefixes the input's name to archive errors so the message says which file was wrong, and
 * records in `details.phase` which part (header, toc, data) was bad.
 */
function withLabel(error: unknown, label: string, phase: 'header' | 'toc' | 'data'): unknown {
  if (error instanceof LifeboatError) {
    if (error.code !== 'ARCHIVE_INVALID') return error;
    const message = error.message.charAt(0).toUpperCase() + error.message.slice(1);
    return new LifeboatError('ARCHIVE_INVALID', `${label}: ${message}${message.endsWith('.') ? '' : '.'}`, {
      details: { phase, ...error.details, file: label },
      cause: error.cause,
    });
  }
  return new LifeboatError('INTERNAL', `Reading ${label} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}
