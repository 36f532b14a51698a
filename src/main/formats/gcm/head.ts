/**
 * What the first KiB of a decrypted backup looks like. DBackup's smart recovery
 * (`src/services/restore/smart-recovery.ts`) tries a key on the first 1 KiB and accepts it when
 * the bytes start with a known magic (gzip, PGDMP, ustar, SQLite, REDIS) or are mostly printable
 * text; random bytes (a wrong key) pass neither. Lifeboat uses the same test, and a sharper one
 * when the compression is known: gzip must start 1f 8b 08, brotli must begin to decode.
 */
import { brotliDecompressSync, constants } from 'node:zlib';

/** How a payload is compressed as a whole before encryption. */
export type PayloadCompression = 'gzip' | 'brotli' | 'none';

/** How many plaintext bytes the head test looks at (DBackup's 1 KiB). */
export const HEAD_BYTES = 1024;

/** What the head test found. */
export interface HeadVerdict {
  /** The bytes look like what a right key gives. */
  plausible: boolean;
  /** A wrong-looking head is only proof of a wrong key when the compression is known. */
  confident: boolean;
  /** What the bytes are, in words ("gzip stream", "random-looking bytes"…). */
  what: string;
}

const MAGICS: { what: string; at: number; bytes: Buffer }[] = [
  { what: 'gzip stream', at: 0, bytes: Buffer.from([0x1f, 0x8b]) },
  { what: 'pg_dump custom archive', at: 0, bytes: Buffer.from('PGDMP', 'latin1') },
  { what: 'tar archive', at: 257, bytes: Buffer.from('ustar', 'latin1') },
  { what: 'SQLite database', at: 0, bytes: Buffer.from('SQLite format 3\u0000', 'latin1') },
  { what: 'Redis RDB snapshot', at: 0, bytes: Buffer.from('REDIS', 'latin1') },
  // Beyond DBackup's list: mongodump --archive and SQL Server's MTF media header.
  { what: 'mongodump archive', at: 0, bytes: Buffer.from([0x6d, 0xe2, 0x99, 0x81]) },
  { what: 'SQL Server backup', at: 0, bytes: Buffer.from('TAPE', 'latin1') },
];

/** A known magic at the start of `head`, or null. */
export function knownMagic(head: Buffer): string | null {
  for (const magic of MAGICS) {
    if (head.length >= magic.at + magic.bytes.length && head.subarray(magic.at, magic.at + magic.bytes.length).equals(magic.bytes)) return magic.what;
  }
  return null;
}

/** Share of printable ASCII (and tab, CR, LF) in `bytes`. */
function printableShare(bytes: Buffer): number {
  if (bytes.length === 0) return 0;
  let printable = 0;
  for (const byte of bytes) if ((byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d) printable++;
  return printable / bytes.length;
}

/** DBackup's test on uncompressed bytes: a known magic, or more than 70 % printable. */
function judgeRaw(head: Buffer): { plausible: boolean; what: string } {
  const magic = knownMagic(head);
  if (magic) return { plausible: true, what: magic };
  const share = printableShare(head);
  return share > 0.7 ? { plausible: true, what: 'text' } : { plausible: false, what: `binary bytes (${Math.round(share * 100)} % printable)` };
}

/** Judges the first bytes of a decrypted payload; `isEnd` when they are the whole payload. */
export function judgeHead(head: Buffer, compression: PayloadCompression): HeadVerdict {
  const bytes = head.subarray(0, HEAD_BYTES);
  if (bytes.length === 0) return { plausible: true, confident: false, what: 'an empty payload' };
  if (compression === 'gzip') {
    const ok = bytes.length >= 3 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 0x08;
    return ok ? { plausible: true, confident: true, what: 'gzip stream' } : { plausible: false, confident: bytes.length >= 3, what: `bytes starting ${bytes.subarray(0, 4).toString('hex')}, no gzip header` };
  }
  if (compression === 'brotli') {
    let decoded: Buffer;
    try {
      // FLUSH instead of FINISH: a prefix of a good stream decodes without "unexpected end".
      decoded = brotliDecompressSync(bytes, { finishFlush: constants.BROTLI_OPERATION_FLUSH, maxOutputLength: 64 * HEAD_BYTES });
    } catch (error) {
      // More than 64 KiB out of 1 KiB in is a valid (very compressible) stream; anything else is not brotli.
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return { plausible: true, confident: true, what: 'a brotli stream' };
      return { plausible: false, confident: true, what: 'not a brotli stream' };
    }
    // Random bytes decode without an error now and then (about 1 in 8), but not into a magic or text.
    if (decoded.length < 32) return { plausible: false, confident: false, what: `a brotli prefix that decodes to only ${decoded.length} bytes` };
    const inner = judgeRaw(decoded);
    return { plausible: inner.plausible, confident: inner.plausible, what: inner.plausible ? `brotli stream of ${inner.what}` : `brotli-decodable ${inner.what}` };
  }
  const raw = judgeRaw(bytes);
  // Uncompressed payloads of other engines (gbak, some binary dumps) have no magic DBackup knows.
  return { ...raw, confident: false };
}
