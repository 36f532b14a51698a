/**
 * Bad input and damage, each with the exact message a user would see: wrong password, not a
 * repository, unsupported version, a flipped byte in a pack, a truncated index, a missing pack,
 * a foreign exclusive lock, stale locks, and an ingest aborted half-way.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import { LocalBackend, Vault } from '../../src/main/vault';
import type { AddArchiveResult } from '../../src/main/vault';
import { seal } from '../../src/main/vault/crypto';
import { goJson } from '../../src/main/vault/go-encoding';
import { findNode } from '../../src/main/vault/reader';
import { copyFixture, FIXTURE_PASSWORD, hashStream, makeScratch, restic, TEST_SCRYPT } from '../harness/restic';
import type { Scratch } from '../harness/restic';

const PASSWORD = 'damage-test-pw';
let scratch: Scratch;
let pristine: string;
let archive: AddArchiveResult;
let data: Buffer;

/** A fresh copy of the pristine vault for each test that damages it. */
async function freshCopy(name: string): Promise<{ dir: string; vault: Vault; backend: LocalBackend }> {
  const dir = path.join(scratch.dir, name);
  await cp(pristine, dir, { recursive: true });
  const backend = new LocalBackend(dir);
  return { dir, backend, vault: await Vault.open(backend, PASSWORD) };
}

async function expectError(promise: Promise<unknown>, code: string, message: string): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LifeboatError);
  expect({ code: (error as LifeboatError).code, message: (error as LifeboatError).message }).toEqual({ code, message });
}

beforeAll(async () => {
  scratch = await makeScratch();
  pristine = path.join(scratch.dir, 'pristine');
  const vault = await Vault.init(new LocalBackend(pristine), PASSWORD, { scrypt: TEST_SCRYPT });
  data = randomBytes(3 * 1024 * 1024);
  archive = await vault.addArchive({ input: Readable.from([data]), fileName: 'db.dump', mtime: new Date(), hostname: 'h', paths: ['/lifeboat/x'], tags: ['t'] });
}, 60_000);

afterAll(async () => {
  await scratch.cleanup();
});

describe('opening', () => {
  it('wrong password → VAULT_WRONG_PASSWORD', async () => {
    await expectError(Vault.open(new LocalBackend(pristine), 'not the password'), 'VAULT_WRONG_PASSWORD', `The password does not open the vault at ${pristine} (tried 1 key file(s)).`);
  });

  it('an empty folder → VAULT_NOT_A_REPOSITORY', async () => {
    const dir = path.join(scratch.dir, 'empty');
    await mkdir(dir);
    await expectError(Vault.open(new LocalBackend(dir), PASSWORD), 'VAULT_NOT_A_REPOSITORY', `${dir} is not a restic repository: it has no config file.`);
  });

  it('a config with version 3 → VAULT_UNSUPPORTED_VERSION', async () => {
    const { dir, vault, backend } = await freshCopy('v3');
    const config = { version: 3, id: vault.id, chunker_polynomial: vault.repo.config.chunker_polynomial };
    await backend.remove('config', 'config');
    await backend.write('config', 'config', seal(vault.repo.key, Buffer.from(JSON.stringify(config))));
    await expectError(Vault.open(backend, PASSWORD), 'VAULT_UNSUPPORTED_VERSION', `The repository at ${dir} has format version 3; Lifeboat reads versions 1 and 2.`);
  });

  it('init refuses a folder that already holds a repository', async () => {
    await expectError(Vault.init(new LocalBackend(pristine), PASSWORD, { scrypt: TEST_SCRYPT }), 'ALREADY_EXISTS', `${pristine} already holds a repository.`);
  });
});

