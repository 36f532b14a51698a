import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStreamReadResult } from 'node:stream/web';
import { CookieJar } from 'tough-cookie';
import { Agent, fetch, type Response } from 'undici';
import { LifeboatError } from '../../../shared/errors';
import type { HttpsConnection } from '../../../shared/installations';
import { mapTransportError, serverErrorCode, serverMessage, type AbortState } from './errors';
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  IDEMPOTENT_METHODS,
  parseRetryAfterMs,
  RETRYABLE_STATUSES,
  sleepUnlessAborted,
  type RetryPolicy,
} from './retry';
import { normalizeFingerprint, originKey, trustedCas, verifyingConnector } from './tls-verify';

/** Progress of a long transfer, in the shape every long operation reports. */
export type ProgressFn = (p: { phase: string; bytes: number; total: number | null }) => void;

/** Options of `createHttpsClient`; the token is a secret and is never logged or put in an error. */
export interface HttpsClientOptions {
  bearerToken?: string;
  /** Cancels everything this client does. */
  signal?: AbortSignal;
  userAgent?: string;
  retry?: Partial<RetryPolicy>;
  /** Cap on a buffered (non-streaming) response body; default 32 MiB. */
  maxBufferedBytes?: number;
}

/** One request; `path` is relative to the connection's base URL (its path prefix is kept). */
export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** Serialised as JSON with Content-Type application/json. */
  json?: unknown;
  /** Raw body; use `upload` for streams. */
  body?: string | Uint8Array;
  contentType?: string;
  signal?: AbortSignal;
  /** Deadline for the whole request including its body; default the connection's timeoutMs (30 s). */
  timeoutMs?: number;
  /** Retry idempotent requests on network errors and 502/503/504 (default true). */
  retry?: boolean;
  /** Statuses besides 2xx that are returned instead of thrown. */
  acceptStatus?: readonly number[];
}

/** A buffered response. */
export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Final URL after redirects. */
  url: string;
  body: Buffer;
  text(): string;
  json<T = unknown>(): T;
}

/** Options of a streaming download. */
export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  /** Resume from this byte offset with a Range request. */
  start?: number;
  headers?: Record<string, string>;
  query?: RequestOptions['query'];
}

/** A download in flight: read `stream` to the end (or destroy it to stop). */
export interface DownloadResult {
  stream: Readable;
  status: number;
  headers: Headers;
  url: string;
  /**
   * Byte offset of the first byte of `stream` in the whole resource: `start` when the server honoured
   * the Range request (206), 0 when it sent the whole resource again (200) and the caller must start over.
   */
  offset: number;
  /** Size of the whole resource when the server said (Content-Length or Content-Range), else null. */
  total: number | null;
}

/** Options of a streaming upload; the body is read once, so uploads are never retried. */
export interface UploadOptions {
  contentType?: string;
  contentLength?: number;
  headers?: Record<string, string>;
  query?: RequestOptions['query'];
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  acceptStatus?: readonly number[];
}

/** Where a CSRF token comes from: a JSON field of a GET endpoint, or a cookie the server sets. */
export type CsrfSource = { endpoint: string; field?: string } | { cookie: string };

/** How a client fetches and sends a CSRF token on unsafe methods (POST/PUT/PATCH/DELETE). */
export interface CsrfOptions {
  /** Header that carries the token; default `X-CSRF-Token`. */
  header?: string;
  source: CsrfSource;
}

