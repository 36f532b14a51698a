/**
 * A restic repository behind a restic REST server (rest-server, `rclone serve restic`), REST API v2
 * (spec: restic-format.md §14). Packs are addressed flat as `data/<id>`; the server lays them out.
 *
 * Every request has connect/header/idle timeouts and is retried with exponential backoff on network
 * errors, timeouts, 408/429 and 5xx (except 501/507). POST is retried too: every name is the SHA-256
 * of its bytes (a lock's too), so sending the same file again cannot change what is stored.
 * Credentials come from the URL, go only into the Authorization header, and never into messages.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';
import { isRepoFileName } from '../backend';
import type { Backend, ByteRange, FileInfo, FileType } from '../backend';
import { parseRestUrl } from './rest-url';

const V2 = 'application/vnd.x.restic.rest.v2';
const listV2Schema = z.array(z.object({ name: z.string(), size: z.number().int().nonnegative() }));
const listV1Schema = z.array(z.string());

/** Tuning of the REST backend; the defaults suit a LAN or a decent internet link. */
export interface RestBackendOptions {
  /** Time to open a TCP/TLS connection. Default 15 s. */
  connectTimeoutMs?: number;
  /** Time to wait for response headers, and the longest pause while a body streams. Default 60 s. */
  idleTimeoutMs?: number;
  /** Attempts after the first one for a failing request. Default 5. */
  retries?: number;
  /** First backoff delay; it doubles per attempt (with jitter) up to maxBackoffMs. Default 500 ms. */
  initialBackoffMs?: number;
  /** Longest backoff delay. Default 15 s. */
  maxBackoffMs?: number;
  /** Aborts every request of this backend (then calls fail with CANCELLED). */
  signal?: AbortSignal;
  /** Parallel connections to the server. Default 4. */
  connections?: number;
  /** A custom undici dispatcher (e.g. one with pinned TLS); the backend then does not own or close it. */
  dispatcher?: Dispatcher;
}

/** The outcome of one HTTP exchange, handed to the per-operation response handler. */
interface Exchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** 0 for the first attempt. */
  attempt: number;
}

/** Why an attempt failed, when it may be worth another try. */
class RetryableError extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

/** A restic REST server as vault storage. Create with the repository URL (`rest:http://[user:pass@]host:port/path/`). */
export class RestBackend implements Backend {
  readonly location: string;
  private readonly baseUrl: string;
  private readonly authorization: string | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly retries: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly idleTimeoutMs: number;
  private readonly signal: AbortSignal | undefined;

  constructor(url: string, options: RestBackendOptions = {}) {
    const endpoint = parseRestUrl(url);
    this.location = endpoint.location;
    this.baseUrl = endpoint.baseUrl;
    this.authorization = endpoint.authorization;
    this.retries = options.retries ?? 5;
    this.initialBackoffMs = options.initialBackoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 15_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.signal = options.signal;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({
      connect: { timeout: options.connectTimeoutMs ?? 15_000 },
      connections: options.connections ?? 4,
      headersTimeout: this.idleTimeoutMs,
      bodyTimeout: this.idleTimeoutMs,
    });
  }

  /** Closes the backend's connections (only those of a dispatcher it made itself). */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  async create(): Promise<void> {
    if (await this.exists('config', 'config')) {
      throw new LifeboatError('ALREADY_EXISTS', `A repository already exists at ${this.location}.`);
    }
    await this.send('create the repository', 'POST', '?create=true', {}, async (x) => {
      await this.expectOk(x, 'create the repository');
    });
  }

  async exists(type: FileType, name: string): Promise<boolean> {
    const what = `check whether ${describe(type, name)} exists`;
    return this.send(what, 'HEAD', this.filePath(type, name), {}, async (x) => {
      await x.body.dump();
      if (x.status === 404) return false;
      if (x.status === 200) return true;
      throw this.statusError(what, x.status);
    });
  }

