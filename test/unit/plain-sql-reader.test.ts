// The streaming plain pg_dump reader on the Loomio sample dump (real pg_dump 15.18 output) and on
// made-up scripts: versions, objects, COPY row counts (checked against a plain line count of the
// text), \restrict skipped, a cut-off COPY block as a typed error, huge lines and NUL bytes in
// bounded memory; and the line filter a restore uses.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import { PlainSqlReader, plainSqlLineFilter, type PlainSqlSummary } from '../../src/main/formats/plain-sql';
import { LOOMIO_SAMPLES, copyRowCounts } from '../fleet/loomio/samples';

const dump = LOOMIO_SAMPLES.plaintext;

function readAll(script: Buffer | string, chunk = 4096, maxLine?: number): PlainSqlSummary {
  const bytes = Buffer.isBuffer(script) ? script : Buffer.from(script);
  const reader = new PlainSqlReader({ label: 'dump.sql', ...(maxLine ? { maxLine } : {}) });
  for (let i = 0; i < bytes.length; i += chunk) reader.write(bytes.subarray(i, i + chunk));
  return reader.finish();
}

describe('reading the sample dump', () => {
  it.each([1, 7, 100, 65536])('finds versions, objects and COPY rows in %i-byte chunks', (size) => {
    const s = readAll(dump, size);
    expect(s.isPgDump).toBe(true);
    expect(s.complete).toBe(true);
    expect(s.serverVersion).toBe('15.18 (Debian 15.18-0+deb12u1)');
    expect(s.pgDumpVersion).toBe('15.18 (Debian 15.18-0+deb12u1)');
    expect(s.restrictLines).toBe(2);
    expect(Object.fromEntries(s.tables.map((t) => [t.qualified, t.rows]))).toEqual(copyRowCounts(dump.toString('utf8')));
    expect(s.totalRows).toBe(Object.values(copyRowCounts(dump.toString('utf8'))).reduce((a, b) => a + b, 0));
    expect(s.tables.find((t) => t.name === 'users')?.columns).toEqual(['id', 'email', 'name', 'created_at']);
    expect(s.objects.filter((o) => o.type === 'TABLE').map((o) => o.name).sort()).toEqual(['comments', 'discussions', 'groups', 'schema_migrations', 'users']);
    expect(s.objects.some((o) => o.type === 'FK CONSTRAINT' && o.name === 'comments comments_user_id_fkey')).toBe(true);
    expect(s.settings).toContain('statement_timeout');
    expect(s.bytes).toBe(dump.length);
    expect(s.nulBytes).toBe(0);
  });
});

