// Sidecars travel with their archive: imported together they make one snapshot; a lone sidecar
// is refused by name (CLI and contract); a local file's preview finds its sidecar beside it.
import { cpSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import type { PreviewReport } from '../../src/shared/apps';
import { makeTestHome } from '../harness/home';

const SAMPLES = path.resolve('test/fixtures/weavestream/default-compression');
const DUMP = 'weavestream-postgres-2026-11-23T13-16-59Z.dump';
const MANIFEST = 'weavestream-postgres-2026-11-23T13-16-59Z.manifest.json';
const cli = path.resolve('bin/lifeboat.mjs');

let core: Core;
let dir: string;

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('sidecars'), secretStore: new MemorySecretStore('sidecars') });
  await createInProcessClient(core).call('vault:init', {});
  dir = mkdtempSync(path.join(core.home.root, 'files-'));
  cpSync(path.join(SAMPLES, DUMP), path.join(dir, DUMP));
  cpSync(path.join(SAMPLES, MANIFEST), path.join(dir, MANIFEST));
});

afterAll(async () => {
  await core?.close();
});

describe('sidecars', () => {
  it('imported with their archive make one snapshot holding both', async () => {
    const client = createInProcessClient(core);
    const { jobId } = await client.call('vault:import', { source: { path: path.join(dir, DUMP) }, sidecars: [{ path: path.join(dir, MANIFEST) }] });
    expect((await core.jobs.wait(jobId)).status).toBe('succeeded');
    const snapshots = await client.call('vault:snapshots', {});
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({ archive: { name: DUMP }, sidecars: [{ name: MANIFEST }] });
  });

  it('alone, or as an archive, are refused by name', async () => {
    const client = createInProcessClient(core);
    await expect(client.call('vault:import', { source: { path: path.join(dir, MANIFEST) } })).rejects.toMatchObject({ code: 'INVALID_INPUT', message: `${MANIFEST} is a sidecar of ${DUMP}, not an archive: add it together with ${DUMP}.` });
    await expect(client.call('vault:import', { source: { path: path.join(dir, DUMP) }, sidecars: [{ path: path.join(SAMPLES, '..', 'z0-uncompressed', 'weavestream-postgres-2026-11-23T13-17-01Z.manifest.json') }] })).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/is a sidecar of weavestream-postgres-2026-11-23T13-17-01Z\.dump, not of/) });
  });

  it('beside a local file are found for its preview, which then checks the manifest', async () => {
    const client = createInProcessClient(core);
    const job = await core.jobs.wait((await client.call('apps:preview', { source: { path: path.join(dir, DUMP) } })).jobId);
    const report = job.result as PreviewReport;
    expect(report.app).toBe('weavestream');
    expect(report.sidecars.map((s) => s.name)).toEqual([MANIFEST]);
    expect(report.integrity.checks.find((c) => c.id === 'sha256')?.ok).toBe(true);
  });

  it('given to `lifeboat import` with the archive are paired; a lone one fails with exit code 2', () => {
    const home = makeTestHome('sidecars-cli');
    const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, encoding: 'utf8' });
    expect(run(['vault', 'init']).status).toBe(0);
    const lone = run(['import', path.join(dir, MANIFEST)]);
    expect(lone.status).toBe(2);
    expect(lone.stderr).toContain(`is a sidecar of ${DUMP}`);
    const both = run(['--json', 'import', path.join(dir, MANIFEST), path.join(dir, DUMP)]);
    expect(both.status, both.stderr).toBe(0);
    expect(JSON.parse(both.stdout)).toMatchObject([{ file: path.join(dir, DUMP), sidecars: [MANIFEST] }]);
  });
});