  async stat(type: FileType, name: string): Promise<{ size: number }> {
    const what = `read the size of ${describe(type, name)}`;
    return this.send(what, 'HEAD', this.filePath(type, name), {}, async (x) => {
      await this.expectOk(x, what);
      return { size: contentLength(x.headers, what, this.location) };
    });
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    if (type === 'config') {
      if (await this.exists('config', 'config')) yield { name: 'config', size: (await this.stat('config', 'config')).size };
      return;
    }
    const what = `list ${type}`;
    const listing = await this.send(what, 'GET', `${type}/`, {}, async (x): Promise<{ v2: FileInfo[] } | { v1: string[] }> => {
      // Like restic: a missing folder is an empty list, except that rclone answers 404 only for a missing repository.
      if (x.status === 404 && !headerValue(x.headers, 'server').startsWith('rclone/')) {
        await x.body.dump();
        return { v2: [] };
      }
      if (x.status === 404) {
        await x.body.dump();
        throw new LifeboatError('VAULT_BACKEND', `Could not ${what} at ${this.location}: the server has no repository at this address (404).`, { details: { status: 404 } });
      }
      if (x.status !== 200) {
        await x.body.dump();
        throw this.statusError(what, x.status);
      }
      const json: unknown = await readJson(x.body, what, this.location);
      // The client may read the v2 shape only when the server says so (a v1 server answers a plain name array).
      if (headerValue(x.headers, 'content-type') === V2) return { v2: parseWith(listV2Schema, json, what, this.location) };
      return { v1: parseWith(listV1Schema, json, what, this.location) };
    });
    if ('v2' in listing) {
      for (const f of listing.v2) if (isRepoFileName(f.name)) yield f;
      return;
    }
    for (const name of listing.v1) {
      if (!isRepoFileName(name)) continue;
      try {
        yield { name, size: (await this.stat(type, name)).size };
      } catch (error) {
        // Deleted between the listing and the HEAD (a concurrent prune or lock refresh): it is simply gone.
        if (!(error instanceof LifeboatError && error.code === 'NOT_FOUND')) throw error;
      }
    }
  }

