// Crash safety of restores (#17): the built `lifeboat restore` runs in a child process against the
// fake Nojoin; the fake holds the request the restore makes in the phase under test (picked by
// reading the restore journal, so the child is observed in that phase, never timed), the child is
// killed with SIGKILL, and a core started on the same data directory reports the restore as
// interrupted: the phase, the state of the target (unchanged before the point of no return), the
// safety snapshot, a job record that failed with RESTORE_INTERRUPTED. The CLI lists it (exit 1)
// until it is acknowledged.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InterruptedRestore, RestorePhase, RestoreReport } from '../../src/shared/apps';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, type Core } from '../../src/main/core';
import { makeTestHome } from '../harness/home';
import { SAMPLE_ARCHIVE, startNojoin, type NojoinFakeHandle } from '../fleet/nojoin/server';

const cli = path.resolve('bin/lifeboat.mjs');
let home: string;
const fakes: NojoinFakeHandle[] = [];

function lifeboat(args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The journal of the one restore running, as the child last wrote it. */
function journal(): { phase: RestorePhase; pointOfNoReturnPassed: boolean; restoreId: string } | null {
  const dir = path.join(home, 'restores', 'journal');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  } catch {
    return null;
  }
  const live = names.map((n) => JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as { phase: RestorePhase; pointOfNoReturnPassed: boolean; restoreId: string; detectedAt?: string }).filter((e) => e.detectedAt === undefined);
  return live[0] ?? null;
}

async function withCore<T>(use: (core: Core) => Promise<T>): Promise<T> {
  const core = await createCore({ home });
  try {
    return await use(core);
  } finally {
    await core.close();
  }
}

beforeAll(async () => {
  home = makeTestHome('restore-interrupted');
  expect(lifeboat(['vault', 'init']).status).toBe(0);
});

afterAll(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
});

interface Case {
  name: string;
  phase: RestorePhase;
  /** The request held while the journal says this. */
  hold: (method: string, route: string, at: NonNullable<ReturnType<typeof journal>>) => boolean;
  ponr: boolean;
  state: InterruptedRestore['targetState'];
  safety: boolean;
}

const CASES: Case[] = [
  { name: 'planning', phase: 'plan', hold: (m, r, j) => j.phase === 'plan' && m === 'POST' && r.endsWith('/backup/export'), ponr: false, state: 'unchanged', safety: false },
  { name: 'the safety pull', phase: 'safety-pull', hold: (m, r, j) => j.phase === 'safety-pull' && m === 'POST' && r.endsWith('/backup/export'), ponr: false, state: 'unchanged', safety: false },
  { name: 'restoring, before the point of no return', phase: 'restoring', hold: (m, r, j) => j.phase === 'restoring' && !j.pointOfNoReturnPassed && m === 'POST' && /\/upload\/[^/]+\/chunk$/.test(r), ponr: false, state: 'unchanged', safety: true },
  { name: 'restoring, after the point of no return', phase: 'restoring', hold: (m, r, j) => j.phase === 'restoring' && j.pointOfNoReturnPassed && m === 'GET' && /\/backup\/import\/[^/]+$/.test(r), ponr: true, state: 'partial', safety: true },
  { name: 'verifying', phase: 'verifying', hold: (_m, r, j) => j.phase === 'verifying' && r.startsWith('/api/v1/backup/'), ponr: true, state: 'restored-unverified', safety: true },
];

describe('a restore killed with SIGKILL', () => {
  it.each(CASES)('while $name is reported at the next start as interrupted, with the state of the target', async (c) => {
    const fake = await startNojoin();
    fakes.push(fake);
    const name = `Nojoin ${c.name}`;
    await withCore((core) => createInProcessClient(core).call('installations:add', {
      name,
      app: 'nojoin',
      https: { baseUrl: fake.url, auth: 'password', username: 'alice', pinnedCertSha256: fake.certSha256 },
      settings: {},
      secrets: { 'https-password': 'alice-password-1' },
    }));
    const rowsBefore = JSON.stringify(fake.store.rows('recordings'));
    const held = fake.faults.holdRequests((method, route) => {
      const at = journal();
      return at !== null && c.hold(method, route, at);
    });
    const child = spawn(process.execPath, [cli, 'restore', name, SAMPLE_ARCHIVE, '--confirm', name], { env: { ...process.env, LIFEBOAT_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const first = await Promise.race([held.arrived.then(() => 'held' as const), exited.then(() => 'exited' as const)]);
    expect(first, output).toBe('held');
    const seen = journal()!;
    expect(seen).toMatchObject({ phase: c.phase, pointOfNoReturnPassed: c.ponr });
    // Another Lifeboat process started meanwhile does not take the running restore for an interrupted one.
    expect(lifeboat(['restore', '--interrupted']).stdout).toContain('No interrupted restore.');
    expect(journal()).toMatchObject({ restoreId: seen.restoreId });
    child.kill('SIGKILL');
    await exited;
    held.release();

    const found = await withCore(async (core) => {
      const client = createInProcessClient(core);
      const list = (await client.call('restore:interrupted', {})).filter((r) => r.installationName === name);
      expect(list).toHaveLength(1);
      const record = core.jobs.get(list[0]!.restoreId);
      expect(record).toMatchObject({ status: 'failed', error: { code: 'RESTORE_INTERRUPTED', details: { phase: c.phase, targetState: c.state } } });
      if (c.phase !== 'plan') expect(record.result as RestoreReport).toMatchObject({ ok: false, outcome: 'interrupted' });
      const audit = (await client.call('audit:list', { limit: 20 })).filter((a) => a.jobId === list[0]!.restoreId && a.action === 'restore');
      expect(audit.length).toBe(c.phase === 'plan' ? 0 : 1);
      return list[0]!;
    });
    expect(found).toMatchObject({ restoreId: seen.restoreId, phase: c.phase, pointOfNoReturnPassed: c.ponr, targetState: c.state, app: 'nojoin', mode: 'full' });
    expect(found.safetySnapshotId !== null).toBe(c.safety);
    if (c.state === 'unchanged') {
      expect(found.advice).toContain(`"${name}" is unchanged`);
      expect(fake.restoredArchives).toHaveLength(0);
      expect(JSON.stringify(fake.store.rows('recordings'))).toBe(rowsBefore);
    } else {
      expect(found.advice).toContain('restore the safety snapshot');
      expect(fake.restoredArchives).toHaveLength(1);
    }
    // A second start records nothing twice.
    await withCore(async (core) => {
      expect(core.jobs.list({ limit: 1000 }).filter((j) => j.id === found.restoreId)).toHaveLength(1);
    });

    const listed = lifeboat(['restore', '--interrupted']);
    expect(listed.status).toBe(1);
    expect(listed.stdout).toContain(`INTERRUPTED ${found.restoreId}`);
    expect(listed.stdout).toContain(`Target: ${c.state}.`);
    if (found.safetySnapshotId) expect(listed.stdout).toContain(`lifeboat restore "${name}" ${found.safetySnapshotId}`);
    const acknowledged = lifeboat(['--json', 'restore', '--interrupted', '--acknowledge', found.restoreId]);
    expect(acknowledged.status, acknowledged.stderr).toBe(0);
    expect(JSON.parse(acknowledged.stdout)).toEqual([]);
    expect(lifeboat(['restore', '--interrupted']).status).toBe(0);
  }, 240_000);
});
