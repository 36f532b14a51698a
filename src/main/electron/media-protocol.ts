// The preview's player in Electron: `lifeboat-media://<ticket>` streams what the twin serves at
// /media/<ticket> (core/apps/media.ts), byte ranges included.
import { Readable } from 'node:stream';
import { protocol, type CustomScheme } from 'electron';
import { toErrorPayload } from '../../shared/errors';
import type { Core } from '../core';

export const MEDIA_SCHEME = 'lifeboat-media';

/** Registered before the app is ready (main.ts, one call for all schemes): it streams and may be fetched by media elements. */
export const MEDIA_SCHEME_PRIVILEGES: CustomScheme = { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, stream: true, supportFetchAPI: true } };

/** After the app is ready: serves tickets from the core. */
export function handleMediaScheme(core: Core): void {
  protocol.handle(MEDIA_SCHEME, async (request) => {
    const ticket = new URL(request.url).hostname;
    const match = /^bytes=(\d+)-(\d*)$/.exec(request.headers.get('range') ?? '');
    const range = match ? { start: Number(match[1]), ...(match[2] ? { end: Number(match[2]) } : {}) } : {};
    try {
      const media = await core.media.open(ticket, range, request.signal);
      const partial = media.ranged && match !== null;
      const headers: Record<string, string> = { 'Content-Type': media.contentType, 'Accept-Ranges': media.ranged ? 'bytes' : 'none' };
      if (partial) headers['Content-Range'] = `bytes ${media.start}-${media.end}/${media.size}`;
      return new Response(Readable.toWeb(media.stream) as ReadableStream, { status: partial ? 206 : 200, headers });
    } catch (error) {
      const payload = toErrorPayload(error);
      return new Response(payload.message, { status: payload.code === 'NOT_FOUND' ? 404 : 422 });
    }
  });
}
