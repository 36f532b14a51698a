/** `pg_restore --list` rules and selective-restore list files, on the sample dumps. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSelectiveRestoreList, isListedByPgRestore, readPgDumpToc, renderPgRestoreList } from '../../src/main/formats/pgdump';
import type { PgDumpArchive } from '../../src/main/formats/pgdump';

const DEFAULT_DUMP = path.resolve('test/fixtures/weavestream/default-compression/weavestream-postgres-2026-11-23T13-16-59Z.dump');
const V116_DUMP = path.resolve('test/fixtures/weavestream/extra-v1.16-pg17-pglite/pg17-default.dump');

const ids = (list: { entries: { dumpId: number }[] }): number[] => list.entries.map((e) => e.dumpId);
const load = (file: string): Promise<PgDumpArchive> => readPgDumpToc(file);

describe('renderPgRestoreList', () => {
  it('hides the special entries and DATABASE, like pg_restore without --create', async () => {
    const archive = await load(DEFAULT_DUMP);
    const hidden = archive.entries.filter((e) => !isListedByPgRestore(e)).map((e) => e.desc);
    expect(hidden).toEqual(['ENCODING', 'STDSTRINGS', 'SEARCHPATH', 'DATABASE']);
    expect(renderPgRestoreList(archive, { timeZoneName: 'UTC', createDb: true })).toMatch(/^3397; 1262 16384 DATABASE - weavestream postgres$/m);
  });

  it('prints the algorithm name in the pg_restore 16+ style and the zone asked for', async () => {
    const archive = await load(DEFAULT_DUMP);
    const text = renderPgRestoreList(archive, { pgRestoreMajor: 16, timeZoneName: 'CET' });
    expect(text).toContain(';     Compression: gzip\n');
    expect(text).toContain('; Archive created at 2026-11-23 13:16:59 CET\n');
  });

  it('replaces CR/LF in names with spaces and prints a NULL schema as "-"', async () => {
    const archive = await load(DEFAULT_DUMP);
    const users = archive.entries.find((e) => e.desc === 'TABLE' && e.tag === 'users');
    if (!users) throw new Error('sample lacks public.users');
    const renamed = { ...archive, entries: [{ ...users, tag: 'odd\r\nname', namespace: null }] };
    expect(renderPgRestoreList(renamed, { timeZoneName: 'UTC' })).toMatch(/^217; 1259 16415 TABLE - odd {2}name postgres$/m);
  });
});

describe('buildSelectiveRestoreList', () => {
  it('one table with its owned sequence, default, constraints — and no FK to a table left out', async () => {
    const archive = await load(DEFAULT_DUMP);
    const events = buildSelectiveRestoreList(archive, [{ schema: 'audit', name: 'events' }]);
    // SCHEMA audit, TABLE, SEQUENCE, OWNED BY, DEFAULT, TABLE DATA, SEQUENCE SET, pkey — in TOC order.
    expect(ids(events)).toEqual([6, 220, 219, 3398, 3224, 3389, 3400, 3240]);
    expect(events.text.split('\n').filter((l) => l && !l.startsWith(';'))).toEqual(events.entries.map((e) => expect.stringMatching(new RegExp(`^${e.dumpId}; `))));

    const users = buildSelectiveRestoreList(archive, [{ schema: 'public', name: 'users' }]);
    expect(ids(users)).toEqual([217, 3386, 3234, 3236, 3232]);
    expect(users.text).not.toContain('users_company_id_fkey');
  });

  it('the FK comes along when both of its tables are chosen, with the comment on companies', async () => {
    const archive = await load(DEFAULT_DUMP);
    const both = buildSelectiveRestoreList(archive, [{ schema: 'public', name: 'users' }, { schema: 'public', name: 'companies' }]);
    expect(ids(both)).toEqual([216, 3399, 217, 3385, 3386, 3229, 3231, 3234, 3236, 3232, 3241]);
  });

  it('pulls in the enum type a table needs', async () => {
    const archive = await load(DEFAULT_DUMP);
    expect(ids(buildSelectiveRestoreList(archive, [{ schema: 'public', name: 'backup_run' }]))).toEqual([843, 218, 3387, 3238]);
  });

  it('data-only keeps the TABLE DATA and the values of owned sequences', async () => {
    const archive = await load(DEFAULT_DUMP);
    expect(ids(buildSelectiveRestoreList(archive, [{ schema: 'audit', name: 'events' }], { mode: 'data-only' }))).toEqual([3389, 3400]);
  });

  it('works on 1.16 archives too and refuses an unknown table with NOT_FOUND', async () => {
    const archive = await load(V116_DUMP);
    expect(ids(buildSelectiveRestoreList(archive, [{ schema: null, name: 'users' }]))).toEqual([220, 2596, 2441, 2443, 2439]);
    expect(() => buildSelectiveRestoreList(archive, [{ schema: 'public', name: 'nope' }])).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: 'Table public.nope is not in this archive.' }));
  });
});
