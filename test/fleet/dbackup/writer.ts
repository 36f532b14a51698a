// DBackup's write path, rebuilt for tests from the spec (dbackup.md §2.2, §3.1–3.3, §3.5): payload →
// gzip (Node defaults) or brotli (quality 10) → AES-256-GCM with the master key used directly and a
// random 16-byte IV (tag kept for the sidecar) → SHA-256 and MD5 of the final bytes → sidecar with
// JSON.stringify(…, null, 2). With the samples' IVs it reproduces the samples byte for byte
// (test/unit/dbackup-samples.test.ts checks that). Also: the v1 multi-DB TAR and a v2 seekable archive.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { archiveNonce, deriveArchiveKeys } from '../../../src/main/formats/gcm';

/** The samples' master key and profile id (test/fixtures/dbackup/README.md). */
export const SAMPLE_KEY_HEX = '920ce81f1f50362981876baeb0f6646a71c591cfe38d835e06cdc476873b0833';
export const SAMPLE_PROFILE_ID = 'c9df6ad5d0e212794651ce7bf';

/** How DBackup compresses a whole file. */
export type WriterCompression = 'GZIP' | 'BROTLI' | null;

/** The stored bytes of a payload and the secrets the sidecar records. */
export interface EncodedPayload {
  stored: Buffer;
  iv: Buffer | null;
  authTag: Buffer | null;
}

