// The Fleet page at 200 installations (#14): every app kind from the many-fleet (one sshd, one
// HTTPS endpoint per app), refreshed before the page opens. The list is virtualised (only rows
// near the viewport are in the DOM), filters and search narrow it to what the core's data says,
// grouping heads each group with its count, the keyboard walks the rows, and tags are edited in
// the form. Screenshots at 1280×800, light and dark.
import { describe, expect, it } from 'vitest';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { Installation } from '../../src/shared/installations';
import { startManyFleet, type ManyFleet } from '../fleet/many';
import { screenshot } from '../harness/browser';
import { useCoreE2e } from '../harness/e2e-fleet';
import { fleetRow } from '../harness/fleet-row';

const TOTAL = 200;
const installations: Installation[] = [];

const e2e = useCoreE2e<ManyFleet>(
  'fleet-200',
  async (core) => {
    const fleet = await startManyFleet({ total: TOTAL });
    try {
      const client = createInProcessClient(core);
      for (const input of fleet.inputs) installations.push(await client.call('installations:add', input));
      for (const jobId of await core.fleet.refresh()) await core.jobs.wait(jobId);
    } catch (error) {
      await fleet.stop();
      throw error;
    }
    return fleet;
  },
  { setupTimeoutMs: 420_000 },
);

const list = () => e2e.page.getByRole('list', { name: 'Installations' });
const renderedRows = () => list().locator(':scope > li.fleet-item');
const renderedNames = async (): Promise<string[]> => list().locator(':scope > li.fleet-item .fleet-name-text strong').allInnerTexts();
const shownCount = () => e2e.page.locator('.fleet-count');
const byName = (a: string, b: string): number => a.localeCompare(b, undefined, { numeric: true });

