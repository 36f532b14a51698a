import { statfs } from 'node:fs/promises';
import { LifeboatError } from '../../shared/errors';
import { formatBytes } from '../../shared/format-bytes';

/** True when a write failed because its file system is full (ENOSPC) or the user's quota is used up (EDQUOT). */
export function isDiskFull(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Bytes free to an unprivileged writer on the file system holding `dir`; null when it cannot be read. */
export async function freeBytes(dir: string): Promise<number | null> {
  try {
    const info = await statfs(dir);
    return info.bavail * info.bsize;
  } catch {
    return null;
  }
}


/**
 * The DISK_FULL error for a write into `dir` that the file system refused: names the directory,
 * what was being written, how much it needed (when known) and how much is free now.
 */
export async function diskFullError(dir: string, what: string, error: unknown, needed?: number): Promise<LifeboatError> {
  const free = await freeBytes(dir);
  const amounts = [needed === undefined ? null : `${formatBytes(needed)} needed`, free === null ? null : `${formatBytes(free)} free`].filter((s) => s !== null);
  const reason = (error as NodeJS.ErrnoException).code === 'EDQUOT' ? 'the disk quota' : 'the disk';
  return new LifeboatError('DISK_FULL', `Could not ${what}: ${reason} holding ${dir} is full${amounts.length > 0 ? ` (${amounts.join(', ')})` : ''}. Free some space there and try again.`, {
    cause: error,
    details: { directory: dir, ...(needed === undefined ? {} : { neededBytes: needed }), ...(free === null ? {} : { freeBytes: free }) },
  });
}

/** Runs `fn`, turning a full disk under `dir` into DISK_FULL (other errors pass unchanged). */
export async function mapDiskFull<T>(dir: string, what: string, fn: () => Promise<T>, needed?: number): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isDiskFull(error)) throw await diskFullError(dir, what, error, needed);
    throw error;
  }
}
