// Restoring a Loomio backup encrypted with ANOTHER installation's key, on two fleet members (each
// a real OpenSSH sshd and PostgreSQL 15, each stack with its own random BACKUP_ENCRYPTION_KEY):
// a snapshot pulled from A restores into B decrypted with A's key, and the backup of the restored
// state Lifeboat leaves on B's Pi is encrypted with B's key (Python's `cryptography` Fernet opens
// it with B's key and refuses A's). A missing source key is KEY_REQUIRED naming where it is
// missing; a dropped file opens with the key given for it this session.
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestorePlan, RestoreReport } from '../../src/shared/apps';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import { fernetKeyId } from '../../src/main/formats/fernet';
import { loomioModule } from '../../src/main/apps/loomio';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { APP_MODULES, AppRegistry } from '../../src/main/apps/registry';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { makeTestHome } from '../harness/home';
import { pythonFernet, startLoomioFleet, type LoomioFleet } from '../fleet/loomio/fleet';

let fleetA: LoomioFleet;
let fleetB: LoomioFleet;
let core: Core;
let a: Installation;
let b: Installation;
let scratch: string;
let home: string;
const client = () => createInProcessClient(core);

beforeAll(async () => {
  [fleetA, fleetB] = await Promise.all([startLoomioFleet({ name: 'Loomio A' }), startLoomioFleet({ name: 'Loomio B' })]);
  const modules = APP_MODULES.some((m) => m.kind === 'loomio') ? APP_MODULES : [...APP_MODULES, loomioModule];
  home = makeTestHome('loomio-cross-key');
  core = await createCore({ home, secretStore: new MemorySecretStore('loomio cross-key'), apps: new AppRegistry(modules) });
  await client().call('vault:init', {});
  a = await client().call('installations:add', fleetA.installation);
  b = await client().call('installations:add', fleetB.installation);
  scratch = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-loomio-cross-'));
});

