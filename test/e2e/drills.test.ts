/**
 * Restore drills and anomalies in the system Chromium against a real `lifeboat serve`: Loomio
 * dumps of one installation imported into its vault; a drill run from the snapshot's details
 * (progress, then the stored result with its checks: the drill's own temporary PostgreSQL 15
 * cluster), a cancelled drill, a dump with a failing statement (the statement shown), the badges
 * on the fleet row, and an anomaly acknowledged on the Vault page.
 */
import { readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { screenshot, twinData } from '../harness/browser';
import { emptiedDump } from '../harness/dump-text';
import { makeTestHome } from '../harness/home';
import { useServedE2e } from '../harness/e2e-served';
import { until } from '../harness/wait';

const SQL = path.resolve(import.meta.dirname, '..', 'fixtures', 'loomio', 'plaintext', 'loomio_production.sql');
const BAD = 'SELECT lifeboat_no_such_function(3);';

const e2e = useServedE2e('drills');
let installationId: string;
const snapshots: Record<'good' | 'broken' | 'emptied', string> = { good: '', broken: '', emptied: '' };

const callTwin = <T,>(name: string, input: unknown): Promise<T> => twinData<T>(e2e.lifeboat, name, input);

async function importDump(day: number, content: string): Promise<string> {
  const file = path.join(makeTestHome('e2e-drill-dump'), 'loomio_production.sql');
  await writeFile(file, `${content}\n-- day ${day}\n`);
  const when = new Date(Date.UTC(2026, 10, day, 3));
  await utimes(file, when, when);
  const { jobId } = await callTwin<{ jobId: string }>('vault:import', { source: { path: file }, installationId });
  let job: { status: string; result: { snapshotId: string } | null } | null = null;
  await until(async () => {
    job = await callTwin<{ status: string; result: { snapshotId: string } | null }>('jobs:get', { id: jobId });
    return job.status !== 'running' && job.status !== 'queued';
  }, `the import of day ${day}`, 60_000, 100);
  expect(job!.status).toBe('succeeded');
  return job!.result!.snapshotId;
}

/** Opens a snapshot's details from the timeline (newest first: emptied, broken, good). */
async function openSnapshot(which: keyof typeof snapshots): Promise<Locator> {
  await e2e.page.getByRole('link', { name: 'Vault' }).click();
  const index = { emptied: 0, broken: 1, good: 2 }[which];
  await e2e.page.locator('.timeline-button').nth(index).click();
  const details = e2e.page.getByRole('article', { name: /^Snapshot / });
  await details.getByText(snapshots[which], { exact: true }).waitFor();
  return details.getByRole('region', { name: /^Restore drills of snapshot / });
}

describe('restore drills and anomalies in the UI', () => {
  it('imports three dumps of one installation; the newest is an anomaly', async () => {
    installationId = (await callTwin<{ id: string }>('installations:add', { name: 'Loomio drills', app: 'loomio', ssh: { host: '127.0.0.1', auth: 'agent' }, settings: {} })).id;
    const sql = await readFile(SQL, 'utf8');
    const marker = sql.indexOf('\n--\n-- PostgreSQL database dump complete');
    snapshots.good = await importDump(2, sql);
    snapshots.broken = await importDump(3, `${sql.slice(0, marker)}\n${BAD}\n${sql.slice(marker)}`);
    snapshots.emptied = await importDump(4, emptiedDump(sql));
    const found = await callTwin<{ kind: string }[]>('anomalies:check', { installationId });
    expect(found.map((a) => a.kind)).toContain('table-emptied');
  });

  it('runs a drill from the snapshot, with progress, and shows the stored result', async () => {
    await e2e.page.goto(e2e.lifeboat.url);
    const drill = await openSnapshot('good');
    await drill.getByText('Never drilled.').waitFor();
    await drill.getByRole('button', { name: 'Run restore drill' }).click();
    const job = drill.getByRole('group', { name: /^Restore drill of snapshot .*: Running/ });
    await job.getByRole('button', { name: /^Cancel Restore drill/ }).waitFor({ timeout: 30_000 });
    await screenshot(e2e.page, 'e2e-drill-running');
    const report = drill.getByTestId('drill-report');
    await report.getByText('restored in a drill just now').waitFor({ timeout: 120_000 });
    const text = await report.innerText();
    expect(text).toMatch(/temporary local PostgreSQL 15 cluster/);
    expect(text).toMatch(/✓\s*psql of loomio_production\.sql:\s*restored with stop-on-error into\s*lifeboat_drill_/);
    expect(text).toMatch(/✓\s*Scratch database dropped:\s*lifeboat_drill_\w+: gone/);
    expect(text).toMatch(/(\d+) of \1 table\(s\) with every row as in the archive/);
    await drill.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await screenshot(e2e.page, 'e2e-drill-restored');
  });

  it('a drill can be cancelled while it runs; the stored result stays the earlier one', async () => {
    const drill = await openSnapshot('good');
    await drill.getByRole('button', { name: 'Run restore drill' }).click();
    const cancel = drill.getByRole('button', { name: /^Cancel Restore drill/ });
    await cancel.click({ timeout: 30_000 });
    await drill.getByRole('group', { name: /^Restore drill of snapshot .*: Cancelled/ }).waitFor({ timeout: 60_000 });
    const results = await callTwin<{ restorable: boolean }[]>('drills:results', { snapshotId: snapshots.good });
    expect(results.map((r) => r.restorable)).toEqual([true]);
  });

  it('a dump with a failing statement: the drill fails and shows the statement', async () => {
    const drill = await openSnapshot('broken');
    await drill.getByRole('button', { name: 'Run restore drill' }).click();
    const report = drill.getByTestId('drill-report');
    await report.getByText(/^drill failed/).waitFor({ timeout: 120_000 });
    const alert = report.getByRole('alert');
    expect(await alert.innerText()).toMatch(/Does not restore: psql stopped at line \d+: .*lifeboat_no_such_function/);
    expect(await alert.innerText()).toContain(`Failing statement: ${BAD}`);
    await drill.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await screenshot(e2e.page, 'e2e-drill-failed');
  });

  it('the fleet row carries the drill badge and the anomaly', async () => {
    await e2e.page.getByRole('link', { name: 'Fleet' }).click();
    const backups = e2e.page.getByRole('group', { name: 'Backups of Loomio drills' });
    await backups.getByText(/^drill failed/).waitFor({ timeout: 20_000 });
    // One pill per kind: the five emptied tables are one "table-emptied ×5".
    await backups.getByText('anomaly: table-emptied ×5').waitFor();
    await backups.getByText('anomaly: rows-shrank').waitFor();
    await screenshot(e2e.page, 'e2e-drill-fleet-row');
  });

  it('anomalies are listed on the Vault page and on their snapshot, and acknowledged there', async () => {
    const drill = await openSnapshot('emptied');
    await drill.getByRole('list', { name: 'Anomalies' }).getByText(/public\.users is empty/).waitFor();
    const panel = e2e.page.getByRole('region', { name: 'Anomalies' });
    const list = panel.getByRole('list', { name: 'Anomalies' });
    await list.getByText(/Loomio drills: .*public\.users is empty/).waitFor();
    const count = await list.getByRole('listitem').count();
    expect(count).toBeGreaterThan(0);
    await panel.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await screenshot(e2e.page, 'e2e-anomalies');
    for (let i = 0; i < count; i++) {
      await list.getByRole('button', { name: /^Acknowledge anomaly / }).first().click();
      await expect.poll(() => list.getByRole('listitem').count().catch(() => 0)).toBe(count - i - 1);
    }
    await panel.getByText('No unacknowledged anomalies.').waitFor();
    expect(await callTwin<unknown[]>('anomalies:list', { installationId })).toEqual([]);
    expect((await callTwin<unknown[]>('anomalies:list', { installationId, includeAcknowledged: true })).length).toBe(count);
  });
});
