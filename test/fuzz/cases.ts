// The fuzz suite's cases: mutations of every app's real samples (test/fixtures), in a fixed-seed
// order so that a failing case replays. Generic mutations apply to every format (cuts at many points,
// bit flips, overwritten and zeroed regions, length-like fields set huge, duplicated regions, garbage
// appended or alone); format-specific ones add what only that format has: ZIP member names that
// escape (zip slip, absolute, backslash, symlink) and lying sizes, a valid gzip around a cut tar,
// gzip bombs by ratio and by total, sidecars that lie about size and checksum or do not parse, and
// wrong keys for the encrypted formats.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { constants, createBrotliCompress, createGzip, deflateSync, gunzipSync, gzipSync } from 'node:zlib';
import { databaseSidecar, dbackupFileName, encodePayload, sidecarText, type EncodedPayload } from '../fleet/dbackup/writer';
import { seededRandom } from '../fleet/loomio/samples';
import { centralDirectoryOnlyZip, deflatedZeros, readRawZip, writeRawZip } from '../fleet/nojoin/zip-tools';
import { tableWithData, writePgDump, zstdRleFrame } from '../harness/pgdump-writer';

const FIXTURES = path.resolve('test/fixtures');

/** One hostile input: the archive, its sidecars beside it, and the key to give when one is asked for. */
export interface FuzzCase {
  format: string;
  name: string;
  /** The file's name (its sidecars are named after it). */
  fileName: string;
  app: string;
  bytes: () => Buffer | Promise<Buffer>;
  sidecars?: { name: string; bytes: Buffer }[];
  /** Given when the archive asks for a key (KEY_REQUIRED). */
  key?: string;
  /** Set on the untouched sample: whether its preview must find it intact. */
  sampleIntact?: boolean;
  /** What the case must be refused with: a typed error's message, or a failed integrity check's detail. */
  refusal?: RegExp;
}

interface Sample {
  format: string;
  app: string;
  file: string;
  sidecars?: string[];
  key?: string;
  wrongKey?: string;
  kind?: 'zip' | 'tar.gz' | 'sidecar-json';
  /** What the untouched sample previews as (default: intact). */
  intact?: boolean;
  /** Add the hand-written hostile pg_dump archives (issue 17) to this sample's cases. */
  hostilePgDump?: boolean;
  /** Add the encrypted DBackup gzip and brotli bombs to this sample's cases. */
  dbackupBombs?: boolean;
}

const LOOMIO_KEY = 'a7863fc93a8c1c2511bbccbca8cac9dfbbae83b3ecce153db6c8e0c07f5f8cfe';
const DBACKUP_KEY = '920ce81f1f50362981876baeb0f6646a71c591cfe38d835e06cdc476873b0833';

