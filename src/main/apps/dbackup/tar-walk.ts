/**
 * Walks a plain (already decompressed) TAR stream member by member: DBackup's v1 multi-DB TAR
 * after decryption, and its v2 seekable archive as stored. Names are checked as formats/tar
 * checks them; links and devices are refused; counts and sizes are capped. Each member is
 * handed to the visitor as a Node stream, and whatever it leaves unread is skipped.
 */
import { PassThrough, type Readable } from 'node:stream';
import tar from 'tar-stream';
import { LifeboatError } from '../../../shared/errors';
import { untilWritable } from '../../formats/gcm';
import { safeEntryName } from '../../formats/tar';

/** One member's header. */
export interface TarMember {
  /** Position in the archive, from 0. */
  index: number;
  name: string;
  size: number;
}

/** Caps of a walk. */
export interface TarWalkLimits {
  maxMembers: number;
  maxMemberBytes: number;
}

const DEFAULT_LIMITS: TarWalkLimits = { maxMembers: 100_000, maxMemberBytes: 64 * 1024 ** 3 };

/** Returns a reader for the member's bytes (it must read or destroy the stream), or null to skip it. */
export type TarVisitor = (member: TarMember) => ((body: Readable) => Promise<void>) | null;

function invalid(label: string, message: string, details: Record<string, unknown> = {}): LifeboatError {
  return new LifeboatError('ARCHIVE_INVALID', `${label}: ${message}.`, { details });
}

/**
 * Reads `source` as a TAR to its end, calling `visit` per regular file. ARCHIVE_INVALID for a
 * broken or truncated TAR, a refused member or a cap; a visitor's own error is thrown as it is.
 */
export async function walkTar(source: Readable, label: string, visit: TarVisitor, limits: Partial<TarWalkLimits> = {}): Promise<TarMember[]> {
  const caps = { ...DEFAULT_LIMITS, ...limits };
  const extract = tar.extract();
  const members: TarMember[] = [];
  let sourceError: unknown = null;
  source.once('error', (error) => {
    sourceError = error;
    extract.destroy(error);
  });
  source.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extract) {
      const { header } = entry;
      const type: string = header.type ?? 'file';
      if (type === 'pax-global-header' || type === 'directory') {
        entry.resume();
        continue;
      }
      if (members.length >= caps.maxMembers) throw invalid(label, `more than ${caps.maxMembers} members`, { limit: caps.maxMembers });
      const name = safeEntryName(header.name);
      if (type !== 'file' && type !== 'contiguous-file') throw invalid(label, `the member "${name}" is a ${type}; only regular files are expected`, { name, type });
      const size = header.size ?? 0;
      if (size > caps.maxMemberBytes) throw invalid(label, `the member "${name}" is ${size} bytes, over the ${caps.maxMemberBytes}-byte cap`, { name, size });
      const member: TarMember = { index: members.length, name, size };
      members.push(member);
      const reader = visit(member);
      if (!reader) {
        entry.resume();
        continue;
      }
      // The entry is read here to its end whatever the reader does: destroying a tar-stream entry would end the whole extract.
      const body = new PassThrough();
      const reading = reader(body).finally(() => body.destroy());
      try {
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          if (!body.destroyed && !body.write(chunk)) await untilWritable(body);
        }
        body.end();
      } catch (error) {
        body.destroy(error instanceof Error ? error : new Error(String(error)));
        await reading.catch(() => undefined);
        throw error;
      }
      await reading;
    }
  } catch (error) {
    if (sourceError !== null) throw sourceError;
    if (error instanceof LifeboatError) throw error;
    throw invalid(label, `not a complete TAR archive (${error instanceof Error ? error.message : String(error)})`);
  } finally {
    source.unpipe(extract as unknown as NodeJS.WritableStream);
    if (!extract.destroyed) extract.destroy();
    if (!source.destroyed) source.destroy();
  }
  if (sourceError !== null) throw sourceError;
  return members;
}

/** Reads a stream into memory, up to `limit` bytes (ARCHIVE_INVALID beyond). */
export async function readCapped(stream: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw invalid(what, `larger than ${limit} bytes`, { limit });
      chunks.push(chunk);
    }
  } finally {
    if (!stream.destroyed) stream.destroy();
  }
  return Buffer.concat(chunks);
}