  async read(type: FileType, name: string, range?: ByteRange): Promise<Buffer> {
    const what = `read ${describe(type, name)}${range ? ` (${range.length} bytes at ${range.offset})` : ''}`;
    if (range && (!Number.isSafeInteger(range.offset) || !Number.isSafeInteger(range.length) || range.offset < 0 || range.length < 0)) {
      throw new LifeboatError('INVALID_INPUT', `Cannot ${what}: the byte range is invalid.`);
    }
    if (range?.length === 0) return Buffer.alloc(0);
    const headers: Record<string, string> = range ? { range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {};
    return this.send(what, 'GET', this.filePath(type, name), { headers }, async (x) => {
      if (x.status === 416) {
        await x.body.dump();
        throw new LifeboatError('VAULT_CORRUPT', `${describe(type, name)} in ${this.location} is shorter than expected: the server has no bytes at offset ${range?.offset ?? 0}.`);
      }
      if (range && x.status === 200) {
        // A server that ignores Range sends the whole file; take the part asked for.
        const whole = await readBody(x.body, what);
        return checkLength(whole.subarray(range.offset, range.offset + range.length), range, describe(type, name), this.location);
      }
      if (x.status !== (range ? 206 : 200)) {
        await x.body.dump();
        throw this.statusError(what, x.status);
      }
      const data = await readBody(x.body, what);
      if (range) return checkLength(data, range, describe(type, name), this.location);
      const declared = headerValue(x.headers, 'content-length');
      if (declared !== '' && Number(declared) !== data.length) throw new RetryableError(`the body ended after ${data.length} of ${declared} bytes`);
      return data;
    });
  }

  async write(type: FileType, name: string, data: Buffer): Promise<void> {
    const what = `write ${describe(type, name)}`;
    const path = this.filePath(type, name);
    // Same contract as the local backend: never overwrite. rclone would overwrite, rest-server refuses with 403.
    if (type !== 'locks' && (await this.exists(type, name))) {
      if (type === 'config') throw new LifeboatError('ALREADY_EXISTS', `The repository at ${this.location} already has a config file.`);
      return;
    }
    await this.send(what, 'POST', path, { body: data, headers: { 'content-type': 'application/octet-stream' } }, async (x) => {
      if (x.status === 403 && x.attempt > 0) {
        // An earlier attempt may have stored the file before its answer was lost; rest-server then refuses the repeat.
        await x.body.dump();
        const stored = await this.stat(type, name).catch((error: unknown) => {
          if (error instanceof LifeboatError && error.code === 'NOT_FOUND') return null;
          throw error;
        });
        if (stored?.size === data.length) return;
        throw this.statusError(what, x.status);
      }
      await this.expectOk(x, what);
    });
  }

  async remove(type: FileType, name: string): Promise<void> {
    const what = `remove ${describe(type, name)}`;
    await this.send(what, 'DELETE', this.filePath(type, name), {}, async (x) => {
      // After an attempt whose answer was lost, 404 means that attempt did the job.
      if (x.status === 404 && x.attempt > 0) {
        await x.body.dump();
        return;
      }
      await this.expectOk(x, what);
    });
  }

  /** The path of a file below the repository URL (`config`, `keys/<id>`, `data/<id>`). */
  private filePath(type: FileType, name: string): string {
    if (type === 'config') return 'config';
    if (!isRepoFileName(name)) {
      throw new LifeboatError('INVALID_INPUT', `"${name}" is not a valid repository file name (64 hex characters expected).`);
    }
    return `${type}/${name}`;
  }

  /** Runs one request with retries; `handle` sees each response and returns the result or throws. */
  private async send<T>(what: string, method: Dispatcher.HttpMethod, path: string, init: { headers?: Record<string, string>; body?: Buffer }, handle: (x: Exchange) => Promise<T>): Promise<T> {
    const headers: Record<string, string> = { accept: V2, ...init.headers };
    if (this.authorization) headers.authorization = this.authorization;
    let lastProblem: string;
    for (let attempt = 0; ; attempt++) {
      this.throwIfAborted(what);
      let retryAfterMs: number | undefined;
      try {
        const res = await request(this.baseUrl + path, {
          method, headers, body: init.body, dispatcher: this.dispatcher, signal: this.signal,
          headersTimeout: this.idleTimeoutMs, bodyTimeout: this.idleTimeoutMs,
        });
        const exchange: Exchange = { status: res.statusCode, headers: res.headers, body: res.body, attempt };
        if (isRetryableStatus(res.statusCode)) {
          await res.body.dump();
          throw new RetryableError(`the server answered ${res.statusCode}`, parseRetryAfter(headerValue(res.headers, 'retry-after')));
        }
        return await handle(exchange);
      } catch (error) {
        if (error instanceof LifeboatError) throw error;
        this.throwIfAborted(what, error);
        if (error instanceof RetryableError) {
          lastProblem = error.message;
          retryAfterMs = error.retryAfterMs;
        } else if (isNetworkError(error)) {
          lastProblem = describeNetworkError(error);
        } else {
          throw new LifeboatError('VAULT_BACKEND', `Could not ${what} at ${this.location}: ${errorMessage(error)}`, { cause: error });
        }
      }
      if (attempt >= this.retries) {
        throw new LifeboatError('VAULT_BACKEND', `Could not ${what} at ${this.location}: ${lastProblem} (gave up after ${attempt + 1} attempts).`, { details: { attempts: attempt + 1 } });
      }
      const backoff = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** attempt);
      // Full jitter between half and all of the backoff, so parallel uploads do not retry in lockstep.
      const delay = Math.min(this.maxBackoffMs, Math.max(retryAfterMs ?? 0, backoff * (0.5 + Math.random() / 2)));
      try {
        await sleep(delay, undefined, { signal: this.signal });
      } catch (error) {
        this.throwIfAborted(what, error);
        throw error;
      }
    }
  }

