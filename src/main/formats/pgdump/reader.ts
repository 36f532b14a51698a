/**
 * Lifeboat's own streaming reader of `pg_dump --format=custom` archives: header, TOC and
 * (optionally) a walk over the data blocks that measures each table's stored size and proves the
 * file is complete. Reads forward only, so a pipe (Weavestream's `pg_dump | …` output, an SSH
 * channel, a tar member) works as well as a file; memory holds the TOC, never the data.
 * Byte layout and rules: ../shared/specs/pgdump-custom-format.md.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LifeboatError } from '../../../shared/errors';
import { ByteSource, UnexpectedEndError, toBuffer } from './byte-source';
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

const MAX_TOC_ENTRIES = 10_000_000;
/** No TOC string (a definition, a COPY statement) is anywhere near this; a bigger length is corruption. */
const MAX_STRING_BYTES = 256 * 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
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
  const opened = await openInput(input, options.label);
  const { stream, total, label } = opened;
  const onAbort = (): void => {
    stream.destroy(cancelled());
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const progress = new ProgressReporter(options.onProgress, total);
  const onChunk = (chunk: Buffer): void => {
    options.onChunk?.(chunk);
    progress.add(chunk.length);
  };
  const source = new ByteSource(iterator, onChunk);
  let parserPhase: 'header' | 'toc' = 'header';
  try {
    const parser = new TocParser(source, total);
    const header = await parser.readHeader();
    parserPhase = 'toc';
    const entries = await parser.readToc(header);
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
    if (!stream.destroyed) stream.destroy();
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

async function openInput(input: Readable | string, label: string | undefined): Promise<{ stream: Readable; total: number | null; label: string }> {
  if (typeof input !== 'string') return { stream: input, total: null, label: label ?? 'the dump stream' };
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
  const stream = handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES, autoClose: true });
  return { stream, total: stat.isFile() ? stat.size : null, label: name };
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

/** Reads header and TOC through a ByteSource; `context` says what was being read when it failed. */
class TocParser {
  private intSize = 4;
  private offSize = 8;
  private context = 'the header';

  constructor(private readonly src: ByteSource, private readonly total: number | null) {}

  async readHeader(): Promise<PgDumpHeader> {
    const sniff = await this.src.peek(SNIFF_BYTES);
    if (sniff.length < 5 || sniff.subarray(0, 5).toString('latin1') !== 'PGDMP') throw notCustomFormat(sniff);
    await this.src.read(5);
    const version = await this.bytes(2);
    const vmaj = version.readUInt8(0);
    const vmin = version.readUInt8(1);
    if (vmaj !== 1) throw invalid(`archive version ${vmaj}.${vmin} is not supported (only 1.x exists)`, { reason: 'unsupported-version' });
    if (vmin > MAX_ARCHIVE_MINOR) {
      throw invalid(`archive version 1.${vmin} is newer than this reader supports (up to 1.${MAX_ARCHIVE_MINOR}, written by pg_dump 17–18)`, { reason: 'unsupported-version', minor: vmin });
    }
    if (vmin < MIN_ARCHIVE_MINOR) {
      throw invalid(`archive version 1.${vmin} is older than this reader supports (from 1.${MIN_ARCHIVE_MINOR}, pg_dump 8.4)`, { reason: 'unsupported-version', minor: vmin });
    }
    const sizes = await this.bytes(4);
    const [vrev, intSize, offSize, format] = [sizes.readUInt8(0), sizes.readUInt8(1), sizes.readUInt8(2), sizes.readUInt8(3)];
    if (intSize < 1 || intSize > 8) throw invalid(`header says integers are ${intSize} bytes (expected 1–8)`, { reason: 'corrupt-header' });
    if (offSize < 1 || offSize > 8) throw invalid(`header says offsets are ${offSize} bytes (expected 1–8)`, { reason: 'corrupt-header' });
    this.intSize = intSize;
    this.offSize = offSize;
    if (format !== 1) throw invalid(`the header names archive format ${format} (${formatName(format)}); only the custom format (1) is read here`, { reason: 'not-custom-format' });
    const compression = vmin >= 15 ? await this.readAlgorithm() : compressionFromLevel(await this.readInt());
    const tm = await this.readTm();
    const dbname = await this.readStr();
    const serverVersion = await this.readStr();
    const pgDumpVersion = await this.readStr();
    return {
      versionMajor: vmaj, versionMinor: vmin, versionRev: vrev,
      version: `${vmaj}.${vmin}-${vrev}`,
      intSize, offSize, format: 'custom', compression,
      createdTm: tm, createdLocal: naiveTime(tm),
      dbname, serverVersion, pgDumpVersion,
    };
  }

  async readToc(header: PgDumpHeader): Promise<PgDumpTocEntry[]> {
    this.context = 'the TOC entry count';
    const count = await this.readInt();
    // A cut file runs into its end while reading entries, which names the entry; only absurd counts fail here.
    if (count < 0 || count > MAX_TOC_ENTRIES) {
      throw invalid(`the TOC claims ${count} entries, which cannot be right`, { reason: 'corrupt-toc' });
    }
    const entries: PgDumpTocEntry[] = [];
    let section: PgDumpTocEntry['effectiveSection'] = 'PRE_DATA';
    for (let i = 0; i < count; i++) {
      this.context = `TOC entry ${i + 1} of ${count}`;
      const entry = await this.readEntry(header.versionMinor);
      if (entry.section !== 'NONE') section = entry.section;
      entry.effectiveSection = section;
      entries.push(entry);
    }
    return entries;
  }

  private async readEntry(minor: number): Promise<PgDumpTocEntry> {
    const dumpId = await this.readInt();
    if (dumpId <= 0) throw invalid(`entry ID ${dumpId} is out of range (a corrupt TOC)`, { reason: 'corrupt-toc' });
    const hadDumper = (await this.readInt()) !== 0;
    const tableoid = parseOid(await this.readStr());
    const oid = parseOid(await this.readStr());
    const tag = (await this.readStr()) ?? '';
    const desc = await this.readStr();
    if (desc === null) throw invalid(`entry ${dumpId} has no object type`, { reason: 'corrupt-toc' });
    const section = sectionName(minor >= 11 ? await this.readInt() : 2, dumpId);
    const defn = await this.readStr();
    const dropStmt = await this.readStr();
    const copyStmt = await this.readStr();
    const namespace = await this.readStr();
    const tablespace = await this.readStr();
    const tableam = minor >= 14 ? await this.readStr() : null;
    const relkindCode = minor >= 16 ? await this.readInt() : 0;
    const owner = await this.readStr();
    const withOids = (await this.readStr()) === 'true';
    const dependencies: number[] = [];
    for (;;) {
      const dep = await this.readStr();
      if (dep === null) break;
      dependencies.push(Number.parseInt(dep, 10));
    }
    const { dataState, dataOffset } = await this.readOffset(dumpId);
    return {
      dumpId, hadDumper, tableoid, oid, tag, desc, section, effectiveSection: 'PRE_DATA',
      defn, dropStmt, copyStmt, namespace, tablespace, tableam,
      relkind: relkindCode > 0 ? String.fromCharCode(relkindCode) : null,
      owner, withOids, dependencies, dataState, dataOffset,
    };
  }

  private async readAlgorithm(): Promise<PgDumpCompression> {
    const [code] = await this.bytes(1);
    const algorithms = ['none', 'gzip', 'lz4', 'zstd'] as const;
    const algorithm = algorithms[code as number];
    if (!algorithm) throw invalid(`unknown compression algorithm ${code} in the header`, { reason: 'corrupt-header' });
    return { algorithm, level: null };
  }

  private async readTm(): Promise<PgDumpCreationTm> {
    const [sec, min, hour, mday, mon, year, isdst] = [
      await this.readInt(), await this.readInt(), await this.readInt(), await this.readInt(),
      await this.readInt(), await this.readInt(), await this.readInt(),
    ] as [number, number, number, number, number, number, number];
    return { sec, min, hour, mday, mon, year, isdst };
  }

  private async bytes(n: number): Promise<Buffer> {
    return this.guard(() => this.src.read(n));
  }

  private async readInt(): Promise<number> {
    const buf = await this.bytes(this.intSize + 1);
    return decodePgInt(buf, 0, this.intSize);
  }

  private async readStr(): Promise<string | null> {
    const length = await this.readInt();
    if (length === -1) return null;
    if (length < 0) throw invalid(`a string length of ${length} in ${this.context}`, { reason: 'corrupt-toc' });
    if (length > MAX_STRING_BYTES || (this.total !== null && this.src.position + length > this.total)) {
      throw invalid(`${this.context} has a string of ${length} bytes at byte ${this.src.position}, past the end of the file`, { reason: 'corrupt-toc' });
    }
    if (length === 0) return '';
    return (await this.bytes(length)).toString('utf8');
  }

  private async readOffset(dumpId: number): Promise<{ dataState: PgDumpDataState; dataOffset: number | null }> {
    const buf = await this.bytes(1 + this.offSize);
    const flag = buf[0];
    if (flag === 1) return { dataState: 'POS_NOT_SET', dataOffset: null };
    if (flag === 3) return { dataState: 'NO_DATA', dataOffset: null };
    if (flag === 2) return { dataState: 'POS_SET', dataOffset: decodePgOffset(buf, 1, this.offSize) };
    throw invalid(`entry ${dumpId} has an unexpected data offset flag ${flag}`, { reason: 'corrupt-toc' });
  }

  /** Turns running out of bytes into a message that says where. */
  private async guard<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof UnexpectedEndError) {
        throw invalid(`the archive is truncated: it ends at byte ${error.position} while reading ${this.context}`, { reason: 'truncated', position: error.position });
      }
      throw error;
    }
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
