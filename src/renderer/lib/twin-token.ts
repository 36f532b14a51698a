/**
 * The browser twin's session token. The CLI opens `http://127.0.0.1:PORT/#token=…`: a fragment
 * never reaches a server log or a Referer. We move it to sessionStorage (per tab, gone when the
 * tab closes; never a cookie, so no other page can ride on it) and wipe it from the address bar.
 */
const STORAGE_KEY = 'lifeboat.twin-token';

/** Reads the token from the URL fragment (once) or from this tab's sessionStorage. */
export function takeTwinToken(): string | null {
  const fromHash = /(?:^#|&)token=([^&]+)/.exec(window.location.hash)?.[1];
  if (fromHash) {
    const token = decodeURIComponent(fromHash);
    window.sessionStorage.setItem(STORAGE_KEY, token);
    // Keep path and query; drop the fragment so the token is not in history or bookmarks.
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    return token;
  }
  return window.sessionStorage.getItem(STORAGE_KEY);
}

/** Forgets a token the core refused, so a reload asks for a fresh link. */
export function forgetTwinToken(): void {
  window.sessionStorage.removeItem(STORAGE_KEY);
}
