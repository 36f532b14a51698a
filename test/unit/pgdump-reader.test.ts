/**
 * The custom-archive reader against the real sample dumps (pg_dump 15.18 → 1.14, pg_dump 17.5 →
 * 1.16, the hand-made 1.15 header) and their oracles: `pg_restore --list` output and the
 * independent reader's `*.reader-listing.txt` / `*.toc.json` (spec §9).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import { formatTocLine, readPgDumpToc, renderPgRestoreList } from '../../src/main/formats/pgdump';
import type { PgDumpArchive, PgDumpTocEntry } from '../../src/main/formats/pgdump';
import { until } from '../harness/wait';

const ROOT = path.resolve('test/fixtures/weavestream');
const DUMPS = readdirSync(ROOT, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.dump'))
  .map((f) => path.join(ROOT, f))
  .sort();
const DEFAULT_DUMP = DUMPS.find((f) => f.includes('default-compression')) as string;
const Z0_DUMP = DUMPS.find((f) => f.includes('z0-uncompressed')) as string;
const SEEKABLE_DUMP = DUMPS.find((f) => f.includes('seekable')) as string;
const V115_DUMP = DUMPS.find((f) => f.includes('v1.15')) as string;
const V116_DUMP = DUMPS.find((f) => f.includes('pg17-default')) as string;

const tmp = mkdtempSync(path.join(tmpdir(), 'pgdump-reader-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Feeds bytes through a stream in small, odd-sized chunks: every Int and string crosses chunk edges. */
function trickle(bytes: Buffer, size = 7): Readable {
  return Readable.from((function* () {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  })());
}

async function expectInvalid(promise: Promise<unknown>, pattern: RegExp): Promise<LifeboatError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(LifeboatError);
  const lifeboatError = error as LifeboatError;
  expect(lifeboatError.code).toBe('ARCHIVE_INVALID');
  expect(lifeboatError.message).toMatch(new RegExp(pattern.source, 'i'));
  return lifeboatError;
}

/**
 * The spec §9 reader-listing format, rendered from our model. The oracle's `, raw N, rows M`
 * (inflated size and COPY rows) are left out: the reader measures stored bytes and does not
 * inflate data. The tests strip them from the oracle lines and say so.
 */
function readerListing(archive: PgDumpArchive): string[] {
  const { header } = archive;
  const lines = [
    `version ${header.version} int=${header.intSize} off=${header.offSize} format=1 compression=${JSON.stringify(header.compression)}`,
    `created(local)=${header.createdLocal} db=${header.dbname} server=${header.serverVersion} pg_dump=${header.pgDumpVersion}`,
    `toc entries=${archive.tocCount} data starts at byte ${archive.dataStart} file size ${archive.fileSize}`,
  ];
  for (const entry of archive.entries) {
    const state = entry.dataState === 'POS_SET' ? `POS_SET@${entry.dataOffset}` : entry.dataState;
    let line = `${formatTocLine(entry)} | ${entry.section} ${state}`;
    if (entry.tableam) line += ` am=${entry.tableam}`;
    if (entry.block) line += ` [block ${entry.block.bytes} B at ${entry.block.start}, stored ${entry.block.storedBytes}]`;
    lines.push(line);
  }
  return lines;
}

function oracleReaderListing(dump: string): string[] {
  const text = readFileSync(dump.replace(/\.dump$/, '.reader-listing.txt'), 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => l.replace(/, raw \d+, rows \d+\]$/, ']'));
}

interface OracleEntry {
  dumpId: number; hadDumper: boolean; tableoid: number; oid: number; tag: string; desc: string; section: string;
  namespace: string | null; tablespace: string | null; tableam: string | null; relkind?: string | null; owner: string | null;
  withOids: string; deps: number[]; dataState: string; dataPos: number | null;
  blockStart?: number; blockBytes?: number; storedBytes?: number; largeObjects?: { oid: number; storedBytes: number }[];
}

