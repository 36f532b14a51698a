/**
 * DBackup's HTTP API as Lifeboat uses it (spec §8): `https://<site>/api`, an API key
 * `Authorization: Bearer dbackup_<40 hex>` with an explicit permission list, and per-address rate
 * limits (auth 5/min, GET 100/min, other methods 20/min → 429). Lifeboat keeps a budget per
 * installation so it stays inside those limits, backs off once on a 429 and then says so, and
 * names the permission the key lacks on a 403.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';
import type { DownloadResult, HttpsClient, RequestOptions } from '../../transport/https';
import type { AdapterContext } from '../adapter';
import type { ModuleSession } from '../module';

/** DBackup's limits per client address and minute. */
export const DBACKUP_RATE_LIMITS = { auth: 5, get: 100, other: 20 } as const;
/** Which of DBackup's limits a request counts against. */
export type RateCategory = keyof typeof DBACKUP_RATE_LIMITS;

const WINDOW_MS = 60_000;
/** A wait longer than this for the budget is not worth it: the call fails, saying when to try again. */
const MAX_BUDGET_WAIT_MS = 70_000;
/** A 429's Retry-After up to this is waited for once. */
const MAX_RETRY_AFTER_MS = 60_000;

/** The shape of an API key DBackup issues. */
const API_KEY = /^dbackup_[0-9a-f]{40}$/;

/** Requests of the last minute per category; a 429 blocks its category until the server's Retry-After. */
export class RateBudget implements ModuleSession {
  private readonly sent: Record<RateCategory, number[]> = { auth: [], get: [], other: [] };
  private readonly blockedUntil: Record<RateCategory, number> = { auth: 0, get: 0, other: 0 };

  constructor(
    private readonly limits: Record<RateCategory, number> = { ...DBACKUP_RATE_LIMITS },
    private readonly now: () => number = Date.now,
  ) {}

  /** How long a request of `category` must wait now (0: it may go). */
  waitMs(category: RateCategory): number {
    const now = this.now();
    const recent = this.sent[category].filter((t) => t > now - WINDOW_MS);
    this.sent[category] = recent;
    const full = recent.length >= this.limits[category] ? recent[0]! + WINDOW_MS - now : 0;
    return Math.max(0, full, this.blockedUntil[category] - now);
  }

  /** Waits for a slot and takes it; HTTP_RATE_LIMITED when the wait would be too long. */
  async take(category: RateCategory, signal: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.waitMs(category);
      if (wait === 0) {
        this.sent[category].push(this.now());
        return;
      }
      if (wait > MAX_BUDGET_WAIT_MS) {
        throw new LifeboatError('HTTP_RATE_LIMITED', `DBackup allows ${this.limits[category]} ${label(category)} a minute from one address, and this installation's budget is spent for ${Math.ceil(wait / 1000)} s more; try again then.`, {
          details: { category, retryAfterSeconds: Math.ceil(wait / 1000) },
        });
      }
      try {
        await sleep(wait, undefined, { signal });
      } catch (error) {
        throw new LifeboatError('CANCELLED', 'Cancelled while waiting for DBackup\'s rate limit.', { cause: error });
      }
    }
  }

  /** The server said 429: nothing of `category` goes out before `retryAfterMs` has passed. */
  penalize(category: RateCategory, retryAfterMs: number): void {
    this.blockedUntil[category] = Math.max(this.blockedUntil[category], this.now() + retryAfterMs);
  }

  dispose(): void {
    for (const category of Object.keys(this.sent) as RateCategory[]) this.sent[category] = [];
  }
}

function label(category: RateCategory): string {
  return category === 'auth' ? 'sign-in requests' : category === 'get' ? 'GET requests' : 'POST, PUT and DELETE requests';
}

/** The category DBackup's middleware counts a request in. */
export function rateCategory(method: string, path: string): RateCategory {
  if (/^\/(api\/)?auth(\/|$)/.test(path)) return 'auth';
  return method.toUpperCase() === 'GET' ? 'get' : 'other';
}

/** One call: what it is (for messages) and the permission DBackup checks for it. */
export interface Call {
  what: string;
  permission: string;
}

/** The API of one installation: every call within the budget, with DBackup's refusals in words. */
export interface DbackupApi {
  json<T>(method: string, path: string, call: Call, schema: z.ZodType<T>, options?: RequestOptions): Promise<T>;
  download(path: string, call: Call, query: Record<string, string>): Promise<DownloadResult>;
}

