// The Nojoin preview (`nojoinModule.format.preview`) and the stream verifier every pull uses, on
// about 315 mutated copies of the real sample in a fixed-seed loop: cuts at many offsets, flipped
// bits, zip-slip, absolute and backslash names, symlink entries, zip bombs by ratio, by lying sizes,
// by total and by overlap, a million-member central directory, huge and deeply nested JSON, rows
// with wrong types, archives claiming format 3, a big audio member (which the verifier checks as it
// streams) damaged in several ways, and broken ZIP structure. Each ends as a report
// (intact or not) or a typed LifeboatError — never another exception, never a hang (a cap per case,
// generous: it detects hangs, it is no speed test) — with the process's peak RSS bounded, and
// nothing written anywhere but the staging directory, which is empty again after every case.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntegrityCheck } from '../../src/shared/apps';
import { LifeboatError } from '../../src/shared/errors';
import type { ArchiveAccess } from '../../src/main/apps/adapter';
import type { FormatContext } from '../../src/main/apps/module';
import { nojoinModule } from '../../src/main/apps/nojoin';
import { NojoinStreamVerifier } from '../../src/main/apps/nojoin/format/stream-verifier';
import { formatContext } from '../harness/format-context';
import { seededRandom } from '../fleet/loomio/samples';
import { centralDirectoryOnlyZip, readRawZip, writeRawZip, type RawMember } from '../fleet/nojoin/zip-tools';

const SAMPLE_PATH = path.resolve('test/fixtures/nojoin/nojoin_backup_sample.zip');
const AUDIO = 'recordings/3b0d6c1e-6a4f-4d8e-9b7a-2f1c5e8a9d10.opus';
/** Per case, preview and verifier together; a hang detector for a loaded 2-core machine, not a speed target. */
const CASE_CAP_MS = 90_000;
/** Peak RSS growth of this process over the loop (measured ~600–700 MB: the 66 Mi-character row is held as text, bytes, ZIP and the capped capture; a bomb inflated into memory would be GiBs). */
const RSS_CAP_MB = 1024;

// The same sequence on every run, so a failing case replays.
const random = seededRandom(0x6e6f6a6e);
const int = (n: number): number => Math.floor(random() * n);
const pick = <T,>(items: readonly T[]): T => items[int(items.length)]!;

interface Case {
  kind: string;
  name: string;
  make: () => Buffer | Promise<Buffer>;
  /** 'fail': the report must fail (or a typed error come); 'pass': it must be intact; 'any': either. */
  expect: 'fail' | 'pass' | 'any';
  /** A check id that must be among the failed ones. */
  failedCheck?: string;
  /** Text some failed check (or the error) must contain: the member or row at fault. */
  mention?: string;
  /** Member names whose extraction target must not appear on disk. */
  hostileNames?: string[];
}

let sample: Buffer;
let members: { name: string; data: Buffer }[];
let root: string;
let staging: string;
let scratchTmp: string;
let inputs: string;
let savedTmpdir: string | undefined;
let ctx: FormatContext;

/** The sample's members with `edit` applied (null drops one), plus `extra`, written raw. */
function build(edit: (m: { name: string; data: Buffer }) => RawMember | null = (m) => m, extra: RawMember[] = []): Buffer {
  return writeRawZip([...members.map(edit).filter((m): m is RawMember => m !== null), ...extra]);
}
const withMember = (name: string, data: Buffer | string, more: Partial<RawMember> = {}): Buffer =>
  build((m) => (m.name === name ? { name, data, ...more } : m), members.some((m) => m.name === name) ? [] : [{ name, data, ...more }]);
