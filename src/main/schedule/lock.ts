import { hostname } from 'node:os';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { LifeboatError } from '../../shared/errors';
import { processAlive } from '../vault/lock';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface DataDirLock {
  readonly holder: LockHolder;
  release(): void;
}

/** Who holds the lock now, or null (no file, unreadable, or a process of this host that has ended). */
export function lockHolder(file: string): LockHolder | null {
  let holder: LockHolder;
  try {
    holder = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    // Being written this moment by a starter (created, not yet filled): held; an old torn one is not.
    const mtime = statSync(file, { throwIfNoEntry: false })?.mtimeMs;
    if (mtime === undefined || Date.now() - mtime > 5_000) return null;
    return { pid: 0, host: '?', command: 'a Lifeboat that is starting', since: new Date(mtime).toISOString() };
  }
  if (holder.host === hostname() && !processAlive(holder.pid)) return null;
  return holder;
}

export function describeHolder(holder: LockHolder): string {
  return `${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`;
}

/**
 * Removes a lock left by a process that has ended. Two starters may both find it stale: the one
 * that creates `<file>.takeover` (O_EXCL) removes it, after checking again that it is still stale,
 * so neither removes the lock the other has just made.
 */
function takeOver(file: string): void {
  const guard = `${file}.takeover`;
  try {
    writeFileSync(guard, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch {
    // Another starter is taking it over; a guard left by a crash is old and removed.
    const age = Date.now() - (statSync(guard, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > 10_000) rmSync(guard, { force: true });
    return;
  }
  try {
    if (lockHolder(file) === null) rmSync(file, { force: true });
  } finally {
    rmSync(guard, { force: true });
  }
}

/**
 * Makes this process the one that runs schedules on a data directory. The lock file is created
 * exclusively (O_EXCL); one left by a process of this host that has ended is taken over, one of
 * another host (a shared folder) is respected. Refuses with a message naming the holder.
 */
export function acquireDataDirLock(file: string, command: string, dataDir: string): DataDirLock {
  const holder: LockHolder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      writeFileSync(file, `${JSON.stringify(holder)}\n`, { flag: 'wx', mode: 0o600 });
      let released = false;
      return {
        holder,
        release() {
          if (released) return;
          released = true;
          if (lockHolder(file)?.pid === holder.pid) rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const current = lockHolder(file);
      if (current) {
        throw new LifeboatError('ALREADY_EXISTS', `Another Lifeboat already runs the schedules of ${dataDir}: ${describeHolder(current)}. Stop it first, or use that one; two must never run them both.`, { details: { holder: current } });
      }
      takeOver(file);
    }
  }
  throw new LifeboatError('ALREADY_EXISTS', `Could not take the schedule lock ${file}; another Lifeboat is starting on ${dataDir}.`);
}
