/**
 * The seam between Lifeboat's generic machinery and one app. Every app is a folder
 * `src/main/apps/<app>/` whose `index.ts` exports one `AppModule`; `registry.ts` lists them. The
 * pull runner, the fleet, the restore engine, the contract, the CLI and the UI read only these
 * declarations (much as restic's backends each own their scheme, config parsing and open/create).
 */
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type {
  AdapterCapabilities,
  IntegrityCheck,
  PreviewReport,
  RemoteBackup,
  RestoreOptions,
  SecretSlotInfo,
  SettingDescriptor,
} from '../../shared/apps';
import type { Installation } from '../../shared/installations';
import type { SnapshotView } from '../../shared/vault';
import type { AdapterContext, ArchiveAccess, PullSource, RestoreContext, RestorePlanDraft, Sidecar, StepContext } from './adapter';
import type { RestorePlan } from '../../shared/apps';
import type { TunnelDbAddress } from '../transport/postgres/tunnel-db';

/** The first bytes of an archive and what came with it: enough to tell which app made it. */
export interface ArchiveProbe {
  fileName: string;
  size: number | null;
  /** Up to the first 64 KiB. */
  head: Buffer;
  sidecars: Sidecar[];
}

/** A module's claim on an archive: 0 < confidence ≤ 1, and why, in words. */
export interface Detection {
  confidence: number;
  reason: string;
}

/** An installation's settings: a zod schema over the raw values and what the form shows of each. */
export interface SettingsSpec {
  /** Validates `installation.settings` as stored (strings, numbers, booleans); unknown keys are refused. */
  schema: z.ZodType<Record<string, string | number | boolean>>;
  fields: SettingDescriptor[];
}

/** Where verbs that read keys get them: the installation's keychain slots, or what the operator typed. */
export interface KeyResolver {
  /** The key in `slot`; KEY_REQUIRED (with the slot and label in details) when none is known. */
  get(slot: string, describe: { label: string; why: string }): Promise<string>;
  /** The key in `slot`, or null. */
  find(slot: string): Promise<string | null>;
  /**
   * Every key known for `slot`, in the order `find` tries them (stored, then typed this session),
   * for a format that can tell cheaply which one opens an archive; absent: only `find`'s.
   */
  all?(slot: string): Promise<string[]>;
}

/** What a format part gets: progress, cancellation and keys; the installation when one is known. */
export interface FormatContext extends StepContext {
  keys: KeyResolver;
  installation: Installation | null;
  /** As AdapterContext's: the staging directory for an unavoidable temp copy. */
  stagingDir: string;
}

/** Per-installation state a module keeps between jobs (a login session); disposed with the core or the installation. */
export interface ModuleSession {
  dispose(): Promise<void> | void;
}

/** Sessions of one installation, by name; `get` makes one on first use. */
export interface SessionStore {
  get<T extends ModuleSession>(name: string, create: () => T): T;
}

/** A remote backup as a source lists it (the runner adds which are in the vault). */
export type RemoteListing = Omit<RemoteBackup, 'inVault'>;

/** How an app's backups are found, made and opened, per the installation's transports. */
export interface SourcesPart {
  /** Backups on the installation, newest first; absent when the app keeps no list (export on demand). */
  list?(ctx: AdapterContext): Promise<RemoteListing[]>;
  /** Asks the app to make a backup now; returns the new backup's id when known. */
  trigger?(ctx: AdapterContext): Promise<{ message: string; remoteId: string | null }>;
  open(ctx: AdapterContext, remoteId: string): Promise<PullSource>;
  /**
   * For apps without a list: make a backup and open it (trigger, wait, download). The runner uses
   * it for "pull newest" and, when there is no `safetyCopy`, for the safety pull before a restore.
   */
  pullNewest?(ctx: AdapterContext): Promise<PullSource>;
  /**
   * A fresh copy of the installation's current state in the app's own backup format, for the
   * safety pull before a restore, when Lifeboat cannot ask the app for a backup but can copy it.
   */
  safetyCopy?(ctx: AdapterContext): Promise<PullSource>;
  /** The app's own backup schedule, in hours between backups, when it can be read. */
  cadenceHours?(ctx: AdapterContext): Promise<number | null>;
}

