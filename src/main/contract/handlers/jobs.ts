import type { jobCommands } from '../../../shared/contract/jobs';
import type { Core } from '../../core';
import type { HandlerMap } from '../handler-types';

export function jobHandlers(core: Core): HandlerMap<keyof typeof jobCommands> {
  return {
    'jobs:list': async (filter) => core.jobs.list(filter),
    'jobs:get': async ({ id }) => core.jobs.get(id),
    'jobs:cancel': async ({ id }) => core.jobs.cancel(id),
  };
}
