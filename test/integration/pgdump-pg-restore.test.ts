/**
 * The reader against real PostgreSQL 15 tools: fresh dumps made at test time with `pg_dump -Fc`
 * (seekable file, `-Z0`, and piped like Weavestream's worker) must list exactly as
 * `pg_restore --list` lists them, and a selective list file must make real `pg_restore -L`
 * restore only the chosen table.
 */
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSelectiveRestoreList, minPgRestoreMajor, readPgDumpToc, renderPgRestoreList } from '../../src/main/formats/pgdump';
import { startPostgres } from '../harness/postgres';
import type { TestPostgres } from '../harness/postgres';

const BIN = '/usr/lib/postgresql/15/bin';
// pg_dump stores local wall time and pg_restore prints it in its own zone: pin both to UTC.
const ENV = { ...process.env, TZ: 'UTC', PGTZ: 'UTC' };
const execFileAsync = promisify(execFile);

let pg: TestPostgres;
let dir: string;

async function tool(name: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(`${BIN}/${name}`, args, { env: ENV, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

const conn = (db: string): string[] => ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', db];
const pgRestoreList = (file: string): Promise<string> => tool('pg_restore', ['--list', file]);
const ourList = async (input: string | Readable): Promise<string> =>
  renderPgRestoreList(await readPgDumpToc(input, { scanData: true }), { timeZoneName: 'UTC' });

const SCHEMA_SQL = `
CREATE SCHEMA inventory;
CREATE TYPE public.order_state AS ENUM ('new', 'paid', 'shipped');
CREATE TABLE public.customers (id serial PRIMARY KEY, email text UNIQUE NOT NULL, name text);
CREATE TABLE public.orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id int NOT NULL REFERENCES public.customers(id),
  state public.order_state NOT NULL DEFAULT 'new',
  total numeric(10,2) CHECK (total >= 0),
  note text
);
CREATE INDEX orders_customer_idx ON public.orders (customer_id);
COMMENT ON TABLE public.orders IS 'one row per order';
CREATE TABLE inventory.items (id serial PRIMARY KEY, sku text NOT NULL, body text);
CREATE TABLE public."odd
name" (x int);
CREATE VIEW public.big_orders AS SELECT * FROM public.orders WHERE total > 100;
CREATE MATERIALIZED VIEW public.order_counts AS SELECT customer_id, count(*) FROM public.orders GROUP BY 1;
INSERT INTO public.customers (email, name) SELECT 'c' || g || '@example.test', 'Customer ' || g FROM generate_series(1, 50) g;
INSERT INTO public.orders (customer_id, state, total, note)
  SELECT 1 + g % 50, (ARRAY['new','paid','shipped'])[1 + g % 3]::public.order_state, (g * 7 % 500)::numeric, E'line1\\nline2\\t' || md5(g::text)
  FROM generate_series(1, 3000) g;
INSERT INTO inventory.items (sku, body) SELECT 'sku-' || g, repeat(md5(g::text), 20) FROM generate_series(1, 2000) g;
INSERT INTO public."odd
name" VALUES (1), (2);
REFRESH MATERIALIZED VIEW public.order_counts;
SELECT lo_from_bytea(0, convert_to(repeat('large object ', 500), 'UTF8'));
`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pgdump-it-'));
  pg = await startPostgres();
  await pg.psql('CREATE DATABASE shop;');
  await pg.psql(SCHEMA_SQL, 'shop');
});

afterAll(async () => {
  await pg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs pg_dump with stdout as a pipe (Weavestream's worker), teeing the bytes into a file and into `sink`. */
async function pipedDump(args: string[], file: string, sink?: PassThrough): Promise<void> {
  const child = spawn(`${BIN}/pg_dump`, [...args, ...conn('shop')], { env: ENV, stdio: ['ignore', 'pipe', 'inherit'] });
  const out = createWriteStream(file);
  child.stdout.pipe(out);
  if (sink) child.stdout.pipe(sink);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await finished(out);
  expect(await exited).toBe(0);
}

describe('listing of fresh pg_dump 15 archives equals pg_restore --list', () => {
  it('seekable file (offsets set), default compression', async () => {
    const file = path.join(dir, 'seekable.dump');
    await tool('pg_dump', ['-Fc', '-f', file, ...conn('shop')]);
    const archive = await readPgDumpToc(file, { scanData: true });
    expect(archive.entries.filter((e) => e.dataState !== 'NO_DATA').every((e) => e.dataState === 'POS_SET')).toBe(true);
    expect(renderPgRestoreList(archive, { timeZoneName: 'UTC' })).toBe(await pgRestoreList(file));
    // The odd table name carries a newline: pg_restore prints it as a space, so do we.
    expect(await pgRestoreList(file)).toMatch(/ TABLE public odd name postgres\n/);
  });

  it('-Z0 with stdout piped: offsets never set, sizes from the walk', async () => {
    const file = path.join(dir, 'piped-z0.dump');
    await pipedDump(['-Fc', '-Z0'], file);
    const archive = await readPgDumpToc(file, { scanData: true });
    expect(archive.header.compression).toEqual({ algorithm: 'none', level: 0 });
    expect(archive.entries.filter((e) => e.dataState !== 'NO_DATA').every((e) => e.dataState === 'POS_NOT_SET')).toBe(true);
    expect(archive.tables.find((t) => t.schema === 'inventory' && t.name === 'items')?.dataBytes).toBeGreaterThan(2000 * 640);
    expect(renderPgRestoreList(archive, { timeZoneName: 'UTC' })).toBe(await pgRestoreList(file));
  });

  it("Weavestream's exact command, read straight from pg_dump's stdout while it runs", async () => {
    const file = path.join(dir, 'weavestream-like.dump');
    const sink = new PassThrough();
    const [listing] = await Promise.all([
      ourList(sink),
      pipedDump(['--format=custom', '--no-owner', '--no-acl'], file, sink),
    ]);
    expect(listing).toBe(await pgRestoreList(file));
    const archive = await readPgDumpToc(file, { scanData: true });
    expect(archive.largeObjects.count).toBe(1);
    expect(archive.fileSize).toBe(readFileSync(file).length);
  });

  it('the DBackup payloads (.sql named custom dump, tar members) list like pg_restore', async () => {
    const sqlNamed = 'test/fixtures/dbackup/plaintext/Loomio_DB_2026-11-23_13-12-50.sql';
    expect(await ourList(sqlNamed)).toBe(await pgRestoreList(sqlNamed));

    const extract = tar.extract();
    const members: string[] = [];
    extract.on('entry', (header, stream, next) => {
      if (!header.name.endsWith('.dump')) {
        stream.resume();
        stream.on('end', next);
        return;
      }
      const target = path.join(dir, header.name);
      members.push(target);
      // The member streams straight into the reader and, in parallel, to a file for pg_restore.
      // (tar-stream's streams pipe to one destination; a Node PassThrough tees.)
      const tee = new PassThrough();
      const sink = new PassThrough();
      const out = createWriteStream(target);
      stream.pipe(tee);
      tee.pipe(sink);
      tee.pipe(out);
      ourList(sink).then(async (ours) => {
        await finished(out);
        expect(ours).toBe(await pgRestoreList(target));
        next();
      }, next);
    });
    const done = finished(extract);
    Readable.from([readFileSync('test/fixtures/dbackup/plaintext/Loomio_All_DBs_2026-11-23_13-13-18.tar')]).pipe(extract);
    await done;
    expect(members.map((m) => path.basename(m))).toEqual(['loomio_production.dump', 'analytics.dump']);
  });

  it('pg_restore 15 refuses the 1.16 sample, as minPgRestoreMajor says', async () => {
    const v116 = 'test/fixtures/weavestream/extra-v1.16-pg17-pglite/pg17-default.dump';
    await expect(pgRestoreList(v116)).rejects.toThrow(/unsupported version \(1\.16\) in file header/);
    expect(minPgRestoreMajor((await readPgDumpToc(v116)).header)).toBe(17);
  });
});

describe('selective restore with real pg_restore -L', () => {
  const count = async (db: string, sql: string): Promise<string> => (await pg.psql(sql, db)).trim();
  const relations = (db: string): Promise<string> =>
    count(db, "SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' ORDER BY 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'inventory') AND c.relkind IN ('r', 'v', 'm', 'S')");

  it('restores only public.orders (with its type, identity sequence, index, comment) into an empty database', async () => {
    const file = path.join(dir, 'for-restore.dump');
    await pipedDump(['-Fc'], file);
    const list = buildSelectiveRestoreList(await readPgDumpToc(file), [{ schema: 'public', name: 'orders' }]);
    const listFile = path.join(dir, 'orders.list');
    await writeFile(listFile, list.text);
    await pg.psql('CREATE DATABASE only_orders;');
    await tool('pg_restore', ['--exit-on-error', '--no-owner', '-L', listFile, ...conn('only_orders'), file]);

    expect(await relations('only_orders')).toBe('public.orders:r,public.orders_id_seq:S');
    expect(await count('only_orders', 'SELECT count(*), sum(total) FROM public.orders')).toBe(await count('shop', 'SELECT count(*), sum(total) FROM public.orders'));
    expect(await count('only_orders', "SELECT obj_description('public.orders'::regclass)")).toBe('one row per order');
    expect(await count('only_orders', "SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_customer_idx'")).toBe('1');
    // The identity sequence continues where the source stopped.
    expect(await count('only_orders', 'SELECT last_value FROM public.orders_id_seq')).toBe(await count('shop', 'SELECT last_value FROM public.orders_id_seq'));
    // No foreign key to customers, which was not restored; no large object either.
    expect(await count('only_orders', "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")).toBe('0');
    expect(await count('only_orders', 'SELECT count(*) FROM pg_largeobject_metadata')).toBe('0');
  });

  it('data-only list refills one table of an existing schema and leaves the others empty', async () => {
    const file = path.join(dir, 'for-restore.dump');
    await pg.psql('CREATE DATABASE data_only;');
    await tool('pg_restore', ['--exit-on-error', '--schema-only', ...conn('data_only'), file]);
    const list = buildSelectiveRestoreList(await readPgDumpToc(file), [{ schema: 'inventory', name: 'items' }], { mode: 'data-only' });
    const listFile = path.join(dir, 'items-data.list');
    await writeFile(listFile, list.text);
    await tool('pg_restore', ['--exit-on-error', '-L', listFile, ...conn('data_only'), file]);

    expect(await count('data_only', 'SELECT count(*) FROM inventory.items')).toBe('2000');
    expect(await count('data_only', 'SELECT (SELECT count(*) FROM public.orders) + (SELECT count(*) FROM public.customers)')).toBe('0');
    expect(await count('data_only', 'SELECT last_value FROM inventory.items_id_seq')).toBe('2000');
  });
});