describe('readPgDumpToc on the sample dumps', () => {
  it('finds all six sample dumps, three with a pg_restore oracle', () => {
    expect(DUMPS).toHaveLength(6);
    expect(DUMPS.filter((d) => existsSync(d.replace(/\.dump$/, '.pg_restore-list.txt')))).toHaveLength(3);
  });

  for (const dump of DUMPS) {
    const name = path.relative(ROOT, dump);

    it(`${name}: matches the independent reader's listing line for line`, async () => {
      const archive = await readPgDumpToc(dump, { scanData: true });
      expect(readerListing(archive)).toEqual(oracleReaderListing(dump));
    });

    it(`${name}: every TOC field equals *.toc.json`, async () => {
      const archive = await readPgDumpToc(dump, { scanData: true });
      const oracle = JSON.parse(readFileSync(dump.replace(/\.dump$/, '.toc.json'), 'utf8')) as {
        header: { createdLocal: object; dbname: string; serverVersion: string; pgDumpVersion: string; compression: object };
        tocCount: number; dataStart: number; fileSize: number; entries: OracleEntry[];
      };
      expect(archive.header.createdTm).toEqual(oracle.header.createdLocal);
      expect(archive.header.compression).toEqual(oracle.header.compression);
      expect([archive.tocCount, archive.dataStart, archive.fileSize]).toEqual([oracle.tocCount, oracle.dataStart, oracle.fileSize]);
      expect(archive.entries.map(toOracleShape)).toEqual(oracle.entries.map(normaliseOracle));
    });

    it(`${name}: a pipe in 7-byte pieces gives the same result as the file`, async () => {
      const fromFile = await readPgDumpToc(dump, { scanData: true });
      const fromPipe = await readPgDumpToc(trickle(readFileSync(dump)), { scanData: true });
      expect(fromPipe).toEqual(fromFile);
    });
  }

  // Only the 1.14 dumps have a pg_restore oracle: pg_restore 15 cannot read 1.15/1.16 (spec §9).
  for (const dump of DUMPS.filter((d) => existsSync(d.replace(/\.dump$/, '.pg_restore-list.txt')))) {
    it(`${path.relative(ROOT, dump)}: renders exactly the pg_restore 15 --list output`, async () => {
      const archive = await readPgDumpToc(dump);
      const oracle = readFileSync(dump.replace(/\.dump$/, '.pg_restore-list.txt'), 'utf8');
      expect(renderPgRestoreList(archive, { timeZoneName: 'UTC' })).toBe(oracle);
    });
  }
});

function toOracleShape(e: PgDumpTocEntry): OracleEntry {
  const shaped: OracleEntry = {
    dumpId: e.dumpId, hadDumper: e.hadDumper, tableoid: e.tableoid, oid: e.oid, tag: e.tag, desc: e.desc, section: e.section,
    namespace: e.namespace, tablespace: e.tablespace, tableam: e.tableam, relkind: e.relkind, owner: e.owner,
    withOids: String(e.withOids), deps: e.dependencies, dataState: e.dataState, dataPos: e.dataOffset,
  };
  if (e.block) {
    shaped.blockStart = e.block.start;
    shaped.blockBytes = e.block.bytes;
    shaped.storedBytes = e.block.storedBytes;
    if (e.block.largeObjects) shaped.largeObjects = e.block.largeObjects;
  }
  return shaped;
}

/** The oracle omits relkind before 1.16 and carries raw sizes/rows we do not compute. */
function normaliseOracle(o: OracleEntry & { rawBytes?: number; rows?: number }): OracleEntry {
  const { rawBytes: _raw, rows: _rows, ...rest } = o;
  const largeObjects = rest.largeObjects?.map(({ oid, storedBytes }) => ({ oid, storedBytes }));
  return { ...rest, relkind: rest.relkind ?? null, ...(largeObjects ? { largeObjects } : {}) };
}

