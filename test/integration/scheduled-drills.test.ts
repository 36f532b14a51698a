// Restore drills on a schedule and their alerts, through the real scheduler (a clock the test
// moves), a real vault and the drill's own temporary PostgreSQL 15 cluster: the weekly drill of an
// installation's newest snapshot is stored with that snapshot and audited; when the newest one has a
// failing statement the drill fails, and the alert (naming the statement) reaches a webhook once;
// a new anomaly notifies as well.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { DrillResult } from '../../src/shared/drills';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import { emptiedDump } from '../harness/dump-text';
import { makeTestHome } from '../harness/home';
import { until } from '../harness/wait';

const SQL = path.resolve('test/fixtures/loomio/plaintext/loomio_production.sql');
const BAD = 'SELECT lifeboat_no_such_function(7);';
const WEEK = 7 * 24 * 3_600_000;

let core: Core;
let installation: Installation;
let server: http.Server;
const posted: { event: string; title: string; message: string }[] = [];
// Wednesday 2026-11-25 12:00 UTC; the drill runs Sundays 04:00 UTC.
const clock = { t: Date.UTC(2026, 10, 25, 12) };
const client = () => createInProcessClient(core);

async function importDump(day: number, content: string): Promise<string> {
  const file = path.join(makeTestHome('scheduled-drill-dump'), 'loomio_production.sql');
  await writeFile(file, `${content}\n-- day ${day}\n`);
  const when = new Date(Date.UTC(2026, 10, day, 3));
  await utimes(file, when, when);
  const record = await core.jobs.wait((await client().call('vault:import', { source: { path: file }, installationId: installation.id })).jobId);
  expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
  return (record.result as { snapshotId: string }).snapshotId;
}

/** Moves the clock just past the drill's next slot (a Sunday 04:00) and ticks; returns the drill job it started, ended. */
async function nextScheduledDrill(): Promise<JobRecord> {
  const before = new Set(core.jobs.list({ installationId: installation.id }).map((j) => j.id));
  const task = (await client().call('schedule:overview', {})).tasks.find((t) => t.kind === 'drill' && t.installationId === installation.id)!;
  const slot = Date.parse(task.nextRuns[0]!);
  expect(slot - clock.t).toBeLessThanOrEqual(WEEK);
  expect(new Date(slot).toISOString()).toMatch(/T04:00:00\.000Z$/);
  clock.t = slot + 1000;
  await core.unattended.tick();
  const started = core.jobs.list({ installationId: installation.id }).find((j) => !before.has(j.id) && j.kind === 'drill');
  expect(started, 'a scheduled drill started').toBeDefined();
  return core.jobs.wait(started!.id);
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posted.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: string; title: string; message: string });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  core = await createCore({ home: makeTestHome('scheduled-drills'), secretStore: new MemorySecretStore('scheduled drills'), clock: { now: () => clock.t } });
  await client().call('vault:init', {});
  installation = await client().call('installations:add', { name: 'Loomio drilled', app: 'loomio', ssh: { host: '127.0.0.1', auth: 'agent' }, settings: {} });
  await client().call('notify:save-channel', { id: 'hook', kind: 'webhook', name: 'Hook', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
  await client().call('schedule:set', { installationId: installation.id, installation: { pull: { preset: 'off' }, drill: { preset: 'weekly', weekday: 0, time: '04:00', timeZone: 'UTC', jitterMinutes: 0 } } });
  core.unattended.run('scheduled drills test');
}, 120_000);

afterAll(async () => {
  await core?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

describe('drills on a schedule', () => {
  it('the schedule lists the drill task with its next run', async () => {
    const overview = await client().call('schedule:overview', {});
    const task = overview.tasks.find((t) => t.kind === 'drill' && t.installationId === installation.id);
    expect(task?.nextRuns[0]).toBe('2026-11-29T04:00:00.000Z');
  });

  it('the weekly drill restores the newest snapshot, stored with it and audited; quiet on success', async () => {
    const sql = await readFile(SQL, 'utf8');
    await importDump(1, sql);
    const newest = await importDump(2, sql);
    const job = await nextScheduledDrill();
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.reason).toBe('scheduled (weekly on Sunday at 04:00 (UTC))');
    const result = job.result as DrillResult;
    expect(result.snapshotId).toBe(newest);
    expect(result.restorable).toBe(true);
    expect((await core.drills.latest(newest))?.id).toBe(result.id);
    const audit = await client().call('audit:list', {});
    expect(audit.find((e) => e.action === 'drill' && e.snapshotId === newest)?.jobId).toBe(job.id);
    await core.unattended.notifications.settle();
    expect(posted.filter((p) => p.event === 'drill-failed')).toEqual([]);
  });

  it('a newest snapshot with a failing statement fails its drill; the alert names the statement, once', async () => {
    const sql = await readFile(SQL, 'utf8');
    const marker = sql.indexOf('\n--\n-- PostgreSQL database dump complete');
    const broken = await importDump(3, `${sql.slice(0, marker)}\n${BAD}\n${sql.slice(marker)}`);
    const job = await nextScheduledDrill();
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('DRILL_FAILED');
    expect((job.result as DrillResult).failure?.statement).toBe(BAD);
    expect((await core.drills.latest(broken))?.restorable).toBe(false);
    await until(() => posted.some((p) => p.event === 'drill-failed'), 'the drill failure on the webhook');
    await core.unattended.notifications.settle();
    const alerts = posted.filter((p) => p.event === 'drill-failed' || p.event === 'run-failed');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.title).toBe(`Snapshot ${broken.slice(0, 8)} of Loomio drilled does not restore`);
    expect(alerts[0]!.message).toContain(`Statement: ${BAD}`);
  });

  it('a new anomaly notifies, with how to acknowledge it', async () => {
    const emptied = emptiedDump(await readFile(SQL, 'utf8'));
    await importDump(4, emptied);
    const found = await client().call('anomalies:check', { installationId: installation.id });
    expect(found.length).toBeGreaterThan(0);
    await until(() => posted.some((p) => p.event === 'anomaly'), 'the anomaly on the webhook');
    await core.unattended.notifications.settle();
    const alerts = posted.filter((p) => p.event === 'anomaly');
    expect(alerts).toHaveLength(found.length);
    for (const anomaly of found) expect(alerts.some((a) => a.message.includes(`lifeboat anomalies ack ${anomaly.id}`) && a.title.endsWith(anomaly.kind))).toBe(true);
  });
});
