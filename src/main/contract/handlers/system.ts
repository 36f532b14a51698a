import type { systemCommands } from '../../../shared/contract/system';
import type { Core } from '../../core';
import type { HandlerMap } from '../handler-types';

export function systemHandlers(core: Core): HandlerMap<keyof typeof systemCommands> {
  return {
    'system:info': async (_input, call) => ({
      version: core.version,
      home: core.home.root,
      transport: call.transport,
      secrets: core.secrets().status(),
    }),
    'system:use-ask-every-time': async ({ enabled }) => core.useAskEveryTime(enabled),
  };
}
