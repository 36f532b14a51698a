// Decompression bombs inside valid DBackup AES-256-GCM files (issue 17, items 2 and 8): a gzip and a
// brotli payload whose first 256 MiB are zeros, followed by 8 MiB that do not compress, so the file
// is ~8 MB on disk. The preview must refuse with a typed bomb error naming the file (and, in a
// multi-DB TAR, the member) and stop reading the stored bytes at once, long before the 8 MB end.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { brotliCompressSync, constants, createBrotliCompress, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveAccess } from '../../src/main/apps/adapter';
import { dbackupModule } from '../../src/main/apps/dbackup';
import { readContents } from '../../src/main/apps/dbackup/contents';
import { DecompressBudget } from '../../src/main/formats/decompress-budget';
import { readPayload } from '../../src/main/formats/gcm';
import { LifeboatError } from '../../src/shared/errors';
import { SAMPLES, keyedContext } from '../fleet/dbackup/archives';
import { SAMPLE_KEY_HEX, databaseSidecar, dbackupFileName, encodePayload, multiDbTar, sidecarText, type EncodedPayload, type WriterCompression } from '../fleet/dbackup/writer';

const KEY = Buffer.from(SAMPLE_KEY_HEX, 'hex');
const AT = new Date('2026-12-01T02:00:00Z');
const MiB = 1024 * 1024;

/** 256 MiB of zeros, then 8 MiB of random bytes (for the TAR member). */
const bombPlaintext = (): Buffer => Buffer.concat([Buffer.alloc(256 * MiB), randomBytes(8 * MiB)]);

/**
 * 4 GiB of zeros, then 16 MiB of random bytes, compressed without holding 4 GiB: gzip as 16
 * members of 256 MiB (gunzip reads concatenated members as one stream), brotli streamed.
 */
async function bombPayload(compression: WriterCompression): Promise<Buffer> {
  const tail = randomBytes(16 * MiB);
  if (compression === 'GZIP') {
    const zeros = gzipSync(Buffer.alloc(256 * MiB));
    return Buffer.concat([...Array.from({ length: 16 }, () => zeros), gzipSync(tail)]);
  }
  const brotli = createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 4 } });
  const out: Buffer[] = [];
  brotli.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => brotli.on('end', resolve));
  const slice = Buffer.alloc(64 * MiB);
  for (let i = 0; i < 64; i++) if (!brotli.write(slice)) await new Promise((resolve) => brotli.once('drain', resolve));
  brotli.end(tail);
  await ended;
  return Buffer.concat(out);
}

function compress(plaintext: Buffer, compression: WriterCompression): Buffer {
  return compression === 'GZIP' ? gzipSync(plaintext) : brotliCompressSync(plaintext, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } });
}

interface Counted {
  archive: ArchiveAccess;
  /** Bytes handed out by every stream `open` returned. */
  read: () => number;
  opens: () => number;
}

/** The file as an archive whose opened streams count what they hand out (64 KiB at a time, as a socket would). */
function countingArchive(fileName: string, encoded: EncodedPayload, sidecar: Record<string, unknown>): Counted {
  let read = 0;
  let opens = 0;
  const bytes = encoded.stored;
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let at = 0; at < bytes.length; at += 64 * 1024) {
      const chunk = bytes.subarray(at, at + 64 * 1024);
      read += chunk.length;
      yield chunk;
    }
  }
  const archive: ArchiveAccess = {
    fileName,
    size: bytes.length,
    mtime: AT,
    sidecars: [{ name: `${fileName}.meta.json`, content: Buffer.from(sidecarText(sidecar)) }],
    open: async () => {
      opens++;
      return Readable.from(chunks(), { objectMode: false });
    },
  };
  return { archive, read: () => read, opens: () => opens };
}

function bombFile(compression: WriterCompression, plaintext: Buffer, kind: 'sql' | 'tar', compressed = compress(plaintext, compression)): Counted {
  const fileName = dbackupFileName('Bomb Job', AT, kind, compression, true);
  // Compressed here, then only encrypted by the writer, as DBackup does it.
  const encoded = encodePayload(compressed, { compression: null, key: KEY });
  const sidecar = databaseSidecar({ jobName: 'Bomb Job', databases: kind === 'tar' ? ['app', 'bomb'] : ['bomb'], at: AT, fileName, compression, multiDb: kind === 'tar' }, encoded);
  return countingArchive(fileName, encoded, sidecar);
}

