import type { CommandName, CommandOutput, ParsedCommandInput } from '../../shared/contract';

/** Which transport carried a call; handlers rarely care, `system:info` reports it. */
export interface CallContext {
  transport: 'ipc' | 'http-twin' | 'in-process';
}

/** One handler per command of a domain, typed from the contract. */
export type HandlerMap<K extends CommandName> = {
  [N in K]: (input: ParsedCommandInput<N>, call: CallContext) => Promise<CommandOutput<N>>;
};