/** Bytes of one playable member, or the byte range of it that was asked for. */
export interface MediaStream {
  stream: Readable;
  /** Size of the whole member. */
  size: number;
  /** First and last byte (inclusive) of what `stream` carries. */
  start: number;
  end: number;
  contentType: string;
}

/** A configured installation of the module's app, with what the vault holds of it (for `suggestInstallation`). */
export interface InstallationCandidate {
  installation: Installation;
  snapshots: Pick<SnapshotView, 'time' | 'archive' | 'remoteId'>[];
}

/** Which installation an archive from outside the vault most likely came from, and why (in words the UI shows). */
export interface InstallationSuggestion {
  installationId: string;
  reason: string;
}

/** Reading an archive: what is inside and whether it is intact. */
export interface FormatPart {
  preview(archive: ArchiveAccess, ctx: FormatContext): Promise<Omit<PreviewReport, 'source'>>;
  /** From a preview's facts, the installation a dropped or local file most likely belongs to; null when nothing points to one. */
  suggestInstallation?(report: Omit<PreviewReport, 'source'>, candidates: readonly InstallationCandidate[]): InstallationSuggestion | null;
  /** Streams a member the preview listed in `media` (for the preview's player), optionally a byte range. */
  openMedia?(archive: ArchiveAccess, mediaId: string, range: { start?: number; end?: number }): Promise<MediaStream>;
}

/** The options a restore was planned with, validated against the module's `restoreOptions`. */
export interface RestoreChoice {
  mode: string;
  conflict: string | null;
  selection: string[];
}

/**
 * Where an archive being restored came from, and the keys that open it: they are not the
 * target's when the archive was pulled from another installation or dropped as a file.
 */
export interface ArchiveOrigin {
  /**
   * `own`: a snapshot of the target itself (its keys); `installation`: a snapshot of another
   * configured installation (that one's keys, then keys typed this session); `orphan`: a snapshot
   * whose installation is gone (typed keys only); `file`: a local or dropped file (the target's
   * stored keys, then typed ones: `keys.all` lists both).
   */
  kind: 'own' | 'installation' | 'orphan' | 'file';
  /** In words, for plans and errors: `vault snapshot 1a2b3c4d (…)`, `local file x.sql.enc`. */
  label: string;
  /** The installation the archive was pulled from, for `installation`. */
  installation: { id: string; name: string } | null;
  /** Keys that open the archive; KEY_REQUIRED names the archive and where its key is missing. */
  keys: KeyResolver;
}

/** Putting an archive back: plan (changes nothing), run, verify. `origin` absent: the archive is the target's own. */
export interface RestorePart {
  plan(ctx: AdapterContext, input: RestoreChoice & { archive: ArchiveAccess; preview: PreviewReport; origin?: ArchiveOrigin }): Promise<RestorePlanDraft>;
  run(ctx: RestoreContext, input: { plan: RestorePlan; archive: ArchiveAccess; preview: PreviewReport; origin?: ArchiveOrigin }): Promise<void>;
  verify(ctx: AdapterContext, input: { plan: RestorePlan; archive: ArchiveAccess; preview: PreviewReport; origin?: ArchiveOrigin }): Promise<IntegrityCheck[]>;
}

/** One key a key file holds: the secret slot it goes to (null when the file does not say), and what it is, in words. */
export interface ImportedKey {
  slot: string | null;
  label: string;
  value: string;
}

/** A file the app itself exports that carries its keys (DBackup's Recovery Kit ZIP). */
export interface KeyFilePart {
  /** What the UI calls it ("DBackup Recovery Kit"). */
  readonly label: string;
  /** The keys in the file; INVALID_INPUT saying why when the bytes are not such a file. */
  read(file: Buffer, fileName: string): Promise<ImportedKey[]>;
}

/** One PostgreSQL dump an archive holds, as a drill restores it into a throwaway database. */
export interface PostgresDrillDump {
  /** Which dump of the archive (its file name, or the database name inside a multi-database archive). */
  label: string;
  /** `custom`: pg_restore reads it; `plain`: psql runs it. */
  format: 'custom' | 'plain';
  /** The dump's bytes, decrypted and decompressed; errors (typed) when the archive turns out altered. */
  open(): Promise<Readable>;
  /** Rows per table (`schema.table` or `table`) the dump holds; null for a table whose rows cannot be counted. */
  tables: { table: string; rows: number | null }[];
  /** The checks of the archive itself (checksums, token, manifest), already made while reading it. */
  checks: IntegrityCheck[];
}

