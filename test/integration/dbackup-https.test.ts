// DBackup over its HTTP API, against the fake written from the spec (test/fleet/dbackup/server.ts)
// over the fleet's real destination and PostgreSQL: list and pull (the ZIP-wrapped raw download,
// unpacked and verified), a 403 naming the missing permission, 429s waited for once and then
// explained, Run now followed to its end, and restores through DBackup: verified first, the file
// uploaded over SFTP when the destination lost it, the execution followed; Partial is a failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestorePlan, RestoreReport } from '../../src/shared/apps';
import type { Installation } from '../../src/shared/installations';
import { keySlot } from '../../src/main/apps/dbackup/keys';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { Core } from '../../src/main/core';
import { startDbackupCore, type DbackupTestCore } from '../fleet/dbackup/core';
import { startDbackupApi, startDbackupFleet, type DbackupApiFleet, type DbackupFleet } from '../fleet/dbackup/fleet';

let fleet: DbackupFleet;
let api: DbackupApiFleet;
let core: Core;
let https: Installation;
let job: DbackupTestCore['job'];
const client = () => createInProcessClient(core);

const count = async (table: string, db = 'loomio_production'): Promise<number> => Number((await fleet.postgres.psql(`SELECT count(*) FROM ${table};`, db)).trim());

beforeAll(async () => {
  fleet = await startDbackupFleet({ name: 'DBackup (https test)' });
  api = await startDbackupApi(fleet);
  ({ core, job } = await startDbackupCore('dbackup-https'));
  https = await client().call('installations:add', { ...api.installation('DBackup API'), secrets: { ...api.installation('DBackup API').secrets, [keySlot(fleet.profileId)]: fleet.keyHex } });
});

afterAll(async () => {
  await core?.close();
  await api?.api.stop();
  await fleet?.stop();
});

