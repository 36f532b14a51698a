// Every pull into the vault is compared with the installation's history, not only a scheduled one:
// pulls asked for by hand from a real folder of archives on the real sshd, the newest backup of a
// site that lost its data, an anomaly on the pull job, stored once, announced once. Two
// installations checked at the same moment both keep their findings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Anomaly } from '../../src/shared/anomalies';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { makeTestHome } from '../harness/home';
import { startSshd, type TestSshd } from '../harness/sshd';
import { startDirectoryFleet, type DirectoryFleet } from '../fleet/directory/fleet';

let sshd: TestSshd;
let fleets: DirectoryFleet[] = [];
let core: Core;
const client = () => createInProcessClient(core);
const detected: Anomaly[] = [];

async function pull(installation: Installation, remoteId: string): Promise<JobRecord> {
  const { jobId } = await client().call('apps:pull', { installationId: installation.id, remoteId });
  return core.jobs.wait(jobId);
}

beforeAll(async () => {
  sshd = await startSshd();
  fleets = [await startDirectoryFleet({ name: 'Site A', sshd }), await startDirectoryFleet({ name: 'Site B', sshd })];
  core = await createCore({ home: makeTestHome('anomaly-on-pull'), secretStore: new MemorySecretStore('anomaly on pull') });
  await client().call('vault:init', {});
  core.events.on('anomaly:detected', (a) => detected.push(a));
}, 120_000);

afterAll(async () => {
  await core?.close();
  for (const fleet of fleets) await fleet.stop();
  await sshd?.stop();
});

describe('anomaly checks after every pull', () => {
  it('a pull asked for by hand of a site that lost its data ends with the anomaly as a warning, stored and announced once', async () => {
    const fleet = fleets[0]!;
    const installation = await client().call('installations:add', fleet.installation);
    const first = await pull(installation, 'site-001.tar.gz');
    expect(first.status, JSON.stringify(first.error)).toBe('succeeded');
    expect((await pull(installation, 'site-002.tar.gz')).warnings).toEqual([]);
    expect(detected).toEqual([]);

    const emptied = await fleet.writeArchive({ emptied: true });
    const record = await pull(installation, emptied);
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded-with-warnings');
    expect(record.warnings.join('\n')).toMatch(/anomaly: \d+ bytes, \d+ % of the median/);
    const stored = await client().call('anomalies:list', { installationId: installation.id });
    expect(stored.map((a) => a.kind)).toContain('size-shrank');
    expect(detected.map((a) => a.id).sort()).toEqual(stored.map((a) => a.id).sort());

    // Pulling the same backup again stores nothing new and raises nothing again.
    const again = await pull(installation, emptied);
    expect((again.result as { alreadyInVault: boolean }).alreadyInVault).toBe(true);
    expect(await client().call('anomalies:check', { installationId: installation.id })).toEqual([]);
    expect(detected.length).toBe(stored.length);
  }, 120_000);

  it('two installations checked at the same moment both keep their findings', async () => {
    const fleet = fleets[1]!;
    const a = await client().call('installations:add', { ...fleet.installation, name: 'Site B one' });
    const b = await client().call('installations:add', { ...fleet.installation, name: 'Site B two' });
    for (const installation of [a, b]) {
      for (const id of ['site-001.tar.gz', 'site-002.tar.gz']) expect((await pull(installation, id)).status).toBe('succeeded');
    }
    const emptied = await fleet.writeArchive({ emptied: true });
    const records = await Promise.all([pull(a, emptied), pull(b, emptied)]);
    for (const record of records) expect(record.status, JSON.stringify(record.error)).toBe('succeeded-with-warnings');
    const all = await client().call('anomalies:list', {});
    expect(all.filter((x) => x.installationId === a.id).map((x) => x.kind)).toContain('size-shrank');
    expect(all.filter((x) => x.installationId === b.id).map((x) => x.kind)).toContain('size-shrank');
    expect(new Set(all.map((x) => x.id)).size).toBe(all.length);
  }, 180_000);
});
