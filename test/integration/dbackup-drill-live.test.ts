// DBackup restore drills of live dumps: the DBackup fleet member (real PostgreSQL 15 seeded at test
// time, real OpenSSH sshd holding the storage destination) dumps with real `pg_dump -F c -Z 6`,
// then gzip or brotli and AES-256-GCM as DBackup's runner does (test/fleet/dbackup/writer.ts).
// Backups pulled over SFTP, or imported with their sidecars, are drilled in the drill's temporary
// local PostgreSQL 15 cluster: every restored row count equals the live table's count(*), for the
// single dump, the v1 multi-DB TAR and a v2 seekable archive. A dump whose restore fails (a policy
// for a role the scratch cluster does not have; a definition edited to invalid SQL) fails its
// drill, naming the statement.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillResult } from '../../src/shared/drills';
import type { Installation } from '../../src/shared/installations';
import { keySlot } from '../../src/main/apps/dbackup/keys';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { makeTestHome } from '../harness/home';
import { startDbackupCore, type DbackupTestCore } from '../fleet/dbackup/core';
import { pgDump, startDbackupFleet, type DbackupFleet } from '../fleet/dbackup/fleet';
import { databaseSidecar, dbackupFileName, encodePayload, seekableArchive, sidecarText, type WriterCompression } from '../fleet/dbackup/writer';

let fleet: DbackupFleet;
let t: DbackupTestCore;
let installation: Installation;
let dir: string;
const AT = new Date(Date.UTC(2026, 11, 1, 2, 0, 0));

beforeAll(async () => {
  fleet = await startDbackupFleet({ name: 'DBackup (live drills)' });
  t = await startDbackupCore('dbackup-drill-live');
  installation = await t.client().call('installations:add', fleet.installation);
  t.core.sessionKeys.provide(keySlot(fleet.profileId), fleet.keyHex);
  dir = makeTestHome('dbackup-drill-live-files');
}, 120_000);

afterAll(async () => {
  await t?.core.close();
  await fleet?.stop();
});

/** `count(*)` of each table of a live database, keyed `public.<table>`. */
async function liveCounts(database: string, tables: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) counts[`public.${table}`] = Number((await fleet.postgres.psql(`SELECT count(*) FROM public.${table};`, database)).trim());
  return counts;
}

/** What a drill restored per table of one dump, keyed as {@link liveCounts} keys them. */
function restored(result: DrillResult, dump: string): Record<string, number | null> {
  return Object.fromEntries(result.tables.filter((x) => x.dump === dump).map((x) => [x.table, x.restored]));
}

async function drill(snapshotId: string): Promise<DrillResult> {
  const { record, result } = await t.job<DrillResult>(t.client().call('drills:run', { snapshotId }));
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return result;
}

async function pull(remoteId: string): Promise<string> {
  const { record, result } = await t.job<PullResult>(t.client().call('apps:pull', { installationId: installation.id, remoteId }));
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return result.snapshotId;
}

/** Stores files in the vault as an import does: the archive and its sidecars (`<file>.meta.json`, …). */
async function importFiles(fileName: string, files: Record<string, Buffer | string>): Promise<string> {
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  const sidecars = Object.keys(files).filter((n) => n !== fileName).map((n) => ({ path: path.join(dir, n) }));
  const { record, result } = await t.job<{ snapshotId: string }>(t.client().call('vault:import', { source: { path: path.join(dir, fileName) }, sidecars, installationId: installation.id }));
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return result.snapshotId;
}

/** A single-database backup of a dump, compressed and encrypted with the fleet's profile key, imported. */
async function importDump(jobName: string, database: string, dump: Buffer, compression: WriterCompression): Promise<string> {
  const fileName = dbackupFileName(jobName, AT, 'sql', compression, true);
  const encoded = encodePayload(dump, { compression, key: Buffer.from(fleet.keyHex, 'hex') });
  const sidecar = databaseSidecar({ jobName, databases: [database], at: AT, fileName, compression, profileId: fleet.profileId }, encoded);
  return importFiles(fileName, { [fileName]: encoded.stored, [`${fileName}.meta.json`]: sidecarText(sidecar) });
}

