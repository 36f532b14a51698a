/**
 * Reading a v2 seekable archive for preview: one pass over the stored TAR (hashing it on the way)
 * keeps the cleartext `manifest.json` (first member) and the `index` (last member), and opens
 * every data member on the way: unsealed with the HKDF data key and its ordinal's nonce when the
 * archive is encrypted (tag appended, checked at the member's end), decompressed per the index's
 * `comp`, a Postgres custom dump read for its TOC, a directory file hashed against the index.
 * The index is known before the data members only from the `.index` sidecar (a copy of the last
 * member); without it an entry's compression is told from the name (unencrypted) or the gzip
 * magic, and which database it holds from the index at the end.
 */
import { createHash } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import { LifeboatError } from '../../../shared/errors';
import {
  archiveNonce, deriveArchiveKeys, inflateStages, parseSeekableManifest, readPayload, readSeekableIndex, SealedEntryDecipher,
  typedInflateError, type KeyRef, type PayloadCompression, type SeekableEntry, type SeekableIndex, type SeekableManifest,
} from '../../formats/gcm';
import { DecompressBudget } from '../../formats/decompress-budget';
import { readPgDumpToc, type PgDumpArchive } from '../../formats/pgdump';
import type { Sidecar } from '../adapter';
import type { KeyResolver } from '../module';
import { masterKeyFor } from './keys';
import { peek } from './contents';
import { indexNameFor } from './sidecar';
import { readCapped, walkTar } from './tar-walk';

/** What one data member held. */
export interface SeekableEntryRead {
  member: string;
  /** The nonce counter (from the index, or the opaque name `d/000001`); null when unknown. */
  ordinal: number | null;
  storedBytes: number;
  /** True: the GCM tag matched; false: it did not; null: the archive is not encrypted (or the entry was not opened). */
  authenticated: boolean | null;
  /** Why the entry could not be read (wrong key, damage, bad compression); null when it read cleanly. */
  problem: string | null;
  /** The TOC, for a Postgres custom dump. */
  toc: PgDumpArchive | null;
  /** SHA-256 of the whole plaintext, when it was read to its end (files, not dumps). */
  sha256: string | null;
}

/** One database of the archive, as the index names it, with what its entry held. */
export interface SeekableDatabaseRead {
  name: string;
  format: string | null;
  size: number | null;
  entry: SeekableEntryRead | null;
  problem: string | null;
}

/** What a v2 archive showed. */
export interface SeekableContents {
  members: number;
  manifest: SeekableManifest | null;
  manifestProblem: string | null;
  index: SeekableIndex | null;
  indexProblem: string | null;
  /** Whether the `.index` sidecar is byte-identical to the last member; null when one of them is missing. */
  indexMatchesSidecar: boolean | null;
  /** The typed error behind `indexProblem` (a wrong key is KEY_REQUIRED with reason wrong-key). */
  indexFailure: LifeboatError | null;
  /** Every data member, in archive order. */
  entries: SeekableEntryRead[];
  /** The index's databases with their entries (empty without an index). */
  databases: SeekableDatabaseRead[];
  /** Directory files whose SHA-256 the index records and whose entry was read: how many matched, and the first that did not. */
  fileHashes: { checked: number; mismatched: string[] };
  /** The first typed failure of an entry (a wrong key asks for another). */
  entryFailure: LifeboatError | null;
}

const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_INDEX_BYTES = 64 * 1024 * 1024;
const SNIFF_BYTES = 5;

/** The compression an unencrypted member's name says (`databases/x.dump.gz`). */
function compressionOfName(member: string): PayloadCompression {
  return member.endsWith('.gz') ? 'gzip' : member.endsWith('.br') ? 'brotli' : 'none';
}

/** The ordinal of an opaque member name (`d/000042` → 42). */
function ordinalOfName(member: string): number | null {
  const match = /^d\/(\d{1,12})$/.exec(member);
  return match ? Number(match[1]) : null;
}

