import { PassThrough, Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar, { type Extract } from 'tar-stream';

/** A member stream as tar-stream hands it out (its typings do not name the type). */
type Entry = Extract extends AsyncIterable<infer E> ? E : never;
import { LifeboatError } from '../../../shared/errors';
import { DecompressBudget, DEFAULT_DECOMPRESS_LIMITS } from '../decompress-budget';
import { safeEntryName } from './names';

/** Caps that keep a hostile or broken archive from exhausting memory or disk. */
export interface TarLimits {
  maxEntries: number;
  /** Largest single member. */
  maxEntryBytes: number;
  /** Sum of all members' sizes, as their headers declare them (checked before a member is read). */
  maxTotalBytes: number;
}

/**
 * Defaults: 10 000 members, 4 GiB each, 16 GiB in all. The gzip stream is one block of the shared
 * DecompressBudget: at most 200 bytes unpacked per compressed byte once 64 MiB are unpacked (JSON
 * tables gzip at 5–20:1; zeros at 1000:1).
 */
export const DEFAULT_TAR_LIMITS: TarLimits = {
  maxEntries: 10_000,
  maxEntryBytes: 4 * 1024 ** 3,
  maxTotalBytes: 16 * 1024 ** 3,
};

/** One member as the iterator hands it out: read `stream` to the end, or leave it and it is skipped. */
export interface TarEntry {
  /** Normalised relative path (no leading "./", no trailing "/"). */
  name: string;
  type: 'file' | 'directory';
  size: number;
  mode: number;
  mtime: Date;
  stream: Readable;
}

/** Options of `iterateTarGz`. */
export interface IterateTarOptions {
  limits?: Partial<TarLimits>;
  /** Yield directory members too (they are validated either way). */
  includeDirectories?: boolean;
  signal?: AbortSignal;
  /** Compressed bytes read so far, for progress. */
  onCompressedBytes?: (bytes: number) => void;
}

const TAR_BLOCK = 512;

/**
 * Iterates the members of a .tar.gz stream safely: names are checked (no absolute paths, no "..",
 * no backslashes), links and device files are refused, and entry count and sizes are capped.
 * The archive must parse to its end; a truncated gzip or tar is ARCHIVE_INVALID, not a short listing.
 */
export async function* iterateTarGz(source: Readable, options: IterateTarOptions = {}): AsyncGenerator<TarEntry> {
  const limits = { ...DEFAULT_TAR_LIMITS, ...options.limits };
  const { signal } = options;
  signal?.throwIfAborted();
  // Headers and padding add at most ~3 blocks per member; anything beyond is a gzip bomb of padding.
  const maxTarBytes = limits.maxTotalBytes + (limits.maxEntries + 2) * 3 * TAR_BLOCK + 20 * TAR_BLOCK;
  const budget = new DecompressBudget('the archive', { ...DEFAULT_DECOMPRESS_LIMITS, maxBlockBytes: maxTarBytes, maxTotalBytes: maxTarBytes });
  budget.startBlock('the archive');
  let compressed = 0;
  source.on('data', (chunk: Buffer) => {
    compressed += chunk.length;
    budget.input(chunk.length);
    options.onCompressedBytes?.(compressed);
  });
  const capper = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        budget.output(chunk.length);
      } catch (error) {
        done(error as Error);
        return;
      }
      done(null, chunk);
    },
  });
  const gunzip = createGunzip();
  const extract = tar.extract();
  const fail = (error: unknown, what: string): LifeboatError =>
    error instanceof LifeboatError
      ? error
      : new LifeboatError('ARCHIVE_INVALID', `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  let streamError: LifeboatError | null = null;
  const onFailure = (error: LifeboatError): void => {
    streamError ??= error;
    extract.destroy(streamError);
  };
  // The loop learns of every failure through streamError; once the consumer stopped early, nothing
  // else listens to `extract`, and a late gzip error must not become an uncaught exception.
  extract.on('error', () => undefined);
  // `on`, not `once`: a stream may emit a second error, which unhandled would end the process.
  source.on('error', (e) => onFailure(fail(e, 'Reading the archive failed')));
  gunzip.on('error', (e) => onFailure(fail(e, 'The archive is not a complete gzip stream')));
  capper.on('error', (e) => onFailure(fail(e, 'The archive is too large')));
  const onAbort = (): void => onFailure(new LifeboatError('CANCELLED', 'Reading the archive was cancelled.'));
  signal?.addEventListener('abort', onAbort, { once: true });
  source.pipe(gunzip).pipe(capper).pipe(extract as unknown as NodeJS.WritableStream);

  let count = 0;
  let total = 0;
  try {
    for await (const entry of extract) {
      const header = entry.header;
      count++;
      if (count > limits.maxEntries) {
        throw new LifeboatError('ARCHIVE_INVALID', `The archive has more than ${limits.maxEntries} members.`, { details: { limit: limits.maxEntries } });
      }
      // tar-stream reports pax global headers as their own type, which its typings omit.
      const type: string = header.type ?? 'file';
      if (type === 'pax-global-header') {
        await drain(entry);
        continue;
      }
      const name = safeEntryName(header.name, type === 'directory');
      if (type !== 'file' && type !== 'contiguous-file' && type !== 'directory') {
        throw new LifeboatError('ARCHIVE_INVALID', `The archive member "${name}" is a ${type}; only regular files and directories are accepted.`, {
          details: { name, type },
        });
      }
      const size = header.size ?? 0;
      if (size > limits.maxEntryBytes) {
        throw new LifeboatError('ARCHIVE_INVALID', `The archive member "${name}" is ${size} bytes, over the ${limits.maxEntryBytes}-byte limit.`, {
          details: { name, size, limit: limits.maxEntryBytes },
        });
      }
      total += size;
      if (total > limits.maxTotalBytes) {
        throw new LifeboatError('ARCHIVE_INVALID', `The archive's members add up to more than ${limits.maxTotalBytes} bytes.`, {
          details: { limit: limits.maxTotalBytes },
        });
      }
      if (type === 'directory' && !options.includeDirectories) {
        await drain(entry);
        continue;
      }
      const body = relay(entry, name);
      yield {
        name,
        type: type === 'directory' ? 'directory' : 'file',
        size,
        mode: header.mode ?? 0o644,
        mtime: header.mtime ?? new Date(0),
        stream: body,
      };
      // Whatever the consumer left unread is skipped so the next header can be parsed.
      if (!body.readableEnded && !body.destroyed) body.resume();
      await body.ended;
    }
    if (streamError) throw streamError;
  } catch (error) {
    throw streamError ?? fail(error, 'The archive is not a valid tar');
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!extract.destroyed) extract.destroy();
    source.unpipe(gunzip);
    gunzip.destroy();
    if (!source.destroyed) source.destroy();
  }
}

