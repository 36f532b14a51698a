import type { installationCommands } from '../../../shared/contract/installations';
import type { Core } from '../../core';
import type { HandlerMap } from '../handler-types';
import { startConnectionTest } from '../../installations/connection-test';

export function installationHandlers(core: Core): HandlerMap<keyof typeof installationCommands> {
  const changed = (reason: string) => core.events.emit('installations:changed', { reason });
  return {
    'installations:list': async () => core.registry.list(),
    'installations:get': async ({ id }) => core.registry.get(id),
    'installations:add': async (input) => {
      const added = await core.registry.add(input);
      changed(`added ${added.name}`);
      return added;
    },
    'installations:update': async ({ id, changes }) => {
      const updated = await core.registry.update(id, changes);
      // The secret a restore made worthless was stored again: the row no longer asks for it.
      const asked = core.renewals.get(id)?.action;
      if (asked && changes.secrets?.[asked.slot]) {
        core.renewals.delete(id);
        core.fleet.supersedeRefusal(id);
        core.setStatus({ installationId: id, state: 'unknown', checkedAt: null, message: `A new ${asked.label} is stored; test the connection.` });
      }
      changed(`updated ${updated.name}`);
      return updated;
    },
    'installations:remove': async ({ id }) => {
      await core.registry.remove(id);
      core.statuses.delete(id);
      changed(`removed ${id}`);
      return { removed: true as const };
    },
    'installations:forget-secret': async ({ id, purpose }) => {
      const updated = await core.registry.forgetSecret(id, purpose);
      changed(`forgot a secret of ${updated.name}`);
      return updated;
    },
    'installations:test': async ({ id }) => {
      const installation = await core.registry.get(id);
      return { jobId: startConnectionTest(core, installation).id };
    },
    'installations:trust-host-key': async ({ id, fingerprint }) => {
      const updated = await core.registry.patch(id, (current) => {
        if (!current.ssh) throw new Error('This installation has no SSH connection.');
        return { ...current, ssh: { ...current.ssh, hostKeySha256: fingerprint } };
      });
      changed(`trusted host key of ${updated.name}`);
      return updated;
    },
    'installations:trust-certificate': async ({ id, sha256 }) => {
      const updated = await core.registry.patch(id, (current) => {
        if (!current.https) throw new Error('This installation has no HTTPS connection.');
        return { ...current, https: { ...current.https, pinnedCertSha256: sha256 } };
      });
      changed(`trusted certificate of ${updated.name}`);
      return updated;
    },
    'installations:provide-code': async ({ installationId, code }) => {
      const installation = await core.registry.get(installationId);
      // Only the installation it was typed for ever sees the code; it is never logged.
      return core.oneTimeCodes.provide(installation.id, code);
    },
    'installations:statuses': async () => [...core.statuses.values()],
  };
}
