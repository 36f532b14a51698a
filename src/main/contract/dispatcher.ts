import { commands, isCommandName, type CommandName } from '../../shared/contract';
import { LifeboatError, toErrorPayload, type Result } from '../../shared/errors';
import type { CallContext, HandlerMap } from './handler-types';

/**
 * The one entry point every transport uses: validates the input against the contract's schema,
 * runs the handler, and returns errors as data so they cross any boundary intact.
 */
export function createDispatcher(handlers: HandlerMap<CommandName>) {
  return async function dispatch(name: string, input: unknown, call: CallContext): Promise<Result<unknown>> {
    try {
      if (!isCommandName(name)) throw new LifeboatError('NOT_FOUND', `Unknown command "${name}".`);
      const parsed = commands[name].input.safeParse(input ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
        throw new LifeboatError('INVALID_INPUT', `Invalid input for ${name}: ${where}${issue?.message ?? 'not valid'}.`, {
          details: { issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) },
        });
      }
      const handler = handlers[name] as (input: unknown, call: CallContext) => Promise<unknown>;
      return { ok: true, data: await handler(parsed.data, call) };
    } catch (error) {
      return { ok: false, error: toErrorPayload(error) };
    }
  };
}

export type Dispatch = ReturnType<typeof createDispatcher>;
