/**
 * restic-compatible repository locks (spec §10). A writer holds a non-exclusive lock so that a
 * concurrent `restic prune` keeps its not-yet-indexed packs; prune/forget hold an exclusive one.
 * Stale locks are reported, never removed silently.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { LifeboatError } from '../../shared/errors';
import type { VaultLockView } from '../../shared/vault';
import { goJson, nowGoTime, parseGoTime } from './go-encoding';
import type { Repository } from './repository';

/** restic refreshes its lock this often. */
export const LOCK_REFRESH_MS = 5 * 60_000;
/** A lock older than this without a refresh is stale. */
export const LOCK_STALE_MS = 30 * 60_000;
/** restic waits this long after writing its lock, then looks again to catch a race. */
const LOCK_SETTLE_MS = 200;

/**
 * One lock file as found in `locks/`: what the UI shows of it (`stale`: older than 30 minutes, or
 * its process on this host is gone) without the explanation, plus the owner's ids.
 */
export interface LockInfo extends Omit<VaultLockView, 'explanation'> {
  uid?: number;
  gid?: number;
  /** True when the file could not be decrypted or parsed (it still blocks, like newer restic). */
  damaged: boolean;
}

/** The lock file's JSON: what LockInfo reports, minus what Lifeboat works out itself. */
type LockJson = Omit<LockInfo, 'id' | 'stale' | 'damaged'>;

/** Whether a process of this host is running (EPERM: it is, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a lock is stale by restic's rules. */
export function isStale(lock: Pick<LockInfo, 'time' | 'hostname' | 'pid'>, now = Date.now()): boolean {
  const time = parseGoTime(lock.time);
  if (!time || now - time.getTime() > LOCK_STALE_MS) return true;
  return lock.hostname === os.hostname() && !processAlive(lock.pid);
}

/** Lists every lock in the repository, each with its stale flag. */
export async function listLocks(repo: Repository): Promise<LockInfo[]> {
  const locks: LockInfo[] = [];
  for await (const file of repo.backend.list('locks')) {
    // An empty file is an interrupted upload; restic ignores those too.
    if (file.size === 0) continue;
    let json: LockJson;
    try {
      json = (await repo.loadJson('locks', file.name)) as LockJson;
    } catch (error) {
      if (error instanceof LifeboatError && error.code === 'NOT_FOUND') continue; // released meanwhile
      if (!(error instanceof LifeboatError) || error.code !== 'VAULT_CORRUPT') throw error;
      locks.push({ id: file.name, time: '', exclusive: true, hostname: '?', username: '?', pid: 0, stale: true, damaged: true });
      continue;
    }
    const info: LockInfo = {
      id: file.name,
      time: String(json.time),
      exclusive: json.exclusive === true,
      hostname: String(json.hostname ?? ''),
      username: String(json.username ?? ''),
      pid: Number(json.pid ?? 0),
      stale: false,
      damaged: false,
    };
    if (json.uid !== undefined) info.uid = json.uid;
    if (json.gid !== undefined) info.gid = json.gid;
    info.stale = isStale(info);
    locks.push(info);
  }
  return locks;
}

/** Deletes one lock file (the user chose to, e.g. after seeing it is stale). */
export async function removeLock(repo: Repository, id: string): Promise<void> {
  await repo.backend.remove('locks', id);
}

/** Describes who holds a lock, for an error message. */
export function describeLock(lock: LockInfo): string {
  if (lock.damaged) return `a damaged lock file ${lock.id.slice(0, 8)}`;
  const kind = lock.exclusive ? 'an exclusive' : 'a shared';
  return `${kind} lock ${lock.id.slice(0, 8)} held by ${lock.username}@${lock.hostname} (PID ${lock.pid}) since ${lock.time}${lock.stale ? ' — it looks stale' : ''}`;
}