/** The real samples each format's cases start from. */
export const SAMPLES: Sample[] = [
  { format: 'nojoin zip', app: 'nojoin', file: 'nojoin/nojoin_backup_sample.zip', kind: 'zip' },
  { format: 'meshmonitor tar.gz', app: 'meshmonitor', file: 'meshmonitor/2026-11-23_131719.tar.gz', kind: 'tar.gz' },
  { format: 'weavestream pg_dump', app: 'weavestream', file: 'weavestream/default-compression/weavestream-postgres-2026-11-23T13-16-59Z.dump', sidecars: ['weavestream-postgres-2026-11-23T13-16-59Z.manifest.json'], kind: 'sidecar-json', hostilePgDump: true },
  { format: 'weavestream pg_dump', app: 'weavestream', file: 'weavestream/z0-uncompressed/weavestream-postgres-2026-11-23T13-17-01Z.dump', sidecars: ['weavestream-postgres-2026-11-23T13-17-01Z.manifest.json'], kind: 'sidecar-json' },
  // These two came without a manifest: intact they are not (the manifest check fails), but they must preview.
  { format: 'weavestream pg_dump', app: 'weavestream', file: 'weavestream/extra-v1.14-seekable/pg15-seekable-default.dump', intact: false },
  { format: 'weavestream pg_dump', app: 'weavestream', file: 'weavestream/extra-v1.16-pg17-pglite/pg17-default.dump', intact: false },
  { format: 'loomio fernet', app: 'loomio', file: 'loomio/loomio-hourly-20261123-131211.sql.enc', key: LOOMIO_KEY, wrongKey: LOOMIO_KEY.replace(/^a7/, 'b8') },
  { format: 'loomio fernet', app: 'loomio', file: 'loomio/loomio_backup_20261123_131211.sql.enc', key: LOOMIO_KEY },
  { format: 'dbackup gcm', app: 'dbackup', file: 'dbackup/Loomio DB/Loomio_DB_2026-11-23_13-12-50.sql.gz.enc', sidecars: ['Loomio_DB_2026-11-23_13-12-50.sql.gz.enc.meta.json'], key: DBACKUP_KEY, wrongKey: DBACKUP_KEY.replace(/^92/, '29'), kind: 'sidecar-json', dbackupBombs: true },
  { format: 'dbackup gcm', app: 'dbackup', file: 'dbackup/Loomio All DBs/Loomio_All_DBs_2026-11-23_13-13-18.tar.gz.enc', sidecars: ['Loomio_All_DBs_2026-11-23_13-13-18.tar.gz.enc.meta.json'], key: DBACKUP_KEY, kind: 'sidecar-json' },
  { format: 'dbackup gcm', app: 'dbackup', file: 'dbackup/config-backups/config_backup_2026-11-23T13-12-50-765Z.json.gz', sidecars: ['config_backup_2026-11-23T13-12-50-765Z.json.gz.meta.json'], kind: 'sidecar-json' },
  { format: 'folder of archives', app: 'directory', file: 'directory/site-001.tar.gz', sidecars: ['site-001.tar.gz.sha256'], kind: 'tar.gz' },
];

type Mutation = (bytes: Buffer, random: () => number) => Buffer;

const int = (random: () => number, n: number): number => Math.floor(random() * n);

function flipBits(count: number): Mutation {
  return (bytes, random) => {
    const out = Buffer.from(bytes);
    for (let i = 0; i < count && out.length > 0; i += 1) out[int(random, out.length)]! ^= 1 << int(random, 8);
    return out;
  };
}

/** The generic mutations, each named; `random` decides where. */
const GENERIC: [string, Mutation][] = [
  ['empty', () => Buffer.alloc(0)],
  ['one byte', (b) => b.subarray(0, 1)],
  ['cut at a random point', (b, r) => b.subarray(0, int(r, b.length))],
  ['cut in the first 512 bytes', (b, r) => b.subarray(0, int(r, Math.min(512, b.length)))],
  ['cut one byte short', (b) => b.subarray(0, b.length - 1)],
  ['one bit flipped', flipBits(1)],
  ['eight bits flipped', flipBits(8)],
  ['64 bits flipped', flipBits(64)],
  ['a region overwritten with random bytes', (b, r) => {
    const out = Buffer.from(b);
    const at = int(r, out.length);
    for (let i = at; i < Math.min(out.length, at + 1 + int(r, 256)); i += 1) out[i] = int(r, 256);
    return out;
  }],
  ['a region zeroed', (b, r) => {
    const out = Buffer.from(b);
    const at = int(r, out.length);
    out.fill(0, at, Math.min(out.length, at + 1 + int(r, 4096)));
    return out;
  }],
  ['a length-like field set huge', (b, r) => {
    const out = Buffer.from(b);
    const at = int(r, Math.max(1, Math.min(out.length - 4, 4096)));
    if (out.length >= 4) (r() < 0.5 ? out.writeUInt32LE.bind(out) : out.writeUInt32BE.bind(out))(0x7fff_fff0 + int(r, 15), at);
    return out;
  }],
  ['a region duplicated in place', (b, r) => {
    const at = int(r, b.length);
    const length = 1 + int(r, 2048);
    return Buffer.concat([b.subarray(0, at + length), b.subarray(at, at + length), b.subarray(at + length)]);
  }],
  ['garbage appended', (b, r) => Buffer.concat([b, Buffer.from(Array.from({ length: 1 + int(r, 4096) }, () => int(r, 256)))])],
  ['random bytes of the same size', (b, r) => Buffer.from(Array.from({ length: b.length }, () => int(r, 256)))],
];