/** What a structural drill re-read: every check, and the rows per table it parsed and validated. */
export interface StructuralDrillReport {
  checks: IntegrityCheck[];
  tables: { table: string; rows: number | null }[];
  /** What this drill checks, in words (for the stored result). */
  checked: string[];
}

/**
 * A restore drill of an archive, without production: either the PostgreSQL dumps it holds (the
 * drill engine restores them into a throwaway database and compares row counts), or, for apps with
 * no scratch instance, a structural drill (every row parsed and validated, every reference
 * resolved, every checksum re-read). A module declares one of the two, or both: then an archive
 * for which `postgres` finds no dump it can restore (another engine's) gets the structural drill.
 */
export interface DrillPart {
  postgres?(archive: ArchiveAccess, ctx: FormatContext): Promise<PostgresDrillDump[]>;
  /**
   * The installation's production database as seen from its SSH server (for a postgres drill the
   * operator allowed on the server): the drill only reads it (its size) and creates and drops a
   * scratch database `lifeboat_drill_<id>` beside it on the same PostgreSQL.
   */
  serverDatabase?(ctx: AdapterContext): Promise<TunnelDbAddress>;
  structural?(archive: ArchiveAccess, ctx: FormatContext): Promise<StructuralDrillReport>;
}

/** One app, declared once. */
export interface AppModule {
  readonly kind: string;
  readonly label: string;
  /** One sentence: what Lifeboat does with this app. */
  readonly summary: string;
  readonly transports: ('ssh' | 'https')[];
  readonly settings: SettingsSpec;
  readonly secretSlots: SecretSlotInfo[];
  /** The app's public health endpoint over HTTPS, for the connection test. */
  readonly healthPath?: string;
  /**
   * When `fileName` is a small file that travels with an archive (a manifest, a `.meta.json`, a
   * `.sha256`), the name of that archive; null otherwise. Files dropped or chosen together are paired by it.
   */
  sidecarOf?(fileName: string): string | null;
  /** Content first (magic bytes, structure), sidecars next, the file name last; null: not this app's. */
  detect(probe: ArchiveProbe): Detection | null;
  capabilities(installation: Installation): AdapterCapabilities;
  /**
   * One authenticated, read-only call over HTTPS (e.g. list backups), so the connection test finds
   * a wrong token or password; returns what it saw, or null when there is nothing to check
   * unattended. Must reuse a live session rather than spend another rate-limited login.
   */
  checkAccess?(ctx: AdapterContext): Promise<string | null>;
  /**
   * How many unattended attempts (each may log in) the app tolerates per window, for scheduled
   * pulls; absent: Lifeboat's default (4 per 15 minutes).
   */
  readonly loginLimit?: { attempts: number; perMinutes: number };
  readonly sources: SourcesPart;
  readonly format: FormatPart;
  readonly restore: RestorePart | null;
  /**
   * For the README of the combined recovery kit: how to open this app's archives by hand with the
   * key the kit carries (plain text, a few paragraphs), when its archives are encrypted.
   */
  readonly decryptByHand?: string;
  /** Importing the app's own key file, when it has one. */
  readonly keyFile?: KeyFilePart;
  /** Restore drills of this app's archives; absent: Lifeboat cannot drill them. */
  readonly drill?: DrillPart;
}

/** Restore options for modules that only replace (no conflict policy). */
export function replaceOnly(scopes: RestoreOptions['scopes']): RestoreOptions {
  return { scopes, conflict: null };
}

/** Whether this installation's backups can be listed (the module has a list, and its transports allow it). */
export function listsBackups(module: AppModule, installation: Installation): boolean {
  return module.sources.list !== undefined && module.capabilities(installation).list;
}

/**
 * Whether "pull newest" makes a fresh backup and downloads it (an app that exports on demand):
 * when the module can, and either nothing can be listed or the app can be asked for a backup.
 */
export function pullsFreshBackup(module: AppModule, installation: Installation): boolean {
  return module.sources.pullNewest !== undefined && (!listsBackups(module, installation) || module.capabilities(installation).trigger);
}
