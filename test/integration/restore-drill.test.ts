// Restore drills against real parts: samples of each app imported into a real vault, restored
// into the drill's own temporary PostgreSQL 15 cluster (pg_restore / psql, stop-on-error) or read
// structurally; a tampered snapshot and a dump with a failing statement fail, named; and a
// "production" cluster holding the same database is compared before and after a drill.
import { createHash } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { DrillResult } from '../../src/shared/drills';
import { makeTestHome } from '../harness/home';
import { startPostgres, type TestPostgres } from '../harness/postgres';

const LOOMIO_KEY = 'a7863fc93a8c1c2511bbccbca8cac9dfbbae83b3ecce153db6c8e0c07f5f8cfe';
const WS = path.resolve('test/fixtures/weavestream/default-compression');
const WS_DUMP = 'weavestream-postgres-2026-11-23T13-16-59Z.dump';
const WS_MANIFEST = 'weavestream-postgres-2026-11-23T13-16-59Z.manifest.json';

let core: Core;
const client = () => createInProcessClient(core);

async function importFile(file: string, sidecars: string[] = [], allowUnverified = false): Promise<string> {
  const { jobId } = await client().call('vault:import', { source: { path: file }, sidecars: sidecars.map((s) => ({ path: s })), allowUnverified });
  const record = await core.jobs.wait(jobId);
  // A tampered archive enters the vault only when asked, marked unverified (the drill must still catch it).
  expect(record.status, JSON.stringify(record.error)).toBe(allowUnverified ? 'succeeded-with-warnings' : 'succeeded');
  return (record.result as { snapshotId: string }).snapshotId;
}

async function drill(snapshotId: string): Promise<DrillResult> {
  const { jobId } = await client().call('drills:run', { snapshotId });
  const record = await core.jobs.wait(jobId);
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return record.result as DrillResult;
}

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('drills'), secretStore: new MemorySecretStore('drills') });
  await client().call('vault:init', {});
  core.sessionKeys.provide('backup-encryption-key', LOOMIO_KEY);
});

afterAll(async () => {
  await core?.close();
});