/** A ustar header of one regular member of `size` bytes. */
function tarHeader(member: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(member, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('0', 156);
  header.write('ustar\u000000', 257);
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

/**
 * `parts` compressed as one stream — each a buffer, or a count of zero bytes streamed 16 MiB at a
 * time, so a bomb is made without holding what it unpacks to. Brotli at quality 4 (DBackup's 10
 * makes the same few hundred bytes of zeros, only twenty times slower).
 */
async function compressParts(codec: 'gzip' | 'brotli', parts: (Buffer | number)[], gzipLevel?: number): Promise<Buffer> {
  const stream = codec === 'gzip' ? createGzip(gzipLevel === undefined ? {} : { level: gzipLevel }) : createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 4 } });
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject));
  const write = (chunk: Buffer): Promise<void> => new Promise((resolve) => (stream.write(chunk) ? resolve() : stream.once('drain', () => resolve())));
  const slice = Buffer.alloc(16 * 1024 * 1024);
  for (const part of parts) {
    if (typeof part !== 'number') await write(part);
    else for (let left = part; left > 0; left -= slice.length) await write(left >= slice.length ? slice : slice.subarray(0, left));
  }
  stream.end();
  await done;
  return Buffer.concat(out);
}

/** A tar with one member of `size` zero bytes, gzipped as one member: tiny on disk, huge when unpacked. */
const gzipBomb = (member: string, size: number): Promise<Buffer> => compressParts('gzip', [tarHeader(member, size), size, Buffer.alloc(1024)], 1);

/** Which bombs to make: the quick one (for `npm test`), or all (the full run). */
export type Bombs = 'small' | 'all';

function tarGzCases(sample: Sample, bytes: Buffer, random: () => number, bombs: Bombs): [string, FuzzCase['bytes']][] {
  const tar = gunzipSync(bytes);
  const cases: [string, FuzzCase['bytes']][] = [];
  for (let i = 0; i < 8; i += 1) {
    const at = int(random, tar.length);
    cases.push([`valid gzip around a tar cut at ${at}`, () => gzipSync(tar.subarray(0, at))]);
  }
  cases.push(['valid gzip around a tar with flipped header bits', () => gzipSync(Buffer.concat([flipBits(4)(tar.subarray(0, 512), random), tar.subarray(512)]))]);
  cases.push(['gzip of random bytes', () => gzipSync(Buffer.from(Array.from({ length: 4096 }, () => int(random, 256))))]);
  cases.push(['two gzip members, the second garbage', () => Buffer.concat([bytes, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3])])]);
  cases.push(['gzip bomb: one 256 MiB member', () => gzipBomb(`${path.basename(sample.file).replace(/\.tar\.gz$/, '')}/nodes.json`, 256 * 1024 * 1024)]);
  if (bombs === 'all') cases.push(['gzip bomb: one 2 GiB member', () => gzipBomb('bomb/zeros.json', 2 * 1024 * 1024 * 1024)]);
  return cases;
}

