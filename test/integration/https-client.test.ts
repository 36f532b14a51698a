import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import type { HttpsConnection } from '../../src/shared/installations';
import { createHttpsClient, probeTls, type HttpsClientOptions } from '../../src/main/transport/https';
import {
  makeCaSignedCert,
  makeCertDir,
  makeSelfSignedCert,
  removeCertDir,
  startHttpServer,
  startHttpsServer,
  type TestCert,
  type TestServer,
} from '../harness/tls';
import { until } from '../harness/wait';

const FILE = randomBytes(1024 * 1024 + 123);
/** `/trickle` sends its first 100 bytes, then the rest only once the test says it saw them. */
let trickleGo: (() => void) | null = null;
const TOKEN = 'tok_0123456789abcdef0123456789abcdef';

/** Every request a server saw: method, path and the headers that matter here. */
interface Seen {
  method: string;
  path: string;
  authorization?: string;
  cookie?: string;
  csrf?: string;
}

function makeRouter(seen: Seen[], redirectTargets: () => { other: string; plain: string }): http.RequestListener {
  const hits = new Map<string, number>();
  const hit = (key: string): number => {
    const n = (hits.get(key) ?? 0) + 1;
    hits.set(key, n);
    return n;
  };
  const sessions = new Map<string, { csrf: string; loggedIn: boolean }>();
  const sid = (req: http.IncomingMessage): string | undefined => /(?:^|; )sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  const json = (res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const csrfHeader = req.headers['x-csrf-token'];
    seen.push({
      method: req.method ?? '',
      path: url.pathname,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers.cookie ? { cookie: req.headers.cookie } : {}),
      ...(typeof csrfHeader === 'string' ? { csrf: csrfHeader } : {}),
    });
    const key = `${req.method} ${url.pathname}`;
    switch (url.pathname) {
      case '/hello':
        return json(res, 200, { hello: 'world' });
      case '/echo':
        return json(res, 200, { authorization: req.headers.authorization ?? null, cookie: req.headers.cookie ?? null, csrf: csrfHeader ?? null });
      case '/hang':
        hit(key);
        return; // never answers
      case '/flaky':
        return hit(key) <= 2 ? json(res, 503, { error: 'warming up' }) : json(res, 200, { ok: true, attempts: hits.get(key) });
      case '/busy':
        return hit(key) === 1 ? json(res, 503, { error: 'busy' }, { 'retry-after': '1' }) : json(res, 200, { ok: true });
      case '/limited':
        hit(key);
        return json(res, 429, { error: 'Too many login attempts' }, { 'retry-after': '30' });
      case '/reflect-auth':
        return json(res, 500, { error: `bad token ${req.headers.authorization ?? ''}` });
      case '/file': {
        const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
        if (range) {
          const start = Number(range[1]);
          res.writeHead(206, { 'content-range': `bytes ${start}-${FILE.length - 1}/${FILE.length}`, 'content-length': FILE.length - start });
          return res.end(FILE.subarray(start));
        }
        res.writeHead(200, { 'content-length': FILE.length });
        return res.end(FILE);
      }
      case '/trickle':
        res.writeHead(200, { 'content-length': 200 });
        res.write(FILE.subarray(0, 100));
        trickleGo = () => res.end(FILE.subarray(100, 200));
        return;
      case '/file-no-range':
        res.writeHead(200, { 'content-length': FILE.length });
        return res.end(FILE);
      case '/upload': {
        const hash = createHash('sha256');
        let size = 0;
        req.on('data', (chunk: Buffer) => {
          size += chunk.length;
          hash.update(chunk);
        });
        req.on('end', () => json(res, 200, { size, sha256: hash.digest('hex') }));
        return;
      }
      case '/csrf': {
        let id = sid(req);
        if (!id || !sessions.has(id)) {
          id = randomBytes(8).toString('hex');
          sessions.set(id, { csrf: randomBytes(32).toString('hex'), loggedIn: false });
        }
        return json(res, 200, { csrfToken: sessions.get(id)!.csrf }, { 'set-cookie': `sid=${id}; Path=/; HttpOnly; SameSite=Lax` });
      }
      case '/login': {
        const session = sessions.get(sid(req) ?? '');
        if (!session) return json(res, 403, { error: 'CSRF token missing', code: 'CSRF_SESSION_MISSING' });
        if (csrfHeader === undefined) return json(res, 403, { error: 'CSRF token required', code: 'CSRF_TOKEN_REQUIRED' });
        if (csrfHeader !== session.csrf) return json(res, 403, { error: 'Invalid CSRF token', code: 'CSRF_TOKEN_INVALID' });
        // Like express-session's regenerate(): a new id, the token carried over.
        const fresh = randomBytes(8).toString('hex');
        sessions.delete(sid(req)!);
        sessions.set(fresh, { csrf: session.csrf, loggedIn: true });
        return json(res, 200, { success: true }, { 'set-cookie': `sid=${fresh}; Path=/; HttpOnly; SameSite=Lax` });
      }
      case '/protected':
        return sessions.get(sid(req) ?? '')?.loggedIn ? json(res, 200, { secret: 'data' }) : json(res, 403, { error: 'Insufficient permissions', code: 'FORBIDDEN' });
      case '/go-elsewhere':
        res.writeHead(302, { location: `${redirectTargets().other}/echo` });
        return res.end();
      case '/go-home':
        res.writeHead(302, { location: '/echo' });
        return res.end();
      case '/go-plain':
        res.writeHead(302, { location: `${redirectTargets().plain}/echo` });
        return res.end();
      default:
        return json(res, 404, { error: 'no such route' });
    }
  };
}

