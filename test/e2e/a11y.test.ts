/**
 * axe-core on every page and dialog, light and dark, in the system Chromium against an in-process
 * core with the real test fleet: Fleet (with its row menu, the add/remove/pull dialogs), Vault (a
 * pulled snapshot's details, the forget and app-keys dialogs), Activity, Settings, both previews,
 * every restore wizard step and the report. Zero serious or critical violations anywhere.
 */
import { describe, expect, it } from 'vitest';
import { expectAccessible } from '../harness/axe';
import { useFleetE2e } from '../harness/e2e-fleet';
import { fleetRow, openRowMenu, rowAction } from '../harness/fleet-row';
import { createInProcessClient } from '../../src/main/contract/in-process';

const e2e = useFleetE2e('a11y');

const WS = (): string => e2e.fleet.installations.weavestream.name;
const MM = (): string => e2e.fleet.installations.meshmonitor.name;
const nav = (label: string) => e2e.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label });
const base = (): string => e2e.twin.url.split('#')[0]!;

describe('accessibility', () => {
  it('Fleet page, its row menu and its dialogs', async () => {
    await e2e.page.goto(e2e.twin.url);
    await fleetRow(e2e.page, WS()).getByRole('group', { name: `Backups of ${WS()}` }).getByTestId('newest-remote').getByText(/weavestream-postgres-.*\.dump/).waitFor({ timeout: 30_000 });
    await expectAccessible(e2e.page, 'fleet');

    await openRowMenu(e2e.page, WS());
    await expectAccessible(e2e.page, 'fleet-row-menu');
    await e2e.page.keyboard.press('Escape');

    await e2e.page.getByRole('button', { name: 'Add installation' }).click();
    const add = e2e.page.getByRole('dialog', { name: 'Add installation' });
    await add.waitFor();
    await expectAccessible(e2e.page, 'dialog-add');
    await add.getByRole('button', { name: 'Add installation' }).click();
    await add.getByText('Give the installation a name').waitFor();
    await expectAccessible(e2e.page, 'dialog-add-errors');
    await e2e.page.keyboard.press('Escape');
    await add.waitFor({ state: 'hidden' });

    await rowAction(e2e.page, MM(), `Edit ${MM()}`);
    await e2e.page.getByRole('dialog', { name: `Edit ${MM()}` }).waitFor();
    await expectAccessible(e2e.page, 'dialog-edit');
    await e2e.page.keyboard.press('Escape');

    await rowAction(e2e.page, MM(), `Remove ${MM()}`);
    const remove = e2e.page.getByRole('dialog', { name: `Remove ${MM()}?` });
    await remove.waitFor();
    await expectAccessible(e2e.page, 'dialog-remove');
    await remove.getByRole('button', { name: 'Cancel' }).click();

    await rowAction(e2e.page, WS(), `Choose a backup of ${WS()} to pull`);
    const pull = e2e.page.getByRole('dialog').first();
    await pull.getByRole('table').waitFor({ timeout: 30_000 });
    await expectAccessible(e2e.page, 'dialog-pull');
    await e2e.page.keyboard.press('Escape');
  });

  it('Vault page with a pulled snapshot, and its dialogs', async () => {
    const client = createInProcessClient(e2e.core);
    const { jobId } = await client.call('apps:pull', { installationId: e2e.fleet.installations.weavestream.id });
    await expect.poll(() => e2e.core.jobs.get(jobId).status, { timeout: 60_000 }).toBe('succeeded');
    const pulled = (await e2e.core.vault.snapshots({ installationId: e2e.fleet.installations.weavestream.id }))[0]!;

    await nav('Vault').click();
    await e2e.page.getByRole('button', { name: new RegExp(`^${pulled.archive!.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `) }).first().click();
    await e2e.page.getByRole('table', { name: 'Files in the snapshot' }).waitFor();
    await expectAccessible(e2e.page, 'vault');

    await e2e.page.getByRole('button', { name: `Forget snapshot ${pulled.shortId}…` }).click();
    const forget = e2e.page.getByRole('dialog', { name: `Forget snapshot ${pulled.shortId}?` });
    await forget.waitFor();
    await expectAccessible(e2e.page, 'dialog-forget');
    await forget.getByRole('button', { name: 'Cancel' }).click();

    await e2e.page.getByRole('button', { name: 'Recovery kit with app keys…' }).click();
    await e2e.page.getByRole('dialog').first().waitFor();
    await expectAccessible(e2e.page, 'dialog-app-keys-kit');
    await e2e.page.keyboard.press('Escape');
  });

  it('Activity and Settings', async () => {
    await nav('Activity').click();
    await e2e.page.getByRole('list', { name: 'Jobs' }).waitFor();
    await expectAccessible(e2e.page, 'activity');
    await nav('Settings').click();
    await e2e.page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    await expectAccessible(e2e.page, 'settings');
  });

  it('the preview of a vault snapshot and of a local file', async () => {
    const pulled = (await e2e.core.vault.snapshots({ installationId: e2e.fleet.installations.weavestream.id }))[0]!;
    await e2e.page.goto(`${base()}#/fleet/preview/${pulled.id}`);
    await e2e.page.getByTestId('integrity').waitFor({ timeout: 30_000 });
    await expectAccessible(e2e.page, 'preview-snapshot');
    await e2e.page.goto(`${base()}#/fleet/preview`);
    await e2e.page.locator('input[type="file"]').waitFor({ state: 'attached' });
    await expectAccessible(e2e.page, 'preview-file');
  });

  it('every step of the restore wizard, and the report', async () => {
    await e2e.page.goto(`${base()}#/fleet`);
    await rowAction(e2e.page, WS(), `Restore ${WS()}…`);
    const wizard = e2e.page.locator('.wizard');
    const next = wizard.getByRole('button', { name: 'Next' });
    await wizard.getByRole('list', { name: 'Vault snapshots' }).waitFor();
    await expectAccessible(e2e.page, 'restore-1-source');
    await next.click();
    await wizard.getByRole('radio', { name: WS() }).waitFor();
    await expectAccessible(e2e.page, 'restore-2-target');
    await next.click();
    await wizard.getByRole('radio', { name: /Full replace/ }).check();
    await expectAccessible(e2e.page, 'restore-3-mode');
    await next.click();
    await wizard.getByTestId('point-of-no-return').waitFor({ timeout: 30_000 });
    await expectAccessible(e2e.page, 'restore-4-plan');
    await next.click();
    await wizard.getByRole('checkbox', { name: 'Skip the safety pull' }).waitFor();
    await expectAccessible(e2e.page, 'restore-5-safety');
    await next.click();
    const typed = wizard.getByLabel(/to confirm/);
    await typed.fill(WS());
    await expectAccessible(e2e.page, 'restore-6-confirm');
    await wizard.getByRole('button', { name: `Restore ${WS()}` }).click();
    await wizard.getByRole('region', { name: 'Restore report' }).waitFor({ timeout: 90_000 });
    await expectAccessible(e2e.page, 'restore-8-report');
  });
});
