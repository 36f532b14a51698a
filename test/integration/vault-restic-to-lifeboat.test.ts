/**
 * Interop restic → Lifeboat: open, list, dump and check the fixture repositories restic 0.14 made
 * (v2 with compressed and uncompressed blobs, v1, and the Node-written one restic accepted), and
 * repositories restic backs up into during the test.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend, Vault } from '../../src/main/vault';
import {
  copyFixture,
  FIXTURE_PASSWORD,
  hashStream,
  makeScratch,
  NODE_FIXTURE_PASSWORD,
  resticDumpHash,
  resticOk,
  sha256,
  writeRandomFile,
} from '../harness/restic';
import type { Scratch } from '../harness/restic';

let scratch: Scratch;
beforeAll(async () => {
  scratch = await makeScratch();
});
afterAll(async () => {
  await scratch.cleanup();
});

const BIG_BIN_SHA = 'd1e84fa60b5a5929e5c1cd8ca87dc48cb6148794e80e924ad3f17fcc0081ad23';

describe('restic 0.14 fixture repositories', () => {
  it('repo-v2: lists both snapshots with restic’s fields, walks the tree, dumps compressed and uncompressed blobs', async () => {
    const vault = await Vault.open(new LocalBackend(await copyFixture('repo-v2', scratch.dir)), FIXTURE_PASSWORD);
    expect(vault.version).toBe(2);
    expect(vault.id).toBe('4d5c5b8f8ef0607d72a84eea9a043eae389f0ed0bece34b2ef59a839be4a4d0a');
    const expected = JSON.parse(await readFile('test/fixtures/restic/outputs/snapshots.json', 'utf8')) as { id: string; time: string; tree: string; paths: string[]; hostname: string; tags: string[]; parent?: string }[];
    const snapshots = await vault.listSnapshots();
    expect(snapshots.map((s) => ({ id: s.id, time: s.time, tree: s.tree, paths: s.paths, hostname: s.hostname, tags: s.tags, parent: s.parent }))).toEqual(
      expected.map((s) => ({ id: s.id, time: s.time, tree: s.tree, paths: s.paths, hostname: s.hostname, tags: s.tags, parent: s.parent })),
    );
    const [first, second] = snapshots;
    expect(await vault.findSnapshot('5aeb')).toBe(second?.id);
    expect(await vault.findSnapshot('latest')).toBe(second?.id);

    const files = await vault.listFiles(second!.id);
    expect(files.map((f) => [f.path, f.type, f.size])).toEqual([
      ['/src', 'dir', 0],
      ['/src/big.bin', 'file', 3145728],
      ['/src/empty.txt', 'file', 0],
      ['/src/small.txt', 'file', 16829],
      ['/src/sub', 'dir', 0],
      ['/src/sub/nested.txt', 'file', 27],
    ]);
    expect(files.find((f) => f.name === 'big.bin')?.mtime).toBe('2024-02-10T13:00:00+01:00');

    // big.bin: five zstd-compressed blobs (two of them the same zero chunk).
    expect(await hashStream(await vault.dumpFile(second!.id, '/src/big.bin'))).toEqual({ sha256: BIG_BIN_SHA, size: 3145728 });
    // small.txt of snapshot 1 is compressed; of snapshot 2 uncompressed (--compression off).
    expect((await hashStream(await vault.dumpFile(first!.id, 'src/small.txt'))).sha256).toBe('af5f06fd20987e34c95067e8d37778f4be44192a9da68381745a6377b1cab1f4');
    expect((await hashStream(await vault.dumpFile(second!.id, 'src/small.txt'))).sha256).toBe('62d0a5ad6ac4511720de0713ec4beb0abf6351204050f752a3c509d51f9974ec');
    expect((await hashStream(await vault.dumpFile(second!.id, 'src/sub/nested.txt'))).sha256).toBe('28b2d3d8bb09d285c12321823f960455116c104fed818806da000dfd2506d0c8');
    expect(await hashStream(await vault.dumpFile(second!.id, 'src/empty.txt'))).toEqual({ sha256: sha256(Buffer.alloc(0)), size: 0 });
    await expect(vault.dumpFile(second!.id, 'src/nope.txt')).rejects.toThrow('Snapshot 5aeb1566 has no "src/nope.txt".');

    const result = await vault.check({ readData: true });
    expect(result).toMatchObject({ ok: true, problems: [] });
    expect(result.stats).toMatchObject({ snapshots: 2, indexFiles: 2, packs: 4, blobs: 12, unindexedPacks: 0, bytesRead: 1573978 + 1245 + 16934 + 951 });
  });

  it('repo-v1: raw-JSON index and snapshot, uncompressed packs', async () => {
    const vault = await Vault.open(new LocalBackend(await copyFixture('repo-v1', scratch.dir)), FIXTURE_PASSWORD);
    expect(vault.version).toBe(1);
    const [snapshot] = await vault.listSnapshots();
    expect(snapshot).toMatchObject({ id: '709e312b9e7014622e8d5686a4faa2d0c9e0f9ce3fab4d84ebe660a53aaa8dc3', paths: ['/tmp/rv/src-v1'], tags: ['t1'], hostname: 'test-host' });
    const files = await vault.listFiles(snapshot!.id);
    const small = files.find((f) => f.name === 'small.txt');
    expect(small?.size).toBe(16829);
    expect((await hashStream(await vault.dumpFile(snapshot!.id, small!.path))).sha256).toBe('62d0a5ad6ac4511720de0713ec4beb0abf6351204050f752a3c509d51f9974ec');
    expect(await vault.check({ readData: true })).toMatchObject({ ok: true, problems: [] });
  });

  it('repo-v2-node-written: unclamped r, fixed-size chunks, mixed blob types, quoted names', async () => {
    const repoDir = await copyFixture('repo-v2-node-written', scratch.dir);
    const vault = await Vault.open(new LocalBackend(repoDir), NODE_FIXTURE_PASSWORD);
    const ids = JSON.parse(await readFile('test/fixtures/restic/outputs/node-writer-ids.json', 'utf8')) as { snapshot: string; rootID: string };
    const [snapshot] = await vault.listSnapshots();
    expect(snapshot).toMatchObject({ id: ids.snapshot, tree: ids.rootID, hostname: 'node-host', username: 'nodeuser', tags: ['from-node'], programVersion: 'node-writer 0.0.1' });
    const files = await vault.listFiles(ids.snapshot);
    expect(files.map((f) => [f.path, f.size])).toEqual([
      ['/docs', 0],
      ['/docs/chunky.bin', 307200],
      ['/docs/empty.txt', 0],
      ['/docs/hello.txt', 37],
      ['/docs/minimal.txt', 0],
      ['/docs/nested', 0],
      ['/docs/nested/grüße "quoted" \\ name.txt', 26],
      ['/docs/nested/note.txt', 37],
    ]);
    const cache = path.join(scratch.dir, 'cache');
    for (const file of ['/docs/chunky.bin', '/docs/hello.txt', '/docs/nested/grüße "quoted" \\ name.txt']) {
      const ours = await hashStream(await vault.dumpFile(ids.snapshot, file));
      expect(ours).toEqual(await resticDumpHash(repoDir, NODE_FIXTURE_PASSWORD, ids.snapshot, file, cache));
    }
    expect(await vault.check({ readData: true })).toMatchObject({ ok: true, problems: [] });
  });
});

describe('repositories restic backs up into during the test', () => {
  for (const compression of ['auto', 'off'] as const) {
    it(`restic backup --compression ${compression}: Lifeboat lists, dumps and checks it`, async () => {
      const repoDir = path.join(scratch.dir, `restic-${compression}`);
      const cache = path.join(scratch.dir, 'cache');
      const src = path.join(scratch.dir, `src-${compression}`);
      await mkdir(path.join(src, 'deep'), { recursive: true });
      const bigSha = await writeRandomFile(path.join(src, 'random.bin'), 3 * 1024 * 1024 + 7);
      const text = Buffer.from('compressible text\n'.repeat(100_000));
      await writeFile(path.join(src, 'deep', 'text.txt'), text);
      await resticOk(repoDir, 'pw-restic', ['init'], cache);
      await resticOk(repoDir, 'pw-restic', ['backup', '--compression', compression, '--host', 'made-by-restic', '--tag', 'x', src], cache);
      const vault = await Vault.open(new LocalBackend(repoDir), 'pw-restic');
      const [snapshot] = await vault.listSnapshots({ hostname: 'made-by-restic' });
      expect(snapshot?.paths).toEqual([src]);
      const files = await vault.listFiles(snapshot!.id);
      const random = files.find((f) => f.name === 'random.bin');
      expect(random?.path).toBe(`${src}/random.bin`);
      expect(await hashStream(await vault.dumpFile(snapshot!.id, random!.path))).toEqual({ sha256: bigSha, size: 3 * 1024 * 1024 + 7 });
      expect(await hashStream(await vault.dumpFile(snapshot!.id, `${src}/deep/text.txt`))).toEqual({ sha256: sha256(text), size: text.length });
      const sizes = await vault.snapshotSizes(snapshot!.id);
      expect(sizes.logicalSize).toBe(3 * 1024 * 1024 + 7 + text.length);
      // Compressed text takes far less room than its logical size; uncompressed not.
      if (compression === 'auto') expect(sizes.storedSize).toBeLessThan(3 * 1024 * 1024 + text.length / 10);
      else expect(sizes.storedSize).toBeGreaterThan(sizes.logicalSize);
      expect(await vault.check({ readData: true })).toMatchObject({ ok: true, problems: [] });
    });
  }
});