describe('a fleet of 200', () => {
  it('shows 200 installations with only the rows near the viewport in the page, light and dark', async () => {
    await e2e.page.setViewportSize({ width: 1280, height: 800 });
    await e2e.page.goto(e2e.twin.url);
    await shownCount().filter({ hasText: `${TOTAL} shown` }).waitFor({ timeout: 30_000 });
    expect(await e2e.page.getByRole('group', { name: 'Fleet summary' }).getByRole('button', { name: /installations/ }).innerText()).toBe(`${TOTAL} installations`);
    expect(await list().getAttribute('data-total')).toBe(String(TOTAL));
    const rendered = await renderedRows().count();
    expect(rendered).toBeGreaterThan(3);
    expect(rendered).toBeLessThan(40);
    // The column scrolls, never the page (rows' own hidden bits stay inside them).
    expect(await e2e.page.evaluate(() => document.documentElement.scrollHeight)).toBeLessThanOrEqual(800);
    // Every one is online and never backed up, so the most-urgent order falls back to the name.
    const overview = await createInProcessClient(e2e.core).call('fleet:overview', {});
    expect(overview.filter((entry) => entry.status?.state === 'online')).toHaveLength(TOTAL);
    const names = installations.map((i) => i.name).sort(byName);
    expect(await renderedNames()).toEqual(names.slice(0, rendered));
    for (const scheme of ['light', 'dark'] as const) {
      await e2e.page.emulateMedia({ colorScheme: scheme });
      await screenshot(e2e.page, `e2e-fleet-200-${scheme}`);
    }
    await e2e.page.emulateMedia({ colorScheme: 'light' });

    // Scrolled to the end, the last rows are the ones in the page.
    await e2e.page.locator('.main-column').evaluate((column) => column.scrollTo(0, column.scrollHeight));
    await fleetRow(e2e.page, names.at(-1)!).waitFor();
    expect((await renderedNames()).at(-1)).toBe(names.at(-1));
    expect(await renderedRows().count()).toBeLessThan(40);
    await e2e.page.locator('.main-column').evaluate((column) => column.scrollTo(0, 0));
  });

  it('narrows the list by app, tag, state and search to exactly the installations the core has so', async () => {
    const appSelect = e2e.page.getByLabel('App', { exact: true });
    const tagSelect = e2e.page.getByLabel('Tag', { exact: true });
    await appSelect.selectOption('nojoin');
    await tagSelect.selectOption('customer A');
    const expected = installations.filter((i) => i.app === 'nojoin' && i.tags.includes('customer A')).map((i) => i.name).sort(byName);
    expect(expected.length).toBeGreaterThan(5);
    await shownCount().filter({ hasText: `${expected.length} of ${TOTAL} shown` }).waitFor();
    expect(await renderedNames()).toEqual(expected);
    await screenshot(e2e.page, 'e2e-fleet-200-filtered');

    await e2e.page.getByLabel('State', { exact: true }).selectOption('offline');
    await e2e.page.getByText('None right now.').waitFor();
    expect(await renderedRows().count()).toBe(0);
    await e2e.page.getByRole('button', { name: 'Clear filters' }).click();
    await shownCount().filter({ hasText: `${TOTAL} shown` }).waitFor();

    const one = installations.find((i) => i.app === 'loomio' && i.name.endsWith('007'))!;
    await e2e.page.getByRole('searchbox', { name: 'Search installations' }).fill(one.name);
    await shownCount().filter({ hasText: `1 of ${TOTAL} shown` }).waitFor();
    expect(await renderedNames()).toEqual([one.name]);
    await e2e.page.getByRole('searchbox', { name: 'Search installations' }).fill('');
    await shownCount().filter({ hasText: `${TOTAL} shown` }).waitFor();
  });

  it('groups by app with a heading and count per group', async () => {
    await e2e.page.getByLabel('Group', { exact: true }).selectOption('app');
    const first = list().locator(':scope > li.fleet-group').first();
    await first.waitFor();
    const modules = await createInProcessClient(e2e.core).call('apps:modules', {});
    const labels = [...new Set(installations.map((i) => i.app))].map((kind) => modules.find((m) => m.kind === kind)!.label).sort((a, b) => a.localeCompare(b));
    const firstKind = modules.find((m) => m.label === labels[0])!.kind;
    expect((await first.innerText()).replace(/\s+/g, ' ')).toBe(`${labels[0]} · ${installations.filter((i) => i.app === firstKind).length}`);
    // The first group's rows follow its heading, all of its kind.
    const firstRows = installations.filter((i) => i.app === firstKind).map((i) => i.name).sort(byName);
    expect((await renderedNames()).slice(0, 3)).toEqual(firstRows.slice(0, 3));
    await screenshot(e2e.page, 'e2e-fleet-200-grouped');
    await e2e.page.getByLabel('Group', { exact: true }).selectOption('none');
  });

  it('walks the rows with the keyboard: one tab stop, arrows and End move (scrolling the row in), Enter opens its settings, Shift+F10 its menu', async () => {
    const names = installations.map((i) => i.name).sort(byName);
    await e2e.page.getByRole('searchbox', { name: 'Search installations' }).focus();
    // Tab goes through the toolbar to the list's one tab stop: the first row.
    for (let i = 0; i < 12; i++) {
      await e2e.page.keyboard.press('Tab');
      if (await e2e.page.evaluate(() => document.activeElement?.classList.contains('fleet-item'))) break;
    }
    const focusedName = () => e2e.page.evaluate(() => (document.activeElement?.closest('li.fleet-item')?.querySelector('.fleet-name-text strong') as HTMLElement | null)?.innerText ?? null);
    expect(await focusedName()).toBe(names[0]);
    await e2e.page.keyboard.press('ArrowDown');
    await e2e.page.keyboard.press('ArrowDown');
    expect(await focusedName()).toBe(names[2]);
    await e2e.page.keyboard.press('ArrowUp');
    expect(await focusedName()).toBe(names[1]);
    await e2e.page.keyboard.press('End');
    await e2e.page.waitForFunction((name) => (document.activeElement?.querySelector('.fleet-name-text strong') as HTMLElement | null)?.innerText === name, names.at(-1));
    const box = await e2e.page.evaluate(() => document.activeElement!.getBoundingClientRect().bottom);
    expect(box).toBeLessThanOrEqual(800);
    await screenshot(e2e.page, 'e2e-fleet-200-keyboard-end');
    await e2e.page.keyboard.press('Home');
    await e2e.page.waitForFunction((name) => (document.activeElement?.querySelector('.fleet-name-text strong') as HTMLElement | null)?.innerText === name, names[0]);

    await e2e.page.keyboard.press('Shift+F10');
    const menu = e2e.page.getByRole('menu', { name: `More actions for ${names[0]}` });
    await menu.waitFor();
    expect(await e2e.page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('menuitem');
    await e2e.page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });

    await e2e.page.locator(`li.fleet-item[data-line-key]`).first().focus();
    await e2e.page.keyboard.press('Enter');
    const dialog = e2e.page.getByRole('dialog');
    await dialog.waitFor();
    expect(await dialog.getByLabel('Name', { exact: true }).inputValue()).toBe(names[0]);
    await e2e.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('edits tags in the form; the row shows them and the Tag filter offers the new one', async () => {
    const target = installations.map((i) => i.name).sort(byName)[1]!;
    await e2e.page.locator('li.fleet-item').filter({ has: e2e.page.getByText(target, { exact: true }) }).getByRole('button', { name: `More actions for ${target}` }).click();
    await e2e.page.getByRole('menuitem', { name: `Edit ${target}` }).click();
    const dialog = e2e.page.getByRole('dialog');
    await dialog.getByLabel('Tags').fill('customer Z, production, Production');
    await dialog.getByRole('button', { name: /^Save/ }).first().click();
    await dialog.waitFor({ state: 'detached' });
    await fleetRow(e2e.page, target).locator('.fleet-tag', { hasText: 'customer Z' }).waitFor();
    const stored = await createInProcessClient(e2e.core).call('installations:list', {});
    expect(stored.find((i) => i.name === target)!.tags).toEqual(['customer Z', 'production']);
    await e2e.page.getByLabel('Tag', { exact: true }).selectOption('customer Z');
    await shownCount().filter({ hasText: `1 of ${TOTAL} shown` }).waitFor();
    expect(await renderedNames()).toEqual([target]);
  });
});
