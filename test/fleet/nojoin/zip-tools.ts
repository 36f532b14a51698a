// Raw ZIP reading and writing for tests: archiver cleans member names (no "..", no leading "/"),
// so hostile archives — zip slip, absolute and backslash names, symlinks, data descriptors — are
// written here byte by byte, after APPNOTE.TXT §4.3.
import { createDeflateRaw, deflateRawSync, crc32 } from 'node:zlib';
import yauzl from 'yauzl';

/** One member to write. */
export interface RawMember {
  name: string;
  data: Buffer | string;
  /** Stored (0) or DEFLATE (8, the default, as Nojoin writes). */
  method?: 0 | 8;
  /** Unix mode in the upper 16 bits of the external attributes (e.g. 0o120777 for a symlink). */
  unixMode?: number;
  /** Write sizes and CRC in a data descriptor after the data (bit 3), as streaming writers do. */
  dataDescriptor?: boolean;
  /** A CRC-32 to record instead of the real one. */
  forceCrc?: number;
  /** Sizes to record (local and central) instead of the real ones: a lying directory, a claimed bomb. */
  claim?: { compressed?: number; uncompressed?: number };
  /** Data already DEFLATE-compressed (a bomb too big to hold inflated): `data` is then ignored. */
  deflated?: { body: Buffer; crc: number; size: number };
  /** Extra general-purpose bits to set (e.g. 0x1, "encrypted"). */
  extraFlags?: number;
  /** A compression method to record instead of the one used (e.g. 12, bzip2; 99, AES). */
  recordMethod?: number;
}

const DOS_TIME = 0x6a00; // 13:16:00
const DOS_DATE = 0x5b77; // 2025-11-23

