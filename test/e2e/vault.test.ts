/**
 * The Vault page in the system Chromium against a real `lifeboat serve` (inside the test keychain,
 * so the core creates the vault itself): files dropped on the page become snapshots with live
 * import progress, the real MeshMonitor sample among them; a full data check; a retention
 * preview and apply; the recovery kit download; the audit trail on the Activity page.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BrowserContext, FileChooser, Page } from 'playwright-core';
import { screenshot, startLifeboat, type ServedLifeboat, twinCall, type TwinAnswer } from '../harness/browser';
import { dropFiles } from '../harness/drop-files';
import { useServedE2e } from '../harness/e2e-served';

const SAMPLE = path.resolve(import.meta.dirname, '..', 'fixtures', 'meshmonitor', '2026-11-23_131719.tar.gz');
/** Random (so incompressible and not deduplicated) and big enough that the import runs for a while. */
const BIG_BYTES = 96 * 1024 * 1024;

let vaultId: string;

const callTwin = (name: string, input: unknown, target: ServedLifeboat = e2e.lifeboat): Promise<TwinAnswer> => twinCall(target, name, input);

const timelineItems = (p: Page) => p.locator('.timeline-button');

const e2e = useServedE2e('vault');

describe('vault page', () => {
  it('shows the vault the core created: location, id, keychain, empty timeline, recovery-kit banner', async () => {
    const status = await callTwin('vault:status', {});
    expect(status).toMatchObject({ ok: true, data: { initialized: true, open: true, recoveryKitAcknowledged: false } });
    vaultId = (status.data as { id: string }).id;

    await e2e.page.goto(e2e.lifeboat.url);
    await e2e.page.getByRole('link', { name: 'Vault' }).click();
    const header = e2e.page.getByRole('region', { name: 'Vault', exact: true });
    await header.waitFor();
    expect(await header.innerText()).toContain(vaultId);
    expect(await header.innerText()).toMatch(/System keychain/);
    await e2e.page.getByRole('region', { name: 'Recovery kit not saved' }).waitFor();
    await e2e.page.getByRole('heading', { name: 'No snapshots yet' }).waitFor();
    await screenshot(e2e.page, 'e2e-vault-empty');
  });

  it('refuses a file it cannot verify, unless asked to store it marked unverified', async () => {
    await e2e.page.evaluate(() => window.scrollTo(0, 0));
    await dropFiles(e2e.page, [{ name: 'refused.txt', base64: Buffer.from('no app made this\n').toString('base64') }]);
    const refused = e2e.page.getByRole('group', { name: 'Add refused.txt to the vault: Failed' });
    await refused.waitFor({ timeout: 20_000 });
    expect(await refused.innerText()).toMatch(/cannot be verified.*nothing entered the vault/s);
    await e2e.page.getByRole('heading', { name: 'No snapshots yet' }).waitFor();
    await e2e.page.getByLabel('Also store what cannot be verified (marked unverified)').check();
  });

  it('imports files dropped on the page, with live progress, and lists the new snapshots', async () => {
    await e2e.page.evaluate(() => window.scrollTo(0, 0));
    await dropFiles(e2e.page, [
      { name: 'big-random.bin', random: BIG_BYTES },
      { name: 'notes.txt', base64: Buffer.from('lifeboat e2e import\n').toString('base64') },
    ]);
    // The big one's import job runs for a while: its bar and figures (bytes of total) show live.
    const running = e2e.page.getByRole('group', { name: 'Add big-random.bin to the vault: Running' });
    await running.getByRole('progressbar').waitFor({ timeout: 30_000 });
    await expect.poll(async () => running.locator('.job-figures').innerText().catch(() => ''), { timeout: 20_000 }).toMatch(/MiB \/ 96 MiB/);
    await screenshot(e2e.page, 'e2e-vault-import-running');

    // Stored as asked, and said to be unverified: the job ends with a warning, not plain success.
    await e2e.page.getByRole('group', { name: /^Add big-random\.bin to the vault: Done, with warnings/ }).waitFor({ timeout: 40_000 });
    await e2e.page.getByRole('group', { name: /^Add notes\.txt to the vault: Done, with warnings/ }).waitFor({ timeout: 20_000 });
    await e2e.page.getByRole('button', { name: /^notes\.txt · unverified .* import / }).waitFor();
    // The snapshots arrive by vault:changed, not by a reload.
    await e2e.page.getByRole('button', { name: /^big-random\.bin .* import / }).waitFor();
    await e2e.page.getByRole('button', { name: /^notes\.txt .* import / }).waitFor();
  });

  it('imports a file chosen with the "Add archive…" button (the keyboard path)', async () => {
    const button = e2e.page.getByRole('button', { name: 'Add archive…' });
    // Playwright turns on file-chooser interception when the first listener attaches, over a round
    // trip to the browser: on a loaded machine the key press can beat it. Attach, then press.
    const chosen = new Promise<FileChooser>((resolve) => e2e.page.once('filechooser', resolve));
    await e2e.page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    await button.focus();
    await e2e.page.keyboard.press('Enter');
    const chooser = await chosen;
    await chooser.setFiles({ name: 'chosen.txt', mimeType: 'text/plain', buffer: Buffer.from('chosen with the keyboard\n') });
    await e2e.page.getByRole('button', { name: /^chosen\.txt .* import / }).waitFor({ timeout: 20_000 });
  });

  it('imports the real MeshMonitor sample and shows its details and files', async () => {
    await dropFiles(e2e.page, [{ name: path.basename(SAMPLE), base64: readFileSync(SAMPLE).toString('base64') }]);
    const item = e2e.page.getByRole('button', { name: /^2026-11-23_131719\.tar\.gz .* import / });
    await item.waitFor({ timeout: 30_000 });
    expect(await timelineItems(e2e.page).count()).toBe(4);
    await item.click();
    const details = e2e.page.getByRole('article', { name: /^Snapshot / });
    await details.getByRole('table', { name: 'Files in the snapshot' }).getByText('/2026-11-23_131719.tar.gz').waitFor();
    const text = await details.innerText();
    expect(text).toContain('import');
    expect(text).toContain('local import');
    expect(text).toMatch(/6\.\d KiB/);
    // Sizes in the header caught up with the three snapshots.
    await expect.poll(() => e2e.page.locator('.vault-stats').innerText()).toMatch(/Snapshots\s+4/i);
    await e2e.page.getByRole('region', { name: 'Snapshots', exact: true }).evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await screenshot(e2e.page, 'e2e-vault-snapshots');
  });

  it('checks the vault reading all data, with progress, and reports no problems', async () => {
    // The check may take under a second: record every progress line it shows instead of racing it.
    await e2e.page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seenCheckProgress: string[] }).seenCheckProgress = seen;
      new MutationObserver(() => {
        const running = document.querySelector('[aria-label^="Check the vault, reading all data: Running"]');
        const figures = running?.querySelector('[role="progressbar"]') ? running.querySelector('.job-figures')?.textContent : null;
        if (figures) seen.push(figures);
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await e2e.page.getByRole('button', { name: 'Check and read all data' }).click();
    const job = e2e.page.getByRole('group', { name: /^Check the vault, reading all data: / });
    await job.waitFor();
    const ok = job.getByText('No problems found.');
    await ok.waitFor({ timeout: 40_000 });
    expect(await job.innerText()).toMatch(/read and verified every byte/);
    expect(await job.innerText()).toMatch(/Checked 4 snapshot\(s\)/);
    const seen = await e2e.page.evaluate(() => (window as unknown as { seenCheckProgress: string[] }).seenCheckProgress);
    // Bytes read of the total, live, while the data was read.
    expect(seen.some((line) => /read-data.*MiB \/ \d+(\.\d)? MiB/.test(line)), `progress lines seen: ${JSON.stringify(seen)}`).toBe(true);
    await job.scrollIntoViewIfNeeded();
    await screenshot(e2e.page, 'e2e-vault-check');
  });

  it('previews keep-last 1 (one kept, the rest removed, with reasons), then applies it', async () => {
    const retention = e2e.page.getByRole('region', { name: 'Retention' });
    const apply = retention.getByRole('button', { name: 'Apply', exact: true });
    expect(await apply.isDisabled()).toBe(true);
    await retention.getByLabel('Keep last').fill('1');
    await retention.getByRole('button', { name: 'Preview' }).click();
    const preview = retention.getByLabel('Retention preview');
    await preview.waitFor();
    expect(await preview.getByRole('status').innerText()).toMatch(/keeps 1 snapshot and removes 3/);
    const kept = preview.getByRole('row', { name: /^Keep / });
    const removed = preview.getByRole('row', { name: /^Remove / });
    expect(await kept.count()).toBe(1);
    expect(await removed.count()).toBe(3);
    // The newest (the sample) is kept; each decision says why.
    expect(await kept.innerText()).toContain('2026-11-23_131719.tar.gz');
    for (const row of await preview.getByRole('row').all()) {
      if ((await row.getAttribute('aria-label')) === null) continue;
      expect((await row.locator('td').last().innerText()).trim().length).toBeGreaterThan(3);
    }
    await preview.scrollIntoViewIfNeeded();
    await screenshot(e2e.page, 'e2e-vault-retention-preview');

    // Editing a rule voids the preview; previewing again re-enables Apply.
    await retention.getByLabel('Keep last').fill('2');
    expect(await apply.isDisabled()).toBe(true);
    await retention.getByLabel('Keep last').fill('1');
    await retention.getByRole('button', { name: 'Preview' }).click();
    await expect.poll(() => apply.isDisabled()).toBe(false);

    await apply.click();
    const confirm = e2e.page.getByRole('dialog', { name: 'Remove 3 snapshots?' });
    await confirm.waitFor();
    expect(await confirm.innerText()).toMatch(/removes 3 snapshots from the vault and keeps 1/);
    await screenshot(e2e.page, 'e2e-vault-retention-confirm');
    await confirm.getByRole('button', { name: 'Remove 3', exact: true }).click();
    await confirm.waitFor({ state: 'hidden' });
    await expect.poll(() => timelineItems(e2e.page).count(), { timeout: 20_000 }).toBe(1);
    await e2e.page.getByRole('button', { name: /^2026-11-23_131719\.tar\.gz .* import / }).waitFor();
    await retention.getByRole('group', { name: /^Apply retention: Succeeded/ }).waitFor();
    expect(await retention.getByLabel('Retention preview').count()).toBe(0);
    await screenshot(e2e.page, 'e2e-vault-after-retention');
  });

  it('frees the space the removed snapshots used', async () => {
    const stats = e2e.page.locator('.vault-stats');
    expect(await stats.innerText()).toMatch(/Vault takes\s+9\d(\.\d)? MiB/i);
    await e2e.page.getByRole('button', { name: 'Free unused space' }).click();
    await e2e.page.getByRole('group', { name: /^Free space no snapshot uses: Succeeded/ }).waitFor({ timeout: 20_000 });
    await expect.poll(() => stats.innerText(), { timeout: 10_000 }).toMatch(/Vault takes\s+[\d.]+ KiB/i);
  });

  it('downloads the recovery kit (restic commands, vault id) and the banner goes away', async () => {
    const banner = e2e.page.getByRole('region', { name: 'Recovery kit not saved' });
    const [download] = await Promise.all([e2e.page.waitForEvent('download'), banner.getByRole('button', { name: 'Download recovery kit' }).click()]);
    expect(download.suggestedFilename()).toBe(`lifeboat-recovery-kit-${vaultId.slice(0, 8)}.txt`);
    const file = await download.path();
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('restic snapshots');
    expect(text).toContain(vaultId);
    await banner.waitFor({ state: 'hidden' });
    expect(await callTwin('vault:status', {})).toMatchObject({ data: { recoveryKitAcknowledged: true } });
  });

  it('lists no locks once every job is done', async () => {
    const locks = e2e.page.getByRole('region', { name: 'Locks' });
    await locks.getByRole('button', { name: 'Refresh' }).click();
    await locks.getByText('No locks').waitFor();
  });

  it('looks right in the dark theme', async () => {
    const dark = await e2e.browser.newContext({ colorScheme: 'dark' });
    try {
      const darkPage = await dark.newPage();
      await darkPage.goto(e2e.lifeboat.url);
      await darkPage.getByRole('link', { name: 'Vault' }).click();
      await darkPage.getByRole('button', { name: /^2026-11-23_131719\.tar\.gz .* import / }).click();
      await darkPage.getByRole('table', { name: 'Files in the snapshot' }).waitFor();
      const background = await darkPage.evaluate(() => getComputedStyle(document.querySelector('.vault-header')!).backgroundColor);
      expect(background).toBe('rgb(24, 28, 34)');
      await screenshot(darkPage, 'e2e-vault-dark');
    } finally {
      await dark.close();
    }
  });
});

