import type { AppKind, InstallationStatus } from './installations';

/** What a check is about; generic code groups and decides by this, never by a check's wording. */
export type CheckKind = 'integrity' | 'compatibility' | 'target' | 'selection' | 'verification';

/** One check of an archive or a restore, shown as a line of the integrity badge. */
export interface IntegrityCheck {
  /** Stable within the module that made it, e.g. `sha256` or `rows:public.users`. */
  id: string;
  kind: CheckKind;
  /** The check's human label, e.g. "SHA-256 matches the manifest": what the UI and CLI show, never the id (test/unit/check-labels.test.ts). */
  name: string;
  ok: boolean;
  detail: string;
  /**
   * Set when the check could not be run at all (e.g. the restore removed the API token it needed):
   * it then counts as neither passed nor failed, and the outcome is a warning.
   */
  skipped?: string;
  /**
   * The secret this check needed and the restore made worthless (MeshMonitor's restore deletes
   * every API token): the fleet asks the operator to store a new one.
   */
  renewSecret?: { slot: string; label: string };
}

/** A backup that exists on the installation (not yet necessarily in the vault). */
export interface RemoteBackup {
  /** The app's own id (MeshMonitor dirname, Weavestream dump file name…). */
  id: string;
  name: string;
  createdAt: string | null;
  sizeBytes: number | null;
  /** The vault snapshot that already holds it, if any. */
  inVault: string | null;
  details: Record<string, string>;
}

/** What an adapter can do for an installation, given its connections; the UI offers only these. */
export interface AdapterCapabilities {
  list: boolean;
  trigger: boolean;
  pull: boolean;
  preview: boolean;
  restore: boolean;
  /** The scopes and conflict policies a restore of this installation offers. */
  restoreOptions: RestoreOptions;
  /**
   * Verbs that work only with an operator present: each asks for a one-time code (TOTP) at times,
   * failing with CODE_REQUIRED until one is provided (`installations:provide-code`).
   */
  interactive?: ('list' | 'trigger' | 'pull' | 'restore')[];
  /** Why something is missing, e.g. "restore needs an SSH connection". */
  notes: string[];
}

/** The id of a restore scope a module offers (`full`, `selective`, `empty-database`…). */
export type RestoreMode = string;

/** One restore scope: what part of the archive a restore puts back. */
export interface RestoreModeInfo {
  id: RestoreMode;
  label: string;
  description: string;
  /** Whether the operator chooses items (tables, recordings) from `PreviewReport.selectable`. */
  selectable: boolean;
}

/** One way to treat records that exist on both sides (Nojoin's Skip / Overwrite / Clear all). */
export interface ConflictPolicyInfo {
  id: string;
  label: string;
  description: string;
}

/** A module's restore options as data: the wizard renders them, the engine validates against them. */
export interface RestoreOptions {
  scopes: RestoreModeInfo[];
  /** Null when the app has no choice for conflicting records (a restore replaces them). */
  conflict: { label: string; policies: ConflictPolicyInfo[]; default: string } | null;
}

/** A setting of an app module, as the installation form shows it. */
export interface SettingDescriptor {
  key: string;
  label: string;
  help: string;
  kind: 'text' | 'number' | 'boolean' | 'choice' | 'command' | 'path';
  /** The value used when the setting is left empty (a description when it is derived). */
  default: string | number | boolean | null;
  example?: string;
  choices?: { value: string; label: string }[];
  /** The transport the setting is for, when it only matters with one. */
  transport?: 'ssh' | 'https';
}

/** A secret an app module may need, beyond the transports' own. */
export interface SecretSlotInfo {
  /** The slot, or for a keyed slot its prefix (`encryption-key`), the key coming from an archive. */
  slot: string;
  label: string;
  help: string;
  keyed: boolean;
  /** The slot holds a key that opens the app's archives (carried by the combined recovery kit when asked). */
  archiveKey?: boolean;
}

/** What importing a key file did: which keys went where (never the keys themselves). */
export interface KeyFileImport {
  app: AppKind;
  /** "DBackup Recovery Kit". */
  fileLabel: string;
  /** The installation's keychain slots, or this session's memory (files of no installation). */
  kept: 'keychain' | 'session';
  installationId: string | null;
  keys: { slot: string; label: string }[];
  /** Keys the file held without saying which slot they belong to, and none was asked for. */
  unplaced: string[];
}

/** Files dropped or chosen together, grouped: each archive with the sidecars that travel with it. */
export interface FilePairing {
  archives: { name: string; sidecars: string[] }[];
  /** Sidecars whose archive was not among the files: refused, with the archive's name. */
  loneSidecars: { name: string; archive: string }[];
}