describe('DBackup over its API', () => {
  it('lists the storage destination with the rows DBackup enriches from the sidecars', async () => {
    const list = await client().call('apps:list-remote', { installationId: https.id });
    expect(list.map((b) => b.id).sort()).toEqual(Object.values(fleet.seeded).map((p) => `${api.storageId}:${p}`).sort());
    expect(list.find((b) => b.id.endsWith(fleet.seeded.multiDb))?.details).toMatchObject({ kind: 'database', job: 'Loomio All DBs', encrypted: 'yes', encryptionProfile: fleet.profileId, compression: 'gzip' });
  });

  it('pulls an encrypted backup: the ZIP DBackup sends is unpacked, the stored bytes verified and kept with the sidecar', async () => {
    const remoteId = `${api.storageId}:${fleet.seeded.singleDb}`;
    const { record, result } = await job<PullResult>(client().call('apps:pull', { installationId: https.id, remoteId }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(result.checks.filter((c) => c.ok && !c.skipped).map((c) => c.id)).toEqual(expect.arrayContaining(['sidecar', 'sha256', 'md5']));
    const chunks: Buffer[] = [];
    const name = fleet.seeded.singleDb.split('/').pop()!;
    for await (const chunk of await core.vault.dump(result.snapshotId, `/${name}`)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(await fleet.read(fleet.seeded.singleDb))).toBe(true);
    expect(api.api.requests.some((r) => r.path.endsWith('/download') && r.status === 200)).toBe(true);
  });

  it('names the missing permission on a 403', async () => {
    const narrow = await client().call('installations:add', api.installation('DBackup narrow key', { permissions: ['storage:read', 'destinations:read'] }));
    const { record } = await job<PullResult>(client().call('apps:pull', { installationId: narrow.id, remoteId: `${api.storageId}:${fleet.seeded.config}` }));
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'HTTP_AUTH_FAILED', details: { permission: 'storage:download' } });
    expect(record.error?.message).toMatch(/lacks the permission storage:download/);
  });

  it('runs the job now and follows the execution to the new backup, which it can pull', async () => {
    const { record, result } = await job<{ remoteId: string | null }>(client().call('apps:trigger', { installationId: https.id }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(result.remoteId).toMatch(new RegExp(`^${api.storageId}:Loomio DB/Loomio_DB_.*\\.sql\\.gz\\.enc$`));
    const pulled = await job<PullResult>(client().call('apps:pull', { installationId: https.id, remoteId: result.remoteId! }));
    expect(pulled.record.status, JSON.stringify(pulled.record.error)).toBe('succeeded');
  });

  it('restores through DBackup: safety backup, verified file, execution followed, the rows back', async () => {
    const snapshot = (await client().call('vault:snapshots', { installationId: https.id })).find((s) => s.remoteId === `${api.storageId}:${fleet.seeded.singleDb}`)!;
    const before = await count('users');
    await fleet.postgres.psql('DELETE FROM discussions; DELETE FROM users;', 'loomio_production');
    const { result: plan } = await job<RestorePlan>(client().call('restore:plan', { installationId: https.id, source: { snapshotId: snapshot.id }, mode: 'full' }));
    expect(plan.blocked, JSON.stringify(plan.preflight)).toBe(false);
    expect(plan.preflight.find((c) => c.id === 'on-destination')?.detail).toMatch(/already on storage/);
    const { record, result: report } = await job<RestoreReport>(client().call('restore:start', { planId: plan.id, confirmation: https.name }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(report).toMatchObject({ ok: true, outcome: 'verified' });
    expect(report.safetySnapshotId).not.toBeNull();
    expect(await count('users')).toBe(before);
    expect(api.api.restores.at(-1)).toMatchObject({ file: fleet.seeded.singleDb, sourceId: api.sourceId, databases: ['loomio_production'] });
  });

  it('DBackup\'s analyze feeds the plan: the databases it reads inside, each replaced, or only the chosen ones (database mapping)', async () => {
    const pulled = await job<PullResult>(client().call('apps:pull', { installationId: https.id, remoteId: `${api.storageId}:${fleet.seeded.multiDb}` }));
    expect(pulled.record.status, JSON.stringify(pulled.record.error)).toBe('succeeded');
    const source = { snapshotId: pulled.result.snapshotId };
    const analysed = api.api.analyses.length;
    const { result: full } = await job<RestorePlan>(client().call('restore:plan', { installationId: https.id, source, mode: 'full' }));
    expect(api.api.analyses.slice(analysed)).toEqual([{ file: fleet.seeded.multiDb, type: 'postgres' }]);
    expect(full.preflight.find((c) => c.id === 'dbackup-analyze')).toMatchObject({ ok: true, detail: '2 database(s): loomio_production, analytics, as the preview read them' });
    expect(full.changes.map((c) => [c.item, c.action])).toEqual([
      [expect.stringMatching(/^database loomio_production on DBackup source/), 'replace'],
      [expect.stringMatching(/^database analytics on DBackup source/), 'replace'],
    ]);
    const { result: chosen } = await job<RestorePlan>(client().call('restore:plan', { installationId: https.id, source, mode: 'databases', selection: ['analytics'] }));
    expect(chosen.blocked, JSON.stringify(chosen.preflight)).toBe(false);
    expect(chosen.changes.map((c) => [c.item.replace(/ on DBackup source.*$/, ''), c.action])).toEqual([['database loomio_production (not chosen)', 'keep'], ['database analytics', 'replace']]);
    await fleet.postgres.psql('DELETE FROM page_views;', 'analytics');
    const { record } = await job<RestoreReport>(client().call('restore:start', { planId: chosen.id, confirmation: https.name, skipSafetyPull: { reason: 'the fleet database is disposable' } }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(api.api.restores.at(-1)).toMatchObject({ file: fleet.seeded.multiDb, databases: ['analytics'] });
    expect(await count('page_views', 'analytics')).toBe(300);
  });

  it('a single custom-format dump: DBackup names no database inside, the plan says so and follows the sidecar', async () => {
    const snapshot = (await client().call('vault:snapshots', { installationId: https.id })).find((s) => s.remoteId === `${api.storageId}:${fleet.seeded.singleDb}`)!;
    const { result: plan } = await job<RestorePlan>(client().call('restore:plan', { installationId: https.id, source: { snapshotId: snapshot.id }, mode: 'full' }));
    expect(plan.preflight.find((c) => c.id === 'dbackup-analyze')?.detail).toMatch(/^DBackup names no database inside \(a single dump: it restores it as loomio_production\)/);
  });

  it('a Partial restore is a failed restore', async () => {
    const snapshot = (await client().call('vault:snapshots', { installationId: https.id })).find((s) => s.remoteId === `${api.storageId}:${fleet.seeded.singleDb}`)!;
    const { result: plan } = await job<RestorePlan>(client().call('restore:plan', { installationId: https.id, source: { snapshotId: snapshot.id }, mode: 'full' }));
    api.api.failNextRestore('Partial');
    const { record } = await job<RestoreReport>(client().call('restore:start', { planId: plan.id, confirmation: https.name, skipSafetyPull: { reason: 'tested just before' } }));
    expect(record.status).toBe('failed');
    expect(record.error?.code).toBe('RESTORE_FAILED');
    expect(record.error?.message).toMatch(/ended Partial \(some steps failed: not a complete restore\)/);
  });

  it('refuses to plan the restore of a config backup (DBackup has no API for it)', async () => {
    const { record, result } = await job<PullResult>(client().call('apps:pull', { installationId: https.id, remoteId: `${api.storageId}:${fleet.seeded.config}` }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    const { result: plan } = await job<RestorePlan>(client().call('restore:plan', { installationId: https.id, source: { snapshotId: result.snapshotId }, mode: 'full' }));
    expect(plan.blocked).toBe(true);
    expect(plan.preflight.find((c) => c.id === 'database-backup')).toMatchObject({ ok: false, detail: expect.stringMatching(/only in its web UI/) });
  });

  it('with SSH as well, a backup the destination lost is uploaded over SFTP (sidecar first), then restored', async () => {
    const hybrid = await client().call('installations:add', { ...api.installation('DBackup hybrid', { hybrid: true }), secrets: { ...api.installation('DBackup hybrid', { hybrid: true }).secrets, [keySlot(fleet.profileId)]: fleet.keyHex } });
    const made = await fleet.backupNow();
    const pulled = await job<PullResult>(client().call('apps:pull', { installationId: hybrid.id, remoteId: made }));
    expect(pulled.record.status, JSON.stringify(pulled.record.error)).toBe('succeeded');
    const { rm } = await import('node:fs/promises');
    await rm(`${fleet.destinationDir}/${made}`);
    await rm(`${fleet.destinationDir}/${made}.meta.json`);
    const { result: plan } = await job<RestorePlan>(client().call('restore:plan', { installationId: hybrid.id, source: { snapshotId: pulled.result.snapshotId }, mode: 'full' }));
    expect(plan.blocked, JSON.stringify(plan.preflight)).toBe(false);
    expect(plan.preflight.find((c) => c.id === 'on-destination')?.detail).toMatch(/uploaded over SFTP/);
    const { record, result: report } = await job<RestoreReport>(client().call('restore:start', { planId: plan.id, confirmation: hybrid.name, skipSafetyPull: { reason: 'the fleet database is disposable' } }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(report.outcome).toBe('verified');
    expect((await fleet.read(made)).length).toBeGreaterThan(0);
    expect(api.api.restores.at(-1)?.file).toBe(made);
  });
});

describe('DBackup\'s rate limits', () => {
  it('a 429 is waited for once (Retry-After), a second one is explained', async () => {
    const tight = await startDbackupApi(fleet, { auth: 5, get: 2, other: 20, windowMs: 1500 });
    try {
      const installation = await client().call('installations:add', tight.installation('DBackup tight'));
      // Listing is one GET; with only 2 per 1.5 s, the third and fourth calls of a pull hit 429 and wait.
      const { record } = await job<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId: `${tight.storageId}:${fleet.seeded.config}` }));
      expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
      expect(tight.api.requests.some((r) => r.status === 429)).toBe(true);
      expect(record.log.some((line) => /429 \(too many requests\); waiting \d+ s as it asks/.test(line))).toBe(true);
    } finally {
      await tight.api.stop();
    }
    const closed = await startDbackupApi(fleet, { auth: 5, get: 1, other: 0, windowMs: 60_000, retryAfterSeconds: 2 });
    try {
      const installation = await client().call('installations:add', closed.installation('DBackup closed'));
      // The first GET passes; the second is refused, waited for (2 s), refused again.
      await client().call('apps:list-remote', { installationId: installation.id });
      await expect(client().call('apps:list-remote', { installationId: installation.id })).rejects.toMatchObject({
        code: 'HTTP_RATE_LIMITED',
        message: expect.stringMatching(/too many requests from this address \(it allows 100 GET requests a minute\); Lifeboat waited once and was refused again/),
      });
    } finally {
      await closed.api.stop();
    }
  });
});
