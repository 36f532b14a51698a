// The Loomio module's format side on the samples (made by Python's cryptography as backup.py
// does): detection by content, the preview (counts equal a plain line count of the plaintext),
// the three failures in words, an unencrypted dump, the pull verifier, names and retention, and
// the psql error parser on real psql output.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ArchiveAccess } from '../../src/main/apps/adapter';
import { loomioModule } from '../../src/main/apps/loomio';
import { manualBackupName, parseLoomioBackupName, retentionDeadline, sanitizeReason, isRestoreLeftover } from '../../src/main/apps/loomio/names';
import { dropRules, firstPsqlError, restrictSupported } from '../../src/main/apps/loomio/restore';
import { pullVerifier } from '../../src/main/apps/loomio/sources';
import { LOOMIO_KDF } from '../../src/main/apps/loomio/key';
import { deriveFernetKey } from '../../src/main/formats/fernet';
import { formatContext } from '../harness/format-context';
import { wholeArchiveOf } from '../harness/whole-archive';
import { LOOMIO_SAMPLES, copyRowCounts } from '../fleet/loomio/samples';

const step = { signal: new AbortController().signal, progress: () => undefined, log: () => undefined };
const withKey = (passphrase: string = LOOMIO_SAMPLES.passphrase) => formatContext(step, { 'backup-encryption-key': passphrase });

function access(fileName: string, bytes: Buffer, mtime: Date | null = null): ArchiveAccess {
  return { fileName, size: bytes.length, mtime, sidecars: [], open: async () => Readable.from([bytes.subarray(0, 3000), bytes.subarray(3000)]) };
}

describe('detection', () => {
  const probe = (fileName: string, head: Buffer) => loomioModule.detect({ fileName, size: head.length, head, sidecars: [] });
  it('claims a Fernet token by content, more strongly with a stack name; a plain dump weakly; nothing else', () => {
    expect(probe(LOOMIO_SAMPLES.hourlyName, LOOMIO_SAMPLES.hourly)?.confidence).toBe(0.95);
    expect(probe(LOOMIO_SAMPLES.v1Name, LOOMIO_SAMPLES.v1)?.confidence).toBe(0.95);
    expect(probe('backup.bin', LOOMIO_SAMPLES.hourly)?.confidence).toBe(0.6);
    expect(probe('loomio-daily-20261123.sql', LOOMIO_SAMPLES.plaintext)?.confidence).toBe(0.85);
    expect(probe('dump.sql', LOOMIO_SAMPLES.plaintext)?.confidence).toBe(0.25);
    expect(probe('loomio-hourly-20261123-131211.sql.enc', Buffer.from('PGDMP\x01\x0e'))).toBeNull();
    expect(probe('x', Buffer.from('gAAAAA!!'))).toBeNull();
  });
});

