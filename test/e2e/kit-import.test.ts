// The Vault page imports Lifeboat's combined recovery kit (age file + passphrase): it opens the kit
// first and shows what it would take over (the vault, each installation's app keys), then imports;
// afterwards a DBackup archive previews on this Lifeboat with the key that came from the kit alone.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { keySlot } from '../../src/main/apps/dbackup/keys';
import { screenshot, twinCall, type TwinAnswer } from '../harness/browser';
import { useServedE2e } from '../harness/e2e-served';
import { makeTestHome } from '../harness/home';
import { testSecret } from '../harness/secrets';
import { SAMPLE_KEY_HEX, SAMPLE_PROFILE_ID } from '../fleet/dbackup/writer';

const DIR = path.resolve(import.meta.dirname, '..', 'fixtures', 'dbackup', 'Loomio DB');
const ARCHIVE = path.join(DIR, 'Loomio_DB_2026-11-23_13-12-50.sql.gz.enc');
const passphrase = testSecret('e2e-kit-passphrase');
let maker: Core;
let kit: { fileName: string; text: string };

const e2e = useServedE2e('kit-import');

const callTwin = (name: string, input: unknown): Promise<TwinAnswer> => twinCall(e2e.lifeboat, name, input);

beforeAll(async () => {
  // Another Lifeboat made the kit: its own vault and a DBackup installation holding a profile key.
  maker = await createCore({ home: makeTestHome('kit-maker-e2e'), secretStore: new MemorySecretStore('kit maker') });
  const client = createInProcessClient(maker);
  await client.call('vault:init', {});
  await client.call('installations:add', { name: 'DBackup prod', app: 'dbackup', https: { baseUrl: 'https://127.0.0.1:9', auth: 'bearer' }, settings: {}, secrets: { 'api-token': testSecret('api-token'), [keySlot(SAMPLE_PROFILE_ID)]: SAMPLE_KEY_HEX } });
  kit = await client.call('vault:recovery-kit', { appKeys: { passphrase } });
});

afterAll(async () => {
  await maker?.close();
});

describe('importing a combined recovery kit on the Vault page', () => {
  it('shows what the kit holds, then imports its keys; the DBackup archive then opens with them', async () => {
    const page = e2e.page;
    await page.goto(e2e.lifeboat.url);
    await page.getByRole('link', { name: 'Vault' }).click();
    await page.getByRole('button', { name: 'Import a recovery kit…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import a recovery kit' });
    await dialog.locator('input[type="file"]').setInputFiles({ name: kit.fileName, mimeType: 'text/plain', buffer: Buffer.from(kit.text) });
    await dialog.getByText(`Kit: ${kit.fileName}`).waitFor({ timeout: 20_000 });
    // A wrong passphrase is refused in plain words.
    await dialog.getByLabel('The kit’s passphrase').fill('not the passphrase at all');
    await dialog.getByRole('button', { name: 'Open the kit' }).click();
    await dialog.getByText('The passphrase does not open this recovery kit.').waitFor({ timeout: 30_000 });
    await dialog.getByLabel('The kit’s passphrase').fill(passphrase);
    await dialog.getByRole('button', { name: 'Open the kit' }).click();
    const contents = dialog.getByTestId('kit-contents');
    await contents.waitFor({ timeout: 30_000 });
    const text = await contents.innerText();
    expect(text).toMatch(/Another vault \([0-9a-f]{8} at .*\): this Lifeboat keeps its own/);
    expect(text).toContain('DBackup prod (dbackup) — a new installation');
    expect(text).toContain(`Encryption Profile master key (${SAMPLE_PROFILE_ID})`);
    expect(text).not.toContain(SAMPLE_KEY_HEX);
    await screenshot(page, 'e2e-kit-import-contents');
    expect((await callTwin('installations:list', {})).data).toEqual([]);

    await dialog.getByRole('button', { name: 'Import these keys' }).click();
    const report = dialog.getByTestId('kit-import-report');
    await report.waitFor({ timeout: 30_000 });
    expect(await report.innerText()).toMatch(/DBackup prod \(dbackup\): 1 key stored on a new installation/);
    await screenshot(page, 'e2e-kit-import-done');

    const installations = (await callTwin('installations:list', {})).data as { id: string; name: string }[];
    const prod = installations.find((i) => i.name === 'DBackup prod');
    expect(prod).toBeDefined();
    const started = await callTwin('apps:preview', { source: { path: ARCHIVE }, installationId: prod!.id });
    const jobId = (started.data as { jobId: string }).jobId;
    type Job = { status: string; result?: { integrity: { ok: boolean } } };
    await expect.poll(async () => ((await callTwin('jobs:get', { id: jobId })).data as Job).status, { timeout: 60_000 }).toMatch(/succeeded|failed|cancelled/);
    const job = (await callTwin('jobs:get', { id: jobId })).data as Job;
    expect(job.status).toBe('succeeded');
    expect(job.result?.integrity.ok).toBe(true);
  });
});
