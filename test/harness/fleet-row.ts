/**
 * Fleet rows in e2e tests: each row has one primary button and a "⋯" menu with the rest, so an
 * action is either that button or an item of the menu.
 */
import type { Locator, Page } from 'playwright-core';

/** The Fleet list item of an installation (named by its heading). */
export function fleetRow(page: Page, installation: string): Locator {
  return page.getByRole('listitem', { name: installation, exact: true });
}

/** Opens the row's "⋯" menu and returns it. */
export async function openRowMenu(page: Page, installation: string): Promise<Locator> {
  await fleetRow(page, installation).getByRole('button', { name: `More actions for ${installation}` }).click();
  const menu = page.getByRole('menu', { name: `More actions for ${installation}` });
  await menu.waitFor();
  return menu;
}

/** Clicks the action with this accessible name: the row's primary button, or else the menu item. */
export async function rowAction(page: Page, installation: string, name: string): Promise<void> {
  // Menu items have the role menuitem, so a button of this name is the primary one.
  const direct = fleetRow(page, installation).locator('.fleet-actions').getByRole('button', { name, exact: true });
  if ((await direct.count()) > 0) {
    await direct.click();
    return;
  }
  const menu = await openRowMenu(page, installation);
  await menu.getByRole('menuitem', { name, exact: true }).click();
}