describe('DBackup drills of live dumps', () => {
  it('a single dump pulled over SFTP (gzip, AES-256-GCM) restores with every row count equal to the live count(*)', async () => {
    const result = await drill(await pull(fleet.seeded.singleDb));
    expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
    expect(result.kind).toBe('postgres');
    expect(result.target).toMatch(/temporary local PostgreSQL 15/);
    expect(result.checks.find((c) => c.id === 'gcm-tag')?.ok).toBe(true);
    expect(restored(result, 'loomio_production')).toEqual(await liveCounts('loomio_production', ['users', 'discussions']));
    expect(result.tables.every((x) => x.ok && x.archive === x.restored)).toBe(true);
  });

  it('the v1 multi-DB TAR pulled over SFTP restores both databases with their live counts', async () => {
    const result = await drill(await pull(fleet.seeded.multiDb));
    expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
    expect(restored(result, 'loomio_production')).toEqual(await liveCounts('loomio_production', ['users', 'discussions']));
    expect(restored(result, 'analytics')).toEqual(await liveCounts('analytics', ['page_views']));
  });

  it('a brotli-compressed encrypted dump of a live database, imported, restores with its live counts', async () => {
    await fleet.postgres.psql(`INSERT INTO page_views (path) SELECT '/live/' || g FROM generate_series(1, 77) g;`, 'analytics');
    const result = await drill(await importDump('Analytics', 'analytics', await pgDump(fleet.postgres, 'analytics'), 'BROTLI'));
    expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
    expect(restored(result, 'analytics')).toEqual({ 'public.page_views': 377 });
    expect(restored(result, 'analytics')).toEqual(await liveCounts('analytics', ['page_views']));
  });

  it('a v2 seekable archive (encrypted, one entry brotli-compressed) restores each Postgres dump inside', async () => {
    const built = await seekableArchive({
      databases: [
        { name: 'loomio_production', dump: await pgDump(fleet.postgres, 'loomio_production') },
        { name: 'analytics', dump: await pgDump(fleet.postgres, 'analytics'), nativeCompression: false },
      ],
      files: [{ src: 'uploads', path: 'a.txt', data: Buffer.from('attachment') }],
      key: Buffer.from(fleet.keyHex, 'hex'),
      profileId: fleet.profileId,
      compression: 'BROTLI',
    });
    const fileName = dbackupFileName('Seekable', AT, 'tar', null, false);
    const sidecar = {
      ...databaseSidecar({ jobName: 'Seekable', databases: ['loomio_production', 'analytics'], at: AT, fileName, compression: null, profileId: fleet.profileId }, { stored: built.tar, iv: null, authTag: null }),
      archive: { formatVersion: 2, indexFile: '.index', encrypted: true, profileId: fleet.profileId },
    };
    const result = await drill(await importFiles(fileName, { [fileName]: built.tar, [`${fileName}.meta.json`]: sidecarText(sidecar), [`${fileName}.index`]: built.index }));
    expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
    expect(result.checks.find((c) => c.id === 'v2-entries')?.ok).toBe(true);
    expect(restored(result, 'loomio_production')).toEqual(await liveCounts('loomio_production', ['users', 'discussions']));
    expect(restored(result, 'analytics')).toEqual(await liveCounts('analytics', ['page_views']));
    expect(result.checks.filter((c) => c.id.startsWith('restore:')).map((c) => c.ok)).toEqual([true, true]);
  });
});

describe('DBackup drills of dumps whose restore fails', () => {
  it('a dump relying on a role the scratch cluster lacks fails at that statement, which the result names', async () => {
    await fleet.postgres.psql('CREATE ROLE lifeboat_auditor; CREATE DATABASE notes;');
    await fleet.postgres.psql(`CREATE TABLE notes (id int PRIMARY KEY, body text);
      INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 10) g;
      ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
      CREATE POLICY notes_auditor ON notes FOR SELECT TO lifeboat_auditor USING (true);`, 'notes');
    const result = await drill(await importDump('Notes', 'notes', await pgDump(fleet.postgres, 'notes'), 'GZIP'));
    expect(result.restorable).toBe(false);
    expect(result.failure?.message).toMatch(/^pg_restore stopped: role "lifeboat_auditor" does not exist/);
    expect(result.failure?.statement).toMatch(/^CREATE POLICY notes_auditor ON public\.notes FOR SELECT TO lifeboat_auditor USING \(true\);$/);
    expect(result.checks.find((c) => c.id === 'restore:notes')).toMatchObject({ ok: false });
    expect(result.checks.find((c) => c.id === 'scratch-dropped')).toMatchObject({ ok: true });
  });

  it('a dump with a table definition edited to invalid SQL fails, naming that definition', async () => {
    const dump = await pgDump(fleet.postgres, 'loomio_production');
    const at = dump.indexOf('CREATE TABLE public.users');
    expect(at).toBeGreaterThan(0);
    // The TOC's definitions are stored uncompressed: the edit keeps every length as it was.
    dump.write('CREATE TABLX', at, 'latin1');
    const result = await drill(await importDump('Edited', 'loomio_production', dump, 'GZIP'));
    expect(result.restorable).toBe(false);
    expect(result.failure?.message).toMatch(/^pg_restore stopped: syntax error at or near "TABLX"/);
    expect(result.failure?.statement).toMatch(/^CREATE TABLX public\.users \(/);
  });
});
