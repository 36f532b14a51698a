// "Add to vault" of a local Nojoin ZIP: the preview suggests the installation the archive's facts
// point to (through the module's suggestInstallation), and says why.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import type { PreviewReport } from '../../src/shared/apps';
import type { Installation } from '../../src/shared/installations';
import { makeTestHome } from '../harness/home';

const SAMPLE = path.resolve('test/fixtures/nojoin/nojoin_backup_sample.zip');
let core: Core;
let withoutAudio: Installation;
let withAudio: Installation;
const client = () => createInProcessClient(core);

async function preview(installationId?: string): Promise<PreviewReport> {
  const job = await core.jobs.wait((await client().call('apps:preview', { source: { path: SAMPLE }, ...(installationId ? { installationId } : {}) })).jobId);
  expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
  return job.result as PreviewReport;
}

const add = (name: string, settings: Record<string, string | boolean>) =>
  client().call('installations:add', { name, app: 'nojoin', https: { baseUrl: 'https://127.0.0.1:9', auth: 'password', username: 'alice' }, settings, secrets: { 'https-password': 'unused-password-1' } });

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('nojoin-suggest'), secretStore: new MemorySecretStore('nojoin suggest') });
  await client().call('vault:init', {});
});

afterAll(async () => {
  await core?.close();
});

describe('the installation a local Nojoin ZIP belongs to', () => {
  it('one installation: it, because it is the only one', async () => {
    withoutAudio = await add('Nojoin meeting room', { includeAudio: false });
    expect((await preview()).suggestedInstallation).toEqual({ installationId: withoutAudio.id, reason: 'Nojoin meeting room is the only Nojoin installation configured' });
  });

  it('several: the only one that exports audio the way the archive was made (backup_info.json)', async () => {
    withAudio = await add('Nojoin office', { includeAudio: true, archiveQuality: 'compressed' });
    await add('Nojoin archive copies', { includeAudio: true, archiveQuality: 'original' });
    expect((await preview()).suggestedInstallation).toEqual({ installationId: withAudio.id, reason: 'Nojoin office is the only Nojoin installation that exports with audio (compressed), as this archive was made (by Nojoin 2.4.0)' });
  });

  it('the same file already in the vault as a backup of another installation wins', async () => {
    const imported = await core.jobs.wait((await client().call('vault:import', { source: { path: SAMPLE }, installationId: withoutAudio.id })).jobId);
    expect(imported.status, JSON.stringify(imported.error)).toBe('succeeded');
    expect((await preview()).suggestedInstallation).toEqual({ installationId: withoutAudio.id, reason: 'the vault already holds this very file (same name and size) as a backup of Nojoin meeting room' });
  });

  it('none when the preview is for a named installation, or of a vault snapshot', async () => {
    expect((await preview(withAudio.id)).suggestedInstallation).toBeUndefined();
    const [snapshot] = await client().call('vault:snapshots', {});
    const job = await core.jobs.wait((await client().call('apps:preview', { source: { snapshotId: snapshot!.id } })).jobId);
    expect((job.result as PreviewReport).suggestedInstallation).toBeUndefined();
  });
});
