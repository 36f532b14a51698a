// Rotating verification on a real vault: each run re-reads a different slice of the pack files;
// coverage reaches 100 % after windowDays runs, survives a restart of the core, and a damaged pack
// is named with the snapshots it affects.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { BadPack, RotatingCheckReport } from '../../src/shared/verification';
import { makeTestHome } from '../harness/home';

const home = makeTestHome('rotating');
const secrets = new MemorySecretStore('rotating');
let core: Core;

afterAll(async () => {
  await core?.close();
});

async function verify(): Promise<RotatingCheckReport> {
  const { jobId } = await createInProcessClient(core).call('vault:verify-rotating', {});
  const record = await core.jobs.wait(jobId);
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return record.result as RotatingCheckReport;
}

async function packFiles(dir: string): Promise<{ file: string; size: number }[]> {
  const out: { file: string; size: number }[] = [];
  for (const sub of await readdir(dir)) {
    for (const name of await readdir(path.join(dir, sub))) out.push({ file: path.join(dir, sub, name), size: (await stat(path.join(dir, sub, name))).size });
  }
  return out;
}

describe('rotating verification', () => {
  it('re-reads a new slice each run, reaches 100 % after windowDays runs, keeps coverage across a restart, names a bad pack\'s snapshots', async () => {
    core = await createCore({ home, secretStore: secrets });
    const client = createInProcessClient(core);
    await client.call('vault:init', {});
    const files = ['test/fixtures/meshmonitor/2026-11-23_131719.tar.gz', 'test/fixtures/nojoin/nojoin_backup_sample.zip', 'test/fixtures/loomio/loomio-hourly-20261123-131211.sql.enc', 'test/fixtures/directory/site-001.tar.gz', 'test/fixtures/weavestream/default-compression/weavestream-postgres-2026-11-23T13-16-59Z.dump'];
    const snapshots: string[] = [];
    for (const file of files) {
      // Coverage is the point here, not verification: files without their sidecars or keys are stored marked unverified.
      const { jobId } = await client.call('vault:import', { source: { path: path.resolve(file) }, allowUnverified: true });
      const record = await core.jobs.wait(jobId);
      expect(['succeeded', 'succeeded-with-warnings']).toContain(record.status);
      snapshots.push((record.result as { snapshotId: string }).snapshotId);
    }
    expect((await client.call('vault:verification-coverage', { windowDays: 3 })).percent).toBe(0);

    const first = await verify();
    const second = await verify();
    expect(first.coverage.packs).toBeGreaterThanOrEqual(3);
    expect(first.coverage.percent).toBeGreaterThan(0);
    expect(first.coverage.percent).toBeLessThan(100);
    expect(second.packsReadNow.filter((id) => first.packsReadNow.includes(id))).toEqual([]);

    // A restart: a new core on the same data directory remembers what was read.
    await core.close();
    core = await createCore({ home, secretStore: secrets });
    expect(await createInProcessClient(core).call('vault:verification-coverage', {})).toMatchObject({ packsRead: first.packsReadNow.length + second.packsReadNow.length, windowDays: 3 });
    const third = await verify();
    expect(third.coverage.percent).toBe(100);
    expect(new Set([...first.packsReadNow, ...second.packsReadNow, ...third.packsReadNow]).size).toBe(third.coverage.packs);
    expect(third.check.ok).toBe(true);

    // Damage the largest pack (file data); the runs that follow re-read it and name its snapshots.
    const packs = await packFiles(path.join(home, 'vault', 'data'));
    const largest = packs.sort((a, b) => b.size - a.size)[0]!;
    const bytes = await readFile(largest.file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x55;
    await writeFile(largest.file, bytes);
    const bad: BadPack[] = [];
    const off = core.events.on('verification:bad-pack', (b) => bad.push(b));
    let found: RotatingCheckReport | null = null;
    for (let run = 0; run < 3 && !found; run++) {
      const report = await verify();
      if (report.packsReadNow.includes(path.basename(largest.file))) found = report;
    }
    off();
    expect(found?.check.ok).toBe(false);
    const named = found!.badPacks.find((b) => b.packId === path.basename(largest.file));
    expect(named?.snapshotIds.length).toBeGreaterThan(0);
    expect(snapshots).toEqual(expect.arrayContaining(named!.snapshotIds));
    expect(bad.map((b) => b.packId)).toContain(path.basename(largest.file));
  });
});
