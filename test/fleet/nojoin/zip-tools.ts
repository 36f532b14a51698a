// Raw ZIP reading and writing for tests: archiver cleans member names (no "..", no leading "/"),
// so hostile archives — zip slip, absolute and backslash names, symlinks, data descriptors — are
// written here byte by byte, after APPNOTE.TXT §4.3.
import { deflateRawSync, crc32 } from 'node:zlib';
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
    const method = member.method ?? 8;
    const body = method === 8 ? deflateRawSync(data) : data;
    const crc = member.forceCrc ?? crc32(data);
    const name = Buffer.from(member.name, 'utf8');
    const flags = 0x800 | (member.dataDescriptor ? 0x8 : 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(member.dataDescriptor ? 0 : crc, 14);
    local.writeUInt32LE(member.dataDescriptor ? 0 : body.length, 18);
    local.writeUInt32LE(member.dataDescriptor ? 0 : data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const descriptor = Buffer.alloc(member.dataDescriptor ? 16 : 0);
    if (member.dataDescriptor) {
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc, 4);
      descriptor.writeUInt32LE(body.length, 8);
      descriptor.writeUInt32LE(data.length, 12);
    }
    locals.push(local, name, body, descriptor);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
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
