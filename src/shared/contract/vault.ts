import { z } from 'zod';
import { command, returns } from './define';
import {
  retentionPolicySchema,
  type CheckReportView,
  type ForgetPreview,
  type KitContents,
  type KitImportReport,
  type SnapshotView,
  type VaultLockView,
  type VaultStats,
  type VaultStatus,
} from '../vault';
import type { VerificationCoverage } from '../verification';

const snapshotId = z.string().trim().regex(/^[0-9a-f]{4,64}$/, 'a snapshot id is 4 to 64 hex digits');

/** Where to add an archive from: a file uploaded to the twin, or a local path (CLI, Electron drop). */
export const archiveSourceSchema = z.union([
  z.object({ uploadId: z.string().uuid('uploadId must be what /api/upload returned'), name: z.string().min(1).max(255) }).strict(),
  z.object({ path: z.string().min(1, 'path is required') }).strict(),
]);

export const vaultCommands = {
  'vault:status': command({ summary: 'Whether the vault exists, is open, and where it lives.', input: z.object({}).strict(), output: returns<VaultStatus>() }),
  'vault:init': command({
    summary: 'Create the vault with a strong random password kept in the keychain.',
    input: z.object({ location: z.string().min(1).optional() }).strict(),
    output: returns<VaultStatus>(),
  }),
  'vault:unlock': command({
    summary: 'Open the vault with a password typed by the operator (when the keychain lacks it).',
    input: z.object({ password: z.string().min(1, 'password is required'), remember: z.boolean().default(true) }).strict(),
    output: returns<VaultStatus>(),
  }),
  'vault:recovery-kit': command({
    summary: 'The recovery kit text: vault id, location, password, and the restic commands to open it without Lifeboat. With appKeys, also every key that opens an app\'s archives, the whole kit an age file encrypted to the passphrase.',
    input: z
      .object({
        appKeys: z.object({ passphrase: z.string().min(16, 'the kit\'s passphrase must be at least 16 characters (a few words)').max(1024) }).strict().optional(),
      })
      .strict(),
    output: returns<{ fileName: string; text: string; appKeyCount?: number }>(),
  }),
  'vault:import-kit': command({
    summary: 'Import a combined recovery kit (age, passphrase): take over its vault when this Lifeboat has none, and store every app key on its installation (recreated when missing).',
    input: z.object({ source: archiveSourceSchema, passphrase: z.string().min(1, 'the kit\'s passphrase is required').max(1024) }).strict(),
    output: returns<KitImportReport>(),
  }),
  'vault:inspect-kit': command({
    summary: 'Open a combined recovery kit with its passphrase and say what importing it would take over (vault, app keys per installation), changing nothing.',
    input: z.object({ source: archiveSourceSchema, passphrase: z.string().min(1, 'the kit\'s passphrase is required').max(1024) }).strict(),
    output: returns<KitContents>(),
  }),
  'vault:acknowledge-recovery-kit': command({ summary: 'The operator saved the recovery kit.', input: z.object({}).strict(), output: returns<VaultStatus>() }),
  'vault:snapshots': command({
    summary: 'Snapshots, newest first, optionally filtered.',
    input: z
      .object({
        installationId: z.string().optional(),
        app: z.string().optional(),
        tag: z.string().optional(),
        since: z.string().datetime({ offset: true }).optional(),
        until: z.string().datetime({ offset: true }).optional(),
      })
      .strict(),
    output: returns<SnapshotView[]>(),
  }),
  'vault:snapshot-files': command({
    summary: 'The files of one snapshot.',
    input: z.object({ snapshotId }).strict(),
    output: returns<{ path: string; name: string; type: string; size: number; mtime: string }[]>(),
  }),
  'vault:stats': command({ summary: 'Logical vs stored size and the dedup ratio.', input: z.object({}).strict(), output: returns<VaultStats>() }),
  'vault:import': command({
    summary: 'Add a local archive file as a snapshot (a job).',
    input: z
      .object({
        source: archiveSourceSchema,
        /** The archive's sidecars (manifest, .meta.json, .sha256), stored with it in the same snapshot. */
        sidecars: z.array(archiveSourceSchema).max(8).default([]),
        installationId: z.string().optional(),
        /** Store it even when it fails (or cannot get) verification, tagged `unverified`. */
        allowUnverified: z.boolean().default(false),
      })
      .strict(),
    output: returns<{ jobId: string }>(),
  }),
  'vault:check': command({
    summary: 'Check the vault structure, and with readData every blob (a job).',
    input: z.object({ readData: z.boolean().default(false) }).strict(),
    output: returns<{ jobId: string }>(),
  }),
  'vault:verify-rotating': command({
    summary: 'Rotating verification: re-read the slice of pack files due now, so every pack is re-read within the window (a job).',
    input: z.object({}).strict(),
    output: returns<{ jobId: string }>(),
  }),
  'vault:verification-coverage': command({
    summary: 'How much of the vault was re-read within the window; with windowDays, set the window first.',
    input: z.object({ windowDays: z.number().int().min(1).max(365).optional() }).strict(),
    output: returns<VerificationCoverage>(),
  }),
  'vault:forget-preview': command({
    summary: 'What a retention policy would keep and remove, and why (changes nothing).',
    input: z.object({ policy: retentionPolicySchema, installationId: z.string().optional() }).strict(),
    output: returns<ForgetPreview>(),
  }),
  'vault:forget': command({
    summary: 'Apply a retention policy: remove the snapshots it does not keep (a job).',
    input: z.object({ policy: retentionPolicySchema, installationId: z.string().optional(), prune: z.boolean().default(false) }).strict(),
    output: returns<{ jobId: string }>(),
  }),
  'vault:forget-snapshot': command({
    summary: 'Remove one snapshot the operator chose (restic forget of that id, audited); its data stays until a prune.',
    input: z.object({ snapshotId }).strict(),
    output: returns<{ removed: string }>(),
  }),
  'vault:prune': command({ summary: 'Remove data no snapshot references (a job).', input: z.object({}).strict(), output: returns<{ jobId: string }>() }),
  'vault:locks': command({ summary: 'Locks in the vault, with stale ones marked.', input: z.object({}).strict(), output: returns<VaultLockView[]>() }),
  'vault:remove-lock': command({
    summary: 'Remove one stale lock the operator chose (never done silently).',
    input: z.object({ lockId: z.string().regex(/^[0-9a-f]{64}$/, 'a lock id is 64 hex digits') }).strict(),
    output: returns<VaultLockView[]>(),
  }),
};

export type { CheckReportView };
