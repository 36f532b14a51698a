// Where the Electron window loads the UI from: `lifeboat-app://ui/…`, a standard, secure scheme
// served only from the built renderer directory (app-protocol.ts), never file://. Pure, so the
// path checks are unit-tested without Electron.
import path from 'node:path';

export const APP_SCHEME = 'lifeboat-app';
export const APP_HOST = 'ui';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** What the window loads. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/** Whether a URL is one of the UI's own pages (same scheme and host). */
export function isAppUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST;
  } catch {
    return false;
  }
}

/**
 * The file under `rendererDir` that a `lifeboat-app://ui/…` request names, or null when the request
 * is for another scheme or host, is malformed, or would leave the directory (`..`, encoded or not,
 * backslashes, NUL bytes, absolute paths).
 */
export function resolveAppFile(rendererDir: string, requestUrl: string): string | null {
  if (!isAppUrl(requestUrl)) return null;
  const { pathname } = new URL(requestUrl);
  let relative: string;
  try {
    relative = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (relative.includes('\0') || relative.includes('\\')) return null;
  relative = relative.replace(/^\/+/, '');
  if (relative === '') relative = 'index.html';
  if (relative.split('/').some((segment) => segment === '..')) return null;
  const root = path.resolve(rendererDir);
  const file = path.resolve(root, relative);
  return file.startsWith(root + path.sep) ? file : null;
}
