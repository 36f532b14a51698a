import type { appCommands } from '../../../shared/contract/apps';
import type { Core } from '../../core';
import type { HandlerMap } from '../handler-types';

/** App adapter commands; the adapters issue fills the contract and these handlers. */
export function appHandlers(_core: Core, _closers: (() => Promise<void>)[]): HandlerMap<keyof typeof appCommands> {
  return {};
}
