/** Weavestream backup files: names, pairing, Weavestream's own prune, and verifying dumps against sidecars. */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assertWeavestreamVerified, isoWeekKey, listWeavestreamBackupDir, pairWeavestreamFiles, parseWeavestreamFileName,
  planWeavestreamPrune, verifyWeavestreamBackup, verifyWeavestreamDump,
} from '../../src/main/apps/weavestream/backup-files';
import { parseWeavestreamManifest } from '../../src/main/apps/weavestream/manifest';

const DIR = path.resolve('test/fixtures/weavestream/default-compression');
const STAMP = '2026-11-23T13-16-59Z';
const DUMP = path.join(DIR, `weavestream-postgres-${STAMP}.dump`);
const SIDECAR = path.join(DIR, `weavestream-postgres-${STAMP}.manifest.json`);
const Z0_DUMP = path.resolve('test/fixtures/weavestream/z0-uncompressed/weavestream-postgres-2026-11-23T13-17-01Z.dump');
const MANIFEST = parseWeavestreamManifest(readFileSync(SIDECAR, 'utf8'));

const tmp = mkdtempSync(path.join(tmpdir(), 'weavestream-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of the sample dump under its own name, changed by `edit`. */
function variant(label: string, edit: (bytes: Buffer) => Buffer): string {
  const dir = path.join(tmp, label);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, path.basename(DUMP));
  writeFileSync(file, edit(readFileSync(DUMP)));
  return file;
}

const failed = (result: { checks: { name: string; ok: boolean }[] }): string[] => result.checks.filter((c) => !c.ok).map((c) => c.name);

describe('file names and pairing', () => {
  it('reads the UTC start time from a dump or sidecar name and refuses anything else', () => {
    expect(parseWeavestreamFileName(`weavestream-postgres-${STAMP}.dump`)).toEqual({ kind: 'dump', stamp: STAMP, startedAt: new Date('2026-11-23T13:16:59Z') });
    expect(parseWeavestreamFileName(`weavestream-postgres-${STAMP}.manifest.json`)?.kind).toBe('manifest');
    for (const name of [`.weavestream-postgres-${STAMP}.dump.tmp`, 'weavestream-postgres-2026-02-31T03-00-00Z.dump', 'weavestream-postgres-2026-11-23T13:16:59Z.dump', 'weavestream-postgres-latest.dump', 'Loomio_DB.sql']) {
      expect(parseWeavestreamFileName(name)).toBeNull();
    }
  });

  it('pairs dumps with sidecars newest first, keeps orphans, ignores hidden, temp and foreign files', () => {
    const { backups, ignored } = pairWeavestreamFiles([
      'weavestream-postgres-2026-05-01T03-00-00Z.dump',
      'weavestream-postgres-2026-05-01T03-00-00Z.manifest.json',
      { name: 'weavestream-postgres-2026-05-02T03-00-00Z.dump', size: 5 },
      'weavestream-postgres-2026-04-30T03-00-00Z.manifest.json',
      '.weavestream-postgres-2026-05-03T03-00-00Z.dump.tmp',
      'weavestream-postgres-2026-05-03T03-00-00Z.dump.tmp',
      'notes.txt',
    ]);
    expect(backups.map((b) => [b.stamp, b.dump?.name ?? null, b.manifest?.name ?? null])).toEqual([
      ['2026-05-02T03-00-00Z', 'weavestream-postgres-2026-05-02T03-00-00Z.dump', null],
      ['2026-05-01T03-00-00Z', 'weavestream-postgres-2026-05-01T03-00-00Z.dump', 'weavestream-postgres-2026-05-01T03-00-00Z.manifest.json'],
      ['2026-04-30T03-00-00Z', null, 'weavestream-postgres-2026-04-30T03-00-00Z.manifest.json'],
    ]);
    expect(backups[0]?.dump?.size).toBe(5);
    expect(ignored.map((i) => i.reason)).toEqual(['hidden', 'temporary', 'not-a-weavestream-backup']);
  });

  it('lists a real directory with sizes', async () => {
    const { backups, ignored } = await listWeavestreamBackupDir(DIR);
    expect(backups).toHaveLength(1);
    expect(backups[0]?.dump?.size).toBe(MANIFEST.sizeBytes);
    expect(ignored.map((i) => i.name).sort()).toEqual([
      `weavestream-postgres-${STAMP}.pg_restore-list.txt`, `weavestream-postgres-${STAMP}.reader-listing.txt`, `weavestream-postgres-${STAMP}.toc.json`,
    ]);
    await expect(listWeavestreamBackupDir(path.join(tmp, 'missing'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe("Weavestream's retention (planWeavestreamPrune)", () => {
  const daily = (days: number, hour = 3): { id: string; startedAt: Date }[] =>
    Array.from({ length: days }, (_, i) => ({ id: `d${i}`, startedAt: new Date(Date.UTC(2026, 0, 1 + i, hour)) }));

  it('ISO weeks use the ISO week-year', () => {
    expect(isoWeekKey(new Date('2026-01-01T00:00:00Z'))).toBe('2026-W01');
    expect(isoWeekKey(new Date('2027-01-01T00:00:00Z'))).toBe('2026-W53');
    expect(isoWeekKey(new Date('2024-12-30T00:00:00Z'))).toBe('2025-W01');
    expect(isoWeekKey(new Date('2026-11-23T13:16:59Z'))).toBe('2026-W48');
  });

  it('defaults 3/7/4/12 over 100 daily runs keep the 7 newest days plus weekly and monthly heads', () => {
    const { keep, prune } = planWeavestreamPrune(daily(100), {});
    // 100 days from 2026-01-01 end on 2026-04-10 (a Friday).
    const kept = keep.map((id) => Number(id.slice(1)));
    expect(kept.slice(0, 7)).toEqual([99, 98, 97, 96, 95, 94, 93]);
    // Newest of the ISO weeks starting Mon 04-06, 03-30, 03-23, 03-16 → days 99, 94 (already kept), 87 (03-29), 80 (03-22).
    // Newest of months April, March, February, January → days 99 (kept), 89 (03-31), 58 (02-28), 30 (01-31).
    expect(kept.slice(7).sort((a, b) => b - a)).toEqual([89, 87, 80, 58, 30]);
    expect(keep.length + prune.length).toBe(100);
  });

  it('several runs on one UTC day fill one daily slot; keepLast protects them; everything 0 still keeps the newest', () => {
    const sameDay = [0, 6, 12, 18].map((h) => ({ id: `h${h}`, startedAt: new Date(Date.UTC(2026, 4, 1, h)) }));
    expect(planWeavestreamPrune(sameDay, { keepLast: 0, daily: 7, weekly: 0, monthly: 0 }).keep).toEqual(['h18']);
    expect(planWeavestreamPrune(sameDay, { keepLast: 2, daily: 7, weekly: 0, monthly: 0 }).keep).toEqual(['h18', 'h12']);
    expect(planWeavestreamPrune(sameDay, { keepLast: 0, daily: 0, weekly: 0, monthly: 0 })).toEqual({ keep: ['h18'], prune: ['h12', 'h6', 'h0'] });
  });

  it('clamps and floors out-of-range values like the worker', () => {
    expect(planWeavestreamPrune(daily(10), { keepLast: 2.9, daily: -5, weekly: 0, monthly: 0 }).keep).toEqual(['d9', 'd8']);
    expect(planWeavestreamPrune(daily(300), { keepLast: 0, daily: 9999, weekly: 0, monthly: 0 }).keep).toHaveLength(300);
  });
});

describe('verifyWeavestreamDump', () => {
  it('passes every check for the sample dump and its sidecar', async () => {
    const result = await verifyWeavestreamBackup(DUMP, SIDECAR);
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => c.name)).toEqual(['manifest', 'filename', 'size', 'sha256', 'header', 'archive-version', 'toc', 'data']);
    expect(result.checks.find((c) => c.name === 'archive-version')?.detail).toBe("archive version 1.14-0 (Weavestream's pg_dump 16 writes 1.15)");
    expect(result.archive?.tables.find((t) => t.name === 'users')?.dataBytes).toBe(649);
    expect(assertWeavestreamVerified(result)).toBe(result);
  });

  it('requiring 1.15 fails the version check of a 1.14 sample', async () => {
    const result = await verifyWeavestreamDump(DUMP, MANIFEST, { expectArchiveMinor: 15 });
    expect(failed(result)).toEqual(['archive-version']);
  });

  it('one flipped byte inside table data: only the SHA-256 check fails', async () => {
    const file = variant('flipped', (b) => {
      b[9000] = (b[9000] as number) ^ 0xff;
      return b;
    });
    const result = await verifyWeavestreamDump(file, MANIFEST);
    expect(failed(result)).toEqual(['sha256']);
    expect(() => assertWeavestreamVerified(result)).toThrow(expect.objectContaining({ code: 'ARCHIVE_VERIFY_FAILED', message: expect.stringMatching(/failed verification: sha256 \(SHA-256 is [0-9a-f]{64}, the manifest says c07da11d/) }));
  });

  it('a truncated copy fails size, SHA-256 and the data walk, saying where it ends', async () => {
    const file = variant('truncated', (b) => b.subarray(0, 9500));
    const result = await verifyWeavestreamDump(file, MANIFEST);
    expect(failed(result)).toEqual(['size', 'sha256', 'data']);
    expect(result.sizeBytes).toBe(9500);
    expect(result.checks.find((c) => c.name === 'data')?.detail).toMatch(/truncated: it ends at byte 9500 inside the data block of TABLE DATA public\._prisma_migrations/);
  });

  it('a plain SQL file under the dump name fails the header, and the hash still covers the whole file', async () => {
    const sql = Buffer.concat([Buffer.from('--\n-- PostgreSQL database dump\n--\n'), Buffer.alloc(3 * 1024 * 1024, 0x41)]);
    const file = variant('plain', () => sql);
    const result = await verifyWeavestreamDump(file, MANIFEST);
    expect(failed(result)).toEqual(['size', 'sha256', 'header', 'toc', 'data']);
    expect(result.sizeBytes).toBe(sql.length);
    expect(result.checks.find((c) => c.name === 'header')?.detail).toMatch(/plain-text SQL dump/);
  });

  it('the wrong dump for a sidecar fails filename, size and SHA-256', async () => {
    const dir = path.join(tmp, 'wrong');
    mkdirSync(dir, { recursive: true });
    const other = path.join(dir, path.basename(Z0_DUMP));
    copyFileSync(Z0_DUMP, other);
    const result = await verifyWeavestreamDump(other, MANIFEST);
    expect(failed(result)).toEqual(['filename', 'size', 'sha256']);
  });

  it('a broken sidecar is a failed manifest check', async () => {
    const dir = path.join(tmp, 'bad-sidecar');
    mkdirSync(dir, { recursive: true });
    const sidecar = path.join(dir, path.basename(SIDECAR));
    writeFileSync(sidecar, readFileSync(SIDECAR, 'utf8').replace(/"sha256": "[0-9a-f]+"/, '"sha256": "nope"'));
    const result = await verifyWeavestreamBackup(DUMP, sidecar);
    expect(result.ok).toBe(false);
    expect(result.checks).toEqual([{ name: 'manifest', ok: false, detail: expect.stringMatching(/field sha256 must be 64 lowercase hex/) }]);
  });

  it('CANCELLED when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(verifyWeavestreamDump(DUMP, MANIFEST, { signal: controller.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
