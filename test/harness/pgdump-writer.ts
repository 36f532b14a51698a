// A small writer of pg_dump custom archives (1.14–1.16) and of zstd frames, for hostile inputs the
// real pg_dump never writes: the layout follows ../shared/specs/pgdump-custom-format.md (header §4,
// TOC §5, data blocks §6) and RFC 8878 (zstd frames). Data entries are written with their offsets
// not set (flag 1), as a piped pg_dump does, so the reader finds blocks by walking them.

/** One TOC entry; the fields the writer does not get are what pg_dump writes for a table. */
export interface WriterEntry {
  dumpId: number;
  desc: string;
  tag: string;
  namespace?: string | null;
  defn?: string | null;
  /** A definition whose length field says this many bytes, with none of them written (the file lies). */
  defnClaim?: number;
  copyStmt?: string | null;
  section?: 1 | 2 | 3 | 4;
  dependencies?: number[];
  /** The stored chunk payload of the entry's data block (already compressed); no data block when absent. */
  data?: Buffer;
}

/** What to write. */
export interface WriterDump {
  minor?: 14 | 15 | 16;
  compression?: 'none' | 'gzip' | 'zstd';
  entries: WriterEntry[];
  /** The entry count the TOC claims (default: the number of entries). */
  countClaim?: number;
}

function pgInt(value: number): Buffer {
  const out = Buffer.alloc(5);
  out[0] = value < 0 ? 1 : 0;
  out.writeUInt32LE(Math.abs(value), 1);
  return out;
}

function pgStr(value: string | null | undefined): Buffer {
  if (value === null || value === undefined) return pgInt(-1);
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([pgInt(bytes.length), bytes]);
}

/** The archive's bytes: header, TOC, then one data block per entry with data, in TOC order. */
export function writePgDump(dump: WriterDump): Buffer {
  const minor = dump.minor ?? 15;
  const compression = dump.compression ?? 'zstd';
  const parts: Buffer[] = [Buffer.from('PGDMP', 'latin1'), Buffer.from([1, minor, 0, 4, 8, 1])];
  if (minor >= 15) parts.push(Buffer.from([{ none: 0, gzip: 1, zstd: 3 }[compression]]));
  else parts.push(pgInt(compression === 'none' ? 0 : -1));
  for (const value of [59, 16, 13, 23, 10, 126, 0]) parts.push(pgInt(value));
  parts.push(pgStr('hostile'), pgStr('16.4'), pgStr('16.4'));
  parts.push(pgInt(dump.countClaim ?? dump.entries.length));
  for (const entry of dump.entries) parts.push(...tocEntry(entry, minor));
  for (const entry of dump.entries) {
    if (!entry.data) continue;
    parts.push(Buffer.from([1]), pgInt(entry.dumpId));
    if (entry.data.length > 0) parts.push(pgInt(entry.data.length), entry.data);
    parts.push(pgInt(0));
  }
  return Buffer.concat(parts);
}

function tocEntry(entry: WriterEntry, minor: number): Buffer[] {
  const isTable = entry.desc === 'TABLE';
  const out: Buffer[] = [
    pgInt(entry.dumpId), pgInt(entry.data ? 1 : 0), pgStr('0'), pgStr(String(16_000 + entry.dumpId)),
    pgStr(entry.tag), pgStr(entry.desc), pgInt(entry.section ?? (entry.data ? 3 : 2)),
  ];
  if (entry.defnClaim !== undefined) out.push(pgInt(entry.defnClaim));
  else out.push(pgStr(entry.defn ?? (isTable ? `CREATE TABLE public.${entry.tag} (id integer);` : '')));
  out.push(pgStr(null), pgStr(entry.copyStmt ?? null), pgStr(entry.namespace === undefined ? 'public' : entry.namespace), pgStr(isTable ? '' : null));
  if (minor >= 14) out.push(pgStr(isTable ? 'heap' : null));
  if (minor >= 16) out.push(pgInt(isTable ? 114 : 0));
  out.push(pgStr('postgres'), pgStr('false'));
  for (const dep of entry.dependencies ?? []) out.push(pgStr(String(dep)));
  out.push(pgInt(-1));
  const offset = Buffer.alloc(9);
  offset[0] = entry.data ? 1 : 3;
  out.push(offset);
  return out;
}

/** A table and its TABLE DATA entry holding `data` (COPY mode). */
export function tableWithData(dumpId: number, tag: string, data: Buffer): WriterEntry[] {
  return [
    { dumpId, desc: 'TABLE', tag },
    { dumpId: dumpId + 1, desc: 'TABLE DATA', tag, defn: '', copyStmt: `COPY public.${tag} (id) FROM stdin;\n`, dependencies: [dumpId], data },
  ];
}

/** Options of a zstd frame made of RLE blocks. */
export interface RleFrame {
  /** Bytes the frame decodes to (a multiple of `blockBytes` is simplest). */
  bytes: number;
  /** The byte repeated. */
  byte?: number;
  /** Output of each RLE block (at most 128 KiB in a valid frame). */
  blockBytes?: number;
  /** The window the frame header declares; omitted: a single-segment frame whose window is its content size. */
  windowBytes?: number;
  /** The content size the header declares (default `bytes`; null: not declared). */
  declared?: number | null;
}

/**
 * One zstd frame of RLE blocks: tiny (4 bytes per block) however much it decodes to. The frame
 * header follows RFC 8878 §3.1.1.1: a window descriptor unless single-segment, then the content size.
 */
export function zstdRleFrame(frame: RleFrame): Buffer {
  const blockBytes = frame.blockBytes ?? 128 * 1024;
  const declared = frame.declared === undefined ? frame.bytes : frame.declared;
  const singleSegment = frame.windowBytes === undefined;
  if (singleSegment && declared === null) throw new Error('a single-segment frame declares its content size');
  // Frame_Content_Size_flag 3 (8 bytes) whenever a size is declared, else 0 (none; needs a window descriptor).
  const fcsFlag = declared === null ? 0 : 3;
  const header: number[] = [0x28, 0xb5, 0x2f, 0xfd, (fcsFlag << 6) | (singleSegment ? 0x20 : 0)];
  if (!singleSegment) header.push(windowDescriptor(frame.windowBytes as number));
  const out: Buffer[] = [Buffer.from(header)];
  if (declared !== null) {
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(declared));
    out.push(size);
  }
  let left = frame.bytes;
  while (left > 0) {
    const size = Math.min(blockBytes, left);
    left -= size;
    // Block header: Last_Block bit, Block_Type 1 (RLE) in bits 1–2, Block_Size in the upper 21 bits.
    const value = (left === 0 ? 1 : 0) | (1 << 1) | (size << 3);
    out.push(Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, frame.byte ?? 0x0a]));
  }
  return Buffer.concat(out);
}

/** The window descriptor byte for a window of `bytes` (a power of two from 1 KiB, or 1/8 steps between). */
function windowDescriptor(bytes: number): number {
  for (let exponent = 0; exponent < 32; exponent += 1) {
    const base = 2 ** (10 + exponent);
    for (let mantissa = 0; mantissa < 8; mantissa += 1) {
      if (base + (base / 8) * mantissa === bytes) return (exponent << 3) | mantissa;
    }
  }
  throw new Error(`no window descriptor gives ${bytes} bytes`);
}
