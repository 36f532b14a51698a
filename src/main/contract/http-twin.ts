import http from 'node:http';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, rm } from 'node:fs/promises';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo, Socket } from 'node:net';
import { LifeboatError, toErrorPayload, type ErrorCode, type ErrorPayload, type Result } from '../../shared/errors';
import type { Core } from '../core';
import { diskFullError, isDiskFull } from '../fs/disk-full';
import { TwinUploads } from './twin-uploads';

/** Content Security Policy of the UI: no remote code, no inline script, no framing. */
export const RENDERER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  // The preview's player: /media/<ticket> in the twin, the lifeboat-media scheme in Electron.
  "media-src 'self' lifeboat-media:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

export const RENDERER_MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

const MAX_COMMAND_BODY = 1024 * 1024;

/**
 * A built file whose name holds its content's hash (vite's `assets/<name>-<8 characters>.<ext>`):
 * it never changes under that name, so a reload takes it, and its compiled code, from the cache.
 * index.html (which names them) is revalidated every time. They hold no data, only the UI's code.
 */
const IMMUTABLE_ASSET = /^assets\/[\w.-]+-[\w-]{8}\.[a-z0-9]+(\.map)?$/;

export interface TwinOptions {
  port?: number;
  /** Directory of the built renderer (dist/renderer). */
  rendererDir: string;
  /** Fixed token (tests); a random one per start otherwise. */
  token?: string;
}

export interface Twin {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/**
 * The browser twin: the same UI and contract as the desktop app, served on 127.0.0.1 only.
 * Every API request must carry the per-start token in the Authorization header (never a
 * cookie, so another site cannot ride on it), and a browser Origin other than our own is
 * refused; the Host header is checked too, which defeats DNS rebinding.
 */
export async function startTwin(core: Core, options: TwinOptions): Promise<Twin> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const tokenBuffer = Buffer.from(token);
  const sockets = new Set<Socket>();
  let port = 0;
  const uploads = new TwinUploads(core.home.stagingDir);
  // What a crashed twin staged: no page can name those uploads any more (its token died with it).
  await uploads.sweepAbandoned();

  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A client's mistake (a malformed address, JSON that does not parse, a body too large) is a 4xx, never INTERNAL.
      const payload: ErrorPayload = error instanceof URIError ? { code: 'INVALID_INPUT', message: `The address ${JSON.stringify((req.url ?? '').slice(0, 200))} is not valid percent-encoding.` } : toErrorPayload(error);
      if (!res.headersSent) sendJson(res, payload.code === 'INVALID_INPUT' ? 400 : payload.code === 'NOT_FOUND' ? 404 : payload.code === 'DISK_FULL' ? 507 : 500, { ok: false, error: payload });
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (!allowedHosts().has(req.headers.host ?? '')) {
      sendJson(res, 403, failure('FORBIDDEN_ORIGIN', `Host "${req.headers.host ?? ''}" is not this Lifeboat; open it at 127.0.0.1.`));
      return;
    }
    if (req.method === 'GET' && url.pathname.startsWith('/media/')) {
      // The ticket in the path is the capability (an <audio> element cannot send the token).
      await serveMedia(core, url.pathname.slice('/media/'.length), req, res);
      return;
    }
    if (!url.pathname.startsWith('/api/')) {
      await serveStatic(url.pathname, res);
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedHosts().has(origin.replace(/^http:\/\//, ''))) {
      sendJson(res, 403, failure('FORBIDDEN_ORIGIN', `Requests from ${origin} are not allowed.`));
      return;
    }
    if (!hasToken(req)) {
      sendJson(res, 401, failure('UNAUTHORIZED', 'Missing or wrong access token. Open the address Lifeboat printed when it started.'));
      return;
    }
    if (req.method === 'POST' && url.pathname.startsWith('/api/call/')) {
      const name = decodeURIComponent(url.pathname.slice('/api/call/'.length));
      const body = await readJson(req);
      sendJson(res, 200, await core.dispatch(name, body, { transport: 'http-twin' }));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/events') {
      streamEvents(req, res);
      return;
    }
    if (req.method === 'GET' && url.pathname.startsWith('/api/export/')) {
      await serveExport(core, decodeURIComponent(url.pathname.slice('/api/export/'.length)), res);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/api/upload') {
      sendJson(res, 200, await receiveUpload(req, url.searchParams.get('name') ?? 'upload'));
      return;
    }
    sendJson(res, 404, failure('NOT_FOUND', `No API route ${req.method} ${url.pathname}.`));
  }

  function hasToken(req: http.IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match?.[1]) return false;
    const given = Buffer.from(match[1]);
    return given.length === tokenBuffer.length && timingSafeEqual(given, tokenBuffer);
  }

