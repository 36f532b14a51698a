/**
 * Content-defined chunking with a gear rolling hash (the FastCDC idea). restic reads any chunking
 * (spec §11): a file is just an ordered list of blobs. Sizes follow restic's: at least 512 KiB,
 * about 1 MiB on average, at most 8 MiB. Bytes before the minimum are never hashed, which is
 * what keeps the per-byte loop to about half of the input.
 */
import { assembleModule, code, I32, op } from './wasm-asm';

/** Smallest chunk (except the last one of a file). */
export const MIN_CHUNK = 512 * 1024;
/** Largest chunk: a forced cut. */
export const MAX_CHUNK = 8 * 1024 * 1024;
/** A cut happens where the top 19 hash bits are zero: on average 512 KiB after the minimum, ~1 MiB in all. */
const CUT_MASK = 0xffffe000 | 0;
/** The gear hash forgets a byte after 32 shifts, so hashing may start this far before the minimum. */
const WARMUP = 32;

/** 256 fixed pseudo-random 32-bit values (splitmix32 of the byte), the same in every run so chunks dedup. */
function gearTable(): Int32Array {
  const table = new Int32Array(256);
  let state = 0x9e3779b9;
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    table[i] = z ^ (z >>> 16);
  }
  return table;
}

/** Linear memory of the scan module: the gear table at 0, the running hash, then the bytes to scan. */
const HASH_AT = 1024;
const DATA_AT = 2048;
/** Bytes copied into the module's memory per call. */
const SEGMENT = 1024 * 1024;

/**
 * Builds `scan(i, warmEnd, end, hash) → cut`: runs the gear hash over the bytes at DATA_AT + [i, end),
 * checking for a cut only from `warmEnd` on; returns the index just after the cut byte, or -1,
 * and leaves the hash at HASH_AT. WebAssembly runs this byte loop about 4× faster than V8's JS.
 */
function buildScanModule(): Uint8Array<ArrayBuffer> {
  const [I, WARM_END, END, HASH] = [0, 1, 2, 3];
  // hash = (hash << 1) + gear[data[i]]; i += 1
  const step = code(
    op.get(HASH), op.c32(1), op.shl32, op.get(I), op.load8u(DATA_AT), op.c32(2), op.shl32, op.load32(0), op.add32, op.set(HASH),
    op.get(I), op.c32(1), op.add32, op.set(I),
  );
  const body = code(
    op.block, op.loop, op.get(I), op.get(WARM_END), op.geU32, op.brIf(1), step, op.br(0), op.end, op.end,
    op.block, op.block, op.loop,
    op.get(I), op.get(END), op.geU32, op.brIf(2),
    step,
    op.get(HASH), op.c32(CUT_MASK), op.and32, op.eqz32, op.brIf(1),
    op.br(0), op.end, op.end,
    op.c32(0), op.get(HASH), op.store32(HASH_AT), op.get(I), op.return, op.end,
    op.c32(0), op.get(HASH), op.store32(HASH_AT), op.c32(-1),
  );
  return assembleModule({ fn: 'scan', params: [I32, I32, I32, I32], results: [I32], locals: [], body, pages: Math.ceil((DATA_AT + SEGMENT) / 65536) });
}

interface ScanModule {
  scan: (i: number, warmEnd: number, end: number, hash: number) => number;
  bytes: Uint8Array;
  hash: Int32Array;
}

let scanModule: ScanModule | null = null;

function scanner(): ScanModule {
  if (!scanModule) {
    const exports = new WebAssembly.Instance(new WebAssembly.Module(buildScanModule()), {}).exports as { scan: ScanModule['scan']; mem: WebAssembly.Memory };
    new Int32Array(exports.mem.buffer, 0, 256).set(gearTable());
    scanModule = { scan: exports.scan, bytes: new Uint8Array(exports.mem.buffer), hash: new Int32Array(exports.mem.buffer, HASH_AT, 1) };
  }
  return scanModule;
}

/**
 * Finds a cut point in `buf[from, to)` given the running hash; returns the index just after the
 * cut byte (or -1) and the updated hash. Bytes before `checkFrom` only warm the hash up.
 */
function scan(buf: Uint8Array, from: number, to: number, hash: number, checkFrom: number): { cut: number; hash: number } {
  const module = scanner();
  let h = hash;
  for (let at = from; at < to; at += SEGMENT) {
    const end = Math.min(to, at + SEGMENT);
    module.bytes.set(buf.subarray(at, end), DATA_AT);
    const warmEnd = Math.min(end - at, Math.max(0, checkFrom - at));
    const cut = module.scan(0, warmEnd, end - at, h);
    h = module.hash[0] as number;
    if (cut >= 0) return { cut: at + cut, hash: h };
  }
  return { cut: -1, hash: h };
}

/**
 * The chunker's state between pieces of a stream: `push` each piece as it arrives and collect the
 * chunks it completes, then `end`. Plain synchronous code (no generator around the byte loop),
 * which V8 optimises far better; each returned Buffer is a copy the caller may keep.
 */
export class Chunker {
  /** `allocate` gives the Buffer each chunk is copied into (a SealPool's recycled memory, by default a new one). */
  constructor(private readonly allocate: (length: number) => Buffer = (length) => Buffer.allocUnsafe(length)) {}

  private parts: Uint8Array[] = [];
  /** Bytes in the current chunk so far. */
  private length = 0;
  private hash = 0;

  push(piece: Uint8Array): Buffer[] {
    const chunks: Buffer[] = [];
    let start = 0;
    while (start < piece.length) {
      const remaining = piece.length - start;
      // Position (in this piece) where hashing starts, where a cut becomes legal, and the forced cut.
      const hashFrom = Math.max(start, start + (MIN_CHUNK - WARMUP - this.length));
      const checkFrom = start + (MIN_CHUNK - 1 - this.length);
      const limit = Math.min(piece.length, start + (MAX_CHUNK - this.length));
      let cut = -1;
      if (hashFrom < limit) {
        const found = scan(piece, hashFrom, limit, this.hash, checkFrom);
        this.hash = found.hash;
        cut = found.cut;
      }
      if (cut === -1 && limit - start + this.length === MAX_CHUNK) cut = limit;
      if (cut === -1) {
        this.parts.push(piece.subarray(start));
        this.length += remaining;
        break;
      }
      this.parts.push(piece.subarray(start, cut));
      chunks.push(this.join(this.length + (cut - start)));
      this.parts = [];
      this.length = 0;
      this.hash = 0;
      start = cut;
    }
    return chunks;
  }

  /** The last, possibly short, chunk; null if the stream ended on a cut. */
  end(): Buffer | null {
    if (this.length === 0) return null;
    const last = this.join(this.length);
    this.parts = [];
    this.length = 0;
    return last;
  }

  /** Copies the pending parts into one buffer of `length` bytes from `allocate`. */
  private join(length: number): Buffer {
    const out = this.allocate(length);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/**
 * Splits a byte stream into content-defined chunks. Each yielded Buffer is a copy the caller may
 * keep, made in memory from `allocate` when given.
 */
export async function* chunkStream(input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, allocate?: (length: number) => Buffer): AsyncGenerator<Buffer> {
  const chunker = new Chunker(allocate);
  for await (const raw of input) {
    const piece = raw instanceof Uint8Array ? raw : Buffer.from(raw as string);
    yield* chunker.push(piece);
  }
  const last = chunker.end();
  if (last) yield last;
}

/** Chunks a buffer already in memory (small sidecar files). */
export async function* chunkBuffer(data: Buffer): AsyncGenerator<Buffer> {
  yield* chunkStream([data]);
}