function zipCases(members: { name: string; data: Buffer }[], random: () => number, bombs: Bombs): [string, FuzzCase['bytes']][] {
  const rename = (to: (name: string) => string) => (): Buffer => {
    const index = int(random, members.length);
    return writeRawZip(members.map((m, i) => ({ name: i === index ? to(m.name) : m.name, data: m.data })));
  };
  const cases: [string, FuzzCase['bytes']][] = [
    ['zip slip: a member named ../', rename((n) => `../../${n}`)],
    ['a member with an absolute name', rename((n) => `/tmp/${n}`)],
    ['a member with a backslash name', rename((n) => n.replace(/\//g, '\\'))],
    ['a symlink member', () => writeRawZip([...members.map((m) => ({ name: m.name, data: m.data })), { name: 'link', data: '/etc/passwd', unixMode: 0o120777 }])],
    ['a member whose sizes lie', () => writeRawZip(members.map((m, i) => ({ name: m.name, data: m.data, ...(i === 0 ? { claim: { uncompressed: 3 } } : {}) })))],
    ['a member claiming 4 GiB', () => writeRawZip(members.map((m, i) => ({ name: m.name, data: m.data, ...(i === 0 ? { claim: { uncompressed: 0xffff_fff0 } } : {}) })))],
    ['a wrong CRC-32', () => writeRawZip(members.map((m, i) => ({ name: m.name, data: m.data, ...(i === 0 ? { forceCrc: 0xdeadbeef } : {}) })))],
    ['a member marked encrypted', () => writeRawZip(members.map((m, i) => ({ name: m.name, data: m.data, ...(i === 0 ? { extraFlags: 1 } : {}) })))],
    ['a member with an unknown method', () => writeRawZip(members.map((m, i) => ({ name: m.name, data: m.data, ...(i === 0 ? { recordMethod: 12 } : {}) })))],
    ['every member twice', () => writeRawZip([...members, ...members].map((m) => ({ name: m.name, data: m.data })))],
  ];
  /** The members with `bytes` zeros DEFLATE-compressed as `name` added, its sizes honest or `claimed`. */
  const deflateBomb = (name: string, bytes: number, claimed?: number) => async (): Promise<Buffer> =>
    writeRawZip([...members.map((m) => ({ name: m.name, data: m.data })), { name, data: '', deflated: await deflatedZeros(bytes), ...(claimed === undefined ? {} : { claim: { uncompressed: claimed } }) }]);
  cases.push(['zip bomb: 256 MiB of zeros DEFLATEd as audio, honest sizes', deflateBomb('recordings/bomb.opus', 256 * 1024 * 1024)]);
  // ~256 KiB compressed claiming 40 MiB (under 200:1), inflating to 256 MiB: stopped by the sizes or the budget.
  cases.push(['zip bomb: 256 MiB of zeros DEFLATEd as a table, sizes lying small', deflateBomb('bomb.json', 256 * 1024 * 1024, 40 * 1024 * 1024)]);
  if (bombs === 'all') cases.push(['zip bomb: 1.5 GiB of zeros DEFLATEd as audio, sizes lying small', deflateBomb('recordings/bomb.opus', 1.5 * 1024 ** 3, 160 * 1024 * 1024)]);
  if (bombs === 'all') cases.push(['a central directory of a million members', () => centralDirectoryOnlyZip(1_000_000)]);
  if (bombs === 'all') cases.push(['zip bomb: a 512 MiB JSON member by ratio', () => writeRawZip([...members.map((m) => ({ name: m.name, data: m.data })), { name: 'bomb.json', data: Buffer.alloc(512 * 1024 * 1024, 0x20) }])]);
  return cases;
}

/**
 * pg_dump 1.15/1.16 archives written from scratch: garbage zstd and zlib blocks, zstd frames of RLE
 * blocks declaring 256 MiB and 2 GiB (as their whole window, or with a 1 MiB window), a zlib bomb,
 * TOC definitions and entry counts whose lengths lie in a short file.
 */
function pgDumpCases(bombs: Bombs): [string, FuzzCase['bytes']][] {
  const MiB = 1024 * 1024;
  const table = (compression: 'zstd' | 'gzip', data: Buffer, minor: 15 | 16 = 15) => (): Buffer => writePgDump({ minor, compression, entries: tableWithData(10, 'users', data) });
  const cases: [string, FuzzCase['bytes']][] = [
    ['pg_dump 1.15: a block of garbage zstd', table('zstd', Buffer.from('28b52ffd0000deadbeefdeadbeefdeadbeefdeadbeef', 'hex'))],
    ['pg_dump 1.16: a block of garbage zlib', table('gzip', Buffer.from('789c' + 'deadbeef'.repeat(16), 'hex'), 16)],
    ['pg_dump 1.15: a zstd frame of RLE blocks declaring 256 MiB as its window', table('zstd', zstdRleFrame({ bytes: 256 * MiB, declared: 256 * MiB }))],
    ['pg_dump 1.15: a zstd frame of RLE blocks declaring 2 GiB as its window', table('zstd', zstdRleFrame({ bytes: 16 * MiB, declared: 2048 * MiB }))],
    ['pg_dump 1.15: a zstd frame of RLE blocks, 1 MiB window, 256 MiB of content', table('zstd', zstdRleFrame({ bytes: 256 * MiB, windowBytes: MiB }))],
    ['pg_dump 1.15: four TOC definitions claiming 250 MiB each', () => writePgDump({ minor: 15, entries: [1, 2, 3, 4].map((dumpId) => ({ dumpId, desc: 'VIEW', tag: `v${dumpId}`, defnClaim: 250 * MiB })) })],
    ['pg_dump 1.15: a TOC claiming 1 M entries', () => writePgDump({ minor: 15, entries: tableWithData(1, 't', Buffer.alloc(0)), countClaim: 1_000_000 })],
    ['pg_dump 1.15: a TOC claiming 5 M entries', () => writePgDump({ minor: 15, entries: tableWithData(1, 't', Buffer.alloc(0)), countClaim: 5_000_000 })],
  ];
  if (bombs === 'all') {
    cases.push(['pg_dump 1.15: a zstd frame of RLE blocks, 1 MiB window, 2 GiB of content', table('zstd', zstdRleFrame({ bytes: 2048 * MiB, windowBytes: MiB }))]);
    cases.push(['pg_dump 1.16: a zlib block of 96 MiB of newlines', table('gzip', deflateSync(Buffer.alloc(96 * MiB, 0x0a), { level: 9 }), 16)]);
  }
  return cases;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * DBackup files encrypted as DBackup does (AES-256-GCM with the sample profile's key, IV and tag in
 * the sidecar, SHA-256 and MD5 of the stored bytes) whose plaintext is a gzip or a brotli bomb of
 * `bytes` zeros: a single database dump with an honest sidecar, and a multi-DB TAR whose sidecar
 * (`logicalSize`, the only unpacked size a database sidecar has) and manifest say the member is
 * 1 MiB. Each must be refused naming the file or the member, the shared budget stopping it at
 * 200:1 past 64 MiB, whatever the sidecar claims.
 */
async function dbackupBombCases(bombs: Bombs): Promise<Pick<FuzzCase, 'name' | 'fileName' | 'bytes' | 'sidecars' | 'refusal'>[]> {
  const MiB = 1024 * 1024;
  const bytes = bombs === 'all' ? 2048 * MiB : 256 * MiB;
  const at = new Date('2026-12-01T02:00:00Z');
  const key = Buffer.from(DBACKUP_KEY, 'hex');
  const cases: Pick<FuzzCase, 'name' | 'fileName' | 'bytes' | 'sidecars' | 'refusal'>[] = [];
  for (const codec of ['gzip', 'brotli'] as const) {
    const compression = codec === 'gzip' ? 'GZIP' : 'BROTLI';
    /** Encrypts `parts` compressed; `refused` is what the refusal names (the file, or its member). */
    const add = async (name: string, kind: 'sql' | 'tar', parts: (Buffer | number)[], sidecar: (encoded: EncodedPayload, fileName: string) => Record<string, unknown>, refused: (fileName: string) => string): Promise<void> => {
      const fileName = dbackupFileName('Bomb Job', at, kind, compression, true);
      // A fixed IV per case, so that a failing case replays byte for byte.
      const encoded = encodePayload(await compressParts(codec, parts), { compression: null, key, iv: createHash('md5').update(name).digest() });
      cases.push({
        name,
        fileName,
        bytes: () => encoded.stored,
        sidecars: [{ name: `${fileName}.meta.json`, bytes: Buffer.from(sidecarText(sidecar(encoded, fileName))) }],
        refusal: new RegExp(`^${escapeRegExp(refused(fileName))} unpacks to more than .*: a decompression bomb`),
      });
    };
    await add(`dbackup ${codec} bomb: ${bytes / MiB} MiB of zeros as a database dump, honest sidecar`, 'sql', [bytes], (encoded, fileName) => databaseSidecar({ jobName: 'Bomb Job', databases: ['bomb'], at, fileName, compression }, encoded), (fileName) => fileName);
    const manifest = Buffer.from(JSON.stringify({ version: 1, createdAt: at.toISOString(), sourceType: 'postgres', engineVersion: '15', databases: [{ name: 'bomb', filename: 'bomb.dump', size: MiB, format: 'custom' }], totalSize: MiB }, null, 2));
    const tar = [tarHeader('manifest.json', manifest.length), manifest, Buffer.alloc(-manifest.length & 511), tarHeader('bomb.dump', bytes), bytes, Buffer.alloc(1024)];
    await add(`dbackup ${codec} bomb: ${bytes / MiB} MiB of zeros as a TAR member, sidecar and manifest saying 1 MiB`, 'tar', tar, (encoded, fileName) => ({ ...databaseSidecar({ jobName: 'Bomb Job', databases: ['bomb'], at, fileName, compression, multiDb: true }, encoded), logicalSize: MiB }), (fileName) => `${fileName}: member bomb.dump`);
  }
  return cases;
}

interface SidecarLie {
  name: string;
  sidecars: (original: Buffer) => Buffer;
}

function sidecarCases(sample: Sample): SidecarLie[] {
  const lies: SidecarLie[] = [
    { name: 'sidecar that does not parse', sidecars: (s) => s.subarray(0, Math.floor(s.length / 2)) },
    { name: 'sidecar naming another checksum', sidecars: (s) => Buffer.from(s.toString('utf8').replace(/[0-9a-f]{64}/, createHash('sha256').update('other').digest('hex'))) },
    { name: 'sidecar lying about the size', sidecars: (s) => Buffer.from(s.toString('utf8').replace(/("(?:size|sizeBytes|fileSize|compressedSize)"\s*:\s*)\d+/, '$1123')) },
    { name: 'sidecar of 4 MiB', sidecars: (s) => Buffer.concat([s, Buffer.alloc(4 * 1024 * 1024 + 1, 0x20)]) },
    { name: 'sidecar that is an array', sidecars: () => Buffer.from('[1,2,3]') },
  ];
  return sample.sidecars?.length ? lies : [];
}

/**
 * Every case, in a fixed order for the seed: `perSample` generic mutations of each sample (cycling
 * through the generic kinds), then the format-specific ones. `bombs` adds the slow-to-make bombs.
 */
export async function fuzzCases(options: { seed: number; perSample: number; bombs: Bombs }): Promise<FuzzCase[]> {
  const random = seededRandom(options.seed);
  const cases: FuzzCase[] = [];
  for (const sample of SAMPLES) {
    const file = path.join(FIXTURES, sample.file);
    const original = readFileSync(file);
    const sidecars = (sample.sidecars ?? []).map((name) => ({ name, bytes: readFileSync(path.join(path.dirname(file), name)) }));
    const base = { format: sample.format, app: sample.app, fileName: path.basename(file), sidecars, ...(sample.key ? { key: sample.key } : {}) };
    for (let i = 0; i < options.perSample; i += 1) {
      const [kind, mutate] = GENERIC[i % GENERIC.length]!;
      const seed = int(random, 2 ** 31);
      cases.push({ ...base, name: `${sample.file}: ${kind} (#${i})`, bytes: () => mutate(original, seededRandom(seed)) });
    }
    const specific = sample.kind === 'zip' ? zipCases(await readRawZip(original), random, options.bombs) : sample.kind === 'tar.gz' ? tarGzCases(sample, original, random, options.bombs) : [];
    for (const [kind, make] of specific) cases.push({ ...base, name: `${sample.file}: ${kind}`, bytes: make });
    if (sample.hostilePgDump) {
      for (const [kind, make] of pgDumpCases(options.bombs)) cases.push({ ...base, name: `hostile pg_dump: ${kind}`, fileName: 'hostile.dump', sidecars: [], bytes: make });
    }
    if (sample.dbackupBombs) {
      for (const bomb of await dbackupBombCases(options.bombs)) cases.push({ ...base, ...bomb });
    }
    for (const lie of sidecarCases(sample)) {
      cases.push({ ...base, name: `${sample.file}: ${lie.name}`, bytes: () => original, sidecars: sidecars.map((s, i) => (i === 0 ? { name: s.name, bytes: lie.sidecars(s.bytes) } : s)) });
    }
    if (sample.wrongKey) cases.push({ ...base, name: `${sample.file}: the wrong key`, bytes: () => original, key: sample.wrongKey });
    if (sample.key) cases.push({ ...base, name: `${sample.file}: no key at all`, bytes: () => original, key: undefined });
    cases.push({ ...base, name: `${sample.file}: the sample itself`, bytes: () => original, sampleIntact: sample.intact ?? true });
  }
  return cases;
}
