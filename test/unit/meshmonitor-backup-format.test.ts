import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSelectiveBackup,
  JsonArrayCounter,
  MESHMONITOR_BACKUP_TABLES,
  verifyMeshMonitorBackup,
  writeSelectiveBackupDirectory,
} from '../../src/main/apps/meshmonitor/backup-format';
import { LifeboatError } from '../../src/shared/errors';

const run = promisify(execFile);
const SAMPLE = path.resolve('test/fixtures/meshmonitor/2026-11-23_131719.tar.gz');
const DIRNAME = '2026-11-23_131719';
const EMPTY_SHA = '4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945';

let tmp: string;
/** Extracts a tar.gz with the real tar CLI into a fresh folder and returns the backup directory. */
async function extract(archive: string, into: string): Promise<string> {
  await run('mkdir', ['-p', into]);
  await run('tar', ['-xzf', archive, '-C', into]);
  return path.join(into, DIRNAME);
}

async function failure(promise: Promise<unknown>): Promise<LifeboatError> {
  const error = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LifeboatError);
  return error as LifeboatError;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-mm-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('verifying the real 4.15.1 sample', () => {
  it('reads the tar.gz: 20 tables, 225 rows, the list size 42415, metadata fields', async () => {
    const summary = await verifyMeshMonitorBackup(SAMPLE);
    expect(summary).toMatchObject({
      dirname: DIRNAME,
      createdAt: '2026-11-23T13:17:19.259Z',
      appVersion: '4.15.1',
      schemaVersion: 21,
      totalRows: 225,
      size: 42415,
      extraFiles: [],
      warnings: [],
    });
    expect(summary.tables.map((t) => t.table)).toEqual([...MESHMONITOR_BACKUP_TABLES]);
    const rows = Object.fromEntries(summary.tables.map((t) => [t.table, t.rows]));
    expect(rows).toMatchObject({ users: 2, settings: 191, permissions: 26, audit_log: 4, nodes: 1, sources: 1, messages: 0 });
    expect(summary.tables.find((t) => t.table === 'messages')?.sha256).toBe(EMPTY_SHA);
    expect(summary.tables.find((t) => t.table === 'settings')?.bytes).toBe(29089);
  });

  it('reads the same backup as an extracted directory, and from a stream', async () => {
    const dir = await extract(SAMPLE, path.join(tmp, 'plain'));
    const fromDir = await verifyMeshMonitorBackup(dir);
    const fromStream = await verifyMeshMonitorBackup(createReadStream(SAMPLE));
    const fromFile = await verifyMeshMonitorBackup(SAMPLE);
    expect(fromDir).toEqual(fromFile);
    expect(fromStream).toEqual(fromFile);
  });

  it('agrees with sha256sum on every table file', async () => {
    const dir = path.join(tmp, 'plain', DIRNAME);
    const summary = await verifyMeshMonitorBackup(dir);
    const { stdout } = await run('sha256sum', summary.tables.map((t) => t.file), { cwd: dir });
    const fromTool = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split(/\s+/).reverse()));
    for (const t of summary.tables) expect(fromTool[t.file]).toBe(t.sha256);
  });
});

describe('tampering and damage', () => {
  it('one added space in settings.json fails verification naming the table (directory and re-packed tar.gz)', async () => {
    const dir = await extract(SAMPLE, path.join(tmp, 'tampered'));
    const settings = path.join(dir, 'settings.json');
    const text = await readFile(settings, 'utf8');
    await writeFile(settings, text.replace('"key"', '"key" '));
    const error = await failure(verifyMeshMonitorBackup(dir));
    expect(error.code).toBe('ARCHIVE_VERIFY_FAILED');
    expect(error.message).toBe('Backup validation failed: Checksum mismatch for table: settings');
    expect(error.details).toMatchObject({ table: 'settings', tables: [{ table: 'settings', expected: 'd92339ef6cd8a698b9288d6b21e372e5684a44fd9f49edf5f56aadf48b7e4215' }] });

    const repacked = path.join(tmp, 'tampered.tar.gz');
    await run('tar', ['-czf', repacked, '-C', path.join(tmp, 'tampered'), DIRNAME]);
    expect((await failure(verifyMeshMonitorBackup(repacked))).details).toMatchObject({ table: 'settings' });
  });

  it('a flipped byte inside the gzip stream is never accepted', async () => {
    const copy = path.join(tmp, 'flipped.tar.gz');
    const bytes = await readFile(SAMPLE);
    bytes[3000] = (bytes[3000] ?? 0) ^ 0x01;
    await writeFile(copy, bytes);
    const error = await failure(verifyMeshMonitorBackup(copy));
    expect(['ARCHIVE_INVALID', 'ARCHIVE_VERIFY_FAILED']).toContain(error.code);
  });

  it('a truncated download is ARCHIVE_INVALID, not a short backup', async () => {
    const copy = path.join(tmp, 'truncated.tar.gz');
    await copyFile(SAMPLE, copy);
    await truncate(copy, 4000);
    expect((await failure(verifyMeshMonitorBackup(copy))).code).toBe('ARCHIVE_INVALID');
  });

  it('a missing table file and a future schemaVersion are refused with MeshMonitor\'s wording', async () => {
    const dir = await extract(SAMPLE, path.join(tmp, 'damaged'));
    await rm(path.join(dir, 'nodes.json'));
    const missing = await failure(verifyMeshMonitorBackup(dir));
    expect(missing.message).toBe('Backup validation failed: Missing table file: nodes.json');

    const future = await extract(SAMPLE, path.join(tmp, 'future'));
    const metaFile = path.join(future, 'metadata.json');
    await writeFile(metaFile, (await readFile(metaFile, 'utf8')).replace('"schemaVersion": 21', '"schemaVersion": 22'));
    const error = await failure(verifyMeshMonitorBackup(future));
    expect(error.code).toBe('ARCHIVE_VERIFY_FAILED');
    expect(error.message).toBe('Backup schema version (22) is newer than current version (21). Cannot restore from future version.');
    const lenient = await verifyMeshMonitorBackup(future, { allowNewerSchema: true });
    expect(lenient.warnings).toHaveLength(1);
  });

  it('an extra file is listed, not hashed into the result', async () => {
    const dir = await extract(SAMPLE, path.join(tmp, 'extra'));
    await appendFile(path.join(dir, 'automations.json'), '[]');
    expect((await verifyMeshMonitorBackup(dir)).extraFiles).toEqual(['automations.json']);
  });
});