/** Reads a plaintext: a PGDMP dump for its TOC, anything else hashed to its end. Unknown compression: gzip is told by its magic. */
async function readPlaintext(plain: Readable, label: string, sniffGzip: boolean, budget: DecompressBudget, signal: AbortSignal | undefined): Promise<{ toc: PgDumpArchive | null; sha256: string | null }> {
  const { head, whole: again } = await peek(plain, SNIFF_BYTES);
  if (sniffGzip && head[0] === 0x1f && head[1] === 0x8b) {
    const inflated = pipeline([again, ...inflateStages('gzip', budget)], () => undefined) as unknown as Readable;
    try {
      return await readPlaintext(inflated, label, false, budget, signal);
    } catch (error) {
      throw typedInflateError(error, label, 'gzip');
    } finally {
      inflated.destroy();
    }
  }
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') return { toc: await readPgDumpToc(again, { scanData: true, label, ...(signal ? { signal } : {}) }), sha256: null };
  const hash = createHash('sha256');
  for await (const chunk of again as AsyncIterable<Buffer>) hash.update(chunk);
  return { toc: null, sha256: hash.digest('hex') };
}

interface Prepared {
  manifest: SeekableManifest;
  keys: { data: Buffer; ref: KeyRef } | null;
  /** Entry lines by member name, from the `.index` sidecar when it came and opened. */
  early: Map<string, SeekableEntry> | null;
}

