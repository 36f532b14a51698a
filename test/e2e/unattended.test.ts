/**
 * Unattended protection in the system Chromium against a real `lifeboat serve` (which runs the
 * schedules and the watchdog): the fleet state in the header and the page title, the schedule
 * editor with the next five runs, notification settings with "Send a test" against a local
 * ntfy-like receiver, and the notification centre holding the watchdog's alert.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, twinData } from '../harness/browser';
import { useServedE2e } from '../harness/e2e-served';
import { rowAction } from '../harness/fleet-row';
import { trayModel } from '../../src/main/schedule/tray';
import { fleetTitle } from '../../src/shared/fleet-title';
import type { FleetState } from '../../src/shared/schedule';

const e2e = useServedE2e('unattended');
let receiver: http.Server;
let receiverUrl: string;
const received: { path: string; title: string | undefined; body: string }[] = [];
let installationId: string;

const call = <T,>(name: string, input: unknown): Promise<T> => twinData<T>(e2e.lifeboat, name, input);

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', title: req.headers.title as string | undefined, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'm1', event: 'message' }));
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const added = await call<{ id: string }>('installations:add', { name: 'Office files', app: 'directory', ssh: { host: '127.0.0.1', auth: 'agent' }, settings: { directory: '/srv/backups' }, expectedCadenceHours: 1 });
  installationId = added.id;
  // Added three hours ago (as if Lifeboat had been off since): with an hourly cadence and no copy, it is overdue.
  const file = path.join(e2e.lifeboat.home, 'installations.json');
  const data = JSON.parse(readFileSync(file, 'utf8')) as { installations: { createdAt: string }[] };
  data.installations[0]!.createdAt = new Date(Date.now() - 3 * 3_600_000).toISOString();
  writeFileSync(file, JSON.stringify(data));
});

afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('fleet state and the notification centre', () => {
  it('shows the fleet state in the header and the page title', async () => {
    await e2e.page.goto(e2e.lifeboat.url);
    await e2e.page.locator('.link-live').waitFor();
    const state = e2e.page.getByRole('status', { name: 'Fleet: 1 overdue or failing' });
    await state.waitFor();
    expect(await state.getAttribute('class')).toContain('fleet-state-alarm');
    await e2e.page.waitForFunction(() => document.title === '⚠ 1 overdue or failing — Lifeboat');
    await screenshot(e2e.page, 'e2e-unattended-header');
  });

  it('holds the watchdog alert in the notification centre, unread until marked read', async () => {
    const bell = e2e.page.getByRole('button', { name: /^Notifications, \d+ unread$/ });
    await bell.waitFor();
    await bell.click();
    const dialog = e2e.page.getByRole('dialog', { name: 'Notifications' });
    await dialog.waitFor();
    const item = dialog.locator('.notification', { hasText: 'Office files is overdue' });
    await item.waitFor();
    expect(await item.innerText()).toMatch(/Lifeboat has no copy of Office files yet, 3 h after it was added \(expected hourly\)/);
    expect(await item.getAttribute('class')).toContain('notification-unread');
    await item.getByRole('button', { name: 'Acknowledge' }).click();
    await item.getByText('Acknowledged: no reminders until its state changes.').waitFor();
    const states = await call<{ entries: { installationId: string; acknowledged: boolean }[] }>('watch:states', {});
    expect(states.entries.find((e) => e.installationId === installationId)?.acknowledged).toBe(true);
    await screenshot(e2e.page, 'e2e-unattended-centre');
    await dialog.getByRole('button', { name: 'Mark all read' }).click();
    await dialog.locator('.notification-unread').waitFor({ state: 'detached' });
    await e2e.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await e2e.page.getByRole('button', { name: 'Notifications', exact: true }).waitFor();
  });
});

describe('schedule editor', () => {
  it('shows the next five runs of the chosen schedule and saves it', async () => {
    await e2e.page.goto(`${e2e.lifeboat.origin}/#/fleet`);
    await rowAction(e2e.page, 'Office files', 'Edit Office files');
    const dialog = e2e.page.getByRole('dialog', { name: 'Edit Office files' });
    await dialog.waitFor();
    await dialog.getByText('The default schedule is off: this installation is pulled by hand.').waitFor();
    await dialog.getByLabel('Pull the newest backup').selectOption({ label: 'Daily at…' });
    await dialog.getByLabel('Time (HH:MM)').fill('02:30');
    await dialog.getByLabel('Time zone (optional)').fill('Asia/Tokyo');
    await dialog.getByText('daily at 02:30 (Asia/Tokyo) — next runs:').waitFor();
    const runs = dialog.getByRole('list', { name: 'Next runs' }).locator('time');
    await expect.poll(() => runs.count()).toBe(5);
    const times = await runs.evaluateAll((els) => els.map((el) => el.getAttribute('datetime')));
    // 02:30 in Tokyo (UTC+9, no DST) is 17:30 UTC, plus this installation's jitter (the same every day, under ten minutes), on five days in a row.
    const offsets = times.map((t) => Date.parse(t!) - Date.parse(`${t!.slice(0, 10)}T17:30:00Z`));
    expect(new Set(offsets).size).toBe(1);
    expect(offsets[0]).toBeGreaterThanOrEqual(0);
    expect(offsets[0]).toBeLessThan(10 * 60_000);
    expect(new Set(times.map((t) => t?.slice(0, 10))).size).toBe(5);
    await dialog.getByLabel('Time zone (optional)').fill('Mars/Olympus');
    await dialog.getByText('"Mars/Olympus" is not a time zone (use an IANA name such as Europe/Berlin).').waitFor();
    await dialog.locator('.next-runs').scrollIntoViewIfNeeded();
    await screenshot(e2e.page, 'e2e-unattended-schedule-error');
    await dialog.getByLabel('Time zone (optional)').fill('Asia/Tokyo');
    await expect.poll(() => runs.count()).toBe(5);
    await dialog.locator('.next-runs').scrollIntoViewIfNeeded();
    await screenshot(e2e.page, 'e2e-unattended-schedule');
    await dialog.getByLabel('Test the connection after saving').uncheck();
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const overview = await call<{ installations: Record<string, { pull: unknown }> }>('schedule:overview', {});
    expect(overview.installations[installationId]?.pull).toEqual({ preset: 'daily', time: '02:30', timeZone: 'Asia/Tokyo' });
  });
});

describe('notification settings', () => {
  it('adds an ntfy channel and sends a test that arrives', async () => {
    await e2e.page.goto(`${e2e.lifeboat.origin}/#/settings`);
    const form = e2e.page.getByRole('form', { name: 'Add a channel' });
    await form.getByLabel('Channel name').fill('Phone');
    await form.getByLabel('Topic URL').fill(`${receiverUrl}/lifeboat-e2e`);
    await form.getByRole('button', { name: 'Add channel' }).click();
    const channel = e2e.page.getByRole('list', { name: 'Channels' }).locator('.channel', { hasText: 'Phone' });
    await channel.waitFor();
    await channel.getByRole('button', { name: 'Send a test' }).click();
    await channel.getByRole('status').filter({ hasText: 'Delivered after 1 attempt(s): HTTP 200' }).waitFor();
    expect(received.at(-1)).toMatchObject({ path: '/lifeboat-e2e', title: 'Lifeboat test notification' });
    await screenshot(e2e.page, 'e2e-unattended-notify-settings');
    // The URL stays in the keychain: the page never gets it back.
    expect(await e2e.page.content()).not.toContain('/lifeboat-e2e');
  });
});

describe('the same state everywhere', () => {
  it("the header and the page title follow a change of the fleet's state, in the tray's words", async () => {
    await e2e.page.goto(e2e.lifeboat.url);
    await e2e.page.getByRole('status', { name: 'Fleet: 1 overdue or failing' }).waitFor();
    // A daily cadence for an installation added three hours ago: its copies are fresh again, but
    // nothing answers SSH on 127.0.0.1:22, so the header does not say "All fresh" alone.
    const current = await call<{ name: string; app: string; ssh: unknown; settings: unknown }>('installations:get', { id: installationId });
    await call('installations:update', { id: installationId, changes: { name: current.name, app: current.app, ssh: current.ssh, settings: current.settings, expectedCadenceHours: 24 } });
    const state = e2e.page.getByRole('status', { name: 'Fleet: All fresh, 1 not reachable', exact: true });
    await state.waitFor();
    expect(await state.getAttribute('class')).toContain('fleet-state-due');
    await e2e.page.waitForFunction(() => document.title === '• All fresh, 1 not reachable — Lifeboat');
    // The core's words for the tray are the page's: one function makes both.
    const { fleet } = await call<{ fleet: FleetState }>('watch:states', {});
    expect(await e2e.page.title()).toBe(fleetTitle(fleet));
    expect(trayModel(fleet, null).tooltip).toBe(await e2e.page.title());
    await screenshot(e2e.page, 'e2e-unattended-header-fresh');
  });
});

describe('desktop notifications in the browser twin', () => {
  it('once the operator allows them, an alarm is shown through the browser Notification API', async () => {
    const origin = e2e.lifeboat.origin;
    await e2e.context.grantPermissions(['notifications'], { origin });
    // What the page hands to the browser's Notification API (the real one still runs).
    await e2e.context.addInitScript(() => {
      const Real = window.Notification;
      const shown: { title: string; body: string | undefined }[] = [];
      (window as unknown as { shownNotifications: typeof shown }).shownNotifications = shown;
      const Recorded = new Proxy(Real, {
        construct(target, args: [string, NotificationOptions?]) {
          shown.push({ title: args[0], body: args[1]?.body });
          return Reflect.construct(target, args) as object;
        },
        get: (target, key) => Reflect.get(target, key, target) as unknown,
      });
      Object.defineProperty(window, 'Notification', { value: Recorded, configurable: true, writable: true });
    });
    // A fresh load with the link (the recorder is installed before the page's scripts run), then the settings.
    await e2e.page.goto('about:blank');
    await e2e.page.goto(e2e.lifeboat.url);
    await e2e.page.locator('.link-live').waitFor();
    await e2e.page.evaluate(() => (location.hash = '#/settings'));
    const permission = await e2e.page.evaluate(() => [Notification.permission, typeof (window as unknown as { shownNotifications?: unknown }).shownNotifications]);
    expect(permission).toEqual(['granted', 'object']);
    await e2e.page.getByText('Desktop notifications are on.').waitFor();
    await e2e.page.getByRole('status', { name: 'Fleet: All fresh' }).waitFor();
    // An hourly cadence again for the installation added three hours ago with no copy: overdue, an alarm.
    const current = await call<{ name: string; app: string; ssh: unknown; settings: unknown }>('installations:get', { id: installationId });
    await call('installations:update', { id: installationId, changes: { name: current.name, app: current.app, ssh: current.ssh, settings: current.settings, expectedCadenceHours: 1 } });
    await e2e.page.getByRole('status', { name: 'Fleet: 1 overdue or failing' }).waitFor();
    await e2e.page.waitForFunction(() => (window as unknown as { shownNotifications: { title: string }[] }).shownNotifications.some((n) => n.title === 'Office files is overdue'));
    const shown = await e2e.page.evaluate(() => (window as unknown as { shownNotifications: { title: string; body: string | undefined }[] }).shownNotifications);
    expect(shown.find((n) => n.title === 'Office files is overdue')?.body).toMatch(/^Lifeboat has no copy of Office files yet, 3 h after it was added \(expected hourly\)$/);
    // Quiet on success: nothing informational went to the desktop.
    expect(shown.every((n) => !/succeeded|recovered/.test(n.title))).toBe(true);
  });
});
