/**
 * Reads the COPY data of a custom-format dump: counts the rows of every TABLE DATA block and
 * captures the text of a few small tables (`_prisma_migrations`). Needs the block positions that
 * `readPgDumpToc(…, { scanData: true })` found, so it is a second sequential pass over the file;
 * it inflates only the blocks it cares about and keeps no data beyond the capture cap.
 * COPY text: one line per row, `\.` ends the data (pgdump-custom-format.md §6).
 */
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { createInflate, type Inflate } from 'node:zlib';
import { LifeboatError } from '../../../shared/errors';
import { DecompressBudget } from '../decompress-budget';
import { ZstdStream } from '../zstd-stream';
import { describeEntry } from './data-walk';
import type { PgDumpArchive, PgDumpTocEntry } from './types';
import { decodePgInt } from './primitives';

/** Text of a captured table is cut off beyond this (a migrations table is a few KiB). */
const MAX_CAPTURE_BYTES = 4 * 1024 * 1024;
/** Inflate input is batched to this size: pg_dump's zlib chunks are only 4 KiB. */
const BATCH_BYTES = 1024 * 1024;

/** What the data pass found for one TABLE DATA entry. */
export interface CopyDataFacts {
  /** COPY rows, or null when not countable (INSERT-mode dump, lz4 compression). */
  rows: number | null;
  /** The COPY text when the table was asked for and fit the cap. */
  text: string | null;
}

/** Options of {@link readCopyData}. */
export interface ReadCopyDataOptions {
  /** Dump ids of TABLE DATA entries whose COPY text to keep. */
  capture?: ReadonlySet<number>;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
  /** Names the dump in errors (default "the dump"). */
  label?: string;
}

/**
 * Streams the whole dump once more and returns facts per TABLE DATA dump id. Every block's
 * output is counted by one DecompressBudget for the dump (DEFAULT_DECOMPRESS_LIMITS), and zstd is
 * decoded a block at a time with turns of the event loop in between (see ZstdStream). Throws
 * ARCHIVE_INVALID when a block does not decompress (the archive changed since the first pass,
 * is corrupt inside a compressed stream, or is a decompression bomb), CANCELLED on abort.
 */
export async function readCopyData(input: Readable, archive: PgDumpArchive, options: ReadCopyDataOptions = {}): Promise<Map<number, CopyDataFacts>> {
  const { signal } = options;
  const algorithm = archive.header.compression.algorithm;
  const wanted = archive.entries
    .filter((e): e is PgDumpTocEntry & { block: NonNullable<PgDumpTocEntry['block']> } => e.desc === 'TABLE DATA' && e.block !== undefined)
    .sort((a, b) => a.block.start - b.block.start);
  const facts = new Map<number, CopyDataFacts>();
  for (const entry of archive.entries) {
    if (entry.desc === 'TABLE DATA') facts.set(entry.dumpId, { rows: null, text: null });
  }
  const countable = algorithm !== 'lz4';
  if (!countable || wanted.length === 0) {
    input.destroy();
    return facts;
  }

  const label = options.label ?? 'the dump';
  const budget = new DecompressBudget(label);
  let position = 0;
  let index = 0;
  let parser: BlockParser | null = null;
  try {
    for await (const raw of input) {
      if (signal?.aborted) throw cancelled();
      const chunk = raw as Buffer;
      let offset = 0;
      while (offset < chunk.length && index < wanted.length) {
        const entry = wanted[index] as (typeof wanted)[number];
        const start = entry.block.start;
        const end = start + entry.block.bytes;
        const at = position + offset;
        if (at < start) {
          offset += Math.min(start - at, chunk.length - offset);
          continue;
        }
        parser ??= new BlockParser({ entry, label, budget, signal }, archive.header.intSize, algorithm, options.capture?.has(entry.dumpId) ?? false);
        const take = Math.min(end - at, chunk.length - offset);
        await parser.push(chunk.subarray(offset, offset + take));
        offset += take;
        if (at + take === end) {
          facts.set(entry.dumpId, await parser.finish());
          parser = null;
          index++;
        }
      }
      position += chunk.length;
      options.onBytes?.(position);
      if (index >= wanted.length) break;
    }
  } finally {
    if (!input.destroyed) input.destroy();
    parser?.abandon();
  }
  if (index < wanted.length) {
    const entry = wanted[index] as PgDumpTocEntry;
    throw new LifeboatError('ARCHIVE_INVALID', `${capitalize(label)} ended at byte ${position}, inside the data of ${describeEntry(entry)} it held a moment ago.`, {
      details: { reason: 'truncated', position },
    });
  }
  return facts;
}