describe('activity page', () => {
  it('shows the imports and the check in the audit trail, and an empty quarantine', async () => {
    await e2e.page.getByRole('link', { name: 'Activity' }).click();
    const audit = e2e.page.getByRole('table', { name: 'Audit trail' });
    await audit.waitFor();
    const rows = audit.getByRole('row');
    // Four stored, and the refused one recorded as a failed import.
    await expect.poll(() => rows.filter({ hasText: 'Import' }).count()).toBe(5);
    expect(await rows.filter({ hasText: 'big-random.bin' }).count()).toBe(1);
    expect(await rows.filter({ hasText: 'Check' }).filter({ hasText: 'no problems (all data read)' }).count()).toBe(1);
    expect(await rows.filter({ hasText: 'Forget' }).filter({ hasText: 'removed 3 snapshot(s)' }).count()).toBe(1);
    await e2e.page.getByRole('region', { name: 'Quarantine' }).getByText('No quarantined downloads').waitFor();
    await screenshot(e2e.page, 'e2e-activity-audit');
  });
});

describe('without a keychain', () => {
  /** No reachable D-Bus session: keytar finds no Secret Service, so serve creates no vault. */
  const NO_KEYCHAIN = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus', DISPLAY: '' };
  let keyless: ServedLifeboat | undefined;
  let other: BrowserContext | undefined;
  let password = '';

  afterAll(async () => {
    await other?.close();
    await keyless?.stop();
  });

  it('explains why it cannot create a vault, then creates one in "ask every time" mode', async () => {
    keyless = await startLifeboat({ env: NO_KEYCHAIN });
    other = await e2e.browser.newContext();
    const p = await other.newPage();
    await p.goto(keyless.url);
    await p.getByRole('link', { name: 'Vault' }).click();
    const create = p.getByRole('button', { name: 'Create vault' });
    await create.waitFor();
    expect(await create.isDisabled()).toBe(true);
    expect(await p.getByRole('note').innerText()).toMatch(/No keychain is available/);
    await screenshot(p, 'e2e-vault-no-keychain');

    await p.getByRole('region', { name: 'No keychain' }).getByRole('button', { name: 'Ask every time' }).click();
    await expect.poll(() => create.isDisabled()).toBe(false);
    await create.click();
    const banner = p.getByRole('region', { name: 'Recovery kit not saved' });
    await banner.waitFor();
    expect(await p.getByRole('region', { name: 'Vault', exact: true }).innerText()).toContain('Memory, this session only');
    const [download] = await Promise.all([p.waitForEvent('download'), banner.getByRole('button', { name: 'Download recovery kit' }).click()]);
    const kit = readFileSync(await download.path(), 'utf8');
    password = /^Password:\s+(\S+)$/m.exec(kit)?.[1] ?? '';
    expect(password.length).toBeGreaterThan(20);
  });

  it('after a restart asks for the password: a wrong one is named as such, the right one opens the vault', async () => {
    const home = keyless!.home;
    await keyless!.stop();
    keyless = await startLifeboat({ env: NO_KEYCHAIN, home });
    const p = await other!.newPage();
    await p.goto(keyless.url);
    await p.getByRole('link', { name: 'Vault' }).click();
    const field = p.getByLabel('Vault password');
    await field.waitFor();
    // "Ask every time" outlives the restart; the password it held did not.
    expect(await p.getByRole('checkbox', { name: 'Remember for this session' }).isChecked()).toBe(true);
    await field.fill(`${password}x`);
    await p.getByRole('button', { name: 'Unlock' }).click();
    await p.getByText('Wrong password: it does not open this vault.').waitFor();
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    await screenshot(p, 'e2e-vault-unlock-wrong');
    await field.fill(password);
    await p.getByRole('button', { name: 'Unlock' }).click();
    await p.getByRole('region', { name: 'Vault', exact: true }).waitFor();
    expect(await callTwin('vault:status', {}, keyless)).toMatchObject({ data: { open: true, passwordStored: true } });
    // The page never holds the password once the form is gone.
    expect(await p.content()).not.toContain(password);
  });
});
