// Hostile pg_dump custom archives (issue 17 items 1, 2, 3, 7, 9), written by the test's own writer:
// garbage zstd and zlib, zstd frames of RLE blocks that declare 256 MiB and 2 GiB, a zlib bomb,
// TOC strings and entry counts whose length fields lie (the file is short: the reader must refuse
// before reading), and a long zstd decode that must leave the event loop turning and stop on abort.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readPgDumpToc } from '../../src/main/formats/pgdump';
import { TOC_LIMITS } from '../../src/main/formats/pgdump/reader';
import { readCopyData } from '../../src/main/formats/pgdump/copy-data';
import { LifeboatError } from '../../src/shared/errors';
import { tableWithData, writePgDump, zstdRleFrame, type WriterDump } from '../harness/pgdump-writer';

const MiB = 1024 * 1024;
const dir = mkdtempSync(path.join(tmpdir(), 'pgdump-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dumpFile(name: string, dump: WriterDump): string {
  const file = path.join(dir, name);
  writeFileSync(file, writePgDump(dump));
  return file;
}

async function copyData(file: string, input: Readable, signal?: AbortSignal): Promise<unknown> {
  const archive = await readPgDumpToc(file, { scanData: true });
  return readCopyData(input, archive, { label: path.basename(file), ...(signal ? { signal } : {}) });
}

async function failure(promise: Promise<unknown>): Promise<LifeboatError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(LifeboatError);
  return error as LifeboatError;
}

/** Reads the dump in a child process (as the preview does) and returns its outcome and peak RSS. */
async function inChild(file: string): Promise<{ code?: string; message?: string; details?: Record<string, unknown>; maxRssMb: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/harness/pgdump-copy-child.ts', file], { maxBuffer: 1024 * 1024 });
  return JSON.parse(stdout.trim()) as { maxRssMb: number };
}

describe('garbage in compressed blocks is a typed error naming the dump, the entry and the block', () => {
  it('a pg_dump 1.15 block of garbage zstd', async () => {
    const dump: WriterDump = { minor: 15, compression: 'zstd', entries: tableWithData(10, 'users', Buffer.from('28b52ffd0000deadbeefdeadbeefdeadbeefdeadbeef', 'hex')) };
    const file = dumpFile('garbage-zstd.dump', dump);
    const error = await failure(copyData(file, Readable.from([writePgDump(dump)])));
    expect(error.code).toBe('ARCHIVE_INVALID');
    expect(error.message).toMatch(/TABLE DATA public\.users \(dump id 11\) at byte \d+ of garbage-zstd\.dump does not decompress/);
  });

  it('bytes that are no zstd frame at all, and a corrupt zlib stream', async () => {
    const random = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 0xff));
    for (const compression of ['zstd', 'gzip'] as const) {
      const dump: WriterDump = { minor: 16, compression, entries: tableWithData(20, 'events', random) };
      const file = dumpFile(`random-${compression}.dump`, dump);
      const error = await failure(copyData(file, Readable.from([writePgDump(dump)])));
      expect(error.code).toBe('ARCHIVE_INVALID');
      expect(error.message).toMatch(new RegExp(`TABLE DATA public\\.events \\(dump id 21\\) at byte \\d+ of random-${compression}\\.dump does (not decompress|not inflate)`));
    }
  });
});

describe('decompression bombs are stopped, with memory bounded (child process, 300 MB)', () => {
  for (const declared of [256 * MiB, 2048 * MiB]) {
    it(`a first table block that is one single-segment zstd frame of RLE blocks declaring ${declared / MiB} MiB: refused from its header`, async () => {
      const frame = zstdRleFrame({ bytes: 512 * MiB, declared });
      const file = dumpFile(`rle-single-${declared}.dump`, { minor: 15, compression: 'zstd', entries: tableWithData(30, 'audit', frame) });
      const outcome = await inChild(file);
      expect(outcome).toMatchObject({ code: 'ARCHIVE_INVALID', details: { reason: 'zstd-window', window: declared } });
      expect(outcome.message).toMatch(/TABLE DATA public\.audit \(dump id 31\)/);
      expect(outcome.maxRssMb).toBeLessThan(300);
    });

    it(`the same with a 1 MiB window declaring ${declared / MiB} MiB of content: a typed bomb error once the output passes the ratio bound`, async () => {
      const frame = zstdRleFrame({ bytes: declared, windowBytes: MiB, declared });
      const file = dumpFile(`rle-window-${declared}.dump`, { minor: 15, compression: 'zstd', entries: tableWithData(30, 'audit', frame) });
      const outcome = await inChild(file);
      expect(outcome).toMatchObject({ code: 'ARCHIVE_INVALID', details: { reason: 'decompression-bomb', limit: 'ratio' } });
      expect(outcome.details?.unpacked).toBeLessThan(80 * MiB);
      expect(outcome.maxRssMb).toBeLessThan(300);
    });
  }

  it('a zlib block of 96 MiB of newlines is stopped by the same budget', async () => {
    const dump: WriterDump = { minor: 14, compression: 'gzip', entries: tableWithData(40, 'log', deflateSync(Buffer.alloc(96 * MiB, 0x0a), { level: 9 })) };
    const file = dumpFile('zlib-bomb.dump', dump);
    const error = await failure(copyData(file, Readable.from([writePgDump(dump)])));
    expect(error.details).toMatchObject({ reason: 'decompression-bomb', limit: 'ratio' });
    expect(error.message).toMatch(/TABLE DATA public\.log \(dump id 41\)/);
  });
});

