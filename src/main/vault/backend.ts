/**
 * The storage interface of the vault: where a restic-format repository's files live.
 * Implementations: `backends/local.ts` (a folder) and `backends/rest.ts` (restic REST API v2).
 *
 * Names are the file names restic uses (64 lower-case hex characters; for `config` the name is
 * ignored). A backend only moves bytes: it never encrypts, parses or checks names against
 * content — the repository layer does that.
 */

/** The kinds of files in a restic repository, one folder each (`config` is a single file). */
export type FileType = 'config' | 'keys' | 'locks' | 'snapshots' | 'index' | 'data';

/** All file types, in the order restic's `init` creates their folders. */
export const FILE_TYPES: readonly FileType[] = ['config', 'keys', 'snapshots', 'index', 'locks', 'data'];

/** A byte range inside a stored file. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** One listed file. */
export interface FileInfo {
  name: string;
  size: number;
}

/**
 * Where a repository's files are stored. Every method rejects with a LifeboatError:
 * `NOT_FOUND` when the file does not exist, `VAULT_BACKEND` for any other storage failure
 * (message names the location and the operation), `ALREADY_EXISTS` from `create()` when a
 * repository is already there.
 */
export interface Backend {
  /** Human-readable location, e.g. "/home/x/.lifeboat/vault" or "rest:http://127.0.0.1:8000/". Never holds secrets. */
  readonly location: string;
  /** Makes the layout for a new repository (for a folder: keys/, snapshots/, index/, locks/, data/00..ff). Fails with ALREADY_EXISTS if `config` exists. */
  create(): Promise<void>;
  /** Whether the file exists. */
  exists(type: FileType, name: string): Promise<boolean>;
  /** Size of a stored file in bytes. */
  stat(type: FileType, name: string): Promise<{ size: number }>;
  /** Lists the files of one type (names that are not 64 hex characters are skipped; a missing folder lists as empty). */
  list(type: FileType): AsyncIterable<FileInfo>;
  /** Reads a whole file, or `range.length` bytes from `range.offset` (fails if the file is shorter). */
  read(type: FileType, name: string, range?: ByteRange): Promise<Buffer>;
  /** Stores a file atomically (temp + fsync + rename + fsync dir): readers see all of it or nothing. Never overwrites an existing data file. */
  write(type: FileType, name: string, data: Buffer): Promise<void>;
  /** Deletes a file (NOT_FOUND if it is not there). */
  remove(type: FileType, name: string): Promise<void>;
  /**
   * Deletes the half-written temp files a killed writer left (backends whose writes are atomic on
   * the server side have none and leave this out). Only safe under an exclusive lock, when no
   * writer can be mid-write. Returns how many were removed.
   */
  removeAbandonedWrites?(): Promise<number>;
}

/** True when `name` looks like a restic file name (64 lower-case hex characters). */
export function isRepoFileName(name: string): boolean {
  return /^[0-9a-f]{64}$/.test(name);
}