/** What the UI and the CLI learn about one app module (`apps:modules`). */
export interface AppModuleInfo {
  kind: AppKind;
  label: string;
  summary: string;
  transports: ('ssh' | 'https')[];
  settings: SettingDescriptor[];
  secretSlots: SecretSlotInfo[];
  /** A file of the app's own that carries keys and Lifeboat can import (DBackup's Recovery Kit ZIP); null when there is none. */
  keyFile: { label: string } | null;
  /** Whether Lifeboat can run a restore drill of this app's archives (`drills:run`). */
  drill: boolean;
}

/** A table of facts; every cell is plain text or a number, never markup. */
export interface ContentsTable {
  title: string;
  columns: { key: string; label: string; numeric?: boolean }[];
  rows: Record<string, string | number | null>[];
}

/** What is inside an archive, before anyone trusts it. Nothing here is ever rendered as HTML. */
export interface PreviewReport {
  app: AppKind;
  fileName: string;
  sizeBytes: number;
  appVersion: string | null;
  createdAt: string | null;
  source: { kind: 'snapshot'; snapshotId: string } | { kind: 'file'; name: string };
  integrity: { ok: boolean; checks: IntegrityCheck[] };
  /** Headline facts (label → value). */
  summary: { label: string; value: string }[];
  contents: ContentsTable;
  /** What the archive does not hold (uploaded files, keys, tables left out…). */
  notIncluded: string[];
  /** Secrets inside, or secrets a restore will need or wipe. */
  secrets: string[];
  warnings: string[];
  /**
   * What a target needs. `ok` is what the archive alone tells (null: it depends on the target);
   * `check` names the restore preflight check (by id) that judges it on a chosen target.
   */
  compatibility: CompatibilityRequirement[];
  /** Raw sidecar files as text (manifest.json, metadata.json…). */
  sidecars: { name: string; text: string }[];
  /** Items a selective restore can choose from (table names…). */
  selectable: string[];
  /** Set when the key Lifeboat used does not open the archive: the UI asks for another one for this slot. */
  keyRejected?: { slot: string; label: string; message: string };
  /** Audio (or video) inside that the preview can play, each read straight out of the archive. */
  media?: MediaItem[];
  /** For a file from outside the vault: the configured installation the archive's facts point to, and why. */
  suggestedInstallation?: { installationId: string; reason: string };
}

/** One requirement of an archive on the installation it is restored into. */
export interface CompatibilityRequirement {
  label: string;
  value: string;
  ok: boolean | null;
  check?: string;
}

/** One playable member of an archive (a recording's audio). */
export interface MediaItem {
  /** What `apps:media-url` takes (the member's name). */
  id: string;
  label: string;
  /** MIME type of the bytes as stored, e.g. `audio/ogg; codecs=opus`. */
  contentType: string;
  /** The codec or container in words (Opus, WAV…). */
  format: string;
  bytes: number | null;
}

/** One row of a restore's dry-run plan. */
export interface PlannedChange {
  item: string;
  action: 'replace' | 'add' | 'remove' | 'keep' | 'unknown';
  /** Live rows (or bytes) on the target now, when knowable. */
  live: number | null;
  /** Rows (or bytes) in the archive. */
  archive: number | null;
}

export interface PreflightCheck {
  id: string;
  kind: CheckKind;
  name: string;
  ok: boolean;
  /** A failed blocking check stops the wizard. */
  blocking: boolean;
  detail: string;
}

export type ArchiveSourceRef = { snapshotId: string } | { uploadId: string; name: string; sidecars?: { uploadId: string; name: string }[] } | { path: string };

/** The dry-run plan of a restore: shown to the operator, then executed as-is. */
export interface RestorePlan {
  id: string;
  createdAt: string;
  installationId: string;
  installationName: string;
  app: AppKind;
  source: ArchiveSourceRef;
  sourceLabel: string;
  /** The installation the archive came from, if it is known to be another one. */
  sourceInstallationId: string | null;
  crossInstallation: boolean;
  mode: RestoreMode;
  /** The chosen conflict policy, when the module offers one. */
  conflict: string | null;
  selection: string[];
  preflight: PreflightCheck[];
  blocked: boolean;
  changes: PlannedChange[];
  /** The steps, in order, in plain words. */
  steps: string[];
  /** The step after which cancelling is no longer possible. */
  pointOfNoReturn: string;
  /** What the operator must do afterwards (restore the files directory…), kept as a checklist in the report. */
  followUps: string[];
  /** Why no safety pull is needed (the restore only adds to the target), or null: one is taken first. */
  nothingToSave: string | null;
  /** What the operator must type to confirm: the installation's name. */
  confirmationText: string;
  /** Set when the key Lifeboat used does not open the archive (as in its preview): the wizard asks for the right one. */
  keyRejected?: { slot: string; label: string; message: string };
}

