// The only addresses the Electron shell hands to the operating system's browser
// (shell.openExternal): pages Lifeboat itself links to. Anything else a page asks to open, a
// server's link in an error included, stays closed. Pure, so the allowlist is unit-tested.

/** Where the Help menu's "Lifeboat on the web" goes. */
export const PROJECT_URL = 'https://github.com/';

/** Every external page Lifeboat's own UI and menus link to, as `new URL(…).href` spells them. */
export const EXTERNAL_LINKS: ReadonlySet<string> = new Set([
  PROJECT_URL,
  // The recovery kit's format (src/renderer/features/vault/app-keys-kit.tsx).
  'https://age-encryption.org/',
]);

/** Whether `url` is exactly one of EXTERNAL_LINKS (https, no credentials, same path and query). */
export function isAllowedExternalUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'https:' || parsed.username !== '' || parsed.password !== '') return false;
  return EXTERNAL_LINKS.has(parsed.href);
}
