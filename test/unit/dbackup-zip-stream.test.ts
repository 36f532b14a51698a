// DBackup's ZIP download read as it arrives: the file's bytes stream out (stored or DEFLATE), the
// sidecar after it is caught, and what the stream cannot read (sizes in a data descriptor) falls
// back with every byte replayed; broken ZIPs are typed errors.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { streamZipMember } from '../../src/main/apps/dbackup/zip-stream';
import { LifeboatError } from '../../src/shared/errors';
import { deflatedZeros, writeRawZip, type RawMember } from '../fleet/nojoin/zip-tools';

const FILE = 'Job_2026-11-24_02-00-00.sql.gz.enc';
const data = randomBytes(300_000);
const meta = Buffer.from('{"version":1}');

/** The ZIP in chunks of 1000 bytes, as a download arrives. */
const arriving = (zip: Buffer): Readable => Readable.from((function* () {
  for (let at = 0; at < zip.length; at += 1000) yield zip.subarray(at, at + 1000);
})());

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function unwrap(members: RawMember[]) {
  const others: [string, string][] = [];
  const result = await streamZipMember(arriving(writeRawZip(members)), FILE, { maxOther: 4096, onOther: (name, content) => others.push([name, content.toString()]) });
  return { result, others };
}

describe('streamZipMember', () => {
  for (const method of [0, 8] as const) {
    it(`streams a ${method === 0 ? 'stored' : 'DEFLATE'} member and catches the sidecar after it`, async () => {
      const { result, others } = await unwrap([{ name: FILE, data, method }, { name: `${FILE}.meta.json`, data: meta }]);
      expect(result.stream).not.toBeNull();
      expect((await collect(result.stream!)).equals(data)).toBe(true);
      expect(others).toEqual([[`${FILE}.meta.json`, meta.toString()]]);
    });
  }

  it('takes a sidecar that comes first, and a member in a folder', async () => {
    const { result, others } = await unwrap([{ name: `${FILE}.meta.json`, data: meta }, { name: `Job/${FILE}`, data, method: 0 }]);
    expect((await collect(result.stream!)).equals(data)).toBe(true);
    expect(others.map(([n]) => n)).toEqual([`${FILE}.meta.json`]);
  });

  it('a data descriptor falls back with the whole download replayed', async () => {
    const zip = writeRawZip([{ name: FILE, data, dataDescriptor: true }, { name: `${FILE}.meta.json`, data: meta }]);
    const result = await streamZipMember(arriving(zip), FILE, { maxOther: 4096, onOther: () => undefined });
    expect(result.stream).toBeNull();
    if (result.stream === null) expect((await collect(result.replay)).equals(zip)).toBe(true);
  });

  it('typed errors: a wrong CRC, a cut download, no such member, not a ZIP', async () => {
    const bad = await unwrap([{ name: FILE, data, method: 0, forceCrc: 1234 }]);
    await expect(collect(bad.result.stream!)).rejects.toMatchObject({ code: 'ARCHIVE_INVALID', message: /CRC-32/ });
    const zip = writeRawZip([{ name: FILE, data, method: 0 }]);
    const cut = await streamZipMember(arriving(zip.subarray(0, 100_000)), FILE, { maxOther: 4096, onOther: () => undefined });
    await expect(collect(cut.stream!)).rejects.toMatchObject({ code: 'ARCHIVE_INVALID', message: /ends inside/ });
    await expect(unwrap([{ name: 'other.txt', data: 'x' }])).rejects.toMatchObject({ code: 'ARCHIVE_INVALID', message: /holds no/ });
    await expect(streamZipMember(arriving(Buffer.from('<html>not a zip</html>')), FILE, { maxOther: 10, onOther: () => undefined })).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
  });
});

describe('streamZipMember and DEFLATE bombs (the shared decompress budget)', () => {
  const MEMBER = `${FILE}`;

  /** Reads the member's stream to its end or error; the bytes it gave and the download's bytes taken. */
  async function drain(zip: Buffer): Promise<{ error: unknown; delivered: number; downloaded: number }> {
    let downloaded = 0;
    const download = Readable.from((function* () {
      for (let at = 0; at < zip.length; at += 64 * 1024) {
        const chunk = zip.subarray(at, at + 64 * 1024);
        downloaded += chunk.length;
        yield chunk;
      }
    })());
    let delivered = 0;
    try {
      const result = await streamZipMember(download, FILE, { maxOther: 4096, onOther: () => undefined });
      for await (const chunk of result.stream!) delivered += (chunk as Buffer).length;
      return { error: null, delivered, downloaded };
    } catch (error) {
      return { error, delivered, downloaded };
    }
  }

  it('refuses the file whose header declares a bomb before inflating it, and one whose sizes lie small at 200:1 past 64 MiB, naming it', async () => {
    const bomb = await deflatedZeros(1024 ** 3);
    const honest = await drain(writeRawZip([{ name: MEMBER, data: '', deflated: bomb }, { name: `${FILE}.meta.json`, data: meta }]));
    expect(honest.error).toBeInstanceOf(LifeboatError);
    expect(honest.error).toMatchObject({ code: 'ARCHIVE_INVALID', details: { reason: 'decompression-bomb', limit: 'ratio', unpacked: 0 } });
    expect((honest.error as Error).message).toContain(`${FILE} in DBackup's ZIP download declares ${1024 ** 3} bytes unpacked`);
    expect(honest.delivered).toBe(0);

    // Claims 160 MiB (under 200:1 of its ~1 MiB): before the budget, all of it was inflated.
    const lying = await drain(writeRawZip([{ name: MEMBER, data: '', deflated: bomb, claim: { uncompressed: 160 * 1024 * 1024 } }, { name: `${FILE}.meta.json`, data: meta }]));
    expect(lying.error).toMatchObject({ code: 'ARCHIVE_INVALID', details: { reason: 'decompression-bomb', limit: 'ratio' } });
    expect((lying.error as Error).message).toContain(`${FILE} in DBackup's ZIP download unpacks to more than 200 times its compressed size`);
    expect(lying.delivered).toBeLessThan(100 * 1024 * 1024);
    expect(lying.downloaded).toBeLessThan(bomb.body.length / 2);
  }, 60_000);

  it('refuses a sidecar that inflates past its header, before holding it all', async () => {
    const sidecar = await deflatedZeros(256 * 1024 * 1024);
    const result = await drain(writeRawZip([{ name: `${FILE}.meta.json`, data: '', deflated: sidecar, claim: { uncompressed: 100 } }, { name: MEMBER, data, method: 0 }]));
    expect(result.error).toMatchObject({ code: 'ARCHIVE_INVALID', message: expect.stringContaining(`${FILE}.meta.json in DBackup's ZIP download is more than the 100 bytes its header says`) as unknown });
  }, 60_000);
});