/** Reads a v2 archive to its end; only a missing key throws (KEY_REQUIRED), a wrong one or a fault comes back as a problem. */
export async function readSeekableContents(stream: Readable, fileName: string, sidecars: readonly Sidecar[], keys: KeyResolver, options: { signal?: AbortSignal } = {}): Promise<SeekableContents> {
  let manifestText: string | null = null;
  let indexMember: Buffer | null = null;
  let walkProblem: string | null = null;
  let members = 0;
  const sidecar = sidecars.find((s) => s.name === indexNameFor(fileName))?.content ?? null;
  const entries: SeekableEntryRead[] = [];
  let entryFailure: LifeboatError | null = null;
  let master: { key: Buffer; ref: KeyRef } | null = null;
  let prepared: Prepared | null | undefined;
  // One budget for the whole archive: each entry is a block of it, and all of them count towards its total.
  const budget = new DecompressBudget(fileName);

  // Once, before the first data member: the manifest, the keys, and the index from the sidecar.
  const prepare = async (): Promise<Prepared | null> => {
    if (prepared !== undefined) return prepared;
    prepared = null;
    if (manifestText === null) return null;
    let manifest: SeekableManifest;
    try {
      manifest = parseSeekableManifest(manifestText, `${fileName}: manifest.json`);
    } catch {
      return null;
    }
    const encryption = manifest.encryption ?? null;
    if (encryption) master = await masterKeyFor(keys, encryption.profileId, fileName);
    let early: Map<string, SeekableEntry> | null = null;
    if (sidecar) {
      try {
        early = new Map(readSeekableIndex(sidecar, manifest, master?.key ?? null, fileName).entryLines.map((e) => [e.member, e]));
      } catch {
        early = null;
      }
    }
    const derived = encryption && master ? { data: deriveArchiveKeys(master.key, encryption.kdfSalt).data, ref: master.ref } : null;
    prepared = { manifest, keys: derived, early };
    return prepared;
  };

  const readEntry = async (name: string, body: Readable): Promise<void> => {
    const ready = await prepare();
    if (!ready) {
      for await (const chunk of body) void chunk;
      return;
    }
    const known = ready.early?.get(name) ?? null;
    const encryption = ready.manifest.encryption ?? null;
    const ordinal = known?.n ?? (encryption ? ordinalOfName(name) : null);
    const compression: PayloadCompression | null = known ? known.comp : encryption ? null : compressionOfName(name);
    const label = `${fileName}: ${name}`;
    budget.startBlock(label);
    const read: SeekableEntryRead = { member: name, ordinal, storedBytes: 0, authenticated: null, problem: null, toc: null, sha256: null };
    entries.push(read);
    if (encryption && (ordinal === null || !ready.keys)) {
      read.problem = 'its ordinal is unknown (neither an opaque d/NNNNNN name nor an index line), so its nonce is too';
      for await (const chunk of body) void chunk;
      return;
    }
    const decipher = encryption && ready.keys && ordinal !== null
      ? new SealedEntryDecipher(ready.keys.data, archiveNonce(encryption.noncePrefix, ordinal), { label, compression: compression ?? 'none', keyRef: ready.keys.ref })
      : undefined;
    const outcome = await readPayload(body, {
      label,
      secrets: null,
      ...(decipher ? { decipher } : {}),
      compression: compression ?? 'none',
      budget,
      ...(options.signal ? { signal: options.signal } : {}),
      read: (plain) => readPlaintext(plain, label, compression === null, budget, options.signal),
    });
    read.storedBytes = outcome.storedBytes;
    read.authenticated = outcome.authenticated;
    const failure = outcome.decryptError ?? outcome.readError;
    if (failure) {
      if (failure.code === 'CANCELLED') throw failure;
      read.problem = failure.message;
      entryFailure ??= failure;
      // A bomb ends the whole walk: the archive is not read further.
      if (outcome.stopped) throw failure;
    } else if (outcome.value) {
      read.toc = outcome.value.toc;
      read.sha256 = outcome.value.sha256;
    }
  };

  try {
    const walked = await walkTar(stream, fileName, (member) => {
      if (member.index === 0 && member.name === 'manifest.json') {
        return async (body) => {
          manifestText = (await readCapped(body, MAX_MANIFEST_BYTES, `${fileName}: manifest.json`)).toString('utf8');
        };
      }
      // The index is the last member; an earlier member named so is replaced by a later one.
      if (member.name === 'index') {
        return async (body) => {
          indexMember = await readCapped(body, MAX_INDEX_BYTES, `${fileName}: index`);
        };
      }
      if (member.index === 0) return null;
      return (body) => readEntry(member.name, body);
    });
    members = walked.length;
  } catch (error) {
    if (!(error instanceof LifeboatError) || error.code === 'CANCELLED' || error.code === 'KEY_REQUIRED') throw error;
    walkProblem = error.message;
  }
  const result: SeekableContents = {
    members, manifest: null, manifestProblem: null, index: null, indexProblem: null, indexMatchesSidecar: null, indexFailure: null,
    entries, databases: [], fileHashes: { checked: 0, mismatched: [] }, entryFailure,
  };
  if (manifestText === null) {
    result.manifestProblem = walkProblem ?? `${fileName} does not start with manifest.json: it is not a DBackup v2 archive`;
    return result;
  }
  try {
    result.manifest = parseSeekableManifest(manifestText, `${fileName}: manifest.json`);
  } catch (error) {
    if (!(error instanceof LifeboatError)) throw error;
    result.manifestProblem = error.message;
    return result;
  }
  const member = indexMember as Buffer | null;
  if (member && sidecar) result.indexMatchesSidecar = member.equals(sidecar);
  const index = member ?? sidecar;
  if (!index) {
    result.indexProblem = walkProblem ?? `${fileName} has no index member and no ${indexNameFor(fileName)} came with it`;
    return result;
  }
  const encryption = result.manifest.encryption ?? null;
  const key = encryption ? ((master as { key: Buffer; ref: KeyRef } | null) ?? (await masterKeyFor(keys, encryption.profileId, fileName))) : null;
  try {
    result.index = readSeekableIndex(index, result.manifest, key?.key ?? null, fileName, key ? { keyRef: key.ref } : {});
  } catch (error) {
    if (!(error instanceof LifeboatError)) throw error;
    result.indexProblem = error.message;
    result.indexFailure = error;
  }
  if (walkProblem) result.indexProblem ??= walkProblem;
  if (result.index) matchIndex(result, result.index);
  return result;
}

/** Pairs the index's databases and file hashes with the entries read. */
function matchIndex(result: SeekableContents, index: SeekableIndex): void {
  const byMember = new Map(result.entries.map((e) => [e.member, e]));
  const memberOf = new Map(index.entryLines.map((e) => [e.n, e.member]));
  const entryOf = (n: number | null): SeekableEntryRead | null => {
    if (n === null) return null;
    const name = memberOf.get(n);
    return (name ? byMember.get(name) : undefined) ?? result.entries.find((e) => e.ordinal === n) ?? null;
  };
  result.databases = index.databases.map((db) => {
    const entry = entryOf(db.entry);
    const problem = !entry ? `the index puts it in entry ${db.entry ?? '?'}, which the archive does not hold` : entry.problem ?? (db.format === 'custom' && !entry.toc ? 'its entry is not a pg_dump custom archive' : null);
    return { name: db.name, format: db.format, size: db.size, entry, problem };
  });
  for (const [n, file] of index.fileHashes) {
    const entry = entryOf(n);
    if (!entry?.sha256) continue;
    result.fileHashes.checked++;
    if (entry.sha256 !== file.sha256) result.fileHashes.mismatched.push(file.path);
  }
}
