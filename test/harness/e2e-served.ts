/**
 * The setup the e2e files share that drive a real `lifeboat serve` child process: the system
 * Chromium with one page (`useBrowserPage`) and the served Lifeboat. A file registers its own extra
 * servers in its own hooks.
 */
import { afterAll, beforeAll } from 'vitest';
import { startLifeboat, started, useBrowserPage, type BrowserPage, type ServedLifeboat } from './browser';

/** The browser side plus the served Lifeboat (reading one before `beforeAll` ran throws). */
export interface ServedE2e extends BrowserPage {
  readonly lifeboat: ServedLifeboat;
}

/** Sets the hooks up for one test file; `name` names its failure screenshots. */
export function useServedE2e(name: string): ServedE2e {
  const view = useBrowserPage(name);
  let lifeboat: ServedLifeboat | undefined;
  beforeAll(async () => {
    lifeboat = await startLifeboat();
  });
  afterAll(async () => {
    await lifeboat?.stop();
  });
  return {
    get browser() { return view.browser; },
    get context() { return view.context; },
    get page() { return view.page; },
    get lifeboat() { return started(lifeboat, 'served Lifeboat'); },
  };
}
