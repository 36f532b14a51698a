/**
 * Interop Lifeboat → restic: a vault Lifeboat writes must be a repository the real restic 0.14
 * lists, checks byte by byte, dumps and restores identically.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend, Vault } from '../../src/main/vault';
import type { AddArchiveResult } from '../../src/main/vault';
import { hashStream, makeScratch, restic, resticDumpHash, resticOk, sha256, TEST_SCRYPT, writeRandomFile } from '../harness/restic';
import type { Scratch } from '../harness/restic';

const PASSWORD = 'lifeboat interop pw';

describe('Lifeboat-written vault read by restic 0.14', () => {
  let scratch: Scratch;
  let repoDir: string;
  let cache: string;
  let vault: Vault;
  let bigSha: string;
  let big: AddArchiveResult;
  let empty: AddArchiveResult;
  let small: AddArchiveResult;
  const manifest = Buffer.from('{"app":"weavestream","sizeBytes":25165824}\n');
  const smallText = Buffer.from('line one\n<tag> & "quotes"\n'.repeat(50));

  beforeAll(async () => {
    scratch = await makeScratch();
    repoDir = path.join(scratch.dir, 'vault');
    cache = path.join(scratch.dir, 'cache');
    vault = await Vault.init(new LocalBackend(repoDir), PASSWORD, { scrypt: TEST_SCRYPT });
    const bigFile = path.join(scratch.dir, 'big.dump');
    // > 20 MiB of random data: spans two 16 MiB packs.
    bigSha = await writeRandomFile(bigFile, 24 * 1024 * 1024 + 12345);
    big = await vault.addArchive({
      input: createReadStream(bigFile),
      fileName: 'weavestream-postgres-2026-11-23T13-16-59Z.dump',
      size: 24 * 1024 * 1024 + 12345,
      mtime: new Date('2026-11-23T13:16:59Z'),
      sidecars: [{ name: 'weavestream-postgres-2026-11-23T13-16-59Z.manifest.json', content: manifest }],
      hostname: 'weavestream.example',
      tags: ['lifeboat', 'app:weavestream'],
      paths: ['/lifeboat/weavestream'],
      time: new Date('2026-11-23T13:20:00Z'),
    });
    empty = await vault.addArchive({
      input: Readable.from([]),
      fileName: 'empty.dump',
      mtime: new Date('2026-11-24T00:00:00Z'),
      sidecars: [{ name: 'empty-sidecar.txt', content: Buffer.alloc(0) }],
      hostname: 'nojoin.example',
      tags: ['lifeboat'],
      paths: ['/lifeboat/nojoin'],
    });
    small = await vault.addArchive({
      input: Readable.from([smallText]),
      fileName: 'grüße "quoted" \\ name.txt',
      mtime: new Date('2026-11-25T00:00:00Z'),
      hostname: 'loomio.example',
      tags: [],
      paths: ['/lifeboat/loomio'],
    });
  }, 120_000);

  afterAll(async () => {
    await scratch.cleanup();
  });

  it('returns the archive sha256 computed while streaming', () => {
    expect(big.sha256).toBe(bigSha);
    expect(big.size).toBe(24 * 1024 * 1024 + 12345);
    expect(empty.sha256).toBe(sha256(Buffer.alloc(0)));
    expect(small.sha256).toBe(sha256(smallText));
  });

  it('restic snapshots --json lists the snapshots with our fields', async () => {
    const list = JSON.parse(await resticOk(repoDir, PASSWORD, ['snapshots', '--json'], cache)) as { id: string; hostname: string; tags?: string[]; paths: string[]; time: string; tree: string }[];
    expect(list.map((s) => s.id).sort()).toEqual([big.snapshotId, empty.snapshotId, small.snapshotId].sort());
    const first = list.find((s) => s.id === big.snapshotId);
    expect(first).toMatchObject({ hostname: 'weavestream.example', tags: ['lifeboat', 'app:weavestream'], paths: ['/lifeboat/weavestream'], tree: big.treeId });
    expect(Date.parse(first?.time ?? '')).toBe(Date.parse('2026-11-23T13:20:00Z'));
    expect(list.find((s) => s.id === small.snapshotId)?.tags).toBeUndefined();
  });

  it('restic check --read-data finds no errors', async () => {
    const run = await restic(repoDir, PASSWORD, ['check', '--read-data'], cache);
    expect(run.stderr + run.stdout).toContain('no errors were found');
    expect(run.code).toBe(0);
  });

  it('restic dump gives byte-identical files (big, empty, sidecar, quoted name)', async () => {
    expect(await resticDumpHash(repoDir, PASSWORD, big.snapshotId, '/weavestream-postgres-2026-11-23T13-16-59Z.dump', cache)).toEqual({ sha256: bigSha, size: 24 * 1024 * 1024 + 12345 });
    expect(await resticDumpHash(repoDir, PASSWORD, big.snapshotId, '/weavestream-postgres-2026-11-23T13-16-59Z.manifest.json', cache)).toEqual({ sha256: sha256(manifest), size: manifest.length });
    expect(await resticDumpHash(repoDir, PASSWORD, empty.snapshotId, '/empty.dump', cache)).toEqual({ sha256: sha256(Buffer.alloc(0)), size: 0 });
    expect(await resticDumpHash(repoDir, PASSWORD, small.snapshotId, '/grüße "quoted" \\ name.txt', cache)).toEqual({ sha256: sha256(smallText), size: smallText.length });
  });

  it('restic restore recreates the files byte for byte', async () => {
    const target = path.join(scratch.dir, 'restored');
    await resticOk(repoDir, PASSWORD, ['restore', big.snapshotId, '--target', target], cache);
    expect(sha256(await readFile(path.join(target, 'weavestream-postgres-2026-11-23T13-16-59Z.dump')))).toBe(bigSha);
    expect(await readFile(path.join(target, 'weavestream-postgres-2026-11-23T13-16-59Z.manifest.json'))).toEqual(manifest);
    await resticOk(repoDir, PASSWORD, ['restore', empty.snapshotId, '--target', target], cache);
    expect((await readFile(path.join(target, 'empty.dump'))).length).toBe(0);
    await resticOk(repoDir, PASSWORD, ['restore', small.snapshotId, '--target', target], cache);
    expect(await readFile(path.join(target, 'grüße "quoted" \\ name.txt'))).toEqual(smallText);
  });

  it('Lifeboat reads its own vault back: list, files, dump, check', async () => {
    const reopened = await Vault.open(new LocalBackend(repoDir), PASSWORD);
    const snapshots = await reopened.listSnapshots();
    expect(snapshots.map((s) => s.id)).toEqual([big.snapshotId, empty.snapshotId, small.snapshotId]);
    expect(await reopened.listSnapshots({ tags: ['app:weavestream'] })).toHaveLength(1);
    expect(await reopened.findSnapshot(big.snapshotId.slice(0, 8))).toBe(big.snapshotId);
    const files = await reopened.listFiles(big.snapshotId);
    expect(files.map((f) => [f.name, f.type, f.size])).toEqual([
      ['weavestream-postgres-2026-11-23T13-16-59Z.dump', 'file', 24 * 1024 * 1024 + 12345],
      ['weavestream-postgres-2026-11-23T13-16-59Z.manifest.json', 'file', manifest.length],
    ]);
    expect(Date.parse(files[0]?.mtime ?? '')).toBe(Date.parse('2026-11-23T13:16:59Z'));
    expect(await hashStream(await reopened.dumpFile(big.snapshotId, '/weavestream-postgres-2026-11-23T13-16-59Z.dump'))).toEqual({ sha256: bigSha, size: 24 * 1024 * 1024 + 12345 });
    expect(await hashStream(await reopened.dumpFile(small.snapshotId, 'grüße "quoted" \\ name.txt'))).toEqual({ sha256: sha256(smallText), size: smallText.length });
    const result = await reopened.check({ readData: true });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.stats.packs).toBeGreaterThanOrEqual(3);
    const sizes = await reopened.snapshotSizes(big.snapshotId);
    expect(sizes.logicalSize).toBe(24 * 1024 * 1024 + 12345 + manifest.length);
    expect(sizes.storedSize).toBeGreaterThan(sizes.logicalSize);
    expect(await reopened.listLocks()).toEqual([]);
  });

  it('restic can back up into the Lifeboat vault, forget and prune, and Lifeboat still reads it', async () => {
    await writeRandomFile(path.join(scratch.dir, 'loose.bin'), 1000);
    await resticOk(repoDir, PASSWORD, ['backup', '--host', 'restic-host', path.join(scratch.dir, 'loose.bin')], cache);
    await resticOk(repoDir, PASSWORD, ['forget', empty.snapshotId, '--prune'], cache);
    const reopened = await Vault.open(new LocalBackend(repoDir), PASSWORD);
    const hosts = (await reopened.listSnapshots()).map((s) => s.hostname).sort();
    expect(hosts).toEqual(['loomio.example', 'restic-host', 'weavestream.example']);
    expect((await reopened.check({ readData: true })).ok).toBe(true);
  });
});