describe('restore drills of the samples', () => {
  it('Weavestream: pg_restore into a scratch database, every row count as in the dump, stored and audited', async () => {
    const id = await importFile(path.join(WS, WS_DUMP), [path.join(WS, WS_MANIFEST)]);
    const finished: DrillResult[] = [];
    const off = core.events.on('drill:finished', (r) => finished.push(r));
    const result = await drill(id);
    off();
    expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
    expect(result.kind).toBe('postgres');
    expect(result.target).toMatch(/temporary local PostgreSQL 15 cluster .*lifeboat_drill_/);
    expect(result.tables.map((t) => t.table)).toEqual(expect.arrayContaining(['public.users', 'audit.events']));
    expect(result.tables.every((t) => t.ok && t.restored === t.archive)).toBe(true);
    expect(result.tables.some((t) => (t.restored ?? 0) > 0)).toBe(true);
    expect(finished.map((r) => r.id)).toEqual([result.id]);
    expect((await client().call('drills:results', { snapshotId: id.slice(0, 8) }))[0]?.id).toBe(result.id);
    const audit = await client().call('audit:list', {});
    expect(audit.find((e) => e.action === 'drill' && e.snapshotId === id)?.outcome).toBe('succeeded');
  });

  it('Loomio: the Fernet token verified and decrypted, psql into a scratch database, row counts match', async () => {
    const id = await importFile(path.resolve('test/fixtures/loomio/loomio-hourly-20261123-131211.sql.enc'));
    const result = await drill(id);
    expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
    expect(result.checks.find((c) => c.id === 'fernet')?.ok).toBe(true);
    expect(result.tables.map((t) => t.table)).toEqual(expect.arrayContaining(['public.users', 'public.comments']));
    expect(result.tables.every((t) => t.ok)).toBe(true);
  });

  it('MeshMonitor and Nojoin: structural drills re-read every row and checksum and pass', async () => {
    for (const file of ['test/fixtures/meshmonitor/2026-11-23_131719.tar.gz', 'test/fixtures/nojoin/nojoin_backup_sample.zip']) {
      const result = await drill(await importFile(path.resolve(file)));
      expect(result.kind).toBe('structural');
      expect(result.restorable, `${file}: ${JSON.stringify(result.failure)}`).toBe(true);
      expect(result.tables.length).toBeGreaterThan(0);
      expect(result.checks.find((c) => c.id === 'structural')?.detail).toMatch(/row/);
    }
  });

  it('a tampered snapshot fails its drill, naming the check, and emits drill:failed', async () => {
    const dir = makeTestHome('drill-tampered');
    const bytes = await readFile(path.join(WS, WS_DUMP));
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFile(path.join(dir, WS_DUMP), bytes);
    await copyFile(path.join(WS, WS_MANIFEST), path.join(dir, WS_MANIFEST));
    const id = await importFile(path.join(dir, WS_DUMP), [path.join(dir, WS_MANIFEST)], true);
    const failed: DrillResult[] = [];
    const off = core.events.on('drill:failed', (r) => failed.push(r));
    const result = await drill(id);
    off();
    expect(result.restorable).toBe(false);
    expect(result.failure?.message).toMatch(/SHA-256|sha256/i);
    expect(failed.map((r) => r.snapshotId)).toEqual([id]);
    const audit = await client().call('audit:list', {});
    expect(audit.find((e) => e.action === 'drill' && e.snapshotId === id)?.outcome).toBe('failed');
  });

  it('a dump with a failing statement fails at that statement, which the result names', async () => {
    const dir = makeTestHome('drill-statement');
    const sql = await readFile(path.resolve('test/fixtures/loomio/plaintext/loomio_production.sql'), 'utf8');
    const bad = 'ALTER TABLE public.users ADD CONSTRAINT lifeboat_broken CHECK (id < 0);';
    const marker = sql.indexOf('\n--\n-- PostgreSQL database dump complete');
    expect(marker).toBeGreaterThan(0);
    await writeFile(path.join(dir, 'loomio_production.sql'), `${sql.slice(0, marker)}\n${bad}\n${sql.slice(marker)}`);
    const id = await importFile(path.join(dir, 'loomio_production.sql'));
    const result = await drill(id);
    expect(result.restorable).toBe(false);
    expect(result.failure?.message).toMatch(/psql stopped at line \d+: .*lifeboat_broken/);
    expect(result.failure?.statement).toBe(bad);
  });
});

describe('a drill never touches production', () => {
  let production: TestPostgres;

  beforeAll(async () => {
    production = await startPostgres();
    await production.psql('CREATE DATABASE loomio_production;');
    await production.psql(await readFile(path.resolve('test/fixtures/loomio/plaintext/loomio_production.sql'), 'utf8'), 'loomio_production');
  });

  afterAll(async () => {
    await production?.stop();
  });

  async function fingerprint(): Promise<string> {
    const databases = await production.psql('SELECT string_agg(datname, \',\' ORDER BY datname) FROM pg_database;');
    const rows = await production.psql(
      'SELECT string_agg(t, \'|\' ORDER BY t) FROM (SELECT \'users:\' || count(*) || md5(string_agg(u::text, \'\' ORDER BY u::text)) AS t FROM users u UNION ALL SELECT \'comments:\' || count(*) || md5(coalesce(string_agg(c::text, \'\' ORDER BY c::text), \'\')) FROM comments c) x;',
      'loomio_production',
    );
    const stats = await production.psql('SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables;', 'loomio_production');
    return createHash('sha256').update(`${databases}\n${rows}\n${stats}`).digest('hex') + ` ${databases.trim()}`;
  }

  it('the production database is the same before and after a drill of its backup', async () => {
    const before = await fingerprint();
    const id = await importFile(path.resolve('test/fixtures/loomio/loomio-hourly-20261123-131211.sql.enc'));
    const result = await drill(id);
    expect(result.restorable).toBe(true);
    expect(await fingerprint()).toBe(before);
    expect(before).not.toMatch(/lifeboat_drill/);
  });
});
