/**
 * The Fleet, Preview and Restore screens in the system Chromium against an in-process core and
 * twin, with the real test fleet behind it (Weavestream: PostgreSQL 15 + sshd, real pg_dump and
 * pg_restore; the fake MeshMonitor over HTTPS): freshness on the Fleet view, pull newest with
 * progress, previews of both apps' backups (from the vault and from a local file), and the
 * restore wizard to the end on Weavestream — live data changed first, then put back from the
 * pulled dump, with a pre-restore safety snapshot in the vault. Each preview and the restore report
 * open with a verdict card; the Compatibility tab says, for a chosen target, whether each
 * requirement is met (as the core's own dry run finds); no page shows an ISO timestamp; an
 * installation whose connections cannot restore says so before any wizard opens.
 */
import { describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { screenshot } from '../harness/browser';
import { SAMPLE_ARCHIVE } from '../fleet/meshmonitor/server';
import { useFleetE2e } from '../harness/e2e-fleet';
import { openRowMenu, rowAction } from '../harness/fleet-row';
import { isoTimestampsShown } from '../harness/shown-times';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { PreflightCheck, RestorePlan } from '../../src/shared/apps';

const e2e = useFleetE2e('fleet');

const WS = (): string => e2e.fleet.installations.weavestream.name;
const MM = (): string => e2e.fleet.installations.meshmonitor.name;
const row = (name: string): Locator => e2e.page.getByRole('listitem', { name });
const backups = (name: string): Locator => e2e.page.getByRole('group', { name: `Backups of ${name}` });
const home = (): string => e2e.twin.url.split('#')[0]!;

/** Screenshots at 1280×800 in light and dark. */
async function bothThemes(name: string): Promise<void> {
  await e2e.page.setViewportSize({ width: 1280, height: 800 });
  for (const scheme of ['light', 'dark'] as const) {
    await e2e.page.emulateMedia({ colorScheme: scheme });
    await screenshot(e2e.page, `${name}-${scheme}`);
  }
  await e2e.page.emulateMedia({ colorScheme: 'light' });
}

describe('Fleet view', () => {
  it('lists both installations with freshness, cadence and the newest backup on the server', async () => {
    await e2e.page.goto(e2e.twin.url);
    await row(WS()).waitFor();
    await row(MM()).waitFor();
    // fleet:refresh ran on mount: the Weavestream seed dumps are listed, nothing is in the vault yet.
    await backups(WS()).getByTestId('newest-remote').getByText(/weavestream-postgres-.*\.dump/).waitFor({ timeout: 20_000 });
    for (const name of [WS(), MM()]) {
      const strip = backups(name);
      // Nothing pulled yet is "never backed up", not late: a new installation is not overdue.
      expect(await strip.locator('[data-freshness]').getAttribute('data-freshness')).toBe('never');
      expect(await strip.locator('[data-freshness]').innerText()).toContain('every 24 h');
      expect(await strip.getByTestId('newest-snapshot').innerText()).toBe('none yet');
      // One primary action, the rest in the row's menu.
      await row(name).getByRole('button', { name: `Pull newest backup of ${name}` }).waitFor();
      const menu = await openRowMenu(e2e.page, name);
      for (const action of ['Pull…', 'Run backup now', 'Restore…']) await menu.getByText(action, { exact: true }).waitFor();
      // No snapshot yet, so nothing to preview.
      expect(await menu.getByText('Preview newest', { exact: true }).count()).toBe(0);
      await e2e.page.keyboard.press('Escape');
      await menu.waitFor({ state: 'hidden' });
    }
    expect(await backups(MM()).getByTestId('newest-remote').innerText()).toBe('not listed yet');
    // A long name is cut with an ellipsis in the row; hovering shows it whole.
    expect(await row(WS()).locator('.fleet-name-text strong').getAttribute('title')).toBe(WS());
    await screenshot(e2e.page, 'e2e-fleet-overview');
  });

  it('pulls the newest Weavestream dump with live progress, and the snapshot appears', async () => {
    const strip = backups(WS());
    await row(WS()).getByRole('button', { name: `Pull newest backup of ${WS()}` }).click();
    const job = strip.locator('.job-summary');
    await job.waitFor();
    await screenshot(e2e.page, 'e2e-fleet-pull-running');
    await strip.getByText('Pulled into snapshot').waitFor({ timeout: 30_000 });
    const summary = await job.innerText();
    expect(summary).toMatch(/Succeeded/);
    expect(summary).toMatch(/took .* · [\d.]+ (KiB|MiB)/);
    expect(summary).toMatch(/\d+ checks? passed/);
    const snapshots = await e2e.core.vault.snapshots({ installationId: e2e.fleet.installations.weavestream.id });
    expect(snapshots).toHaveLength(1);
    await strip.getByTestId('newest-snapshot').getByText(snapshots[0]!.id.slice(0, 8)).waitFor();
    // A day-old dump against a 24 h cadence (1.25 × grace): fresh.
    await strip.locator('[data-freshness="fresh"]').waitFor();
    await screenshot(e2e.page, 'e2e-fleet-pulled');

    // The same backup again: nothing is downloaded.
    await row(WS()).getByRole('button', { name: `Pull newest backup of ${WS()}` }).click();
    await strip.getByText('Already in the vault').waitFor({ timeout: 20_000 });
    expect(await e2e.core.vault.snapshots({ installationId: e2e.fleet.installations.weavestream.id })).toHaveLength(1);
  });

  it('runs a MeshMonitor backup, lists it in the Pull… dialog and pulls it from there', async () => {
    const strip = backups(MM());
    await rowAction(e2e.page, MM(), `Run backup now on ${MM()}`);
    await strip.locator('.job-summary').getByText('Succeeded').waitFor({ timeout: 20_000 });
    await strip.getByTestId('newest-remote').getByText(/^\d{4}-\d{2}-\d{2}_\d{6}/).waitFor({ timeout: 20_000 });
    await rowAction(e2e.page, MM(), `Choose a backup of ${MM()} to pull`);
    const dialog = e2e.page.getByRole('dialog', { name: `Backups on ${MM()}` });
    const table = dialog.getByRole('table', { name: 'Remote backups' });
    await table.waitFor({ timeout: 20_000 });
    expect(await table.locator('tbody tr').count()).toBe(1);
    expect(await table.locator('tbody tr td').nth(3).innerText()).toBe('no');
    await screenshot(e2e.page, 'e2e-fleet-pull-dialog');
    await dialog.getByRole('button', { name: /^Pull / }).click();
    await dialog.waitFor({ state: 'hidden' });
    await strip.getByText('Pulled into snapshot').waitFor({ timeout: 30_000 });
    const menu = await openRowMenu(e2e.page, MM());
    await menu.getByText('Preview newest', { exact: true }).waitFor();
    await e2e.page.keyboard.press('Escape');
  });
});

describe('Preview', () => {
  it('shows the pulled Weavestream dump: integrity ✓, its tables, sortable, and the raw manifest as text', async () => {
    await rowAction(e2e.page, WS(), `Preview the newest snapshot of ${WS()}`);
    const integrity = e2e.page.getByTestId('integrity');
    await integrity.waitFor({ timeout: 30_000 });
    expect(await integrity.locator('.pill').innerText()).toContain('✓ verified');
    const checks = integrity.getByRole('list', { name: 'Integrity checks' }).locator('li');
    expect(await checks.count()).toBeGreaterThan(0);
    expect(await integrity.locator('li[data-ok="false"]').count()).toBe(0);
    expect(await e2e.page.locator('.facts').innerText()).toContain('Weavestream 1.9.11');
    await screenshot(e2e.page, 'e2e-preview-weavestream-summary');

    // The verdict comes first: intact, restorable into the Weavestream that has SSH (not the HTTPS-only one), what is left out, what a target needs.
    const verdict = e2e.page.getByRole('region', { name: 'Verdict' });
    expect(await verdict.getAttribute('data-verdict')).not.toBe('danger');
    expect(await verdict.locator('.verdict-headline').innerText()).toMatch(/^✓ Intact: all \d+ checks passed$|^! Intact/);
    const verdictBox = await verdict.boundingBox();
    const tabsBox = await e2e.page.getByRole('tablist', { name: 'Preview sections' }).boundingBox();
    expect(verdictBox!.y + verdictBox!.height).toBeLessThanOrEqual(tabsBox!.y);
    const fact = (term: string): Locator => verdict.locator('.verdict-fact', { has: e2e.page.locator('dt', { hasText: term }) }).locator('dd');
    const restoreInto = fact('Restorable to').getByRole('link', { name: WS() });
    const pulled = (await e2e.core.vault.snapshots({ installationId: e2e.fleet.installations.weavestream.id }))[0]!;
    expect(await restoreInto.getAttribute('href')).toBe(`#/fleet/restore/${e2e.fleet.installations.weavestream.id}/${pulled.id}`);
    expect(await fact('Restorable to').innerText()).toContain(`not ${e2e.fleet.installations.weavestreamHttps.name}`);
    expect(await fact('Not inside').innerText()).toMatch(/Uploaded files/);
    expect(await fact('The target needs').innerText()).toMatch(/pg_restore needed: PostgreSQL \d+ or newer/);
    await bothThemes('e2e-preview-weavestream-verdict');
    expect(await isoTimestampsShown(e2e.page)).toEqual([]);

    await e2e.page.getByRole('tab', { name: 'Contents' }).click();
    const table = e2e.page.getByRole('table', { name: 'Tables in the dump' });
    const tableNames = await table.locator('tbody tr td:nth-child(2)').allInnerTexts();
    expect(tableNames).toEqual(expect.arrayContaining(['users', 'posts', 'sessions', 'password_entries', 'audit_log']));
    // Rows is numeric: right-aligned; a click sorts biggest first, a second click reverses.
    const rowsTh = table.locator('th', { hasText: /^Rows/ });
    const rowsHeader = rowsTh.getByRole('button');
    expect(await rowsTh.evaluate((el) => getComputedStyle(el).textAlign)).toBe('right');
    expect(await table.locator('tbody td.num').first().evaluate((el) => getComputedStyle(el).textAlign)).toBe('right');
    await rowsHeader.click();
    expect(await table.locator('tbody tr').first().locator('td').nth(1).innerText()).toBe('posts');
    expect(await rowsTh.getAttribute('aria-sort')).toBe('descending');
    const rowCounts = async (): Promise<number[]> =>
      (await table.locator('tbody tr td:nth-child(5)').allInnerTexts()).map((t) => (t === '—' ? -1 : Number(t.replace(/\D/g, ''))));
    const descending = await rowCounts();
    expect(descending).toEqual([...descending].sort((a, b) => b - a));
    await rowsHeader.click();
    const ascending = await rowCounts();
    expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
    await screenshot(e2e.page, 'e2e-preview-weavestream-contents');

    await e2e.page.getByRole('tab', { name: 'Secrets & not included' }).click();
    await e2e.page.getByText('Uploaded files').first().waitFor();
    expect(await isoTimestampsShown(e2e.page)).toEqual([]);

    // Compatibility, for a chosen target: each requirement is met or not as the core's dry run finds.
    await e2e.page.getByRole('tab', { name: 'Compatibility' }).click();
    const compat = e2e.page.getByRole('table', { name: 'Compatibility' });
    expect(await compat.locator('th').nth(2).innerText()).toBe('On the target');
    await e2e.page.getByLabel('Check against installation').selectOption({ label: WS() });
    await compat.locator('th', { hasText: `On ${WS()}` }).waitFor({ timeout: 30_000 });
    const client = createInProcessClient(e2e.core);
    const { jobId } = await client.call('restore:plan', { installationId: e2e.fleet.installations.weavestream.id, source: { snapshotId: pulled.id }, mode: 'full', selection: [] });
    const plan = (await e2e.core.jobs.wait(jobId)).result as RestorePlan;
    const met = (c: PreflightCheck): string => (c.ok ? '✓ is met' : c.blocking ? '✗ is not met' : '? could not tell');
    for (const [label, id] of [['pg_restore needed', 'pg-restore-version'], ['Password-encryption kid the target must know', 'password-kid'], ['Weavestream image needed', 'migration-hash']] as const) {
      const check = plan.preflight.find((c) => c.id === id)!;
      const cell = compat.locator('tr', { has: e2e.page.locator('td', { hasText: label }) }).locator('td').nth(2);
      expect(await cell.innerText()).toBe(`${met(check)} ${check.detail}`);
    }
    // pg_restore of the test fleet reads the dump: that requirement is met.
    expect(await compat.locator('tr', { has: e2e.page.locator('td', { hasText: 'pg_restore needed' }) }).getAttribute('data-met')).toBe('met');
    await e2e.page.getByRole('list', { name: `Other checks on ${WS()}` }).getByText('Target database reachable').waitFor();
    await bothThemes('e2e-preview-weavestream-compatibility');
    expect(await isoTimestampsShown(e2e.page)).toEqual([]);
    await e2e.page.getByRole('tab', { name: 'Raw sidecars' }).click();
    const pre = e2e.page.locator('.sidecar pre').first();
    expect(await pre.innerText()).toMatch(/"weavestreamVersion"/);
    // Text, never markup: the sidecar's text is the pre's only content.
    expect(await pre.evaluate((el) => el.children.length)).toBe(0);
    await screenshot(e2e.page, 'e2e-preview-weavestream-raw');
  });

  it('shows the pulled MeshMonitor backup with every table verified', async () => {
    await e2e.page.goto(`${e2e.twin.url.split('#')[0]}#/fleet`);
    await rowAction(e2e.page, MM(), `Preview the newest snapshot of ${MM()}`);
    const integrity = e2e.page.getByTestId('integrity');
    await integrity.waitFor({ timeout: 30_000 });
    expect(await integrity.locator('.pill').innerText()).toContain('✓ verified');
    await e2e.page.getByRole('tab', { name: 'Contents' }).click();
    expect(await e2e.page.getByRole('table', { name: 'Tables' }).locator('tbody tr').count()).toBe(20);
    await screenshot(e2e.page, 'e2e-preview-meshmonitor');
  });

  it('previews a local file: the real MeshMonitor sample, uploaded through the file input', async () => {
    await e2e.page.goto(`${e2e.twin.url.split('#')[0]}#/fleet/preview`);
    await e2e.page.locator('input[type="file"]').setInputFiles(SAMPLE_ARCHIVE);
    const integrity = e2e.page.getByTestId('integrity');
    await integrity.waitFor({ timeout: 30_000 });
    expect(await e2e.page.locator('.facts').innerText()).toContain('local file 2026-11-23_131719.tar.gz');
    expect(await integrity.locator('.pill').innerText()).toContain('✓ verified');
    // A local file's preview opens with the verdict too, its Restore to… and Add to vault under it.
    const verdict = e2e.page.getByRole('region', { name: 'Verdict' });
    expect(await verdict.locator('.verdict-headline').innerText()).toMatch(/Intact: all \d+ checks passed/);
    expect(await verdict.locator('.verdict-fact', { has: e2e.page.locator('dt', { hasText: 'Restorable to' }) }).locator('dd').innerText()).toBe(MM());
    const actions = e2e.page.getByRole('region', { name: 'What to do with this file' });
    expect((await verdict.boundingBox())!.y).toBeLessThan((await actions.boundingBox())!.y);
    expect((await actions.boundingBox())!.y).toBeLessThan((await e2e.page.getByRole('tablist', { name: 'Preview sections' }).boundingBox())!.y);
    await bothThemes('e2e-preview-local-file-verdict');
    expect(await isoTimestampsShown(e2e.page)).toEqual([]);
    await screenshot(e2e.page, 'e2e-preview-local-file');
  });
});

describe('Restore wizard', () => {
  it('restores Weavestream from the pulled dump after its live data changed, with a safety snapshot', async () => {
    const before = await e2e.fleet.weavestream.counts();
    await e2e.fleet.weavestream.psql(`DELETE FROM audit_log; DELETE FROM posts WHERE id IN (SELECT id FROM posts ORDER BY id LIMIT 150); INSERT INTO users (email, name, role, created_at) VALUES ('intruder@example.org', 'Not in the dump', 'MEMBER', now());`);
    const changed = await e2e.fleet.weavestream.counts();
    expect(changed.audit_log).toBe(0);
    expect(changed.posts).toBe((before.posts ?? 0) - 150);

    await e2e.page.goto(`${e2e.twin.url.split('#')[0]}#/fleet`);
    await rowAction(e2e.page, WS(), `Restore ${WS()}…`);
    const wizard = e2e.page.locator('.wizard');
    const next = wizard.getByRole('button', { name: 'Next' });
    // 1. Source: the pulled snapshot is preselected.
    const pulled = (await e2e.core.vault.snapshots({ installationId: e2e.fleet.installations.weavestream.id }))[0]!;
    await wizard.getByRole('list', { name: 'Vault snapshots' }).waitFor();
    expect(await wizard.getByRole('radio', { checked: true }).locator('..').innerText()).toContain(pulled.shortId);
    await screenshot(e2e.page, 'e2e-restore-1-source');
    await next.click();
    // 2. Target: the same installation, so no second confirmation.
    expect(await wizard.getByRole('radio', { name: WS() }).isChecked()).toBe(true);
    expect(await wizard.getByText('Yes, restore the backup of').count()).toBe(0);
    await next.click();
    // 3. Mode: full.
    await wizard.getByRole('radio', { name: /Full replace/ }).check();
    await screenshot(e2e.page, 'e2e-restore-3-mode');
    await next.click();
    // 4. Plan: preflight passes, the dry run shows live vs archive, the point of no return is named.
    const pointOfNoReturn = wizard.getByTestId('point-of-no-return');
    await pointOfNoReturn.waitFor({ timeout: 30_000 });
    expect(await pointOfNoReturn.innerText()).toMatch(/^Point of no return: /);
    expect(await wizard.locator('.check-list li[data-ok="false"]').count()).toBe(0);
    const changes = wizard.getByRole('table', { name: 'Planned changes' });
    const postsRow = changes.locator('tr', { has: e2e.page.locator('td', { hasText: /^public\.posts$/ }) });
    expect(await postsRow.locator('td').nth(2).innerText()).toBe(String(changed.posts));
    expect(await postsRow.locator('td').nth(3).innerText()).toBe(String(before.posts));
    await screenshot(e2e.page, 'e2e-restore-4-plan');
    await next.click();
    // 5. Safety pull: skipping it needs a reason.
    await wizard.getByRole('checkbox', { name: 'Skip the safety pull' }).check();
    expect(await next.isDisabled()).toBe(true);
    await wizard.getByRole('checkbox', { name: 'Skip the safety pull' }).uncheck();
    await screenshot(e2e.page, 'e2e-restore-5-safety');
    await next.click();
    // 6. Typed confirmation: the button waits for the exact name.
    const go = wizard.getByRole('button', { name: `Restore ${WS()}` });
    const typed = wizard.getByLabel(/to confirm/);
    expect(await go.isDisabled()).toBe(true);
    // The typed confirmation uses the normal input style (it was an unstyled 20 px box).
    const look = await typed.evaluate((el) => ({ height: el.getBoundingClientRect().height, radius: getComputedStyle(el).borderTopLeftRadius }));
    expect(look.height).toBeGreaterThanOrEqual(28);
    expect(look.radius).toBe('4px');
    await typed.fill(WS().toLowerCase());
    expect(await go.isDisabled()).toBe(true);
    await typed.fill(WS());
    expect(await go.isEnabled()).toBe(true);
    await screenshot(e2e.page, 'e2e-restore-6-confirm');
    await go.click();
    // 7. Running, then 8. the verification report.
    await wizard.locator('.job-summary').waitFor();
    await screenshot(e2e.page, 'e2e-restore-7-running');
    const report = wizard.getByRole('region', { name: 'Restore report' });
    await report.waitFor({ timeout: 60_000 });
    expect(await report.locator('.pill').innerText()).toContain('✓ restore verified');
    expect(await report.locator('.check-list li[data-ok="false"]').count()).toBe(0);
    expect(await wizard.locator('.stepper [aria-current="step"]').innerText()).toContain('Report');
    await screenshot(e2e.page, 'e2e-restore-8-report');
    // The report's verdict first: how it ended, the checks, the way back, what is left to do.
    const verdict = report.getByRole('region', { name: 'Verdict' });
    expect(await verdict.getAttribute('data-verdict')).toBe('ok');
    expect(await verdict.locator('.verdict-headline').innerText()).toBe(`✓ Restored and verified: ${WS()} is back to the backup`);
    const verdictText = await verdict.innerText();
    expect(verdictText).toMatch(new RegExp(`Checks\\s+${await report.locator('.check-list li[data-ok="true"]').count()} passed`));
    expect(verdictText).toMatch(/Way back\s+the safety snapshot [0-9a-f]{8} \(Undo below\)/);
    expect(verdictText).toMatch(/Still to do\s+\d+ steps? \(checklist below\)/);
    expect((await verdict.boundingBox())!.y).toBeLessThan((await report.getByRole('list', { name: 'Verification checks' }).boundingBox())!.y);
    await bothThemes('e2e-restore-8-report-verdict');
    expect(await isoTimestampsShown(e2e.page)).toEqual([]);

    // The data came back in PostgreSQL, and the state before the restore is kept in the vault.
    expect(await e2e.fleet.weavestream.counts()).toEqual(before);
    expect(await e2e.fleet.weavestream.psql(`SELECT count(*) FROM users WHERE email = 'intruder@example.org';`)).toMatch(/^0\s*$/);
    const safety = (await e2e.core.vault.snapshots({ installationId: e2e.fleet.installations.weavestream.id })).filter((s) => s.source === 'pre-restore');
    expect(safety).toHaveLength(1);
    expect(await report.getByTestId('safety-snapshot').innerText()).toContain(safety[0]!.id.slice(0, 8));

    // The plan's follow-up steps stay as a checklist on the report.
    const todo = report.getByRole('group', { name: 'Still to do' });
    const step = todo.getByRole('checkbox', { name: /uploaded files/ });
    expect(await step.isChecked()).toBe(false);
    await step.check();
    await todo.getByText('— all done').waitFor();

    // No dead end: the report offers to undo through the same wizard, the safety snapshot as source.
    const wsId = e2e.fleet.installations.weavestream.id;
    const undo = report.getByRole('link', { name: 'Undo with the safety snapshot…' });
    expect(await undo.getAttribute('href')).toBe(`#/fleet/restore/${wsId}/${safety[0]!.id}`);
    await undo.click();
    const undoWizard = e2e.page.locator('.wizard');
    const chosen = undoWizard.getByRole('list', { name: 'Vault snapshots' }).locator('li', { hasText: safety[0]!.shortId }).getByRole('radio');
    await chosen.waitFor({ timeout: 20_000 });
    expect(await chosen.isChecked()).toBe(true);
    await screenshot(e2e.page, 'e2e-restore-undo-wizard');
  });

  it('offers Preview and Restore… on a vault snapshot’s details', async () => {
    const pulled = (await e2e.core.vault.snapshots({ installationId: e2e.fleet.installations.weavestream.id })).find((s) => s.source === 'pull')!;
    await e2e.page.goto(`${e2e.twin.url.split('#')[0]}#/vault`);
    await e2e.page.getByRole('button', { name: new RegExp(`^${pulled.archive!.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `) }).first().click();
    const actions = e2e.page.getByRole('group', { name: `Actions for snapshot ${pulled.shortId}` });
    expect(await actions.getByRole('link', { name: `Preview snapshot ${pulled.shortId}` }).getAttribute('href')).toBe(`#/fleet/preview/${pulled.id}`);
    const restore = actions.getByRole('link', { name: `Restore snapshot ${pulled.shortId} into ${WS()}…` });
    expect(await restore.getAttribute('href')).toBe(`#/fleet/restore/${e2e.fleet.installations.weavestream.id}/${pulled.id}`);
    await screenshot(e2e.page, 'e2e-vault-snapshot-actions');
    await actions.getByRole('link', { name: `Preview snapshot ${pulled.shortId}` }).click();
    await e2e.page.getByTestId('integrity').waitFor({ timeout: 30_000 });
  });

  it('says before any wizard opens that the HTTPS-only Weavestream cannot be restored into, and offers its connections', async () => {
    const https = e2e.fleet.installations.weavestreamHttps;
    await e2e.page.goto(`${home()}#/fleet`);
    await row(https.name).waitFor();
    await rowAction(e2e.page, https.name, `Restore ${https.name}…`);
    const dialog = e2e.page.getByRole('dialog', { name: `Restore into ${https.name}` });
    await dialog.waitFor();
    const notes = (await createInProcessClient(e2e.core).call('fleet:overview', {})).find((f) => f.installationId === https.id)!.capabilities.notes;
    expect(await dialog.innerText()).toContain(notes.find((n) => /restor/i.test(n))!);
    expect(await dialog.innerText()).toMatch(/SSH/);
    expect(await e2e.page.locator('.wizard').count()).toBe(0);
    await bothThemes('e2e-restore-blocked-dialog');
    await dialog.getByRole('button', { name: 'Edit connections…' }).click();
    await e2e.page.getByRole('dialog', { name: new RegExp(`^Edit `) }).waitFor();
    await e2e.page.keyboard.press('Escape');

    // A link straight to the wizard explains the same, with the fix, instead of failing at the Plan step.
    await e2e.page.goto(`${home()}#/fleet/restore/${https.id}`);
    const note = e2e.page.getByTestId('restore-blocked');
    await note.waitFor();
    expect(await note.innerText()).toContain(`Lifeboat cannot restore into ${https.name} yet.`);
    expect(await e2e.page.locator('.stepper').count()).toBe(0);
    await bothThemes('e2e-restore-blocked-route');
    await note.getByRole('link', { name: 'Edit connections…' }).click();
    await e2e.page.waitForFunction((id) => window.location.hash === `#/fleet/edit/${id}`, https.id);
    const form = e2e.page.getByRole('dialog', { name: new RegExp(`^Edit `) });
    await form.waitFor();
    await e2e.page.keyboard.press('Escape');
    await form.waitFor({ state: 'hidden' });
    await e2e.page.waitForFunction(() => window.location.hash === '#/fleet');
  });

  it('shows no ISO timestamp on the Fleet, Vault, Activity and Settings pages', async () => {
    for (const page of ['#/fleet', '#/vault', '#/activity', '#/settings']) {
      await e2e.page.goto(`${home()}${page}`);
      await e2e.page.locator('#page-heading').waitFor();
      // Something time-shaped is on each page once its data is in (relative, the exact time in the title).
      if (page === '#/fleet' || page === '#/activity') await e2e.page.locator('time[datetime][title]').first().waitFor({ timeout: 20_000 });
      expect(await isoTimestampsShown(e2e.page), page).toEqual([]);
    }
    const pulled = (await e2e.core.vault.snapshots({ installationId: e2e.fleet.installations.weavestream.id })).find((s) => s.source === 'pull')!;
    await e2e.page.goto(`${home()}#/vault`);
    await e2e.page.getByRole('button', { name: new RegExp(`^${pulled.archive!.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `) }).first().click();
    const when = e2e.page.getByRole('article', { name: `Snapshot ${pulled.shortId}` }).locator('.vault-details-facts time').first();
    await when.waitFor();
    expect(await when.getAttribute('title')).toBe(new Date(pulled.time).toLocaleString());
    expect(await isoTimestampsShown(e2e.page)).toEqual([]);
    await bothThemes('e2e-vault-snapshot-times');
  });
});