describe('length fields are bounded before anything is allocated', () => {
  /** The dump's bytes as a stream that would go on with `padding` zero bytes; counts what was pulled. */
  function lyingStream(bytes: Buffer, padding: number): { stream: Readable; pulled: () => number } {
    let pulled = 0;
    const stream = Readable.from((function* () {
      pulled += bytes.length;
      yield bytes;
      for (let left = padding; left > 0; left -= MiB) {
        pulled += MiB;
        yield Buffer.alloc(MiB);
      }
    })());
    return { stream, pulled: () => pulled };
  }

  it('four TOC definitions of 250 MiB each: refused at the first length field, from a pipe, naming field, entry, offset and limit', async () => {
    const entries = [1, 2, 3, 4].map((dumpId) => ({ dumpId, desc: 'VIEW', tag: `v${dumpId}`, defnClaim: 250 * MiB }));
    const { stream, pulled } = lyingStream(writePgDump({ minor: 15, entries }), 300 * MiB);
    const error = await failure(readPgDumpToc(stream));
    expect(error.code).toBe('ARCHIVE_INVALID');
    expect(error.details).toMatchObject({ reason: 'toc-limit', field: 'definition', value: 250 * MiB, limit: TOC_LIMITS.stringBytes, context: 'TOC entry 1 of 4' });
    expect(error.message).toMatch(/definition of TOC entry 1 of 4 \(length field at byte \d+\) says 262144000 bytes/);
    expect(pulled()).toBeLessThan(2 * MiB);
  });

  it('real strings under the per-field cap that together pass the TOC cap are refused at the first that crosses it', async () => {
    const defn = 'x'.repeat(15 * MiB);
    const entries = [1, 2, 3].map((dumpId) => ({ dumpId, desc: 'VIEW', tag: `v${dumpId}`, defn }));
    const error = await failure(readPgDumpToc(Readable.from([writePgDump({ minor: 15, entries })])));
    expect(error.details).toMatchObject({ reason: 'toc-limit', field: 'definition', limit: TOC_LIMITS.tocBytes, context: 'TOC entry 3 of 3' });
  });

  for (const count of [1_000_000, 5_000_000]) {
    it(`a TOC claiming ${count} entries is refused at its count`, async () => {
      const error = await failure(readPgDumpToc(Readable.from([writePgDump({ minor: 15, entries: tableWithData(1, 't', Buffer.alloc(0)), countClaim: count })])));
      expect(error.details).toMatchObject({ reason: 'toc-limit', field: 'entry count', value: count, limit: TOC_LIMITS.entries });
    });
  }

  it('the largest TOC accepted in entries stays well under 300 MB of RSS (child process)', async () => {
    const entries = Array.from({ length: TOC_LIMITS.entries - 1 }, (_, i) => ({ dumpId: i + 1, desc: 'COMMENT', tag: `comment ${i}`, defn: `COMMENT ON TABLE public.t${i} IS 'x';` }));
    const file = dumpFile('many-entries.dump', { minor: 15, compression: 'none', entries });
    const outcome = await inChild(file);
    expect(outcome).toMatchObject({ rows: [] });
    expect(outcome.maxRssMb).toBeLessThan(250);
  });
});

describe('a long zstd decode leaves the event loop turning and stops on abort', () => {
  const frame = zstdRleFrame({ bytes: 60 * MiB, windowBytes: MiB, declared: null });
  const dump: WriterDump = { minor: 15, compression: 'zstd', entries: tableWithData(50, 'rows', frame) };
  const file = dumpFile('long-decode.dump', dump);

  /** Feeds the whole dump as one chunk and counts setImmediate ticks while the data pass runs. */
  async function decodeCountingTicks(onTick: (ticks: number) => void, signal?: AbortSignal): Promise<{ result: unknown; ticks: number }> {
    const archive = await readPgDumpToc(file, { scanData: true });
    const input = new PassThrough();
    let ticks = 0;
    let running = true;
    const tick = (): void => {
      if (!running) return;
      ticks += 1;
      onTick(ticks);
      setImmediate(tick);
    };
    const reading = readCopyData(input, archive, { label: 'long-decode.dump', ...(signal ? { signal } : {}) });
    input.end(writePgDump(dump));
    setImmediate(tick);
    const result = await reading.then((r) => r, (e: unknown) => e).finally(() => {
      running = false;
    });
    return { result, ticks };
  }

  it('ticks scheduled before the read run during a 60 MiB decode, and the rows are counted', async () => {
    const { result, ticks } = await decodeCountingTicks(() => undefined);
    expect(result).toEqual(new Map([[51, { rows: 60 * MiB, text: null }]]));
    expect(ticks).toBeGreaterThanOrEqual(3);
  });

  it('aborting the signal mid-decode ends with CANCELLED', async () => {
    const controller = new AbortController();
    const { result } = await decodeCountingTicks((ticks) => {
      if (ticks === 2) controller.abort();
    }, controller.signal);
    expect(result).toBeInstanceOf(LifeboatError);
    expect((result as LifeboatError).code).toBe('CANCELLED');
  });
});
