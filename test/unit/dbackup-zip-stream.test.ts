// DBackup's ZIP download read as it arrives: the file's bytes stream out (stored or DEFLATE), the
// sidecar after it is caught, and what the stream cannot read (sizes in a data descriptor) falls
// back with every byte replayed; broken ZIPs are typed errors.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { streamZipMember } from '../../src/main/apps/dbackup/zip-stream';
import { writeRawZip, type RawMember } from '../fleet/nojoin/zip-tools';

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