function cancelled(): LifeboatError {
  return new LifeboatError('CANCELLED', 'Reading the dump data was cancelled.');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The block being decoded and what every block of the dump shares. */
interface BlockContext {
  entry: PgDumpTocEntry & { block: NonNullable<PgDumpTocEntry['block']> };
  label: string;
  budget: DecompressBudget;
  signal: AbortSignal | undefined;
}

const enum State {
  Header,
  Length,
  Payload,
  Done,
}

/** Parses one BLK_DATA block (type byte, dump id, length-prefixed chunks, zero length) and counts its COPY rows. */
class BlockParser {
  private state = State.Header;
  private skip: number;
  private readonly intLen: number;
  private readonly lengthBytes: Buffer;
  private lengthFill = 0;
  private payloadLeft = 0;
  private readonly sink: Sink;
  private readonly lines = new LineCounter();
  private readonly captured: Buffer[] | null;
  private capturedBytes = 0;

  private readonly entry: PgDumpTocEntry;

  constructor(
    private readonly context: BlockContext,
    private readonly intSize: number,
    algorithm: 'none' | 'gzip' | 'zstd',
    capture: boolean,
  ) {
    this.entry = context.entry;
    this.intLen = intSize + 1;
    this.skip = 1 + this.intLen;
    this.lengthBytes = Buffer.alloc(this.intLen);
    this.captured = capture ? [] : null;
    const onData = (data: Buffer): void => this.onText(data);
    const what = `the data of ${describeEntry(context.entry)} at byte ${context.entry.block.start} of ${context.label}`;
    context.budget.startBlock(what);
    this.sink = algorithm === 'gzip'
      ? new InflateSink(onData, context.budget, what)
      : algorithm === 'zstd'
        ? new ZstdStream({ budget: context.budget, onData, signal: context.signal, what, cancelled })
        : new PlainSink(onData);
  }

  async push(bytes: Buffer): Promise<void> {
    let i = 0;
    while (i < bytes.length) {
      switch (this.state) {
        case State.Header: {
          const take = Math.min(this.skip, bytes.length - i);
          this.skip -= take;
          i += take;
          if (this.skip === 0) this.state = State.Length;
          break;
        }
        case State.Length: {
          const take = Math.min(this.intLen - this.lengthFill, bytes.length - i);
          bytes.copy(this.lengthBytes, this.lengthFill, i, i + take);
          this.lengthFill += take;
          i += take;
          if (this.lengthFill < this.intLen) break;
          this.lengthFill = 0;
          const length = decodePgInt(this.lengthBytes, 0, this.intSize);
          if (length < 0) throw this.corrupt(`negative chunk length ${length}`);
          if (length === 0) this.state = State.Done;
          else {
            this.payloadLeft = length;
            this.state = State.Payload;
          }
          break;
        }
        case State.Payload: {
          const take = Math.min(this.payloadLeft, bytes.length - i);
          await this.sink.write(bytes.subarray(i, i + take));
          this.payloadLeft -= take;
          i += take;
          if (this.payloadLeft === 0) this.state = State.Length;
          break;
        }
        case State.Done:
          throw this.corrupt('bytes after the end of the block');
      }
    }
  }

  async finish(): Promise<CopyDataFacts> {
    if (this.state !== State.Done) throw this.corrupt('the block ends before its last chunk');
    await this.sink.end();
    const rows = this.entry.copyStmt ? this.lines.rows() : null;
    const text = this.captured && this.capturedBytes <= MAX_CAPTURE_BYTES ? Buffer.concat(this.captured).toString('utf8') : null;
    return { rows, text };
  }

  abandon(): void {
    this.sink.abandon?.();
  }

  private onText(data: Buffer): void {
    this.lines.push(data);
    if (this.captured && this.capturedBytes <= MAX_CAPTURE_BYTES) {
      this.captured.push(Buffer.from(data));
      this.capturedBytes += data.length;
    }
  }

  private corrupt(what: string): LifeboatError {
    const { label, entry } = this.context;
    return new LifeboatError('ARCHIVE_INVALID', `${capitalize(label)}: the data block of ${describeEntry(entry)} at byte ${entry.block.start} is corrupt: ${what}.`, {
      details: { reason: 'corrupt-data', dumpId: entry.dumpId, position: entry.block.start },
    });
  }
}

/** Counts COPY lines up to the `\.` terminator line, across chunk boundaries. */
class LineCounter {
  private count = 0;
  private lineLength = 0;
  private first = 0;
  private second = 0;
  private ended = false;

  push(data: Buffer): void {
    if (this.ended) return;
    let start = 0;
    for (;;) {
      const newline = data.indexOf(0x0a, start);
      const stop = newline === -1 ? data.length : newline;
      if (stop > start) {
        if (this.lineLength === 0) this.first = data[start] as number;
        if (this.lineLength <= 1 && stop - start + this.lineLength >= 2) this.second = data[start + 1 - this.lineLength] as number;
        this.lineLength += stop - start;
      }
      if (newline === -1) return;
      if (this.lineLength === 2 && this.first === 0x5c && this.second === 0x2e) {
        this.ended = true;
        return;
      }
      this.count++;
      this.lineLength = 0;
      start = newline + 1;
    }
  }

  rows(): number {
    // A COPY stream always ends with a newline; a trailing partial line would still be a row.
    return this.count + (this.lineLength > 0 && !this.ended ? 1 : 0);
  }
}

interface Sink {
  write(data: Buffer): Promise<void>;
  end(): Promise<void>;
  abandon?(): void;
}

class PlainSink implements Sink {
  constructor(private readonly onData: (data: Buffer) => void) {}
  write(data: Buffer): Promise<void> {
    this.onData(data);
    return Promise.resolve();
  }
  end(): Promise<void> {
    return Promise.resolve();
  }
}

/** Streaming zlib inflate with batched input and backpressure; its output counted by the dump's budget. */
class InflateSink implements Sink {
  private readonly inflate: Inflate;
  private failure: Error | null = null;
  private batch: Buffer[] = [];
  private batchBytes = 0;

  constructor(onData: (data: Buffer) => void, private readonly budget: DecompressBudget, private readonly what: string) {
    this.inflate = createInflate();
    this.inflate.on('data', (data: Buffer) => {
      try {
        budget.output(data.length);
        onData(data);
      } catch (error) {
        this.failure ??= error as Error;
        this.inflate.destroy(error as Error);
      }
    });
    this.inflate.on('error', (error) => {
      this.failure ??= error;
    });
  }

  async write(data: Buffer): Promise<void> {
    this.budget.input(data.length);
    this.batch.push(data);
    this.batchBytes += data.length;
    if (this.batchBytes >= BATCH_BYTES) await this.flush();
  }

  async end(): Promise<void> {
    await this.flush();
    this.check();
    const ended = once(this.inflate, 'end');
    this.inflate.end();
    try {
      await ended;
    } catch (error) {
      throw this.corrupt(error as Error);
    }
    this.check();
  }

  abandon(): void {
    this.inflate.destroy();
  }

  private async flush(): Promise<void> {
    if (this.batchBytes === 0) return;
    const data = this.batch.length === 1 ? (this.batch[0] as Buffer) : Buffer.concat(this.batch);
    this.batch = [];
    this.batchBytes = 0;
    this.check();
    if (!this.inflate.write(data)) {
      try {
        await once(this.inflate, 'drain');
      } catch (error) {
        throw this.corrupt(error as Error);
      }
    }
  }

  private check(): void {
    if (this.failure) throw this.corrupt(this.failure);
  }

  /** The budget's own error as it is; a zlib error as ARCHIVE_INVALID naming the block. */
  private corrupt(error: Error): LifeboatError {
    const failure = this.failure ?? error;
    if (failure instanceof LifeboatError) return failure;
    return new LifeboatError('ARCHIVE_INVALID', `${capitalize(this.what)} does not inflate: ${failure.message}.`, { cause: failure, details: { reason: 'corrupt-data' } });
  }
}
