// Serves the UI to the window as `lifeboat-app://ui/…` (app-url.ts): only files under the built
// renderer directory, each with the renderer's CSP. A standard, secure scheme gives the page an
// origin of its own instead of file://'s shared one.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { protocol, type CustomScheme } from 'electron';
import { RENDERER_CSP, RENDERER_MIME } from '../contract/http-twin';
import { APP_SCHEME, resolveAppFile } from './app-url';

/** Registered before the app is ready (together with the media scheme, in one call). */
export const APP_SCHEME_PRIVILEGES: CustomScheme = { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } };

/** After the app is ready: answers lifeboat-app requests from `rendererDir`, 404 for anything else. */
export function handleAppScheme(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = request.method === 'GET' ? resolveAppFile(rendererDir, request.url) : null;
    if (file === null) return new Response('Not found.', { status: 404 });
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return new Response('Not found.', { status: 404 });
    }
    return new Response(new Uint8Array(body), {
      status: 200,
      headers: {
        'Content-Type': RENDERER_MIME[path.extname(file)] ?? 'application/octet-stream',
        'Content-Security-Policy': RENDERER_CSP,
        'X-Content-Type-Options': 'nosniff',
      },
    });
  });
}
