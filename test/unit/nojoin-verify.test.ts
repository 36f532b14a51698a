// The Nojoin stream verifier and ZIP reader on the real sample archive and on copies of it
// damaged in every way the spec and the brief name: truncation, flipped bits, hostile names,
// symlinks, a too-new format, a bad row, a lost audio member, and the zip-bomb caps.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { IntegrityCheck } from '../../src/shared/apps';
import { LifeboatError } from '../../src/shared/errors';
import { assertNojoinWillRestore, scanNojoinArchive } from '../../src/main/apps/nojoin/format/scan';
import { NojoinStreamVerifier } from '../../src/main/apps/nojoin/format/stream-verifier';
import { bufferByteSource, fileByteSource, NojoinZip, openZip, reopeningByteSource, type ZipLimits } from '../../src/main/apps/nojoin/format/zip';
import { openAudioMember } from '../../src/main/apps/nojoin/format/audio';
import { deflatedZeros, memberDataOffset, readRawZip, rewriteZip, writeRawZip, type RawMember } from '../fleet/nojoin/zip-tools';

const SAMPLE_PATH = path.resolve('test/fixtures/nojoin/nojoin_backup_sample.zip');
const AUDIO = 'recordings/3b0d6c1e-6a4f-4d8e-9b7a-2f1c5e8a9d10.opus';
const CHECK_IDS = ['zip-structure', 'member-crc', 'backup-info', 'format-version', 'json-members', 'table-rows', 'audio-members', 'document-members'];

let sample: Buffer;
let staging: string;

beforeAll(async () => {
  sample = await readFile(SAMPLE_PATH);
  staging = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-nojoin-verify-'));
});
afterAll(async () => {
  await rm(staging, { recursive: true, force: true });
});

/** Streams `zip` through the verifier in chunks of `chunk` bytes, as a pull does. */
async function verify(zip: Buffer, options: { chunk?: number; zipLimits?: Partial<ZipLimits> } = {}): Promise<IntegrityCheck[]> {
  const verifier = new NojoinStreamVerifier({ stagingDir: staging, label: 'test.zip', ...(options.zipLimits ? { zipLimits: options.zipLimits } : {}) });
  const chunk = options.chunk ?? 7001;
  for (let i = 0; i < zip.length; i += chunk) verifier.write(zip.subarray(i, i + chunk));
  return verifier.finish({ size: zip.length, sha256: createHash('sha256').update(zip).digest('hex') });
}

function failed(checks: IntegrityCheck[]): IntegrityCheck[] {
  return checks.filter((c) => !c.ok);
}

function only(checks: IntegrityCheck[], id: string): IntegrityCheck {
  const bad = failed(checks);
  expect(bad.map((c) => c.id)).toEqual([id]);
  return bad[0]!;
}

/** The sample with one JSON member edited. */
function editJson(name: string, edit: (value: unknown) => unknown): Promise<Buffer> {
  return rewriteZip(sample, (m) => (m.name === name ? { name, data: JSON.stringify(edit(JSON.parse(m.data.toString('utf8'))), null, 2) } : m));
}

