/**
 * A vault snapshot's details offer everything that can be done with it, in the system Chromium
 * against a real `lifeboat serve`: Export file downloads the archive's own bytes under its original
 * name; Drill runs a restore drill (the MeshMonitor module can; a plain file offers none) and says
 * whether it restored; Forget… asks first, then the snapshot is gone from the vault and the audit
 * trail names it.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { screenshot, twinData } from '../harness/browser';
import { useServedE2e } from '../harness/e2e-served';
import type { AuditEntry } from '../../src/shared/audit';
import type { DrillResult } from '../../src/shared/drills';
import type { JobRecord } from '../../src/shared/jobs';
import type { SnapshotView } from '../../src/shared/vault';

const SAMPLE = path.resolve(import.meta.dirname, '..', 'fixtures', 'meshmonitor', '2026-11-23_131719.tar.gz');
const NOTE = 'plain-note.txt';

const e2e = useServedE2e('snapshot-actions');

const callTwin = <T,>(name: string, input: unknown): Promise<T> => twinData<T>(e2e.lifeboat, name, input);

async function importAndWait(file: string, allowUnverified: boolean): Promise<void> {
  const { jobId } = await callTwin<{ jobId: string }>('vault:import', { source: { path: file }, allowUnverified });
  await expect.poll(async () => (await callTwin<JobRecord>('jobs:get', { id: jobId })).status, { timeout: 30_000 }).toMatch(/^succeeded/);
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const details = () => e2e.page.getByRole('article', { name: /^Snapshot / });
const actions = () => details().getByRole('group', { name: /^Actions for snapshot / });
const drills = () => details().getByRole('region', { name: /^Restore drills of snapshot / });

describe('snapshot actions', () => {
  it('offers Preview, Export file and Forget… (and a drill section) on a MeshMonitor snapshot, and exports its archive under its own name', async () => {
    await importAndWait(SAMPLE, false);
    const notePath = path.join(e2e.lifeboat.home, NOTE);
    writeFileSync(notePath, 'not an app backup\n');
    await importAndWait(notePath, true);

    await e2e.page.goto(e2e.lifeboat.url);
    await e2e.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Vault' }).click();
    await e2e.page.getByRole('button', { name: /^2026-11-23_131719\.tar\.gz .* import / }).click();
    await actions().waitFor();
    const names = await actions().locator('a, button').evaluateAll((els) => els.map((el) => el.textContent?.trim()));
    expect(names).toEqual(['Preview', 'Export file', 'Forget…']);
    await screenshot(e2e.page, 'e2e-snapshot-actions');

    const [download] = await Promise.all([e2e.page.waitForEvent('download'), actions().getByRole('button', { name: /^Export file 2026-11-23_131719\.tar\.gz/ }).click()]);
    expect(download.suggestedFilename()).toBe(path.basename(SAMPLE));
    expect(sha256(readFileSync(await download.path()))).toBe(sha256(readFileSync(SAMPLE)));
  });

  it('drills the snapshot and says it restored, with the result stored', async () => {
    await drills().getByRole('button', { name: 'Run restore drill' }).click();
    const job = details().getByRole('group', { name: /: Succeeded$/ });
    await job.waitFor({ timeout: 60_000 });
    const snapshot = (await callTwin<SnapshotView[]>('vault:snapshots', {})).find((s) => s.archive?.name === path.basename(SAMPLE))!;
    const results = await callTwin<DrillResult[]>('drills:results', { snapshotId: snapshot.id });
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ restorable: true, snapshotId: snapshot.id });
    await job.scrollIntoViewIfNeeded();
    await screenshot(e2e.page, 'e2e-snapshot-drill');
  });

  it('offers no Drill for a file no module reads, and forgets it after a confirmation (audited)', async () => {
    await e2e.page.getByRole('button', { name: new RegExp(`^${NOTE.replace('.', '\\.')} .* import `) }).click();
    await actions().getByRole('button', { name: /^Export file plain-note\.txt/ }).waitFor();
    expect(await details().getByRole('button', { name: 'Run restore drill' }).count()).toBe(0);
    // The other snapshot's drill stayed with it.
    expect(await details().getByRole('group', { name: /: Succeeded$/ }).count()).toBe(0);
    const note = (await callTwin<SnapshotView[]>('vault:snapshots', {})).find((s) => s.archive?.name === NOTE)!;

    await actions().getByRole('button', { name: /^Forget snapshot / }).click();
    const dialog = e2e.page.getByRole('dialog', { name: `Forget snapshot ${note.shortId}?` });
    await dialog.waitFor();
    // Cancel keeps it.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await callTwin<SnapshotView[]>('vault:snapshots', {})).some((s) => s.id === note.id)).toBe(true);

    await actions().getByRole('button', { name: /^Forget snapshot / }).click();
    await dialog.waitFor();
    for (const scheme of ['light', 'dark'] as const) {
      await e2e.page.emulateMedia({ colorScheme: scheme });
      await screenshot(e2e.page, `e2e-snapshot-forget-${scheme}`);
    }
    await e2e.page.emulateMedia({ colorScheme: 'light' });
    await dialog.getByRole('button', { name: 'Forget snapshot' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await e2e.page.getByRole('button', { name: new RegExp(`^${NOTE.replace('.', '\\.')} .* import `) }).waitFor({ state: 'detached' });
    const left = await callTwin<SnapshotView[]>('vault:snapshots', {});
    expect(left.map((s) => s.archive?.name)).toEqual([path.basename(SAMPLE)]);
    const audit = await callTwin<AuditEntry[]>('audit:list', { limit: 20 });
    expect(audit.find((a) => a.action === 'forget')?.detail).toContain(`removed snapshot ${note.id.slice(0, 8)} (${NOTE})`);
  });
});
