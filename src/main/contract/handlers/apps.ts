import path from 'node:path';
import { LifeboatError, toErrorPayload } from '../../../shared/errors';
import type { appCommands } from '../../../shared/contract/apps';
import type { Core } from '../../core';
import type { HandlerMap } from '../handler-types';
import { createAdapterContext } from '../../apps/context';
import { previewArchive } from '../../apps/preview';
import { startPull } from '../../apps/pull-runner';
import { listsBackups } from '../../apps/module';
import { importKeyFile } from '../../apps/key-files';

/** Fleet, remote backups, pulls, previews, quarantine and the restore wizard. */
export function appHandlers(core: Core): HandlerMap<keyof typeof appCommands> {
  return {
    'apps:modules': async () => core.apps.info(),
    'apps:pair-files': async ({ names }) => core.apps.pairFiles(names),
    'apps:provide-key': async ({ slot, key }) => {
      core.sessionKeys.provide(slot, key);
      return { kept: true };
    },
    'apps:import-key-file': async (input) => {
      const result = await importKeyFile(core, input);
      if (result.kept === 'keychain') core.events.emit('installations:changed', { reason: 'keys imported' });
      return result;
    },
    'fleet:overview': async () => core.fleet.overview(),
    'fleet:refresh': async ({ installationId }) => ({ jobIds: await core.fleet.refresh(installationId) }),
    'apps:list-remote': async ({ installationId }) => {
      const installation = await core.registry.get(installationId);
      const controller = new AbortController();
      const ctx = createAdapterContext(core, installation, { signal: controller.signal, progress: () => undefined, log: () => undefined });
      try {
        const module = core.apps.get(installation.app);
        if (!listsBackups(module, installation)) {
          throw new LifeboatError('APP_UNSUPPORTED', `${module.label} keeps no list of its backups${module.sources.list ? ` reachable over ${installation.ssh ? 'this connection' : 'HTTPS'} (its finished exports are listed over SSH)` : ''}: use Pull newest, which asks it for a fresh one.`);
        }
        const list = await module.sources.list!(ctx);
        const inVault = await core.vault.snapshots({ installationId }).catch(() => []);
        return list.map((b) => ({ ...b, inVault: inVault.find((s) => s.remoteId === b.id.replace(/,/g, '_') && s.source === 'pull')?.id ?? null }));
      } finally {
        await ctx.close();
      }
    },
    'apps:trigger': async ({ installationId }) => {
      const installation = await core.registry.get(installationId);
      const job = core.jobs.start({ kind: 'trigger', title: `Run a backup on ${installation.name}`, installationId }, async (ctx) => {
        const actx = createAdapterContext(core, installation, ctx);
        try {
          const { sources, label } = core.apps.get(installation.app);
          if (!sources.trigger) throw new LifeboatError('APP_UNSUPPORTED', `Lifeboat cannot ask ${label} to make a backup.`);
          return await sources.trigger(actx);
        } finally {
          await actx.close();
          core.events.emit('fleet:changed', { installationId });
        }
      });
      return { jobId: job.id };
    },
    'apps:pull': async ({ installationId, remoteId }) => {
      const installation = await core.registry.get(installationId);
      core.apps.get(installation.app);
      await core.vault.open();
      return { jobId: startPull(core, installation, remoteId ?? null).id };
    },
    'apps:media-url': async ({ source, app, mediaId, transcode }) => ({ ticket: core.media.issue({ source, app, mediaId, transcode }) }),
    'apps:preview': async ({ source, app, installationId }) => {
      // A preview that ends without a report (failed, cancelled) offers no import or restore of
      // the upload, so nothing needs it any more; one that waits for a key is previewed again from it.
      const discardUpload = async (): Promise<void> => {
        if (!('uploadId' in source)) return;
        const staged = [source.uploadId, ...(source.sidecars ?? []).map((s) => s.uploadId)];
        await Promise.all(staged.map((id) => core.vault.discardStaged(path.join(core.home.stagingDir, id))));
      };
      const job = core.jobs.start({ kind: 'preview', title: `Preview ${'snapshotId' in source ? `snapshot ${source.snapshotId.slice(0, 8)}` : 'name' in source ? source.name : source.path}` }, async (ctx) => {
        try {
          const report = await previewArchive(core, { source, app, installationId }, ctx);
          if (ctx.signal.aborted) await discardUpload();
          return report;
        } catch (error) {
          if (toErrorPayload(error).code !== 'KEY_REQUIRED') await discardUpload();
          throw error;
        }
      });
      return { jobId: job.id };
    },
    'apps:quarantine': async () => core.quarantine.list(),
    'apps:quarantine-delete': async ({ id }) => {
      await core.quarantine.remove(id);
      return core.quarantine.list();
    },
    'restore:plan': async (input) => {
      const installation = await core.registry.get(input.installationId);
      const job = core.jobs.start({ kind: 'restore', title: `Plan a restore of ${installation.name}`, installationId: installation.id }, (ctx) => core.restores.plan(input, ctx));
      return { jobId: job.id };
    },
    'restore:start': async (input) => core.restores.start(input),
    'restore:report': async ({ planId }) => core.restores.report(planId),
    'restore:interrupted': async () => core.restores.interrupted(),
    'restore:acknowledge-interrupted': async ({ restoreId }) => core.restores.acknowledgeInterrupted(restoreId),
  };
}
