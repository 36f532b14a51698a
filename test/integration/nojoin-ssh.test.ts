// Nojoin over SSH alone, through the core, on the real OpenSSH sshd: the finished exports Nojoin
// leaves in `<compose dir>/data/backups` (tmp*.zip, real exports of the fake's store) are listed
// newest first while one still being written (no end of central directory yet) is not, a listed
// one is pulled over SFTP and verified, and one deleted between list and pull is NOT_FOUND in words.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteBackup } from '../../src/shared/apps';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { APP_MODULES, AppRegistry } from '../../src/main/apps/registry';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { makeTestHome } from '../harness/home';
import { runTool, startSshd, type TestSshd } from '../harness/sshd';
import { SAMPLE_ARCHIVE } from '../fleet/nojoin/server';
import { NojoinStore } from '../fleet/nojoin/store';

let sshd: TestSshd;
let core: Core;
let installation: Installation;
let composeDir: string;
let backupsDir: string;
let owner: string;
const client = () => createInProcessClient(core);

/** Exports of the same store as Nojoin's worker writes them (with and without audio). */
const exports: { withAudio: Buffer; withoutAudio: Buffer } = { withAudio: Buffer.alloc(0), withoutAudio: Buffer.alloc(0) };
const now = Math.floor(Date.now() / 1000) * 1000;
const files = {
  older: { name: 'tmpa1b2c3d4.zip', mtime: new Date(now - 3 * 3_600_000) },
  newer: { name: 'tmpq9_x7k2m.zip', mtime: new Date(now - 3_600_000) },
  // Newest of all, but Nojoin's worker is still writing it.
  unfinished: { name: 'tmpw0rk1ng5.zip', mtime: new Date(now - 60_000) },
};

/** Writes a file into the backups folder as the SSH user's, with its mtime. */
async function put(name: string, bytes: Buffer, mtime: Date): Promise<void> {
  const file = path.join(backupsDir, name);
  await writeFile(file, bytes, { mode: 0o600 });
  await runTool('chown', [owner, file]);
  await utimes(file, mtime, mtime);
}

const idOf = (file: { name: string; mtime: Date }) => `sftp:${file.name}@${Math.floor(file.mtime.getTime() / 1000)}`;

async function job<T>(started: Promise<{ jobId: string }>): Promise<{ record: JobRecord; result: T }> {
  const record = await core.jobs.wait((await started).jobId);
  return { record, result: record.result as T };
}

beforeAll(async () => {
  sshd = await startSshd();
  owner = `${(await runTool('id', ['-u', sshd.user])).trim()}:${(await runTool('id', ['-g', sshd.user])).trim()}`;
  composeDir = path.join(sshd.homeDir, `nojoin-${process.pid}-${randomBytes(3).toString('hex')}`);
  backupsDir = path.join(composeDir, 'data', 'backups');
  await mkdir(backupsDir, { recursive: true, mode: 0o700 });
  await runTool('chown', ['-R', owner, composeDir]);

  const store = new NojoinStore();
  await store.restore(await readFile(SAMPLE_ARCHIVE), { clearExisting: false, overwriteExisting: false });
  exports.withAudio = (await store.export({ includeAudio: true, archiveQuality: 'compressed' }, () => undefined)).zip;
  exports.withoutAudio = (await store.export({ includeAudio: false, archiveQuality: 'compressed' }, () => undefined)).zip;
  await put(files.older.name, exports.withoutAudio, files.older.mtime);
  await put(files.newer.name, exports.withAudio, files.newer.mtime);
  // Cut inside the members: everything a writer has flushed so far, no central directory.
  await put(files.unfinished.name, exports.withAudio.subarray(0, Math.floor(exports.withAudio.length * 0.6)), files.unfinished.mtime);
  // Not exports: other names in the folder are never listed.
  await put('notes.txt', Buffer.from('not a backup\n'), files.newer.mtime);
  await put('nojoin_backup_20260819_180000.zip', exports.withAudio, files.newer.mtime);

  core = await createCore({ home: makeTestHome('nojoin-ssh'), secretStore: new MemorySecretStore('nojoin ssh'), apps: new AppRegistry(APP_MODULES) });
  await client().call('vault:init', {});
  installation = await client().call('installations:add', {
    name: 'Nojoin over SSH',
    app: 'nojoin',
    ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint },
    settings: { composeDir },
  });
});

