// The tar helpers under MeshMonitor archives: hostile members are refused, caps hold, output is real tar.
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTarGz, iterateTarGz, type TarLimits } from '../../src/main/formats/tar';
import { LifeboatError } from '../../src/shared/errors';

const run = promisify(execFile);
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-tar-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

type RawMember = { name: string; type?: 'file' | 'symlink' | 'link' | 'directory'; data?: string; linkname?: string };

/** A .tar.gz built member by member with tar-stream, so that hostile headers can be written. */
async function rawTarGz(members: RawMember[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const m of members) {
    const data = Buffer.from(m.data ?? '');
    const isFile = (m.type ?? 'file') === 'file';
    const header = { name: m.name, type: m.type ?? 'file', size: isFile ? data.length : 0, ...(m.linkname ? { linkname: m.linkname } : {}) };
    if (isFile) pack.entry(header, data);
    else pack.entry(header, Buffer.alloc(0));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of (pack as unknown as Readable).pipe(createGzip())) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function list(archive: Buffer, limits?: Partial<TarLimits>): Promise<{ name: string; text: string }[]> {
  const out: { name: string; text: string }[] = [];
  for await (const entry of iterateTarGz(Readable.from([archive]), { limits })) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry.stream) chunks.push(chunk as Buffer);
    out.push({ name: entry.name, text: Buffer.concat(chunks).toString() });
  }
  return out;
}

async function refused(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LifeboatError);
  expect((error as LifeboatError).code).toBe('ARCHIVE_INVALID');
  return (error as LifeboatError).message;
}

