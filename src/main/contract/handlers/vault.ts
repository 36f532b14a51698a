import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { combinedRecoveryKit, importCombinedKit, inspectCombinedKit } from '../../vault-service/combined-kit';
import type { FilePairing } from '../../../shared/apps';
import type { vaultCommands } from '../../../shared/contract/vault';
import { LifeboatError, toErrorPayload } from '../../../shared/errors';
import { verifyImport } from '../../apps/import-check';
import type { Core } from '../../core';
import type { HandlerMap } from '../handler-types';

/** Vault commands: status, init/unlock, snapshots, import, check, retention, prune, locks. */
export function vaultHandlers(core: Core): HandlerMap<keyof typeof vaultCommands> {
  const vault = core.vault;
  // A kit named by path or upload, read whole (a kit is a small text file).
  const kitBytes = async (source: { uploadId: string; name: string } | { path: string } | { snapshotId: string }): Promise<Buffer> => {
    if ('snapshotId' in source) throw new LifeboatError('INVALID_INPUT', 'A recovery kit is read from a file, not from a vault snapshot.');
    const file = 'uploadId' in source ? path.join(core.home.stagingDir, source.uploadId) : path.resolve(source.path);
    const info = await stat(file).catch((error: unknown) => {
      throw new LifeboatError('NOT_FOUND', `Cannot read the recovery kit: ${(error as Error).message}.`, { cause: error });
    });
    if (!info.isFile() || info.size > 4 * 1024 * 1024) throw new LifeboatError('INVALID_INPUT', 'Not a Lifeboat recovery kit: a kit is a small text file.');
    return readFile(file);
  };
  return {
    'vault:status': async () => vault.status(),
    'vault:init': async ({ location }) => vault.init(location),
    'vault:unlock': async ({ password, remember }) => vault.unlock(password, remember),
    'vault:recovery-kit': async ({ appKeys }) => {
      if (!appKeys) return vault.recoveryKit();
      const kit = await combinedRecoveryKit(core, appKeys.passphrase);
      return { fileName: kit.fileName, text: kit.text, appKeyCount: kit.keyCount };
    },
    'vault:import-kit': async ({ source, passphrase }) => importCombinedKit(core, await kitBytes(source), passphrase),
    'vault:inspect-kit': async ({ source, passphrase }) => inspectCombinedKit(core, await kitBytes(source), passphrase),
    'vault:acknowledge-recovery-kit': async () => vault.acknowledgeRecoveryKit(),
    'vault:snapshots': async (filter) => vault.snapshots(filter),
    'vault:snapshot-files': async ({ snapshotId }) => vault.snapshotFiles(snapshotId),
    'vault:stats': async () => vault.stats(),
    'vault:import': async ({ source, sidecars, installationId, allowUnverified }) => {
      await vault.open();
      const installation = installationId ? await core.registry.get(installationId) : null;
      const located = (ref: typeof source) =>
        'uploadId' in ref ? { file: path.join(core.home.stagingDir, ref.uploadId), name: path.basename(ref.name), staged: true } : { file: path.resolve(ref.path), name: path.basename(ref.path), staged: false };
      const archive = located(source);
      const extras = sidecars.map(located);
      const problem = pairingProblem(core.apps.pairFiles([archive.name, ...extras.map((s) => s.name)]), archive.name);
      if (problem) {
        await Promise.all([archive, ...extras].filter((f) => f.staged).map((f) => vault.discardStaged(f.file)));
        throw new LifeboatError('INVALID_INPUT', problem);
      }
      const job = core.jobs.start(
        { kind: 'vault-import', title: `Add ${archive.name} to the vault`, installationId: installation?.id ?? null, queue: { name: 'vault-write', limit: 2 } },
        async (ctx) => {
          try {
            const verify = async () => {
              const verdict = await verifyImport(core, archive, extras, installation, ctx).catch((error: unknown) => {
                const payload = toErrorPayload(error);
                // Asked to store it anyway: a failed check, or a key Lifeboat does not hold, makes it unverified.
                if (!allowUnverified || (payload.code !== 'ARCHIVE_VERIFY_FAILED' && payload.code !== 'KEY_REQUIRED')) throw error;
                return { app: (payload.details?.app as string | undefined) ?? null, unverified: payload.message };
              });
              if (verdict.unverified && !allowUnverified) {
                throw new LifeboatError('ARCHIVE_VERIFY_FAILED', `${archive.name} cannot be verified (${verdict.unverified}); nothing entered the vault. Add it anyway, marked unverified, if you trust it.`, { details: { unverifiable: true } });
              }
              if (verdict.unverified) ctx.warn(`stored UNVERIFIED: ${verdict.unverified}`);
              return verdict;
            };
            return await vault.importFile(archive.file, archive.name, installation, ctx, extras, verify);
          } finally {
            await Promise.all([archive, ...extras].filter((f) => f.staged).map((f) => vault.discardStaged(f.file)));
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
    'vault:verify-rotating': async () => {
      await vault.open();
      return core.verification.start();
    },
    'vault:verification-coverage': async ({ windowDays }) => (windowDays ? core.verification.setWindow(windowDays) : core.verification.coverage()),
    'vault:forget-preview': async ({ policy, installationId }) => vault.forgetPreview(policy, installationId),
    'vault:forget': async ({ policy, installationId, prune }) => {
      if (Object.values(policy).every((v) => v === undefined)) {
        throw new LifeboatError('INVALID_INPUT', 'A retention policy needs at least one keep rule; an empty policy would keep everything.');
      }
      await vault.open();
      const job = core.jobs.start({ kind: 'vault-forget', title: prune ? 'Apply retention and free space' : 'Apply retention', installationId: installationId ?? null }, (ctx) => vault.forget(policy, installationId, prune, ctx));
      return { jobId: job.id };
    },
    'vault:forget-snapshot': async ({ snapshotId }) => vault.forgetSnapshot(snapshotId),
    'vault:prune': async () => {
      await vault.open();
      const job = core.jobs.start({ kind: 'vault-prune', title: 'Free space no snapshot uses' }, (ctx) => vault.prune(ctx));
      return { jobId: job.id };
    },
    'vault:locks': async () => vault.locks(),
    'vault:remove-lock': async ({ lockId }) => vault.removeLock(lockId),
  };
}

/** Why these files are not one archive with its own sidecars, or null when they are. */
function pairingProblem(pairing: FilePairing, archive: string): string | null {
  const lone = pairing.loneSidecars[0];
  if (lone) return lone.name === archive ? `${archive} is a sidecar of ${lone.archive}, not an archive: add it together with ${lone.archive}.` : `${lone.name} is a sidecar of ${lone.archive}, not of ${archive}.`;
  const other = pairing.archives.find((a) => a.name !== archive);
  return other ? `${other.name} is not a sidecar of ${archive}: add each archive with its own sidecars.` : null;
}
