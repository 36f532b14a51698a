/**
 * The setup every Fleet e2e file shares: an in-process core with a vault, the whole test fleet,
 * the twin serving the built renderer, and the system Chromium with one page (`useBrowserPage`).
 */
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Page } from 'playwright-core';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { startTwin, type Twin } from '../../src/main/contract/http-twin';
import { ensureVault, startTestFleet, type TestFleet } from '../fleet/index';
import { started, useBrowserPage } from './browser';
import { makeTestHome } from './home';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** What the tests reach after `beforeAll` ran (reading one earlier throws). */
export interface CoreE2e<F> {
  readonly core: Core;
  readonly fleet: F;
  readonly twin: Twin;
  readonly page: Page;
}

export type FleetE2e = CoreE2e<TestFleet>;

/** Sets the hooks up for one test file; `name` names its Lifeboat home and failure screenshots. */
export function useFleetE2e(name: string): FleetE2e {
  return useCoreE2e(name, startTestFleet);
}

/** The same setup with another fleet (one member, say): `startFleet` gets the core, the vault is made after it. */
export function useCoreE2e<F extends { stop(): Promise<void> }>(name: string, startFleet: (core: Core) => Promise<F>, options: { setupTimeoutMs?: number } = {}): CoreE2e<F> {
  const view = useBrowserPage(name);
  let core: Core | undefined;
  let fleet: F | undefined;
  let twin: Twin | undefined;

  beforeAll(async () => {
    core = await createCore({ home: makeTestHome(`e2e-${name}`), secretStore: new MemorySecretStore(`e2e ${name}`) });
    fleet = await startFleet(core);
    await ensureVault(core);
    twin = await startTwin(core, { rendererDir: path.join(ROOT, 'dist', 'renderer') });
  }, options.setupTimeoutMs ?? 60_000);

  afterAll(async () => {
    await twin?.close();
    await core?.close();
    await fleet?.stop();
  });

  return {
    get core() { return started(core, 'core'); },
    get fleet() { return started(fleet, 'fleet'); },
    get twin() { return started(twin, 'twin'); },
    get page() { return view.page; },
  };
}