let dir: string;
let certA: TestCert;
let certB: TestCert;
let ca: TestCert;
let serverA: TestServer;
let serverB: TestServer;
let serverC: TestServer;
let plain: TestServer;
const seenA: Seen[] = [];
const seenB: Seen[] = [];
const seenC: Seen[] = [];
const targets = (): { other: string; plain: string } => ({ other: serverC.url, plain: plain.url });

beforeAll(async () => {
  dir = await makeCertDir();
  certA = await makeSelfSignedCert(dir, 'a');
  certB = await makeSelfSignedCert(dir, 'b');
  const signed = await makeCaSignedCert(dir);
  ca = signed.ca;
  serverA = await startHttpsServer(certA, makeRouter(seenA, targets));
  serverB = await startHttpsServer(certB, makeRouter(seenB, targets));
  serverC = await startHttpsServer(signed.leaf, makeRouter(seenC, targets));
  plain = await startHttpServer(makeRouter([], targets));
});

afterAll(async () => {
  await Promise.all([serverA, serverB, serverC, plain].filter(Boolean).map((s) => s.close()));
  await removeCertDir(dir);
});

function conn(baseUrl: string, extra: Partial<HttpsConnection> = {}): HttpsConnection {
  return { baseUrl, auth: 'none', ...extra };
}

async function caught(promise: Promise<unknown>): Promise<LifeboatError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LifeboatError);
  return error as LifeboatError;
}

