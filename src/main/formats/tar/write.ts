import { pipeline } from 'node:stream/promises';
import { PassThrough, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { LifeboatError } from '../../../shared/errors';
import { safeEntryName } from './names';

/** One member to write: bytes in memory, or a stream of exactly `size` bytes. */
export type TarSource = { name: string; mode?: number; mtime?: Date } & (
  | { data: Buffer | string }
  | { stream: Readable; size: number }
);

/** Options of `createTarGz`. */
export interface CreateTarOptions {
  /** gzip level, 0–9; default 9 (what archiver uses for MeshMonitor). */
  level?: number;
  signal?: AbortSignal;
}

/**
 * Streams a ustar .tar.gz of regular files (mode 0644, uid/gid 0, no directory members), in the order
 * given. Read the returned stream to drive the writing; an error in any source destroys it.
 */
export function createTarGz(entries: Iterable<TarSource> | AsyncIterable<TarSource>, options: CreateTarOptions = {}): Readable {
  const pack = tar.pack();
  const gzip = createGzip({ level: options.level ?? 9 });
  const output = new PassThrough();
  const fail = (error: unknown): void => {
    const wrapped =
      error instanceof LifeboatError
        ? error
        : options.signal?.aborted
          ? new LifeboatError('CANCELLED', 'Writing the archive was cancelled.', { cause: error })
          : new LifeboatError('INTERNAL', `Writing the archive failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    output.destroy(wrapped);
    pack.destroy();
  };
  pipeline(pack as unknown as Readable, gzip, output).catch(fail);
  const onAbort = (): void => fail(new LifeboatError('CANCELLED', 'Writing the archive was cancelled.'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const write = async (): Promise<void> => {
    for await (const entry of entries) {
      options.signal?.throwIfAborted();
      const name = safeEntryName(entry.name);
      const base = { name, mode: entry.mode ?? 0o644, mtime: entry.mtime ?? new Date(), uid: 0, gid: 0, uname: '', gname: '', type: 'file' as const };
      if ('data' in entry) {
        const data = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : entry.data;
        await new Promise<void>((resolve, reject) => {
          pack.entry({ ...base, size: data.length }, data, (error) => (error ? reject(error) : resolve()));
        });
      } else {
        let written = 0;
        const sink = pack.entry({ ...base, size: entry.size });
        const counted = entry.stream.on('data', (chunk: Buffer) => (written += chunk.length));
        await pipeline(counted, sink as unknown as NodeJS.WritableStream);
        if (written !== entry.size) {
          throw new LifeboatError('INTERNAL', `The member "${name}" was announced as ${entry.size} bytes but its stream gave ${written}.`);
        }
      }
    }
    pack.finalize();
  };
  write()
    .catch(fail)
    .finally(() => options.signal?.removeEventListener('abort', onAbort));
  return output;
}
