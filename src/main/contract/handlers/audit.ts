import type { auditCommands } from '../../../shared/contract/audit';
import type { Core } from '../../core';
import type { HandlerMap } from '../handler-types';

export function auditHandlers(core: Core): HandlerMap<keyof typeof auditCommands> {
  return {
    'audit:list': async (filter) => core.audit.list(filter),
  };
}
