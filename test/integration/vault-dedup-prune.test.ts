/**
 * Dedup and space reclaim: a second archive that is 95 % the same stores few new bytes; forget +
 * prune (with repacking) frees the rest, and restic still checks and restores everything.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend, Vault } from '../../src/main/vault';
import type { AddArchiveResult, VaultProgress } from '../../src/main/vault';
import { hashStream, makeScratch, restic, resticDumpHash, sha256, TEST_SCRYPT } from '../harness/restic';
import type { Scratch } from '../harness/restic';

const PASSWORD = 'dedup-pw';
// Large against restic's chunk sizes (512 KiB to 8 MiB, about 1 MiB on average, cut points from a
// random polynomial per vault): the chunks straddling the change are new, and at 12 MiB two
// somewhat large ones (a few per cent of runs) already passed the bounds below. At 48 MiB, passing
// them takes two neighbours of over 7 MiB each.
const SIZE = 48 * 1024 * 1024;

/** Feeds a buffer in 64 KiB pieces, like a file stream. */
const stream = (data: Buffer): Readable => Readable.from((function* () {
  for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536);
})());

describe('dedup, forget and prune', () => {
  let scratch: Scratch;
  let dir: string;
  let vault: Vault;
  let a: Buffer;
  let b: Buffer;
  let first: AddArchiveResult;
  let second: AddArchiveResult;
  const progress: VaultProgress[] = [];

  beforeAll(async () => {
    scratch = await makeScratch();
    dir = path.join(scratch.dir, 'vault');
    vault = await Vault.init(new LocalBackend(dir), PASSWORD, { scrypt: TEST_SCRYPT });
    a = randomBytes(SIZE);
    // 95 % identical: 5 % of the bytes replaced in one region, plus a few bytes inserted (shifts everything after).
    const changed = Math.floor(SIZE * 0.05);
    const at = Math.floor(SIZE * 0.4);
    b = Buffer.concat([a.subarray(0, at), randomBytes(changed), Buffer.from('inserted'), a.subarray(at + changed)]);
    first = await vault.addArchive({ input: stream(a), fileName: 'db.dump', size: SIZE, mtime: new Date(), hostname: 'h', paths: ['/lifeboat/app'], tags: ['one'], onProgress: (p) => progress.push(p) });
    second = await vault.addArchive({ input: stream(b), fileName: 'db.dump', mtime: new Date(), hostname: 'h', paths: ['/lifeboat/app'], tags: ['two'] });
  }, 60_000);

  afterAll(async () => {
    await scratch.cleanup();
  });

  it('reports ingest progress up to the full size, then the index phase', () => {
    const ingest = progress.filter((p) => p.phase === 'ingest');
    expect(ingest.length).toBeGreaterThan(2);
    expect(ingest.at(-1)).toEqual({ phase: 'ingest', bytes: SIZE, total: SIZE });
    expect(ingest.every((p, i) => i === 0 || p.bytes >= (ingest[i - 1]?.bytes ?? 0))).toBe(true);
    expect(progress.at(-1)?.phase).toBe('index');
  });

  it('the second, 95 % identical archive stores far fewer new bytes', () => {
    // New plaintext: the archive plus its small tree blob.
    expect(first.addedBytes).toBeGreaterThan(SIZE);
    expect(first.addedBytes).toBeLessThan(SIZE + 4096);
    expect(first.storedBytes).toBeGreaterThan(SIZE);
    // Content-defined chunks around the change are new (5 % plus the chunks straddling its ends); the rest dedups.
    expect(second.storedBytes).toBeLessThan(SIZE * 0.35);
    expect(second.addedBytes).toBeLessThan(SIZE * 0.35);
    expect(second.storedBytes).toBeLessThan(first.storedBytes / 3);
  });

  it('reports per-snapshot logical and stored sizes and a vault dedup ratio', async () => {
    const s1 = await vault.snapshotSizes(first.snapshotId);
    const s2 = await vault.snapshotSizes(second.snapshotId);
    expect(s1.logicalSize).toBe(SIZE);
    expect(s2.logicalSize).toBe(b.length);
    const totals = await vault.sizes();
    expect(totals.logicalSize).toBe(SIZE + b.length);
    expect(totals.dedupRatio).toBeGreaterThan(1.5);
  });

  it('forget + prune frees the first archive’s unique chunks, repacks, and keeps the second intact', async () => {
    const before = await vault.sizes();
    await vault.forgetSnapshots([first.snapshotId]);
    expect((await vault.listSnapshots()).map((s) => s.id)).toEqual([second.snapshotId]);
    // Every pack holds some shared chunk, so space only comes back by repacking.
    const result = await vault.prune({ maxUnusedFraction: 0 });
    expect(result.packsRepacked).toBeGreaterThan(0);
    expect(result.bytesAfter).toBeLessThan(result.bytesBefore);
    expect(result.bytesAfter).toBeLessThan(b.length * 1.05);
    expect((await vault.sizes()).storedSize).toBeLessThan(before.storedSize);

    expect(await hashStream(await vault.dumpFile(second.snapshotId, 'db.dump'))).toEqual({ sha256: sha256(b), size: b.length });
    expect(await vault.check({ readData: true })).toMatchObject({ ok: true, problems: [] });
    const cache = path.join(scratch.dir, 'cache');
    const run = await restic(dir, PASSWORD, ['check', '--read-data'], cache);
    expect(run.stdout + run.stderr).toContain('no errors were found');
    expect(await resticDumpHash(dir, PASSWORD, second.snapshotId, '/db.dump', cache)).toEqual({ sha256: sha256(b), size: b.length });
    await expect(vault.forgetSnapshots([first.snapshotId])).rejects.toMatchObject({ code: 'NOT_FOUND', message: `No snapshot ${first.snapshotId.slice(0, 8)} in the vault; nothing was removed.` });
  });
});
