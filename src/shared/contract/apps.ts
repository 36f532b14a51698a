import { z } from 'zod';
import { command, returns } from './define';
import type { AppModuleInfo, FilePairing, KeyFileImport, FleetEntry, InterruptedRestore, QuarantineEntry, RemoteBackup, RestoreReport } from '../apps';
import { secretPurposeSchema } from '../installations';
import { archiveSourceSchema } from './vault';

const installationId = z.string().min(1, 'installation id is required');

/** An archive to preview or restore: a vault snapshot, an uploaded file, or a local path. */
export const archiveRefSchema = z.union([
  z.object({ snapshotId: z.string().regex(/^[0-9a-f]{4,64}$/, 'a snapshot id is 4 to 64 hex digits') }).strict(),
  z
    .object({
      uploadId: z.string().uuid(),
      name: z.string().min(1).max(255),
      /** Sidecars uploaded with it (manifest, .meta.json, .sha256). */
      sidecars: z.array(z.object({ uploadId: z.string().uuid(), name: z.string().min(1).max(255) }).strict()).max(8).optional(),
    })
    .strict(),
  z.object({ path: z.string().min(1) }).strict(),
]);

export const appCommands = {
  'apps:modules': command({
    summary: 'The app modules Lifeboat has: label, transports, settings (for the installation form) and secret slots.',
    input: z.object({}).strict(),
    output: returns<AppModuleInfo[]>(),
  }),
  'apps:pair-files': command({
    summary: 'Group file names dropped or chosen together: each archive with its sidecars, and sidecars whose archive is missing.',
    input: z.object({ names: z.array(z.string().min(1).max(255)).min(1).max(1000) }).strict(),
    output: returns<FilePairing>(),
  }),
  'apps:provide-key': command({
    summary: 'Hand Lifeboat a key an encrypted archive asked for (KEY_REQUIRED), for files of no installation; kept in memory for this session only.',
    input: z.object({ slot: secretPurposeSchema, key: z.string().min(1).max(16_384) }).strict(),
    output: returns<{ kept: true }>(),
  }),
  'apps:import-key-file': command({
    summary: 'Import the keys of a file the app exports (DBackup\'s Recovery Kit ZIP): into the installation\'s keychain slots, or without one for this session only.',
    input: z
      .object({
        source: archiveSourceSchema,
        app: z.string().min(1).optional(),
        installationId: z.string().min(1).optional(),
        /** The slot a preview asked for (KEY_REQUIRED), for a key the file does not name a slot for. */
        slot: secretPurposeSchema.optional(),
      })
      .strict(),
    output: returns<KeyFileImport>(),
  }),
  'fleet:overview': command({
    summary: 'Every installation with reachability, newest remote backup, newest snapshot and freshness.',
    input: z.object({}).strict(),
    output: returns<FleetEntry[]>(),
  }),
  'fleet:refresh': command({
    summary: 'Look for new remote backups (a job per installation); the overview updates by event.',
    input: z.object({ installationId: z.string().optional() }).strict(),
    output: returns<{ jobIds: string[] }>(),
  }),
  'apps:list-remote': command({
    summary: 'Backups on the installation, newest first, with which are already in the vault.',
    input: z.object({ installationId }).strict(),
    output: returns<RemoteBackup[]>(),
  }),
  'apps:trigger': command({ summary: 'Ask the app to make a backup now (a job).', input: z.object({ installationId }).strict(), output: returns<{ jobId: string }>() }),
  'apps:pull': command({
    summary: 'Pull a remote backup (the newest if none named) into the vault, verified (a job).',
    input: z.object({ installationId, remoteId: z.string().min(1).optional() }).strict(),
    output: returns<{ jobId: string }>(),
  }),
  'apps:preview': command({
    summary: 'Read an archive and say what is inside (a job whose result is a PreviewReport).',
    input: z.object({ source: archiveRefSchema, app: z.string().optional(), installationId: z.string().min(1).optional() }).strict(),
    output: returns<{ jobId: string }>(),
  }),
  'apps:media-url': command({
    summary: "A short-lived ticket (the twin serves it at /media/<ticket>, Electron at lifeboat-media://<ticket>) that plays one media member of an archive (from the preview's `media`), byte ranges included; `transcode` when the player cannot play the stored format.",
    input: z.object({ source: archiveRefSchema, app: z.string().optional(), mediaId: z.string().min(1).max(1024), transcode: z.boolean().default(false) }).strict(),
    output: returns<{ ticket: string }>(),
  }),
  'apps:quarantine': command({ summary: 'Downloads that failed verification.', input: z.object({}).strict(), output: returns<QuarantineEntry[]>() }),
  'apps:quarantine-delete': command({
    summary: 'Delete one quarantined download record.',
    input: z.object({ id: z.string().uuid() }).strict(),
    output: returns<QuarantineEntry[]>(),
  }),
  'restore:plan': command({
    summary: 'Preflight and dry-run plan of a restore (a job whose result is a RestorePlan); changes nothing.',
    input: z
      .object({
        installationId,
        source: archiveRefSchema,
        /** A restore scope id of the target's module (`full`, `selective`…). */
        mode: z.string().min(1, 'choose what to restore').max(64),
        /** A conflict policy id of the module, when it has conflict policies (Nojoin's skip / overwrite / clear-all). */
        conflict: z.string().min(1).max(64).optional(),
        selection: z.array(z.string().min(1)).max(10_000).default([]),
      })
      .strict(),
    output: returns<{ jobId: string }>(),
  }),
  'restore:start': command({
    summary: 'Run a planned restore: safety pull, restore, verification (a job whose result is a RestoreReport).',
    input: z
      .object({
        planId: z.string().uuid(),
        confirmation: z.string(),
        confirmCrossInstallation: z.boolean().default(false),
        skipSafetyPull: z.object({ reason: z.string().min(1) }).strict().optional(),
      })
      .strict(),
    output: returns<{ jobId: string }>(),
  }),
  'restore:report': command({ summary: 'The stored report of a restore.', input: z.object({ planId: z.string().uuid() }).strict(), output: returns<RestoreReport>() }),
  'restore:interrupted': command({
    summary: 'Restores whose process ended while they ran (found in the restore journal at start): the phase, the state of the target and its safety snapshot; listed until acknowledged.',
    input: z.object({}).strict(),
    output: returns<InterruptedRestore[]>(),
  }),
  'restore:acknowledge-interrupted': command({
    summary: 'The operator has read an interrupted restore: clear its journal (its job record stays). Returns the ones left.',
    input: z.object({ restoreId: z.string().uuid() }).strict(),
    output: returns<InterruptedRestore[]>(),
  }),
};
