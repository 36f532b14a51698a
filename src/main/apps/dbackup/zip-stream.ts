/**
 * DBackup's download of an encrypted file is a ZIP of the file and its `.meta.json`. This reads
 * that ZIP as it arrives, local header after local header (APPNOTE 4.3.7), and hands the file's
 * bytes on while they come — no temporary copy, the download overlapping the verification and the
 * vault. It streams members whose sizes the local header gives (stored or DEFLATE, ZIP64 sizes
 * too); a member whose sizes follow it in a data descriptor says so (`null`), and the caller
 * falls back to reading the ZIP from its central directory. Every DEFLATE member counts against
 * the download's DecompressBudget: one whose header declares a bomb is refused before inflating,
 * one whose sizes lie stops at the shared bounds, naming the member, and the download is dropped.
 */
import { Readable, PassThrough } from 'node:stream';
import { createInflateRaw, crc32 } from 'node:zlib';
import { LifeboatError } from '../../../shared/errors';
import { DecompressBudget } from '../../formats/decompress-budget';
import { untilWritable } from '../../formats/gcm';

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const ZIP64_END = 0x06064b50;

/** Exact reads from a byte stream, with what was read so far kept for a fallback. */
class Reader {
  private buffered: Buffer[] = [];
  private length = 0;
  private done = false;
  /** Every chunk taken from the source, until `stopKeeping`. */
  kept: Buffer[] | null = [];

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.length < n && !this.done) {
      const next = await this.source.next();
      if (next.done) {
        this.done = true;
        break;
      }
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      this.kept?.push(chunk);
      this.buffered.push(chunk);
      this.length += chunk.length;
    }
    return this.length >= n;
  }

  /** Exactly n bytes; null at the stream's end (when nothing of them came). */
  async read(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.length === 0) return null;
      throw new LifeboatError('ARCHIVE_INVALID', 'DBackup\'s ZIP download ends in the middle of a record.');
    }
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.length = rest.length;
    return out;
  }

  /** Up to n bytes as they come (at least one); null at the end. */
  async some(n: number): Promise<Buffer | null> {
    if (!(await this.fill(1))) return null;
    const first = this.buffered[0]!;
    const out = first.subarray(0, Math.min(n, first.length));
    if (out.length === first.length) this.buffered.shift();
    else this.buffered[0] = first.subarray(out.length);
    this.length -= out.length;
    return out;
  }

  /** The bytes taken so far followed by the rest of the source (for the fallback). */
  replay(): Readable {
    const kept = this.kept ?? [];
    const source = this.source;
    return Readable.from((async function* () {
      yield* kept;
      for (;;) {
        const next = await source.next();
        if (next.done) return;
        yield next.value;
      }
    })());
  }
}

interface LocalHeader {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  descriptor: boolean;
}

async function localHeader(reader: Reader): Promise<LocalHeader | null> {
  const signature = await reader.read(4);
  if (!signature) return null;
  const sig = signature.readUInt32LE(0);
  if (sig === CENTRAL || sig === END || sig === ZIP64_END) return null;
  if (sig !== LOCAL) throw new LifeboatError('ARCHIVE_INVALID', `DBackup's ZIP download has a record of signature 0x${sig.toString(16)} where a file header belongs.`);
  const fixed = (await reader.read(26))!;
  const flags = fixed.readUInt16LE(2);
  const method = fixed.readUInt16LE(4);
  let compressedSize = fixed.readUInt32LE(14);
  let size = fixed.readUInt32LE(18);
  const name = (await reader.read(fixed.readUInt16LE(22))) ?? Buffer.alloc(0);
  const extra = (await reader.read(fixed.readUInt16LE(24))) ?? Buffer.alloc(0);
  if (compressedSize === 0xffffffff || size === 0xffffffff) {
    // The ZIP64 extra field (0x0001) holds the sizes the header could not: uncompressed first.
    for (let at = 0; at + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(at);
      const length = extra.readUInt16LE(at + 2);
      if (id === 0x0001) {
        let field = at + 4;
        if (size === 0xffffffff) {
          size = Number(extra.readBigUInt64LE(field));
          field += 8;
        }
        if (compressedSize === 0xffffffff) compressedSize = Number(extra.readBigUInt64LE(field));
      }
      at += 4 + length;
    }
  }
  return { name: name.toString('utf8'), method, crc: fixed.readUInt32LE(10), compressedSize, size, descriptor: (flags & 0x8) !== 0 };
}