describe('made-up scripts', () => {
  const head = '--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 15.4\n-- Dumped by pg_dump version 17.6\n\nSET transaction_timeout = 0;\n';

  it('a COPY block without its \\. line is a typed error naming the table and the rows read', () => {
    const script = `${head}COPY public.users (id) FROM stdin;\n1\n2\n3\n`;
    let error: unknown;
    try {
      readAll(script);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LifeboatError);
    expect((error as LifeboatError).code).toBe('ARCHIVE_INVALID');
    expect((error as LifeboatError).message).toMatch(/public\.users.*no "\\\." line after 3 row/);
  });

  it('counts rows of quoted and unqualified tables, tables without columns, and a last line without newline', () => {
    const s = readAll(`${head}COPY public."Odd ""name""" (a, "b c") FROM stdin;\nx\ty\n\\.\nCOPY plain FROM stdin;\n\n\n\\.\n-- PostgreSQL database dump complete`);
    expect(s.tables.map((t) => [t.schema, t.name, t.rows])).toEqual([['public', 'Odd "name"', 1], [null, 'plain', 2]]);
    expect(s.tables[0]!.columns).toEqual(['a', 'b c']);
    expect(s.complete).toBe(true);
    expect(s.settings).toEqual(['transaction_timeout']);
    expect(s.pgDumpVersion).toBe('17.6');
  });

  it('5 000 tables: every block counted, the list capped when asked', () => {
    const blocks = Array.from({ length: 5000 }, (_, i) => `-- Name: t${i}; Type: TABLE; Schema: public; Owner: -\nCOPY public.t${i} (id) FROM stdin;\n${'1\n'.repeat(i % 7)}\\.\n`).join('');
    const reader = new PlainSqlReader({ label: 'many', maxListed: 1000 });
    reader.write(Buffer.from(head + blocks));
    const s = reader.finish();
    expect(s.tables).toHaveLength(1000);
    expect(s.tablesNotListed).toBe(4000);
    expect(s.objectsNotListed).toBe(4000);
    expect(s.totalRows).toBe(Array.from({ length: 5000 }, (_, i) => i % 7).reduce((a, b) => a + b, 0));
  });

  it('a 64 MiB single line (statement or COPY row) is counted, never held', () => {
    const huge = Buffer.alloc(64 * 1024 * 1024, 0x61);
    const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const reader = new PlainSqlReader({ label: 'huge' });
    reader.write(Buffer.from(`${head}SELECT '`));
    for (let i = 0; i < huge.length; i += 1 << 20) reader.write(huge.subarray(i, i + (1 << 20)));
    reader.write(Buffer.from(`';\nCOPY public.blob (b) FROM stdin;\n`));
    for (let i = 0; i < huge.length; i += 1 << 20) reader.write(huge.subarray(i, i + (1 << 20)));
    reader.write(Buffer.from('\n\\.\n'));
    const s = reader.finish();
    const grown = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - before;
    expect(s.longLines).toBe(1);
    expect(s.tables).toEqual([{ schema: 'public', name: 'blob', qualified: 'public.blob', columns: ['b'], rows: 1 }]);
    expect(grown).toBeLessThan(16 * 1024 * 1024);
  });

  it('NUL bytes are counted and do not break parsing', () => {
    const s = readAll(`${head}COPY public.t (a) FROM stdin;\nab\0c\n\0\n\\.\n-- Name: x\0; Type: TABLE; Schema: public; Owner: -\n`, 5);
    expect(s.nulBytes).toBe(3);
    expect(s.tables[0]!.rows).toBe(2);
    expect(s.objects).toEqual([{ name: 'x', type: 'TABLE', schema: 'public' }]);
  });

  it('random bytes are not a pg_dump script (and do not throw unless a COPY is left open)', () => {
    const noise = Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 7919) % 251));
    const s = readAll(noise, 333);
    expect(s.isPgDump).toBe(false);
    expect(s.tables).toEqual([]);
  });
});

describe('the line filter', () => {
  async function filter(script: string, chunk: number): Promise<{ out: string; dropped: string[] }> {
    const bytes = Buffer.from(script);
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
    const dropped: string[] = [];
    const out: Buffer[] = [];
    await pipeline(Readable.from(pieces), plainSqlLineFilter({ drop: (l) => l.startsWith('\\restrict ') || l.startsWith('\\unrestrict ') || l === 'SET transaction_timeout = 0;', onDropped: (l, n) => dropped.push(`${n}:${l}`) }), new Writable({
      write(c: Buffer, _e, done) {
        out.push(c);
        done();
      },
    }));
    return { out: Buffer.concat(out).toString(), dropped };
  }

  it.each([1, 3, 64, 4096])('leaves out the chosen statement lines, never COPY data, in %i-byte chunks', async (chunk) => {
    const long = `SELECT '${'z'.repeat(1000)}';`;
    const script = `\\restrict abc\nSET transaction_timeout = 0;\nSET x = 1;\n${long}\nCOPY public.c (body) FROM stdin;\nSET transaction_timeout = 0;\n\\.\n\\unrestrict abc\nend`;
    const { out, dropped } = await filter(script, chunk);
    expect(out).toBe(`SET x = 1;\n${long}\nCOPY public.c (body) FROM stdin;\nSET transaction_timeout = 0;\n\\.\nend`);
    expect(dropped).toEqual(['1:\\restrict abc', '2:SET transaction_timeout = 0;', '8:\\unrestrict abc']);
  });

  it('passes the sample dump through unchanged but for its two \\restrict lines', async () => {
    const { out, dropped } = await filter(dump.toString('utf8'), 777);
    expect(dropped).toHaveLength(2);
    expect(out).toBe(dump.toString('utf8').split('\n').filter((l) => !l.startsWith('\\restrict ') && !l.startsWith('\\unrestrict ')).join('\n'));
  });
});
