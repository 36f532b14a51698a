/**
 * The one shape every app adapter has. The generic machinery (pull runner, preview, restore
 * wizard, fleet view) drives these verbs; an adapter only knows its app's formats and APIs.
 */
import type { Readable } from 'node:stream';
import type {
  AdapterCapabilities,
  IntegrityCheck,
  PlannedChange,
  PreflightCheck,
  PreviewReport,
  RemoteBackup,
  RestoreMode,
  RestorePlan,
} from '../../shared/apps';
import type { AppKind, Installation, SecretPurpose } from '../../shared/installations';
import type { JobProgress } from '../../shared/jobs';
import type { SshSession } from '../transport/ssh/session';
import type { HttpsClient } from '../transport/https';

/** A small file that travels with an archive (manifest.json, .meta.json…). */
export interface Sidecar {
  name: string;
  content: Buffer;
}

/** Progress and cancellation, as every long step takes them. */
export interface StepContext {
  signal: AbortSignal;
  progress(update: Partial<Pick<JobProgress, 'phase' | 'bytes' | 'total'>>): void;
  log(line: string): void;
}

/** What an adapter gets to talk to one installation; connections are opened lazily and closed by the caller. */
export interface AdapterContext extends StepContext {
  installation: Installation;
  /** A stored secret of this installation, or null (the adapter then explains what is missing). */
  secret(purpose: SecretPurpose): Promise<string | null>;
  /**
   * The one-time code (TOTP or backup code) the operator provided for this installation, taken so
   * it is used once; null when none is waiting (the adapter then throws CODE_REQUIRED).
   */
  oneTimeCode(): string | null;
  /** The installation's SSH session (opened on first use, reused within the job). */
  ssh(): Promise<SshSession>;
  /** An HTTPS client for the installation, with its pin/CA and bearer token applied. */
  https(): Promise<HttpsClient>;
}

/** Bytes of an archive to read again and again: from the vault, a local file, or an upload. */
export interface ArchiveAccess {
  fileName: string;
  size: number | null;
  mtime: Date | null;
  sidecars: Sidecar[];
  open(): Promise<Readable>;
}

/** Size and SHA-256 of a whole archive, computed by whoever streamed it (the vault hashes on its worker). */
export interface WholeArchive {
  size: number;
  sha256: string;
}

/**
 * Checks an archive while its bytes stream by; `finish` after the last byte. The whole-file
 * SHA-256 comes from the caller, so a pull hashes each byte once (on the vault's seal worker).
 */
export interface StreamVerifier {
  write(chunk: Buffer): void;
  finish(whole: WholeArchive): Promise<IntegrityCheck[]>;
}

/** One remote backup, ready to be streamed into the vault. */
export interface PullSource {
  remoteId: string;
  fileName: string;
  size: number | null;
  mtime: Date;
  /** Read again after the last byte, so a source may complete them (a manifest with the SHA-256). */
  sidecars: Sidecar[];
  /** Stable per installation (the remote backup folder); retention groups snapshots by it. */
  groupPath: string;
  /** Whether `open(offset)` with offset > 0 works (SFTP offset, HTTP Range). */
  resumable: boolean;
  open(offset: number): Promise<Readable>;
  createVerifier(): StreamVerifier;
}

/** What `planRestore` works out; the generic wizard adds ids, confirmation and safety pull. */
export interface RestorePlanDraft {
  preflight: PreflightCheck[];
  changes: PlannedChange[];
  steps: string[];
  pointOfNoReturn: string;
}

/** Everything a restore step needs. */
export interface RestoreContext extends AdapterContext {
  /** Call right before the first change to the target that cannot be undone. */
  passPointOfNoReturn(what: string): void;
}

/** An app adapter: list, trigger, pull, preview, plan, restore, verify. */
export interface AppAdapter {
  readonly app: AppKind;
  capabilities(installation: Installation): AdapterCapabilities;
  /** Backups on the installation, newest first. */
  listRemote(ctx: AdapterContext): Promise<Omit<RemoteBackup, 'inVault'>[]>;
  /** Asks the app to make a backup now; returns the new backup's id when known. */
  trigger(ctx: AdapterContext): Promise<{ message: string; remoteId: string | null }>;
  openPull(ctx: AdapterContext, remoteId: string): Promise<PullSource>;
  /**
   * For an app Lifeboat cannot ask for a backup (no trigger) but can copy itself: a fresh copy of
   * the installation's current state in the app's own backup format, for the safety pull before a
   * restore. Used only when `capabilities().trigger` is false.
   */
  openSafetyPull?(ctx: AdapterContext): Promise<PullSource>;
  /** Reads an archive (streaming) and says what is inside and whether it is intact. */
  preview(archive: ArchiveAccess, ctx: StepContext): Promise<Omit<PreviewReport, 'source'>>;
  planRestore(ctx: AdapterContext, input: { archive: ArchiveAccess; preview: PreviewReport; mode: RestoreMode; selection: string[] }): Promise<RestorePlanDraft>;
  restore(ctx: RestoreContext, input: { plan: RestorePlan; archive: ArchiveAccess; preview: PreviewReport }): Promise<void>;
  verifyRestore(ctx: AdapterContext, input: { plan: RestorePlan; archive: ArchiveAccess; preview: PreviewReport }): Promise<IntegrityCheck[]>;
  /** The app's own backup schedule, in hours between backups, when it can be read. */
  expectedCadenceHours?(ctx: AdapterContext): Promise<number | null>;
}
