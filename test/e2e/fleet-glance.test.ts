/**
 * The Fleet page at a glance, in the system Chromium against an in-process core with the real test
 * fleet, plus an installation whose port refuses (failing) and one whose server accepts TCP but never
 * speaks SSH (a pull that runs until cancelled): the summary strip counts what the core reports and
 * each count filters the list; every row has one primary action (Fix… when failing) and a "⋯" menu
 * where Edit and Remove are never neighbours; long names are shown whole at 1280 and 1920 px; the
 * adapter's notes wait in a popover; Cancel sits beside the progress bar of a running pull.
 */
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from '../harness/browser';
import { useFleetE2e } from '../harness/e2e-fleet';
import { fleetRow, openRowMenu } from '../harness/fleet-row';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { Freshness } from '../../src/shared/apps';

const e2e = useFleetE2e('glance');

const FAILING = 'Refusing box';
const SILENT = 'Archive server in the Frankfurt rack (staging copy, kept for the audit)';

let keyDir: string;
let silent: net.Server;
const sockets = new Set<net.Socket>();

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  keyDir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-e2e-glance-'));
  const keyFile = path.join(keyDir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-e2e', '-f', keyFile]);
  // Accepts TCP but never sends an SSH banner: whatever connects waits until it is cancelled.
  silent = net.createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const client = createInProcessClient(e2e.core);
  await client.call('installations:add', { name: FAILING, app: 'directory', settings: { directory: '/srv/backups' }, ssh: { host: '127.0.0.1', port: await freePort(), auth: 'key', keyFile } });
  await client.call('installations:add', {
    name: SILENT,
    app: 'directory',
    settings: { directory: '/srv/backups' },
    ssh: { host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port, auth: 'key', keyFile, connectTimeoutMs: 120_000 },
  });
}, 60_000);

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => silent?.close(() => resolve()));
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

const summary = () => e2e.page.getByRole('group', { name: 'Fleet summary' });
const countOf = async (freshness: Freshness): Promise<number> => Number(await summary().locator(`[data-summary="${freshness}"] strong`).innerText());
const visibleRows = () => e2e.page.getByRole('list', { name: 'Installations' }).locator(':scope > li');
/** The list follows a filter a render later (useDeferredValue): wait until it shows that many rows. */
const rowsShown = (count: number) =>
  e2e.page.waitForFunction((n) => document.querySelectorAll('[aria-label="Installations"] > li').length === n, count);