/** A lock this process holds. Call `release()` when done; it refreshes itself every 5 minutes meanwhile. */
export class HeldLock {
  private timer: NodeJS.Timeout | null = null;
  private refreshError: unknown = null;
  private refreshing: Promise<void> = Promise.resolve();
  private released: Promise<void> | null = null;

  private constructor(
    private readonly repo: Repository,
    readonly exclusive: boolean,
    private currentId: string,
  ) {}

  /** The current lock file id. */
  get id(): string {
    return this.currentId;
  }

  /** Takes a lock, failing with VAULT_LOCKED (naming the holder) on a conflict. */
  static async acquire(repo: Repository, exclusive: boolean): Promise<HeldLock> {
    const conflict = (locks: LockInfo[], ownId: string | null): LockInfo | undefined =>
      locks.find((l) => l.id !== ownId && (exclusive || l.exclusive));
    const fail = (holder: LockInfo): LifeboatError =>
      new LifeboatError(
        'VAULT_LOCKED',
        `The vault at ${repo.backend.location} is locked by ${describeLock(holder)}. ${holder.stale ? 'If that program is no longer running, remove the stale lock.' : 'Wait until that operation finishes.'}`,
        { details: { lock: holder } },
      );
    const before = conflict(await listLocks(repo), null);
    if (before) throw fail(before);
    const id = await repo.saveJson('locks', lockDocument(exclusive));
    await sleep(LOCK_SETTLE_MS);
    const after = conflict(await listLocks(repo), id);
    if (after) {
      await repo.backend.remove('locks', id);
      throw fail(after);
    }
    const held = new HeldLock(repo, exclusive, id);
    held.timer = setInterval(() => {
      held.refreshing = held.refresh();
    }, LOCK_REFRESH_MS);
    // A held lock must not keep the process alive on its own.
    held.timer.unref();
    return held;
  }

  /** Writes a fresh lock file, then deletes the old one (restic's refresh). */
  async refresh(): Promise<void> {
    try {
      const fresh = await this.repo.saveJson('locks', lockDocument(this.exclusive));
      const old = this.currentId;
      this.currentId = fresh;
      await this.repo.backend.remove('locks', old);
    } catch (error) {
      // Kept and raised by assertHeld(): a timer callback has nobody to throw to.
      this.refreshError = error;
    }
  }

  /** Throws if refreshing failed, so a writer never publishes a snapshot after losing its lock. */
  assertHeld(): void {
    if (this.refreshError) {
      throw new LifeboatError('VAULT_LOCKED', 'The vault lock could not be refreshed, so the operation stopped.', { cause: this.refreshError });
    }
  }

  /** Stops refreshing and deletes the lock file (only the first call does anything). */
  release(): Promise<void> {
    this.released ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      await this.refreshing;
      try {
        await this.repo.backend.remove('locks', this.currentId);
      } catch (error) {
        // Someone removed it already (e.g. `restic unlock --remove-all`): the lock is gone either way.
        if (!(error instanceof LifeboatError && error.code === 'NOT_FOUND')) throw error;
      }
    })();
    return this.released;
  }
}

function lockDocument(exclusive: boolean): Buffer {
  const user = os.userInfo();
  const doc: LockJson = { time: nowGoTime(), exclusive, hostname: os.hostname(), username: user.username, pid: process.pid };
  // restic omits uid/gid when they are 0 (omitempty).
  if (user.uid > 0) doc.uid = user.uid;
  if (user.gid > 0) doc.gid = user.gid;
  return Buffer.from(goJson(doc));
}

/** Runs `fn` while holding a lock; always releases it. */
export async function withLock<T>(repo: Repository, exclusive: boolean, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  const lock = await HeldLock.acquire(repo, exclusive);
  let result: T;
  try {
    result = await fn(lock);
  } catch (error) {
    // The operation's own error is the one to report; a lock left behind after it shows up as
    // stale in listLocks(), so a failed release must not hide why the operation failed.
    await lock.release().then(
      () => undefined,
      () => undefined,
    );
    throw error;
  }
  await lock.release();
  return result;
}
