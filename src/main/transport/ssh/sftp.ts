/**
 * SFTP over an SSH session with throughput that matches OpenSSH: reads and writes keep many
 * requests in flight (ssh2's own streams wait for each request before sending the next, which
 * caps a transfer at one chunk per round trip).
 */
import path from 'node:path/posix';
import { Readable, Writable } from 'node:stream';
import type { OpenMode, SFTPWrapper, Stats } from 'ssh2';
import { LifeboatError } from '../../../shared/errors';
import { cancelledError, throwIfAborted } from './abort';
import type { IdleWatch } from './idle';

/** What `stat` and `list` report about a remote path. */
export interface RemoteStat {
  size: number;
  mtime: Date;
  mode: number;
  isDirectory: boolean;
  isFile: boolean;
  isSymbolicLink: boolean;
}

/** One entry of a remote directory. */
export interface RemoteEntry extends RemoteStat {
  name: string;
}

/** Options of {@link Sftp.createReadStream}. */
export interface SftpReadOptions {
  /** Byte offset to start at (resume a pull). */
  start?: number;
  /** Read at most this many bytes. */
  length?: number;
  signal?: AbortSignal;
  /** Bytes per READ request; default the server's largest read (255 KiB on OpenSSH). */
  chunkSize?: number;
  /** READ requests in flight; default enough for 4 MiB in flight (16 on OpenSSH). */
  concurrency?: number;
  /** Called as data is delivered; `bytes` counts from `start`, `total` is `length` when given. */
  onProgress?: (p: { phase: 'download'; bytes: number; total: number | null }) => void;
}

/** Options of {@link Sftp.createWriteStream}. */
export interface SftpWriteOptions {
  /** Byte offset to write from, keeping what is before it (resume an upload); default: truncate. */
  start?: number;
  /** File mode for a new file; default 0o600 (backups are private). */
  mode?: number;
  /** Ask the server to fsync before the stream finishes (OpenSSH fsync@openssh.com). */
  fsync?: boolean;
  signal?: AbortSignal;
  /** WRITE requests in flight; default 16. */
  concurrency?: number;
}

// SFTP status codes (draft-ietf-secsh-filexfer-02).
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

/** Maps an ssh2 SFTP error to a LifeboatError that names the path. */
export function sftpError(error: unknown, action: string, remotePath: string): LifeboatError {
  if (error instanceof LifeboatError) return error;
  const err = error as Error & { code?: number | string };
  if (err.code === NO_SUCH_FILE) {
    return new LifeboatError('NOT_FOUND', `Cannot ${action} ${remotePath}: no such file or directory on the server.`, { details: { path: remotePath }, cause: err });
  }
  const reason = err.code === PERMISSION_DENIED ? 'permission denied' : err.message;
  return new LifeboatError('SSH_SFTP', `Cannot ${action} ${remotePath}: ${reason}.`, {
    details: { path: remotePath, sftpStatus: typeof err.code === 'number' ? err.code : null },
    cause: err,
  });
}

/** A started SFTP subsystem with promise-returning helpers. */
export class Sftp {
  private ended = false;

