import type { CommandName, CommandInput, CommandOutput, LifeboatClient } from '../../shared/contract';
import { LifeboatError } from '../../shared/errors';
import type { Core } from '../core';

/** A client that calls the core directly: the CLI and the tests use it. */
export function createInProcessClient(core: Core): LifeboatClient {
  return {
    async call<N extends CommandName>(name: N, input: CommandInput<N>): Promise<CommandOutput<N>> {
      const result = await core.dispatch(name, input, { transport: 'in-process' });
      if (!result.ok) throw LifeboatError.fromPayload(result.error);
      return result.data as CommandOutput<N>;
    },
    on(name, listener) {
      return core.events.on(name, listener);
    },
  };
}
