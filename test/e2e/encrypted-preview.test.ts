// An encrypted archive dropped on the window (DBackup's real sample with its .meta.json) asks for
// its key once, keeps it in memory for the session, and then shows what is inside.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { screenshot } from '../harness/browser';
import { dropFiles } from '../harness/drop-files';
import { useServedE2e } from '../harness/e2e-served';

const DIR = path.resolve(import.meta.dirname, '..', 'fixtures', 'dbackup', 'Loomio DB');
const ARCHIVE = 'Loomio_DB_2026-11-23_13-12-50.sql.gz.enc';
const SIDECAR = `${ARCHIVE}.meta.json`;
// The sample profile's master key, from test/fixtures/dbackup/README.md.
const KEY = '920ce81f1f50362981876baeb0f6646a71c591cfe38d835e06cdc476873b0833';
const file = (name: string) => ({ name, base64: readFileSync(path.join(DIR, name)).toString('base64') });

const e2e = useServedE2e('encrypted-preview');

describe('an encrypted archive dropped on the window', () => {
  it('asks for its key, then previews the database inside', async () => {
    await e2e.page.goto(e2e.lifeboat.url);
    await e2e.page.getByRole('heading', { level: 1, name: 'Fleet' }).waitFor();
    await dropFiles(e2e.page, [file(ARCHIVE), file(SIDECAR)], 'main');
    const prompt = e2e.page.getByRole('form', { name: 'Key needed' });
    await prompt.waitFor({ timeout: 30_000 });
    await screenshot(e2e.page, 'e2e-encrypted-key-prompt');
    await prompt.getByLabel(/Encryption Profile|key/i).fill('00'.repeat(32));
    await prompt.getByRole('button', { name: 'Read it with this key' }).click();
    // A wrong key is said to be wrong, and asked for again (not called a damaged file).
    await prompt.locator('.alert-danger', { hasText: /the key does not decrypt this file/ }).waitFor({ timeout: 30_000 });
    await screenshot(e2e.page, 'e2e-encrypted-wrong-key');
    await prompt.getByLabel(/Encryption Profile|key/i).fill(KEY);
    await prompt.getByRole('button', { name: 'Read it with this key' }).click();
    await prompt.waitFor({ state: 'hidden', timeout: 30_000 });
    expect(await e2e.page.locator('.preview-summary').innerText()).toContain('DBackup');
    await e2e.page.getByRole('tab', { name: 'Contents' }).click();
    expect(await e2e.page.locator('main').innerText()).toMatch(/discussions|comments|users/);
    await screenshot(e2e.page, 'e2e-encrypted-preview');
  });
});