describe('preview', () => {
  it.each([LOOMIO_SAMPLES.hourlyName, LOOMIO_SAMPLES.v1Name])('reads %s: verified, versions, tables with the COPY counts of the plaintext', async (name) => {
    const bytes = name === LOOMIO_SAMPLES.hourlyName ? LOOMIO_SAMPLES.hourly : LOOMIO_SAMPLES.v1;
    const report = await loomioModule.format.preview(access(name, bytes, new Date('2026-11-23T13:12:20Z')), withKey());
    expect(report.integrity.ok, JSON.stringify(report.integrity.checks)).toBe(true);
    expect(report.createdAt).toBe('2026-11-23T13:12:11.000Z');
    expect(Object.fromEntries(report.contents.rows.map((r) => [r.table, r.rows]))).toEqual(copyRowCounts(LOOMIO_SAMPLES.plaintext.toString('utf8')));
    const summary = Object.fromEntries(report.summary.map((s) => [s.label, s.value]));
    expect(summary['Tier']).toMatch(name.startsWith('loomio_backup') ? /^v1/ : /^hourly$/);
    expect(summary['Dumped by pg_dump']).toBe('15.18 (Debian 15.18-0+deb12u1)');
    expect(summary['Fernet time']).toBe('2026-11-23 13:12:11 UTC');
    expect(report.notIncluded.join(' ')).toMatch(/uploads/);
    expect(report.notIncluded.join(' ')).toMatch(/\.env/);
    if (name === LOOMIO_SAMPLES.v1Name) expect(report.warnings.join(' ')).toMatch(/never deletes it/);
    else expect(report.warnings.join(' ')).toMatch(/retention \(hourly\) has deleted this file/);
  });

  it('asks for the key (KEY_REQUIRED) when none is known', async () => {
    await expect(loomioModule.format.preview(access(LOOMIO_SAMPLES.hourlyName, LOOMIO_SAMPLES.hourly), formatContext(step))).rejects.toMatchObject({ code: 'KEY_REQUIRED', details: { slot: 'backup-encryption-key' } });
  });

  it('wrong key, altered byte and truncation: three different failed reports, contents withheld', async () => {
    const altered = Buffer.from(LOOMIO_SAMPLES.hourly);
    altered[8000] = altered[8000] === 0x41 ? 0x42 : 0x41;
    const reports = await Promise.all([
      loomioModule.format.preview(access(LOOMIO_SAMPLES.hourlyName, LOOMIO_SAMPLES.hourly), withKey('f'.repeat(64))),
      loomioModule.format.preview(access(LOOMIO_SAMPLES.hourlyName, altered), withKey()),
      loomioModule.format.preview(access(LOOMIO_SAMPLES.hourlyName, LOOMIO_SAMPLES.hourly.subarray(0, 6001)), withKey()),
    ]);
    const details = reports.map((r) => r.integrity.checks.find((c) => !c.ok)?.detail ?? '');
    expect(reports.every((r) => !r.integrity.ok && r.contents.rows.length === 0)).toBe(true);
    expect(details[0]).toMatch(/probably the wrong key/);
    expect(details[1]).toMatch(/altered or damaged/);
    expect(details[2]).toMatch(/cut short/);
    expect(new Set(details).size).toBe(3);
  });

  it('an unencrypted plain dump: readable, flagged, the daily overwrite warned about', async () => {
    const report = await loomioModule.format.preview(access('loomio-daily-20261123.sql', LOOMIO_SAMPLES.plaintext, new Date()), formatContext(step));
    expect(report.integrity.ok).toBe(true);
    expect(report.contents.rows).toHaveLength(5);
    expect(report.warnings.join(' ')).toMatch(/not encrypted/);
    expect(report.warnings.join(' ')).toMatch(/second daily run that day/);
    expect(report.warnings.join(' ')).toMatch(/deletes this daily file from the Pi in 7 days/);
    expect(report.secrets.join(' ')).toMatch(/Not encrypted/);
  });

  it('warns about pg_dump 17 against a PostgreSQL 15 server (transaction_timeout)', async () => {
    const skewed = LOOMIO_SAMPLES.plaintext.toString('utf8').replace('-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)', '-- Dumped by pg_dump version 17.6').replace('SET statement_timeout = 0;', 'SET statement_timeout = 0;\nSET transaction_timeout = 0;');
    const report = await loomioModule.format.preview(access('loomio-hourly-20261123-131211.sql', Buffer.from(skewed)), formatContext(step));
    expect(report.warnings.join(' ')).toMatch(/pg_dump 17 from a PostgreSQL 15 server.*transaction_timeout/);
    expect(report.compatibility.find((c) => c.label === 'pg_dump / server')?.ok).toBe(false);
  });
});

describe('the pull verifier', () => {
  it('passes a sample, fails the wrong key and a size change', async () => {
    const key = { key: await deriveFernetKey(LOOMIO_SAMPLES.passphrase, LOOMIO_KDF), verifiedBefore: false, markVerified: () => undefined };
    const good = pullVerifier(LOOMIO_SAMPLES.hourlyName, LOOMIO_SAMPLES.hourly.length, key);
    good.write(LOOMIO_SAMPLES.hourly);
    expect((await good.finish(wholeArchiveOf(LOOMIO_SAMPLES.hourly))).every((c) => c.ok)).toBe(true);
    const wrong = pullVerifier(LOOMIO_SAMPLES.hourlyName, 10, { ...key, key: await deriveFernetKey('nope', LOOMIO_KDF) });
    wrong.write(LOOMIO_SAMPLES.hourly);
    const checks = await wrong.finish(wholeArchiveOf(LOOMIO_SAMPLES.hourly));
    expect(checks.map((c) => [c.id, c.ok])).toEqual([['size', false], ['fernet-hmac', false]]);
    // With the key known good for this installation, the same failure reads "altered".
    const known = pullVerifier(LOOMIO_SAMPLES.hourlyName, LOOMIO_SAMPLES.hourly.length, { ...key, verifiedBefore: true });
    const damaged = Buffer.from(LOOMIO_SAMPLES.hourly);
    damaged[damaged.length - 10] = damaged[damaged.length - 10] === 0x41 ? 0x42 : 0x41;
    known.write(damaged);
    expect((await known.finish(wholeArchiveOf(damaged)))[1]?.detail).toMatch(/same key verifies other backups/);
  });
});

