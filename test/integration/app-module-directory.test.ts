// The Folder-of-archives module runs the app-module conformance suite against its fleet member: a
// folder on the real sshd that a "backup job" fills with tar.gz archives and .sha256 sidecars.
import { describe, expect, it, afterAll, beforeAll } from 'vitest';
import type { Installation } from '../../src/shared/installations';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { directoryModule } from '../../src/main/apps/directory';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { SAMPLES_BY_APP, describeAppModule } from '../harness/app-module-suite';
import { makeTestHome } from '../harness/home';
import { startDirectoryFleet, type DirectoryFleet } from '../fleet/directory/fleet';

describeAppModule({
  module: directoryModule,
  samples: SAMPLES_BY_APP.directory!,
  catchAll: true,
  badSetting: { key: 'directory', value: 'relative/path' },
  async fleet() {
    const fleet = await startDirectoryFleet({ name: 'Folder (conformance)' });
    return { installation: fleet.installation, freshBackup: () => fleet.writeArchive(), corrupt: (name) => fleet.corrupt(name), lose: (name) => fleet.remove(name), restore: { mode: 'full' }, stop: () => fleet.stop() };
  },
});

describe('a folder of archives', () => {
  let fleet: DirectoryFleet;
  let core: Core;
  let installation: Installation;

  beforeAll(async () => {
    fleet = await startDirectoryFleet({ name: 'Folder (behaviour)' });
    core = await createCore({ home: makeTestHome('directory'), secretStore: new MemorySecretStore('directory test') });
    await createInProcessClient(core).call('vault:init', {});
    installation = await createInProcessClient(core).call('installations:add', fleet.installation);
  });

  afterAll(async () => {
    await core?.close();
    await fleet?.stop();
  });

  it('lists only the files matching the pattern, newest first, and says which have a checksum', async () => {
    const list = await createInProcessClient(core).call('apps:list-remote', { installationId: installation.id });
    expect(list.map((b) => b.id)).toEqual(['site-002.tar.gz', 'site-001.tar.gz']);
    expect(list.find((b) => b.id === 'site-001.tar.gz')?.details.checksum).toBe('site-001.tar.gz.sha256');
    expect(list.find((b) => b.id === 'site-002.tar.gz')?.details.checksum).toBe('no .sha256 sidecar');
  });

  it('pulls a file without a sidecar, and says its content could not be checked', async () => {
    const { jobId } = await createInProcessClient(core).call('apps:pull', { installationId: installation.id, remoteId: 'site-002.tar.gz' });
    const record = await core.jobs.wait(jobId);
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    const sha = (record.result as PullResult).checks.find((c) => c.id === 'sha256');
    expect(sha?.skipped).toBe('no checksum sidecar');
  });

  it('refuses a setting the module does not have, naming it', async () => {
    await expect(createInProcessClient(core).call('installations:add', { ...fleet.installation, name: 'typo', settings: { directroy: '/srv' } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/“directroy” is not a setting of this app; its settings are directory, pattern, cadenceHours/),
    });
  });
});
