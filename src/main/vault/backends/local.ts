/**
 * A restic repository in a local folder, laid out exactly as restic's local backend does
 * (`data/xx/<id>` for packs, flat folders for the rest), with restic's atomic write recipe.
 */
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { LifeboatError } from '../../../shared/errors';
import { isAtomicWriteTemp, writeFileAtomic } from '../../fs/atomic-write';
import { diskFullError, isDiskFull } from '../../fs/disk-full';
import { isRepoFileName } from '../backend';
import type { Backend, ByteRange, FileInfo, FileType } from '../backend';

/** A repository stored in a folder on this machine. */
export class LocalBackend implements Backend {
  readonly location: string;

  constructor(readonly root: string) {
    this.location = path.resolve(root);
  }

  /** The path of one repository file (packs live in `data/<first two hex chars>/`). */
  filePath(type: FileType, name: string): string {
    if (type === 'config') return path.join(this.location, 'config');
    if (!isRepoFileName(name)) {
      throw new LifeboatError('INVALID_INPUT', `"${name}" is not a valid repository file name (64 hex characters expected).`);
    }
    if (type === 'data') return path.join(this.location, 'data', name.slice(0, 2), name);
    return path.join(this.location, type, name);
  }

  async create(): Promise<void> {
    if (await this.exists('config', '')) {
      throw new LifeboatError('ALREADY_EXISTS', `A repository already exists at ${this.location}.`);
    }
    await this.guard('create the repository folders', async () => {
      // 0700 like restic: the folder names leak nothing, but nobody else needs to list them.
      for (const dir of ['keys', 'snapshots', 'index', 'locks']) {
        await mkdir(path.join(this.location, dir), { recursive: true, mode: 0o700 });
      }
      for (let i = 0; i < 256; i++) {
        await mkdir(path.join(this.location, 'data', i.toString(16).padStart(2, '0')), { recursive: true, mode: 0o700 });
      }
    });
  }

  async exists(type: FileType, name: string): Promise<boolean> {
    const file = this.filePath(type, name);
    try {
      await access(file, fsConstants.F_OK);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw this.backendError(`check whether ${describe(type, name)} exists`, error);
    }
  }

  async stat(type: FileType, name: string): Promise<{ size: number }> {
    const file = this.filePath(type, name);
    return this.guard(`read the size of ${describe(type, name)}`, async () => ({ size: (await stat(file)).size }));
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    if (type === 'config') {
      if (await this.exists('config', '')) yield { name: 'config', size: (await this.stat('config', '')).size };
      return;
    }
    const base = path.join(this.location, type);
    const dirs = type === 'data' ? (await this.readDir(base)).filter((d) => /^[0-9a-f]{2}$/.test(d)).map((d) => path.join(base, d)) : [base];
    for (const dir of dirs) {
      for (const name of await this.readDir(dir)) {
        if (!isRepoFileName(name)) continue;
        try {
          yield { name, size: (await stat(path.join(dir, name))).size };
        } catch (error) {
          // A file deleted between readdir and stat (a concurrent prune or lock refresh) is simply gone.
          if (!isNotFound(error)) throw this.backendError(`list ${type}`, error);
        }
      }
    }
  }

  async read(type: FileType, name: string, range?: ByteRange): Promise<Buffer> {
    const file = this.filePath(type, name);
    return this.guard(`read ${describe(type, name)}`, async () => {
      const handle = await open(file, 'r');
      try {
        const offset = range?.offset ?? 0;
        const length = range ? range.length : (await handle.stat()).size;
        const buffer = Buffer.allocUnsafe(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
          if (bytesRead === 0) {
            throw new LifeboatError('VAULT_CORRUPT', `${describe(type, name)} in ${this.location} is shorter than expected: wanted ${length} bytes at offset ${offset}, got ${done}.`);
          }
          done += bytesRead;
        }
        return buffer;
      } finally {
        await handle.close();
      }
    });
  }

  async write(type: FileType, name: string, data: Buffer): Promise<void> {
    const file = this.filePath(type, name);
    const dir = path.dirname(file);
    await this.guard(`write ${describe(type, name)}`, async () => {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      if (type !== 'locks' && (await this.exists(type, name))) {
        // Content-addressed: the same name means the same bytes, so there is nothing to write.
        if (type === 'config') throw new LifeboatError('ALREADY_EXISTS', `The repository at ${this.location} already has a config file.`);
        return;
      }
      // restic's recipe: temp file in the target folder, fsync, rename, fsync the folder. The temp
      // name is not 64 hex characters, so restic and list() skip it while it exists.
      await writeFileAtomic(file, data);
    }, data.length);
  }

  async remove(type: FileType, name: string): Promise<void> {
    const file = this.filePath(type, name);
    await this.guard(`remove ${describe(type, name)}`, () => unlink(file));
  }

  async removeAbandonedWrites(): Promise<number> {
    const dataDirs = (await this.readDir(path.join(this.location, 'data'))).filter((d) => /^[0-9a-f]{2}$/.test(d)).map((d) => path.join('data', d));
    let removed = 0;
    for (const dir of ['', 'keys', 'snapshots', 'index', 'locks', ...dataDirs]) {
      for (const name of await this.readDir(path.join(this.location, dir))) {
        if (!isAtomicWriteTemp(name)) continue;
        await this.guard(`remove the abandoned temp file ${path.join(dir, name)}`, () => unlink(path.join(this.location, dir, name)));
        removed += 1;
      }
    }
    return removed;
  }

  private async readDir(dir: string): Promise<string[]> {
    try {
      return await readdir(dir);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw this.backendError(`list ${dir}`, error);
    }
  }

  /** Runs one storage step; its failure becomes NOT_FOUND, DISK_FULL (with the bytes it `needed`) or VAULT_BACKEND, naming the vault. */
  private async guard<T>(what: string, fn: () => Promise<T>, needed?: number): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof LifeboatError) throw error;
      // writeFileAtomic removed its temp file: a full disk leaves nothing half-written in the vault.
      if (isDiskFull(error)) throw await diskFullError(this.location, what, error, needed);
      if (isNotFound(error)) {
        throw new LifeboatError('NOT_FOUND', `Could not ${what} in ${this.location}: the file does not exist.`, { cause: error });
      }
      throw this.backendError(what, error);
    }
  }

  private backendError(what: string, error: unknown): LifeboatError {
    const reason = error instanceof Error ? error.message : String(error);
    return new LifeboatError('VAULT_BACKEND', `Could not ${what} in ${this.location}: ${reason}`, { cause: error });
  }
}

function describe(type: FileType, name: string): string {
  return type === 'config' ? 'the config file' : `${type}/${name.slice(0, 8)}`;
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT';
}
