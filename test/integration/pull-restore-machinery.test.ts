// The generic machinery every app uses — pull jobs into the vault, quarantine, "already in
// vault", the restore wizard's confirmations, safety pull and report — driven through the
// contract against the real Weavestream fleet member (sshd + PostgreSQL + pg_dump/pg_restore).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuarantineEntry, RestorePlan, RestoreReport } from '../../src/shared/apps';
import type { LifeboatClient } from '../../src/shared/contract';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { makeTestHome } from '../harness/home';
import { startWeavestreamFleet, type WeavestreamFleet } from '../fleet/weavestream/fleet';

let fleet: WeavestreamFleet;
let core: Core;
let client: LifeboatClient;
let installation: Installation;

beforeAll(async () => {
  fleet = await startWeavestreamFleet({ name: 'Weavestream office' });
  core = await createCore({ home: makeTestHome('machinery'), secretStore: new MemorySecretStore('integration test') });
  client = createInProcessClient(core);
  await client.call('vault:init', {});
  installation = await client.call('installations:add', fleet.installation);
});

afterAll(async () => {
  await core?.close();
  await fleet?.stop();
});

async function job<T>(started: Promise<{ jobId: string }>): Promise<{ record: JobRecord; result: T }> {
  const { jobId } = await started;
  const record = await core.jobs.wait(jobId);
  return { record, result: record.result as T };
}

