import type { AppKind, InstallationStatus } from './installations';

/** One check of an archive or a restore, shown as a line of the integrity badge. */
export interface IntegrityCheck {
  name: string;
  ok: boolean;
  detail: string;
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
  restoreModes: RestoreModeInfo[];
  /**
   * Verbs that work only with an operator present: each asks for a one-time code (TOTP) at times,
   * failing with CODE_REQUIRED until one is provided (`installations:provide-code`).
   */
  interactive?: ('list' | 'trigger' | 'pull' | 'restore')[];
  /** Why something is missing, e.g. "restore needs an SSH connection". */
  notes: string[];
}

export type RestoreMode = 'full' | 'selective';

export interface RestoreModeInfo {
  id: RestoreMode;
  label: string;
  description: string;
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
  compatibility: { label: string; value: string; ok: boolean | null }[];
  /** Raw sidecar files as text (manifest.json, metadata.json…). */
  sidecars: { name: string; text: string }[];
  /** Items a selective restore can choose from (table names…). */
  selectable: string[];
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
  name: string;
  ok: boolean;
  /** A failed blocking check stops the wizard. */
  blocking: boolean;
  detail: string;
}

export type ArchiveSourceRef = { snapshotId: string } | { uploadId: string; name: string } | { path: string };

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
  selection: string[];
  preflight: PreflightCheck[];
  blocked: boolean;
  changes: PlannedChange[];
  /** The steps, in order, in plain words. */
  steps: string[];
  /** The step after which cancelling is no longer possible. */
  pointOfNoReturn: string;
  /** What the operator must type to confirm: the installation's name. */
  confirmationText: string;
}

export interface RestoreReport {
  planId: string;
  installationId: string;
  ok: boolean;
  safetySnapshotId: string | null;
  safetyPullSkipped: string | null;
  checks: IntegrityCheck[];
  startedAt: string;
  finishedAt: string;
  log: string[];
}

export type Freshness = 'fresh' | 'due' | 'overdue' | 'failing' | 'unknown';

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
