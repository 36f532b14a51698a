// A dropped DBackup file of no installation asks for its key; a Recovery Kit ZIP chosen at the
// prompt gives it: the kit's master.key goes to the profile the sidecar names (for this session).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { screenshot } from '../harness/browser';
import { dropFiles } from '../harness/drop-files';
import { useServedE2e } from '../harness/e2e-served';
import { writeRawZip } from '../fleet/nojoin/zip-tools';
import { SAMPLE_KEY_HEX } from '../fleet/dbackup/writer';

const DIR = path.resolve(import.meta.dirname, '..', 'fixtures', 'dbackup', 'Loomio DB');
const ARCHIVE = 'Loomio_DB_2026-11-23_13-12-50.sql.gz.enc';
const file = (name: string) => ({ name, base64: readFileSync(path.join(DIR, name)).toString('base64') });

const e2e = useServedE2e('dbackup-kit-prompt');

describe('the key prompt of a dropped DBackup file', () => {
  it('takes a DBackup Recovery Kit ZIP, and refuses a ZIP that is none', async () => {
    await e2e.page.goto(e2e.lifeboat.url);
    await e2e.page.getByRole('heading', { level: 1, name: 'Fleet' }).waitFor();
    await dropFiles(e2e.page, [file(ARCHIVE), file(`${ARCHIVE}.meta.json`)], 'main');
    const prompt = e2e.page.getByRole('form', { name: 'Key needed' });
    await prompt.waitFor({ timeout: 30_000 });
    const chooser = prompt.locator('.key-file-import input[type="file"]');
    await chooser.setInputFiles({ name: 'notes.zip', mimeType: 'application/zip', buffer: writeRawZip([{ name: 'notes.txt', data: 'no key here' }]) });
    await prompt.getByText(/Not a DBackup Recovery Kit: it holds neither master\.key nor keys\/keys\.json/).waitFor({ timeout: 20_000 });
    await screenshot(e2e.page, 'e2e-dbackup-kit-prompt-refused');
    await chooser.setInputFiles({ name: 'recovery_kit_primary.zip', mimeType: 'application/zip', buffer: writeRawZip([{ name: 'master.key', data: SAMPLE_KEY_HEX }, { name: 'README.txt', data: 'kit' }]) });
    await prompt.waitFor({ state: 'hidden', timeout: 30_000 });
    await e2e.page.getByRole('tab', { name: 'Contents' }).click();
    expect(await e2e.page.locator('main').innerText()).toMatch(/discussions|comments|users/);
    await screenshot(e2e.page, 'e2e-dbackup-kit-prompt-preview');
  });
});
