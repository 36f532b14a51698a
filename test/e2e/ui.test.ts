/**
 * The renderer in the system Chromium against a real `lifeboat serve`: first-run empty state,
 * adding an installation (client-side validation, then a live connection status over the event
 * stream), edit, theme, keyboard reach, and the twin's token checks.
 */
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { screenshot, startLifeboat, type ServedLifeboat, twinCall } from '../harness/browser';
import { useServedE2e } from '../harness/e2e-served';
import { rowAction } from '../harness/fleet-row';
import { testSecret } from '../harness/secrets';

let keyDir: string;
/** A real, unencrypted ed25519 key, so tests get past reading the key to the network step. */
let keyFile: string;

/** A loopback port nothing listens on, so a connection test fails fast with "refused". */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const bodyBackground = (p: Page): Promise<string> => p.evaluate(() => getComputedStyle(document.body).backgroundColor);

const e2e = useServedE2e('ui');

beforeAll(async () => {
  keyDir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-e2e-key-'));
  keyFile = path.join(keyDir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-e2e', '-f', keyFile]);
});

afterAll(async () => {
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

describe('first run', () => {
  it('shows the empty fleet and says what to do first; the token leaves the address bar', async () => {
    await e2e.page.goto(e2e.lifeboat.url);
    await e2e.page.getByRole('heading', { name: 'Add your first installation' }).waitFor();
    const text = await e2e.page.locator('.empty-state').innerText();
    expect(text).toMatch(/host/);
    expect(text).toMatch(/key/);
    expect(text).toMatch(/token/);
    expect(new URL(e2e.page.url()).hash).toBe('');
    expect(await e2e.page.evaluate(() => sessionStorage.getItem('lifeboat.twin-token'))).toBe(e2e.lifeboat.token);
    expect(await e2e.page.evaluate(() => document.cookie)).toBe('');
    await e2e.page.locator('.link-live').waitFor();
    // The header names where secrets live (whatever this machine offers).
    await e2e.page.locator('.secrets-badge').waitFor();
    await screenshot(e2e.page, 'e2e-fleet-empty');
  });

  it('reaches every nav item with the keyboard, in order, and opens a page with Enter', async () => {
    await e2e.page.goto(`${e2e.lifeboat.origin}/`);
    await e2e.page.locator('.link-live').waitFor();
    const reached: string[] = [];
    for (let i = 0; i < 12 && reached.length < 4; i++) {
      await e2e.page.keyboard.press('Tab');
      const label = await e2e.page.evaluate(() => (document.activeElement?.classList.contains('nav-item') ? document.activeElement.textContent : null));
      if (label) reached.push(label.trim());
    }
    expect(reached).toEqual(['Fleet', 'Vault', 'Activity', 'Settings']);
    // Focus is visible: the focused nav item draws an outline.
    const outline = await e2e.page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');
    await e2e.page.keyboard.press('Enter');
    await e2e.page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    expect(await e2e.page.locator('[aria-current="page"]').innerText()).toBe('Settings');
  });
});

describe('adding an installation', () => {
  let port: number;

  it('shows the schema’s errors next to the fields, and Esc closes the dialog', async () => {
    await e2e.page.goto(`${e2e.lifeboat.origin}/#/fleet`);
    await e2e.page.getByRole('button', { name: 'Add installation' }).click();
    const dialog = e2e.page.getByRole('dialog', { name: 'Add installation' });
    await dialog.waitFor();
    await e2e.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    await e2e.page.getByRole('button', { name: 'Add installation' }).click();
    await dialog.waitFor();
    // Focus starts on the first field and Tab / Shift+Tab never leave the dialog.
    expect(await e2e.page.evaluate(() => document.activeElement?.id)).toBe(await dialog.getByLabel('Name', { exact: true }).getAttribute('id'));
    for (const key of [...Array<string>(40).fill('Tab'), ...Array<string>(5).fill('Shift+Tab')]) {
      await e2e.page.keyboard.press(key);
      expect(await e2e.page.evaluate(() => Boolean(document.activeElement?.closest('dialog')))).toBe(true);
    }
    await dialog.getByRole('button', { name: 'Add installation' }).click();
    await dialog.getByText('Give the installation a name').waitFor();
    await dialog.getByText('Enter the server’s host name or address').waitFor();
    // Focus moved to the first field that needs attention.
    expect(await e2e.page.evaluate(() => document.activeElement?.getAttribute('aria-invalid'))).toBe('true');
    expect(await dialog.getByLabel('Name', { exact: true }).getAttribute('aria-invalid')).toBe('true');

    await dialog.getByLabel('Name', { exact: true }).fill('Office / files');
    await dialog.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await dialog.getByLabel('Port', { exact: true }).fill('twenty-two');
    await dialog.getByRole('button', { name: 'Add installation' }).click();
    await dialog.getByText('A name cannot hold slashes or control characters').waitFor();
    await dialog.getByText('port must be a whole number').waitFor();
    expect(await dialog.getByText('Enter the server’s host name or address').count()).toBe(0);
    await screenshot(e2e.page, 'e2e-add-validation');
  });

  it('adds it, lists it, and shows the live status the connection test produces', async () => {
    port = await closedPort();
    const dialog = e2e.page.getByRole('dialog', { name: 'Add installation' });
    await dialog.getByLabel('Name', { exact: true }).fill('Office files');
    await dialog.getByLabel('App', { exact: true }).selectOption({ label: 'Folder of archives' });
    await dialog.getByLabel('Port', { exact: true }).fill(String(port));
    await dialog.getByLabel('User', { exact: true }).fill('backup');
    await dialog.getByLabel('Private key file').fill(keyFile);
    // The settings are the module's own fields, with its help; a relative folder is refused before sending.
    await dialog.getByLabel('Folder on the server').fill('srv/backups');
    await dialog.getByRole('button', { name: 'Add installation' }).click();
    await dialog.locator('.field-error', { hasText: 'Folder on the server must be an absolute path on the server' }).waitFor();
    await dialog.getByLabel('Folder on the server').fill('/srv/backups');
    await dialog.getByRole('button', { name: 'Add installation' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const row = e2e.page.getByRole('listitem', { name: 'Office files' });
    await row.waitFor();
    expect(await row.locator('.transport-line').innerText()).toContain(`backup@127.0.0.1:${port}`);
    expect(await row.getByRole('img', { name: 'Folder of archives' }).count()).toBe(1);
    // Nothing listens on the port: the test job fails and the status event turns the pill red.
    await row.locator('[data-state="offline"]').waitFor({ timeout: 15_000 });
    await row.getByText('Connection test failed').waitFor();
    // The refusal is said once in the row (as its last error), and its code stays out of the text.
    expect(await row.locator('.test-summary').getAttribute('data-code')).toBe('SSH_CONNECTION_REFUSED');
    expect(await row.innerText()).not.toContain('SSH_CONNECTION_REFUSED');
    await expect.poll(async () => (await row.innerText()).split('refused a connection on port').length - 1).toBe(1);
    expect(await row.locator('.fleet-checked').innerText()).not.toBe('never');
    await screenshot(e2e.page, 'e2e-fleet-one-offline');

    // The core really has it, with the settings the form sent.
    const listed = await callTwin('installations:list', {});
    expect(listed).toMatchObject({ ok: true, data: [{ name: 'Office files', app: 'directory', settings: { directory: '/srv/backups' }, ssh: { host: '127.0.0.1', port, user: 'backup', auth: 'key', keyFile } }] });
  });

  it('still lists it after a reload (the token stays in this tab’s sessionStorage)', async () => {
    await e2e.page.reload();
    await e2e.page.getByRole('listitem', { name: 'Office files' }).waitFor();
  });

  it('paints the rows from the split bundle: the form, the other pages and the wizard load only when opened', async () => {
    const scripts: string[] = [];
    const stylesheets: string[] = [];
    const record = (request: { url(): string; resourceType(): string }): void => {
      if (request.resourceType() === 'script') scripts.push(new URL(request.url()).pathname);
      if (request.resourceType() === 'stylesheet') stylesheets.push(new URL(request.url()).pathname);
    };
    e2e.page.on('request', record);
    try {
      await e2e.page.reload();
      await e2e.page.getByRole('listitem', { name: 'Office files' }).waitFor();
      await screenshot(e2e.page, 'e2e-ui-split-bundle-fleet');
      const firstLoad = [...scripts];
      expect(firstLoad.length).toBeGreaterThan(0);
      for (const lazy of ['installation-form', 'vault-page', 'activity-page', 'settings-page', 'restore-wizard', 'preview-screen']) {
        expect(firstLoad.some((file) => file.includes(`/${lazy}-`)), `${lazy} in the first load: ${firstLoad.join(', ')}`).toBe(false);
      }
      // Opening the form fetches its own chunk, then shows it.
      await rowAction(e2e.page, 'Office files', 'Edit Office files');
      const dialog = e2e.page.getByRole('dialog', { name: 'Edit Office files' });
      await dialog.waitFor();
      expect(scripts.some((file) => file.includes('/installation-form-'))).toBe(true);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await e2e.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Vault' }).click();
      await e2e.page.getByRole('heading', { level: 1, name: 'Vault' }).waitFor();
      await expect.poll(() => scripts.some((file) => file.includes('/vault-page-'))).toBe(true);
      await e2e.page.locator('main#main > *').first().filter({ hasNotText: /^Loading…$/ }).waitFor();
      await screenshot(e2e.page, 'e2e-ui-split-bundle-vault');
      // One stylesheet, loaded first: the Fleet page's parts use the pages' styles too, so none is split off.
      expect(stylesheets).toHaveLength(1);
      await e2e.page.goto(`${e2e.lifeboat.origin}/#/fleet`);
      await e2e.page.getByRole('listitem', { name: 'Office files' }).waitFor();
    } finally {
      e2e.page.off('request', record);
    }
  });

  it('edits it: the form is filled from the installation and saves changes', async () => {
    await rowAction(e2e.page, 'Office files', 'Edit Office files');
    const dialog = e2e.page.getByRole('dialog', { name: 'Edit Office files' });
    await dialog.waitFor();
    expect(await dialog.getByLabel('Port', { exact: true }).inputValue()).toBe(String(port));
    expect(await dialog.getByLabel('Folder on the server').inputValue()).toBe('/srv/backups');
    await dialog.getByLabel('Name', { exact: true }).fill('Office archive');
    await dialog.getByRole('checkbox', { name: 'Test the connection after saving' }).uncheck();
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await e2e.page.getByRole('listitem', { name: 'Office archive' }).waitFor();
  });

  it('shows the core’s own refusal (a duplicate name) with its message', async () => {
    await e2e.page.getByRole('button', { name: 'Add installation' }).click();
    const dialog = e2e.page.getByRole('dialog', { name: 'Add installation' });
    await dialog.getByLabel('Name', { exact: true }).fill('office ARCHIVE');
    await dialog.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await dialog.getByRole('button', { name: 'Add installation' }).click();
    const alert = dialog.getByRole('alert').filter({ hasText: 'The core did not accept this' });
    await alert.waitFor();
    expect(await alert.innerText()).toContain('An installation named "office ARCHIVE" already exists');
    // The code is on the element for a bug report, not in the sentence.
    expect(await alert.getAttribute('data-code')).toBe('ALREADY_EXISTS');
    expect(await alert.innerText()).not.toContain('ALREADY_EXISTS');
    await e2e.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });

  it('lists the connection test job on the Activity page with its error', async () => {
    await e2e.page.getByRole('link', { name: 'Activity' }).click();
    const job = e2e.page.getByRole('listitem', { name: /Test connection to Office files: Failed/ });
    await job.waitFor();
    expect(await job.locator('[data-code]').first().getAttribute('data-code')).toBe('SSH_CONNECTION_REFUSED');
    expect(await job.innerText()).toContain('Office archive');
    await screenshot(e2e.page, 'e2e-activity');
  });

  it('removes it after a confirmation', async () => {
    await e2e.page.getByRole('link', { name: 'Fleet' }).click();
    await rowAction(e2e.page, 'Office archive', 'Remove Office archive');
    const confirm = e2e.page.getByRole('dialog', { name: 'Remove Office archive?' });
    await confirm.getByRole('button', { name: 'Remove installation' }).click();
    await e2e.page.getByRole('heading', { name: 'Add your first installation' }).waitFor();
  });
});

describe('activity', () => {
  it('shows a running job live and cancels it with its Cancel button', async () => {
    // Accepts TCP but never speaks SSH: the connection test waits for a banner until cancelled.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sockets = new Set<net.Socket>();
    silent.on('connection', (socket) => sockets.add(socket));
    try {
      const { port } = silent.address() as net.AddressInfo;
      const added = (await callTwin('installations:add', { name: 'Silent box', app: 'directory', ssh: { host: '127.0.0.1', port, auth: 'key', keyFile, connectTimeoutMs: 120_000 } })) as { ok: boolean };
      expect(added.ok).toBe(true);
      await e2e.page.getByRole('link', { name: 'Fleet' }).click();
      await rowAction(e2e.page, 'Silent box', 'Test connection to Silent box');
      await e2e.page.getByRole('listitem', { name: 'Silent box' }).locator('[data-state="checking"]').waitFor();

      await e2e.page.getByRole('link', { name: 'Activity' }).click();
      const job = e2e.page.getByRole('listitem', { name: /Test connection to Silent box: Running/ });
      await job.waitFor();
      expect(await job.getByRole('progressbar').count()).toBe(1);
      await screenshot(e2e.page, 'e2e-activity-running');
      await job.getByRole('button', { name: 'Cancel Test connection to Silent box' }).click();
      await e2e.page.getByRole('listitem', { name: /Test connection to Silent box: Cancelled/ }).waitFor();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('theme', () => {
  it('follows the system colour scheme and can be forced dark or light in Settings', async () => {
    const dark = await e2e.browser.newContext({ colorScheme: 'dark' });
    const darkPage = await dark.newPage();
    await darkPage.goto(e2e.lifeboat.url);
    await darkPage.locator('.link-live').waitFor();
    expect(await bodyBackground(darkPage)).toBe('rgb(17, 20, 24)');
    await dark.close();

    await e2e.page.getByRole('link', { name: 'Settings' }).click();
    expect(await bodyBackground(e2e.page)).toBe('rgb(245, 246, 248)');
    await e2e.page.getByRole('radio', { name: 'Dark' }).check();
    expect(await e2e.page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await bodyBackground(e2e.page)).toBe('rgb(17, 20, 24)');
    await screenshot(e2e.page, 'e2e-settings-dark');
    await e2e.page.reload();
    expect(await e2e.page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await e2e.page.getByRole('radio', { name: 'Light' }).check();
    expect(await bodyBackground(e2e.page)).toBe('rgb(245, 246, 248)');
  });
});

describe('the twin refuses what it should', () => {
  it('answers 401 to a wrong token and 200 to the right one', async () => {
    const wrong = await fetch(`${e2e.lifeboat.origin}/api/call/system:info`, {
      method: 'POST',
      headers: { Authorization: 'Bearer not-the-token', 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    const events = await fetch(`${e2e.lifeboat.origin}/api/events`, { headers: { Authorization: 'Bearer not-the-token' } });
    expect(events.status).toBe(401);
    await events.body?.cancel();
    expect(await callTwin('system:info', {})).toMatchObject({ ok: true, data: { transport: 'http-twin' } });
  });

  it('tells the user when a page was opened with a stale token', async () => {
    const other = await e2e.browser.newContext();
    const stale = await other.newPage();
    await stale.goto(`${e2e.lifeboat.origin}/#token=from-an-earlier-run`);
    await stale.getByRole('alert').filter({ hasText: 'refused this page’s session' }).waitFor();
    expect(await stale.evaluate(() => sessionStorage.getItem('lifeboat.twin-token'))).toBeNull();
    await other.close();
  });

  it('asks for the link when opened without any token', async () => {
    const other = await e2e.browser.newContext();
    const bare = await other.newPage();
    await bare.goto(`${e2e.lifeboat.origin}/`);
    await bare.getByRole('heading', { name: 'Open Lifeboat from its link' }).waitFor();
    await other.close();
  });
});

describe('without a keychain', () => {
  let keyless: ServedLifeboat;

  afterAll(async () => {
    await keyless?.stop();
  });

  it('offers "ask every time", then keeps a typed secret for the session and can forget it', async () => {
    // No reachable D-Bus session: keytar cannot find a Secret Service.
    keyless = await startLifeboat({ env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus', DISPLAY: '' } });
    const other = await e2e.browser.newContext();
    const p = await other.newPage();
    await p.goto(keyless.url);
    const banner = p.getByRole('region', { name: 'No keychain' });
    await banner.waitFor();
    expect(await p.locator('.secrets-badge').innerText()).toContain('No secret storage');
    await screenshot(p, 'e2e-no-keychain');
    await banner.getByRole('button', { name: 'Ask every time' }).click();
    await banner.waitFor({ state: 'hidden' });
    expect(await p.locator('.secrets-badge').innerText()).toContain('ask every time');

    await p.getByRole('button', { name: 'Add installation' }).click();
    const dialog = p.getByRole('dialog', { name: 'Add installation' });
    await dialog.getByLabel('Name', { exact: true }).fill('Password box');
    await dialog.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await dialog.getByLabel('Port', { exact: true }).fill(String(await closedPort()));
    await dialog.getByRole('radio', { name: 'Password' }).check();
    const secret = testSecret('ssh-password');
    await dialog.getByLabel('SSH password').fill(secret);
    await dialog.getByRole('checkbox', { name: 'Test the connection after saving' }).uncheck();
    await dialog.getByRole('button', { name: 'Add installation' }).click();
    await dialog.waitFor({ state: 'hidden' });

    await rowAction(p, 'Password box', 'Edit Password box');
    const edit = p.getByRole('dialog', { name: 'Edit Password box' });
    await edit.getByText('Stored in memory for this session').waitFor();
    // Never shown back: the field is empty and the page holds no copy of the secret.
    expect(await edit.getByLabel('SSH password').inputValue()).toBe('');
    expect(await p.content()).not.toContain(secret);
    await screenshot(p, 'e2e-edit-secret-stored');
    await edit.getByRole('button', { name: 'Forget' }).click();
    await edit.getByText('Stored in memory for this session').waitFor({ state: 'hidden' });
    const listed = (await callTwin('installations:list', {}, keyless)) as { data: { secretPurposes: string[] }[] };
    expect(listed.data[0]?.secretPurposes).toEqual([]);
    await other.close();
  });
});

const callTwin = (name: string, input: unknown, target: ServedLifeboat = e2e.lifeboat): Promise<unknown> => twinCall(target, name, input);
