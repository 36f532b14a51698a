import type { vaultCommands } from '../../../shared/contract/vault';
import type { Core } from '../../core';
import type { HandlerMap } from '../handler-types';

/** Vault commands; the vault issue fills the contract and these handlers. */
export function vaultHandlers(_core: Core, _closers: (() => Promise<void>)[]): HandlerMap<keyof typeof vaultCommands> {
  return {};
}