  function streamEvents(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    const unsubscribe = core.events.onAny((name, payload) => {
      res.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  }

  async function receiveUpload(req: http.IncomingMessage, name: string): Promise<Result<unknown>> {
    // Staged files a preview (or an abandoned import) left behind go after a day.
    await core.vault.sweepStaged();
    const uploadId = randomUUID();
    const target = path.join(core.home.stagingDir, uploadId);
    try {
      await uploads.add(uploadId);
      await pipeline(req, createWriteStream(target, { mode: 0o600 }));
    } catch (error) {
      await rm(target, { force: true });
      const length = Number(req.headers['content-length']);
      if (isDiskFull(error)) throw await diskFullError(core.home.stagingDir, `stage the upload of "${path.basename(name)}"`, error, Number.isFinite(length) && length > 0 ? length : undefined);
      throw new LifeboatError('INVALID_INPUT', `The upload of "${name}" was interrupted.`, { cause: error });
    }
    const { size } = await stat(target);
    return { ok: true, data: { uploadId, name: path.basename(name), size } };
  }

  async function serveStatic(pathname: string, res: http.ServerResponse): Promise<void> {
    const relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const file = path.resolve(options.rendererDir, relative);
    if (!file.startsWith(path.resolve(options.rendererDir) + path.sep)) {
      sendJson(res, 404, failure('NOT_FOUND', 'Not found.'));
      return;
    }
    let size: number;
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a file');
      size = info.size;
    } catch {
      if (relative === 'index.html') {
        res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('The UI is not built yet: run `npm run build` (or `npm run serve`, which builds first).\n');
        return;
      }
      sendJson(res, 404, failure('NOT_FOUND', `No file ${pathname}.`));
      return;
    }
    res.writeHead(200, {
      'Content-Type': RENDERER_MIME[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': size,
      'Content-Security-Policy': RENDERER_CSP,
      'Cache-Control': IMMUTABLE_ASSET.test(relative) ? 'max-age=31536000, immutable' : 'no-cache',
    });
    await pipeline(createReadStream(file), res);
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/#token=${token}`,
    port,
    token,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // The page that could name them is gone: what it staged and did not import goes too.
      await uploads.removeAll();
    },
  };
}

/** `Range: bytes=a-b` / `bytes=a-` as a start and end (inclusive); other forms serve the whole member. */
function parseRange(header: string | undefined): { start?: number; end?: number } {
  const match = /^bytes=(\d+)-(\d*)$/.exec(header?.trim() ?? '');
  if (!match) return {};
  return { start: Number(match[1]), ...(match[2] ? { end: Number(match[2]) } : {}) };
}

/** Streams a media ticket's member, with 206 and Content-Range for a byte range. */
async function serveMedia(core: Core, ticket: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  const range = parseRange(req.headers.range);
  let media: Awaited<ReturnType<Core['media']['open']>>;
  try {
    media = await core.media.open(ticket, range, controller.signal);
  } catch (error) {
    const payload = toErrorPayload(error);
    const badRange = payload.code === 'INVALID_INPUT' && payload.details?.start !== undefined;
    sendJson(res, payload.code === 'NOT_FOUND' ? 404 : badRange ? 416 : payload.code === 'INVALID_INPUT' ? 400 : 422, { ok: false, error: payload });
    return;
  }
  const partial = media.ranged && range.start !== undefined;
  const headers: http.OutgoingHttpHeaders = { 'Content-Type': media.contentType, 'Cache-Control': 'no-store', 'Accept-Ranges': media.ranged ? 'bytes' : 'none' };
  if (media.ranged) headers['Content-Length'] = media.size === 0 ? 0 : media.end - media.start + 1;
  if (partial) headers['Content-Range'] = `bytes ${media.start}-${media.end}/${media.size}`;
  res.writeHead(partial ? 206 : 200, headers);
  await pipeline(media.stream, res).catch(() => res.destroy());
}

/** A snapshot's archive as a download with its original file name (Export file on the Vault page). */
async function serveExport(core: Core, snapshotId: string, res: http.ServerResponse): Promise<void> {
  if (!/^[0-9a-f]{4,64}$/.test(snapshotId)) {
    sendJson(res, 400, failure('INVALID_INPUT', 'A snapshot id is 4 to 64 hex digits.'));
    return;
  }
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  const archive = await core.vault.exportArchive(snapshotId, controller.signal);
  const ascii = archive.name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': archive.size,
    'Content-Disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(archive.name)}`,
    'Cache-Control': 'no-store',
  });
  await pipeline(archive.stream, res).catch(() => res.destroy());
}

function failure(code: ErrorCode, message: string): Result<never> {
  return { ok: false, error: { code, message } };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_COMMAND_BODY) throw new LifeboatError('INVALID_INPUT', 'Command input is larger than 1 MiB.');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new LifeboatError('INVALID_INPUT', 'Command input is not valid JSON.', { cause: error });
  }
}
