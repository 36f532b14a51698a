// A core for the DBackup tests: every app module plus DBackup's (until the registry lists it), a vault, and job helpers.
import type { JobRecord } from '../../../src/shared/jobs';
import { dbackupModule } from '../../../src/main/apps/dbackup';
import { APP_MODULES, AppRegistry } from '../../../src/main/apps/registry';
import { createInProcessClient } from '../../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../../src/main/core';
import { makeTestHome } from '../../harness/home';

/** A core with a fresh vault, and how to run its jobs. */
export interface DbackupTestCore {
  core: Core;
  client(): ReturnType<typeof createInProcessClient>;
  /** Waits for a started job; its record and result. */
  job<T>(started: Promise<{ jobId: string }>): Promise<{ record: JobRecord; result: T }>;
}

/**
 * Creates the core (home named by `label`) and initialises its vault. Secrets are kept in memory,
 * or with `keychain` in the real keychain (the test keyring of scripts/with-test-env.sh).
 */
export async function startDbackupCore(label: string, options: { keychain?: boolean } = {}): Promise<DbackupTestCore> {
  const modules = APP_MODULES.some((m) => m.kind === 'dbackup') ? APP_MODULES : [...APP_MODULES, dbackupModule];
  const core = await createCore({ home: makeTestHome(label), ...(options.keychain ? {} : { secretStore: new MemorySecretStore(`${label} test`) }), apps: new AppRegistry(modules) });
  const client = () => createInProcessClient(core);
  await client().call('vault:init', {});
  return {
    core,
    client,
    async job<T>(started: Promise<{ jobId: string }>) {
      const record = await core.jobs.wait((await started).jobId);
      return { record, result: record.result as T };
    },
  };
}
