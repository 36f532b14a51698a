/**
 * DBackup's config backup ("Meta-Backup", spec §2.5): one JSON object of sections. Lifeboat counts
 * the records of each section and tells whether secrets are inside; with `includeSecrets` every
 * encryption profile's master key is in it in clear, which the preview says loudly.
 */
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';

/** One section of a config backup. */
export interface ConfigSection {
  key: string;
  label: string;
  /** Records (array items, map keys); null when the section is absent. */
  records: number | null;
  /** What the section holds of secrets, in words. */
  secrets: string;
}

/** What a config backup holds. */
export interface ConfigSummary {
  /** DBackup's app version (`metadata.version`), e.g. 3.2.0. */
  appVersion: string;
  exportedAt: string | null;
  includeSecrets: boolean;
  includeStatistics: boolean;
  sections: ConfigSection[];
  /** Profiles whose master key is inside in clear (names only; the keys are never shown). */
  profilesWithKeys: { id: string | null; name: string | null }[];
  /** Top-level keys this reader does not know. */
  unknownSections: string[];
}

const metadataSchema = z.looseObject({
  version: z.string().min(1),
  exportedAt: z.string().nullish(),
  includeSecrets: z.boolean().optional(),
  includeStatistics: z.boolean().nullish(),
  sourceType: z.string().nullish(),
});

/** The sections DBackup exports (export.ts), in its order, with what each holds of secrets. */
const SECTIONS: { key: string; label: string; withSecrets: string; withoutSecrets: string }[] = [
  { key: 'settings', label: 'System settings', withSecrets: 'none', withoutSecrets: 'none' },
  { key: 'credentialProfiles', label: 'Credential profiles', withSecrets: 'credential data in clear', withoutSecrets: 'data blanked' },
  { key: 'adapters', label: 'Sources, destinations and notifiers', withSecrets: 'passwords, tokens and keys in clear', withoutSecrets: 'sensitive fields blanked' },
  { key: 'jobs', label: 'Jobs', withSecrets: 'none', withoutSecrets: 'none' },
  { key: 'jobDestinations', label: 'Job destinations', withSecrets: 'none', withoutSecrets: 'none' },
  { key: 'jobNotifications', label: 'Job notification links', withSecrets: 'none', withoutSecrets: 'none' },
  { key: 'apiKeys', label: 'API keys', withSecrets: 'key hashes (scrypt)', withoutSecrets: 'hashes blanked' },
  { key: 'users', label: 'Users', withSecrets: 'password hashes and OAuth tokens', withoutSecrets: 'password hashes and tokens removed' },
  { key: 'groups', label: 'Groups', withSecrets: 'none', withoutSecrets: 'none' },
  { key: 'ssoProviders', label: 'SSO providers', withSecrets: 'client secrets in clear', withoutSecrets: 'client secrets blanked' },
  { key: 'encryptionProfiles', label: 'Encryption profiles', withSecrets: 'every master key in clear', withoutSecrets: 'no keys' },
  { key: 'statistics', label: 'Statistics', withSecrets: 'none', withoutSecrets: 'none' },
];
const KNOWN = new Set(['metadata', ...SECTIONS.map((s) => s.key)]);

/** Records of a section: array items; for `statistics` the items of its lists; for a map (`jobNotifications`) its keys. */
function records(key: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.length;
  if (typeof value !== 'object') return null;
  const inner = Object.values(value as Record<string, unknown>);
  return key === 'statistics' ? inner.reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : 0), 0) : inner.length;
}

/** Reads a config backup's JSON; ARCHIVE_INVALID when it is not DBackup's. */
export function summarizeConfigBackup(text: string, label: string): ConfigSummary {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LifeboatError('ARCHIVE_INVALID', `${label} does not hold JSON: ${(error as Error).message}.`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new LifeboatError('ARCHIVE_INVALID', `${label} does not hold a JSON object.`);
  const body = json as Record<string, unknown>;
  const metadata = metadataSchema.safeParse(body.metadata);
  if (!metadata.success) {
    const issue = metadata.error.issues[0];
    throw new LifeboatError('ARCHIVE_INVALID', `${label} is not a DBackup config backup: metadata${issue?.path.length ? `.${issue.path.join('.')}` : ''} ${issue?.message ?? 'is invalid'} (DBackup refuses to import one without metadata.version).`, { details: { field: `metadata${issue?.path.length ? `.${issue.path.join('.')}` : ''}` } });
  }
  const includeSecrets = metadata.data.includeSecrets === true;
  const profiles = Array.isArray(body.encryptionProfiles) ? (body.encryptionProfiles as unknown[]) : [];
  const profilesWithKeys = profiles
    .filter((p): p is Record<string, unknown> => typeof p === 'object' && p !== null && typeof (p as { secretKey?: unknown }).secretKey === 'string' && (p as { secretKey: string }).secretKey !== '')
    .map((p) => ({ id: typeof p.id === 'string' ? p.id : null, name: typeof p.name === 'string' ? p.name : null }));
  return {
    appVersion: metadata.data.version,
    exportedAt: metadata.data.exportedAt ?? null,
    includeSecrets,
    includeStatistics: metadata.data.includeStatistics === true,
    sections: SECTIONS.map((s) => ({ key: s.key, label: s.label, records: records(s.key, body[s.key]), secrets: includeSecrets ? s.withSecrets : s.withoutSecrets })),
    profilesWithKeys,
    unknownSections: Object.keys(body).filter((k) => !KNOWN.has(k)),
  };
}

/** What a config backup never holds (export.ts does not query it). */
export const CONFIG_NOT_INCLUDED = [
  'Backup files: a config backup holds DBackup\'s configuration, not your databases.',
  'Directory sources of jobs (JobSource rows): file-backup jobs come back without their sources.',
  'Two-factor secrets, passkeys and sessions: users sign in and enrol again.',
  'Retention policies, schedule presets, naming and notification templates, exclude-pattern presets.',
];