describe('pull, quarantine and restore through the contract', () => {
  let pulled: PullResult;

  it('pulls the newest backup into the vault with its manifest, labelled for retention, with progress', async () => {
    const progress: number[] = [];
    core.events.on('job:update', (j) => {
      if (j.kind === 'pull' && j.progress.bytes > 0) progress.push(j.progress.bytes);
    });
    const { record, result } = await job<PullResult>(client.call('apps:pull', { installationId: installation.id }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    pulled = result;
    expect(pulled.alreadyInVault).toBe(false);
    expect(pulled.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['sha256', 'size']));
    expect(progress.length).toBeGreaterThan(0);
    const [snapshot] = await client.call('vault:snapshots', { installationId: installation.id });
    expect(snapshot).toMatchObject({ id: pulled.snapshotId, app: 'weavestream', source: 'pull', remoteId: pulled.remoteId, hostname: installation.name });
    expect(snapshot!.archive?.name).toBe(pulled.remoteId);
    expect(snapshot!.sidecars.map((s) => s.name)).toEqual([pulled.remoteId.replace(/\.dump$/, '.manifest.json')]);
    const audit = await client.call('audit:list', { installationId: installation.id });
    expect(audit[0]).toMatchObject({ action: 'pull', outcome: 'succeeded', snapshotId: pulled.snapshotId });
  });

  it('says "already in vault" for the same remote backup twice', async () => {
    const { result } = await job<PullResult>(client.call('apps:pull', { installationId: installation.id, remoteId: pulled.remoteId }));
    expect(result).toMatchObject({ alreadyInVault: true, snapshotId: pulled.snapshotId });
    const remote = await client.call('apps:list-remote', { installationId: installation.id });
    expect(remote.find((b) => b.id === pulled.remoteId)?.inVault).toBe(pulled.snapshotId);
  });

  it('quarantines a download that fails verification, naming the check, and nothing enters the vault', async () => {
    const fresh = await fleet.exportNow();
    const file = path.join(fleet.backupDir, fresh);
    const bytes = await readFile(file);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
    await fleet.writeOwnedFile(file, bytes);
    const before = await client.call('vault:snapshots', {});
    const { record } = await job<PullResult>(client.call('apps:pull', { installationId: installation.id, remoteId: fresh }));
    expect(record.status).toBe('failed');
    expect(record.error?.code).toBe('ARCHIVE_VERIFY_FAILED');
    expect(record.error?.message).toMatch(/SHA-256/);
    expect(record.error?.message).toMatch(/quarantined/);
    expect(await client.call('vault:snapshots', {})).toHaveLength(before.length);
    const quarantine: QuarantineEntry[] = await client.call('apps:quarantine', {});
    expect(quarantine[0]).toMatchObject({ remoteId: fresh, installationId: installation.id });
    expect(quarantine[0]!.checks.find((c) => c.id === 'sha256')?.ok).toBe(false);
    expect(await client.call('apps:quarantine-delete', { id: quarantine[0]!.id })).toEqual([]);
  });

  it('restores a full dump after a safety pull, only with the typed name, and verifies the data came back', async () => {
    const original = await fleet.counts();
    await fleet.psql('DELETE FROM posts');
    expect((await fleet.counts()).posts).toBe(0);

    const { result: plan } = await job<RestorePlan>(client.call('restore:plan', { installationId: installation.id, source: { snapshotId: pulled.snapshotId }, mode: 'full', selection: [] }));
    expect(plan.blocked, JSON.stringify(plan.preflight)).toBe(false);
    expect(plan.crossInstallation).toBe(false);
    expect(plan.changes.find((c) => c.item.endsWith('posts'))).toMatchObject({ action: 'replace', live: 0 });
    expect(plan.steps[0]).toMatch(/Safety pull/);
    expect(plan.pointOfNoReturn.length).toBeGreaterThan(5);

    await expect(client.call('restore:start', { planId: plan.id, confirmation: 'weavestream office' })).rejects.toMatchObject({ code: 'CONFIRMATION_MISMATCH' });
    await expect(client.call('restore:start', { planId: plan.id, confirmation: installation.name, skipSafetyPull: { reason: 'x' } })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const { record, result: report } = await job<RestoreReport>(client.call('restore:start', { planId: plan.id, confirmation: installation.name }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(report.ok).toBe(true);
    expect((await fleet.counts()).posts).toBe(original.posts);

    const safety = (await client.call('vault:snapshots', { installationId: installation.id })).find((s) => s.id === report.safetySnapshotId);
    expect(safety?.source).toBe('pre-restore');
    expect(await client.call('restore:report', { planId: plan.id })).toMatchObject({ ok: true, safetySnapshotId: report.safetySnapshotId });
    const audit = await client.call('audit:list', { installationId: installation.id });
    expect(audit.find((e) => e.action === 'restore')).toMatchObject({ outcome: 'succeeded', mode: 'full', snapshotId: pulled.snapshotId });
  });

  it('needs a second confirmation for an archive from another installation, and blocks the wrong app kind', async () => {
    const twin = await client.call('installations:add', { ...fleet.installation, name: 'Weavestream staging' });
    const { result: cross } = await job<RestorePlan>(client.call('restore:plan', { installationId: twin.id, source: { snapshotId: pulled.snapshotId }, mode: 'full', selection: [] }));
    expect(cross.crossInstallation).toBe(true);
    await expect(client.call('restore:start', { planId: cross.id, confirmation: 'Weavestream staging' })).rejects.toMatchObject({ code: 'CONFIRMATION_MISMATCH', message: expect.stringMatching(/another installation/) });

    const mesh = await client.call('installations:add', { name: 'Mesh', app: 'meshmonitor', https: { baseUrl: 'https://127.0.0.1:9', auth: 'none' } });
    const { result: wrong } = await job<RestorePlan>(client.call('restore:plan', { installationId: mesh.id, source: { snapshotId: pulled.snapshotId }, mode: 'full', selection: [] }));
    expect(wrong.blocked).toBe(true);
    expect(wrong.preflight.find((c) => c.id === 'app-kind')?.detail).toMatch(/Weavestream backup; "Mesh" runs MeshMonitor/);
    await expect(client.call('restore:start', { planId: wrong.id, confirmation: 'Mesh' })).rejects.toMatchObject({ code: expect.stringMatching(/NOT_FOUND|PREFLIGHT_FAILED/) });
  });
});
