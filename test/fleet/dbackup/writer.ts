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

/** A v2 seekable archive: TAR of manifest.json, entries, index (gzipped NDJSON, sealed when a key is given). */
export async function seekableArchive(input: { databases: { name: string; dump: Buffer }[]; files: { src: string; path: string; data: Buffer }[]; key?: Buffer | null; profileId?: string }): Promise<{ tar: Buffer; index: Buffer; manifest: Record<string, unknown> }> {
  const encrypted = Boolean(input.key);
  const kdfSalt = randomBytes(32).toString('hex');
  const noncePrefix = randomBytes(4).toString('hex');
  const keys = input.key ? deriveArchiveKeys(input.key, kdfSalt) : null;
  const seal = (key: Buffer, ordinal: number, plain: Buffer): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', key, archiveNonce(noncePrefix, ordinal), { authTagLength: 16 });
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  };
  const members: { name: string; data: Buffer }[] = [];
  const lines: Record<string, unknown>[] = [{ k: 'h', v: 2 }];
  let ordinal = 0;
  const addEntry = (plainName: string, data: Buffer): number => {
    ordinal++;
    const body = gzipSync(data);
    const sealed = keys ? seal(keys.data, ordinal, body) : body;
    const member = encrypted ? `d/${String(ordinal).padStart(6, '0')}` : `${plainName}.gz`;
    members.push({ name: member, data: sealed });
    lines.push({ k: 'e', n: ordinal, member, off: 0, size: data.length, sealed: sealed.length, comp: 'gzip', bundle: false });
    return ordinal;
  };
  for (const db of input.databases) {
    const n = addEntry(`databases/${db.name}.dump`, db.dump);
    lines.push({ k: 'db', name: db.name, format: 'custom', n, s: db.dump.length });
  }
  const sources = [...new Set(input.files.map((f) => f.src))];
  for (const src of sources) lines.push({ k: 'd', id: src, name: `/srv/${src}` });
  for (const file of input.files) {
    const n = addEntry(`sources/${file.src}/${file.path}`, file.data);
    lines.push({ k: 'f', src: file.src, p: file.path, s: file.data.length, m: 0o644, h: sha256(file.data), n });
  }
  const indexPlain = gzipSync(Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'));
  const index = keys ? seal(keys.index, 0, indexPlain) : indexPlain;
  const manifest = {
    version: 2,
    createdAt: new Date().toISOString(),
    sourceType: input.databases.length > 0 ? 'postgres' : 'directory-only',
    engineVersion: '15',
    compression: 'GZIP',
    ...(keys ? { encryption: { algorithm: 'aes-256-gcm', kdfSalt, noncePrefix, profileId: input.profileId ?? SAMPLE_PROFILE_ID } } : {}),
    counts: { databases: input.databases.length, directorySources: sources.length, files: input.files.length, entries: ordinal },
    totalSize: [...input.databases.map((d) => d.dump.length), ...input.files.map((f) => f.data.length)].reduce((a, b) => a + b, 0),
    indexMember: 'index',
  };
  const archive = await tarOf([{ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest, null, 2)) }, ...members, { name: 'index', data: index }]);
  return { tar: archive, index, manifest };
}