/** A ZIP with exactly these members, in this order. */
export function writeRawZip(members: RawMember[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const member of members) {
    const data = Buffer.isBuffer(member.data) ? member.data : Buffer.from(member.data);
    const method = member.deflated ? 8 : (member.method ?? 8);
    const body = member.deflated?.body ?? (method === 8 ? deflateRawSync(data) : data);
    const crc = member.forceCrc ?? member.deflated?.crc ?? crc32(data);
    const name = Buffer.from(member.name, 'utf8');
    const flags = 0x800 | (member.dataDescriptor ? 0x8 : 0) | (member.extraFlags ?? 0);
    const recordedMethod = member.recordMethod ?? method;
    const compressedSize = member.claim?.compressed ?? body.length;
    const uncompressedSize = member.claim?.uncompressed ?? member.deflated?.size ?? data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(recordedMethod, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(member.dataDescriptor ? 0 : crc, 14);
    local.writeUInt32LE(member.dataDescriptor ? 0 : compressedSize, 18);
    local.writeUInt32LE(member.dataDescriptor ? 0 : uncompressedSize, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const descriptor = Buffer.alloc(member.dataDescriptor ? 16 : 0);
    if (member.dataDescriptor) {
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc, 4);
      descriptor.writeUInt32LE(compressedSize, 8);
      descriptor.writeUInt32LE(uncompressedSize, 12);
    }
    locals.push(local, name, body, descriptor);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(recordedMethod, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressedSize, 20);
    central.writeUInt32LE(uncompressedSize, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((member.unixMode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + body.length + descriptor.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Every member of a ZIP, uncompressed, in central-directory order (names unchecked). */
export async function readRawZip(zip: Buffer): Promise<{ name: string; data: Buffer }[]> {
  const file = await yauzl.fromBufferPromise(zip, { lazyEntries: true, decodeStrings: true, strictFileNames: false });
  const members: { name: string; data: Buffer }[] = [];
  for await (const entry of file.eachEntry()) {
    const chunks: Buffer[] = [];
    for await (const chunk of await file.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
    members.push({ name: entry.fileName, data: Buffer.concat(chunks) });
  }
  return members;
}

/** The members of `zip` changed by `edit` (return null to drop one) and written again. */
export async function rewriteZip(zip: Buffer, edit: (member: { name: string; data: Buffer }) => RawMember | null, extra: RawMember[] = []): Promise<Buffer> {
  const members = (await readRawZip(zip)).map(edit).filter((m): m is RawMember => m !== null);
  return writeRawZip([...members, ...extra]);
}

/** Offset of a member's compressed data in `zip` (from its local header). */
export function memberDataOffset(zip: Buffer, name: string): { offset: number; length: number } {
  const nameBytes = Buffer.from(name);
  for (let at = zip.indexOf(0x50); at >= 0 && at + 30 <= zip.length; at = zip.indexOf(0x50, at + 1)) {
    if (zip.readUInt32LE(at) !== 0x04034b50) continue;
    const nameLength = zip.readUInt16LE(at + 26);
    const extraLength = zip.readUInt16LE(at + 28);
    if (nameLength === nameBytes.length && zip.subarray(at + 30, at + 30 + nameLength).equals(nameBytes)) {
      return { offset: at + 30 + nameLength + extraLength, length: zip.readUInt32LE(at + 18) };
    }
  }
  throw new Error(`no local header for ${name}`);
}

/**
 * A ZIP whose central directory lists `count` empty stored members, all pointing at the one local
 * header at offset 0, ended by a Zip64 end record (the classic one holds at most 65 535 entries):
 * the listing of a million-member archive, built in one buffer without writing a million files.
 */
export function centralDirectoryOnlyZip(count: number, nameOf: (index: number) => string = (i) => `recordings/${String(i).padStart(7, '0')}.opus`): Buffer {
  const first = Buffer.from(count > 0 ? nameOf(0) : '', 'utf8');
  const localSize = 30 + first.length;
  let directorySize = 0;
  for (let i = 0; i < count; i++) directorySize += 46 + Buffer.byteLength(nameOf(i));
  const out = Buffer.alloc(localSize + directorySize + 56 + 20 + 22);
  out.writeUInt32LE(0x04034b50, 0);
  out.writeUInt16LE(20, 4);
  out.writeUInt16LE(0x800, 6);
  out.writeUInt16LE(DOS_TIME, 10);
  out.writeUInt16LE(DOS_DATE, 12);
  out.writeUInt16LE(first.length, 26);
  first.copy(out, 30);
  let at = localSize;
  for (let i = 0; i < count; i++) {
    const length = out.write(nameOf(i), at + 46, 'utf8');
    out.writeUInt32LE(0x02014b50, at);
    out.writeUInt16LE((3 << 8) | 45, at + 4);
    out.writeUInt16LE(45, at + 6);
    out.writeUInt16LE(0x800, at + 8);
    out.writeUInt16LE(DOS_TIME, at + 12);
    out.writeUInt16LE(DOS_DATE, at + 14);
    out.writeUInt16LE(length, at + 28);
    out.writeUInt32LE((0o100644 << 16) >>> 0, at + 38);
    at += 46 + length;
  }
  const zip64End = at;
  out.writeUInt32LE(0x06064b50, at);
  out.writeBigUInt64LE(44n, at + 4);
  out.writeUInt16LE((3 << 8) | 45, at + 12);
  out.writeUInt16LE(45, at + 14);
  out.writeBigUInt64LE(BigInt(count), at + 24);
  out.writeBigUInt64LE(BigInt(count), at + 32);
  out.writeBigUInt64LE(BigInt(directorySize), at + 40);
  out.writeBigUInt64LE(BigInt(localSize), at + 48);
  at += 56;
  out.writeUInt32LE(0x07064b50, at);
  out.writeBigUInt64LE(BigInt(zip64End), at + 8);
  out.writeUInt32LE(1, at + 16);
  at += 20;
  out.writeUInt32LE(0x06054b50, at);
  out.writeUInt16LE(0xffff, at + 8);
  out.writeUInt16LE(0xffff, at + 10);
  out.writeUInt32LE(0xffffffff, at + 12);
  out.writeUInt32LE(0xffffffff, at + 16);
  return out;
}

/** `bytes` zeros DEFLATE-compressed as they are written (a bomb of ~1/1000 its size), for RawMember.deflated. */
export async function deflatedZeros(bytes: number): Promise<{ body: Buffer; crc: number; size: number }> {
  const zeros = Buffer.alloc(1024 * 1024);
  const deflate = createDeflateRaw();
  const chunks: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => chunks.push(chunk));
  let crc = 0;
  for (let written = 0; written < bytes; written += zeros.length) {
    crc = crc32(zeros, crc);
    if (!deflate.write(zeros)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  await new Promise((resolve) => deflate.end(resolve));
  return { body: Buffer.concat(chunks), crc, size: bytes };
}
