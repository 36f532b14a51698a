// Files dropped together on the Vault page are paired by the core: a Weavestream dump with its
// manifest becomes one snapshot holding both; a manifest dropped alone is refused by name.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { screenshot } from '../harness/browser';
import { dropFiles } from '../harness/drop-files';
import { useServedE2e } from '../harness/e2e-served';

const SAMPLES = path.resolve(import.meta.dirname, '..', 'fixtures', 'weavestream', 'default-compression');
const DUMP = 'weavestream-postgres-2026-11-23T13-16-59Z.dump';
const MANIFEST = 'weavestream-postgres-2026-11-23T13-16-59Z.manifest.json';
const file = (name: string) => ({ name, base64: readFileSync(path.join(SAMPLES, name)).toString('base64') });

const e2e = useServedE2e('drop-pairing');

describe('dropping an archive with its sidecar', () => {
  it('makes one snapshot holding the dump and its manifest', async () => {
    await e2e.page.goto(e2e.lifeboat.url);
    await e2e.page.getByRole('link', { name: 'Vault' }).click();
    await e2e.page.getByRole('region', { name: 'Vault', exact: true }).waitFor();
    await dropFiles(e2e.page, [file(DUMP), file(MANIFEST)]);
    const item = e2e.page.getByRole('button', { name: new RegExp(`^${DUMP.replace(/\./g, '\\.')} .* import `) });
    await item.waitFor({ timeout: 30_000 });
    expect(await e2e.page.locator('.timeline-button').count()).toBe(1);
    await item.click();
    const details = e2e.page.getByRole('article', { name: /^Snapshot / });
    await details.getByRole('table', { name: 'Files in the snapshot' }).getByText(`/${MANIFEST}`).waitFor();
    expect(await details.innerText()).toContain(MANIFEST);
    await screenshot(e2e.page, 'e2e-drop-dump-with-manifest');
  });

  it('refuses a manifest dropped without its dump, naming the dump', async () => {
    await dropFiles(e2e.page, [file(MANIFEST)]);
    await e2e.page.getByText(`${MANIFEST} is a sidecar of ${DUMP}, not an archive: drop it together with ${DUMP}.`).waitFor();
    expect(await e2e.page.locator('.timeline-button').count()).toBe(1);
    await screenshot(e2e.page, 'e2e-drop-lone-manifest');
  });
});
