import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** True for the temp names `writeFileAtomic` uses, so a killed writer's leftovers can be found. */
export function isAtomicWriteTemp(name: string): boolean {
  return /^\..+\.[0-9a-f]{12}\.tmp$/.test(name);
}

/**
 * Writes a file so that readers see either the old or the new content, never a mix, even after
 * a crash: temp file in the same directory, fsync, rename, fsync of the directory.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await writeAll(handle, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await fsyncDirectory(dir);
}

/**
 * Writes all of `data` with as few calls as the kernel allows. FileHandle.writeFile cuts a buffer
 * into 512 KiB writes, each a round trip through the thread pool: a vault pack (16 MiB) took 32 of
 * them, and on a busy machine those round trips, not the disk, were most of a pull's write time.
 */
async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length; ) {
    const { bytesWritten } = await handle.write(data, at, data.length - at);
    if (bytesWritten === 0) throw new Error(`the file system took none of the ${data.length - at} bytes left to write`);
    at += bytesWritten;
  }
}

/** Makes a rename or create in `dir` durable. Windows cannot open directories; there it is a no-op. */
export async function fsyncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
