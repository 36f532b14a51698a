// DBackup end to end over SFTP: a storage destination on the real sshd, filled at test time with
// real pg_dump -F c dumps, gzipped and encrypted the way DBackup's code does, listed and pulled
// through the core (apps:pull) with their sidecars, checked by SHA-256 and MD5 before a snapshot
// exists (a damaged file is quarantined), and previewed once the operator provides the key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewReport, QuarantineEntry } from '../../src/shared/apps';
import type { Installation } from '../../src/shared/installations';
import { keySlot } from '../../src/main/apps/dbackup/keys';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { Core } from '../../src/main/core';
import { startDbackupCore, type DbackupTestCore } from '../fleet/dbackup/core';
import { startDbackupFleet, type DbackupFleet } from '../fleet/dbackup/fleet';

let fleet: DbackupFleet;
let core: Core;
let installation: Installation;
let job: DbackupTestCore['job'];
const client = () => createInProcessClient(core);

beforeAll(async () => {
  fleet = await startDbackupFleet({ name: 'DBackup (sftp test)' });
  ({ core, job } = await startDbackupCore('dbackup-sftp'));
  installation = await client().call('installations:add', fleet.installation);
});

afterAll(async () => {
  await core?.close();
  await fleet?.stop();
});

describe('a DBackup destination over SFTP', () => {
  it('lists every backup with its sidecar facts, newest first, hiding sidecars and .dbackup/', async () => {
    const list = await client().call('apps:list-remote', { installationId: installation.id });
    expect(list.map((b) => b.id)).toEqual([fleet.seeded.config, fleet.seeded.multiDb, fleet.seeded.singleDb]);
    expect(list.find((b) => b.id === fleet.seeded.multiDb)?.details).toMatchObject({ kind: 'database', sourceType: 'postgres', encrypted: 'yes', compression: 'gzip', job: 'Loomio All DBs', databases: 'loomio_production, analytics', encryptionProfile: fleet.profileId });
    expect(list.find((b) => b.id === fleet.seeded.config)?.details.kind).toBe('config');
  });

  it('pulls each backup verified without the key, its .meta.json stored beside it', async () => {
    for (const remoteId of Object.values(fleet.seeded)) {
      const { record, result } = await job<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId }));
      expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
      const ids = result.checks.filter((c) => c.ok && !c.skipped).map((c) => c.id);
      expect(ids).toEqual(expect.arrayContaining(remoteId === fleet.seeded.config ? ['sidecar', 'size'] : ['sidecar', 'sha256', 'md5']));
      const files = await core.vault.snapshotFiles(result.snapshotId);
      expect(files.map((f) => f.path).sort()).toEqual(expect.arrayContaining([expect.stringContaining('.meta.json')]));
    }
    const snapshots = await client().call('vault:snapshots', { installationId: installation.id });
    expect(snapshots).toHaveLength(3);
  });

  it('previews a pulled snapshot once the key is provided: the dump\'s tables', async () => {
    const snapshot = (await client().call('vault:snapshots', { installationId: installation.id })).find((s) => s.remoteId === fleet.seeded.singleDb)!;
    const first = await job<PreviewReport>(client().call('apps:preview', { source: { snapshotId: snapshot.id } }));
    expect(first.record.status).toBe('failed');
    expect(first.record.error).toMatchObject({ code: 'KEY_REQUIRED', details: { slot: keySlot(fleet.profileId) } });
    await client().call('apps:provide-key', { slot: keySlot(fleet.profileId), key: fleet.keyHex });
    const { record, result: report } = await job<PreviewReport>(client().call('apps:preview', { source: { snapshotId: snapshot.id } }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(report.app).toBe('dbackup');
    expect(report.integrity.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.integrity.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['sha256', 'md5', 'gcm-tag', 'pg-dump']));
    expect(report.contents.rows.map((r) => r.table).sort()).toEqual(['discussions', 'users']);
  });

  it('previews the multi-DB TAR with both databases\' tables', async () => {
    const snapshot = (await client().call('vault:snapshots', { installationId: installation.id })).find((s) => s.remoteId === fleet.seeded.multiDb)!;
    const { record, result: report } = await job<PreviewReport>(client().call('apps:preview', { source: { snapshotId: snapshot.id } }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(report.integrity.ok).toBe(true);
    expect(report.contents.rows.map((r) => `${String(r.database)}.${String(r.table)}`).sort()).toEqual(['analytics.page_views', 'loomio_production.discussions', 'loomio_production.users']);
  });

  it('quarantines a backup whose bytes no longer match its sidecar; nothing enters the vault', async () => {
    const made = await fleet.backupNow();
    await fleet.corrupt(made);
    const before = (await client().call('vault:snapshots', {})).length;
    const { record } = await job<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId: made }));
    expect(record.status).toBe('failed');
    expect(record.error?.code).toBe('ARCHIVE_VERIFY_FAILED');
    expect(record.error?.message).toMatch(/SHA-256/);
    expect(await client().call('vault:snapshots', {})).toHaveLength(before);
    const quarantined: QuarantineEntry[] = await client().call('apps:quarantine', {});
    const entry = quarantined.find((q) => q.remoteId === made);
    expect(entry?.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['sha256', 'md5']);
  });

  it('refuses a remote id that climbs out of the destination', async () => {
    const { record } = await job<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId: '../../etc/passwd' }));
    expect(record.status).toBe('failed');
    expect(record.error?.code).toBe('INVALID_INPUT');
  });
});
