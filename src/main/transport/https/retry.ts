import { setTimeout as delay } from 'node:timers/promises';
import { LifeboatError } from '../../../shared/errors';

/** Methods that may be sent twice without changing the outcome (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** Statuses that mean "the gateway or the app is briefly unavailable": worth another try. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/** How a client retries: attempts after the first, and the exponential backoff's base and cap. */
export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for; the error is returned instead. */
  maxRetryAfterMs: number;
}

/** Defaults: 3 retries, 250 ms doubling up to 8 s, Retry-After honoured up to 60 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 3, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 };

/** Delay before retry number `attempt` (0-based): "full jitter" exponential backoff, so many clients do not retry in step. */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(random() * ceiling);
}

/** Parses a Retry-After header (delta-seconds or an HTTP date) into milliseconds from `now`; null when absent or unreadable. */
export function parseRetryAfterMs(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/** Waits `ms`, or throws CANCELLED as soon as the signal aborts. */
export async function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    throw new LifeboatError('CANCELLED', 'Cancelled while waiting to retry.', { cause: error });
  }
}