/** The installation's API client, its key checked for DBackup's shape first. */
export async function dbackupApi(ctx: AdapterContext): Promise<DbackupApi> {
  const connection = ctx.installation.https;
  if (!connection) throw new LifeboatError('APP_UNSUPPORTED', `"${ctx.installation.name}" has no HTTPS connection to DBackup.`);
  if (connection.auth !== 'bearer') throw new LifeboatError('INVALID_INPUT', `"${ctx.installation.name}" must use an API key (Bearer) for DBackup's API: DBackup's own sign-in is a browser session.`);
  const token = await ctx.secret('api-token');
  if (token && !API_KEY.test(token.trim())) {
    throw new LifeboatError('INVALID_INPUT', `The API token stored for "${ctx.installation.name}" is not a DBackup API key (dbackup_ followed by 40 hex digits); create one under Settings → API keys.`, { details: { purpose: 'api-token' } });
  }
  const client = await ctx.https();
  const budget = ctx.sessions.get('dbackup-rate-budget', () => new RateBudget());
  const prefix = /\/api\/?$/.test(client.baseUrl.pathname) ? '' : '/api';

  const send = async <T>(method: string, path: string, call: Call, attempt: (client: HttpsClient, full: string) => Promise<T>): Promise<T> => {
    const category = rateCategory(method, path);
    for (let retried = false; ; retried = true) {
      await budget.take(category, ctx.signal);
      try {
        return await attempt(client, `${prefix}${path}`);
      } catch (error) {
        if (!(error instanceof LifeboatError)) throw error;
        if (error.code === 'HTTP_RATE_LIMITED') {
          const seconds = typeof error.details?.retryAfterSeconds === 'number' ? error.details.retryAfterSeconds : 60;
          budget.penalize(category, seconds * 1000);
          if (!retried && seconds * 1000 <= MAX_RETRY_AFTER_MS) {
            ctx.log(`DBackup answered ${call.what} with 429 (too many requests); waiting ${seconds} s as it asks, then once more.`);
            continue;
          }
          const why = retried ? 'Lifeboat waited once and was refused again' : `it asks for a pause of ${seconds} s, longer than Lifeboat waits within a job`;
          throw new LifeboatError('HTTP_RATE_LIMITED', `DBackup refused ${call.what}: too many requests from this address (it allows ${DBACKUP_RATE_LIMITS[category]} ${label(category)} a minute); ${why}. Try again in ${seconds} s.`, { details: { ...error.details, category }, cause: error });
        }
        throw explainRefusal(error, call, ctx.installation.name);
      }
    }
  };

  return {
    json: (method, path, call, schema, options = {}) =>
      send(method, path, call, async (c, full) => {
        const body = await c.json<unknown>(method, full, { ...options, signal: ctx.signal, retry: method === 'GET' });
        const parsed = schema.safeParse(body);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new LifeboatError('HTTP_STATUS', `DBackup's answer to ${call.what} is not what Lifeboat expects: ${issue?.path.join('.') || 'the body'} ${issue?.message ?? 'is invalid'}.`, { details: { field: issue?.path.join('.') ?? null } });
        }
        return parsed.data;
      }),
    download: (path, call, query) => send('GET', path, call, (c, full) => c.download(full, { signal: ctx.signal, query })),
  };
}

/** A 401 or 403 in DBackup's words: a bad key, or the one permission it lacks. */
function explainRefusal(error: LifeboatError, call: Call, installation: string): LifeboatError {
  if (error.code !== 'HTTP_AUTH_FAILED') return error;
  if (error.details?.status === 403) {
    return new LifeboatError('HTTP_AUTH_FAILED', `DBackup refused ${call.what} (403): the API key of "${installation}" lacks the permission ${call.permission}. Add it to the key under Settings → API keys.`, {
      details: { ...error.details, permission: call.permission },
      cause: error,
    });
  }
  return new LifeboatError('HTTP_AUTH_FAILED', `DBackup refused the API key of "${installation}" (${String(error.details?.status ?? 401)}): it is wrong, expired or disabled. Store a valid dbackup_… key for the installation.`, { details: error.details ?? {}, cause: error });
}

/** Unwraps `{data: …}`, `{success, …}` and similar envelopes around an API answer. */
export function unwrapped<T extends z.ZodType>(schema: T, keys: string[]): z.ZodType<z.infer<T>> {
  return z.unknown().transform((value, ctx) => {
    let inner: unknown = value;
    for (const key of ['data', ...keys]) {
      if (typeof inner === 'object' && inner !== null && !Array.isArray(inner) && key in inner && !schema.safeParse(inner).success) inner = (inner as Record<string, unknown>)[key];
    }
    const parsed = schema.safeParse(inner);
    if (parsed.success) return parsed.data as z.infer<T>;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  });
}