/**
 * How a restore ended: `verified` (every check passed), `unverified` (restored, but a check could
 * not run), `verification-failed`, `failed` (the restore itself failed), `cancelled`.
 */
export type RestoreOutcome = 'verified' | 'unverified' | 'verification-failed' | 'failed' | 'cancelled' | 'interrupted';

/** The steps of a restore its journal records: the plan (changes nothing), the safety pull, the restore itself, its verification. */
export type RestorePhase = 'plan' | 'safety-pull' | 'restoring' | 'verifying';

/**
 * What an interrupted restore left the target in: `unchanged` (stopped before its point of no
 * return), `partial` (stopped after it, while restoring: partly restored, state unknown),
 * `restored-unverified` (the restore step ended, its verification did not).
 */
export type InterruptedTargetState = 'unchanged' | 'partial' | 'restored-unverified';

/**
 * A restore whose process ended while it ran (killed, crashed, power lost), found in the restore
 * journal at the next start; it stays until the operator acknowledges it.
 */
export interface InterruptedRestore {
  /** The id of the restore's job (the plan's job while it was planning). */
  restoreId: string;
  planId: string | null;
  installationId: string;
  installationName: string;
  app: AppKind;
  /** The archive it restored: a snapshot's label or a file name. */
  sourceLabel: string;
  snapshotId: string | null;
  mode: string;
  /** The phase it was in when it stopped. */
  phase: RestorePhase;
  pointOfNoReturnPassed: boolean;
  /** The snapshot of the target taken just before, when the safety pull had finished. */
  safetySnapshotId: string | null;
  startedAt: string;
  /** When it entered the phase it stopped in. */
  phaseStartedAt: string;
  /** When a start of Lifeboat found it. */
  detectedAt: string;
  targetState: InterruptedTargetState;
  /** One sentence each: what was interrupted, and what state the target is in with what to do. */
  summary: string;
  advice: string;
}

export interface RestoreReport {
  planId: string;
  installationId: string;
  /** True only for `verified`. */
  ok: boolean;
  outcome: RestoreOutcome;
  /** Follow-up actions the operator must take (store a new token, restore files…). */
  followUps: string[];
  safetySnapshotId: string | null;
  safetyPullSkipped: string | null;
  checks: IntegrityCheck[];
  startedAt: string;
  finishedAt: string;
  log: string[];
  /** For a restore that failed or was cancelled: what the target is in (unchanged before the point of no return). */
  targetState?: InterruptedTargetState;
}

/** `never`: nothing of this installation is in the vault yet (neutral, not late). */
export type Freshness = 'fresh' | 'due' | 'overdue' | 'failing' | 'unknown' | 'never';

/** One row of the Fleet view. */
export interface FleetEntry {
  installationId: string;
  name: string;
  app: AppKind;
  status: InstallationStatus | null;
  newestRemote: { id: string; createdAt: string | null } | null;
  newestSnapshot: { id: string; time: string } | null;
  freshness: Freshness;
  /** Hours between expected backups (operator setting or the app's schedule). */
  cadenceHours: number | null;
  capabilities: AdapterCapabilities;
  lastError: string | null;
  /** Security findings about the server from its last listing (`details.securityFinding` of its backups), e.g. a plaintext dump lying there. */
  findings?: string[];
  /** Unacknowledged anomalies of the installation's snapshots, newest first (absent: none known). */
  anomalies?: { id: string; kind: string; snapshotId: string; detail: string }[];
  /** The installation's newest restore drill (absent: never drilled): the badge "restored in a drill 3 days ago". */
  lastDrill?: { snapshotId: string; finishedAt: string; restorable: boolean; failure: string | null };
}

/** A download that failed verification: kept out of the vault, described here. */
export interface QuarantineEntry {
  id: string;
  at: string;
  installationId: string;
  installationName: string;
  remoteId: string;
  fileName: string;
  sizeBytes: number | null;
  sha256: string | null;
  reason: string;
  checks: IntegrityCheck[];
  /** Directory with the small pieces kept for inspection (sidecars, metadata). */
  keptFiles: string[];
}
