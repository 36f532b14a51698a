/**
 * A full MeshMonitor restore deletes every API token, Lifeboat's too (specs/meshmonitor.md §5.4).
 * Against the fleet's fake MeshMonitor with a token installation: the restore ends "restored,
 * verification incomplete", the Fleet row then says the token is gone and offers "Store a new API
 * token…", which opens the form; a new token stored there clears it, and the connection test passes.
 */
import { describe, expect, it } from 'vitest';
import type { RestorePlan, RestoreReport } from '../../src/shared/apps';
import type { Installation } from '../../src/shared/installations';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { screenshot } from '../harness/browser';
import { SAMPLE_ARCHIVE } from '../fleet/meshmonitor/server';
import { useFleetE2e } from '../harness/e2e-fleet';
import { fleetRow, rowAction } from '../harness/fleet-row';

const e2e = useFleetE2e('mm-token-renewal');
const NAME = 'MeshMonitor token (fleet)';

describe('a restore that deleted the API token', () => {
  let installation: Installation;

  it('ends restored with the verification incomplete, and the row asks for a new token', async () => {
    const client = createInProcessClient(e2e.core);
    const { https, ...rest } = e2e.fleet.inputs.meshmonitor;
    installation = await client.call('installations:add', {
      ...rest,
      name: NAME,
      https: { baseUrl: https!.baseUrl, pinnedCertSha256: https!.pinnedCertSha256, auth: 'bearer' },
      secrets: { 'api-token': await e2e.fleet.meshmonitor.issueToken() },
    });
    const planned = await e2e.core.jobs.wait((await client.call('restore:plan', { installationId: installation.id, source: { path: SAMPLE_ARCHIVE }, mode: 'full', selection: [] })).jobId);
    const plan = planned.result as RestorePlan;
    expect(plan.blocked, JSON.stringify(plan.preflight)).toBe(false);
    const record = await e2e.core.jobs.wait((await client.call('restore:start', { planId: plan.id, confirmation: NAME })).jobId);
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded-with-warnings');
    expect(record.result as RestoreReport).toMatchObject({ outcome: 'unverified' });

    await e2e.page.goto(e2e.twin.url);
    const row = fleetRow(e2e.page, NAME);
    const renew = row.getByRole('button', { name: `Store a new API token for ${NAME}` });
    await renew.waitFor();
    await row.getByText("The restore removed Lifeboat's API token: store a new one.").waitFor();
    // The header and the page title do not say "All fresh" while this row cannot be reached.
    await e2e.page.getByRole('status', { name: /^Fleet: .*1 not reachable$/ }).waitFor();
    await expect(e2e.page.title()).resolves.toMatch(/1 not reachable — Lifeboat$/);
    await screenshot(e2e.page, 'e2e-token-renew-row');
    // The token Lifeboat holds really is dead now: MeshMonitor's restore wiped api_tokens.
    expect(e2e.fleet.meshmonitor.rows('api_tokens').filter((t) => t.is_active === 1)).toHaveLength(0);

    await renew.click();
    const dialog = e2e.page.getByRole('dialog', { name: `Edit ${NAME}` });
    await dialog.waitFor();
    const field = dialog.getByLabel('API token', { exact: true }).and(dialog.locator('input[type="password"]'));
    await expect(field.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await field.fill(await e2e.fleet.meshmonitor.issueToken());
    await screenshot(e2e.page, 'e2e-token-renew-form');
    await dialog.getByLabel('Test the connection after saving').uncheck();
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.waitFor({ state: 'detached' });
    await screenshot(e2e.page, 'e2e-token-renew-stored');

    await renew.waitFor({ state: 'detached' });
    await row.getByText('A new API token is stored; test the connection.').waitFor();
    await rowAction(e2e.page, NAME, `Test connection to ${NAME}`);
    await row.getByText(/^Online/).first().waitFor();
    // The token works: the refused listing before it no longer makes the row fail, and the list is read again.
    await row.getByText('Never backed up', { exact: false }).waitFor();
    await expect(row.getByText('Last error').count()).resolves.toBe(0);
    await row.getByRole('button', { name: `Pull newest backup of ${NAME}` }).waitFor();
    await e2e.page.getByRole('status', { name: /^Fleet: (?!.*not reachable)/ }).waitFor();
    await screenshot(e2e.page, 'e2e-token-renew-tested');
  });
});
