/**
 * Weavestream over HTTPS in the system Chromium, against an in-process core and twin with the
 * test fleet behind it (the fake Weavestream API on the real pg_dump files): the HTTPS-only
 * installation lists its backups with a ws_ key, "Pull newest" asks for the authenticator code,
 * the server refuses the same code for the step-up, a second code completes the pull; restoring
 * into it is explained as needing SSH before any wizard opens (row menu, snapshot preview).
 */
import { describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { screenshot } from '../harness/browser';
import { expectAccessible } from '../harness/axe';
import { useFleetE2e } from '../harness/e2e-fleet';
import { fleetRow, openRowMenu } from '../harness/fleet-row';

const e2e = useFleetE2e('ws-https');

const NAME = (): string => e2e.fleet.installations.weavestreamHttps.name;
const strip = (): Locator => e2e.page.getByRole('group', { name: `Backups of ${NAME()}` });
const pullNewest = (): Locator => fleetRow(e2e.page, NAME()).getByRole('button', { name: `Pull newest backup of ${NAME()}` });
const codeDialog = (): Locator => e2e.page.getByRole('dialog', { name: `Authenticator code for ${NAME()}` });

describe('Weavestream over HTTPS', () => {
  it('lists the backups with the API key and says pulls need an operator', async () => {
    await e2e.page.goto(e2e.twin.url);
    await strip().getByTestId('newest-remote').getByText(/weavestream-postgres-.*\.dump/).waitFor({ timeout: 20_000 });
    // The adapter's notes wait behind the "?" of the strip, not spelled out in the row.
    await strip().getByText('?', { exact: true }).click();
    const note = await strip().locator('.help-popover-body').innerText();
    expect(note).toMatch(/authenticator app/);
    expect(note).toMatch(/no restore endpoint/);
    // Restore… says before any wizard opens that a restore needs SSH: a command, not a link into the wizard.
    const menu = await openRowMenu(e2e.page, NAME());
    const restore = menu.getByRole('menuitem', { name: `Restore ${NAME()}…` });
    expect(await restore.evaluate((el) => el.tagName)).toBe('BUTTON');
    await restore.click();
    const explained = e2e.page.getByRole('dialog', { name: `Restore into ${NAME()}` });
    expect(await explained.innerText()).toMatch(/no restore endpoint\. Add an SSH connection/);
    await e2e.page.keyboard.press('Escape');
    await explained.waitFor({ state: 'hidden' });
    expect(await pullNewest().getAttribute('title')).toMatch(/authenticator/);
    // Listing with the read-only key logged nobody in.
    expect(e2e.fleet.weavestreamHttps.requests.filter((r) => r.path.endsWith('/auth/login'))).toHaveLength(0);
  });

  it('pulls the newest dump through the code dialog: login code, then a fresh code for the step-up', async () => {
    await pullNewest().click();
    const dialog = codeDialog();
    await dialog.waitFor({ timeout: 20_000 });
    expect(await dialog.innerText()).toMatch(/every time Lifeboat signs in/);
    const input = dialog.getByLabel('Authenticator code', { exact: true });
    expect(await input.evaluate((el) => el === document.activeElement)).toBe(true);

    // A malformed code is refused in the form, without a request.
    await input.fill('12 34');
    await dialog.getByRole('button', { name: 'Pull' }).click();
    await dialog.getByText(/Type the 6 digits/).waitFor();
    await screenshot(e2e.page, 'e2e-weavestream-https-code-login');
    await expectAccessible(e2e.page, 'code-dialog');

    await input.fill(e2e.fleet.weavestreamHttps.code());
    await dialog.getByRole('button', { name: 'Pull' }).click();
    // The fleet's Weavestream refuses a code twice: the step-up asks for the next one.
    await dialog.getByText(/will not take the same code again/).waitFor({ timeout: 20_000 });
    await screenshot(e2e.page, 'e2e-weavestream-https-code-reused');
    await dialog.getByLabel('Authenticator code', { exact: true }).fill(e2e.fleet.weavestreamHttps.code(1));
    await dialog.getByRole('button', { name: 'Pull' }).click();
    await dialog.waitFor({ state: 'hidden' });

    await strip().getByText('Pulled into snapshot').waitFor({ timeout: 30_000 });
    const snapshots = await e2e.core.vault.snapshots({ installationId: e2e.fleet.installations.weavestreamHttps.id });
    expect(snapshots).toHaveLength(1);
    await strip().getByTestId('newest-snapshot').getByText(snapshots[0]!.id.slice(0, 8)).waitFor();
    expect(e2e.fleet.weavestreamHttps.requests.filter((r) => r.path.endsWith('/auth/login'))).toHaveLength(1);
    await screenshot(e2e.page, 'e2e-weavestream-https-pulled');

    // Its snapshot's preview offers no Restore… into it, but the reason and the fix.
    await e2e.page.goto(`${e2e.twin.url.split('#')[0]}#/fleet/preview/${snapshots[0]!.id}`);
    const blocked = e2e.page.getByTestId('restore-blocked');
    await blocked.waitFor({ timeout: 20_000 });
    expect(await blocked.getByRole('link', { name: 'Edit connections…' }).getAttribute('href')).toBe(`#/fleet/edit/${e2e.fleet.installations.weavestreamHttps.id}`);
    expect(await e2e.page.locator('.page-toolbar').getByRole('link', { name: 'Restore…' }).count()).toBe(0);
    await e2e.page.getByRole('region', { name: 'Verdict' }).waitFor({ timeout: 30_000 });
    await screenshot(e2e.page, 'e2e-weavestream-https-preview-blocked');
  });
});
