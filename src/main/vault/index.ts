/**
 * Lifeboat's vault: a restic repository (format 1 or 2) written and read by Lifeboat itself.
 * `Vault` is the public face; the modules next to it hold the format details.
 */
import type { Readable } from 'node:stream';
import type { Backend } from './backend';
import { check } from './check';
import type { CheckOptions, CheckResult } from './check';
import { addArchive } from './ingest';
import type { AddArchiveOptions, AddArchiveResult, OperationOptions } from './ingest';
import { HeldLock, listLocks, removeLock } from './lock';
import type { LockInfo } from './lock';
import { forgetSnapshots, prune } from './prune';
import type { PruneOptions, PruneResult } from './prune';
import { dumpFile, findSnapshot, listFiles, listSnapshots } from './reader';
import type { FileInfoEntry, SnapshotFilter, SnapshotInfo } from './reader';
import { initRepository, openRepository } from './repository';
import type { InitOptions, Repository } from './repository';
import { snapshotSizes, vaultSizes } from './stats';
import type { SnapshotSizes, VaultSizes } from './stats';

export type { Backend, ByteRange, FileInfo, FileType } from './backend';
export { LocalBackend } from './backends/local';
export type { CheckOptions, CheckProblem, CheckResult } from './check';
export type { AddArchiveOptions, AddArchiveResult, OperationOptions, Sidecar, VaultProgress, WholeDigests } from './ingest';
export type { LockInfo } from './lock';
export type { PruneOptions, PruneResult } from './prune';
export type { FileInfoEntry, SnapshotFilter, SnapshotInfo } from './reader';
export type { InitOptions } from './repository';
export type { SnapshotSizes, VaultSizes } from './stats';

/** An open vault. Get one with `Vault.init` or `Vault.open`. */
export class Vault {
  private constructor(
    /** The underlying repository (format-level access for tools and tests). */
    readonly repo: Repository,
  ) {}

  /** Creates a new vault in an empty location. */
  static async init(backend: Backend, password: string, options?: InitOptions): Promise<Vault> {
    return new Vault(await initRepository(backend, password, options));
  }

  /** Opens an existing vault (or any restic repository). Errors: VAULT_WRONG_PASSWORD, VAULT_NOT_A_REPOSITORY, VAULT_UNSUPPORTED_VERSION, VAULT_CORRUPT. */
  static async open(backend: Backend, password: string): Promise<Vault> {
    return new Vault(await openRepository(backend, password));
  }

  /** Where the vault lives (human-readable). */
  get location(): string {
    return this.repo.backend.location;
  }

  /** The repository id (from `config`). */
  get id(): string {
    return this.repo.config.id;
  }

  /** Repository format version, 1 or 2. */
  get version(): number {
    return this.repo.version;
  }

  /** Adds an archive (streamed) and its sidecars as one new snapshot. */
  addArchive(options: AddArchiveOptions): Promise<AddArchiveResult> {
    return addArchive(this.repo, options);
  }

  /** Lists snapshots, oldest first. */
  listSnapshots(filter?: SnapshotFilter): Promise<SnapshotInfo[]> {
    return listSnapshots(this.repo, filter);
  }

  /** Resolves a unique id prefix, or "latest", to a full snapshot id. */
  findSnapshot(prefix: string): Promise<string> {
    return findSnapshot(this.repo, prefix);
  }

  /** Lists a snapshot's files and folders. */
  listFiles(snapshotId: string): Promise<FileInfoEntry[]> {
    return listFiles(this.repo, snapshotId);
  }

  /** Streams one file out of a snapshot, verifying every blob (VAULT_CORRUPT names blob and pack). */
  dumpFile(snapshotId: string, path: string, options?: OperationOptions): Promise<Readable> {
    return dumpFile(this.repo, snapshotId, path, options);
  }

  /** Checks the structure, and with `readData` every byte. */
  check(options?: CheckOptions): Promise<CheckResult> {
    return check(this.repo, options);
  }

  /** Deletes snapshot files (space is freed by `prune`). */
  forgetSnapshots(ids: string[]): Promise<{ removed: string[] }> {
    return forgetSnapshots(this.repo, ids);
  }

  /** Frees space no snapshot uses. */
  prune(options?: PruneOptions): Promise<PruneResult> {
    return prune(this.repo, options);
  }

  /** Lists the locks in the vault, each with a `stale` flag. */
  listLocks(): Promise<LockInfo[]> {
    return listLocks(this.repo);
  }

  /** Removes one lock file (after the user confirmed it is stale). */
  removeLock(id: string): Promise<void> {
    return removeLock(this.repo, id);
  }

  /** Takes a lock by hand (tools and tests); release it when done. */
  lock(exclusive: boolean): Promise<HeldLock> {
    return HeldLock.acquire(this.repo, exclusive);
  }

  /** Logical and stored size of one snapshot. */
  snapshotSizes(snapshotId: string): Promise<SnapshotSizes> {
    return snapshotSizes(this.repo, snapshotId);
  }

  /** Totals and dedup ratio of the whole vault. */
  sizes(): Promise<VaultSizes> {
    return vaultSizes(this.repo);
  }
}
