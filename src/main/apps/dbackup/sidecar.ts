/**
 * DBackup's `<file>.meta.json` sidecars (spec dbackup.md §2.4, §3.2): the database-backup shape
 * (`BackupMetadata`, `version: 1`), the config-backup shape (`version: "1.0"`, `sourceType:
 * "SYSTEM"`), and the legacy flat shape of early 2026 (`encryption: "AES-256-GCM"|"NONE"` with
 * top-level `iv`, `authTag`, `encryptionProfileId`). Every field DBackup writes is typed strictly
 * (hex lengths, enums); fields a later DBackup adds are kept and named, not refused, so a newer
 * sidecar does not quarantine every pull. Errors name the sidecar and the field.
 */
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';
import type { Sidecar } from '../adapter';

/** The name of a backup's sidecar. */
export const sidecarNameFor = (fileName: string): string => `${fileName}.meta.json`;
/** The name of a v2 archive's index sidecar. */
export const indexNameFor = (fileName: string): string => `${fileName}.index`;

/** Sidecars above this size are not DBackup's (they are a few hundred bytes). */
export const MAX_SIDECAR_BYTES = 1024 * 1024;

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `must be ${bytes * 2} hex digits (${bytes} bytes)`);
const optionalText = z.string().nullish();
const compression = z.enum(['GZIP', 'BROTLI', 'NONE']).nullish();

const encryptionObject = z.strictObject({
  enabled: z.boolean(),
  profileId: z.string().min(1).nullish(),
  algorithm: z.literal('aes-256-gcm'),
  iv: hex(16).nullish(),
  authTag: hex(16).nullish(),
});

const triggerSchema = z.looseObject({ type: z.string(), actor: optionalText });

/** Fields both DBackup writers share. */
const common = {
  compression,
  encryptionProfileId: optionalText,
};

const databaseSidecar = z.looseObject({
  ...common,
  version: z.literal(1),
  jobId: optionalText,
  jobName: optionalText,
  sourceName: optionalText,
  sourceType: z.string().min(1),
  sourceId: optionalText,
  databases: z.union([z.strictObject({ count: z.number().int().min(0), names: z.array(z.string()).optional() }), z.array(z.string())]).optional(),
  engineVersion: optionalText,
  engineEdition: optionalText,
  timestamp: optionalText,
  originalFileName: optionalText,
  checksum: hex(32).nullish(),
  checksumMd5: hex(16).nullish(),
  multiDb: z.strictObject({ format: z.literal('tar'), databases: z.array(z.string()) }).optional(),
  combined: z.unknown().optional(),
  archive: z.looseObject({
    formatVersion: z.literal(2),
    indexFile: z.string(),
    encrypted: z.boolean(),
    profileId: optionalText,
    kdfSalt: hex(32).nullish(),
    noncePrefix: hex(4).nullish(),
    compression: optionalText,
    bundled: z.boolean().optional(),
    files: z.number().int().min(0).optional(),
  }).optional(),
  backupType: z.enum(['full', 'incremental']).nullish(),
  chain: z.unknown().optional(),
  logicalSize: z.number().min(0).optional(),
  trigger: triggerSchema.nullish(),
  locked: z.boolean().optional(),
  verification: z.looseObject({ verifiedAt: z.string(), passed: z.boolean(), trigger: z.unknown().optional(), actualChecksum: optionalText }).optional(),
});

const configSidecar = z.looseObject({
  ...common,
  version: z.literal('1.0'),
  originalName: z.string().min(1),
  size: z.number().int().min(0),
  sourceType: z.literal('SYSTEM'),
  createdAt: optionalText,
});

/** The legacy flat shape's own fields (builds of 2026-01-30 before 7045267d). */
const legacyFlat = {
  encryption: z.enum(['AES-256-GCM', 'NONE']),
  iv: hex(16).nullish(),
  authTag: hex(16).nullish(),
};

const KNOWN_FIELDS = new Set([...Object.keys(databaseSidecar.shape), ...Object.keys(configSidecar.shape), 'encryption', 'iv', 'authTag']);

/** How a backup is encrypted, as its sidecar says. */
export interface SidecarEncryption {
  profileId: string | null;
  /** Null when the sidecar names none: the file cannot be decrypted. */
  iv: Buffer | null;
  authTag: Buffer | null;
}

/** A parsed sidecar, one shape for both writers and both layouts. */
export interface DbackupSidecar {
  /** The sidecar's file name. */
  name: string;
  kind: 'database' | 'config';
  shape: 'current' | 'legacy-flat';
  /** The stored file's name as the sidecar records it (config backups: the JSON's name). */
  recordedName: string | null;
  /** Stored size (config sidecars only). */
  size: number | null;
  compression: 'gzip' | 'brotli' | 'none';
  encryption: SidecarEncryption | null;
  sha256: string | null;
  md5: string | null;
  createdAt: string | null;
  jobId: string | null;
  jobName: string | null;
  sourceName: string | null;
  sourceType: string;
  engineVersion: string | null;
  engineEdition: string | null;
  databases: string[] | null;
  databaseCount: number | null;
  /** Database names of a v1 multi-DB TAR. */
  multiDb: string[] | null;
  /** A v2 seekable archive's facts. */
  archive: { encrypted: boolean; profileId: string | null; indexFile: string; files: number | null } | null;
  backupType: string | null;
  trigger: { type: string; actor: string | null } | null;
  locked: boolean | null;
  verification: { verifiedAt: string; passed: boolean } | null;
  /** Top-level fields this reader does not know (a newer DBackup). */
  unknownFields: string[];
}

