import type { z } from 'zod';

/** A command of the contract: a runtime schema for its input, a compile-time type for its output. */
export interface CommandDef<I extends z.ZodType = z.ZodType, O = unknown> {
  summary: string;
  input: I;
  /** Phantom: carries the output type only. */
  output: O;
}

/** Declares a command; `output: returns<T>()` names what it resolves to. */
export function command<I extends z.ZodType, O>(def: CommandDef<I, O>): CommandDef<I, O> {
  return def;
}

/** Phantom value that carries a type through a definition. */
export const returns = <T>(): T => undefined as unknown as T;

export interface EventDef<P = unknown> {
  summary: string;
  payload: P;
}

export function event<P>(summary: string): EventDef<P> {
  return { summary, payload: returns<P>() };
}
