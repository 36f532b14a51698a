import type { drillCommands } from '../../../shared/contract/drills';
import type { Core } from '../../core';
import type { HandlerMap } from '../handler-types';

export function drillHandlers(core: Core): HandlerMap<keyof typeof drillCommands> {
  return {
    'drills:run': async ({ snapshotId }) => {
      await core.vault.open();
      return core.drills.start(snapshotId);
    },
    'drills:results': async ({ snapshotId }) => core.drills.results(snapshotId),
    'drills:settings': async ({ installationId, set }) => (set ? core.drills.setSettings(installationId, set) : core.drills.settings(installationId)),
  };
}