  private async expectOk(x: Exchange, what: string): Promise<void> {
    await x.body.dump();
    if (x.status !== 200) throw this.statusError(what, x.status);
  }

  private statusError(what: string, status: number): LifeboatError {
    const reason = STATUS_REASONS[status] ?? `the server answered HTTP ${status}`;
    if (status === 404) return new LifeboatError('NOT_FOUND', `Could not ${what} at ${this.location}: the file does not exist.`, { details: { status } });
    return new LifeboatError('VAULT_BACKEND', `Could not ${what} at ${this.location}: ${reason}.`, { details: { status } });
  }

  private throwIfAborted(what: string, cause?: unknown): void {
    if (this.signal?.aborted) throw new LifeboatError('CANCELLED', `Cancelled: ${what} at ${this.location}.`, cause === undefined ? {} : { cause });
  }
}

const STATUS_REASONS: Record<number, string> = {
  400: 'the server rejected the request (400; for a listing, an rclone server wants REST API v2)',
  401: 'the server wants valid credentials (401); put user:password in the URL',
  403: 'the server refused (403): the repository may be append-only, or the file already exists',
  405: 'the server does not allow this operation (405)',
  416: 'the requested byte range is outside the file (416)',
  501: 'the server does not implement this operation (501)',
  507: 'the server is out of space or over quota (507)',
};

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 507);
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENOTFOUND',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

function isNetworkError(error: unknown): boolean {
  const code = errorCode(error) ?? errorCode((error as { cause?: unknown } | null)?.cause);
  return code !== undefined && NETWORK_ERROR_CODES.has(code);
}

function describeNetworkError(error: unknown): string {
  const code = errorCode(error) ?? errorCode((error as { cause?: unknown } | null)?.cause) ?? '';
  if (code.endsWith('TIMEOUT') || code === 'ETIMEDOUT') return `the server did not answer in time (${code})`;
  if (code === 'ECONNREFUSED') return 'the connection was refused (is the server running?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name could not be resolved';
  return `the connection failed (${code}: ${errorMessage(error)})`;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

function parseRetryAfter(value: string): number | undefined {
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  return undefined;
}

function contentLength(headers: Record<string, string | string[] | undefined>, what: string, location: string): number {
  const value = headerValue(headers, 'content-length');
  if (!/^\d+$/.test(value)) throw new LifeboatError('VAULT_BACKEND', `Could not ${what} at ${location}: the server sent no Content-Length.`);
  return Number(value);
}

async function readBody(body: Dispatcher.ResponseData['body'], what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body) chunks.push(chunk as Buffer);
  } catch (error) {
    // A body cut off mid-way is a network failure: worth another attempt.
    if (isNetworkError(error)) throw new RetryableError(`${what}: ${describeNetworkError(error)}`);
    throw error;
  }
  return Buffer.concat(chunks);
}

async function readJson(body: Dispatcher.ResponseData['body'], what: string, location: string): Promise<unknown> {
  const text = (await readBody(body, what)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new LifeboatError('VAULT_BACKEND', `Could not ${what} at ${location}: the server's answer is not JSON.`, { cause });
  }
}

function parseWith<T>(schema: z.ZodType<T>, json: unknown, what: string, location: string): T {
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new LifeboatError('VAULT_BACKEND', `Could not ${what} at ${location}: the listing has an unexpected shape.`);
  return parsed.data;
}

function checkLength(data: Buffer, range: ByteRange, name: string, location: string): Buffer {
  if (data.length !== range.length) {
    throw new LifeboatError('VAULT_CORRUPT', `${name} in ${location} is shorter than expected: wanted ${range.length} bytes at offset ${range.offset}, got ${data.length}.`);
  }
  return data;
}

function describe(type: FileType, name: string): string {
  return type === 'config' ? 'the config file' : `${type}/${name.slice(0, 8)}`;
}
