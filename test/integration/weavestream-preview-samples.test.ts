// The Weavestream preview and pull verifier on the real sample dumps (test/fixtures/weavestream,
// made by pg_dump 15 and pg_dump 17): row counts against the listings' oracles, manifest checks,
// and what a damaged dump or sidecar looks like. No servers needed.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatContext } from '../harness/format-context';
import type { ArchiveAccess, StepContext } from '../../src/main/apps/adapter';
import { weavestreamModule as adapter } from '../../src/main/apps/weavestream';
import { WeavestreamDumpVerifier, findManifest } from '../../src/main/apps/weavestream/dump-verifier';
import { wholeArchiveOf } from '../harness/whole-archive';

const FIXTURES = path.resolve('test/fixtures/weavestream');
const step: StepContext = { signal: new AbortController().signal, progress: () => undefined, log: () => undefined };

/** `schema.table` → rows, from the reader listing's `[… rows N]` annotations of TABLE DATA lines. */
async function oracleRows(listing: string): Promise<Map<string, number>> {
  const rows = new Map<string, number>();
  for (const line of (await readFile(listing, 'utf8')).split('\n')) {
    const match = / TABLE DATA (\S+) (\S+) .*rows (\d+)\]/.exec(line);
    if (match) rows.set(`${match[1]}.${match[2]}`, Number(match[3]));
  }
  return rows;
}

async function access(dir: string, mutate?: (bytes: Buffer) => void, withManifest = true): Promise<ArchiveAccess> {
  const names = await readdir(path.join(FIXTURES, dir));
  const dump = names.find((n) => n.endsWith('.dump')) as string;
  const bytes = await readFile(path.join(FIXTURES, dir, dump));
  mutate?.(bytes);
  const manifest = names.find((n) => n.endsWith('.manifest.json'));
  const sidecars = manifest && withManifest ? [{ name: manifest, content: await readFile(path.join(FIXTURES, dir, manifest)) }] : [];
  // Small chunks: the row counter must carry lines and ints across chunk boundaries.
  const chunks = (): Buffer[] => Array.from({ length: Math.ceil(bytes.length / 997) }, (_, i) => bytes.subarray(i * 997, (i + 1) * 997));
  return { fileName: dump, size: bytes.length, mtime: null, sidecars, open: async () => Readable.from(chunks()) };
}

describe('Weavestream preview on the sample dumps', () => {
  for (const dir of ['default-compression', 'z0-uncompressed', 'extra-v1.15-SYNTHETIC', 'extra-v1.16-pg17-pglite']) {
    it(`counts COPY rows like the listing oracle (${dir})`, async () => {
      const archive = await access(dir);
      const listing = (await readdir(path.join(FIXTURES, dir))).find((n) => n.endsWith('.reader-listing.txt') && archive.fileName.startsWith(n.replace(/\.reader-listing\.txt$/, ''))) as string;
      const expected = await oracleRows(path.join(FIXTURES, dir, listing));
      const preview = await adapter.format.preview(archive, formatContext(step));
      const got = new Map(preview.contents.rows.filter((r) => r.section === 'schema and data').map((r) => [`${r.schema}.${r.table}`, r.rows]));
      expect(expected.size).toBeGreaterThan(0);
      expect(got).toEqual(expected);
    });
  }

  it('reports the manifest facts and passes every integrity check of an intact sample', async () => {
    const preview = await adapter.format.preview(await access('default-compression'), formatContext(step));
    expect(preview.integrity.ok).toBe(true);
    expect(preview.appVersion).toBe('1.9.11');
    expect(preview.createdAt).toBe('2026-11-23T13:16:59.895Z');
    expect(preview.summary).toContainEqual({ label: 'Archive version', value: '1.14-0' });
    expect(preview.summary).toContainEqual({ label: 'Applied migrations in the dump', value: '3 (newest 0003_migration)' });
    expect(preview.selectable).toEqual(expect.arrayContaining(['public.users', 'audit.events']));
    expect(preview.warnings.join('\n')).toContain('1.14-0 is not the 1.15');
  });

  it('without a sidecar the manifest check fails but the dump itself is still read', async () => {
    const preview = await adapter.format.preview(await access('default-compression', undefined, false), formatContext(step));
    expect(preview.integrity.ok).toBe(false);
    expect(preview.integrity.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['manifest']);
    expect(preview.contents.rows.length).toBe(5);
  });

  it('a truncated dump fails size, sha256 and data, naming where it ends', async () => {
    const archive = await access('default-compression');
    const full = await readFile(path.join(FIXTURES, 'default-compression', archive.fileName));
    const verifier = new WeavestreamDumpVerifier(archive.fileName, findManifest(archive.fileName, archive.sidecars));
    const cut = full.subarray(0, full.length - 300);
    verifier.write(cut);
    const checks = await verifier.finish(wholeArchiveOf(cut));
    expect(checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['size', 'sha256', 'data']);
    expect(checks.find((c) => c.id === 'data')?.detail).toMatch(/truncated/);
  });

  it('a text file posing as a dump fails the header check', async () => {
    const verifier = new WeavestreamDumpVerifier('weavestream-postgres-2026-11-23T13-16-59Z.dump', findManifest('x.dump', []));
    const text = Buffer.from('--\n-- PostgreSQL database dump\n--\nSET statement_timeout = 0;\n');
    verifier.write(text);
    const checks = await verifier.finish(wholeArchiveOf(text));
    expect(checks.find((c) => c.id === 'header')?.ok).toBe(false);
  });
});