describe('selective backups', () => {
  const chosen = ['users', 'settings', 'nodes'];

  it('builds a tar.gz of only the chosen tables with a correct metadata.json', async () => {
    const original = await verifyMeshMonitorBackup(SAMPLE);
    const selective = await buildSelectiveBackup(SAMPLE, chosen);
    const out = path.join(tmp, 'selective.tar.gz');
    await pipeline(selective.stream, createWriteStream(out));

    // The real tar CLI sees MeshMonitor's layout: <dirname>/<file>, 0644, no directory members, name order.
    const { stdout } = await run('tar', ['-tvzf', out]);
    const lines = stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/).at(-1))).toEqual([
      `${DIRNAME}/metadata.json`,
      `${DIRNAME}/nodes.json`,
      `${DIRNAME}/settings.json`,
      `${DIRNAME}/users.json`,
    ]);
    for (const line of lines) expect(line.startsWith('-rw-r--r--')).toBe(true);

    const summary = await verifyMeshMonitorBackup(out);
    // Metadata order follows MeshMonitor's table order, not the caller's.
    expect(summary.metadata.tables).toEqual(['nodes', 'settings', 'users']);
    expect(summary.metadata.tableCount).toBe(3);
    expect(summary.totalRows).toBe(1 + 191 + 2);
    for (const table of chosen) expect(summary.metadata.checksums[table]).toBe(original.metadata.checksums[table]);
    expect(Object.keys(summary.metadata.checksums)).toHaveLength(3);
    expect(summary.metadata).toMatchObject({ backupVersion: '1.0', meshmonitorVersion: '4.15.1', timestamp: original.createdAt, schemaVersion: 21 });

    const extracted = await extract(out, path.join(tmp, 'selective-x'));
    const metaText = await readFile(path.join(extracted, 'metadata.json'), 'utf8');
    expect(metaText.endsWith('}')).toBe(true);
    expect(metaText).toBe(selective.metadataText);
    expect(metaText.split('\n')[1]).toBe('  "backupVersion": "1.0",');
  });

  it('writes the selective backup as a directory from a directory source', async () => {
    const source = path.join(tmp, 'plain', DIRNAME);
    const parent = path.join(tmp, 'system-backups');
    const { dir, metadata } = await writeSelectiveBackupDirectory(source, ['sources', 'audit_log'], parent, { dirname: '2026-01-05_000000' });
    expect(path.basename(dir)).toBe('2026-01-05_000000');
    expect((await readdir(dir)).sort()).toEqual(['audit_log.json', 'metadata.json', 'sources.json']);
    expect(((await stat(path.join(dir, 'sources.json'))).mode & 0o777).toString(8)).toBe('644');
    const sha = createHash('sha256').update(await readFile(path.join(dir, 'audit_log.json'))).digest('hex');
    expect(metadata.checksums.audit_log).toBe(sha);
    expect((await verifyMeshMonitorBackup(dir)).totalRows).toBe(5);
    expect((await failure(writeSelectiveBackupDirectory(source, ['sources'], parent, { dirname: '2026-01-05_000000' }))).code).toBe('ALREADY_EXISTS');
  });

  it('refuses unknown tables and an empty choice', async () => {
    expect((await failure(buildSelectiveBackup(SAMPLE, ['automations']))).code).toBe('INVALID_INPUT');
    expect((await failure(buildSelectiveBackup(SAMPLE, []))).code).toBe('INVALID_INPUT');
  });
});

describe('JsonArrayCounter', () => {
  const count = (text: string, chunk = 0): ReturnType<JsonArrayCounter['result']> => {
    const counter = new JsonArrayCounter();
    const bytes = Buffer.from(text, 'utf8');
    if (chunk === 0) counter.push(bytes);
    else for (let i = 0; i < bytes.length; i += chunk) counter.push(bytes.subarray(i, i + chunk));
    return counter.result();
  };

  it('counts top-level elements through strings, escapes and nesting, in any chunking', () => {
    const tricky = JSON.stringify([{ a: 'x,]}["\\"', b: [1, 2, { c: '","' }] }, 'é,ü', [[]], null, 3.5]);
    expect(count(tricky)).toEqual({ rows: 5 });
    expect(count(tricky, 1)).toEqual({ rows: 5 });
    expect(count('[]')).toEqual({ rows: 0 });
    expect(count(' [\n  {}\n] ')).toEqual({ rows: 1 });
  });

  it('reports what is not one complete array', () => {
    expect(count('{"a":1}')).toHaveProperty('error');
    expect(count('[1,2')).toHaveProperty('error');
    expect(count('[1] [2]')).toHaveProperty('error');
    expect(count('')).toHaveProperty('error');
  });
});