/** A client bound to one installation's origin: credentials and cookies never leave that origin. */
export interface HttpsClient {
  readonly baseUrl: URL;
  /** The session cookies of the installation's origin. */
  readonly cookies: CookieJar;
  request(method: string, path: string, options?: RequestOptions): Promise<HttpResponse>;
  /** `request` and parse the body as JSON. */
  json<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<T>;
  download(path: string, options?: DownloadOptions): Promise<DownloadResult>;
  upload(method: string, path: string, body: Readable | AsyncIterable<Uint8Array>, options?: UploadOptions): Promise<HttpResponse>;
  /** Turns CSRF on; for an endpoint source the token is fetched now. */
  enableCsrf(options: CsrfOptions, requestOptions?: { signal?: AbortSignal }): Promise<void>;
  /** Fetches a fresh token from the configured endpoint (after a session reset). */
  refreshCsrfToken(requestOptions?: { signal?: AbortSignal }): Promise<void>;
  /** Replaces (or removes) the bearer token, e.g. after generating one. */
  setBearerToken(token: string | undefined): void;
  close(): Promise<void>;
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BUFFERED = 32 * 1024 * 1024;

type SendBody = string | Uint8Array | AsyncIterable<Uint8Array> | undefined;

interface SendOptions {
  headers: Record<string, string>;
  body: SendBody;
  signal: AbortSignal | undefined;
  /** Overall deadline in ms, or null for streams (then only the idle timeouts apply). */
  deadlineMs: number | null;
  retry: boolean;
}

interface Sent {
  response: Response;
  url: URL;
  abort: AbortState;
  /** Call when the response body is fully consumed or abandoned. */
  release: () => void;
}

/** A download's body goes on in blocks of up to this many bytes (see `progressStream`). */
const DOWNLOAD_BLOCK_BYTES = 1024 * 1024;
/** A part-filled block goes on when no more bytes came for this long. */
const GATHER_WAIT_MS = 10;
const PAUSED = Symbol('paused');

/** Gathers small chunks into one block; `pause` settles when no bytes came for a while. */
class BlockGatherer {
  private block: Buffer | null = null;
  size = 0;
  private timer: NodeJS.Timeout | null = null;
  private paused: Promise<typeof PAUSED> | null = null;

  constructor(private readonly capacity: number) {}

  /**
   * Takes `chunk` in; returns the blocks that are ready to go on (usually none). A chunk that
   * overflows the block fills it and starts the next; a whole block's worth arriving on an empty
   * block goes on as it is.
   */
  add(chunk: Uint8Array): Buffer[] {
    const ready: Buffer[] = [];
    for (let at = 0; at < chunk.byteLength; ) {
      if (this.size === 0 && chunk.byteLength - at >= this.capacity) {
        ready.push(Buffer.from(chunk.buffer, chunk.byteOffset + at, chunk.byteLength - at));
        break;
      }
      this.block ??= Buffer.allocUnsafeSlow(this.capacity);
      const n = Math.min(this.capacity - this.size, chunk.byteLength - at);
      this.block.set(chunk.subarray(at, at + n), this.size);
      this.size += n;
      at += n;
      if (this.size === this.capacity) ready.push(this.take());
    }
    return ready;
  }

  /**
   * The bytes gathered, and a fresh start. A full block is handed over as it is; a part-filled one
   * (the body paused) is copied out at its size and the block kept, so a slow server's trickle
   * does not pin a whole block per few bytes downstream.
   */
  take(): Buffer {
    const block = this.block;
    const size = this.size;
    this.size = 0;
    this.stop();
    if (block === null) return Buffer.alloc(0);
    if (size === block.length) {
      this.block = null;
      return block;
    }
    return Buffer.from(block.subarray(0, size));
  }

  /** Settles `ms` after the first call since the last `take` (one timer per block, not per chunk). */
  pause(ms: number): Promise<typeof PAUSED> {
    this.paused ??= new Promise((resolve) => {
      this.timer = setTimeout(() => resolve(PAUSED), ms);
    });
    return this.paused;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.paused = null;
  }
}

/** Creates the HTTPS client of one installation (see HttpsClient). */
export function createHttpsClient(conn: HttpsConnection, options: HttpsClientOptions = {}): HttpsClient {
  return new FetchHttpsClient(conn, options);
}

class FetchHttpsClient implements HttpsClient {
  readonly baseUrl: URL;
  readonly cookies = new CookieJar();
  private readonly origin: string;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly maxBuffered: number;
  private bearerToken: string | undefined;
  private csrf: { header: string; source: CsrfSource; token: string | null } | null = null;

  constructor(
    conn: HttpsConnection,
    private readonly options: HttpsClientOptions,
  ) {
    this.baseUrl = new URL(conn.baseUrl);
    if (!this.baseUrl.pathname.endsWith('/')) this.baseUrl.pathname += '/';
    const pin = conn.pinnedCertSha256 === undefined ? null : normalizeFingerprint(conn.pinnedCertSha256);
    if (pin !== null && this.baseUrl.protocol !== 'https:') {
      throw new LifeboatError('INVALID_INPUT', `A certificate pin needs an https:// base URL, not ${this.baseUrl.protocol}//.`);
    }
    this.origin = originKey(this.baseUrl.hostname, this.baseUrl.port, this.baseUrl.protocol);
    this.timeoutMs = conn.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
    this.bearerToken = options.bearerToken;
    this.agent = new Agent({
      connect: verifyingConnector({
        pinnedOrigin: pin === null ? null : this.origin,
        pin,
        ca: trustedCas(conn.caFile === undefined ? undefined : readCaFile(conn.caFile)),
        connectTimeoutMs: Math.min(this.timeoutMs, 30_000),
      }),
      // Idle timeouts: they bound a stalled stream without capping a long download.
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      keepAliveTimeout: 10_000,
    });
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const upper = method.toUpperCase();
    const headers = { ...options.headers };
    let body: SendBody = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    } else if (options.contentType !== undefined) {
      headers['content-type'] = options.contentType;
    }
    const sent = await this.send(upper, this.resolve(path, options.query), {
      headers,
      body,
      signal: options.signal,
      deadlineMs: options.timeoutMs ?? this.timeoutMs,
      retry: options.retry ?? true,
    });
    return this.finishBuffered(upper, sent, options.acceptStatus);
  }

