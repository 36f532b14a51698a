/** Cancellation helpers shared by the SSH transport. */
import { LifeboatError } from '../../../shared/errors';

/** The error every cancelled SSH operation throws. */
export function cancelledError(message = 'Cancelled.'): LifeboatError {
  return new LifeboatError('CANCELLED', message);
}

/** Throws CANCELLED when the signal has already fired. */
export function throwIfAborted(signal: AbortSignal | undefined, message?: string): void {
  if (signal?.aborted) throw cancelledError(message);
}