describe('iterateTarGz', () => {
  it('lists plain members, normalising "./" and skipping directory members', async () => {
    const archive = await rawTarGz([{ name: 'b/', type: 'directory' }, { name: './b/one.json', data: '[1]' }, { name: 'b/two.json', data: '[]' }]);
    expect(await list(archive)).toEqual([
      { name: 'b/one.json', text: '[1]' },
      { name: 'b/two.json', text: '[]' },
    ]);
  });

  it('skips members the consumer does not read', async () => {
    const archive = await rawTarGz([{ name: 'a', data: 'x'.repeat(100_000) }, { name: 'b', data: 'yz' }]);
    const names: string[] = [];
    let last = '';
    for await (const entry of iterateTarGz(Readable.from([archive]))) {
      names.push(entry.name);
      if (entry.name === 'b') for await (const chunk of entry.stream) last += String(chunk);
    }
    expect(names).toEqual(['a', 'b']);
    expect(last).toBe('yz');
  });

  it.each([
    ['../evil.json', 'climbs out'],
    ['ok/../../evil.json', 'climbs out'],
    ['/etc/passwd', 'absolute'],
    ['C:/windows/evil', 'absolute'],
    ['a\\..\\evil', 'backslash'],
  ])('refuses the member name %s', async (name, why) => {
    expect(await refused(list(await rawTarGz([{ name, data: 'x' }])))).toContain(why);
  });

  it('refuses symbolic and hard links', async () => {
    expect(await refused(list(await rawTarGz([{ name: 'link', type: 'symlink', linkname: '/etc/passwd' }])))).toContain('symlink');
    expect(await refused(list(await rawTarGz([{ name: 'hard', type: 'link', linkname: 'other' }])))).toContain('link');
  });

  it('enforces the entry-count, entry-size and total-size caps', async () => {
    const three = await rawTarGz([{ name: 'a', data: '1234' }, { name: 'b', data: '1234' }, { name: 'c', data: '1234' }]);
    expect(await refused(list(three, { maxEntries: 2 }))).toContain('more than 2 members');
    expect(await refused(list(three, { maxEntryBytes: 3 }))).toContain('over the 3-byte limit');
    expect(await refused(list(three, { maxTotalBytes: 10 }))).toContain('more than 10 bytes');
    expect(await list(three, { maxEntries: 3, maxEntryBytes: 4, maxTotalBytes: 12 })).toHaveLength(3);
  });

  it('refuses a gzip bomb of padding even when no member is large', async () => {
    const bomb = Buffer.concat([await rawTarGz([{ name: 'a', data: 'x' }])]);
    const zeros = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const gz = createGzip();
      gz.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
      gz.end(Buffer.alloc(4 * 1024 * 1024));
    });
    // A second gzip member of zeros: gunzip concatenates members, tar sees endless zero blocks.
    expect(await refused(list(Buffer.concat([bomb, zeros]), { maxEntries: 10, maxTotalBytes: 1024 }))).toContain('unpacks to more than');
  });

  it('stops a bomb by ratio early: one member of 1 GiB of zeros is refused long before its end', async () => {
    const header = { name: 'nodes.json', size: 1024 ** 3 };
    const pack = tar.pack();
    const zeros = Buffer.alloc(1024 * 1024);
    const member = pack.entry(header) as unknown as NodeJS.WritableStream;
    const gzipped: Buffer[] = [];
    const gzip = createGzip({ level: 1 }).on('data', (chunk: Buffer) => gzipped.push(chunk));
    const packed = new Promise<void>((resolve, reject) => gzip.on('end', () => resolve()).on('error', reject));
    (pack as unknown as Readable).pipe(gzip);
    for (let i = 0; i < 1024; i += 1) if (!member.write(zeros)) await new Promise<void>((r) => member.once('drain', () => r()));
    member.end();
    pack.finalize();
    await packed;
    let read = 0;
    const error = await (async () => {
      // In 64 KiB reads, as from a file or socket.
      const bytes = Buffer.concat(gzipped);
      const reads = Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, i) => bytes.subarray(i * 65_536, (i + 1) * 65_536));
      for await (const entry of iterateTarGz(Readable.from(reads))) for await (const chunk of entry.stream) read += (chunk as Buffer).length;
    })().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(LifeboatError);
    expect((error as LifeboatError).message).toMatch(/more than 200 times its compressed size .*a decompression bomb/);
    // Refused once past the 64 MiB floor, not after unpacking the whole gigabyte.
    expect(read).toBeLessThan(128 * 1024 ** 2);
    // A valid gzip around a cut tar is a typed error too, not "Unexpected end of data".
    const cut = await rawTarGz([{ name: 'a.json', data: 'x'.repeat(50_000) }]);
    const { gunzipSync, gzipSync } = await import('node:zlib');
    const message = await refused(list(gzipSync(gunzipSync(cut).subarray(0, 20_000))));
    expect(message).toMatch(/a\.json.*cut short|not a valid tar/);
  }, 120_000);

  it('refuses members whose headers declare more than the total cap before reading them', async () => {
    // Two ustar headers declaring 2 GiB each (octal 20000000000) and no data behind them.
    const header = (name: string): Buffer => {
      const block = Buffer.alloc(512);
      block.write(name, 0);
      block.write('0000644\0', 100);
      block.write('0000000\0', 108);
      block.write('0000000\0', 116);
      block.write('20000000000\0', 124);
      block.write('00000000000\0', 136);
      block.write('0', 156);
      block.write('ustar\u000000', 257);
      block.write('        ', 148);
      let sum = 0;
      for (const byte of block) sum += byte;
      block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
      return block;
    };
    const { gzipSync } = await import('node:zlib');
    const lying = gzipSync(Buffer.concat([header('nodes.json'), Buffer.from('[]')]));
    let read = 0;
    const error = await (async () => {
      for await (const entry of iterateTarGz(Readable.from([lying]), { limits: { maxTotalBytes: 1024 ** 3 } })) for await (const chunk of entry.stream) read += (chunk as Buffer).length;
    })().then(() => null, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'ARCHIVE_INVALID', message: expect.stringContaining('more than 1073741824 bytes') as unknown });
    expect(read).toBe(0);
    expect(await refused(list(lying, { maxEntryBytes: 1024 ** 3 }))).toContain('"nodes.json" is 2147483648 bytes, over the 1073741824-byte limit');
  });

  it('refuses a truncated archive', async () => {
    const archive = await rawTarGz([{ name: 'a', data: 'x'.repeat(50_000) }]);
    await refused(list(archive.subarray(0, Math.floor(archive.length / 2))));
  });
});

describe('createTarGz', () => {
  it('writes an archive GNU tar reads back byte for byte, from buffers and streams', async () => {
    const big = Buffer.alloc(300_000, 7);
    const out = path.join(tmp, 'made.tar.gz');
    await pipeline(
      createTarGz([
        { name: 'd/a.json', data: '[1,2]' },
        { name: 'd/big.bin', stream: Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]), size: big.length },
      ]),
      createWriteStream(out),
    );
    const { stdout } = await run('tar', ['-tvzf', out]);
    expect(stdout).toMatch(/-rw-r--r-- 0\/0\s+5 .* d\/a\.json/);
    await run('tar', ['-xzf', out, '-C', tmp]);
    expect(await readFile(path.join(tmp, 'd/big.bin'))).toEqual(big);
  });

  it('fails the output when a stream is shorter than announced, and refuses unsafe names', async () => {
    const short = createTarGz([{ name: 'x', stream: Readable.from([Buffer.from('abc')]), size: 10 }]);
    await expect(pipeline(short, createWriteStream(path.join(tmp, 'short.tar.gz')))).rejects.toThrow();
    const unsafe = createTarGz([{ name: '../x', data: 'a' }]);
    await expect(pipeline(unsafe, createWriteStream(path.join(tmp, 'unsafe.tar.gz')))).rejects.toThrow(/climbs out/);
  });
});