afterAll(async () => {
  await core?.close();
  if (composeDir) await rm(composeDir, { recursive: true, force: true });
  await sshd?.stop();
});

async function listed(): Promise<RemoteBackup[]> {
  return client().call('apps:list-remote', { installationId: installation.id });
}

describe('Nojoin exports over SSH', () => {
  it('lists only the finished exports, newest first: not one still being written, not other files', async () => {
    const list = await listed();
    expect(list.map((b) => b.id)).toEqual([idOf(files.newer), idOf(files.older)]);
    expect(list[0]).toMatchObject({ name: files.newer.name, sizeBytes: exports.withAudio.length, createdAt: files.newer.mtime.toISOString() });
    expect(list[1]).toMatchObject({ name: files.older.name, sizeBytes: exports.withoutAudio.length });
  });

  it('pulls a listed export over SFTP, verified member by member, byte for byte', async () => {
    const { record, result } = await job<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId: idOf(files.newer) }));
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(result.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['zip-structure', 'member-crc', 'backup-info', 'json-members', 'table-rows']));
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    const snapshot = (await client().call('vault:snapshots', { installationId: installation.id })).find((s) => s.id === result.snapshotId);
    expect(snapshot).toMatchObject({ source: 'pull', remoteId: idOf(files.newer) });
    const chunks: Buffer[] = [];
    for await (const chunk of await core.vault.dump(result.snapshotId, `/${files.newer.name}`)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(exports.withAudio)).toBe(true);
    expect((await listed()).find((b) => b.id === idOf(files.newer))?.inVault).toBe(result.snapshotId);
  });

  it('an export deleted between list and pull is NOT_FOUND, said in plain words', async () => {
    expect((await listed()).map((b) => b.id)).toContain(idOf(files.older));
    await rm(path.join(backupsDir, files.older.name));
    const { record } = await job<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId: idOf(files.older) }));
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'NOT_FOUND', message: `${files.older.name} is no longer on "Nojoin over SSH": Nojoin deletes exports after about a day. Make a new one.` });
    expect((await client().call('vault:snapshots', { installationId: installation.id })).some((s) => s.remoteId === idOf(files.older))).toBe(false);
  });

  it('the export being written is listed once Nojoin has finished it', async () => {
    const finished = new Date(now);
    await put(files.unfinished.name, exports.withAudio, finished);
    expect((await listed()).map((b) => b.id)).toEqual([idOf({ name: files.unfinished.name, mtime: finished }), idOf(files.newer)]);
  });

  it('an export only the container’s user may read (0600, another owner) is refused in words that say why and what to do', async () => {
    const other = path.join(composeDir, 'other');
    await mkdir(path.join(other, 'data', 'backups'), { recursive: true });
    await runTool('chown', ['-R', owner, other]);
    // As Nojoin's worker leaves it: a NamedTemporaryFile, mode 0600, owned by the container's user (root here).
    const locked = path.join(other, 'data', 'backups', 'tmpr00t0wnd.zip');
    await writeFile(locked, exports.withAudio, { mode: 0o600 });
    const elsewhere = await client().call('installations:add', { name: 'Nojoin over SSH (container-owned exports)', app: 'nojoin', ssh: installation.ssh!, settings: { composeDir: other } });
    const why = `"${sshd.user}" may not read tmpr00t0wnd.zip in ${path.dirname(locked)} on "${elsewhere.name}": Nojoin writes its exports readable only by the user its containers run as (mode 0600). Connect over SSH as that user (or root), or add the HTTPS connection so Lifeboat asks Nojoin for exports itself.`;
    await expect(client().call('apps:list-remote', { installationId: elsewhere.id })).rejects.toMatchObject({ code: 'SSH_SFTP', message: why });
    const { record } = await job<PullResult>(client().call('apps:pull', { installationId: elsewhere.id, remoteId: idOf({ name: 'tmpr00t0wnd.zip', mtime: (await stat(locked)).mtime }) }));
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'SSH_SFTP', message: why });
  });
});
