import type { SystemInfo, systemCommands } from '../../../shared/contract/system';
import type { Core } from '../../core';
import type { CallContext, HandlerMap } from '../handler-types';

export function systemHandlers(core: Core): HandlerMap<keyof typeof systemCommands> {
  const info = (call: CallContext): SystemInfo => ({
    version: core.version,
    home: core.home.root,
    transport: call.transport,
    secrets: core.secrets().status(),
  });
  return {
    'system:info': async (_input, call) => info(call),
    // The same facts as system:info, apps:modules, installations:list and installations:statuses.
    'system:bootstrap': async (_input, call) => ({
      info: info(call),
      modules: core.apps.info(),
      installations: await core.registry.list(),
      statuses: [...core.statuses.values()],
    }),
    'system:use-ask-every-time': async ({ enabled }) => core.useAskEveryTime(enabled),
  };
}