const rowsOf = (table: string): Record<string, unknown>[] => JSON.parse(members.find((m) => m.name === `${table}.json`)!.data.toString('utf8')) as Record<string, unknown>[];
const manifest = (): Record<string, unknown> => JSON.parse(members.find((m) => m.name === 'backup_info.json')!.data.toString('utf8')) as Record<string, unknown>;
const flip = (bytes: Buffer, count: number, range: [number, number] = [0, bytes.length]): Buffer => {
  const out = Buffer.from(bytes);
  for (let i = 0; i < count; i++) out[range[0] + int(range[1] - range[0])]! ^= 1 << int(8);
  return out;
};
/** Compressed data of every member of the sample (offset, length), from the local headers. */
function dataRanges(zip: Buffer): { name: string; offset: number; length: number }[] {
  const out: { name: string; offset: number; length: number }[] = [];
  for (let at = 0; zip.readUInt32LE(at) === 0x04034b50; ) {
    const nameLength = zip.readUInt16LE(at + 26);
    const offset = at + 30 + nameLength + zip.readUInt16LE(at + 28);
    const length = zip.readUInt32LE(at + 18);
    out.push({ name: zip.subarray(at + 30, at + 30 + nameLength).toString('utf8'), offset, length });
    at = offset + length;
  }
  return out;
}
const nested = (depth: number, open: string, close: string, inner = '0'): string => `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

const WRONG_VALUES: unknown[] = [null, 0, -1, 1.5, 2 ** 60, '', 'x', 'not-a-date', '2026-02-30T10:00:00', true, false, [], [1, 2], {}, { a: 1 }, 'Ω'.repeat(300), '../../etc/passwd'];

/** The cases, in a fixed order; random choices come from the seeded generator as each is made. */
function cases(): Case[] {
  const list: Case[] = [];
  const add = (c: Case) => list.push(c);
  const eocd = sample.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const directory = sample.readUInt32LE(eocd + 16);
  const ranges = dataRanges(sample);

  // 1. Truncation at key offsets (headers, the directory's edges, the end record) and at random ones.
  const cuts = [0, 1, 3, 4, 21, 22, 29, 30, 31, 100, directory - 1, directory, directory + 1, directory + 46, eocd - 1, eocd, eocd + 1, eocd + 21, sample.length - 1, sample.length - 2];
  for (const r of ranges.slice(0, 4)) cuts.push(r.offset - 1, r.offset + Math.floor(r.length / 2));
  while (cuts.length < 44) cuts.push(1 + int(sample.length - 2));
  for (const cut of cuts) add({ kind: 'truncated', name: `cut at ${cut}`, make: () => sample.subarray(0, cut), expect: 'fail', failedCheck: 'zip-structure' });

  // 2. Bit flips anywhere (may land in a timestamp and change nothing), and inside members' compressed data (must be caught).
  for (let i = 0; i < 45; i++) {
    const count = 1 + int(8);
    add({ kind: 'bit flips anywhere', name: `${count} flips #${i}`, make: () => flip(sample, count), expect: 'any' });
  }
  for (let i = 0; i < 25; i++) {
    const r = ranges[i % ranges.length]!;
    if (r.length < 8) continue;
    // Not the last two bytes: the final block's padding bits are ignored by every inflater.
    add({ kind: 'bit flip in member data', name: `${r.name} #${i}`, make: () => flip(sample, 1, [r.offset, r.offset + r.length - 2]), expect: 'fail', failedCheck: 'member-crc', mention: r.name });
  }

  // 3. Hostile names: as an extra member and as the name of a table file.
  const hostile: [string, string][] = [
    ['../evil.json', 'zip slip'], ['recordings/../../evil.opus', 'zip slip'], ['a/../../b.json', 'zip slip'], ['..', 'zip slip'], ['../', 'zip slip'],
    ['./../x.json', 'zip slip'], ['recordings/../../../tmp/evil', 'zip slip'], ['documents/../../../../etc/cron.d/x', 'zip slip'],
    ['/etc/cron.d/evil', 'absolute path'], ['/tmp/evil.json', 'absolute path'], ['//server/share/x', 'absolute path'], ['C:/evil.txt', 'absolute path'],
    ['c:evil.txt', 'absolute path'], ['C:\\evil.txt', 'backslash'], ['\\evil.json', 'backslash'], ['\\\\server\\share\\x', 'backslash'],
    ['recordings\\evil.opus', 'backslash'], ['documents\\..\\..\\evil.json', 'backslash'], ['..\\evil.json', 'backslash'],
    ['a\u0000b.json', 'control characters'], ['x\ny.json', 'control characters'], ['tab\there.json', 'control characters'],
  ];
  for (const [name, why] of hostile) {
    add({ kind: 'hostile name', name: `extra ${JSON.stringify(name)}`, make: () => build(undefined, [{ name, data: '{"x": 1}' }]), expect: 'fail', failedCheck: 'zip-structure', mention: why, hostileNames: [name] });
    const table = pick(members.filter((m) => m.name.endsWith('.json') && !m.name.includes('/'))).name;
    add({ kind: 'hostile name', name: `${table} renamed ${JSON.stringify(name)}`, make: () => build((m) => (m.name === table ? { name, data: m.data } : m)), expect: 'fail', failedCheck: 'zip-structure', mention: why, hostileNames: [name] });
  }
  add({ kind: 'hostile name', name: 'a 60 000-character name', make: () => build(undefined, [{ name: `documents/${'a'.repeat(60_000)}.bin`, data: 'x' }]), expect: 'any' });
  add({ kind: 'hostile name', name: 'an empty name', make: () => build(undefined, [{ name: '', data: 'x' }]), expect: 'any' });
  add({ kind: 'hostile name', name: 'two members of one name', make: () => build(undefined, [{ name: 'users.json', data: '[]' }]), expect: 'fail', failedCheck: 'zip-structure', mention: 'two members named "users.json"' });

  // 4. Symlink entries (Unix mode in the external attributes).
  const links: [string, string, number][] = [
    ['recordings/link.opus', '/etc/passwd', 0o120777], ['users.json', '../../etc/passwd', 0o120777], ['documents/', '/', 0o120755],
    ['backup_info.json', '/etc/hostname', 0o120644], ['documents/x.json', 'x', 0o120000], [AUDIO, '/dev/zero', 0o120777],
  ];
  for (const [name, target, mode] of links) {
    add({ kind: 'symlink', name: `${name} → ${target}`, make: () => withMember(name, target, { unixMode: mode, method: 0 }), expect: 'fail', failedCheck: 'zip-structure', mention: 'symbolic link', hostileNames: [name] });
  }

  // 5. Zip bombs.
  const zeros = (mib: number) => Buffer.alloc(mib * 1024 * 1024);
  add({ kind: 'zip bomb', name: 'ratio: 80 MiB of zeros as audio (past 200:1 beyond 64 MiB)', make: () => build(undefined, [{ name: 'recordings/bomb.opus', data: zeros(80) }]), expect: 'fail', failedCheck: 'zip-structure', mention: 'decompression bomb' });
  add({ kind: 'zip bomb', name: 'ratio: 66 MiB of zeros as a document', make: () => build(undefined, [{ name: 'documents/bomb.bin', data: zeros(66) }]), expect: 'fail', failedCheck: 'zip-structure', mention: 'decompression bomb' });
  add({ kind: 'zip bomb', name: 'ratio: 72 MiB of spaces as users.json', make: () => withMember('users.json', Buffer.alloc(72 * 1024 * 1024, 0x20)), expect: 'fail', failedCheck: 'zip-structure', mention: 'users.json' });
  add({ kind: 'zip bomb', name: 'lying size: 64 MiB of zeros that claim 1 000 000 bytes', make: () => build(undefined, [{ name: 'documents/liar.bin', data: zeros(64), claim: { uncompressed: 1_000_000 } }]), expect: 'fail', failedCheck: 'member-crc', mention: 'documents/liar.bin' });
  add({ kind: 'zip bomb', name: 'lying size: a table that inflates past its claim', make: () => build((m) => (m.name === 'recordings.json' ? { ...m, claim: { uncompressed: 100 } } : m)), expect: 'fail', failedCheck: 'member-crc', mention: 'recordings.json' });
  add({ kind: 'zip bomb', name: 'claimed ratio: 4 GiB from a few bytes', make: () => build(undefined, [{ name: 'recordings/claim.opus', data: 'tiny', claim: { uncompressed: 0xfffffff0 } }]), expect: 'fail', failedCheck: 'zip-structure', mention: 'recordings/claim.opus' });
  add({
    kind: 'zip bomb', name: 'by total: 17 members claiming 4 GiB each at a 186:1 ratio',
    make: () => build(undefined, Array.from({ length: 17 }, (_, i) => ({ name: `recordings/t${i}.opus`, data: 'x', claim: { uncompressed: 0xfffffff0, compressed: 22 * 1024 * 1024 } }))),
    expect: 'fail', failedCheck: 'zip-structure', mention: 'over Lifeboat\'s cap',
  });
  add({ kind: 'zip bomb', name: 'overlap: 2 000 entries over one local header', make: () => centralDirectoryOnlyZip(2000), expect: 'fail', failedCheck: 'zip-structure', mention: 'overlap' });
  add({ kind: 'zip bomb', name: 'a bomb ZIP inside, stored (never unpacked)', make: () => build(undefined, [{ name: 'documents/inner.zip', data: writeRawZip([{ name: 'bomb', data: zeros(16) }]), method: 0 }]), expect: 'pass' });

  // 6. Many members.
  add({ kind: 'many members', name: '10^6 members (Zip64 central directory only)', make: () => centralDirectoryOnlyZip(1_000_000), expect: 'fail', failedCheck: 'zip-structure', mention: '1000000 members' });
  add({ kind: 'many members', name: '50 001 members', make: () => centralDirectoryOnlyZip(50_001), expect: 'fail', failedCheck: 'zip-structure', mention: 'more than the 50000' });
  add({ kind: 'many members', name: '49 999 members over one header', make: () => centralDirectoryOnlyZip(49_999), expect: 'fail', failedCheck: 'zip-structure', mention: 'overlap' });
  add({
    kind: 'many members', name: 'an end record claiming 65 535 members over 23',
    make: () => {
      const lying = Buffer.from(sample);
      lying.writeUInt16LE(0xfffe, eocd + 8);
      lying.writeUInt16LE(0xfffe, eocd + 10);
      return lying;
    },
    expect: 'fail', failedCheck: 'zip-structure',
  });
  add({ kind: 'many members', name: '20 000 real empty members', make: () => build(undefined, Array.from({ length: 20_000 }, (_, i) => ({ name: `documents/f${i}.txt`, data: '', method: 0 as const }))), expect: 'pass' });

  // 7. Huge JSON.
  const bigRow = (chars: number) => `[{"id": 1, "created_at": "2026-01-01T00:00:00", "recording_id": 101, "transcript_status": "completed", "text": "${'x'.repeat(chars)}"}]`;
  add({ kind: 'huge JSON', name: 'one 66 Mi-character row (stored)', make: () => withMember('transcripts.json', bigRow(66 * 1024 * 1024), { method: 0 }), expect: 'fail', failedCheck: 'json-members', mention: 'transcripts.json (near row 1)' });
  add({ kind: 'huge JSON', name: 'a 64 MB document of numbers (stored)', make: () => build(undefined, [{ name: 'documents/numbers.json', data: `[${Array.from({ length: 8 * 1024 * 1024 }, (_, i) => i % 1000).join(',')}]`, method: 0 }]), expect: 'pass' });
  add({
    kind: 'huge JSON', name: '300 000 tag rows',
    make: () => {
      const tag = rowsOf('tags')[0]!;
      const rows = Array.from({ length: 300_000 }, (_, i) => JSON.stringify({ ...tag, id: 1000 + i, name: `tag ${i}` }));
      return withMember('tags.json', `[\n${rows.join(',\n')}\n]`);
    },
    expect: 'pass',
  });
  add({ kind: 'huge JSON', name: 'a 2 MiB backup_info.json', make: () => withMember('backup_info.json', JSON.stringify({ ...manifest(), pad: ' '.repeat(2 * 1024 * 1024) }), { method: 0 }), expect: 'fail', failedCheck: 'backup-info', mention: 'backup_info.json' });
  add({ kind: 'huge JSON', name: 'a 20 Mi-character config.json', make: () => withMember('config.json', JSON.stringify({ pad: 'y'.repeat(20 * 1024 * 1024) }), { method: 0 }), expect: 'fail', failedCheck: 'json-members', mention: 'config.json' });
  add({ kind: 'huge JSON', name: 'a 1 000-digit number in a row', make: () => withMember('tags.json', `[{"id": ${'9'.repeat(1000)}, "name": "x"}]`), expect: 'fail', failedCheck: 'json-members', mention: 'tags.json' });
  add({ kind: 'huge JSON', name: 'a 1 Mi-character key in a row', make: () => withMember('tags.json', JSON.stringify([{ ...rowsOf('tags')[0], ['k'.repeat(1024 * 1024)]: 1 }])), expect: 'any' });

  // 8. Deep nesting, in each kind of JSON member.
  for (const depth of [65, 100, 1_000, 100_000]) {
    add({ kind: 'deep nesting', name: `a table of depth ${depth}`, make: () => withMember('p_tags.json', nested(depth, '[', ']')), expect: 'fail', failedCheck: 'json-members', mention: 'p_tags.json' });
    add({ kind: 'deep nesting', name: `a row field of depth ${depth}`, make: () => withMember('users.json', `[{"username": "deep", "hashed_password": "x", "settings": ${nested(depth, '{"a":', '}', '1')}}]`), expect: 'fail', failedCheck: 'json-members', mention: 'users.json' });
    add({ kind: 'deep nesting', name: `a document of depth ${depth}`, make: () => build(undefined, [{ name: 'documents/deep.json', data: nested(depth, '[', ']') }]), expect: 'fail', failedCheck: 'json-members', mention: 'documents/deep.json' });
    add({ kind: 'deep nesting', name: `backup_info.json of depth ${depth}`, make: () => withMember('backup_info.json', `{"format_version": 2, "x": ${nested(depth, '[', ']')}}`), expect: 'fail', failedCheck: 'backup-info', mention: 'backup_info.json' });
    add({ kind: 'deep nesting', name: `config.json of depth ${depth}`, make: () => withMember('config.json', nested(depth, '{"a":', '}', '{}')), expect: 'fail', failedCheck: 'json-members', mention: 'config.json' });
  }
  add({ kind: 'deep nesting', name: 'a document of depth 63 (allowed)', make: () => build(undefined, [{ name: 'documents/ok.json', data: nested(63, '[', ']') }]), expect: 'pass' });

  // 9. Wrong types in rows: known refusals, then random fields set to random values.
  const fixed: [string, (rows: Record<string, unknown>[]) => unknown, string][] = [
    ['recordings', (rows) => rows.map((r, i) => (i === 1 ? { ...r, name: null } : r)), 'recordings.json row 2'],
    ['recordings', (rows) => rows.map((r, i) => (i === 0 ? { ...r, status: 'DONE' } : r)), 'recordings.json row 1'],
    ['recordings', (rows) => rows.map((r, i) => (i === 2 ? { ...r, id: 'abc' } : r)), 'recordings.json row 3'],
    ['recordings', (rows) => rows.map((r, i) => (i === 0 ? { ...r, created_at: 'yesterday' } : r)), 'recordings.json row 1'],
    ['recordings', (rows) => rows.map((r, i) => (i === 0 ? { ...r, audio_path: '../../etc/passwd' } : r)), 'recordings.json row 1'],
    ['users', (rows) => [...rows, 42], 'users.json row 3'],
    ['users', (rows) => [[], ...rows], 'users.json row 1'],
    ['users', (rows) => ['alice', ...rows], 'users.json row 1'],
    ['users', (rows) => rows.map((r) => ({ ...r, hashed_password: undefined })), 'users.json row 1'],
    ['transcripts', (rows) => rows.map((r) => ({ ...r, transcript_status: 7 })), 'transcripts.json row 1'],
    ['tags', () => ({ not: 'an array' }), 'tags.json'],
    ['tags', () => 'rows', 'tags.json'],
  ];
  for (const [table, edit, mention] of fixed) {
    add({ kind: 'wrong types (known)', name: `${table}: ${mention}`, make: () => withMember(`${table}.json`, JSON.stringify(edit(rowsOf(table)), null, 2)), expect: 'fail', mention });
  }
  const tablesWithRows = members.filter((m) => m.name.endsWith('.json') && !m.name.includes('/') && m.name !== 'backup_info.json' && m.name !== 'config.json' && m.data.length > 2).map((m) => m.name.replace(/\.json$/, ''));
  for (let i = 0; i < 45; i++) {
    const table = pick(tablesWithRows);
    const rows = rowsOf(table);
    const index = int(rows.length);
    const field = pick(Object.keys(rows[index]!));
    const value = pick(WRONG_VALUES);
    rows[index] = { ...rows[index], [field]: value };
    const text = JSON.stringify(rows, null, 2);
    // Any failure must be the row check (or, for a path field, the member it points at) and name the table.
    add({ kind: 'wrong types (random)', name: `${table}.json row ${index + 1} "${field}" = ${JSON.stringify(value).slice(0, 30)}`, make: () => withMember(`${table}.json`, text), expect: 'any', mention: `${table}.json` });
  }

  // 10. Format version claims.
  const claims: [string, 'fail' | 'any'][] = [['3', 'fail'], ['4', 'fail'], ['99', 'fail'], ['3.0', 'fail'], ['"3"', 'any'], ['2.5', 'any'], ['-1', 'any'], ['0', 'any'], ['null', 'any'], ['true', 'any'], ['1e400', 'any'], ['9007199254740995', 'fail'], ['[3]', 'any'], ['{"v": 3}', 'any']];
  for (const [claim, expected] of claims) {
    add({
      kind: 'format claim', name: `format_version ${claim}`,
      make: () => withMember('backup_info.json', JSON.stringify(manifest(), null, 2).replace(/"format_version": 2/, `"format_version": ${claim}`)),
      expect: expected, ...(expected === 'fail' ? { failedCheck: 'format-version', mention: 'claims format' } : {}),
    });
  }
  add({ kind: 'format claim', name: 'format 3 with a table Lifeboat does not know', make: () => build((m) => (m.name === 'backup_info.json' ? { name: m.name, data: JSON.stringify({ ...manifest(), format_version: 3 }) } : m), [{ name: 'meeting_rooms.json', data: '[{"id": 1}]' }]), expect: 'fail', failedCheck: 'format-version' });

  // 11. A big audio member (checked by the verifier as it streams, not spooled): intact, damaged, lying.
  const opusHead = members.find((m) => m.name === AUDIO)!.data.subarray(0, 64);
  const bigAudio = (bytes: number) => Buffer.concat([opusHead, Buffer.from(Array.from({ length: bytes - 64 }, () => int(256)))]);
  const big = bigAudio(3 * 1024 * 1024);
  const withBig = (more: Partial<RawMember> = {}) => build((m) => (m.name === AUDIO ? { name: AUDIO, data: big, ...more } : m));
  for (const method of [8, 0] as const) {
    const intact = withBig({ method });
    const at = dataRanges(intact).find((r) => r.name === AUDIO)!;
    add({ kind: 'big audio', name: `intact (method ${method})`, make: () => intact, expect: 'pass' });
    add({ kind: 'big audio', name: `data descriptor (method ${method})`, make: () => withBig({ method, dataDescriptor: true }), expect: 'pass' });
    for (let i = 0; i < 3; i++) add({ kind: 'big audio', name: `a flipped bit (method ${method}) #${i}`, make: () => flip(intact, 1, [at.offset, at.offset + at.length - 2]), expect: 'fail', failedCheck: 'member-crc', mention: AUDIO });
    add({ kind: 'big audio', name: `cut inside (method ${method})`, make: () => intact.subarray(0, at.offset + Math.floor(at.length / 2)), expect: 'fail', failedCheck: 'zip-structure' });
    add({ kind: 'big audio', name: `a wrong CRC recorded (method ${method})`, make: () => withBig({ method, forceCrc: 0x1234 }), expect: 'fail', failedCheck: 'member-crc', mention: AUDIO });
    add({ kind: 'big audio', name: `a size claimed short (method ${method})`, make: () => withBig({ method, claim: { uncompressed: 2 * 1024 * 1024 } }), expect: 'fail', mention: AUDIO });
  }
  add({ kind: 'big audio', name: 'a 1.5 MiB DEFLATE member that inflates past its claim', make: () => build(undefined, [{ name: 'documents/big.bin', data: bigAudio(2 * 1024 * 1024), claim: { uncompressed: 1_000_000 } }]), expect: 'fail', failedCheck: 'member-crc', mention: 'documents/big.bin' });

  // 12. ZIP structure and encodings.
  const misc: [string, () => Buffer, Case['expect'], string?, string?][] = [
    ['an encrypted member', () => build((m) => (m.name === 'users.json' ? { ...m, extraFlags: 0x1 } : m)), 'fail', 'zip-structure', 'encrypted'],
    ['method 12 (bzip2)', () => build((m) => (m.name === 'users.json' ? { ...m, recordMethod: 12 } : m)), 'fail', 'zip-structure', 'method 12'],
    ['method 99 (AES)', () => build((m) => (m.name === AUDIO ? { ...m, recordMethod: 99 } : m)), 'fail', 'zip-structure', 'method 99'],
    ['method 1 (shrunk)', () => build((m) => (m.name === 'tags.json' ? { ...m, recordMethod: 1 } : m)), 'fail', 'zip-structure', 'method 1'],
    ['stored recorded as DEFLATE', () => build((m) => (m.name === 'tags.json' ? { ...m, method: 0, recordMethod: 8 } : m)), 'fail', 'member-crc', 'tags.json'],
    ['a wrong CRC recorded', () => build((m) => (m.name === 'recordings.json' ? { ...m, forceCrc: 0xdeadbeef } : m)), 'fail', 'member-crc', 'recordings.json'],
    ['data descriptors everywhere', () => build((m) => ({ ...m, dataDescriptor: true })), 'pass'],
    ['every member stored', () => build((m) => ({ ...m, method: 0 })), 'pass'],
    ['100 bytes of garbage before the archive', () => Buffer.concat([Buffer.alloc(100, 0x41), sample]), 'fail', 'zip-structure'],
    ['garbage after the end record', () => Buffer.concat([sample, Buffer.from('trailing garbage')]), 'any'],
    ['an end-record comment holding a fake end record', () => { const c = Buffer.concat([Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(30)]); const z = Buffer.concat([sample, c]); z.writeUInt16LE(c.length, eocd + 20); return z; }, 'any'],
    ['an empty file', () => Buffer.alloc(0), 'fail', 'zip-structure'],
    ['only an end record', () => sample.subarray(eocd).map((b, i) => (i >= 8 && i < 20 ? 0 : b)) as Buffer, 'fail'],
    ['10 KiB of random bytes', () => Buffer.from(Array.from({ length: 10_240 }, () => int(256))), 'fail', 'zip-structure'],
    ['a ZIP of one empty file', () => writeRawZip([{ name: 'x.txt', data: '' }]), 'fail', 'backup-info'],
    ['only backup_info.json', () => build((m) => (m.name === 'backup_info.json' ? m : null)), 'pass'],
    ['no backup_info.json', () => build((m) => (m.name === 'backup_info.json' ? null : m)), 'fail', 'backup-info'],
    ['the audio member lost', () => build((m) => (m.name === AUDIO ? null : m)), 'fail', 'audio-members', AUDIO],
    ['invalid UTF-8 in a table', () => withMember('tags.json', Buffer.concat([Buffer.from('[{"name": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]')])), 'fail', 'json-members', 'tags.json'],
    ['a BOM before users.json', () => withMember('users.json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), members.find((m) => m.name === 'users.json')!.data])), 'fail', 'json-members', 'users.json'],
    ['an unterminated table', () => withMember('tags.json', '[{"name": "x"}'), 'fail', 'json-members', 'tags.json'],
    ['NaN in a row', () => withMember('tags.json', '[{"id": NaN, "name": "x"}]'), 'fail', 'json-members', 'tags.json'],
    ['a local header naming another file', () => { const z = Buffer.from(sample); z.write('usera.json', z.indexOf(Buffer.from('users.json'))); return z; }, 'fail', 'zip-structure', 'usera.json'],
    ['a directory entry', () => build(undefined, [{ name: 'recordings/', data: '', method: 0, unixMode: 0o40755 }]), 'pass'],
    ['a table file under a folder', () => build(undefined, [{ name: 'x/users.json', data: '[1, 2' }]), 'fail', 'json-members', 'x/users.json'],
  ];
  for (const [name, make, expected, failedCheck, mention] of misc) {
    add({ kind: 'structure', name, make, expect: expected, ...(failedCheck ? { failedCheck } : {}), ...(mention ? { mention } : {}) });
  }
  return list;
}

/** Every path under `dir` with its size: what a case must leave as it found. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) {
        out.push(`${path.relative(root, full)}/`);
        walk(full);
      } else {
        out.push(`${path.relative(root, full)} ${entry.isFile() ? statSync(full).size : entry.isSymbolicLink() ? 'link' : 'other'}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

function streamArchive(bytes: Buffer, fileName: string, chunk: number): ArchiveAccess {
  return {
    fileName, size: bytes.length, mtime: null, sidecars: [],
    open: async () => Readable.from((function* () {
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
    })()),
  };
}

/** Resolves with `work`, or rejects when it outlives the cap (the signal is aborted first, so code that honours it can stop). */
async function capped<T>(work: (signal: AbortSignal) => Promise<T>, label: string): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      setTimeout(() => reject(new Error(`${label} did not finish within ${CASE_CAP_MS / 1000} s (a hang)`)), 10_000).unref();
    }, CASE_CAP_MS);
  });
  try {
    const result = await Promise.race([work(controller.signal), hang]);
    if (controller.signal.aborted) throw new Error(`${label} ran past ${CASE_CAP_MS / 1000} s`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

type Report = Awaited<ReturnType<typeof nojoinModule.format.preview>>;
type Outcome = { kind: 'report'; report: Report; verifier: IntegrityCheck[] | LifeboatError } | { kind: 'error'; error: LifeboatError };

async function runCase(c: Case, n: number): Promise<Outcome> {
  const label = `#${n} ${c.kind}: ${c.name}`;
  const bytes = await c.make();
  const fileName = `nojoin_backup_fuzz_${n}.zip`;
  // Half the cases are read in place (a dropped file), half spooled into staging (a vault snapshot, an upload).
  const inPlace = n % 2 === 0;
  const file = path.join(inputs, fileName);
  if (inPlace) await writeFile(file, bytes);
  const before = tree(root);
  const hostileTargets = (c.hostileNames ?? []).flatMap((name) => [path.resolve(staging, name), path.resolve(inputs, name), path.resolve(scratchTmp, name)]).filter((p) => !existsSync(p));
  const archive: ArchiveAccess = { ...streamArchive(bytes, fileName, 1 + int(70_000)), ...(inPlace ? { localPath: file } : {}) };
  let outcome: Outcome;
  try {
    const report = await capped((signal) => nojoinModule.format.preview(archive, { ...ctx, signal }), label);
    // The verifier every pull runs, fed in the chunks a download brings.
    const verifier = await capped(async () => {
      const v = new NojoinStreamVerifier({ stagingDir: staging, label: fileName });
      const chunk = 1 + int(256 * 1024);
      for (let i = 0; i < bytes.length; i += chunk) v.write(bytes.subarray(i, i + chunk));
      return v.finish({ size: bytes.length, sha256: 'not checked here' }).catch((error: unknown) => {
        if (error instanceof LifeboatError) return error;
        throw error;
      });
    }, `${label} (stream verifier)`);
    outcome = { kind: 'report', report, verifier };
  } catch (error) {
    if (!(error instanceof LifeboatError)) throw new Error(`${label} threw a non-Lifeboat error: ${String(error)}`, { cause: error });
    outcome = { kind: 'error', error };
  }
  expect(readdirSync(staging), `${label}: the staging dir is empty afterwards`).toEqual([]);
  expect(tree(root), `${label}: nothing written outside staging`).toEqual(before);
  for (const target of hostileTargets) expect(existsSync(target), `${label}: ${target} exists`).toBe(false);
  if (inPlace) await rm(file);
  return outcome;
}

function failedChecks(checks: IntegrityCheck[]): IntegrityCheck[] {
  return checks.filter((ch) => !ch.ok);
}

function judge(c: Case, outcome: Outcome, label: string): string {
  if (outcome.kind === 'error') {
    expect(outcome.error.code, `${label}: ${outcome.error.message}`).toBe('ARCHIVE_INVALID');
    expect(c.expect, `${label} should have previewed: ${outcome.error.message}`).not.toBe('pass');
    if (c.mention) expect(outcome.error.message, label).toContain(c.mention);
    return `error:${outcome.error.code}`;
  }
  const { report, verifier } = outcome;
  expect(report.app, label).toBe('nojoin');
  expect(report.integrity.checks.length, label).toBeGreaterThan(0);
  for (const check of report.integrity.checks) expect(typeof check.detail === 'string' && check.detail.length > 0, `${label}: ${check.id} has a detail`).toBe(true);
  const failed = failedChecks(report.integrity.checks);
  expect(report.integrity.ok, label).toBe(failed.length === 0);
  // The pull's verifier and the preview run the same checks, so they agree on every verdict.
  if (verifier instanceof LifeboatError) throw new Error(`${label}: the verifier threw ${verifier.code} ${verifier.message}`, { cause: verifier });
  expect(failedChecks(verifier).map((ch) => ch.id), `${label}: verifier and preview agree`).toEqual(failed.map((ch) => ch.id));
  if (c.expect === 'pass') expect(failed, `${label} should be intact`).toEqual([]);
  if (c.expect === 'fail') expect(failed.length, `${label} should fail: ${JSON.stringify(report.integrity.checks)}`).toBeGreaterThan(0);
  if (failed.length > 0) {
    if (c.failedCheck) expect(failed.map((ch) => ch.id), label).toContain(c.failedCheck);
    if (c.mention) expect(failed.map((ch) => ch.detail).join('\n'), label).toContain(c.mention);
    // What failed is also said in the warnings the operator reads.
    expect(report.warnings.join('\n'), label).toMatch(/failed verification|cannot be read as a ZIP/);
    return `failed:${failed[0]!.id}`;
  }
  return 'intact';
}

beforeAll(async () => {
  sample = await readFile(SAMPLE_PATH);
  members = await readRawZip(sample);
  // The harness's context, with a staging dir of our own; TMPDIR too points into the watched tree.
  const base = formatContext({ signal: new AbortController().signal, progress: () => undefined, log: () => undefined });
  root = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-nojoin-fuzz-'));
  staging = path.join(root, 'staging');
  scratchTmp = path.join(root, 'tmp');
  inputs = path.join(root, 'inputs');
  await Promise.all([mkdir(staging), mkdir(scratchTmp), mkdir(inputs)]);
  ctx = { ...base, stagingDir: staging };
  savedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = scratchTmp;
});

afterAll(async () => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  await rm(root, { recursive: true, force: true });
});

describe('mutated Nojoin archives (fixed seed)', () => {
  it('each previews as a report or fails typed, naming what is wrong; in time, in bounded memory, writing only to staging', async () => {
    const all = cases();
    expect(all.length).toBeGreaterThanOrEqual(200);
    const rssStart = process.resourceUsage().maxRSS;
    const tally: Record<string, Record<string, number>> = {};
    const slowest: { label: string; ms: number }[] = [];
    for (const [n, c] of all.entries()) {
      const label = `#${n} ${c.kind}: ${c.name}`;
      const started = performance.now();
      const verdict = judge(c, await runCase(c, n), label);
      const kind = (tally[c.kind] ??= {});
      kind[verdict] = (kind[verdict] ?? 0) + 1;
      slowest.push({ label, ms: Math.round(performance.now() - started) });
    }
    const rssGrowthMb = (process.resourceUsage().maxRSS - rssStart) / 1024;
    console.log(JSON.stringify({ cases: all.length, tally, rssGrowthMb: Math.round(rssGrowthMb), slowest: slowest.sort((a, b) => b.ms - a.ms).slice(0, 6) }, null, 1));
    expect(rssGrowthMb, 'peak RSS growth over the loop (MB)').toBeLessThan(RSS_CAP_MB);
    // Every kind ran and produced the verdicts it exists for.
    expect(Object.keys(tally).sort()).toEqual([...new Set(all.map((c) => c.kind))].sort());
    expect(tally['bit flips anywhere']!['intact'] ?? 0, 'a flip in a timestamp changes nothing').toBeLessThan(45);
  }, 1_800_000);
});
