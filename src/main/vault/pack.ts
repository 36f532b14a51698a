/**
 * Pack files (spec §6.2): `EncBlob_1 ‖ … ‖ EncBlob_n ‖ EncHeader ‖ HeaderLen(uint32 LE)`.
 * Header entries are 37 bytes (type 0/1: uncompressed) or 41 bytes (type 2/3: zstd, v2 only).
 */
import { webcrypto } from 'node:crypto';
import { LifeboatError } from '../../shared/errors';
import { CRYPTO_OVERHEAD, open, sealInto } from './crypto';
import type { RepoKey } from './crypto';
import type { BlobType, IndexPack } from './repo-index';

/** restic's default target pack size; a pack is closed once it reaches this. */
export const PACK_TARGET_SIZE = 16 * 1024 * 1024;
/** restic's sanity limit for a pack header. */
const MAX_HEADER_SIZE = 16 * 1024 * 1024;
/** restic reads this many bytes from the end first, hoping the whole header is in them. */
export const HEADER_PROBE_SIZE = 15 * 41 + 36;

/**
 * A pack being filled with blobs of one type. Blobs are encrypted straight into one growing
 * buffer, so closing a pack copies nothing; its name (SHA-256) is computed on libuv's thread
 * pool (WebCrypto), off the thread that reads and chunks the archive.
 */
export class PackBuilder {
  private buffer: Buffer;
  private readonly entries: IndexPack['blobs'] = [];
  private bytes = 0;

  /** `reuse`: a buffer of a pack already written (recycled), or a starting capacity in bytes. */
  constructor(
    readonly blobType: BlobType,
    reuse: Buffer | number = blobType === 'data' ? PACK_TARGET_SIZE + 64 * 1024 : 64 * 1024,
  ) {
    this.buffer = typeof reuse === 'number' ? Buffer.allocUnsafe(reuse) : reuse;
  }

  /** Hands the whole underlying buffer over for reuse once the finished pack's bytes are no longer needed. */
  release(): Buffer {
    return this.buffer;
  }

  /** Bytes of blob data so far. */
  get size(): number {
    return this.bytes;
  }

  /** Number of blobs so far. */
  get count(): number {
    return this.entries.length;
  }

  /** Encrypts one blob's plaintext into the pack. */
  add(key: RepoKey, id: string, plaintext: Uint8Array): void {
    this.reserve(plaintext.length + CRYPTO_OVERHEAD);
    this.record(id, sealInto(key, plaintext, this.buffer, this.bytes));
  }

  /** Appends a blob already sealed elsewhere (`IV ‖ ciphertext ‖ MAC`, e.g. by a SealPool worker). */
  addSealed(id: string, sealed: Uint8Array): void {
    this.reserve(sealed.length);
    this.buffer.set(sealed, this.bytes);
    this.record(id, sealed.length);
  }

  /** Lists the `length` sealed bytes just placed at the end in the header. */
  private record(id: string, length: number): void {
    this.entries.push({ id, type: this.blobType, offset: this.bytes, length });
    this.bytes += length;
  }

  /**
   * Closes the pack: its bytes, its name (sha256 of them) and its index entry. The bytes are final
   * when this returns (a new blob may not be added); only the hashing is awaited.
   */
  async finish(key: RepoKey): Promise<{ id: string; data: Buffer; pack: IndexPack }> {
    const header = Buffer.allocUnsafe(this.entries.length * 37);
    this.entries.forEach((e, i) => {
      const at = i * 37;
      header[at] = e.type === 'data' ? 0 : 1;
      header.writeUInt32LE(e.length, at + 1);
      Buffer.from(e.id, 'hex').copy(header, at + 5);
    });
    this.reserve(header.length + CRYPTO_OVERHEAD + 4);
    const start = this.bytes;
    const headerLength = sealInto(key, header, this.buffer, start);
    this.buffer.writeUInt32LE(headerLength, start + headerLength);
    const data = this.buffer.subarray(0, start + headerLength + 4);
    const id = Buffer.from(await webcrypto.subtle.digest('SHA-256', data)).toString('hex');
    return { id, data, pack: { id, blobs: this.entries } };
  }

  private reserve(extra: number): void {
    const needed = this.bytes + extra;
    if (needed <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
    this.buffer.copy(grown, 0, 0, this.bytes);
    this.buffer = grown;
  }
}

/** Parses a pack's header given its last bytes (`tail` = the final `tail.length` bytes of a `size`-byte pack). */
export function parsePackHeader(key: RepoKey, packId: string, size: number, tail: Buffer): { blobs: IndexPack['blobs']; headerLength: number } | { needBytes: number } {
  const bad = (why: string): LifeboatError =>
    new LifeboatError('VAULT_CORRUPT', `Pack ${packId.slice(0, 8)} is damaged: ${why}.`, { details: { packId } });
  if (size < 4 + CRYPTO_OVERHEAD || tail.length < 4) throw bad(`it is only ${size} bytes long`);
  const headerLength = tail.readUInt32LE(tail.length - 4);
  if (headerLength < CRYPTO_OVERHEAD || headerLength > size - 4 || headerLength > MAX_HEADER_SIZE) throw bad(`its header length ${headerLength} is impossible`);
  if (headerLength + 4 > tail.length) return { needBytes: headerLength + 4 };
  const plain = open(key, tail.subarray(tail.length - 4 - headerLength, tail.length - 4), `The header of pack ${packId.slice(0, 8)}`);
  const blobs: IndexPack['blobs'] = [];
  let offset = 0;
  for (let at = 0; at < plain.length; ) {
    const type = plain[at] as number;
    const entrySize = type <= 1 ? 37 : type <= 3 ? 41 : 0;
    if (entrySize === 0) throw bad(`its header names the unknown blob type ${type}`);
    if (at + entrySize > plain.length) throw bad('its header ends in the middle of an entry');
    const length = plain.readUInt32LE(at + 1);
    const blob: IndexPack['blobs'][number] = {
      id: plain.subarray(at + entrySize - 32, at + entrySize).toString('hex'),
      type: type % 2 === 0 ? 'data' : 'tree',
      offset,
      length,
    };
    if (type >= 2) blob.uncompressedLength = plain.readUInt32LE(at + 5);
    blobs.push(blob);
    offset += length;
    at += entrySize;
  }
  if (offset + headerLength + 4 !== size) throw bad(`its blobs and header add up to ${offset + headerLength + 4} bytes but the file has ${size}`);
  return { blobs, headerLength };
}
