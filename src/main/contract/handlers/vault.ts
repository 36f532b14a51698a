import path from 'node:path';
import type { vaultCommands } from '../../../shared/contract/vault';
import { LifeboatError } from '../../../shared/errors';
import type { Core } from '../../core';
import type { HandlerMap } from '../handler-types';

/** Vault commands: status, init/unlock, snapshots, import, check, retention, prune, locks. */
export function vaultHandlers(core: Core): HandlerMap<keyof typeof vaultCommands> {
  const vault = core.vault;
  return {
    'vault:status': async () => vault.status(),
    'vault:init': async ({ location }) => vault.init(location),
    'vault:unlock': async ({ password, remember }) => vault.unlock(password, remember),
    'vault:recovery-kit': async () => vault.recoveryKit(),
    'vault:acknowledge-recovery-kit': async () => vault.acknowledgeRecoveryKit(),
    'vault:snapshots': async (filter) => vault.snapshots(filter),
    'vault:snapshot-files': async ({ snapshotId }) => vault.snapshotFiles(snapshotId),
    'vault:stats': async () => vault.stats(),
    'vault:import': async ({ source, installationId }) => {
      await vault.open();
      const installation = installationId ? await core.registry.get(installationId) : null;
      const staged = 'uploadId' in source;
      const file = staged ? path.join(core.home.stagingDir, source.uploadId) : path.resolve(source.path);
      const name = staged ? source.name : path.basename(source.path);
      const job = core.jobs.start(
        { kind: 'vault-import', title: `Add ${name} to the vault`, installationId: installation?.id ?? null, queue: { name: 'vault-write', limit: 2 } },
        async (ctx) => {
          try {
            return await vault.importFile(file, name, installation, ctx);
          } finally {
            if (staged) await vault.discardStaged(file);
          }
        },
      );
      return { jobId: job.id };
    },
    'vault:check': async ({ readData }) => {
      await vault.open();
      const job = core.jobs.start({ kind: 'vault-check', title: readData ? 'Check the vault, reading all data' : 'Check the vault structure' }, (ctx) => vault.check(readData, ctx));
      return { jobId: job.id };
    },
    'vault:forget-preview': async ({ policy, installationId }) => vault.forgetPreview(policy, installationId),
    'vault:forget': async ({ policy, installationId, prune }) => {
      if (Object.values(policy).every((v) => v === undefined)) {
        throw new LifeboatError('INVALID_INPUT', 'A retention policy needs at least one keep rule; an empty policy would keep everything.');
      }
      await vault.open();
      const job = core.jobs.start({ kind: 'vault-forget', title: prune ? 'Apply retention and free space' : 'Apply retention', installationId: installationId ?? null }, (ctx) => vault.forget(policy, installationId, prune, ctx));
      return { jobId: job.id };
    },
    'vault:prune': async () => {
      await vault.open();
      const job = core.jobs.start({ kind: 'vault-prune', title: 'Free space no snapshot uses' }, (ctx) => vault.prune(ctx));
      return { jobId: job.id };
    },
    'vault:locks': async () => vault.locks(),
    'vault:remove-lock': async ({ lockId }) => vault.removeLock(lockId),
  };
}