  /** `idle` is the connection's idle timeout: a request the server leaves unanswered while nothing arrives fails SSH_TIMEOUT. */
  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly idle?: IdleWatch,
  ) {
    sftp.once('close', () => {
      this.ended = true;
    });
  }

  /** False once the SFTP channel has closed (then handles need no closing and requests get no answer). */
  get isOpen(): boolean {
    return !this.ended;
  }

  /** Follows symlinks; throws NOT_FOUND when the path does not exist. */
  stat(remotePath: string): Promise<RemoteStat> {
    return this.request((resolve, reject) => {
      this.sftp.stat(remotePath, (err, stats) => (err ? reject(sftpError(err, 'stat', remotePath)) : resolve(toRemoteStat(stats))));
    }, `stat of ${remotePath}`);
  }

  /** Like stat, but returns null instead of throwing NOT_FOUND. */
  async statOrNull(remotePath: string): Promise<RemoteStat | null> {
    try {
      return await this.stat(remotePath);
    } catch (error) {
      if (error instanceof LifeboatError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  /** The entries of a directory (without `.` and `..`), sorted by name; symlinks are not followed. */
  list(dir: string): Promise<RemoteEntry[]> {
    return this.request((resolve, reject) => {
      this.sftp.readdir(dir, (err, list) => {
        if (err) {
          reject(sftpError(err, 'list', dir));
          return;
        }
        const entries = list.map((e) => ({ name: e.filename, ...toRemoteStat(e.attrs as Stats) }));
        entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        resolve(entries);
      });
    }, `listing ${dir}`);
  }

  /** Opens a file and streams it with pipelined reads; resolves once the file is open. */
  async createReadStream(remotePath: string, options: SftpReadOptions = {}): Promise<Readable> {
    throwIfAborted(options.signal, `Reading ${remotePath} was cancelled.`);
    const handle = await this.open(remotePath, 'r', 0o600, 'read');
    return new SftpReadStream(this.sftp, handle, remotePath, options, () => this.isOpen, this.idle);
  }

  /** Opens (creates) a file for writing with pipelined writes; resolves once it is open. */
  async createWriteStream(remotePath: string, options: SftpWriteOptions = {}): Promise<Writable & { readonly bytesWritten: number }> {
    throwIfAborted(options.signal, `Writing ${remotePath} was cancelled.`);
    const flags = options.start === undefined ? 'w' : 'r+';
    const handle = await this.open(remotePath, flags, options.mode ?? 0o600, 'write');
    return new SftpWriteStream(this.sftp, handle, remotePath, options, () => this.isOpen, this.idle);
  }

  /** Reads a small file whole; refuses files over `maxBytes` (default 16 MiB). */
  async readFile(remotePath: string, options: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    const max = options.maxBytes ?? 16 * 1024 * 1024;
    const stream = await this.createReadStream(remotePath, { length: max + 1, ...(options.signal ? { signal: options.signal } : {}) });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) {
        stream.destroy();
        throw new LifeboatError('INVALID_INPUT', `${remotePath} is larger than ${max} bytes, too large to read whole.`, { details: { path: remotePath } });
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  /** Renames, replacing `to` atomically when the server supports posix-rename (OpenSSH does). */
  rename(from: string, to: string): Promise<void> {
    return this.request((resolve, reject) => {
      const done = (err: Error | null | undefined): void => (err ? reject(sftpError(err, `rename ${from} to`, to)) : resolve());
      // Plain SFTPv3 rename refuses to replace an existing file; the OpenSSH extension does.
      const ext = (this.sftp as unknown as { _extensions?: Record<string, string> })._extensions;
      if (ext?.['posix-rename@openssh.com'] === '1') this.sftp.ext_openssh_rename(from, to, done);
      else this.sftp.rename(from, to, done);
    }, `renaming ${from} to ${to}`);
  }

  /** Creates a directory and its missing parents, like `mkdir -p`. */
  async mkdirp(dir: string, mode = 0o700): Promise<void> {
    const parts = path.normalize(dir).split('/');
    let current = dir.startsWith('/') ? '/' : '';
    for (const part of parts) {
      if (part === '' || part === '.') continue;
      current = current === '' ? part : path.join(current, part);
      const existing = await this.statOrNull(current);
      if (existing?.isDirectory) continue;
      if (existing) throw new LifeboatError('SSH_SFTP', `Cannot create ${dir}: ${current} exists and is not a directory.`, { details: { path: current } });
      await this.mkdirOne(current, mode);
    }
  }

  /** Removes a file, or a directory (its content too when `recursive`). Missing is NOT_FOUND. */
  async remove(remotePath: string, options: { recursive?: boolean } = {}): Promise<void> {
    const stat = await this.lstat(remotePath);
    if (!stat.isDirectory) {
      await this.call((cb) => this.sftp.unlink(remotePath, cb), 'remove', remotePath);
      return;
    }
    if (options.recursive) {
      for (const entry of await this.list(remotePath)) await this.remove(path.join(remotePath, entry.name), options);
    }
    await this.call((cb) => this.sftp.rmdir(remotePath, cb), 'remove the directory', remotePath);
  }

  /** Ends the SFTP subsystem (the SSH connection stays open). */
  end(): void {
    this.sftp.end();
  }

  private lstat(remotePath: string): Promise<RemoteStat> {
    return this.request((resolve, reject) => {
      this.sftp.lstat(remotePath, (err, stats) => (err ? reject(sftpError(err, 'stat', remotePath)) : resolve(toRemoteStat(stats))));
    }, `lstat of ${remotePath}`);
  }

  private async mkdirOne(dir: string, mode: number): Promise<void> {
    try {
      await this.call((cb) => this.sftp.mkdir(dir, { mode }, cb), 'create the directory', dir);
    } catch (error) {
      // Another writer may have created it between our stat and mkdir.
      if ((await this.statOrNull(dir))?.isDirectory) return;
      throw error;
    }
  }

  private open(remotePath: string, flags: OpenMode, mode: number, action: string): Promise<Buffer> {
    return this.request((resolve, reject) => {
      this.sftp.open(remotePath, flags, mode, (err, handle) => (err ? reject(sftpError(err, `open for ${action}`, remotePath)) : resolve(handle)));
    }, `opening ${remotePath} for ${action}`);
  }

  private call(run: (cb: (err: Error | null | undefined) => void) => void, action: string, remotePath: string): Promise<void> {
    return this.request((resolve, reject) => {
      run((err) => (err ? reject(sftpError(err, action, remotePath)) : resolve()));
    }, `${action} ${remotePath}`);
  }

  /** A request on a closed channel would never be answered: refuse it instead of hanging. */
  private request<T>(executor: (resolve: (value: T) => void, reject: (error: unknown) => void) => void, what: string): Promise<T> {
    if (this.ended) return Promise.reject(new LifeboatError('SSH_SFTP', 'The SFTP session has closed.'));
    return new Promise<T>((resolve, reject) => {
      const done = this.idle?.begin(() => what, reject) ?? (() => undefined);
      executor(
        (value) => {
          done();
          resolve(value);
        },
        (error) => {
          done();
          reject(error);
        },
      );
    });
  }
}

function toRemoteStat(stats: Stats): RemoteStat {
  return {
    size: stats.size,
    mtime: new Date(stats.mtime * 1000),
    mode: stats.mode,
    isDirectory: stats.isDirectory(),
    isFile: stats.isFile(),
    isSymbolicLink: stats.isSymbolicLink(),
  };
}

/**
 * True for ssh2's local "No response from server" (the channel closed under pending requests):
 * server answers carry a numeric status code. A lost channel answers no CLOSE, so none is sent.
 */
function channelLost(error: Error & { code?: unknown }): boolean {
  return typeof error.code !== 'number';
}

const MAX_READ_CHUNK = 255 * 1024;
const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/** The largest READ the server answers in one reply (limits@openssh.com); ssh2 keeps it private. */
function serverMaxRead(sftp: SFTPWrapper): number {
  const max = (sftp as unknown as { _maxReadLen?: number })._maxReadLen;
  return typeof max === 'number' && max > 0 ? max : 32 * 1024;
}

interface ReadSlot {
  offset: number;
  buffer: Buffer;
  filled: number;
  done: boolean;
  eof: boolean;
}

/** A Readable that keeps `concurrency` READ requests in flight and emits their data in order. */
class SftpReadStream extends Readable {
  private readonly slots: ReadSlot[] = [];
  private nextOffset: number;
  private readonly limit: number;
  private readonly chunkSize: number;
  private readonly concurrency: number;
  private finished = false;
  private wanted = false;
  private handleOpen = true;
  private delivered = 0;
  private readonly onAbort: () => void;
  /** READ requests sent and not answered yet. */
  private pending = 0;
  /** Ends the idle watch, set while requests are pending. */
  private waiting: (() => void) | null = null;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Buffer,
    private readonly remotePath: string,
    private readonly options: SftpReadOptions,
    private readonly alive: () => boolean,
    private readonly idle: IdleWatch | undefined,
  ) {
    // Measured (bench/sftp-pull.ts): the largest reads the server allows cost the least CPU per
    // byte; about 4 MiB in flight keeps a loopback or LAN link busy.
    const chunkSize = options.chunkSize ?? Math.min(MAX_READ_CHUNK, serverMaxRead(sftp));
    const concurrency = options.concurrency ?? Math.min(64, Math.max(8, Math.ceil(READ_AHEAD_BYTES / chunkSize)));
    super({ highWaterMark: chunkSize * 4 });
    this.chunkSize = chunkSize;
    this.concurrency = concurrency;
    this.nextOffset = options.start ?? 0;
    this.limit = options.length === undefined ? Infinity : this.nextOffset + options.length;
    this.onAbort = () => this.destroy(cancelledError(`Reading ${remotePath} was cancelled.`));
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  override _read(): void {
    this.wanted = true;
    this.fill();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.finished = true;
    this.waiting?.();
    this.waiting = null;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    // A closed channel never answers: waiting for CLOSE would hang the stream's teardown.
    if (!this.handleOpen || !this.alive()) {
      callback(error);
      return;
    }
    this.handleOpen = false;
    let called = false;
    const finish = (closeError: Error | null): void => {
      if (called) return;
      called = true;
      stopWatching();
      callback(error ?? closeError);
    };
    // A stalled connection answers no CLOSE either: the idle timeout ends the wait.
    const stopWatching = this.idle?.begin(() => `closing ${this.remotePath}`, (stall) => finish(stall)) ?? (() => undefined);
    this.sftp.close(this.handle, (closeError) => finish(closeError ? sftpError(closeError, 'close', this.remotePath) : null));
  }

  /** The connection stalled with reads pending: fail with its SSH_TIMEOUT (it is closed, so no CLOSE is sent). */
  private stalled(error: LifeboatError): void {
    this.waiting = null;
    this.handleOpen = false;
    this.destroy(error);
  }

  private fill(): void {
    while (this.wanted && !this.finished && this.slots.length < this.concurrency && this.nextOffset < this.limit) {
      const len = Math.min(this.chunkSize, this.limit - this.nextOffset);
      const slot: ReadSlot = { offset: this.nextOffset, buffer: Buffer.allocUnsafe(len), filled: 0, done: false, eof: false };
      this.nextOffset += len;
      this.slots.push(slot);
      this.request(slot);
    }
    if (this.slots.length === 0 && this.nextOffset >= this.limit && !this.finished) {
      this.finished = true;
      this.push(null);
    }
  }

  private request(slot: ReadSlot): void {
    if (!this.alive()) {
      this.handleOpen = false;
      this.destroy(new LifeboatError('SSH_SFTP', `Reading ${this.remotePath} failed: the SFTP session closed.`, { details: { path: this.remotePath } }));
      return;
    }
    const want = slot.buffer.length - slot.filled;
    this.pending++;
    this.waiting ??= this.idle?.begin(() => `reading ${this.remotePath} (${this.delivered} bytes delivered, ${this.pending} reads waiting)`, (error) => this.stalled(error)) ?? null;
    this.sftp.read(this.handle, slot.buffer, slot.filled, want, slot.offset + slot.filled, (err, bytesRead) => {
      this.pending--;
      if (this.pending === 0) {
        this.waiting?.();
        this.waiting = null;
      }
      if (this.finished || this.destroyed) return;
      if (err) {
        if (channelLost(err)) this.handleOpen = false;
        this.destroy(sftpError(err, 'read', this.remotePath));
        return;
      }
      if (bytesRead === 0) {
        slot.eof = true;
        slot.done = true;
      } else {
        slot.filled += bytesRead;
        // A short read mid-file (a server with a smaller read limit): ask for the rest.
        if (slot.filled < slot.buffer.length) {
          this.request(slot);
          return;
        }
        slot.done = true;
      }
      this.flush();
    });
  }

  private flush(): void {
    while (this.slots[0]?.done) {
      const slot = this.slots.shift() as ReadSlot;
      if (slot.filled > 0) {
        this.delivered += slot.filled;
        this.wanted = this.push(slot.filled === slot.buffer.length ? slot.buffer : slot.buffer.subarray(0, slot.filled));
        this.options.onProgress?.({ phase: 'download', bytes: this.delivered, total: this.options.length ?? null });
      }
      if (slot.eof) {
        // Later slots are past the end of the file; their answers are ignored.
        this.finished = true;
        this.slots.length = 0;
        this.push(null);
        return;
      }
    }
    this.fill();
  }
}

/**
 * A Writable that keeps up to `concurrency` WRITE requests in flight. While any is unanswered (and
 * during fsync and CLOSE) the idle timeout watches for the server's answers, so a stalled upload
 * fails SSH_TIMEOUT instead of waiting for acknowledgements that never come.
 */
class SftpWriteStream extends Writable {
  private position: number;
  private inFlight = 0;
  private failure: LifeboatError | null = null;
  private waiters: Array<() => void> = [];
  private handleOpen = true;
  private written = 0;
  private readonly concurrency: number;
  private readonly onAbort: () => void;
  /** Ends the idle watch, set while WRITE requests are unanswered. */
  private waiting: (() => void) | null = null;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Buffer,
    private readonly remotePath: string,
    private readonly options: SftpWriteOptions,
    private readonly alive: () => boolean,
    private readonly idle: IdleWatch | undefined,
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.position = options.start ?? 0;
    this.concurrency = options.concurrency ?? 16;
    this.onAbort = () => this.destroy(cancelledError(`Writing ${remotePath} was cancelled.`));
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Bytes the server has acknowledged. */
  get bytesWritten(): number {
    return this.written;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.failure && !this.alive()) {
      this.handleOpen = false;
      this.failure = new LifeboatError('SSH_SFTP', `Writing ${this.remotePath} failed: the SFTP session closed.`, { details: { path: this.remotePath } });
    }
    if (this.failure) {
      callback(this.failure);
      return;
    }
    const offset = this.position;
    this.position += chunk.length;
    this.inFlight++;
    this.waiting ??= this.idle?.begin(() => `writing ${this.remotePath} (${this.written} bytes acknowledged, ${this.inFlight} writes waiting)`, (error) => this.stalled(error)) ?? null;
    this.sftp.write(this.handle, chunk, 0, chunk.length, offset, (err) => {
      this.inFlight--;
      if (this.inFlight === 0) {
        this.waiting?.();
        this.waiting = null;
      }
      if (err && channelLost(err)) this.handleOpen = false;
      if (err) this.failure ??= sftpError(err, 'write', this.remotePath);
      else this.written += chunk.length;
      this.wake();
    });
    if (this.inFlight < this.concurrency) callback();
    else this.waiters.push(() => callback(this.failure));
  }

  override _final(callback: (error?: Error | null) => void): void {
    const finish = (): void => {
      // A failed write (or a stall, whose writes are never answered) ends it without waiting for the rest.
      if (this.failure) {
        callback(this.failure);
        return;
      }
      if (this.inFlight > 0) {
        this.waiters.push(finish);
        return;
      }
      if (this.options.fsync) {
        this.watched(`syncing ${this.remotePath}`, (done) => this.sftp.ext_openssh_fsync(this.handle, (err) => done(err ? sftpError(err, 'fsync', this.remotePath) : null)), (error) => (error ? callback(error) : this.closeHandle(callback)));
      } else {
        this.closeHandle(callback);
      }
    };
    finish();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.options.signal?.removeEventListener('abort', this.onAbort);
    if (!this.handleOpen || !this.alive()) {
      callback(error);
      return;
    }
    this.closeHandle((closeError) => callback(error ?? closeError ?? null));
  }

  private closeHandle(callback: (error?: Error | null) => void): void {
    this.handleOpen = false;
    this.watched(`closing ${this.remotePath}`, (done) => this.sftp.close(this.handle, (err) => done(err ? sftpError(err, 'close', this.remotePath) : null)), callback);
  }

  /** Runs one request under the idle watch: `callback` gets its error, or the SSH_TIMEOUT of a stall (once). */
  private watched(what: string, run: (done: (error: Error | null) => void) => void, callback: (error: Error | null) => void): void {
    let called = false;
    const finish = (error: Error | null): void => {
      if (called) return;
      called = true;
      stopWatching();
      callback(error);
    };
    const stopWatching = this.idle?.begin(() => what, (stall) => {
      this.handleOpen = false;
      finish(stall);
    }) ?? (() => undefined);
    run(finish);
  }

  /** The connection stalled with writes unanswered: every waiting write fails with its SSH_TIMEOUT (no CLOSE is sent on it). */
  private stalled(error: LifeboatError): void {
    this.waiting = null;
    this.handleOpen = false;
    this.failure ??= error;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