describe('the real sample', () => {
  it('passes every check, with stable ids, whatever the chunking', async () => {
    for (const chunk of [1 << 20, 4096, 333]) {
      const checks = await verify(sample, { chunk });
      expect(checks.map((c) => c.id)).toEqual(CHECK_IDS);
      expect(failed(checks)).toEqual([]);
    }
    const checks = await verify(sample);
    expect(checks.find((c) => c.id === 'audio-members')?.detail).toContain("2 of 3 rows have no member, as backup_info.json's warnings say (2)");
    expect(checks.find((c) => c.id === 'table-rows')?.detail).toContain('22 rows in 20 table files');
  });

  it('spools the headers between checked members without a fresh 1 MiB block per member', async () => {
    // Twelve stored 1 MiB documents: each is checked as it streams, only its header is spooled.
    const docs = Array.from({ length: 12 }, (_, i) => ({ name: `documents/scan-${i}.bin`, data: Buffer.alloc(1024 * 1024, i + 1), method: 0 as const }));
    const big = await rewriteZip(sample, (m) => m, docs);
    const allocate = vi.spyOn(Buffer, 'allocUnsafe');
    try {
      expect(failed(await verify(big, { chunk: 64 * 1024 }))).toEqual([]);
      // One block at the start, one per block actually filled (the sample's members are small):
      // before, each part-filled block was handed to the disk whole and a new one made per member.
      expect(allocate.mock.calls.filter(([size]) => size === 1024 * 1024).length).toBeLessThan(4);
    } finally {
      allocate.mockRestore();
    }
  });

  it('leaves no temp copy behind', async () => {
    await verify(sample);
    expect(await readdir(staging)).toEqual([]);
  });

  it('reads the central directory and members at random', async () => {
    const zip = await NojoinZip.open(bufferByteSource(sample), { label: 'sample' });
    try {
      expect(zip.members).toHaveLength(23);
      expect(zip.members[22]?.name).toBe('backup_info.json');
      expect(zip.member(AUDIO)).toMatchObject({ method: 8, uncompressedSize: 27206 });
      const info = JSON.parse((await zip.readMember('backup_info.json', 4096)).toString('utf8')) as { format_version: number };
      expect(info.format_version).toBe(2);
      expect(await assertNojoinWillRestore(zip)).toMatchObject({ ok: true, formatVersion: 2 });
    } finally {
      await zip.close();
    }
  });

  it('streams an audio member whole (CRC-checked) or as a byte range', async () => {
    const zip = await NojoinZip.open(bufferByteSource(sample), { label: 'sample' });
    try {
      const expected = (await readRawZip(sample)).find((m) => m.name === AUDIO)!.data;
      const whole = await openAudioMember(zip, AUDIO);
      expect(whole).toMatchObject({ size: 27206, start: 0, end: 27205, contentType: 'audio/ogg; codecs=opus' });
      const chunks: Buffer[] = [];
      for await (const chunk of whole.stream) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(expected)).toBe(true);
      const slice = await openAudioMember(zip, AUDIO, { start: 1000, end: 20999 });
      const parts: Buffer[] = [];
      for await (const chunk of slice.stream) parts.push(chunk as Buffer);
      expect(Buffer.concat(parts).equals(expected.subarray(1000, 21000))).toBe(true);
      await expect(openAudioMember(zip, 'recordings/7d2e9a41-0c5b-4f3e-8a6d-5b4c3d2e1f00.wav')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(openAudioMember(zip, 'users.json')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      await expect(openAudioMember(zip, AUDIO, { start: 0, end: 27206 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    } finally {
      await zip.close();
    }
  });

  it('lists a stream-only archive and plays one member from it: the tail read once, the member by re-opening', async () => {
    // Big enough that the central directory is not at the start: 1 MiB of noise after the members.
    const big = await rewriteZip(sample, (m) => m, [{ name: 'documents/noise.bin', data: Buffer.alloc(1024 * 1024, 7), method: 0 }]);
    let opens = 0;
    const streamOnly = {
      fileName: 'snapshot.zip',
      size: big.length,
      open: async () => {
        opens++;
        const stream = new PassThrough();
        stream.end(big);
        return stream;
      },
    };
    const zip = await openZip(reopeningByteSource(streamOnly, 128 * 1024), { label: 'snapshot.zip' });
    try {
      expect(zip.members).toHaveLength(24);
      expect(opens).toBe(1);
      const { stream } = await openAudioMember(zip, AUDIO);
      let bytes = 0;
      for await (const chunk of stream) bytes += (chunk as Buffer).length;
      expect(bytes).toBe(27206);
      // One pass for the member's local header, one for its data; neither reads past the member.
      expect(opens).toBe(3);
    } finally {
      await zip.close();
    }
  });

  it('reads the same archive rewritten with data descriptors and stored members', async () => {
    const rewritten = await rewriteZip(sample, (m) => ({ ...m, dataDescriptor: true, method: m.name.endsWith('.opus') ? 0 : 8 }));
    expect(failed(await verify(rewritten))).toEqual([]);
  });
});

describe('damaged copies', () => {
  it('a truncated archive fails the structure check', async () => {
    for (const cut of [sample.length - 10, Math.floor(sample.length / 2), 100]) {
      const check = only(await verify(sample.subarray(0, cut)), 'zip-structure');
      expect(check.detail).toContain('not a complete ZIP');
    }
  });

  it('a flipped bit in a table member fails its CRC and names it', async () => {
    const damaged = Buffer.from(sample);
    const { offset, length } = memberDataOffset(damaged, 'recordings.json');
    damaged[offset + Math.floor(length / 2)]! ^= 0x10;
    const checks = await verify(damaged);
    const crc = checks.find((c) => c.id === 'member-crc')!;
    expect(crc.ok).toBe(false);
    expect(crc.detail).toContain('"recordings.json"');
  });

  it('a flipped bit in the audio member fails its CRC and names it', async () => {
    const damaged = Buffer.from(sample);
    const { offset, length } = memberDataOffset(damaged, AUDIO);
    damaged[offset + length - 40]! ^= 0x01;
    const check = only(await verify(damaged), 'member-crc');
    expect(check.detail).toContain(AUDIO);
    const zip = await NojoinZip.open(bufferByteSource(damaged), { label: 'damaged' });
    try {
      const { stream } = await openAudioMember(zip, AUDIO);
      await expect((async () => {
        for await (const chunk of stream) void chunk;
      })()).rejects.toMatchObject({ code: 'ARCHIVE_INVALID', details: { member: AUDIO } });
    } finally {
      await zip.close();
    }
  });

  it('a CRC recorded wrong (bytes intact) fails the CRC check', async () => {
    const forged = await rewriteZip(sample, (m) => (m.name === 'users.json' ? { ...m, forceCrc: 0x12345678 } : m));
    expect(only(await verify(forged), 'member-crc').detail).toMatch(/"users\.json".*CRC-32 is 81dc2e24, the archive says 12345678/);
  });

  it.each([
    ['recordings/../../x', 'zip slip'],
    ['../evil.json', 'zip slip'],
    ['/etc/cron.d/evil', 'absolute path'],
    ['C:/evil.txt', 'absolute path'],
    ['recordings\\evil.opus', 'backslash'],
  ])('refuses a member named %j (%s)', async (name, why) => {
    const hostile = await rewriteZip(sample, (m) => m, [{ name, data: 'x' }]);
    const check = only(await verify(hostile), 'zip-structure');
    expect(check.detail).toContain(`"${name}"`);
    expect(check.detail).toContain(why);
  });

  it('refuses a symlink entry', async () => {
    const hostile = await rewriteZip(sample, (m) => m, [{ name: 'recordings/link.opus', data: '/etc/passwd', unixMode: 0o120777 }]);
    expect(only(await verify(hostile), 'zip-structure').detail).toContain('"recordings/link.opus" as a symbolic link');
  });

  it('refuses two members of one name', async () => {
    const twice = await rewriteZip(sample, (m) => m, [{ name: 'users.json', data: '[]' }]);
    expect(only(await verify(twice), 'zip-structure').detail).toContain('two members named "users.json"');
  });

  it('notices a local header that names another file than the central directory', async () => {
    const forged = Buffer.from(sample);
    const at = forged.indexOf(Buffer.from('users.json'));
    forged.write('usera.json', at);
    // The central directory copy of the name is untouched; the CRC still matches the data.
    expect(only(await verify(forged), 'zip-structure').detail).toContain('names it "usera.json"');
  });

  it('refuses a format_version 3 claim', async () => {
    const newer = await editJson('backup_info.json', (info) => ({ ...(info as object), format_version: 3 }));
    const check = only(await verify(newer), 'format-version');
    expect(check.kind).toBe('compatibility');
    expect(check.detail).toContain('claims format 3');
  });

  it('names the bad row: a recording without a name', async () => {
    const bad = await editJson('recordings.json', (rows) => (rows as Record<string, unknown>[]).map((r) => (r.id === 102 ? { ...r, name: undefined } : r)));
    const check = only(await verify(bad), 'table-rows');
    expect(check.detail).toContain('recordings.json row 2 (id 102): "name" is missing');
    const zip = await NojoinZip.open(bufferByteSource(bad), { label: 'bad' });
    try {
      const error = await assertNojoinWillRestore(zip).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LifeboatError);
      expect(error).toMatchObject({ code: 'ARCHIVE_INVALID', details: { member: 'recordings.json', row: 1, id: 102, field: 'name' } });
    } finally {
      await zip.close();
    }
  });

  it('names an unknown enum value', async () => {
    const bad = await editJson('transcripts.json', (rows) => (rows as Record<string, unknown>[]).map((r) => (r.id === 503 ? { ...r, transcript_status: 'done' } : r)));
    expect(only(await verify(bad), 'table-rows').detail).toContain('transcripts.json row 3 (id 503): "transcript_status" is "done"');
  });

  it('a recording whose audio member was lost fails, naming member and row', async () => {
    const lost = await rewriteZip(sample, (m) => (m.name === AUDIO ? null : m));
    const check = only(await verify(lost), 'audio-members');
    expect(check.detail).toContain(`recordings.json row 1 (id 101) points at "${AUDIO}", which is not in the archive`);
    expect(check.detail).toContain('backup_info.json accounts for only 2');
  });

  it('missing audio is fine when the export left audio out', async () => {
    const lost = await rewriteZip(sample, (m) => (m.name === AUDIO ? null : m));
    const withoutAudio = await rewriteZip(lost, (m) =>
      m.name === 'backup_info.json' ? { name: m.name, data: JSON.stringify({ ...(JSON.parse(m.data.toString()) as object), include_audio: false }) } : m,
    );
    expect(failed(await verify(withoutAudio))).toEqual([]);
  });

  it('a .json member anywhere that does not parse fails, with line and column', async () => {
    const broken = await rewriteZip(sample, (m) => m, [{ name: 'documents/notes.json', data: '{\n  "a": [1, 2,\n}' }]);
    expect(only(await verify(broken), 'json-members').detail).toMatch(/documents\/notes\.json is not valid JSON: .* at line 3, column 1/);
    const table = await rewriteZip(sample, (m) => (m.name === 'tags.json' ? { name: m.name, data: '[{"name": "x"}' } : m));
    expect(only(await verify(table), 'json-members').detail).toContain('tags.json (near row 2) is not valid JSON');
  });

  it('a missing backup_info.json fails', async () => {
    const bare = await rewriteZip(sample, (m) => (m.name === 'backup_info.json' ? null : m));
    const bad = failed(await verify(bare)).map((c) => c.id);
    expect(bad).toContain('backup-info');
  });
});

describe('caps (zip bombs, absurd JSON)', () => {
  async function openError(zip: Buffer, limits: Partial<ZipLimits>): Promise<LifeboatError> {
    const error = await NojoinZip.open(bufferByteSource(zip), { label: 'capped', limits }).then(
      () => new Error('expected a refusal'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LifeboatError);
    return error as LifeboatError;
  }

  it('refuses more members than the cap', async () => {
    const error = await openError(sample, { maxMembers: 10 });
    expect(error.code).toBe('ARCHIVE_INVALID');
    expect(error.message).toContain('lists 23 members, more than the 10');
  });

  it('refuses a member that claims a huge compression ratio, naming it', async () => {
    const bomb = writeRawZip([{ name: 'recordings/bomb.opus', data: Buffer.alloc(80 * 1024 * 1024) }]);
    const error = await openError(bomb, {});
    expect(error.details).toMatchObject({ member: 'recordings/bomb.opus', reason: 'decompression-bomb', limit: 'ratio' });
    expect(error.message).toMatch(/more than 200 times its compressed size/);
    expect(only(await verify(bomb), 'zip-structure').detail).toContain('decompression bomb');
  });

  it('refuses an archive that unpacks to more than the total cap', async () => {
    const members: RawMember[] = Array.from({ length: 4 }, (_, i) => ({ name: `documents/${i}.bin`, data: Buffer.alloc(1000, i) }));
    const error = await openError(writeRawZip(members), { maxTotalUncompressedBytes: 2500 });
    expect(error.details?.member).toBe('documents/2.bin');
  });

  it('refuses JSON nested deeper than the cap, naming the member', async () => {
    const deep = await rewriteZip(sample, (m) => m, [{ name: 'documents/deep.json', data: `${'['.repeat(200)}${']'.repeat(200)}` }]);
    const zip = await NojoinZip.open(bufferByteSource(deep), { label: 'deep' });
    try {
      const scan = await scanNojoinArchive(zip);
      const error = scan.failures.find((f) => f.details?.member === 'documents/deep.json');
      expect(error).toMatchObject({ code: 'ARCHIVE_INVALID', details: { cap: 'depth' } });
      expect(error?.message).toContain("nesting is deeper than 64 levels");
    } finally {
      await zip.close();
    }
  });

  it('refuses a table row over the size cap, naming member and row', async () => {
    const zip = await NojoinZip.open(bufferByteSource(sample), { label: 'sample' });
    try {
      const scan = await scanNojoinArchive(zip, { json: { maxCapturedChars: 2000 } });
      const error = scan.failures.find((f) => f.details?.cap === 'size');
      expect(error?.details).toMatchObject({ member: 'global_speakers.json', row: 0 });
      expect(error?.message).toContain('global_speakers.json (near row 1) is refused');
    } finally {
      await zip.close();
    }
  });
});

describe('DEFLATE bombs in a Nojoin archive (the shared decompress budget)', () => {
  const BOMB_BYTES = 1.5 * 1024 ** 3;
  const BOMB = 'recordings/bomb.opus';
  let bomb: { body: Buffer; crc: number; size: number };

  beforeAll(async () => {
    // 1.5 GiB of zeros: about 1.5 MiB compressed (over the 1 MiB from which the stream verifier
    // checks a member as it passes).
    bomb = await deflatedZeros(BOMB_BYTES);
  }, 60_000);

  /** Bytes the archive's members inflate to, as read through `openMember`. */
  async function scanCountingInflated(zip: Buffer): Promise<{ failures: LifeboatError[]; inflated: number }> {
    let inflated = 0;
    const open = NojoinZip.prototype.openMember;
    const spy = vi.spyOn(NojoinZip.prototype, 'openMember').mockImplementation(async function (this: NojoinZip, ...args: Parameters<NojoinZip['openMember']>): Promise<Readable> {
      const stream = await open.apply(this, args);
      stream.on('data', (chunk: Buffer) => (inflated += chunk.length));
      return stream;
    });
    // From a file, read in 256 KiB pieces as a pull's spooled copy is.
    const file = path.join(staging, 'bomb.zip');
    await writeFile(file, zip);
    const opened = await NojoinZip.open(await fileByteSource(file), { label: 'bomb.zip' });
    try {
      const scan = await scanNojoinArchive(opened);
      return { failures: scan.failures, inflated };
    } finally {
      spy.mockRestore();
      await opened.close();
    }
  }

  it('refuses a member whose honest directory sizes declare the bomb, before inflating it, naming it', async () => {
    expect(bomb.body.length).toBeLessThan(2 * 1024 * 1024);
    expect(bomb.body.length).toBeGreaterThan(1024 * 1024);
    const zip = await rewriteZip(sample, (m) => m, [{ name: BOMB, data: '', deflated: bomb }]);
    const error = (await NojoinZip.open(bufferByteSource(zip), { label: 'bomb.zip' }).then(
      () => new Error('expected a refusal'),
      (e: unknown) => e,
    )) as LifeboatError;
    expect(error).toBeInstanceOf(LifeboatError);
    expect(error.code).toBe('ARCHIVE_INVALID');
    expect(error.details).toMatchObject({ member: BOMB, reason: 'decompression-bomb', limit: 'ratio', unpacked: 0 });
    expect(error.message).toContain(`"${BOMB}" of bomb.zip declares ${BOMB_BYTES} bytes unpacked from ${bomb.body.length}`);
    const check = only(await verify(zip, { chunk: 256 * 1024 }), 'zip-structure');
    expect(check.detail).toContain(`"${BOMB}" of test.zip declares`);
    expect(check.detail).toContain('decompression bomb');
  });

  it('stops a streamed audio member whose sizes lie small at the ratio bound, naming it, far before its end', async () => {
    // Claims 160 MiB (under 200:1 of its ~1 MiB): the header's size alone would let it inflate that far.
    const zip = await rewriteZip(sample, (m) => m, [{ name: BOMB, data: '', deflated: bomb, claim: { uncompressed: 160 * 1024 * 1024 } }]);
    const check = only(await verify(zip, { chunk: 64 * 1024 }), 'member-crc');
    expect(check.detail).toContain(`"${BOMB}" of test.zip unpacks to more than 200 times its compressed size`);
    const unpacked = Number(/\((\d+) bytes from \d+\)/.exec(check.detail)?.[1]);
    expect(unpacked).toBeGreaterThan(64 * 1024 * 1024);
    expect(unpacked).toBeLessThan(128 * 1024 * 1024);
  });

  it('stops a member read from the directory whose sizes lie small, naming it, having inflated far less than it holds', async () => {
    const name = 'documents/bomb.json';
    for (const claim of [{ uncompressed: 1000 }, { uncompressed: 160 * 1024 * 1024 }]) {
      const zip = await rewriteZip(sample, (m) => m, [{ name, data: '', deflated: bomb, claim }]);
      const { failures, inflated } = await scanCountingInflated(zip);
      const failure = failures.find((f) => f.details?.member === name);
      expect(failure?.code).toBe('ARCHIVE_INVALID');
      expect(failure?.message).toContain(name);
      // Before the shared budget the 160 MiB claim was inflated to its end.
      expect(inflated).toBeLessThan(100 * 1024 * 1024);
    }
  });
});