describe('names and retention', () => {
  it('reads both generations and refuses look-alikes', () => {
    expect(parseLoomioBackupName('loomio-hourly-20261123-131211.sql.enc')).toMatchObject({ tier: 'hourly', generation: 'head', encrypted: true, reason: null });
    expect(parseLoomioBackupName('loomio-manual-20261123-131211-update-from-v42-0-4.sql.enc')).toMatchObject({ tier: 'manual', reason: 'update-from-v42-0-4' });
    expect(parseLoomioBackupName('loomio-weekly-20261123.sql')).toMatchObject({ tier: 'weekly', encrypted: false });
    expect(parseLoomioBackupName('loomio_backup_20251101_120000.sql.enc')?.nameTime.toISOString()).toBe('2025-11-01T12:00:00.000Z');
    for (const bad of ['loomio-hourly-20261323-131211.sql.enc', 'loomio-hourly-20261123-131211-x.sql.enc', 'restore_1700000000.sql', '.last_sync_status', 'loomio-daily-2026112.sql.enc']) expect(parseLoomioBackupName(bad)).toBeNull();
    expect(isRestoreLeftover('restore_1700000000.sql')).toBe(true);
    expect(isRestoreLeftover('restore_boot.sql')).toBe(true);
  });

  it('sanitises reasons as backup.py does and names manual backups', () => {
    expect(sanitizeReason('update-from-v42.0.4')).toBe('update-from-v42-0-4');
    expect(sanitizeReason('  before upgrade!! ')).toBe('before-upgrade');
    expect(manualBackupName(new Date('2026-11-23T13:12:11Z'), 'lifeboat-restore')).toBe('loomio-manual-20261123-131211-lifeboat-restore.sql.enc');
  });

  it('keeps each tier as long as HEAD cleanup_old_backups does; v1 forever', () => {
    const mtime = new Date('2026-01-01T00:00:00Z');
    expect(retentionDeadline('hourly', mtime)?.toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(retentionDeadline('weekly', mtime)?.toISOString()).toBe('2026-03-26T00:00:00.000Z');
    expect(retentionDeadline('manual', mtime)?.toISOString()).toBe('2026-01-31T00:00:00.000Z');
    expect(retentionDeadline('v1', mtime)).toBeNull();
  });
});

describe('restore helpers', () => {
  it('finds the first failing statement in psql --echo-errors output and maps its line back to the dump', () => {
    const stderr = 'psql:<stdin>:5: ERROR:  function nosuch(integer) does not exist\nLINE 1: SELECT nosuch(\n               ^\nHINT:  No function matches the given name and argument types.\npsql:<stdin>:5: STATEMENT:  SELECT nosuch(\n  1);\n';
    expect(firstPsqlError(stderr, [2])).toEqual({ line: 5, error: 'function nosuch(integer) does not exist HINT:  No function matches the given name and argument types.', statement: 'SELECT nosuch(\n  1);' });
    expect(firstPsqlError('psql:<stdin>:6: ERROR:  invalid input syntax for type integer: "x"\nCONTEXT:  COPY t, line 2, column a: "x"\n')).toMatchObject({ line: 5, statement: null, error: expect.stringMatching(/CONTEXT: {2}COPY t, line 2/) });
    expect(firstPsqlError('no errors here')).toBeNull();
  });

  it('leaves out \\restrict only for an old psql, transaction_timeout only below 17, the dump\'s own COMMIT always', () => {
    expect(restrictSupported([15, 18])).toBe(true);
    expect(restrictSupported([15, 13])).toBe(false);
    expect(restrictSupported([18, 0])).toBe(true);
    const old = dropRules(15, false);
    const fresh = dropRules(17, true);
    expect(old('\\restrict abc')).toBe(true);
    expect(fresh('\\restrict abc')).toBe(false);
    expect(old('SET transaction_timeout = 0;')).toBe(true);
    expect(fresh('SET transaction_timeout = 0;')).toBe(false);
    expect(fresh('COMMIT;')).toBe(true);
    expect(fresh('SET statement_timeout = 0;')).toBe(false);
  });
});
