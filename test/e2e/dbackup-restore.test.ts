/**
 * DBackup end to end in the system Chromium, against an in-process core and twin with the
 * DBackup fleet member behind it (real sshd holding a storage destination, the fake DBackup API
 * over TLS, PostgreSQL 15 with two databases, real pg_dump / pg_restore): the installation's
 * encryption key comes from a DBackup Recovery Kit ZIP imported on the Fleet page, the encrypted
 * multi-database backup previews with it, and the restore wizard restores one database of the
 * two (DBackup's database mapping) into the fleet's DBackup, to its report.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Decrypter, armor } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { startTwin, type Twin } from '../../src/main/contract/http-twin';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { Installation } from '../../src/shared/installations';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { screenshot, started, useBrowserPage } from '../harness/browser';
import { makeTestHome } from '../harness/home';
import { startDbackupApi, startDbackupFleet, type DbackupApiFleet, type DbackupFleet } from '../fleet/dbackup/fleet';
import { writeRawZip } from '../fleet/nojoin/zip-tools';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const NAME = 'DBackup office';
const view = useBrowserPage('dbackup-restore');
let core: Core | undefined;
let fleet: DbackupFleet | undefined;
let api: DbackupApiFleet | undefined;
let twin: Twin | undefined;
let installation: Installation | undefined;
let snapshotId = '';

const page = () => view.page;
const row = (): Locator => page().getByRole('listitem', { name: NAME });
const count = async (sql: string, db: string): Promise<number> => Number((await started(fleet, 'fleet').postgres.psql(sql, db)).trim());

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('e2e-dbackup'), secretStore: new MemorySecretStore('e2e dbackup') });
  fleet = await startDbackupFleet({ name: NAME });
  api = await startDbackupApi(fleet);
  const client = createInProcessClient(core);
  await client.call('vault:init', {});
  // HTTPS (the API key) and SSH (the destination folder); no encryption key yet: the kit brings it.
  installation = await client.call('installations:add', api.installation(NAME, { hybrid: true }));
  twin = await startTwin(core, { rendererDir: path.join(ROOT, 'dist', 'renderer') });
}, 120_000);

afterAll(async () => {
  await twin?.close();
  await core?.close();
  await api?.api.stop();
  await fleet?.stop();
});

describe('DBackup in the browser', () => {
  it('imports a DBackup Recovery Kit ZIP on the installation: its keys go to the keychain slots', async () => {
    const f = started(fleet, 'fleet');
    const kit = writeRawZip([
      { name: 'keys/keys.json', data: JSON.stringify({ version: 1, keys: [{ profileId: f.profileId, name: 'Office', file: 'office.key' }, { profileId: 'cmoffsite', name: 'Offsite copy', file: 'offsite.key' }] }) },
      { name: 'keys/office.key', data: f.keyHex },
      { name: 'keys/offsite.key', data: 'ab'.repeat(32) },
      { name: 'README.txt', data: 'DBackup Recovery Kit' },
    ]);
    await page().goto(started(twin, 'twin').url);
    await row().waitFor();
    const chooser = row().getByText('Import DBackup Recovery Kit…');
    await chooser.waitFor();
    await screenshot(page(), 'e2e-dbackup-1-fleet');
    // A ZIP that is no kit is refused by name.
    await row().locator('.key-file-import input[type="file"]').setInputFiles({ name: 'holiday-photos.zip', mimeType: 'application/zip', buffer: writeRawZip([{ name: 'IMG_0001.jpg', data: 'jpeg' }]) });
    await row().getByText(/Not a DBackup Recovery Kit: it holds neither master\.key nor keys\/keys\.json/).waitFor({ timeout: 20_000 });
    await screenshot(page(), 'e2e-dbackup-2-not-a-kit');
    await row().locator('.key-file-import input[type="file"]').setInputFiles({ name: 'recovery_kit_2_profiles.zip', mimeType: 'application/zip', buffer: kit });
    await row().getByRole('status').getByText(/Stored with the installation’s secrets: master key of DBackup encryption profile Office/).waitFor({ timeout: 20_000 });
    await screenshot(page(), 'e2e-dbackup-3-kit-imported');
    const stored = await started(core, 'core').registry.get(installation!.id);
    expect(stored.secretPurposes).toEqual(expect.arrayContaining([`encryption-key:${f.profileId}`, 'encryption-key:cmoffsite']));
    expect(await started(core, 'core').registry.secret(installation!.id, `encryption-key:${f.profileId}`)).toBe(f.keyHex);
  });

  it('previews the encrypted multi-database backup with the imported key', async () => {
    const c = started(core, 'core');
    const client = createInProcessClient(c);
    const pulled = await c.jobs.wait((await client.call('apps:pull', { installationId: installation!.id, remoteId: started(fleet, 'fleet').seeded.multiDb })).jobId);
    expect(pulled.status, pulled.error?.message).toBe('succeeded');
    snapshotId = (pulled.result as PullResult).snapshotId;
    await page().goto(`${started(twin, 'twin').url.split('#')[0]}#/fleet/preview/${snapshotId}`);
    await page().locator('.preview-summary').waitFor({ timeout: 30_000 });
    // No key prompt: the installation holds the key now.
    expect(await page().getByRole('form', { name: 'Key needed' }).count()).toBe(0);
    const text = await page().locator('main').innerText();
    expect(text).toContain('AES-256-GCM');
    await screenshot(page(), 'e2e-dbackup-4-preview');
    await page().getByRole('tab', { name: 'Contents' }).click();
    const contents = await page().locator('main').innerText();
    expect(contents).toContain('analytics');
    expect(contents).toContain('loomio_production');
    expect(contents).toMatch(/page_views/);
    await screenshot(page(), 'e2e-dbackup-5-preview-contents');
  });

  it('restores one database of the two into DBackup (database mapping), the other left as it is', async () => {
    // Both databases change; only analytics is restored.
    await started(fleet, 'fleet').postgres.psql('DELETE FROM page_views WHERE id > 100;', 'analytics');
    await started(fleet, 'fleet').postgres.psql("INSERT INTO users (email) VALUES ('after-the-backup@example.org');", 'loomio_production');
    expect(await count('SELECT count(*) FROM page_views;', 'analytics')).toBe(100);
    const usersBefore = await count('SELECT count(*) FROM users;', 'loomio_production');

    await page().goto(`${started(twin, 'twin').url.split('#')[0]}#/fleet/restore/${installation!.id}/${snapshotId}`);
    const wizard = page().locator('.wizard');
    const next = wizard.getByRole('button', { name: 'Next' });
    await wizard.getByRole('list', { name: 'Vault snapshots' }).waitFor({ timeout: 30_000 });
    await next.click();
    expect(await wizard.getByRole('radio', { name: NAME }).isChecked()).toBe(true);
    await next.click();
    await wizard.getByRole('radio', { name: /Chosen databases/ }).check();
    const items = wizard.getByRole('list', { name: 'Items to restore' });
    await items.waitFor({ timeout: 30_000 });
    await items.getByRole('checkbox', { name: 'analytics' }).check();
    await screenshot(page(), 'e2e-dbackup-6-restore-mode');
    await next.click();
    const pointOfNoReturn = wizard.getByTestId('point-of-no-return');
    await pointOfNoReturn.waitFor({ timeout: 60_000 });
    expect(await wizard.locator('.check-list li[data-ok="false"]').count()).toBe(0);
    const changes = wizard.getByRole('table', { name: 'Planned changes' });
    expect(await changes.innerText()).toMatch(/database analytics on DBackup source Loomio Postgres/);
    expect(await changes.innerText()).toMatch(/database loomio_production \(not chosen\)/);
    await screenshot(page(), 'e2e-dbackup-7-plan');
    await next.click();
    await screenshot(page(), 'e2e-dbackup-8-safety');
    await next.click();
    await wizard.getByLabel(/to confirm/).fill(NAME);
    await wizard.getByRole('button', { name: `Restore ${NAME}` }).click();
    const report = wizard.getByRole('region', { name: 'Restore report' });
    await report.waitFor({ timeout: 120_000 });
    expect(await report.locator('.check-list li[data-ok="false"]').count()).toBe(0);
    expect(await report.innerText()).toMatch(/DBackup's restore.*Success/s);
    await screenshot(page(), 'e2e-dbackup-9-report');

    // In PostgreSQL: analytics is back as in the backup; loomio_production kept its new row.
    expect(await count('SELECT count(*) FROM page_views;', 'analytics')).toBe(300);
    expect(await count('SELECT count(*) FROM users;', 'loomio_production')).toBe(usersBefore);
    expect(started(api, 'api').api.restores.at(-1)).toMatchObject({ databases: ['analytics'] });
    // The safety pull ran first: DBackup's job made a fresh backup, and it is in the vault.
    const safety = (await started(core, 'core').vault.snapshots({ installationId: installation!.id })).filter((s) => s.source === 'pre-restore');
    expect(safety).toHaveLength(1);
  });

  it('makes the recovery kit with app keys on the Vault page, after its warning, as an age file carrying the imported key', async () => {
    await page().goto(`${started(twin, 'twin').url.split('#')[0]}#/vault`);
    await page().getByRole('button', { name: 'Recovery kit with app keys…' }).click();
    const dialog = page().getByRole('dialog', { name: 'Recovery kit with app keys' });
    await dialog.waitFor();
    const make = dialog.getByRole('button', { name: 'Make and download the kit' });
    await dialog.getByLabel(/^Passphrase/).fill('too short');
    await dialog.getByLabel('The same passphrase again').fill('too short');
    await dialog.getByRole('checkbox', { name: /I understand/ }).check();
    expect(await make.isDisabled()).toBe(true);
    const passphrase = 'correct horse battery staple';
    await dialog.getByLabel(/^Passphrase/).fill(passphrase);
    await dialog.getByLabel('The same passphrase again').fill(`${passphrase}!`);
    await dialog.getByText('The two passphrases differ.').waitFor();
    await dialog.getByLabel('The same passphrase again').fill(passphrase);
    await screenshot(page(), 'e2e-dbackup-10-kit-dialog');
    const [download] = await Promise.all([page().waitForEvent('download'), make.click()]);
    expect(download.suggestedFilename()).toMatch(/^lifeboat-recovery-kit-[0-9a-f]{8}-with-app-keys\.txt\.age$/);
    const armored = readFileSync(await download.path(), 'utf8');
    expect(armored.startsWith('-----BEGIN AGE ENCRYPTED FILE-----')).toBe(true);
    expect(armored).not.toContain(started(fleet, 'fleet').keyHex);
    await dialog.getByText(/2 app keys, encrypted with age/).waitFor();
    await screenshot(page(), 'e2e-dbackup-11-kit-made');
    const decrypter = new Decrypter();
    decrypter.addPassphrase(passphrase);
    const text = await decrypter.decrypt(armor.decode(armored), 'text');
    expect(text).toContain(`Installation "${NAME}" (dbackup`);
    expect(text).toContain(started(fleet, 'fleet').keyHex);
  });
});
