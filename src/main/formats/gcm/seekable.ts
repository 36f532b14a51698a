/**
 * DBackup's seekable archive, manifest v2 (spec dbackup.md §3.5; no sample exists, so this
 * follows the spec's summary of `src/lib/archive/*`): a plain TAR whose first member is a
 * cleartext `manifest.json` and whose last member `index` is gzipped NDJSON, sealed with AES-256-GCM
 * when the archive is encrypted. Keys come from the profile master key by HKDF-SHA256 (salt
 * `kdfSalt`, info `dbackup/archive/v2/data|index`); the 12-byte nonce is `noncePrefix ‖ uint64 BE
 * ordinal` (0 = index, data from 1); a sealed entry is ciphertext ‖ 16-byte tag.
 */
import { createDecipheriv, hkdfSync, type DecipherGCM } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';
import { badCompressionError, bombError, corruptError, finishDecipher, wrongKeyError, type KeyRef } from './errors';
import { HEAD_BYTES, judgeHead, type HeadVerdict, type PayloadCompression } from './head';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `${bytes * 2} hex digits (${bytes} bytes)`);
const count = z.number().int().min(0);

const manifestSchema = z.looseObject({
  version: z.literal(2),
  createdAt: z.string(),
  chain: z.looseObject({ id: z.string(), type: z.string(), base: z.string().nullish(), index: z.number().int().min(0) }).optional(),
  sourceType: z.string(),
  engineVersion: z.string().nullish(),
  compression: z.string().nullish(),
  encryption: z.strictObject({ algorithm: z.literal('aes-256-gcm'), kdfSalt: hex(32), noncePrefix: hex(4), profileId: z.string().min(1) }).nullish(),
  bundled: z.boolean().optional(),
  counts: z.looseObject({ databases: count, directorySources: count, files: count, entries: count, symlinks: count.optional() }),
  totalSize: count,
  indexMember: z.literal('index'),
});

/** The cleartext manifest of a v2 archive. */
export type SeekableManifest = z.infer<typeof manifestSchema>;

/** Parses `manifest.json` of a v2 archive; ARCHIVE_INVALID names the first bad field. */
export function parseSeekableManifest(text: string, source: string): SeekableManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LifeboatError('ARCHIVE_INVALID', `${source} is not JSON: ${(error as Error).message}.`, { details: { field: null } });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join('.') ?? '';
    throw new LifeboatError('ARCHIVE_INVALID', `${source} is not a DBackup v2 manifest: ${field || 'the top level'}: ${issue?.message ?? 'invalid'}.`, { details: { field } });
  }
  return parsed.data;
}

/** The data and index keys of an encrypted v2 archive. */
export function deriveArchiveKeys(masterKey: Buffer, kdfSaltHex: string): { data: Buffer; index: Buffer } {
  const salt = Buffer.from(kdfSaltHex, 'hex');
  const derive = (info: string): Buffer => Buffer.from(hkdfSync('sha256', masterKey, salt, Buffer.from(info, 'utf8'), 32));
  return { data: derive('dbackup/archive/v2/data'), index: derive('dbackup/archive/v2/index') };
}

/** The 12-byte nonce of entry `ordinal` (0 is the index). */
export function archiveNonce(noncePrefixHex: string, ordinal: number): Buffer {
  const nonce = Buffer.alloc(12);
  Buffer.from(noncePrefixHex, 'hex').copy(nonce, 0, 0, 4);
  nonce.writeBigUInt64BE(BigInt(ordinal), 4);
  return nonce;
}

const TAG_BYTES = 16;

/**
 * Opens one sealed entry (ciphertext ‖ tag). `expectGzip`: the plaintext is a gzip stream, which
 * tells a wrong key (random head) from a damaged entry (right head, bad tag).
 */
export function openSealed(key: Buffer, nonce: Buffer, sealed: Buffer, label: string, expectGzip: boolean, keyRef?: KeyRef): Buffer {
  if (sealed.length < TAG_BYTES) throw corruptError(label, `a sealed entry of ${sealed.length} bytes is shorter than its 16-byte tag`);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const plain = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([plain, decipher.final()]);
  } catch {
    const head = judgeHead(plain, expectGzip ? 'gzip' : 'none');
    if (!head.plausible) throw wrongKeyError(label, `the sealed entry decrypts to ${head.what}`, keyRef);
    throw corruptError(label, 'the authentication tag of a sealed entry does not match');
  }
}

