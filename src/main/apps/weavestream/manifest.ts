/**
 * Weavestream's `weavestream-postgres-<ts>.manifest.json` sidecar (spec weavestream.md §1.4):
 * eight fields written by the worker's `buildManifest()`, 2-space JSON, keys in a fixed order,
 * no trailing newline. The same object is the `manifest` member of the runs API.
 */
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';

/** The dump file name rule: `weavestream-postgres-YYYY-MM-DDTHH-MM-SSZ.dump`. */
export const WEAVESTREAM_DUMP_NAME = /^weavestream-postgres-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)\.dump$/;

/** The manifest's keys in the order the worker writes them. */
export const WEAVESTREAM_MANIFEST_KEYS = [
  'weavestreamVersion',
  'prismaMigrationHash',
  'passwordEncryptionKid',
  'databaseUrlHostname',
  'generatedAt',
  'filename',
  'sizeBytes',
  'sha256',
] as const;

/** Schema of the sidecar; unknown keys are refused (the worker writes exactly these eight). */
export const weavestreamManifestSchema = z.strictObject({
  /** `WEAVESTREAM_VERSION` of the worker image, `"dev"` when unset. */
  weavestreamVersion: z.string().min(1),
  /** `sha256:<64 hex>` over the image's migrations, or `unknown:<reason>` when the worker could not compute it. */
  prismaMigrationHash: z.string().regex(/^(sha256:[0-9a-f]{64}|unknown:.*)$/s, 'must be "sha256:" + 64 lowercase hex or "unknown:<reason>"'),
  /** Raw `PASSWORD_ENCRYPTION_KEY_KID`; null when the variable was absent (then the default kid "1" is in use). */
  passwordEncryptionKid: z.string().nullable(),
  /** Hostname of `DATABASE_URL`, `"unknown"` if unparsable. */
  databaseUrlHostname: z.string(),
  /** `toISOString()` after the dump was renamed into place: milliseconds and `Z`. */
  generatedAt: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'must be an ISO-8601 UTC time with milliseconds'),
  filename: z.string().regex(WEAVESTREAM_DUMP_NAME, 'must be weavestream-postgres-<YYYY-MM-DDTHH-MM-SSZ>.dump'),
  sizeBytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'),
});

/** A parsed Weavestream manifest. */
export type WeavestreamManifest = z.infer<typeof weavestreamManifestSchema>;

/** Options of `parseWeavestreamManifest`. */
export interface ParseManifestOptions {
  /** Refuse keys out of the worker's order (default true: a reordered sidecar was not written by Weavestream). */
  strictKeyOrder?: boolean;
  /** Name used in error messages (e.g. the sidecar's file name). */
  source?: string;
}

/**
 * Parses sidecar text. Throws ARCHIVE_INVALID naming the first wrong field (or bad JSON, or key
 * order) — never echoes values, which could be long or odd.
 */
export function parseWeavestreamManifest(text: string, options: ParseManifestOptions = {}): WeavestreamManifest {
  const source = options.source ?? 'Weavestream manifest';
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new LifeboatError('ARCHIVE_INVALID', `${source} is not valid JSON.`, { cause: error, details: { reason: 'manifest-json' } });
  }
  const parsed = weavestreamManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '(top level)';
    throw new LifeboatError('ARCHIVE_INVALID', `${source}: field ${field} ${issue?.message ?? 'is invalid'}.`, {
      details: { reason: 'manifest-field', field, issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  if (options.strictKeyOrder ?? true) {
    const keys = Object.keys(raw as object);
    if (keys.join(',') !== WEAVESTREAM_MANIFEST_KEYS.join(',')) {
      throw new LifeboatError('ARCHIVE_INVALID', `${source}: keys are not in Weavestream's order (${WEAVESTREAM_MANIFEST_KEYS.join(', ')}).`, {
        details: { reason: 'manifest-key-order', keys },
      });
    }
  }
  return parsed.data;
}

/** Serialises a manifest exactly as the worker does: keys in order, 2-space indent, no trailing newline. */
export function serializeWeavestreamManifest(manifest: WeavestreamManifest): string {
  const ordered: Record<string, unknown> = {};
  for (const key of WEAVESTREAM_MANIFEST_KEYS) ordered[key] = manifest[key];
  return JSON.stringify(ordered, null, 2);
}

/** The kid a restore target must know: null in the manifest means the schema default "1". */
export function effectivePasswordKid(manifest: Pick<WeavestreamManifest, 'passwordEncryptionKid'>): string {
  return manifest.passwordEncryptionKid ?? '1';
}

/** True when the migration hash is a real hash (not `unknown:<reason>`), so two manifests can be compared. */
export function hasKnownMigrationHash(manifest: Pick<WeavestreamManifest, 'prismaMigrationHash'>): boolean {
  return manifest.prismaMigrationHash.startsWith('sha256:');
}
