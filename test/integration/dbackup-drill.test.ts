// DBackup restore drills against real parts: the real samples (a pg_dump custom archive and the
// v1 multi-DB TAR, gzip + AES-256-GCM) imported into a real vault with their sidecars and the
// profile key in the session, restored into the drill's temporary PostgreSQL 15 cluster with
// pg_restore stop-on-error; a tampered copy fails naming the check; a config backup gets a
// structural drill that says it was not restored.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillResult } from '../../src/shared/drills';
import { keySlot } from '../../src/main/apps/dbackup/keys';
import { makeTestHome } from '../harness/home';
import { SAMPLES, SAMPLES_DIR } from '../fleet/dbackup/archives';
import { startDbackupCore, type DbackupTestCore } from '../fleet/dbackup/core';
import { SAMPLE_KEY_HEX, SAMPLE_PROFILE_ID } from '../fleet/dbackup/writer';

let t: DbackupTestCore;

async function importSample(file: string, allowUnverified = false): Promise<string> {
  const { record, result } = await t.job<{ snapshotId: string }>(t.client().call('vault:import', { source: { path: file }, sidecars: [{ path: `${file}.meta.json` }], allowUnverified }));
  expect(record.status, JSON.stringify(record.error)).toBe(allowUnverified ? 'succeeded-with-warnings' : 'succeeded');
  return result.snapshotId;
}

async function drill(snapshotId: string): Promise<DrillResult> {
  const { record, result } = await t.job<DrillResult>(t.client().call('drills:run', { snapshotId }));
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return result;
}

beforeAll(async () => {
  t = await startDbackupCore('dbackup-drill');
  t.core.sessionKeys.provide(keySlot(SAMPLE_PROFILE_ID), SAMPLE_KEY_HEX);
});

afterAll(async () => {
  await t?.core.close();
});

describe('DBackup restore drills', () => {
  it('the "Loomio DB" sample restores with pg_restore, every row count as in the archive', async () => {
    const result = await drill(await importSample(path.join(SAMPLES_DIR, SAMPLES.singleDb.relative)));
    expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
    expect(result.kind).toBe('postgres');
    expect(result.checks.find((c) => c.id === 'gcm-tag')?.ok).toBe(true);
    expect(result.tables.length).toBeGreaterThan(0);
    expect(result.tables.every((t) => t.ok && t.restored === t.archive)).toBe(true);
    expect(result.tables.some((t) => (t.restored ?? 0) > 0)).toBe(true);
  });

  it('the multi-DB TAR sample restores both databases', async () => {
    const result = await drill(await importSample(path.join(SAMPLES_DIR, SAMPLES.multiDb.relative)));
    expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
    expect([...new Set(result.tables.map((t) => t.dump))].sort()).toEqual(['analytics', 'loomio_production']);
    expect(result.tables.every((t) => t.ok)).toBe(true);
  });

  it('a tampered copy fails its drill, naming the check', async () => {
    const dir = path.join(makeTestHome('dbackup-drill-tampered'), 'Loomio DB');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, SAMPLES.singleDb.fileName);
    const bytes = Buffer.from(SAMPLES.singleDb.stored);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(file, bytes);
    await copyFile(path.join(SAMPLES_DIR, `${SAMPLES.singleDb.relative}.meta.json`), `${file}.meta.json`);
    const result = await drill(await importSample(file, true));
    expect(result.restorable).toBe(false);
    expect(result.failure?.message).toMatch(/SHA-256|MD5|tag/i);
  });

  it('a config backup gets a structural drill that says it was not restored', async () => {
    // Config sidecars carry no checksum: the vault takes it only marked unverified.
    const result = await drill(await importSample(path.join(SAMPLES_DIR, SAMPLES.configWithSecrets.relative), true));
    expect(result.kind).toBe('structural');
    expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
    expect(result.checks.find((c) => c.id === 'structural')?.detail).toMatch(/not restored: a DBackup config backup/);
    expect(await readFile(path.join(SAMPLES_DIR, SAMPLES.configWithSecrets.relative))).toEqual(SAMPLES.configWithSecrets.stored);
  });
});