  async json<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(method, path, { ...options, headers: { accept: 'application/json', ...options.headers } });
    return response.json<T>();
  }

  async download(path: string, options: DownloadOptions = {}): Promise<DownloadResult> {
    const start = options.start ?? 0;
    const headers: Record<string, string> = { ...options.headers };
    if (start > 0) headers.range = `bytes=${start}-`;
    const url = this.resolve(path, options.query);
    const sent = await this.send('GET', url, { headers, body: undefined, signal: options.signal, deadlineMs: null, retry: true });
    const { response } = sent;
    if (response.status !== 200 && response.status !== 206) {
      await this.throwForStatus('GET', sent);
    }
    let offset = 0;
    let total: number | null;
    if (response.status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
      if (!range || Number(range[1]) !== start) {
        sent.release();
        await response.body?.cancel();
        throw new LifeboatError('HTTP_STATUS', `The server answered the resume of ${url.pathname} at byte ${start} with a different range.`, {
          details: { status: 206, contentRange: response.headers.get('content-range'), start },
        });
      }
      offset = start;
      total = range[3] === '*' ? null : Number(range[3]);
    } else {
      const length = response.headers.get('content-length');
      total = length === null ? null : Number(length);
    }
    return {
      stream: this.progressStream(sent, offset, total, options.onProgress),
      status: response.status,
      headers: response.headers as unknown as Headers,
      url: sent.url.href,
      offset,
      total,
    };
  }

  async upload(
    method: string,
    path: string,
    body: Readable | AsyncIterable<Uint8Array>,
    options: UploadOptions = {},
  ): Promise<HttpResponse> {
    const upper = method.toUpperCase();
    const headers: Record<string, string> = { ...options.headers };
    if (options.contentType !== undefined) headers['content-type'] = options.contentType;
    if (options.contentLength !== undefined) headers['content-length'] = String(options.contentLength);
    const onProgress = options.onProgress;
    const total = options.contentLength ?? null;
    async function* counted(): AsyncIterable<Uint8Array> {
      let bytes = 0;
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        onProgress?.({ phase: 'upload', bytes, total });
        yield chunk;
      }
    }
    const sent = await this.send(upper, this.resolve(path, options.query), {
      headers,
      body: counted(),
      signal: options.signal,
      deadlineMs: null,
      retry: false,
    });
    return this.finishBuffered(upper, sent, options.acceptStatus);
  }

  async enableCsrf(options: CsrfOptions, requestOptions: { signal?: AbortSignal } = {}): Promise<void> {
    this.csrf = { header: options.header ?? 'X-CSRF-Token', source: options.source, token: null };
    if ('endpoint' in options.source) await this.refreshCsrfToken(requestOptions);
  }

  async refreshCsrfToken(requestOptions: { signal?: AbortSignal } = {}): Promise<void> {
    const csrf = this.csrf;
    if (csrf === null) throw new LifeboatError('INVALID_INPUT', 'CSRF is not enabled on this client.');
    if (!('endpoint' in csrf.source)) return;
    const field = csrf.source.field ?? 'csrfToken';
    const body = await this.json<Record<string, unknown>>('GET', csrf.source.endpoint, requestOptions);
    const token = body[field];
    if (typeof token !== 'string' || token.length === 0) {
      throw new LifeboatError('HTTP_STATUS', `The CSRF endpoint ${csrf.source.endpoint} returned no "${field}" field.`, {
        details: { endpoint: csrf.source.endpoint, field },
      });
    }
    csrf.token = token;
  }

  setBearerToken(token: string | undefined): void {
    this.bearerToken = token;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Builds the absolute URL of `path` under the base URL; refuses anything that would leave the base origin. */
  private resolve(path: string, query: RequestOptions['query']): URL {
    if (!path.startsWith('/') || path.startsWith('//')) {
      throw new LifeboatError('INVALID_INPUT', `A request path must start with a single "/", got "${path.slice(0, 80)}".`);
    }
    const url = new URL(path.slice(1), this.baseUrl);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  private isOwnOrigin(url: URL): boolean {
    return url.protocol === this.baseUrl.protocol && originKey(url.hostname, url.port, url.protocol) === this.origin;
  }

  private secrets(): string[] {
    return [this.bearerToken, this.csrf?.token].filter((s): s is string => typeof s === 'string');
  }

  /** Headers that only the installation's own origin may see. */
  private async credentialHeaders(method: string, url: URL): Promise<Record<string, string>> {
    if (!this.isOwnOrigin(url)) return {};
    const headers: Record<string, string> = {};
    if (this.bearerToken !== undefined) headers.authorization = `Bearer ${this.bearerToken}`;
    const cookie = await this.cookies.getCookieString(url.href);
    if (cookie) headers.cookie = cookie;
    if (this.csrf !== null && UNSAFE_METHODS.has(method)) {
      const token = 'cookie' in this.csrf.source ? await this.cookieValue(url, this.csrf.source.cookie) : this.csrf.token;
      if (token) headers[this.csrf.header.toLowerCase()] = token;
    }
    return headers;
  }

  private async cookieValue(url: URL, name: string): Promise<string | null> {
    const cookies = await this.cookies.getCookies(url.href);
    return cookies.find((c) => c.key === name)?.value ?? null;
  }

  /** Sends with retries and manual redirects; resolves with a response whose body is not yet read. */
  private async send(method: string, firstUrl: URL, options: SendOptions): Promise<Sent> {
    const replayable = options.body === undefined || typeof options.body === 'string' || options.body instanceof Uint8Array;
    const mayRetry = options.retry && IDEMPOTENT_METHODS.has(method) && replayable;
    for (let attempt = 0; ; attempt++) {
      const canRetry = mayRetry && attempt < this.retryPolicy.maxRetries;
      let sent: Sent;
      try {
        sent = await this.sendFollowingRedirects(method, firstUrl, options);
      } catch (error) {
        if (canRetry && error instanceof LifeboatError && (error.code === 'HTTP_NETWORK' || error.code === 'HTTP_TIMEOUT')) {
          await sleepUnlessAborted(backoffDelayMs(attempt, this.retryPolicy), this.combinedSignal(options.signal));
          continue;
        }
        throw error;
      }
      const status = sent.response.status;
      if (canRetry && RETRYABLE_STATUSES.has(status)) {
        const retryAfter = parseRetryAfterMs(sent.response.headers.get('retry-after'));
        if (retryAfter === null || retryAfter <= this.retryPolicy.maxRetryAfterMs) {
          sent.release();
          await sent.response.body?.cancel();
          await sleepUnlessAborted(retryAfter ?? backoffDelayMs(attempt, this.retryPolicy), this.combinedSignal(options.signal));
          continue;
        }
      }
      return sent;
    }
  }

  private combinedSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
    const signals = [signal, this.options.signal].filter((s): s is AbortSignal => s !== undefined);
    return signals.length === 0 ? undefined : AbortSignal.any(signals);
  }

  private async sendFollowingRedirects(method: string, firstUrl: URL, options: SendOptions): Promise<Sent> {
    let url = firstUrl;
    let currentMethod = method;
    let body = options.body;
    for (let hop = 0; ; hop++) {
      const sent = await this.sendOnce(currentMethod, url, { ...options, body });
      const { response } = sent;
      const location = response.headers.get('location');
      if (!REDIRECT_STATUSES.has(response.status) || location === null) return sent;
      sent.release();
      await response.body?.cancel();
      const next = new URL(location, url);
      if (hop + 1 > MAX_REDIRECTS) {
        throw new LifeboatError('HTTP_STATUS', `Too many redirects (more than ${MAX_REDIRECTS}) starting at ${firstUrl.pathname}.`, {
          details: { status: response.status },
        });
      }
      if (next.protocol !== 'https:' && (url.protocol === 'https:' || next.protocol !== 'http:')) {
        throw new LifeboatError('HTTP_STATUS', `Refused a redirect from ${url.origin} to ${next.protocol}// (it would drop TLS).`, {
          details: { status: response.status, location: next.origin },
        });
      }
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && currentMethod === 'POST')) {
        currentMethod = currentMethod === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
      } else if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
        throw new LifeboatError('HTTP_STATUS', `The server redirected a streamed ${currentMethod} (${response.status}); a stream cannot be sent twice.`, {
          details: { status: response.status, location: next.origin },
        });
      }
      url = next;
    }
  }

  private async sendOnce(method: string, url: URL, options: SendOptions): Promise<Sent> {
    const clientSignal = this.options.signal;
    const timeout = new AbortController();
    let timedOut = false;
    const timer =
      options.deadlineMs === null
        ? null
        : setTimeout(() => {
            timedOut = true;
            timeout.abort();
          }, options.deadlineMs);
    const release = (): void => {
      if (timer !== null) clearTimeout(timer);
    };
    const abort: AbortState = {
      cancelled: () => Boolean(options.signal?.aborted || clientSignal?.aborted),
      timedOut: () => timedOut,
      timeoutMs: options.deadlineMs ?? this.timeoutMs,
      host: url.host,
      idleTimeoutMs: this.timeoutMs,
    };
    const what = `${method} ${url.origin}${url.pathname}`;
    const signal = AbortSignal.any([timeout.signal, ...[options.signal, clientSignal].filter((s): s is AbortSignal => s !== undefined)]);
    // Caller headers first, then ours: a caller cannot smuggle credentials to a foreign origin.
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent ?? 'Lifeboat',
      ...lowerCaseKeys(options.headers),
    };
    delete headers.authorization;
    delete headers.cookie;
    Object.assign(headers, await this.credentialHeaders(method, url));
    const streamed = options.body !== undefined && typeof options.body !== 'string' && !(options.body instanceof Uint8Array);
    let response: Response;
    try {
      if (abort.cancelled()) throw new LifeboatError('CANCELLED', `${what} was cancelled.`);
      response = await fetch(url, {
        method,
        headers,
        body: options.body as string | Uint8Array | AsyncIterable<Uint8Array> | undefined,
        redirect: 'manual',
        dispatcher: this.agent,
        signal,
        ...(streamed ? { duplex: 'half' as const } : {}),
      });
    } catch (error) {
      release();
      throw mapTransportError(error, what, abort);
    }
    if (this.isOwnOrigin(url)) {
      for (const setCookie of response.headers.getSetCookie()) {
        // A malformed cookie from the server is its problem; ignoring it matches what browsers do.
        await this.cookies.setCookie(setCookie, url.href, { ignoreError: true });
      }
    }
    return { response, url, abort, release };
  }

  private async readBody(sent: Sent, what: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      if (sent.response.body) {
        for await (const chunk of sent.response.body) {
          size += chunk.byteLength;
          if (size > this.maxBuffered) {
            throw new LifeboatError('HTTP_STATUS', `${what} returned more than ${this.maxBuffered} bytes; use a streaming download.`, {
              details: { status: sent.response.status, limit: this.maxBuffered },
            });
          }
          chunks.push(Buffer.from(chunk));
        }
      }
    } catch (error) {
      throw error instanceof LifeboatError ? error : mapTransportError(error, what, sent.abort);
    } finally {
      sent.release();
    }
    return Buffer.concat(chunks);
  }

  private async finishBuffered(method: string, sent: Sent, acceptStatus: readonly number[] = []): Promise<HttpResponse> {
    const { response, url } = sent;
    const ok = (response.status >= 200 && response.status < 300) || acceptStatus.includes(response.status);
    if (!ok) await this.throwForStatus(method, sent);
    const body = await this.readBody(sent, `${method} ${url.pathname}`);
    return {
      status: response.status,
      headers: response.headers as unknown as Headers,
      url: url.href,
      body,
      text: () => body.toString('utf8'),
      json: <T>() => parseJson<T>(body, `${method} ${url.pathname}`),
    };
  }

  private async throwForStatus(method: string, sent: Sent): Promise<never> {
    const { response, url } = sent;
    const what = `${method} ${url.pathname}`;
    let text: string;
    try {
      text = (await this.readBody(sent, what)).subarray(0, 4096).toString('utf8');
    } catch (error) {
      // The status is the news; a body that fails to arrive only loses the excerpt.
      text = `(body unreadable: ${error instanceof Error ? error.message : String(error)})`;
    }
    // The server's own error text, never its body: a body may echo credentials or data.
    const excerpt = serverMessage(text, this.secrets());
    const details: Record<string, unknown> = { status: response.status, serverMessage: excerpt };
    const serverCode = serverErrorCode(text);
    if (serverCode !== undefined) details.serverCode = serverCode;
    const status = response.status;
    if (status === 429) {
      const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'));
      details.retryAfterSeconds = retryAfterMs === null ? null : Math.ceil(retryAfterMs / 1000);
      throw new LifeboatError(
        'HTTP_RATE_LIMITED',
        `${what}: the server is rate limiting requests` +
          (retryAfterMs === null ? '.' : `; try again in ${Math.ceil(retryAfterMs / 1000)} s.`),
        { details },
      );
    }
    if (status === 401 || status === 403) {
      throw new LifeboatError('HTTP_AUTH_FAILED', `${what} was refused (${status}): ${excerpt || response.statusText}`, { details });
    }
    throw new LifeboatError('HTTP_STATUS', `${what} failed with HTTP ${status}: ${excerpt || response.statusText}`, { details });
  }

  private progressStream(sent: Sent, offset: number, total: number | null, onProgress: ProgressFn | undefined): Readable {
    const body = sent.response.body;
    const what = `GET ${sent.url.pathname}`;
    // fetch hands the body over one TLS record (16 KiB) at a time: 65 000 chunks a GiB, each
    // through every stream and async iterator downstream. They are gathered into blocks of up to
    // DOWNLOAD_BLOCK_BYTES (the one copy the body already took, into memory this stream owns); a
    // part-filled block goes on when the body pauses for GATHER_WAIT_MS, so a slow or stalled
    // server's bytes are never held back. Destroying the stream cancels the body at once, even
    // while a read waits for the server.
    const reader = body?.getReader() ?? null;
    const block = new BlockGatherer(DOWNLOAD_BLOCK_BYTES);
    let bytes = offset;
    let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
    let pumping = false;
    let settled = false;
    const settle = (): void => {
      settled = true;
      block.stop();
      sent.release();
    };
    // A broken body's error waits until the consumer has read every byte that did arrive: a
    // Readable destroyed with an error drops what it still buffers, and a resume would then start
    // before bytes that were already here (or, with a part-filled block, at 0).
    let failure: LifeboatError | null = null;
    let drainPoll: NodeJS.Timeout | null = null;
    const failWhenDrained = (): void => {
      if (failure === null || stream.destroyed) return;
      if (stream.readableLength === 0) {
        stream.destroy(failure);
        return;
      }
      // `read` is not called again until something is pushed: an empty push re-arms it.
      drainPoll ??= setTimeout(() => {
        drainPoll = null;
        if (!stream.destroyed) stream.push(Buffer.alloc(0));
      }, GATHER_WAIT_MS);
    };
    const stream = new Readable({
      highWaterMark: DOWNLOAD_BLOCK_BYTES,
      read() {
        if (failure !== null) failWhenDrained();
        else if (!pumping) void pump();
      },
      destroy(error, callback) {
        if (drainPoll !== null) clearTimeout(drainPoll);
        if (!settled) {
          settle();
          void reader?.cancel().catch(() => undefined);
        }
        callback(error);
      },
    });
    /** Reads the body into blocks until the stream has enough buffered, or the body ends. */
    async function pump(): Promise<void> {
      pumping = true;
      try {
        if (!reader) {
          settle();
          stream.push(null);
          return;
        }
        for (let wanted = true; wanted && !settled; ) {
          pending ??= reader.read();
          const next = block.size > 0 ? await Promise.race([pending, block.pause(GATHER_WAIT_MS)]) : await pending;
          if (settled) return;
          if (next === PAUSED) {
            wanted = stream.push(block.take());
            continue;
          }
          pending = null;
          if (next.done) {
            if (block.size > 0) stream.push(block.take());
            settle();
            stream.push(null);
            return;
          }
          bytes += next.value.byteLength;
          onProgress?.({ phase: 'download', bytes, total });
          for (const ready of block.add(next.value)) wanted = stream.push(ready) && wanted;
        }
      } catch (error) {
        if (settled) return;
        // The consumer counts what it got: a resume starts after the last byte it read.
        if (block.size > 0) stream.push(block.take());
        settle();
        failure = mapTransportError(error, what, sent.abort);
        failWhenDrained();
      } finally {
        pumping = false;
      }
    }
    return stream;
  }
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function parseJson<T>(body: Buffer, what: string): T {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch (error) {
    throw new LifeboatError('HTTP_STATUS', `${what} did not return valid JSON.`, { cause: error });
  }
}

function readCaFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new LifeboatError('INVALID_INPUT', `Cannot read the CA file ${file}: ${(error as Error).message}`, { cause: error });
  }
}