/**
 * Streaming `openSealed` for a data entry: the last 16 bytes of the member are the tag, so they
 * are held back until the end. Plaintext flows out untrusted until `authenticated` is true; the
 * head of the plaintext tells a wrong key (random bytes) from a damaged entry (a bad tag).
 */
export class SealedEntryDecipher extends Transform {
  private readonly decipher: DecipherGCM;
  private tail = Buffer.alloc(0);
  private head: Buffer[] = [];
  private headBytes = 0;
  private verdict: HeadVerdict | null = null;
  authenticated: boolean | null = null;

  constructor(key: Buffer, nonce: Buffer, private readonly options: { label: string; compression: PayloadCompression; keyRef?: KeyRef }) {
    super();
    this.decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  }

  get headVerdict(): HeadVerdict | null {
    return this.verdict;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const all = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    if (all.length <= TAG_BYTES) {
      this.tail = Buffer.from(all);
      return done();
    }
    this.tail = Buffer.from(all.subarray(all.length - TAG_BYTES));
    const out = this.decipher.update(all.subarray(0, all.length - TAG_BYTES));
    if (this.verdict === null) {
      this.head.push(out);
      this.headBytes += out.length;
      if (this.headBytes >= HEAD_BYTES) this.judge();
    }
    done(null, out);
  }

  override _flush(done: TransformCallback): void {
    if (this.tail.length < TAG_BYTES) {
      this.authenticated = false;
      return done(corruptError(this.options.label, `the sealed entry is shorter than its ${TAG_BYTES}-byte tag`));
    }
    if (this.verdict === null) this.judge();
    this.decipher.setAuthTag(this.tail);
    const end = finishDecipher(this.decipher, this.verdict, this.options, {
      wrongKey: (what) => `the sealed entry decrypts to ${what}`,
      corrupt: () => 'the authentication tag of the sealed entry does not match',
    });
    if ('error' in end) {
      this.authenticated = false;
      return done(end.error);
    }
    this.authenticated = true;
    done(null, end.rest);
  }

  private judge(): void {
    this.verdict = judgeHead(Buffer.concat(this.head), this.options.compression);
    this.head = [];
  }
}

/** A physical entry of a v2 index (`k: "e"`). */
export interface SeekableEntry {
  n: number;
  member: string;
  /** Archive holding the bytes; null: this one. */
  archive: string | null;
  size: number | null;
  sealed: boolean;
  comp: PayloadCompression;
  bundle: boolean;
}

/** One database of a v2 index. */
export interface SeekableDatabase {
  name: string;
  format: string | null;
  entry: number | null;
  size: number | null;
}

/** One directory source of a v2 index, with what its file lines add up to. */
export interface SeekableDirectory {
  id: string;
  label: string | null;
  files: number;
  bytes: number;
}

/** What a v2 index says. */
export interface SeekableIndex {
  header: Record<string, unknown> | null;
  entries: number;
  /** The entry lines of this archive's own entries (not those carried from earlier archives). */
  entryLines: SeekableEntry[];
  /** SHA-256 of the plaintext per own, unbundled entry ordinal, from the file lines that name one. */
  fileHashes: Map<number, { path: string; sha256: string }>;
  databases: SeekableDatabase[];
  directories: SeekableDirectory[];
  files: number;
  fileBytes: number;
  /** Lines whose `k` this reader does not know (or that were not objects). */
  otherLines: number;
}

/** Caps of an index: its unpacked size and line count. */
export interface IndexLimits {
  maxBytes: number;
  maxLines: number;
}

const DEFAULT_INDEX_LIMITS: IndexLimits = { maxBytes: 256 * 1024 * 1024, maxLines: 5_000_000 };

const text = z.string();
const size = z.number().min(0);
const dbLine = z.looseObject({ k: z.literal('db'), name: text, format: text.nullish(), n: z.number().int().nullish(), s: size.nullish() });
const dirLine = z.looseObject({ k: z.literal('d') });
const entryLine = z.looseObject({ k: z.literal('e'), n: z.number().int().min(0), member: text, a: text.nullish(), size: size.nullish(), sealed: z.unknown().optional(), comp: text.nullish(), bundle: z.unknown().optional() });

/** An entry's `comp` (DBackup writes GZIP / BROTLI; absent: stored as-is). */
function compressionOf(comp: string | null | undefined): PayloadCompression {
  const upper = comp?.toUpperCase();
  return upper === 'GZIP' ? 'gzip' : upper === 'BROTLI' ? 'brotli' : 'none';
}
const fileLine = z.looseObject({ k: z.literal('f'), src: z.union([text, z.number()]), p: text, s: size, h: text.optional(), n: z.number().int().optional(), a: text.nullish(), o: z.number().optional(), l: z.number().optional() });

