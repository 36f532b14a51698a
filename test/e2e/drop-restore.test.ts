// Drop a backup file anywhere on the window (here: the Fleet page), see what is inside, and restore
// it: the core tells the app from the content and pairs the manifest dropped with the dump; the
// preview offers "Restore into …" for the installations of that app, and the wizard starts with
// the dropped file as its source and ends with the verification report.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { screenshot } from '../harness/browser';
import { dropFiles } from '../harness/drop-files';
import { useFleetE2e } from '../harness/e2e-fleet';

const e2e = useFleetE2e('drop-restore');

describe('a backup file dropped on the window', () => {
  it('is previewed, then restored into an installation of its app, verified', async () => {
    const { backupDir } = e2e.fleet.weavestream;
    const dump = readdirSync(backupDir).filter((n) => n.endsWith('.dump')).sort()[0]!;
    const manifest = dump.replace(/\.dump$/, '.manifest.json');
    const file = (name: string) => ({ name, base64: readFileSync(path.join(backupDir, name)).toString('base64') });
    const before = await e2e.fleet.weavestream.counts();
    await e2e.fleet.weavestream.psql('DELETE FROM audit_log;');

    // The link with the token first (it stays in this tab's sessionStorage), then the Fleet page.
    await e2e.page.goto(e2e.twin.url);
    await e2e.page.goto(`${e2e.twin.url.split('#')[0]}#/fleet`);
    await e2e.page.getByRole('listitem', { name: e2e.fleet.installations.weavestream.name }).waitFor();
    await dropFiles(e2e.page, [file(dump), file(manifest)], '.fleet-list');
    // The preview: told from its content, with the manifest that came along.
    await e2e.page.getByText(`With its sidecar: ${manifest}`).waitFor({ timeout: 20_000 });
    const actions = e2e.page.getByRole('region', { name: 'What to do with this file' });
    await actions.waitFor({ timeout: 30_000 });
    expect(await e2e.page.locator('.preview-summary').innerText()).toContain('Weavestream');
    await screenshot(e2e.page, 'e2e-drop-restore-preview');

    await actions.getByRole('link', { name: `Restore into ${e2e.fleet.installations.weavestream.name}…` }).click();
    const wizard = e2e.page.locator('.wizard');
    const next = wizard.getByRole('button', { name: 'Next' });
    await wizard.getByText(`Chosen file: ${dump}`).waitFor();
    await next.click();
    await next.click();
    await wizard.getByRole('radio', { name: /Full replace/ }).check();
    await next.click();
    await wizard.getByTestId('point-of-no-return').waitFor({ timeout: 30_000 });
    expect(await wizard.locator('.check-list li[data-ok="false"][data-blocking="true"]').count()).toBe(0);
    await next.click();
    await next.click();
    await wizard.getByLabel(/to confirm/).fill(e2e.fleet.installations.weavestream.name);
    await wizard.getByRole('button', { name: `Restore ${e2e.fleet.installations.weavestream.name}` }).click();
    const report = wizard.getByRole('region', { name: 'Restore report' });
    await report.waitFor({ timeout: 60_000 });
    expect(await report.locator('.pill').first().innerText()).toContain('✓ restore verified');
    await screenshot(e2e.page, 'e2e-drop-restore-report');
    expect((await e2e.fleet.weavestream.counts()).audit_log).toBe(before.audit_log);
  });
});
