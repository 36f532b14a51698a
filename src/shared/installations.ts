import { z } from 'zod';

/**
 * An app kind names the app module that handles an installation (`weavestream`, `directory`…).
 * The set is open here: the core's module registry says which kinds exist (`apps:modules`).
 */
export const appKindSchema = z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'an app kind is a short lower-case name such as weavestream');
export type AppKind = z.infer<typeof appKindSchema>;

/** Secrets every transport may use, whatever the app; modules declare their own slots besides. */
export const TRANSPORT_SECRET_SLOTS = ['ssh-password', 'ssh-key-passphrase', 'https-password', 'api-token'] as const;

/**
 * A secret slot: one keychain account `<installationId>:<slot>`. A keyed slot carries its key after
 * a colon, e.g. `encryption-key:<profileId>` for one key per DBackup encryption profile.
 */
export const secretPurposeSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,47}(:[A-Za-z0-9._-]{1,96})?$/, 'a secret slot is a short name such as api-token, or name:key such as encryption-key:profile-1');
export type SecretPurpose = z.infer<typeof secretPurposeSchema>;

const sha256Fingerprint = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'a SHA256 fingerprint looks like SHA256:… (43 base64 characters)');

const hostName = z
  .string()
  .trim()
  .min(1, 'Enter the server’s host name or address')
  .max(253)
  .regex(/^[A-Za-z0-9._:%[\]-]+$/, 'host may hold only letters, digits, dots, dashes and colons');

export const sshConnectionSchema = z.object({
  /** Host name, address, or a Host alias from ~/.ssh/config. */
  host: hostName,
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().trim().min(1).max(64).optional(),
  auth: z.enum(['agent', 'key', 'password']),
  keyFile: z.string().trim().min(1).optional(),
  /** `user@host:port` of a bastion, as in ProxyJump. */
  jumpHost: z.string().trim().min(1).optional(),
  /** Pinned after the operator trusted it explicitly. */
  hostKeySha256: sha256Fingerprint.optional(),
  connectTimeoutMs: z.number().int().min(500).max(120_000).optional(),
  /** Nothing from the server for this long while Lifeboat waits for it (a stalled transfer) ends the connection with SSH_TIMEOUT; default 30 s. */
  idleTimeoutMs: z.number().int().min(500).max(600_000).optional(),
});
export type SshConnection = z.infer<typeof sshConnectionSchema>;

export const httpsConnectionSchema = z.object({
  baseUrl: z
    .string()
    .trim()
    .url('base URL must be a full URL such as https://backup.example.org')
    .refine((u) => /^https?:\/\//i.test(u), 'base URL must start with https:// (or http:// on a trusted network)'),
  auth: z.enum(['none', 'bearer', 'password']),
  username: z.string().trim().min(1).max(128).optional(),
  /** SHA-256 of the server certificate (DER), hex with or without colons. */
  pinnedCertSha256: z
    .string()
    .trim()
    .regex(/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/, 'certificate pin is a SHA-256 in hex (64 digits, colons allowed)')
    .optional(),
  /** PEM file of a private CA that signed the server's certificate. */
  caFile: z.string().trim().min(1).optional(),
  timeoutMs: z.number().int().min(500).max(600_000).optional(),
});
export type HttpsConnection = z.infer<typeof httpsConnectionSchema>;

export const appSettingsSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
export type AppSettings = z.infer<typeof appSettingsSchema>;

/** A free label for grouping the fleet ("customer A", "production"); case is kept, compared case-insensitively. */
export const installationTagSchema = z
  .string()
  .trim()
  .min(1, 'a tag may not be empty')
  .max(40, 'a tag is at most 40 characters')
  .refine((tag) => !tag.includes(',') && ![...tag].some((ch) => ch.charCodeAt(0) < 0x20), 'a tag may not hold commas or control characters');

/** Tags trimmed, without repeats (case-insensitive, the first spelling kept). */
export function normalizeTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of tags) {
    const tag = raw.trim();
    if (tag === '' || seen.has(tag.toLowerCase())) continue;
    seen.add(tag.toLowerCase());
    out.push(tag);
  }
  return out;
}

const installationFields = {
  name: z
    .string()
    .trim()
    .min(1, 'Give the installation a name')
    .max(80, 'Keep the name to 80 characters or fewer')
    .refine((name) => !/[/\\]/.test(name) && ![...name].some((ch) => ch.charCodeAt(0) < 0x20), 'A name cannot hold slashes or control characters'),
  app: appKindSchema,
  ssh: sshConnectionSchema.optional(),
  https: httpsConnectionSchema.optional(),
  settings: appSettingsSchema.default({}),
  /** Expected time between backups, in hours, for the fleet's freshness badge. */
  expectedCadenceHours: z.number().positive().max(24 * 366).optional(),
  /** Labels for grouping and filtering the fleet. */
  tags: z.array(installationTagSchema).max(20, 'at most 20 tags').transform(normalizeTags).default([]),
};

/** Secrets arrive with an add/edit request and go straight to the SecretStore. */
export const secretsInputSchema = z.record(secretPurposeSchema, z.string().min(1).max(16_384));

export const installationInputSchema = z
  .object({ ...installationFields, secrets: secretsInputSchema.optional() })
  .refine((v) => v.ssh !== undefined || v.https !== undefined, {
    message: 'an installation needs an SSH or an HTTPS connection (or both)',
    path: ['ssh'],
  });
export type InstallationInput = z.input<typeof installationInputSchema>;

/** What is stored in installations.json: never a secret, only which purposes have one. */
export const installationSchema = z.object({
  id: z.string().min(1),
  ...installationFields,
  secretPurposes: z.array(secretPurposeSchema).default([]),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Installation = z.infer<typeof installationSchema>;

export type ConnectionState = 'unknown' | 'checking' | 'online' | 'offline' | 'host-key-untrusted' | 'auth-failed';

/** Live status of one installation, pushed as the `installation:status` event. */
export interface InstallationStatus {
  installationId: string;
  state: ConnectionState;
  checkedAt: string | null;
  latencyMs?: number;
  message?: string;
  /** What the operator must do before Lifeboat can reach the installation again. */
  action?: { kind: 'renew-secret'; slot: string; label: string };
}