/** Reads the `index` member: unseals it (key needed when the manifest says encrypted), gunzips (capped), parses the NDJSON. */
export function readSeekableIndex(member: Buffer, manifest: SeekableManifest, masterKey: Buffer | null, label: string, options: { keyRef?: KeyRef; limits?: Partial<IndexLimits> } = {}): SeekableIndex {
  const limits = { ...DEFAULT_INDEX_LIMITS, ...options.limits };
  let gzipped = member;
  if (manifest.encryption) {
    if (!masterKey) throw new LifeboatError('INTERNAL', `${label}: the index of an encrypted archive needs the key.`);
    const keys = deriveArchiveKeys(masterKey, manifest.encryption.kdfSalt);
    gzipped = openSealed(keys.index, archiveNonce(manifest.encryption.noncePrefix, 0), member, `${label} (index)`, true, options.keyRef);
  }
  let ndjson: Buffer;
  try {
    ndjson = gunzipSync(gzipped, { maxOutputLength: limits.maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw bombError(`${label} (index)`, `more than ${limits.maxBytes} bytes`, limits.maxBytes);
    throw badCompressionError(`${label} (index)`, 'gzip', error);
  }
  return parseIndexLines(ndjson.toString('utf8'), label, limits.maxLines);
}

function parseIndexLines(body: string, label: string, maxLines: number): SeekableIndex {
  const index: SeekableIndex = { header: null, entries: 0, entryLines: [], fileHashes: new Map(), databases: [], directories: [], files: 0, fileBytes: 0, otherLines: 0 };
  const directories = new Map<string, SeekableDirectory>();
  const directory = (id: string): SeekableDirectory => {
    let found = directories.get(id);
    if (!found) directories.set(id, (found = { id, label: null, files: 0, bytes: 0 }));
    return found;
  };
  let lines = 0;
  for (const line of body.split('\n')) {
    if (line.trim() === '') continue;
    if (++lines > maxLines) throw new LifeboatError('ARCHIVE_INVALID', `${label}: the index has more than ${maxLines} lines.`, { details: { limit: maxLines } });
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new LifeboatError('ARCHIVE_INVALID', `${label}: index line ${lines} is not JSON.`, { details: { line: lines } });
    }
    const kind = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as { k?: unknown }).k : undefined;
    if (kind === 'h') index.header = json as Record<string, unknown>;
    else if (kind === 'e') {
      index.entries++;
      const entry = entryLine.safeParse(json);
      if (!entry.success) throw new LifeboatError('ARCHIVE_INVALID', `${label}: index line ${lines} is an entry line without n and member.`, { details: { line: lines } });
      if (!entry.data.a) index.entryLines.push({ n: entry.data.n, member: entry.data.member, archive: null, size: entry.data.size ?? null, sealed: Boolean(entry.data.sealed), comp: compressionOf(entry.data.comp), bundle: Boolean(entry.data.bundle) });
    }
    else if (kind === 'db') {
      const db = dbLine.safeParse(json);
      if (!db.success) throw new LifeboatError('ARCHIVE_INVALID', `${label}: index line ${lines} is a database line without a name.`, { details: { line: lines } });
      index.databases.push({ name: db.data.name, format: db.data.format ?? null, entry: db.data.n ?? null, size: db.data.s ?? null });
    } else if (kind === 'd' && dirLine.safeParse(json).success) {
      const raw = json as Record<string, unknown>;
      const id = String(raw.id ?? raw.src ?? raw.n ?? directories.size);
      const name = raw.name ?? raw.path ?? raw.label;
      directory(id).label = typeof name === 'string' ? name : null;
    } else if (kind === 'f') {
      const file = fileLine.safeParse(json);
      if (!file.success) throw new LifeboatError('ARCHIVE_INVALID', `${label}: index line ${lines} is a file line without src, p and s.`, { details: { line: lines } });
      index.files++;
      index.fileBytes += file.data.s;
      const { h, n, a, o, l } = file.data;
      if (typeof h === 'string' && typeof n === 'number' && !a && o === undefined && l === undefined) index.fileHashes.set(n, { path: file.data.p, sha256: h.toLowerCase() });
      const dir = directory(String(file.data.src));
      dir.files++;
      dir.bytes += file.data.s;
    } else if (kind !== 'deps') index.otherLines++;
  }
  index.directories = [...directories.values()];
  return index;
}
