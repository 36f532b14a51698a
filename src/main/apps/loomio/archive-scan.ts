/**
 * One pass over a Loomio backup: a Fernet token (verified with the installation's key, decrypted
 * when asked, the plaintext read by the plain pg_dump reader as it comes) or an unencrypted plain
 * dump. What the plaintext said is kept only when the HMAC verified: read while verifying, it is
 * thrown away if the token turns out to be altered or under another key.
 */
import type { Readable } from 'node:stream';
import { LifeboatError } from '../../../shared/errors';
import type { ArchiveAccess, StepContext } from '../adapter';
import { FernetTokenReader, fernetDecryptStream, looksLikeFernetText, type FernetTokenFacts } from '../../formats/fernet';
import { PlainSqlReader, type PlainSqlSummary } from '../../formats/plain-sql';
import { ARCHIVE_KEY_HINT, looksLikeDumpStart, type LoomioKey } from './key';

/** What a scan found. */
export interface LoomioScan {
  encrypted: boolean;
  bytes: number;
  /** The token's facts, once it verified. */
  fernet: FernetTokenFacts | null;
  /** Why the archive cannot be used (bad token, wrong key, cut-off dump), or null. */
  failure: LifeboatError | null;
  /** The dump's contents: only when decrypting (or plain) and nothing failed. */
  sql: PlainSqlSummary | null;
}

/** Options of {@link scanLoomioArchive}. */
export interface ScanOptions {
  /** Decrypt and read the dump too (preview, plan, verify); false: verify the token only (the restore's first pass). */
  readDump: boolean;
  /** The key, asked for only when the archive is encrypted; `head` is the token's first bytes (to tell which key opens it). */
  key(head: Buffer): Promise<LoomioKey>;
}

/** Reads the archive once; never throws for a bad archive (see `failure`), only for cancellation and a missing key. */
export async function scanLoomioArchive(archive: ArchiveAccess, ctx: StepContext, options: ScanOptions): Promise<LoomioScan> {
  const stream = await archive.open();
  const scan: LoomioScan = { encrypted: false, bytes: 0, fernet: null, failure: null, sql: null };
  let token: FernetTokenReader | null = null;
  let key: LoomioKey | null = null;
  let dump: PlainSqlReader | null = null;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (ctx.signal.aborted) throw new LifeboatError('CANCELLED', 'Cancelled by the operator.');
      if (scan.bytes === 0) {
        scan.encrypted = looksLikeFernetText(chunk);
        if (scan.encrypted) {
          key = await options.key(chunk);
          token = new FernetTokenReader({ key: key.key, decrypt: options.readDump, label: archive.fileName, keyVerifiedElsewhere: key.verifiedBefore, keyHint: ARCHIVE_KEY_HINT, recognizePlaintext: looksLikeDumpStart });
        }
        if (options.readDump || !scan.encrypted) dump = new PlainSqlReader({ label: archive.fileName });
      }
      scan.bytes += chunk.length;
      ctx.progress({ phase: scan.encrypted ? 'verifying and decrypting' : 'reading the dump', bytes: scan.bytes, total: archive.size });
      const plain = token ? token.write(chunk) : [chunk];
      for (const piece of plain) dump?.write(piece);
      // A bad token is bad to its end: stop reading it.
      if (token?.failure) break;
    }
  } finally {
    stream.destroy();
  }
  if (token) {
    const outcome = token.finish();
    if (!outcome.ok) return { ...scan, failure: outcome.error };
    scan.fernet = outcome.facts;
    key!.markVerified();
    dump?.write(outcome.plaintextTail);
  } else if (scan.bytes === 0) {
    dump = new PlainSqlReader({ label: archive.fileName });
  }
  if (!dump) return scan;
  try {
    scan.sql = dump.finish();
  } catch (error) {
    if (!(error instanceof LifeboatError)) throw error;
    scan.failure = error;
  }
  if (!scan.failure && !scan.sql?.isPgDump) {
    scan.failure = new LifeboatError('ARCHIVE_INVALID', `${archive.fileName} ${scan.encrypted ? 'decrypts, but not to' : 'is not'} a plain pg_dump script (no "-- PostgreSQL database dump" header).`, { details: { reason: 'not-pg-dump' } });
    scan.sql = null;
  }
  return scan;
}

/**
 * The archive's plaintext as a stream, for a restore after a verifying pass: decrypted when it is
 * a token. The stream errors (typed) if the token does not verify at its end, so a caller must
 * not commit anything before the stream has ended cleanly.
 */
export async function openPlaintext(archive: ArchiveAccess, scan: LoomioScan, key: LoomioKey | null): Promise<Readable> {
  const raw = await archive.open();
  if (!scan.encrypted) return raw;
  if (!key) throw new LifeboatError('INTERNAL', 'An encrypted archive needs its key to be decrypted.');
  const decrypt = fernetDecryptStream({ key: key.key, label: archive.fileName, keyHint: ARCHIVE_KEY_HINT, recognizePlaintext: looksLikeDumpStart });
  raw.on('error', (error) => decrypt.destroy(error));
  return raw.pipe(decrypt);
}