describe('the daily glance', () => {
  it('counts the fleet the way the core reports it, and every count filters the list', async () => {
    await e2e.page.goto(e2e.twin.url);
    // The refused port fails its listing: the strip counts it as failing once the refresh says so.
    await fleetRow(e2e.page, FAILING).locator('[data-freshness="failing"]').waitFor({ timeout: 20_000 });
    await summary().locator('[data-summary="failing"] strong', { hasText: '1' }).waitFor();
    const overview = await createInProcessClient(e2e.core).call('fleet:overview', {});
    const byFreshness = (f: Freshness): number => overview.filter((entry) => entry.freshness === f).length;
    expect(await summary().getByRole('button', { name: /installations/ }).innerText()).toBe(`${overview.length} installations`);
    for (const f of ['fresh', 'due', 'failing', 'never'] as const) expect(await countOf(f)).toBe(byFreshness(f));
    expect(await summary().getByTestId('summary-newest').innerText()).toBe('nothing in the vault yet');
    await screenshot(e2e.page, 'e2e-glance-summary');

    await summary().locator('[data-summary="failing"]').click();
    expect(await summary().locator('[data-summary="failing"]').getAttribute('aria-pressed')).toBe('true');
    await rowsShown(1);
    await fleetRow(e2e.page, FAILING).waitFor();
    await summary().locator('[data-summary="fresh"]').click();
    await rowsShown(0);
    await e2e.page.getByText('None right now.').waitFor();
    await e2e.page.getByRole('button', { name: 'Show all installations' }).click();
    await rowsShown(overview.length);
    expect(await visibleRows().count()).toBe(overview.length);
  });

  it('gives each row one primary action and a menu, with Fix… for the failing one and Edit never next to Remove', async () => {
    const ws = e2e.fleet.installations.weavestream.name;
    for (const li of await visibleRows().all()) {
      // The primary button and the "⋯": nothing else crowds the row.
      expect(await li.locator('.fleet-actions > button, .fleet-actions > a').count()).toBe(1);
      expect(await li.locator('.fleet-actions .menu-button').count()).toBe(1);
    }
    await fleetRow(e2e.page, ws).locator('.fleet-actions').getByRole('button', { name: `Pull newest backup of ${ws}` }).waitFor();
    const fix = fleetRow(e2e.page, FAILING).locator('.fleet-actions').getByRole('button', { name: `Fix… ${FAILING}` });
    await fix.click();
    const dialog = e2e.page.getByRole('dialog', { name: `Fix ${FAILING}` });
    await dialog.waitFor();
    expect(await dialog.innerText()).toMatch(/refused|connect/i);
    for (const action of ['Edit connection…', 'Test connection', 'Pull newest again']) await dialog.getByRole('button', { name: action }).waitFor();
    await screenshot(e2e.page, 'e2e-glance-fix');
    await e2e.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    const menu = await openRowMenu(e2e.page, ws);
    // Keyboard: focus starts on the first item, arrows move, Esc returns to the "⋯" button.
    expect(await e2e.page.evaluate(() => document.activeElement?.textContent)).toBe('Edit…');
    await e2e.page.keyboard.press('ArrowDown');
    expect(await e2e.page.evaluate(() => document.activeElement?.textContent)).toBe('Test connection');
    const entries = await menu.locator(':scope > li').evaluateAll((lis) => lis.map((li) => (li.getAttribute('role') === 'separator' ? '—' : (li.textContent ?? ''))));
    expect(entries).toEqual(['Edit…', 'Test connection', 'Pull…', 'Run backup now', 'Restore…', '—', 'Remove…']);
    expect(Math.abs(entries.indexOf('Edit…') - entries.indexOf('Remove…'))).toBeGreaterThan(1);
    await screenshot(e2e.page, 'e2e-glance-menu');
    await e2e.page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden' });
    expect(await e2e.page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(`More actions for ${ws}`);
  });

  it('shows long names whole at 1280 and 1920 px, light and dark, with the adapter notes behind a "?"', async () => {
    for (const [width, height] of [[1280, 800], [1920, 1080]] as const) {
      await e2e.page.setViewportSize({ width, height });
      for (const li of await visibleRows().all()) {
        const clipped = await li.locator('.fleet-name-text strong').evaluate((el) => el.scrollWidth > el.clientWidth || getComputedStyle(el).textOverflow === 'ellipsis');
        expect(clipped).toBe(false);
      }
      const name = await fleetRow(e2e.page, SILENT).locator('.fleet-name-text strong').innerText();
      expect(name.replace(/\s+/g, ' ')).toBe(SILENT);
      for (const scheme of ['light', 'dark'] as const) {
        await e2e.page.emulateMedia({ colorScheme: scheme });
        await screenshot(e2e.page, `e2e-glance-fleet-${width}-${scheme}`);
      }
    }
    await e2e.page.emulateMedia({ colorScheme: 'light' });
    await e2e.page.setViewportSize({ width: 1280, height: 800 });
    const strip = e2e.page.getByRole('group', { name: `Backups of ${SILENT}` });
    expect(await strip.locator('.help-popover-body').isVisible()).toBe(false);
    await strip.getByText('?', { exact: true }).click();
    expect(await strip.locator('.help-popover-body').innerText()).toMatch(/no backup trigger/);
  });

  it('puts Cancel beside the progress bar of a running pull, and cancels it', async () => {
    const row = fleetRow(e2e.page, SILENT);
    await row.locator('.fleet-actions').getByRole('button', { name: `Pull newest backup of ${SILENT}` }).click();
    // The pull's job: the row may also show its first listing (which this silent server never answers).
    const job = row.getByRole('group', { name: /^Pull the newest backup from .*: Running$/ });
    const bar = job.getByRole('progressbar');
    await bar.waitFor({ timeout: 20_000 });
    const cancel = job.getByRole('button', { name: /^Cancel / });
    const [b, c] = [await bar.boundingBox(), await cancel.boundingBox()];
    // Beside, not below: to the right of the bar, on the same line.
    expect(c!.x).toBeGreaterThan(b!.x + b!.width);
    expect(c!.y).toBeLessThan(b!.y + b!.height);
    expect(c!.y + c!.height).toBeGreaterThan(b!.y);
    await screenshot(e2e.page, 'e2e-glance-pull-cancel');
    await cancel.click();
    await row.getByRole('group', { name: /^Pull the newest backup from .*: Cancelled$/ }).waitFor({ timeout: 20_000 });
  });

  it('shows a running pull on the Vault page too, with Cancel beside its bar, and cancels it there', async () => {
    const row = fleetRow(e2e.page, SILENT);
    await row.locator('.fleet-actions').getByRole('button', { name: `Pull newest backup of ${SILENT}` }).click();
    await row.getByRole('group', { name: /^Pull the newest backup from .*: Running$/ }).getByRole('progressbar').waitFor({ timeout: 20_000 });
    const running = e2e.core.jobs.list({ limit: 500 }).filter((j) => j.kind === 'pull' && j.status === 'running');
    expect(running).toHaveLength(1);

    await e2e.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Vault' }).click();
    const section = e2e.page.getByRole('region', { name: 'Coming into the vault' });
    const job = section.getByRole('group', { name: `${running[0]!.title}: Running` });
    const bar = job.getByRole('progressbar');
    await bar.waitFor();
    const cancel = job.getByRole('button', { name: /^Cancel / });
    const [b, c] = [await bar.boundingBox(), await cancel.boundingBox()];
    expect(c!.x).toBeGreaterThan(b!.x + b!.width);
    expect(c!.y).toBeLessThan(b!.y + b!.height);
    await screenshot(e2e.page, 'e2e-glance-vault-running-pull');
    await cancel.click();
    await expect.poll(() => e2e.core.jobs.get(running[0]!.id)?.status, { timeout: 20_000 }).toBe('cancelled');
    // Once it ended, the section goes (the vault timeline shows what arrived; nothing did).
    await section.waitFor({ state: 'detached' });
    await e2e.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Fleet' }).click();
    await fleetRow(e2e.page, SILENT).waitFor();
  });

  it('moves focus to the page heading after navigation, and links the file preview from the Fleet page', async () => {
    await e2e.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Vault' }).click();
    await e2e.page.getByRole('heading', { level: 1, name: 'Vault' }).waitFor();
    await e2e.page.waitForFunction(() => document.activeElement?.id === 'page-heading');
    expect(await e2e.page.evaluate(() => document.activeElement?.textContent)).toBe('Vault');
    await e2e.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Fleet' }).click();
    await e2e.page.waitForFunction(() => document.activeElement?.id === 'page-heading' && document.activeElement.textContent === 'Fleet');
    const open = e2e.page.getByRole('link', { name: 'Open a backup file…' });
    expect(await open.getAttribute('href')).toBe('#/fleet/preview');
    await open.click();
    await e2e.page.waitForFunction(() => window.location.hash === '#/fleet/preview');
  });

  it('hides background checks on Activity by default and filters jobs by installation, kind, outcome and time', async () => {
    await e2e.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Activity' }).click();
    const jobs = e2e.page.getByRole('list', { name: 'Jobs' }).locator(':scope > li');
    await jobs.first().waitFor();
    // textContent: the kind is shown in capitals by CSS.
    const kinds = async (): Promise<string[]> => jobs.locator('.job-kind').evaluateAll((els) => els.map((el) => el.textContent ?? ''));
    const all = e2e.core.jobs.list({ limit: 500 });
    expect(all.some((j) => j.kind === 'fleet-refresh')).toBe(true);
    expect(await kinds()).not.toContain('Fleet refresh');
    await expect.poll(() => jobs.count()).toBe(all.filter((j) => j.kind !== 'fleet-refresh').length);
    const filters = e2e.page.getByRole('group', { name: 'Filter jobs' });
    await filters.getByLabel('Show background checks').check();
    await expect.poll(kinds).toContain('Fleet refresh');
    await expect.poll(() => jobs.count()).toBe(all.length);
    await filters.getByLabel('Outcome').selectOption('cancelled');
    await expect.poll(() => jobs.count()).toBe(all.filter((j) => j.status === 'cancelled').length);
    await jobs.first().getByText(SILENT, { exact: false }).first().waitFor();
    await filters.getByLabel('Outcome').selectOption('');
    await filters.getByLabel('Installation').selectOption({ label: FAILING });
    await expect.poll(() => jobs.count()).toBe(all.filter((j) => j.installationId === all.find((x) => x.title.includes(FAILING))?.installationId).length);
    await filters.getByLabel('Kind').selectOption({ label: 'Backup pull' });
    await filters.getByLabel('Installation').selectOption('');
    await expect.poll(kinds).toEqual(Array(all.filter((j) => j.kind === 'pull').length).fill('Backup pull'));
    await filters.getByLabel('Started').selectOption({ label: 'In the last hour' });
    await expect.poll(() => jobs.count()).toBe(all.filter((j) => j.kind === 'pull').length);
    await screenshot(e2e.page, 'e2e-glance-activity-filters');
  });
});