describe('damage', () => {
  it('a flipped byte in a pack: check --read-data and dump name the blob and the pack; restic agrees', async () => {
    const { dir, vault, backend } = await freshCopy('flipped');
    await vault.repo.loadIndex();
    const [fileNode] = await vault.listFiles(archive.snapshotId);
    expect(fileNode?.name).toBe('db.dump');
    const node = await findNode(vault.repo, archive.snapshotId, 'db.dump');
    // Random bytes of 3 MiB are one to four chunks: the last one always exists.
    const blobId = node.content!.at(-1)!;
    const loc = vault.repo.index.find(blobId)!;
    const packFile = backend.filePath('data', loc.packId);
    const bytes = await readFile(packFile);
    bytes[loc.offset + 100] = (bytes[loc.offset + 100] as number) ^ 0x40;
    await writeFile(packFile, bytes);

    const result = await vault.check({ readData: true });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { message: `Pack ${loc.packId} is damaged: its content no longer matches its name (sha256).` },
      { message: `Pack ${loc.packId}: data blob ${blobId} is damaged: its MAC does not match.` },
      { snapshotId: archive.snapshotId, message: `Snapshot ${archive.snapshotId.slice(0, 8)}: file /db.dump needs blob ${blobId} in pack ${loc.packId}, which is damaged (its MAC does not match).` },
    ]);
    // Structure alone does not read blob contents: it passes.
    expect((await vault.check()).ok).toBe(true);

    await expectError(hashStream(await vault.dumpFile(archive.snapshotId, 'db.dump')), 'VAULT_CORRUPT', `The data blob ${blobId} in pack ${loc.packId} is damaged: its MAC does not match.`);
    expect(await vault.listLocks()).toEqual([]);

    const run = await restic(dir, PASSWORD, ['check', '--read-data'], path.join(scratch.dir, 'cache'));
    expect(run.code).not.toBe(0);
    expect(run.stdout + run.stderr).toContain(loc.packId.slice(0, 8));
  });

  it('a truncated index file: check says which file and that blobs are unindexed; dump fails naming it', async () => {
    const { vault, backend } = await freshCopy('truncated');
    const [indexId] = await vault.repo.listIds('index');
    await truncate(backend.filePath('index', indexId!), 40);
    const result = await vault.check();
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toEqual({ message: `Index file ${indexId!.slice(0, 8)} cannot be read, so the packs it lists are unknown: File index/${indexId!.slice(0, 8)} is damaged: its content does not match its name (sha256).` });
    expect(result.problems[1]).toEqual({ snapshotId: archive.snapshotId, message: `Snapshot ${archive.snapshotId.slice(0, 8)}: folder / (tree ${archive.treeId.slice(0, 8)}) is not in any index.` });
    expect(result.stats.unindexedPacks).toBe(2);
    await expectError(vault.dumpFile(archive.snapshotId, 'db.dump'), 'VAULT_CORRUPT', `File index/${indexId!.slice(0, 8)} is damaged: its content does not match its name (sha256).`);
  });

  it('a missing pack: check names the pack, the index listing it and the file that needs it; dump names it too', async () => {
    const { vault, backend } = await freshCopy('missing');
    await vault.repo.loadIndex();
    const node = await findNode(vault.repo, archive.snapshotId, 'db.dump');
    const blobId = node.content![0]!;
    const loc = vault.repo.index.find(blobId)!;
    const [indexId] = [...vault.repo.index.files.keys()];
    await rm(backend.filePath('data', loc.packId));
    const result = await vault.check();
    expect(result.ok).toBe(false);
    const blobCount = vault.repo.index.packs.get(loc.packId)!.length;
    expect(result.problems[0]).toEqual({ message: `Pack ${loc.packId} is missing, but index file ${indexId!.slice(0, 8)} lists it (${blobCount} blob(s) lost).` });
    expect(result.problems[1]).toEqual({ snapshotId: archive.snapshotId, message: `Snapshot ${archive.snapshotId.slice(0, 8)}: file /db.dump needs blob ${blobId}, whose pack ${loc.packId} is missing.` });
    await expectError(hashStream(await vault.dumpFile(archive.snapshotId, 'db.dump')), 'VAULT_CORRUPT', `Pack ${loc.packId} is missing from the vault, so data blob ${blobId} cannot be read.`);
    // Prune must not delete anything when snapshots need data that is gone.
    await expectError(vault.prune(), 'VAULT_CORRUPT', `Prune stopped before deleting anything: pack ${loc.packId} is missing but holds blobs that snapshots use. Run a check.`);
  });
});

