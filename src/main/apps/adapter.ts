/**
 * What an app module's verbs receive and return: contexts (progress, cancellation, connections,
 * secrets, keys, sessions), archives to read, and pull sources. The module itself is module.ts.
 */
import type { Readable } from 'node:stream';
import type { IntegrityCheck, PlannedChange, PreflightCheck } from '../../shared/apps';
import type { Installation, SecretPurpose } from '../../shared/installations';
import type { JobProgress } from '../../shared/jobs';
import type { SshSession } from '../transport/ssh/session';
import type { HttpsClient } from '../transport/https';
import type { KeyResolver, SessionStore } from './module';

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
  /** Keys for encrypted archives (the installation's keychain slots, or keys typed this session). */
  keys: KeyResolver;
  /** State this installation keeps between jobs (login sessions); disposed by the core. */
  sessions: SessionStore;
  /**
   * The app home's private staging directory, for a temp copy a verb cannot do without (a ZIP is
   * read from its end); whoever makes a file there removes it, and the core sweeps leftovers.
   */
  stagingDir: string;
}

/** Bytes of an archive to read again and again: from the vault, a local file, or an upload. */
export interface ArchiveAccess {
  fileName: string;
  size: number | null;
  mtime: Date | null;
  sidecars: Sidecar[];
  /** The file on this machine, when the archive is one (read in place instead of copied). */
  localPath?: string;
  open(): Promise<Readable>;
}

/** Size and SHA-256 of a whole archive, computed by whoever streamed it (the vault hashes on its worker). */
export interface WholeArchive {
  size: number;
  sha256: string;
  /** Given when the verifier asked for it (`wantsMd5`). */
  md5?: string;
}

/**
 * Checks an archive while its bytes stream by; `finish` after the last byte. The whole-file
 * SHA-256 comes from the caller, so a pull hashes each byte once (on the vault's seal worker).
 */
export interface StreamVerifier {
  /**
   * The verifier checks an MD5 of the whole archive: the caller hashes it with the SHA-256 (on
   * the vault's seal worker, off the thread that reads the download) and passes it in `whole.md5`.
   */
  readonly wantsMd5?: boolean;
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
  /** What the operator must do after the restore, beyond what Lifeboat does. */
  followUps?: string[];
  /**
   * Set when the restore destroys nothing on the target (it only adds), so there is no state to
   * save first: the reason, recorded in the report and the audit trail instead of a safety pull.
   */
  nothingToSave?: string;
}

/** Everything a restore step needs. */
export interface RestoreContext extends AdapterContext {
  /** Call right before the first change to the target that cannot be undone. */
  passPointOfNoReturn(what: string): void;
}
