/**
 * The Loomio Pi stack end to end in the system Chromium: its fleet member (real OpenSSH sshd,
 * PostgreSQL 15, backups by the real pg_dump encrypted as backup.py does, a restore leftover on the
 * server) added through the Add installation form, its host key trusted, the plaintext leftover
 * shown on the fleet row, the newest backup pulled, previewed (tier, Fernet time, COPY counts,
 * the stack's warnings), and restored with a full replace after live rows changed, to a verified
 * report whose counts are the archive's; then a file from another stack (another
 * BACKUP_ENCRYPTION_KEY), its key asked for in the wizard, restored into it: decrypted with that
 * key, the copy left on the Pi encrypted with the installation's own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { deriveFernetKey, fernetKeyId } from '../../src/main/formats/fernet';
import { LOOMIO_KDF } from '../../src/main/apps/loomio/key';
import { encryptWith, pythonFernet, startLoomioFleet } from '../fleet/loomio/fleet';
import { LOOMIO_SAMPLES } from '../fleet/loomio/samples';
import { screenshot } from '../harness/browser';
import { useCoreE2e } from '../harness/e2e-fleet';
import { rowAction } from '../harness/fleet-row';

const NAME = 'Loomio on the Pi';
const SAMPLE = path.resolve(import.meta.dirname, '..', 'fixtures', 'loomio', 'loomio-hourly-20261123-131211.sql.enc');
const e2e = useCoreE2e('loomio', () => startLoomioFleet({ name: NAME }));

const page = () => e2e.page;
const row = (): Locator => page().getByRole('listitem', { name: NAME });
const strip = (): Locator => page().getByRole('group', { name: `Backups of ${NAME}` });
const installationId = async (): Promise<string> => (await e2e.core.registry.list()).find((i) => i.name === NAME)!.id;

describe('Loomio Pi stack in the UI', () => {
  it('adds the stack through the form (SSH, stack settings, BACKUP_ENCRYPTION_KEY), trusts its host key, and shows the plaintext leftover as a security finding', async () => {
    await page().goto(e2e.twin.url);
    await page().getByRole('button', { name: 'Add installation' }).click();
    const dialog = page().getByRole('dialog', { name: 'Add installation' });
    await dialog.getByLabel('Name', { exact: true }).fill(NAME);
    await dialog.getByLabel('App', { exact: true }).selectOption({ label: 'Loomio Pi stack' });
    const ssh = e2e.fleet.installation.ssh!;
    await dialog.getByLabel('Host', { exact: true }).fill(ssh.host);
    await dialog.getByLabel('Port', { exact: true }).fill(String(ssh.port));
    await dialog.getByLabel('User', { exact: true }).fill(ssh.user!);
    await dialog.getByRole('radio', { name: 'Key file' }).check();
    await dialog.getByLabel('Private key file').fill(ssh.keyFile!);
    const settings = e2e.fleet.installation.settings as Record<string, string>;
    const labels: Record<string, string> = {
      stackDir: 'Stack directory', stopCommand: 'Stop command', startCommand: 'Start command', psqlCommand: 'psql command', backupCommand: 'Backup command', statusCommand: 'Status command',
      databaseHost: 'Database host (from the server)', databasePort: 'Database port', databaseName: 'Database name', databaseUser: 'Database user',
    };
    for (const [key, label] of Object.entries(labels)) await dialog.getByLabel(label, { exact: true }).fill(settings[key]!);
    await dialog.getByLabel('Expected backup every (hours)').fill('1');
    await dialog.getByLabel('BACKUP_ENCRYPTION_KEY (optional)').fill(e2e.fleet.passphrase);
    await screenshot(page(), 'e2e-loomio-1-add');
    await dialog.getByRole('button', { name: 'Add installation' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const trust = page().getByRole('dialog', { name: 'Trust this SSH host key?' });
    await trust.waitFor({ timeout: 20_000 });
    expect(await trust.getByTestId('fp-fingerprint').innerText()).toBe(ssh.hostKeySha256);
    await trust.getByRole('button', { name: 'Trust and connect' }).click();
    await row().locator('[data-state="online"]').waitFor({ timeout: 30_000 });
    // The key went to the keychain, not into the installation file.
    const installation = (await e2e.core.registry.list()).find((i) => i.name === NAME)!;
    expect(JSON.stringify(installation)).not.toContain(e2e.fleet.passphrase);

    // The newest file on the server is today's daily; the restore leftover is never listed, but named as a finding.
    await strip().getByTestId('newest-remote').getByText(e2e.fleet.seeded.daily).waitFor({ timeout: 30_000 });
    const finding = row().getByTestId('security-finding');
    await finding.waitFor({ timeout: 20_000 });
    const findingText = await finding.innerText();
    expect(findingText).toContain('plaintext database dump is lying on the server');
    expect(findingText).toContain('restore_1763900000.sql');
    expect(findingText).toMatch(/\d+(\.\d)? (B|KiB|MiB)/);
    expect(findingText).toMatch(/old\b/);
    await screenshot(page(), 'e2e-loomio-2-fleet-row');
  });

  it('pulls the newest backup: its Fernet HMAC verified while it streams, and the snapshot appears', async () => {
    await rowAction(page(), NAME, `Pull newest backup of ${NAME}`);
    await strip().getByText('Pulled into snapshot').waitFor({ timeout: 60_000 });
    const summary = await strip().locator('.job-summary').innerText();
    expect(summary).toMatch(/Succeeded/);
    expect(summary).toMatch(/\d+ checks? passed/);
    const snapshots = await e2e.core.vault.snapshots({ installationId: await installationId() });
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]!.remoteId?.replace(/@m?\d+$/, '')).toBe(e2e.fleet.seeded.daily);
    await strip().getByTestId('newest-snapshot').getByText(snapshots[0]!.id.slice(0, 8)).waitFor();
    await screenshot(page(), 'e2e-loomio-3-pulled');
  });

  it('previews it: HMAC verified, tier daily, the Fernet time, the COPY counts of the live tables, the stack\'s warnings', async () => {
    await rowAction(page(), NAME, `Preview the newest snapshot of ${NAME}`);
    const integrity = page().getByTestId('integrity');
    await integrity.waitFor({ timeout: 30_000 });
    expect(await integrity.locator('.pill').innerText()).toContain('✓ verified');
    expect(await integrity.locator('li[data-ok="false"]').count()).toBe(0);
    expect(await integrity.innerText()).toContain('Fernet HMAC');
    const facts = await page().locator('.facts').innerText();
    expect(facts).toMatch(/Tier\s+daily/);
    // Shown relative ("just now"), the exact time on hover; never as ISO text.
    expect(facts).toMatch(/Fernet time\s+(just now|\d+ \w+ ago)/);
    expect(facts).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    expect(facts).toMatch(/Dumped by pg_dump\s+15\./);
    const warnings = await page().locator('.preview-summary').getByRole('note').innerText();
    expect(warnings).toContain('named by its day only');
    expect(warnings).toMatch(/retention deletes this daily file from the Pi in \d+ days/);
    await screenshot(page(), 'e2e-loomio-4-preview-summary');

    await page().getByRole('tab', { name: 'Contents' }).click();
    const table = page().getByRole('table', { name: 'Tables (rows in their COPY blocks)' });
    await table.waitFor();
    const shown: Record<string, number> = {};
    for (const tr of await table.locator('tbody tr').all()) {
      const [name, rows] = await tr.locator('td').allInnerTexts();
      shown[name!.replace(/^public\./, '')] = Number(rows!.replace(/\D/g, ''));
    }
    // The daily was dumped from the seed database, which nothing changed since.
    expect(shown).toEqual(await e2e.fleet.counts());
    await screenshot(page(), 'e2e-loomio-5-preview-contents');
  });

  it('restores it with a full replace after live rows changed: safety pull, typed confirmation, a verified report whose counts are the archive\'s', async () => {
    const archived = await e2e.fleet.counts();
    await e2e.fleet.psql(`DELETE FROM comments WHERE id > 100; INSERT INTO users (email) VALUES ('intruder@example.org');`);
    const changed = await e2e.fleet.counts();
    expect(changed.comments).toBeLessThan(archived.comments!);

    await page().goto(`${e2e.twin.url.split('#')[0]}#/fleet`);
    await rowAction(page(), NAME, `Restore ${NAME}…`);
    const wizard = page().locator('.wizard');
    const next = wizard.getByRole('button', { name: 'Next' });
    await wizard.getByRole('list', { name: 'Vault snapshots' }).waitFor();
    await next.click();
    expect(await wizard.getByRole('radio', { name: NAME }).isChecked()).toBe(true);
    await next.click();
    await wizard.getByRole('radio', { name: /Full replace/ }).check();
    await screenshot(page(), 'e2e-loomio-6-restore-mode');
    await next.click();

    const pointOfNoReturn = wizard.getByTestId('point-of-no-return');
    await pointOfNoReturn.waitFor({ timeout: 60_000 });
    expect(await wizard.locator('.check-list li[data-ok="false"]').count()).toBe(0);
    const changes = wizard.getByRole('table', { name: 'Planned changes' });
    const commentsRow = changes.locator('tr', { has: page().locator('td', { hasText: /^public\.comments$/ }) });
    expect(await commentsRow.locator('td').nth(2).innerText()).toBe(String(changed.comments));
    expect(await commentsRow.locator('td').nth(3).innerText()).toBe(String(archived.comments));
    await screenshot(page(), 'e2e-loomio-7-restore-plan');
    await next.click();
    // The safety pull stays on: the stack's manual backup of the live database, pulled and verified first.
    await next.click();

    const go = wizard.getByRole('button', { name: `Restore ${NAME}` });
    const typed = wizard.getByLabel(/to confirm/);
    expect(await go.isDisabled()).toBe(true);
    await typed.fill(NAME.toUpperCase());
    expect(await go.isDisabled()).toBe(true);
    await typed.fill(NAME);
    expect(await go.isEnabled()).toBe(true);
    await screenshot(page(), 'e2e-loomio-8-restore-confirm');
    await go.click();

    const report = wizard.getByRole('region', { name: 'Restore report' });
    await report.waitFor({ timeout: 120_000 });
    expect(await report.locator('.pill').innerText()).toContain('✓ restore verified');
    expect(await report.locator('.check-list li[data-ok="false"]').count()).toBe(0);
    const reportText = await report.innerText();
    expect(reportText).toMatch(/Services running again\s+app, worker, channels, hocuspocus running/);
    for (const [table, rows] of Object.entries(archived)) expect(reportText).toMatch(new RegExp(`Rows of public\\.${table}\\s+${rows} rows live, ${rows} in the dump`));
    await screenshot(page(), 'e2e-loomio-9-restore-report');

    // The database holds the archive's rows again, every service runs, and the state before is in the vault.
    expect(await e2e.fleet.counts()).toEqual(archived);
    expect(await e2e.fleet.services()).toEqual({ app: true, worker: true, channels: true, hocuspocus: true });
    const safety = (await e2e.core.vault.snapshots({ installationId: await installationId() })).filter((s) => s.source === 'pre-restore');
    expect(safety).toHaveLength(1);
    expect(await report.getByTestId('safety-snapshot').innerText()).toContain(safety[0]!.id.slice(0, 8));
  });

  it('previews a Loomio file of no installation with a key asked for once: a wrong key is said to be probably wrong and asked for again', async () => {
    await page().goto(`${e2e.twin.url.split('#')[0]}#/fleet/preview`);
    await page().locator('input[type="file"]').setInputFiles(SAMPLE);
    const prompt = page().getByRole('form', { name: 'Key needed' });
    await prompt.waitFor({ timeout: 30_000 });
    await prompt.getByLabel('BACKUP_ENCRYPTION_KEY').fill('0'.repeat(64));
    await prompt.getByRole('button', { name: 'Read it with this key' }).click();
    await prompt.locator('.alert-danger', { hasText: /probably the wrong key/ }).waitFor({ timeout: 30_000 });
    // Nothing read from a token that did not verify is shown.
    expect(await page().getByTestId('integrity').locator('.pill').innerText()).toMatch(/failed/);
    await screenshot(page(), 'e2e-loomio-10-file-wrong-key');
    await prompt.getByLabel('BACKUP_ENCRYPTION_KEY').fill(LOOMIO_SAMPLES.passphrase);
    await prompt.getByRole('button', { name: 'Read it with this key' }).click();
    await prompt.waitFor({ state: 'hidden', timeout: 30_000 });
    expect(await page().getByTestId('integrity').locator('.pill').innerText()).toContain('✓ verified');
    const fernetTime = page().locator('.facts time').first();
    expect(await fernetTime.getAttribute('datetime')).toBe('2026-11-23T13:12:11.000Z');
    await screenshot(page(), 'e2e-loomio-11-file-preview');
  });

  it('restores a file from another stack into it: the key asked for in the wizard decrypts, the copy left on the Pi is under the installation\'s own key', async () => {
    // Another stack's backup of this data: another BACKUP_ENCRYPTION_KEY.
    const otherPassphrase = randomBytes(32).toString('hex');
    const otherKey = await deriveFernetKey(otherPassphrase, LOOMIO_KDF);
    await e2e.fleet.psql(`INSERT INTO groups (name) VALUES ('moved from the other stack');`);
    const archived = await e2e.fleet.counts();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-e2e-loomio-'));
    const file = path.join(dir, 'loomio-manual-20261201-101010-other-stack.sql.enc');
    await writeFile(file, await encryptWith(otherKey, await e2e.fleet.dumpPlain()), { mode: 0o600 });
    await e2e.fleet.psql(`DELETE FROM comments WHERE id > 50;`);

    await page().goto(`${e2e.twin.url.split('#')[0]}#/fleet/preview`);
    await page().locator('input[type="file"]').setInputFiles(file);
    const previewPrompt = page().getByRole('form', { name: 'Key needed' });
    await previewPrompt.waitFor({ timeout: 30_000 });
    await previewPrompt.getByLabel('BACKUP_ENCRYPTION_KEY').fill(otherPassphrase);
    await previewPrompt.getByRole('button', { name: 'Read it with this key' }).click();
    await previewPrompt.waitFor({ state: 'hidden', timeout: 30_000 });
    expect(await page().getByTestId('integrity').locator('.pill').innerText()).toContain('✓ verified');
    // The session forgets typed keys (as a restart of Lifeboat does): the wizard has to ask again.
    e2e.core.sessionKeys.forget();
    await page().getByRole('region', { name: 'What to do with this file' }).getByRole('link', { name: `Restore into ${NAME}…` }).click();
    const wizard = page().locator('.wizard');
    const next = wizard.getByRole('button', { name: 'Next' });
    await wizard.getByText(`Chosen file: ${path.basename(file)}`).waitFor();
    await next.click();
    await next.click();
    await wizard.getByRole('radio', { name: /Full replace/ }).check();
    await next.click();

    // The installation's own key does not open it: the plan is blocked and the wizard asks for the file's key.
    const prompt = wizard.getByRole('form', { name: 'Key needed' });
    await prompt.waitFor({ timeout: 60_000 });
    expect(await prompt.locator('.alert-danger').innerText()).toMatch(/probably the wrong key/);
    expect(await next.isDisabled()).toBe(true);
    await screenshot(page(), 'e2e-loomio-12-restore-key-prompt');
    await prompt.getByLabel('BACKUP_ENCRYPTION_KEY').fill(otherPassphrase);
    await prompt.getByRole('button', { name: 'Read it with this key' }).click();
    await wizard.getByTestId('point-of-no-return').waitFor({ timeout: 60_000 });
    expect(await wizard.locator('.check-list li[data-ok="false"][data-blocking="true"]').count()).toBe(0);
    const keys = await wizard.locator('.check-list li', { hasText: 'Keys' }).innerText();
    expect(keys).toContain(`Decrypted with the BACKUP_ENCRYPTION_KEY given this session for local file ${path.basename(file)}, key ${fernetKeyId(otherKey)}.`);
    expect(keys).toContain(`encrypted with "${NAME}"'s BACKUP_ENCRYPTION_KEY, key ${fernetKeyId(e2e.fleet.key)}`);
    await screenshot(page(), 'e2e-loomio-13-restore-keys-plan');
    await next.click();
    await next.click();
    await wizard.getByLabel(/to confirm/).fill(NAME);
    await wizard.getByRole('button', { name: `Restore ${NAME}` }).click();
    const report = wizard.getByRole('region', { name: 'Restore report' });
    await report.waitFor({ timeout: 120_000 });
    expect(await report.locator('.pill').innerText()).toContain('✓ restore verified');
    expect(await report.innerText()).toMatch(new RegExp(`Backup of the restored state\\s+loomio-manual-\\d{8}-\\d{6}-lifeboat-restore\\.sql\\.enc .*verifies with "${NAME}"'s BACKUP_ENCRYPTION_KEY`));
    expect(await e2e.fleet.counts()).toEqual(archived);

    // The copy on the Pi opens with the installation's key (Python's Fernet), not with the file's.
    const copies = (await readdir(e2e.fleet.backupDir)).filter((n) => n.endsWith('-lifeboat-restore.sql.enc')).sort();
    const copy = path.join(e2e.fleet.backupDir, copies[copies.length - 1]!);
    expect(pythonFernet(copy, e2e.fleet.key).ok).toBe(true);
    expect(pythonFernet(copy, otherKey)).toEqual({ ok: false, error: 'InvalidToken' });
  });
});
