import { setTimeout as sleep } from 'node:timers/promises';

export interface DeliveryResult {
  ok: boolean;
  attempts: number;
  /** "HTTP 200", or why it failed: "HTTP 500, then HTTP 429, then no answer in 10 s". */
  detail: string;
}

export interface DeliveryRequest {
  url: string;
  method?: 'POST' | 'GET';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  retries: number;
  signal?: AbortSignal;
}

/** Delay before retry `n` (0-based): 1 s, 2 s, 4 s … at most 30 s; a Retry-After the server sent wins (at most 60 s). */
function retryDelayMs(n: number, retryAfter: string | null): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    const at = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
    if (Number.isFinite(at) && at >= 0) return Math.min(60_000, at);
  }
  return Math.min(30_000, 1000 * 2 ** n);
}

/**
 * Sends one HTTP request the way a notification service expects: a 2xx is delivered; 5xx, 429 and
 * no answer within the timeout are retried with back-off (honouring Retry-After); any other status
 * is final. Never throws: the result says what happened, for the channel's own report.
 */
export async function deliver(request: DeliveryRequest): Promise<DeliveryResult> {
  const seen: string[] = [];
  for (let attempt = 0; ; attempt += 1) {
    let retryAfter: string | null = null;
    let retryable = true;
    try {
      const signals = [AbortSignal.timeout(request.timeoutMs), ...(request.signal ? [request.signal] : [])];
      const response = await fetch(request.url, {
        method: request.method ?? 'POST',
        headers: request.headers ?? {},
        ...(request.body !== undefined ? { body: request.body } : {}),
        signal: AbortSignal.any(signals),
        redirect: 'follow',
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { ok: true, attempts: attempt + 1, detail: [...seen, `HTTP ${response.status}`].join(', then ') };
      seen.push(`HTTP ${response.status}`);
      retryable = response.status === 429 || response.status >= 500;
      retryAfter = response.headers.get('retry-after');
    } catch (error) {
      if (request.signal?.aborted) return { ok: false, attempts: attempt + 1, detail: [...seen, 'stopped'].join(', then ') };
      const name = (error as Error).name;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      seen.push(name === 'TimeoutError' || name === 'AbortError' ? `no answer in ${request.timeoutMs / 1000} s` : (cause?.code ?? cause?.message ?? (error as Error).message));
    }
    if (!retryable || attempt >= request.retries) return { ok: false, attempts: attempt + 1, detail: seen.join(', then ') };
    try {
      await sleep(retryDelayMs(attempt, retryAfter), undefined, request.signal ? { signal: request.signal } : {});
    } catch {
      return { ok: false, attempts: attempt + 1, detail: [...seen, 'stopped'].join(', then ') };
    }
  }
}
