/**
 * The Fleet page's first paint in the browser twin: the page's first script asks for the one
 * bootstrap call (system:bootstrap) before the app's bundle has arrived, and the rows show from
 * its answer alone, before any other call of the core is answered. Observed, not timed: the
 * bundle is held until the bootstrap request is seen (it deadlocks if only the bundle asked), and
 * every other API request is held until the rows are on screen. An installation named like an
 * HTML breakout (and tagged `</script><script>…`) is shown as its text and runs nothing.
 */
import type { Request, Route } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { screenshot } from '../harness/browser';
import { useCoreE2e } from '../harness/e2e-fleet';
import { fleetRow } from '../harness/fleet-row';
import { freePort } from '../harness/sshd';
import { createInProcessClient } from '../../src/main/contract/in-process';

// A name cannot hold a slash, so the breakout is its tag (shown on the row too).
const HOSTILE_TAG = '</script><script>alert(1)</script>';
const HOSTILE = '"><img src=x onerror=alert(2)>';
const NAMES = [HOSTILE, 'Archive box', 'Backup shelf'];

const e2e = useCoreE2e('first-paint', async (core) => {
  const client = createInProcessClient(core);
  // Nothing listens there: the installations are never reached before the rows show.
  const port = await freePort();
  for (const name of NAMES) {
    await client.call('installations:add', { name, app: 'directory', tags: name === HOSTILE ? [HOSTILE_TAG] : [], settings: { directory: '/srv/backups' }, ssh: { host: '127.0.0.1', port, auth: 'agent' } });
  }
  return { stop: async () => undefined };
});

const isBootstrap = (request: Request): boolean => new URL(request.url()).pathname === '/api/call/system%3Abootstrap';

describe('the Fleet page first paint', () => {
  it('shows the rows from the bootstrap the first script asked for, before the bundle arrived and before any other call is answered', async () => {
    const { page } = e2e;
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    let bootstrapSeen!: () => void;
    const bootstrapAsked = new Promise<void>((resolve) => (bootstrapSeen = resolve));
    const held: Route[] = [];
    const heldNames: string[] = [];
    let bootstraps = 0;
    let releasing = false;
    await page.route('**/assets/index-*.js', async (route) => {
      await bootstrapAsked;
      await route.continue();
    });
    await page.route('**/api/**', async (route) => {
      if (releasing) {
        await route.continue();
        return;
      }
      if (isBootstrap(route.request()) && bootstraps++ === 0) {
        bootstrapSeen();
        await route.continue();
        return;
      }
      heldNames.push(new URL(route.request().url()).pathname);
      held.push(route);
    });

    await page.goto(e2e.twin.url, { waitUntil: 'commit' });
    const list = page.getByRole('list', { name: 'Installations' });
    for (const name of NAMES) await fleetRow(page, name).waitFor();
    // The other first reads (jobs, vault, overview, the event stream…) were asked for and are still unanswered.
    expect(heldNames.length).toBeGreaterThan(0);
    expect(heldNames).not.toContain('/api/call/system%3Abootstrap');
    await expect.poll(() => list.locator(':scope > li').count()).toBe(NAMES.length);
    // Shown as text; nothing it names ran, and the page holds no script but our own files.
    expect(await fleetRow(page, HOSTILE).getByText(HOSTILE, { exact: true }).count()).toBe(1);
    expect(await fleetRow(page, HOSTILE).getByText(HOSTILE_TAG, { exact: true }).count()).toBe(1);
    expect(dialogs).toEqual([]);
    expect(await page.locator('script:not([src]), img').count()).toBe(0);
    await screenshot(page, 'e2e-first-paint-rows-before-other-calls');

    releasing = true;
    for (const route of held.splice(0)) await route.continue();
    await page.unrouteAll({ behavior: 'wait' });
    await page.locator('.link-indicator', { hasText: 'Connected' }).waitFor();
    expect(dialogs).toEqual([]);
  });
});