afterAll(async () => {
  await core?.close();
  await Promise.all([fleetA?.stop(), fleetB?.stop()]);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function job<T>(started: Promise<{ jobId: string }>): Promise<{ record: JobRecord; result: T }> {
  const record = await core.jobs.wait((await started).jobId);
  return { record, result: record.result as T };
}

async function planInto(target: Installation, source: { snapshotId: string } | { path: string }): Promise<{ record: JobRecord; result: RestorePlan }> {
  return job<RestorePlan>(client().call('restore:plan', { installationId: target.id, source, mode: 'full', selection: [] }));
}

/** Rows of each COPY block of a plain dump, counted line by line. */
function copyCounts(dump: Buffer): Record<string, number> {
  const counts: Record<string, number> = {};
  let table: string | null = null;
  for (const line of dump.toString('utf8').split('\n')) {
    const copy = /^COPY public\.(\S+) .* FROM stdin;$/.exec(line);
    if (copy) {
      table = copy[1]!;
      counts[table] = 0;
    } else if (table && line === '\\.') table = null;
    else if (table) counts[table]! += 1;
  }
  return counts;
}

/** The newest backup of the restored state Lifeboat left in B's backup folder. */
async function newestRebootCopy(): Promise<string> {
  const copies = (await fleetB.list('data/production/backups')).filter((n) => n.endsWith('-lifeboat-restore.sql.enc'));
  expect(copies.length).toBeGreaterThan(0);
  return path.join(fleetB.backupDir, copies[copies.length - 1]!);
}

let snapshotId: string;
let backupFile: string;
let archived: Record<string, number>;

describe('a backup encrypted with another installation\'s key', () => {
  it('the two stacks have different keys', () => {
    expect(fleetA.passphrase).not.toBe(fleetB.passphrase);
    expect(fernetKeyId(fleetA.key)).not.toBe(fernetKeyId(fleetB.key));
  });

  it('a snapshot pulled from A restores into B: decrypted with A\'s key, the copy left on B\'s Pi encrypted with B\'s (and not A\'s)', async () => {
    // A's data differs from B's, so the restored counts are A's, not what B had.
    await fleetA.psql(`INSERT INTO users (email) SELECT 'a' || g || '@example.org' FROM generate_series(1, 7) g; DELETE FROM comments WHERE id > 90;`);
    archived = await fleetA.counts();
    expect(archived).not.toEqual(await fleetB.counts());
    const name = await fleetA.backupNow('manual', 'before-move');
    backupFile = path.join(fleetA.backupDir, name);
    const listed = (await client().call('apps:list-remote', { installationId: a.id })).find((x) => x.name === name)!;
    const pulled = await job<PullResult>(client().call('apps:pull', { installationId: a.id, remoteId: listed.id }));
    expect(pulled.record.status, JSON.stringify(pulled.record.error)).toBe('succeeded');
    snapshotId = pulled.result.snapshotId;

    const { record, result: plan } = await planInto(b, { snapshotId });
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(plan.blocked, JSON.stringify(plan.preflight)).toBe(false);
    expect(plan.crossInstallation).toBe(true);
    // The plan says which key decrypts and which encrypts.
    const keys = plan.preflight.find((c) => c.id === 'keys')!;
    expect(keys).toMatchObject({ ok: true });
    expect(keys.detail).toContain(`Decrypted with "Loomio A"'s BACKUP_ENCRYPTION_KEY (the installation vault snapshot ${snapshotId.slice(0, 8)}`);
    expect(keys.detail).toContain(`key ${fernetKeyId(fleetA.key)}`);
    expect(keys.detail).toContain(`encrypted with "Loomio B"'s BACKUP_ENCRYPTION_KEY, key ${fernetKeyId(fleetB.key)} (another key than the archive's`);
    expect(plan.preflight.find((c) => c.id === 'archive-integrity')).toMatchObject({ ok: true });
    expect(plan.changes).toEqual(expect.arrayContaining([{ item: 'public.users', action: 'replace', live: 25, archive: archived.users }]));

    const { record: run, result: report } = await job<RestoreReport>(client().call('restore:start', { planId: plan.id, confirmation: b.name, confirmCrossInstallation: true }));
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    expect(report.outcome).toBe('verified');
    // The safety pull of B verified with B's own key.
    expect(report.safetySnapshotId).not.toBeNull();
    expect(await fleetB.counts()).toEqual(archived);
    expect(report.checks.filter((c) => c.id.startsWith('rows:')).every((c) => c.ok)).toBe(true);
    expect(report.checks.find((c) => c.id === 'reboot-copy')).toMatchObject({ ok: true, detail: expect.stringContaining(`verifies with "Loomio B"'s BACKUP_ENCRYPTION_KEY (key ${fernetKeyId(fleetB.key)})`) });
    expect(run.log.join('\n')).toContain(`The archive is decrypted with "Loomio A"'s BACKUP_ENCRYPTION_KEY`);
    expect(run.log.join('\n')).toMatch(new RegExp(`Wrote loomio-manual-.*-lifeboat-restore\\.sql\\.enc, encrypted with "Loomio B"'s BACKUP_ENCRYPTION_KEY \\(key ${fernetKeyId(fleetB.key)}\\)`));

    // The file left on B's Pi, named so the stack's rotation treats it as its own, opens with B's key only.
    const copy = await newestRebootCopy();
    expect(path.basename(copy)).toMatch(/^loomio-manual-\d{8}-\d{6}-lifeboat-restore\.sql\.enc$/);
    const withB = pythonFernet(copy, fleetB.key);
    expect(withB.ok, withB.ok ? '' : withB.error).toBe(true);
    const plaintext = (withB as { plaintext: Buffer }).plaintext;
    expect(plaintext.subarray(0, 30).toString()).toBe('--\n-- PostgreSQL database dump');
    expect(copyCounts(plaintext)).toEqual(archived);
    expect(pythonFernet(copy, fleetA.key)).toEqual({ ok: false, error: 'InvalidToken' });
    // And A's own backup is the other way round: A's key, not B's.
    expect(pythonFernet(backupFile, fleetA.key).ok).toBe(true);
    expect(pythonFernet(backupFile, fleetB.key)).toEqual({ ok: false, error: 'InvalidToken' });
  });

  it('without A\'s key the plan stops with KEY_REQUIRED naming A and the snapshot, not an HMAC failure', async () => {
    await client().call('installations:forget-secret', { id: a.id, purpose: 'backup-encryption-key' });
    const { record } = await planInto(b, { snapshotId });
    expect(record.status).toBe('failed');
    expect(record.error?.code).toBe('KEY_REQUIRED');
    expect(record.error?.message).toContain(`No BACKUP_ENCRYPTION_KEY is stored for "Loomio A", the installation vault snapshot ${snapshotId.slice(0, 8)}`);
    expect(record.error?.message).toContain(`not with "Loomio B"'s`);
    expect(record.error?.message).toMatch(/Store it in "Loomio A"'s settings .*--key-stdin/);
    expect(record.error?.message).not.toMatch(/HMAC/);
    expect(record.error?.details).toMatchObject({ slot: 'backup-encryption-key', installationId: a.id, snapshotId, origin: 'installation' });

    // Once A is gone altogether, the snapshot still names itself.
    await client().call('installations:remove', { id: a.id });
    const orphan = await planInto(b, { snapshotId });
    expect(orphan.record.error?.code).toBe('KEY_REQUIRED');
    expect(orphan.record.error?.message).toMatch(new RegExp(`The BACKUP_ENCRYPTION_KEY of vault snapshot ${snapshotId.slice(0, 8)} .* is missing: the snapshot was pulled from an installation that is no longer configured`));
  });

  it('a dropped file of A opens with the key given for it this session, though B\'s own key is stored; the copy on B\'s Pi is still B\'s', async () => {
    const dropped = path.join(scratch, path.basename(backupFile));
    await copyFile(backupFile, dropped);
    // B's stored key does not open it, and no other key was given: the plan says where the right key is given.
    const before = await planInto(b, { path: dropped });
    expect(before.record.status, JSON.stringify(before.record.error)).toBe('succeeded');
    expect(before.result.blocked).toBe(true);
    expect(before.result.preflight.find((c) => c.id === 'archive-integrity')?.detail).toMatch(/probably the wrong key .*another stack opens with that stack's key, given at the key prompt or with --key-stdin/);

    await client().call('apps:provide-key', { slot: 'backup-encryption-key', key: fleetA.passphrase });
    await fleetB.psql(`INSERT INTO groups (name) VALUES ('made on B after the first restore');`);
    expect(await fleetB.counts()).not.toEqual(archived);
    const { record, result: plan } = await planInto(b, { path: dropped });
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(plan.blocked, JSON.stringify(plan.preflight)).toBe(false);
    expect(plan.preflight.find((c) => c.id === 'keys')?.detail).toMatch(new RegExp(`^Decrypted with the BACKUP_ENCRYPTION_KEY given this session for local file ${path.basename(dropped).replace(/\./g, '\\.')}, key ${fernetKeyId(fleetA.key)}\\. .*"Loomio B"'s BACKUP_ENCRYPTION_KEY, key ${fernetKeyId(fleetB.key)}`));
    const { record: run, result: report } = await job<RestoreReport>(client().call('restore:start', { planId: plan.id, confirmation: b.name, skipSafetyPull: { reason: 'test: B was backed up by the restore before' } }));
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    expect(report.outcome).toBe('verified');
    expect(await fleetB.counts()).toEqual(archived);
    const copy = await newestRebootCopy();
    expect(pythonFernet(copy, fleetB.key).ok).toBe(true);
    expect(pythonFernet(copy, fleetA.key)).toEqual({ ok: false, error: 'InvalidToken' });
    // The file itself never left this machine in clear: the only copies on B are encrypted.
    expect((await readFile(copy)).subarray(0, 6).toString()).toBe('gAAAAA');

    // A file that is one of B's own backups opens with B's key, though A's was typed since.
    const own = path.join(scratch, fleetB.seeded.hourly);
    await copyFile(path.join(fleetB.backupDir, fleetB.seeded.hourly), own);
    const ownPlan = await planInto(b, { path: own });
    expect(ownPlan.result.blocked, JSON.stringify(ownPlan.result.preflight)).toBe(false);
    expect(ownPlan.result.preflight.find((c) => c.id === 'keys')?.detail).toContain(`Decrypted with "Loomio B"'s own BACKUP_ENCRYPTION_KEY (local file ${fleetB.seeded.hourly} is one of its backups), key ${fernetKeyId(fleetB.key)}. `);
    expect(ownPlan.result.preflight.find((c) => c.id === 'keys')?.detail).toContain('(the same key)');
  });

  it('on the command line: `lifeboat restore B FILE` asks for the file\'s key (--key-stdin), and plans with the key from stdin', () => {
    // Another process on the same home: its keychain holds no key of B (the test core's is in memory), so only the typed key can open the file.
    const lifeboat = (args: string[], input = '') => spawnSync(process.execPath, [path.resolve('bin/lifeboat.mjs'), ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, input, encoding: 'utf8' });
    const dropped = path.join(scratch, path.basename(backupFile));
    const none = lifeboat(['restore', b.name, dropped, '--plan-only']);
    expect(none.status, none.stderr).toBe(1);
    expect(none.stderr).toContain('[KEY_REQUIRED]');
    expect(none.stderr).toContain(`${path.basename(dropped)} needs the BACKUP_ENCRYPTION_KEY it was encrypted with`);
    expect(none.stderr).toContain('lifeboat restore … --key-stdin --confirm NAME');
    const typed = lifeboat(['restore', b.name, dropped, '--plan-only', '--key-stdin'], `${fleetA.passphrase}\n`);
    expect(typed.status, typed.stderr).toBe(0);
    expect(typed.stdout).toMatch(new RegExp(`Keys: Decrypted with the BACKUP_ENCRYPTION_KEY given this session for local file \\S+, key ${fernetKeyId(fleetA.key)}\\.`));
    expect(typed.stdout).toMatch(/✓ Archive integrity: the Fernet HMAC verified/);
    // The key typed for the file is never taken for B's own: with none stored for B, nothing would be encrypted for its Pi.
    expect(typed.stdout).toContain(`No BACKUP_ENCRYPTION_KEY is stored for "Loomio B", so the backup of the restored state cannot be encrypted and is not written`);
    expect(typed.stdout + typed.stderr).not.toContain(fleetA.passphrase);
    // --key-stdin takes stdin, so a restore that runs must be confirmed by --confirm.
    const unconfirmed = lifeboat(['restore', b.name, dropped, '--key-stdin'], `${fleetA.passphrase}\n`);
    expect(unconfirmed.status).toBe(2);
    expect(unconfirmed.stderr).toContain('--confirm');
  });
});
