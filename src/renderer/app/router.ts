import { useSyncExternalStore } from 'react';

/** Pages live in the URL fragment (`#/activity`): works on file:// in Electron and survives reloads. */
function currentPath(): string {
  const match = /^#\/([a-z-]*)/.exec(window.location.hash);
  return match?.[1] ?? '';
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

/** The current page id from the fragment ('' when none). */
export function useRoutePath(): string {
  return useSyncExternalStore(subscribe, currentPath);
}

/** The href of a page, for <a> elements. */
export const hrefOf = (id: string): string => `#/${id}`;