type RelayedBody = PassThrough & { ended: Promise<void> };

/**
 * Copies a tar-stream entry into a Node stream, keeping the entry flowing even if the consumer gives
 * up; a member cut short (a valid gzip around a truncated tar) reaches the consumer as ARCHIVE_INVALID.
 */
function relay(entry: Entry, name: string): RelayedBody {
  const body = new PassThrough() as RelayedBody;
  body.ended = new Promise<void>((resolve, reject) => {
    entry.on('data', (chunk: unknown) => {
      if (body.destroyed) return;
      if (!body.write(chunk)) entry.pause();
    });
    body.on('drain', () => entry.resume());
    body.on('close', () => entry.resume());
    entry.on('end', () => {
      body.end();
      resolve();
    });
    entry.on('error', (error: Error) => {
      const typed = error instanceof LifeboatError ? error : new LifeboatError('ARCHIVE_INVALID', `The archive member "${name}" is cut short or damaged: ${error.message}.`, { details: { name }, cause: error });
      body.destroy(typed);
      reject(typed);
    });
  });
  // The same error also reaches the consumer through `body` and the iterator; these only keep an
  // abandoned entry (consumer broke out of the loop) from becoming an unhandled rejection or error.
  body.ended.catch(() => undefined);
  body.on('error', () => undefined);
  return body;
}

function drain(entry: Entry): Promise<void> {
  return new Promise((resolve, reject) => {
    entry.on('end', resolve);
    entry.on('error', reject);
    entry.resume();
  });
}