/** Compresses, then encrypts when a key is given (iv random unless given). */
export function encodePayload(plaintext: Buffer, options: { compression: WriterCompression; key?: Buffer | null; iv?: Buffer }): EncodedPayload {
  const compressed = options.compression === 'GZIP'
    ? gzipSync(plaintext)
    : options.compression === 'BROTLI'
      ? brotliCompressSync(plaintext, { params: { [constants.BROTLI_PARAM_QUALITY]: 10 } })
      : plaintext;
  if (!options.key) return { stored: compressed, iv: null, authTag: null };
  const iv = options.iv ?? randomBytes(16);
  const cipher = createCipheriv('aes-256-gcm', options.key, iv);
  const stored = Buffer.concat([cipher.update(compressed), cipher.final()]);
  return { stored, iv, authTag: cipher.getAuthTag() };
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

/** DBackup's default file name: `{job_name}_yyyy-MM-dd_HH-mm-ss` (UTC) + extensions; non-[a-z0-9] → `_`. */
export function dbackupFileName(jobName: string, at: Date, ext: string, compression: WriterCompression, encrypted: boolean): string {
  const stamp = at.toISOString().replace(/\.\d{3}Z$/, '').replace('T', '_').replace(/:/g, '-');
  return `${jobName.replace(/[^a-zA-Z0-9]/g, '_')}_${stamp}.${ext}${compression === 'GZIP' ? '.gz' : compression === 'BROTLI' ? '.br' : ''}${encrypted ? '.enc' : ''}`;
}

/** A config backup's file name: `config_backup_<ISO, : and . → ->.json.gz[.enc]`. */
export function configFileName(at: Date, encrypted: boolean): string {
  return `config_backup_${at.toISOString().replace(/[:.]/g, '-')}.json.gz${encrypted ? '.enc' : ''}`;
}

/** Facts of a database backup's sidecar. */
export interface DatabaseSidecarInput {
  jobName: string;
  sourceName?: string;
  sourceType?: string;
  databases: string[];
  engineVersion?: string;
  at: Date;
  fileName: string;
  compression: WriterCompression;
  profileId?: string | null;
  multiDb?: boolean;
  trigger?: { type: 'Manual' | 'Scheduler' | 'Api'; actor?: string };
}

/** `BackupMetadata` as 03-upload.ts writes it, for an encoded payload. */
export function databaseSidecar(input: DatabaseSidecarInput, encoded: EncodedPayload): Record<string, unknown> {
  return {
    version: 1,
    jobId: `job-${input.jobName.replace(/\W/g, '').toLowerCase()}`,
    jobName: input.jobName,
    sourceName: input.sourceName ?? 'Test Postgres',
    sourceType: input.sourceType ?? 'postgres',
    sourceId: 'src-1',
    databases: { count: input.databases.length, names: input.databases },
    engineVersion: input.engineVersion ?? '15',
    timestamp: input.at.toISOString(),
    originalFileName: input.fileName,
    ...(input.compression ? { compression: input.compression } : {}),
    ...(encoded.iv && encoded.authTag ? { encryption: { enabled: true, profileId: input.profileId ?? SAMPLE_PROFILE_ID, algorithm: 'aes-256-gcm', iv: encoded.iv.toString('hex'), authTag: encoded.authTag.toString('hex') } } : {}),
    checksum: sha256(encoded.stored),
    checksumMd5: md5(encoded.stored),
    ...(input.multiDb ? { multiDb: { format: 'tar', databases: input.databases } } : {}),
    backupType: 'full',
    trigger: input.trigger ?? { type: 'Scheduler' },
    locked: false,
  };
}

/** A config backup's sidecar as config-runner.ts writes it (no checksum). */
export function configSidecar(fileName: string, encoded: EncodedPayload, at: Date, profileId: string | null = SAMPLE_PROFILE_ID): Record<string, unknown> {
  return {
    version: '1.0',
    originalName: fileName.replace(/\.gz(\.enc)?$/, ''),
    size: encoded.stored.length,
    compression: 'GZIP',
    ...(encoded.iv && encoded.authTag ? { encryption: { enabled: true, profileId, algorithm: 'aes-256-gcm', iv: encoded.iv.toString('hex'), authTag: encoded.authTag.toString('hex') } } : {}),
    encryptionProfileId: encoded.iv ? profileId : null,
    sourceType: 'SYSTEM',
    createdAt: at.toISOString(),
  };
}

/** Serialises a sidecar as DBackup does. */
export const sidecarText = (sidecar: Record<string, unknown>): string => JSON.stringify(sidecar, null, 2);

/** Members of a plain ustar TAR, in order. */
export async function tarOf(members: { name: string; data: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (chunk: unknown) => {
      chunks.push(chunk as Buffer);
    });
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const member of members) {
    await new Promise<void>((resolve, reject) => pack.entry({ name: member.name, size: member.data.length, mtime: new Date(0) }, member.data, (error) => (error ? reject(error) : resolve())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A v1 multi-DB TAR: manifest.json first, then `<db>.dump` per database (tar-utils.ts). */
export async function multiDbTar(databases: { name: string; dump: Buffer }[], options: { engineVersion?: string; manifest?: Record<string, unknown> } = {}): Promise<Buffer> {
  const manifest = options.manifest ?? {
    version: 1,
    createdAt: new Date().toISOString(),
    sourceType: 'postgres',
    engineVersion: options.engineVersion ?? '15',
    databases: databases.map((d) => ({ name: d.name, filename: `${d.name}.dump`, size: d.dump.length, format: 'custom' })),
    totalSize: databases.reduce((n, d) => n + d.dump.length, 0),
  };
  return tarOf([{ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest, null, 2)) }, ...databases.map((d) => ({ name: `${d.name}.dump`, data: d.dump }))]);
}

/** Where each member's payload starts in a ustar TAR (headers walked as DBackup's tar-blocks.ts does). */
export function payloadOffsets(archive: Buffer): Map<string, number> {
  const offsets = new Map<string, number>();
  let at = 0;
  while (at + 512 <= archive.length) {
    const header = archive.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (from: number, to: number): string => header.subarray(from, to).toString('latin1').replace(/\0.*$/s, '');
    const prefix = field(345, 500);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const size = parseInt(field(124, 136).trim() || '0', 8);
    offsets.set(name, at + 512);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return offsets;
}

/** One database of a v2 archive; `nativeCompression`: the dump compressed itself (pg_dump -Z), so the entry is stored as-is. */
export interface SeekableDatabaseInput {
  name: string;
  dump: Buffer;
  format?: 'custom' | 'sql';
  nativeCompression?: boolean;
}

/**
 * A v2 seekable archive as DBackup's src/lib/archive/writer.ts makes one: manifest.json first,
 * one member per entry (compress, then seal with the HKDF data key and nonce prefix ‖ ordinal,
 * tag appended), files ≤ 64 KiB bundled into ~4 MiB entries when encrypted, and the index last
 * (NDJSON lines h, e, db, d, f; gzipped; sealed with the index key and ordinal 0 when encrypted).
 */
export async function seekableArchive(input: {
  databases: SeekableDatabaseInput[];
  files: { src: string; path: string; data: Buffer }[];
  key?: Buffer | null;
  profileId?: string;
  compression?: 'GZIP' | 'BROTLI' | null;
  archiveName?: string;
}): Promise<{ tar: Buffer; index: Buffer; manifest: Record<string, unknown> }> {
  const encrypted = Boolean(input.key);
  const compression = input.compression === undefined ? 'GZIP' : input.compression;
  const kdfSalt = randomBytes(32).toString('hex');
  const noncePrefix = randomBytes(4).toString('hex');
  const keys = input.key ? deriveArchiveKeys(input.key, kdfSalt) : null;
  const seal = (key: Buffer, ordinal: number, plain: Buffer): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', key, archiveNonce(noncePrefix, ordinal), { authTagLength: 16 });
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  };
  const compress = (data: Buffer, comp: 'GZIP' | 'BROTLI' | null): Buffer => (comp === 'GZIP' ? gzipSync(data) : comp === 'BROTLI' ? brotliCompressSync(data) : data);
  const extension = (comp: 'GZIP' | 'BROTLI' | null): string => (comp === 'GZIP' ? '.gz' : comp === 'BROTLI' ? '.br' : '');
  const members: { name: string; data: Buffer }[] = [];
  const entryLines: Record<string, unknown>[] = [];
  const dbLines: Record<string, unknown>[] = [];
  const fileLines: Record<string, unknown>[] = [];
  let ordinal = 0;
  const addEntry = (realPath: string, plain: Buffer, comp: 'GZIP' | 'BROTLI' | null, bundle = false): number => {
    ordinal++;
    const payload = compress(plain, comp);
    const stored = keys ? seal(keys.data, ordinal, payload) : payload;
    const member = encrypted ? `d/${String(ordinal).padStart(6, '0')}` : `${realPath}${extension(comp)}`;
    members.push({ name: member, data: stored });
    entryLines.push({ k: 'e', n: ordinal, member, off: 0, size: stored.length, ...(encrypted ? { sealed: true } : {}), ...(comp ? { comp } : {}), ...(bundle ? { bundle: true } : {}) });
    return ordinal;
  };
  for (const db of input.databases) {
    const format = db.format ?? 'custom';
    const n = addEntry(`databases/${db.name}.${format === 'custom' ? 'dump' : 'sql'}`, db.dump, db.nativeCompression === false ? compression : null);
    dbLines.push({ k: 'db', name: db.name, format, n, s: db.dump.length });
  }
  const mtime = '2026-11-24T02:00:00.000Z';
  const sources = [...new Set(input.files.map((f) => f.src))];
  for (const src of sources) {
    const files = input.files.filter((f) => f.src === src);
    let bundle: typeof files = [];
    const flush = (): void => {
      if (bundle.length === 0) return;
      const n = addEntry('', Buffer.concat(bundle.map((f) => f.data)), compression, true);
      let o = 0;
      for (const f of bundle) {
        fileLines.push({ k: 'f', src, p: f.path, s: f.data.length, m: mtime, h: sha256(f.data), n, o, l: f.data.length });
        o += f.data.length;
      }
      bundle = [];
    };
    for (const file of files) {
      if (encrypted && file.data.length <= 64 * 1024) {
        bundle.push(file);
        if (bundle.reduce((sum, f) => sum + f.data.length, 0) >= 4 * 1024 * 1024) flush();
        continue;
      }
      const n = addEntry(`sources/${src}/${file.path}`, file.data, compression);
      fileLines.push({ k: 'f', src, p: file.path, s: file.data.length, m: mtime, h: sha256(file.data), n });
    }
    flush();
  }
  const directoryLines = sources.map((src) => {
    const files = input.files.filter((f) => f.src === src);
    return { k: 'd', src, label: `SFTP: /srv/${src}`, fileCount: files.length, totalSize: files.reduce((sum, f) => sum + f.data.length, 0), excludePatterns: [] };
  });
  const manifest = {
    version: 2,
    createdAt: new Date().toISOString(),
    sourceType: input.databases.length > 0 ? 'postgres' : 'directory-only',
    engineVersion: '15',
    compression: compression ?? 'NONE',
    ...(keys ? { encryption: { algorithm: 'aes-256-gcm', kdfSalt, noncePrefix, profileId: input.profileId ?? SAMPLE_PROFILE_ID } } : {}),
    ...(entryLines.some((e) => e.bundle) ? { bundled: true } : {}),
    counts: { databases: input.databases.length, directorySources: sources.length, files: input.files.length, entries: ordinal },
    totalSize: [...input.databases.map((d) => d.dump.length), ...input.files.map((f) => f.data.length)].reduce((a, b) => a + b, 0),
    indexMember: 'index',
  };
  const head = [{ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest, null, 2)) }, ...members];
  // The offsets come from a header walk of what was written, as DBackup's pass 2 finds them.
  const offsets = payloadOffsets(await tarOf(head));
  for (const line of entryLines) line.off = offsets.get(line.member as string);
  const lines = [{ k: 'h', v: 2, createdAt: manifest.createdAt, archive: input.archiveName ?? 'backup.tar' }, ...entryLines, ...dbLines, ...directoryLines, ...fileLines];
  const indexPlain = gzipSync(Buffer.from(lines.map((l) => `${JSON.stringify(l)}\n`).join('')));
  const index = keys ? seal(keys.index, 0, indexPlain) : indexPlain;
  const archive = await tarOf([...head, { name: 'index', data: index }]);
  return { tar: archive, index, manifest };
}
