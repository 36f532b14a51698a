/**
 * The setup every Fleet e2e file shares: an in-process core with a vault, the whole test fleet,
 * the twin serving the built renderer, and one Chromium page. Registers vitest's hooks; a failed
 * test leaves a screenshot, and any uncaught page error fails the test that caused it.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { startTwin, type Twin } from '../../src/main/contract/http-twin';
import { ensureVault, startTestFleet, type TestFleet } from '../fleet/index';
import { ensureBuilt, launchBrowser, screenshot, type TestBrowser } from './browser';
import { makeTestHome } from './home';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** What the tests reach after `beforeAll` ran (reading one earlier throws). */
export interface FleetE2e {
  readonly core: Core;
  readonly fleet: TestFleet;
  readonly twin: Twin;
  readonly page: Page;
}

/** Sets the hooks up for one test file; `name` names its Lifeboat home and failure screenshots. */
export function useFleetE2e(name: string): FleetE2e {
  let core: Core | undefined;
  let fleet: TestFleet | undefined;
  let twin: Twin | undefined;
  let browser: TestBrowser | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  const pageErrors: Error[] = [];

  beforeAll(async () => {
    ensureBuilt();
    core = await createCore({ home: makeTestHome(`e2e-${name}`), secretStore: new MemorySecretStore(`e2e ${name}`) });
    [fleet, browser] = await Promise.all([startTestFleet(core), launchBrowser()]);
    await ensureVault(core);
    twin = await startTwin(core, { rendererDir: path.join(ROOT, 'dist', 'renderer') });
    context = await browser.newContext();
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error));
  }, 60_000);

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail' && page) await screenshot(page, `e2e-failed-${name}-${task.name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}`);
    expect(pageErrors.map((e) => e.message)).toEqual([]);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await twin?.close();
    await core?.close();
    await fleet?.stop();
  });

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`The e2e ${what} is not started yet (use it inside a test).`);
    return value;
  };
  return {
    get core() { return ready(core, 'core'); },
    get fleet() { return ready(fleet, 'fleet'); },
    get twin() { return ready(twin, 'twin'); },
    get page() { return ready(page, 'page'); },
  };
}