/** Copies one member's data (its compressed size, inflated when DEFLATE) into `out`, checking its size and CRC-32. */
async function copyMember(reader: Reader, header: LocalHeader, out: PassThrough | null, label: string, budget: DecompressBudget): Promise<Buffer | null> {
  const inflate = header.method === 8 ? createInflateRaw() : null;
  if (inflate) {
    budget.startBlock(`${label} in DBackup's ZIP download`);
    // Sizes that declare a bomb: refused before anything is inflated.
    budget.declared(header.size, header.compressedSize);
  }
  const target = new PassThrough();
  let crc = 0;
  let size = 0;
  const small: Buffer[] = [];
  const sink = (async () => {
    try {
      for await (const chunk of (inflate ? target.pipe(inflate) : target) as AsyncIterable<Buffer>) {
        if (inflate) budget.output(chunk.length);
        crc = crc32(chunk, crc);
        size += chunk.length;
        if (size > header.size) throw new LifeboatError('ARCHIVE_INVALID', `${label} in DBackup's ZIP download is more than the ${header.size} bytes its header says.`);
        if (out) {
          if (!out.write(chunk)) await untilWritable(out);
          if (out.destroyed) throw new LifeboatError('CANCELLED', `The reader of ${label} stopped.`);
        } else small.push(chunk);
      }
    } catch (error) {
      // Nothing more is fed or inflated.
      target.destroy();
      inflate?.destroy();
      throw error;
    }
  })();
  const feed = (async () => {
    for (let left = header.compressedSize; left > 0; ) {
      const chunk = await reader.some(Math.min(left, 1024 * 1024));
      if (!chunk) throw new LifeboatError('ARCHIVE_INVALID', `DBackup's ZIP download ends inside ${label}.`);
      left -= chunk.length;
      if (inflate) budget.input(chunk.length);
      if (target.destroyed) return;
      if (!target.write(chunk)) await untilWritable(target);
    }
    target.end();
  })();
  await Promise.all([feed, sink]);
  if (size !== header.size || crc !== header.crc) throw new LifeboatError('ARCHIVE_INVALID', `${label} in DBackup's ZIP download is ${size !== header.size ? `${size} bytes, its header says ${header.size}` : 'not what its CRC-32 says'}.`);
  return out ? null : Buffer.concat(small);
}

/**
 * The member named `fileName` of a ZIP arriving on `download`, as a stream; other members up to
 * `maxOther` bytes go to `onOther` (the sidecar). Null when the ZIP needs its central directory
 * (a data descriptor): then `replay` gives the whole download again for the fallback.
 */
export async function streamZipMember(
  download: Readable,
  fileName: string,
  options: { maxOther: number; onOther: (name: string, content: Buffer) => void },
): Promise<{ stream: Readable } | { stream: null; replay: Readable }> {
  const reader = new Reader(download[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  const budget = new DecompressBudget(`DBackup's ZIP download of ${fileName}`);
  for (;;) {
    const header = await localHeader(reader);
    if (!header) throw new LifeboatError('ARCHIVE_INVALID', `DBackup's ZIP download holds no ${fileName}.`);
    if (header.descriptor || (header.method !== 0 && header.method !== 8)) return { stream: null, replay: reader.replay() };
    const name = header.name.split('/').pop() ?? header.name;
    if (name !== fileName) {
      if (header.size > options.maxOther) throw new LifeboatError('ARCHIVE_INVALID', `${header.name} in DBackup's ZIP download is ${header.size} bytes, more than a sidecar holds.`);
      const content = await copyMember(reader, header, null, header.name, budget);
      options.onOther(name, content!);
      continue;
    }
    reader.kept = null;
    const out = new PassThrough();
    // The file streams now; what follows it (the sidecar) is read once it has passed, then the stream ends.
    void (async () => {
      await copyMember(reader, header, out, fileName, budget);
      for (;;) {
        const next = await localHeader(reader);
        if (!next) break;
        if (next.descriptor || next.size > options.maxOther) break;
        const content = await copyMember(reader, next, null, next.name, budget);
        options.onOther(next.name.split('/').pop() ?? next.name, content!);
      }
      out.end();
    })().catch((error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))));
    out.once('close', () => download.destroy());
    return { stream: out };
  }
}