async function withClient<T>(
  connection: HttpsConnection,
  options: HttpsClientOptions,
  use: (client: ReturnType<typeof createHttpsClient>) => Promise<T>,
): Promise<T> {
  const client = createHttpsClient(connection, options);
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

const fastRetry = { baseDelayMs: 5, maxDelayMs: 20 };

describe('certificate pinning', () => {
  it('accepts a self-signed server whose certificate matches the pin (colon or plain hex)', async () => {
    await withClient(conn(serverA.url, { pinnedCertSha256: certA.sha256 }), {}, async (client) => {
      expect(await client.json('GET', '/hello')).toEqual({ hello: 'world' });
      // Keep-alive reuse of the checked connection keeps working.
      expect(await client.json('GET', '/hello')).toEqual({ hello: 'world' });
    });
    const plainHex = certA.sha256.replace(/:/g, '').toLowerCase();
    await withClient(conn(serverA.url, { pinnedCertSha256: plainHex }), {}, async (client) => {
      expect(await client.json('GET', '/hello')).toEqual({ hello: 'world' });
    });
  });

  it('refuses a different certificate, naming both fingerprints, before sending anything', async () => {
    const before = seenB.length;
    const error = await withClient(conn(serverB.url, { pinnedCertSha256: certA.sha256 }), { bearerToken: TOKEN }, (client) =>
      caught(client.json('GET', '/hello')),
    );
    expect(error.code).toBe('TLS_PIN_MISMATCH');
    expect(error.details).toMatchObject({ expected: certA.sha256, actual: certB.sha256 });
    expect(error.message).toContain(certA.sha256);
    expect(error.message).toContain(certB.sha256);
    expect(seenB.length).toBe(before);
  });

  it('without a pin, a self-signed server is TLS_UNTRUSTED with its fingerprint, and nothing is sent', async () => {
    const before = seenA.length;
    const error = await withClient(conn(serverA.url), { bearerToken: TOKEN }, (client) => caught(client.json('GET', '/hello')));
    expect(error.code).toBe('TLS_UNTRUSTED');
    expect(error.details).toMatchObject({ actual: certA.sha256 });
    expect(seenA.length).toBe(before);
  });

  it('trusts a private CA given as caFile, and not without it', async () => {
    await withClient(conn(serverC.url, { caFile: ca.certFile }), {}, async (client) => {
      expect(await client.json('GET', '/hello')).toEqual({ hello: 'world' });
    });
    const error = await withClient(conn(serverC.url), {}, (client) => caught(client.json('GET', '/hello')));
    expect(error.code).toBe('TLS_UNTRUSTED');
  });

  it('probeTls describes the certificate without trusting it', async () => {
    const selfSigned = await probeTls(serverA.url);
    expect(selfSigned).toMatchObject({ sha256: certA.sha256, selfSigned: true, trusted: false });
    expect(selfSigned.subject).toContain('CN=lifeboat-test');
    expect(Date.parse(selfSigned.validTo)).toBeGreaterThan(Date.now());
    const signed = await probeTls(serverC.url, { caPem: ca.certPem });
    expect(signed).toMatchObject({ selfSigned: false, trusted: true, authorizationError: null });
    expect(signed.issuer).toContain('CN=Lifeboat Test CA');
  });

  it('does not extend the pin to another origin reached by a redirect', async () => {
    // A is pinned; the redirect goes to C, which is valid only under the private CA the client lacks.
    const error = await withClient(conn(serverA.url, { pinnedCertSha256: certA.sha256 }), {}, (client) =>
      caught(client.json('GET', '/go-elsewhere')),
    );
    expect(error.code).toBe('TLS_UNTRUSTED');
  });
});

describe('redirects and credentials', () => {
  it('keeps Authorization on a same-origin redirect and drops it (and cookies, CSRF) on another origin', async () => {
    await withClient(conn(serverA.url, { pinnedCertSha256: certA.sha256, caFile: ca.certFile }), { bearerToken: TOKEN }, async (client) => {
      await client.enableCsrf({ source: { endpoint: '/csrf' } });
      const home = await client.json<{ authorization: string | null; cookie: string | null }>('GET', '/go-home');
      expect(home.authorization).toBe(`Bearer ${TOKEN}`);
      expect(home.cookie).toMatch(/^sid=/);
      const before = seenC.length;
      const away = await client.request('DELETE', '/go-elsewhere');
      expect(away.json()).toEqual({ authorization: null, cookie: null, csrf: null });
      expect(seenC.slice(before)).toEqual([{ method: 'DELETE', path: '/echo' }]);
    });
  });

  it('refuses a redirect from https to plain http', async () => {
    const error = await withClient(conn(serverA.url, { pinnedCertSha256: certA.sha256 }), { bearerToken: TOKEN }, (client) =>
      caught(client.json('GET', '/go-plain')),
    );
    expect(error.code).toBe('HTTP_STATUS');
    expect(error.message).toContain('drop TLS');
  });
});

describe('timeouts, retries, rate limits', () => {
  const pinned = (): HttpsConnection => conn(serverA.url, { pinnedCertSha256: certA.sha256, timeoutMs: 600 });

  it('times out a request that never answers, retrying a GET once with maxRetries 1', async () => {
    const before = seenA.filter((s) => s.path === '/hang').length;
    const started = Date.now();
    const error = await withClient(pinned(), { retry: { ...fastRetry, maxRetries: 1 } }, (client) => caught(client.json('GET', '/hang')));
    expect(error.code).toBe('HTTP_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(seenA.filter((s) => s.path === '/hang').length - before).toBe(2);
  });

  it('a per-request timeout wins over the connection default, and cancelling is CANCELLED', async () => {
    await withClient(conn(serverA.url, { pinnedCertSha256: certA.sha256 }), { retry: { maxRetries: 0 } }, async (client) => {
      const started = Date.now();
      expect((await caught(client.json('GET', '/hang', { timeoutMs: 300 }))).code).toBe('HTTP_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(3_000);
      // Cancelled once the server has the request: while it is in flight, not before it is sent.
      const controller = new AbortController();
      const hangs = seenA.filter((s) => s.path === '/hang').length;
      const pending = caught(client.json('GET', '/hang', { signal: controller.signal }));
      await until(() => seenA.filter((s) => s.path === '/hang').length > hangs, 'the server to receive the request');
      controller.abort();
      expect((await pending).code).toBe('CANCELLED');
    });
  });

  it('retries 503 on GET but not on POST', async () => {
    await withClient(pinned(), { retry: fastRetry }, async (client) => {
      expect(await client.json('GET', '/flaky')).toEqual({ ok: true, attempts: 3 });
      const error = await caught(client.json('POST', '/flaky', { json: {} }));
      expect(error.code).toBe('HTTP_STATUS');
      expect(error.details).toMatchObject({ status: 503 });
      expect(seenA.filter((s) => s.method === 'POST' && s.path === '/flaky')).toHaveLength(1);
    });
  });

  it('honours Retry-After on 503', async () => {
    await withClient(pinned(), { retry: fastRetry }, async (client) => {
      const started = Date.now();
      expect(await client.json('GET', '/busy')).toEqual({ ok: true });
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    });
  });

  it('429 is HTTP_RATE_LIMITED with its Retry-After, never retried', async () => {
    await withClient(pinned(), { retry: fastRetry }, async (client) => {
      const error = await caught(client.json('GET', '/limited'));
      expect(error.code).toBe('HTTP_RATE_LIMITED');
      expect(error.details).toMatchObject({ status: 429, retryAfterSeconds: 30 });
      expect(seenA.filter((s) => s.path === '/limited')).toHaveLength(1);
    });
  });

  it('keeps the bearer token out of error messages and details', async () => {
    await withClient(pinned(), { bearerToken: TOKEN }, async (client) => {
      const error = await caught(client.json('POST', '/reflect-auth'));
      expect(error.code).toBe('HTTP_STATUS');
      expect(JSON.stringify(error.toPayload())).not.toContain(TOKEN);
      expect(String(error.details?.serverMessage)).toContain('[redacted]');
    });
  });
});

describe('streaming', () => {
  const pinned = (): HttpsConnection => conn(serverA.url, { pinnedCertSha256: certA.sha256 });

  async function collect(stream: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it('downloads whole, then resumes with a Range request', async () => {
    await withClient(pinned(), {}, async (client) => {
      const progress: number[] = [];
      const whole = await client.download('/file', { onProgress: (p) => progress.push(p.bytes) });
      expect(whole).toMatchObject({ status: 200, offset: 0, total: FILE.length });
      expect((await collect(whole.stream)).equals(FILE)).toBe(true);
      expect(progress.at(-1)).toBe(FILE.length);

      const start = 300_000;
      const rest = await client.download('/file', { start });
      expect(rest).toMatchObject({ status: 206, offset: start, total: FILE.length });
      expect((await collect(rest.stream)).equals(FILE.subarray(start))).toBe(true);
      expect(seenA.filter((s) => s.path === '/file')).toHaveLength(2);
    });
  });

  it('hands the body on in blocks, not one TLS record (16 KiB) at a time', async () => {
    await withClient(pinned(), {}, async (client) => {
      const sizes: number[] = [];
      const download = await client.download('/file');
      for await (const chunk of download.stream) sizes.push((chunk as Buffer).length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(FILE.length);
      // The server wrote the MiB at once; TLS carries it in 16 KiB records.
      expect(Math.max(...sizes)).toBeGreaterThan(16 * 1024);
    });
  });

  it('passes on what came when the server pauses, before the body ends', async () => {
    await withClient(pinned(), {}, async (client) => {
      const download = await client.download('/trickle');
      const chunks = download.stream[Symbol.asyncIterator]();
      // The server sends the rest only after this: a client holding bytes back for a fuller block hangs here.
      const first = (await chunks.next()).value as Buffer;
      expect(first.equals(FILE.subarray(0, 100))).toBe(true);
      trickleGo?.();
      const rest: Buffer[] = [];
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) rest.push(next.value as Buffer);
      expect(Buffer.concat(rest).equals(FILE.subarray(100, 200))).toBe(true);
    });
  });

  it('a download abandoned while the server is silent stops at once', async () => {
    // An idle timeout far beyond the test's: only cancelling the body ends the wait.
    await withClient(conn(serverA.url, { pinnedCertSha256: certA.sha256, timeoutMs: 3_600_000 }), {}, async (client) => {
      const download = await client.download('/trickle');
      const chunks = download.stream[Symbol.asyncIterator]();
      expect(((await chunks.next()).value as Buffer).length).toBe(100);
      // The rest never comes (trickleGo is not called); returning must not wait for it.
      await chunks.return?.();
      expect(download.stream.destroyed).toBe(true);
    });
  });

  it('reports offset 0 when the server ignores the Range header', async () => {
    await withClient(pinned(), {}, async (client) => {
      const result = await client.download('/file-no-range', { start: 1000 });
      expect(result).toMatchObject({ status: 200, offset: 0, total: FILE.length });
      expect((await collect(result.stream)).length).toBe(FILE.length);
    });
  });

  it('uploads a stream and reports progress', async () => {
    await withClient(pinned(), {}, async (client) => {
      const data = randomBytes(2 * 1024 * 1024 + 7);
      let last = 0;
      const response = await client.upload('PUT', '/upload', Readable.from([data.subarray(0, 1_000_000), data.subarray(1_000_000)]), {
        contentType: 'application/octet-stream',
        onProgress: (p) => (last = p.bytes),
      });
      expect(response.json()).toEqual({ size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
      expect(last).toBe(data.length);
    });
  });
});

describe('cookies and CSRF', () => {
  it('fetches a token, sends it on unsafe methods only, and follows the session cookie through login', async () => {
    await withClient(conn(serverA.url, { pinnedCertSha256: certA.sha256 }), {}, async (client) => {
      await client.enableCsrf({ source: { endpoint: '/csrf', field: 'csrfToken' } });
      const before = seenA.length;
      expect(await client.json('POST', '/login', { json: { username: 'u', password: 'p' } })).toEqual({ success: true });
      expect(await client.json('GET', '/protected')).toEqual({ secret: 'data' });
      const [login, protectedGet] = seenA.slice(before);
      expect(login?.csrf).toMatch(/^[0-9a-f]{64}$/);
      expect(protectedGet?.csrf).toBeUndefined();
      // The cookie changed at login (session regenerated) and the jar followed it.
      expect(protectedGet?.cookie).not.toBe(login?.cookie);
    });
  });

  it('without CSRF the server refuses the login; the error carries the server code', async () => {
    await withClient(conn(serverA.url, { pinnedCertSha256: certA.sha256 }), {}, async (client) => {
      await client.json('GET', '/csrf');
      const error = await caught(client.json('POST', '/login', { json: {} }));
      expect(error.code).toBe('HTTP_AUTH_FAILED');
      expect(error.details).toMatchObject({ status: 403, serverCode: 'CSRF_TOKEN_REQUIRED' });
    });
  });
});