describe('header and model facts', () => {
  it('1.14 piped default dump: zlib level -1, offsets not set, sizes only from the walk', async () => {
    const toc = await readPgDumpToc(DEFAULT_DUMP);
    expect(toc.header).toMatchObject({
      version: '1.14-0', intSize: 4, offSize: 8, format: 'custom',
      compression: { algorithm: 'gzip', level: -1 }, createdLocal: '2026-11-23T13:16:59', dbname: 'weavestream',
      serverVersion: '15.18 (Debian 15.18-0+deb12u1)', pgDumpVersion: '15.18 (Debian 15.18-0+deb12u1)',
    });
    expect(toc.dataScanned).toBe(false);
    expect(toc.tables.every((t) => t.hasData && t.dataBytes === null)).toBe(true);

    const scanned = await readPgDumpToc(DEFAULT_DUMP, { scanData: true });
    expect(scanned.tables.map((t) => [`${t.schema}.${t.name}`, t.dataBytes, t.storedBytes])).toEqual([
      ['audit.events', 552, 536],
      ['public._prisma_migrations', 226, 210],
      ['public.backup_run', 128, 112],
      ['public.companies', 212, 196],
      ['public.users', 649, 633],
    ]);
    expect(scanned.schemas).toEqual(['audit', 'public']);
    expect(scanned.largeObjects).toEqual({ count: 1, dataBytes: 64 });
    expect(scanned.sections).toEqual({ preData: 16, data: 7, postData: 9 });
    expect(scanned.objectCounts).toMatchObject({ TABLE: 5, 'TABLE DATA': 5, CONSTRAINT: 7, 'FK CONSTRAINT': 1, INDEX: 1 });
  });

  it('-Z0 dump: compression none, level 0', async () => {
    const toc = await readPgDumpToc(Z0_DUMP);
    expect(toc.header.compression).toEqual({ algorithm: 'none', level: 0 });
  });

  it('seekable dump: sizes come from recorded offsets without reading data, and equal the walk', async () => {
    const fromOffsets = await readPgDumpToc(SEEKABLE_DUMP);
    const walked = await readPgDumpToc(SEEKABLE_DUMP, { scanData: true });
    expect(fromOffsets.entries.filter((e) => e.dataState !== 'NO_DATA').every((e) => e.dataState === 'POS_SET')).toBe(true);
    expect(fromOffsets.tables.map((t) => t.dataBytes)).toEqual(walked.tables.map((t) => t.dataBytes));
    expect(fromOffsets.largeObjects.dataBytes).toBe(walked.largeObjects.dataBytes);
  });

  it('synthetic 1.15 header: one-byte algorithm, no level, timestamp 4 bytes earlier', async () => {
    const toc = await readPgDumpToc(V115_DUMP, { scanData: true });
    expect(toc.header.version).toBe('1.15-0');
    expect(toc.header.compression).toEqual({ algorithm: 'gzip', level: null });
    expect(toc.dataStart).toBe(8733);
    expect(renderPgRestoreList(toc, { timeZoneName: 'UTC' })).toContain(';     Compression: gzip\n');
  });

  it('1.16 (pg_dump 17.5): relkind, BLOB METADATA groups, three large objects', async () => {
    const toc = await readPgDumpToc(V116_DUMP, { scanData: true });
    expect(toc.header.compression).toEqual({ algorithm: 'gzip', level: null });
    expect(toc.tables.every((t) => t.relkind === 'r' && t.tableam === 'heap')).toBe(true);
    expect(toc.largeObjects.count).toBe(3);
    const blobs = toc.entries.find((e) => e.desc === 'BLOBS');
    expect(blobs?.block?.largeObjects?.map((lo) => lo.oid)).toEqual([16449, 16450, 16451]);
    // pg_restore lists neither DATABASE nor the database COMMENT/PROPERTIES without --create.
    const list = renderPgRestoreList(toc, { timeZoneName: 'UTC' });
    expect(list).not.toMatch(/DATABASE/);
    expect(renderPgRestoreList(toc, { timeZoneName: 'UTC', createDb: true })).toMatch(/^2609; 0 0 DATABASE PROPERTIES - template1 postgres$/m);
  });

  it('reports progress and bytes for a long read', async () => {
    const seen: string[] = [];
    await readPgDumpToc(DEFAULT_DUMP, { scanData: true, onProgress: (p) => seen.push(`${p.phase}:${p.bytes}/${p.total}`) });
    expect(seen.at(-1)).toBe('data:10568/10568');
  });

  it('stops with CANCELLED when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(readPgDumpToc(DEFAULT_DUMP, { signal: controller.signal })).rejects.toMatchObject({ code: 'CANCELLED' });

    // Aborting while a pipe is stalled must not hang.
    const stalled = new Readable({ read() { /* never produces more */ } });
    stalled.push(readFileSync(DEFAULT_DUMP).subarray(0, 100));
    const late = new AbortController();
    const pending = readPgDumpToc(stalled, { signal: late.signal });
    // Aborted once the reader has taken all there is and waits for more, not after a guessed delay.
    await until(() => stalled.readableLength === 0, 'the reader to take the first 100 bytes');
    late.abort();
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('a missing file is NOT_FOUND', async () => {
    await expect(readPgDumpToc(path.join(tmp, 'nope.dump'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('truncated and foreign input', () => {
  const full = readFileSync(DEFAULT_DUMP);
  const cuts: [number, RegExp][] = [
    [3, /not a pg_dump custom-format archive: it is only 3 bytes long/],
    [9, /truncated: it ends at byte 9 while reading the header/],
    [40, /truncated: it ends at byte 40 while reading the header/],
    [300, /truncated: it ends at byte 300 while reading TOC entry \d+ of 32/],
    [8736, /truncated: it ends at byte 8736 while reading TOC entry 32 of 32/],
    [8737, /truncated: it ends at byte 8737 before the first data block; 6 of 6 data entries are incomplete or missing \(TABLE DATA audit\.events \(dump id 3389\)/],
    [8740, /truncated: it ends at byte 8740 inside a data block header/],
    [9000, /truncated: it ends at byte 9000 inside the data block of TABLE DATA audit\.events \(dump id 3389\)/],
    [9289, /truncated: it ends at byte 9289 after the data of TABLE DATA audit\.events \(dump id 3389\); 5 of 6/],
    [10567, /truncated: it ends at byte 10567 inside the data block of BLOBS BLOBS \(dump id 3391\); 1 of 6/],
  ];

  for (const [cut, pattern] of cuts) {
    it(`cut at byte ${cut}: a clear ARCHIVE_INVALID from a file and from a pipe`, async () => {
      const file = path.join(tmp, `cut-${cut}.dump`);
      writeFileSync(file, full.subarray(0, cut));
      const error = await expectInvalid(readPgDumpToc(file, { scanData: true }), pattern);
      expect(error.message).toContain(`cut-${cut}.dump: `);
      await expectInvalid(readPgDumpToc(trickle(full.subarray(0, cut), 13), { scanData: true }), pattern);
    });
  }

  it('a parser that first sees only 16 bytes re-reads its way to the same archive and the same errors', async () => {
    // Header and TOC are parsed from a prefix that doubles whenever it runs out (real TOCs can pass 64 KiB).
    for (const dump of DUMPS) {
      const expected = await readPgDumpToc(dump, { scanData: true });
      expect(await readPgDumpToc(dump, { scanData: true, firstTocBytes: 16 })).toEqual(expected);
      expect(await readPgDumpToc(trickle(readFileSync(dump), 5), { scanData: true, firstTocBytes: 16 })).toEqual(expected);
    }
    for (const [cut, pattern] of cuts.filter(([at]) => at <= 8736)) {
      const file = path.join(tmp, `small-first-${cut}.dump`);
      writeFileSync(file, full.subarray(0, cut));
      await expectInvalid(readPgDumpToc(file, { firstTocBytes: 16 }), pattern);
    }
  });

  it('a cut inside the data goes unnoticed without scanData (the TOC is whole), and is caught with it', async () => {
    const file = path.join(tmp, 'cut-data.dump');
    writeFileSync(file, full.subarray(0, 9500));
    await expect(readPgDumpToc(file)).resolves.toMatchObject({ tocCount: 32 });
    await expectInvalid(readPgDumpToc(file, { scanData: true }), /truncated/);
  });

  it('plain SQL, gzip, tar, JSON, random bytes and an empty file are named as what they are', async () => {
    const sql = Buffer.from('--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n');
    const tar = readFileSync('test/fixtures/dbackup/plaintext/Loomio_All_DBs_2026-11-23_13-13-18.tar');
    const manifest = readFileSync(DEFAULT_DUMP.replace(/\.dump$/, '.manifest.json'));
    const cases: [string, Buffer, RegExp, string][] = [
      ['plain.sql', sql, /plain-text SQL dump \(restore it with psql/, 'plain-sql'],
      ['dump.gz', gzipSync(full), /gzip-compressed/, 'gzip'],
      ['bundle.tar', tar, /tar archive/, 'tar'],
      ['manifest.json', manifest, /does not start with the PGDMP signature/, 'unknown'],
      ['random.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)), /PGDMP signature/, 'unknown'],
      ['empty.dump', Buffer.alloc(0), /the input is empty/, 'empty'],
    ];
    for (const [name, bytes, pattern, detected] of cases) {
      const file = path.join(tmp, name);
      writeFileSync(file, bytes);
      const error = await expectInvalid(readPgDumpToc(file), pattern);
      expect(error.details).toMatchObject({ reason: 'not-custom-format', detected, phase: 'header' });
    }
  });

  it('refuses an archive newer than 1.16 and a non-custom format byte', async () => {
    const newer = Buffer.from(full);
    newer[6] = 17;
    await expectInvalid(readPgDumpToc(trickle(newer)), /archive version 1\.17 is newer than this reader supports/);
    const tarFormat = Buffer.from(full);
    tarFormat[10] = 3;
    await expectInvalid(readPgDumpToc(trickle(tarFormat)), /archive format 3 \(tar\)/);
  });

  it('a data block naming a dump id the TOC does not know is corruption, not truncation', async () => {
    const bad = Buffer.from(full);
    // Block at 8737: type byte, then the Int dump id 3389 (00 3d 0d 00 00).
    expect(bad.readUInt32LE(8739)).toBe(3389);
    bad.writeUInt32LE(4242, 8739);
    const error = await expectInvalid(readPgDumpToc(trickle(bad), { scanData: true }), /corrupt at byte 8737: a data block names dump id 4242/);
    expect(error.details).toMatchObject({ reason: 'corrupt-data', phase: 'data' });
  });

  it('trailing garbage after the last block is caught (the walk must end exactly at EOF)', async () => {
    await expectInvalid(readPgDumpToc(trickle(Buffer.concat([full, Buffer.from([9, 9, 9])])), { scanData: true }), /unknown data block type 9/);
  });
});

describe('the DBackup payloads (custom dumps named .sql and inside a tar)', () => {
  it('the .sql file is a 1.14 custom archive with zlib level 6', async () => {
    const toc = await readPgDumpToc('test/fixtures/dbackup/plaintext/Loomio_DB_2026-11-23_13-12-50.sql', { scanData: true });
    expect(toc.header.compression).toEqual({ algorithm: 'gzip', level: 6 });
    expect(toc.dataScanned).toBe(true);
    expect(toc.tables.length).toBeGreaterThan(0);
  });
});