function payloadCheck(report: Awaited<ReturnType<typeof dbackupModule.format.preview>>): string {
  const check = report.integrity.checks.find((c) => c.id === 'payload');
  expect(check?.ok).toBe(false);
  return check!.detail;
}

describe('decompression bombs in encrypted DBackup files', () => {
  let plaintext: Buffer;
  let multiDb: Buffer;
  beforeAll(async () => {
    plaintext = bombPlaintext();
    multiDb = await multiDbTar([{ name: 'app', dump: SAMPLES.singleDb.plaintext }, { name: 'bomb', dump: plaintext }]);
  });

  for (const compression of ['GZIP', 'BROTLI'] as const) {
    it(`a ${compression.toLowerCase()} bomb is a typed error naming the file, and the preview stops reading early`, async () => {
      const file = bombFile(compression, plaintext, 'sql', await bombPayload(compression));
      const size = file.archive.size!;
      expect(size).toBeGreaterThan(16 * MiB);
      const report = await dbackupModule.format.preview(file.archive, keyedContext());
      expect(report.integrity.ok).toBe(false);
      const detail = payloadCheck(report);
      expect(detail).toContain(file.archive.fileName);
      expect(detail).toMatch(/more than 200 times its compressed size.*decompression bomb/);
      // The tag was not reached, and the check says so instead of claiming a match.
      expect(report.integrity.checks.find((c) => c.id === 'gcm-tag')).toMatchObject({ ok: false, detail: expect.stringContaining('not checked') });
      // Read once, and stopped far short of the end: the bomb trips after ~100 KB of input.
      expect(file.opens()).toBe(1);
      expect(file.read()).toBeLessThan(size / 3);
    });
  }

  it('the bomb error is typed: ARCHIVE_INVALID, reason decompression-bomb, the ratio bound, and the read stopped', async () => {
    const file = bombFile('GZIP', plaintext, 'sql', await bombPayload('GZIP'));
    const sidecar = JSON.parse(file.archive.sidecars[0]!.content.toString('utf8')) as { encryption: { iv: string; authTag: string } };
    const outcome = await readPayload(await file.archive.open(), {
      label: file.archive.fileName,
      secrets: { key: KEY, iv: Buffer.from(sidecar.encryption.iv, 'hex'), authTag: Buffer.from(sidecar.encryption.authTag, 'hex') },
      compression: 'gzip',
      read: (stream) => readContents(stream, file.archive.fileName),
    });
    expect(outcome.readError).toBeInstanceOf(LifeboatError);
    expect(outcome.readError).toMatchObject({ code: 'ARCHIVE_INVALID', details: { reason: 'decompression-bomb', limit: 'ratio', block: file.archive.fileName } });
    expect(outcome).toMatchObject({ stopped: true, value: null, authenticated: false, decryptError: null });
    expect(outcome.storedBytes).toBeLessThan(file.archive.size! / 3);
  });

  it('a bomb member of a multi-DB TAR is named in the error', async () => {
    const file = bombFile('GZIP', multiDb, 'tar');
    const report = await dbackupModule.format.preview(file.archive, keyedContext());
    const detail = payloadCheck(report);
    expect(detail).toContain(`${file.archive.fileName}: member bomb.dump unpacks to more than 200 times`);
    expect(file.opens()).toBe(1);
  });

  it('a total over the budget stops a payload whose ratio is ordinary', async () => {
    const data = randomBytes(4 * MiB);
    const file = bombFile('GZIP', data, 'sql');
    const sidecar = JSON.parse(file.archive.sidecars[0]!.content.toString('utf8')) as { encryption: { iv: string; authTag: string } };
    const budget = new DecompressBudget(file.archive.fileName, { maxBlockBytes: 64 * MiB, maxTotalBytes: MiB, maxRatio: 200, ratioFloorBytes: 64 * MiB });
    const outcome = await readPayload(await file.archive.open(), {
      label: file.archive.fileName,
      secrets: { key: KEY, iv: Buffer.from(sidecar.encryption.iv, 'hex'), authTag: Buffer.from(sidecar.encryption.authTag, 'hex') },
      compression: 'gzip',
      budget,
      read: (stream) => readContents(stream, file.archive.fileName),
    });
    expect(outcome.readError).toMatchObject({ code: 'ARCHIVE_INVALID', details: { reason: 'decompression-bomb', limit: 'total-size' } });
    expect(outcome.stopped).toBe(true);
  });
});