function invalid(name: string, field: string, message: string): LifeboatError {
  return new LifeboatError('ARCHIVE_INVALID', `${name} is not a valid DBackup sidecar: ${field ? `${field} ${message}` : message}.`, { details: { sidecar: name, field: field || null } });
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, name: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') ?? '';
  throw invalid(name, field, issue?.message.replace(/^Invalid input: /, '') ?? 'is invalid');
}

const buffer = (hexText: string | null | undefined): Buffer | null => (hexText ? Buffer.from(hexText, 'hex') : null);
const lower = (hexText: string | null | undefined): string | null => (hexText ? hexText.toLowerCase() : null);
const compressionOf = (value: 'GZIP' | 'BROTLI' | 'NONE' | null | undefined): DbackupSidecar['compression'] => (value === 'GZIP' ? 'gzip' : value === 'BROTLI' ? 'brotli' : 'none');

/** Parses a sidecar's text; ARCHIVE_INVALID names the sidecar and the first bad field. */
export function parseDbackupSidecar(text: string, name: string): DbackupSidecar {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(name, '', `it is not JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid(name, '', 'it is not a JSON object');
  const raw = json as Record<string, unknown>;
  const legacy = typeof raw.encryption === 'string';
  const isConfig = raw.sourceType === 'SYSTEM' || raw.version === '1.0';
  const base = isConfig ? configSidecar : databaseSidecar;
  const schema = (legacy ? base.extend(legacyFlat) : base.extend({ encryption: encryptionObject.nullish() })) as z.ZodType<Record<string, unknown>>;
  const parsed = parseWith(schema, raw, name);

  let encryption: SidecarEncryption | null = null;
  if (legacy) {
    if (parsed.encryption === 'AES-256-GCM') encryption = { profileId: (parsed.encryptionProfileId as string | null | undefined) ?? null, iv: buffer(parsed.iv as string | null), authTag: buffer(parsed.authTag as string | null) };
  } else {
    const current = parsed.encryption as z.infer<typeof encryptionObject> | null | undefined;
    if (current?.enabled) encryption = { profileId: current.profileId ?? (parsed.encryptionProfileId as string | null | undefined) ?? null, iv: buffer(current.iv), authTag: buffer(current.authTag) };
  }

  const unknownFields = Object.keys(raw).filter((key) => !KNOWN_FIELDS.has(key));
  const shared = {
    name,
    shape: legacy ? ('legacy-flat' as const) : ('current' as const),
    compression: compressionOf(parsed.compression as 'GZIP' | 'BROTLI' | 'NONE' | null | undefined),
    encryption,
    unknownFields,
  };
  if (isConfig) {
    const config = parsed as z.infer<typeof configSidecar>;
    return {
      ...shared,
      kind: 'config',
      recordedName: config.originalName,
      size: config.size,
      sha256: null,
      md5: null,
      createdAt: config.createdAt ?? null,
      jobId: null,
      jobName: null,
      sourceName: null,
      sourceType: 'SYSTEM',
      engineVersion: null,
      engineEdition: null,
      databases: null,
      databaseCount: null,
      multiDb: null,
      archive: null,
      backupType: null,
      trigger: null,
      locked: null,
      verification: null,
    };
  }
  const db = parsed as z.infer<typeof databaseSidecar>;
  const databases = Array.isArray(db.databases) ? db.databases : (db.databases?.names ?? null);
  const databaseCount = Array.isArray(db.databases) ? db.databases.length : (db.databases?.count ?? null);
  return {
    ...shared,
    kind: 'database',
    recordedName: db.originalFileName ?? null,
    size: null,
    sha256: lower(db.checksum),
    md5: lower(db.checksumMd5),
    createdAt: db.timestamp ?? null,
    jobId: db.jobId ?? null,
    jobName: db.jobName ?? null,
    sourceName: db.sourceName ?? null,
    sourceType: db.sourceType,
    engineVersion: db.engineVersion ?? null,
    engineEdition: db.engineEdition ?? null,
    databases,
    databaseCount,
    multiDb: db.multiDb?.databases ?? null,
    archive: db.archive ? { encrypted: db.archive.encrypted, profileId: db.archive.profileId ?? null, indexFile: db.archive.indexFile, files: db.archive.files ?? null } : null,
    backupType: db.backupType ?? null,
    trigger: db.trigger ? { type: db.trigger.type, actor: db.trigger.actor ?? null } : null,
    locked: db.locked ?? null,
    verification: db.verification ? { verifiedAt: db.verification.verifiedAt, passed: db.verification.passed } : null,
  };
}

/** The sidecar of a file among those that came with it, parsed, or why there is none. */
export interface SidecarLookup {
  sidecar: DbackupSidecar | null;
  /** The raw sidecar file, when one came (parsed or not). */
  file: Sidecar | null;
  /** Why `sidecar` is null: missing, or invalid (the typed error). */
  problem: LifeboatError | null;
}

/** Finds and parses `<fileName>.meta.json` among `sidecars`. */
export function findSidecar(fileName: string, sidecars: readonly Sidecar[]): SidecarLookup {
  const expected = sidecarNameFor(fileName);
  const file = sidecars.find((s) => s.name === expected) ?? null;
  if (!file) {
    return { sidecar: null, file: null, problem: new LifeboatError('ARCHIVE_INVALID', `No ${expected} came with ${fileName}.`, { details: { sidecar: expected, field: null, reason: 'no-sidecar' } }) };
  }
  if (file.content.length > MAX_SIDECAR_BYTES) return { sidecar: null, file, problem: invalid(expected, '', `it is ${file.content.length} bytes, far more than a sidecar`) };
  try {
    return { sidecar: parseDbackupSidecar(file.content.toString('utf8'), expected), file, problem: null };
  } catch (error) {
    if (!(error instanceof LifeboatError)) throw error;
    return { sidecar: null, file, problem: error };
  }
}