describe('locks', () => {
  let fx: { dir: string; vault: Vault; backend: LocalBackend };
  beforeEach(async () => {
    fx = await freshCopy(`locks-${Math.random().toString(36).slice(2)}`);
  });

  async function plantLock(doc: Record<string, unknown>): Promise<string> {
    return fx.vault.repo.saveJson('locks', Buffer.from(goJson(doc)));
  }

  it('a foreign exclusive lock blocks ingest with VAULT_LOCKED naming who holds it', async () => {
    const time = new Date().toISOString();
    const id = await plantLock({ time, exclusive: true, hostname: 'other-host', username: 'alice', pid: 4242 });
    await expectError(
      fx.vault.addArchive({ input: Readable.from([Buffer.from('x')]), fileName: 'a', mtime: new Date(), hostname: 'h', paths: ['/p'] }),
      'VAULT_LOCKED',
      `The vault at ${fx.dir} is locked by an exclusive lock ${id.slice(0, 8)} held by alice@other-host (PID 4242) since ${time}. Wait until that operation finishes.`,
    );
    expect((await fx.vault.listSnapshots()).length).toBe(1);
    const [lock] = await fx.vault.listLocks();
    expect(lock).toMatchObject({ id, exclusive: true, hostname: 'other-host', username: 'alice', pid: 4242, stale: false, damaged: false });
    // restic honours our view of the lock too.
    const run = await restic(fx.dir, PASSWORD, ['backup', '--host', 'r', path.join(fx.dir, 'config')], path.join(scratch.dir, 'cache'));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('locked exclusively');
  });

  it('a shared lock lets ingest run but blocks prune and forget', async () => {
    const id = await plantLock({ time: new Date().toISOString(), exclusive: false, hostname: 'other-host', username: 'bob', pid: 7 });
    const added = await fx.vault.addArchive({ input: Readable.from([Buffer.from('y')]), fileName: 'b', mtime: new Date(), hostname: 'h', paths: ['/p'] });
    expect(added.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    await expect(fx.vault.prune()).rejects.toMatchObject({ code: 'VAULT_LOCKED', message: expect.stringContaining(`a shared lock ${id.slice(0, 8)} held by bob@other-host (PID 7)`) as string });
    await expect(fx.vault.forgetSnapshots([added.snapshotId])).rejects.toMatchObject({ code: 'VAULT_LOCKED' });
  });

  it('stale locks are flagged (old, or dead PID on this host), never removed silently; removeLock removes one', async () => {
    const old = await plantLock({ time: new Date(Date.now() - 31 * 60_000).toISOString(), exclusive: true, hostname: 'other-host', username: 'c', pid: 1 });
    const dead = await plantLock({ time: new Date().toISOString(), exclusive: false, hostname: os.hostname(), username: 'd', pid: 2 ** 22 + 12345 });
    const alive = await plantLock({ time: new Date().toISOString(), exclusive: false, hostname: os.hostname(), username: 'e', pid: process.pid });
    const locks = await fx.vault.listLocks();
    const stale = Object.fromEntries(locks.map((l) => [l.id, l.stale]));
    expect(stale).toEqual({ [old]: true, [dead]: true, [alive]: false });
    await expect(fx.vault.addArchive({ input: Readable.from([Buffer.from('z')]), fileName: 'c', mtime: new Date(), hostname: 'h', paths: ['/p'] })).rejects.toMatchObject({
      code: 'VAULT_LOCKED',
      message: expect.stringContaining('it looks stale. If that program is no longer running, remove the stale lock.') as string,
    });
    expect((await fx.vault.listLocks()).length).toBe(3);
    await fx.vault.removeLock(old);
    expect((await fx.vault.listLocks()).map((l) => l.id).sort()).toEqual([dead, alive].sort());
  });

  it('refreshing writes a new lock file before deleting the old one, as restic does', async () => {
    const held = await fx.vault.lock(true);
    const first = held.id;
    await held.refresh();
    held.assertHeld();
    expect(held.id).not.toBe(first);
    expect((await fx.vault.listLocks()).map((l) => [l.id, l.exclusive, l.pid])).toEqual([[held.id, true, process.pid]]);
    await held.release();
    expect(await fx.vault.listLocks()).toEqual([]);
  });

  it('reads a real restic lock file', async () => {
    const dir = await copyFixture('repo-v2', path.join(scratch.dir, 'lockfixture'));
    const lockName = 'e49070e59d4452beebaf5c7a88d48eda0a86dcd29155b4d38ef92f8a9b50e61f';
    await mkdir(path.join(dir, 'locks'), { recursive: true });
    await writeFile(path.join(dir, 'locks', lockName), await readFile(path.join('test/fixtures/restic/outputs/lock', lockName)));
    const vault = await Vault.open(new LocalBackend(dir), FIXTURE_PASSWORD);
    expect(await vault.listLocks()).toEqual([
      { id: lockName, time: '2026-11-23T14:31:27.599817503+01:00', exclusive: false, hostname: 'vm', username: 'root', pid: 8280, stale: true, damaged: false },
    ]);
  });

  it('our lock is a restic lock: restic prune refuses while we hold it', async () => {
    const held = await fx.vault.lock(false);
    const run = await restic(fx.dir, PASSWORD, ['prune'], path.join(scratch.dir, 'cache'));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('already locked');
    await held.release();
    expect(await fx.vault.listLocks()).toEqual([]);
  });
});

describe('abort', () => {
  it('aborting mid-ingest leaves no snapshot and no lock; restic check passes; it leaves no orphan packs', async () => {
    const { dir, vault } = await freshCopy('abort');
    const controller = new AbortController();
    let sent = 0;
    async function* source(): AsyncGenerator<Buffer> {
      for (;;) {
        const piece = randomBytes(1024 * 1024);
        sent += piece.length;
        // The user cancels once a 16 MiB pack has surely been written: the seal worker may hold up
        // to 6 chunks in flight, so wait well past the first pack's worth of input.
        if (sent > 48 * 1024 * 1024) controller.abort();
        yield piece;
      }
    }
    await expectError(
      vault.addArchive({ input: source(), fileName: 'big', mtime: new Date(), hostname: 'h', paths: ['/p'], signal: controller.signal }),
      'CANCELLED',
      'Adding the archive was cancelled.',
    );
    expect((await vault.listSnapshots()).map((s) => s.id)).toEqual([archive.snapshotId]);
    expect(await vault.listLocks()).toEqual([]);
    const run = await restic(dir, PASSWORD, ['check', '--read-data'], path.join(scratch.dir, 'cache'));
    expect(run.stdout + run.stderr).toContain('no errors were found');
    expect(run.code).toBe(0);
    // The aborted ingest removed the packs it had written (no index lists them): nothing is left for prune.
    const result = await vault.check({ readData: true });
    expect(result.ok).toBe(true);
    expect(result.stats.unindexedPacks).toBe(0);
    const pruned = await vault.prune();
    expect(pruned.packsDeleted).toBe(0);
    expect(await hashStream(await vault.dumpFile(archive.snapshotId, 'db.dump'))).toEqual({ sha256: archive.sha256, size: data.length });
  });
});
