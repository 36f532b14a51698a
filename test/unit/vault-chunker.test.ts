import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chunkStream, MAX_CHUNK, MIN_CHUNK } from '../../src/main/vault/chunker';
import { randomKey, tryOpen } from '../../src/main/vault/crypto';
import { PackBuilder, parsePackHeader } from '../../src/main/vault/pack';

async function chunks(data: Buffer, piece = 65536): Promise<Buffer[]> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += piece) pieces.push(data.subarray(i, i + piece));
  const out: Buffer[] = [];
  for await (const c of chunkStream(pieces)) out.push(c);
  return out;
}

const ids = (list: Buffer[]): string[] => list.map((c) => createHash('sha256').update(c).digest('hex'));

describe('vault chunker', () => {
  const data = randomBytes(12 * 1024 * 1024);

  it('cuts random data into 512 KiB – 8 MiB chunks that rebuild the input, the same way for any piece size', async () => {
    const a = await chunks(data);
    expect(Buffer.concat(a).equals(data)).toBe(true);
    for (const c of a.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(MIN_CHUNK);
      expect(c.length).toBeLessThanOrEqual(MAX_CHUNK);
    }
    const average = data.length / a.length;
    expect(average).toBeGreaterThan(600 * 1024);
    expect(average).toBeLessThan(2 * 1024 * 1024);
    expect(ids(await chunks(data, 1000003))).toEqual(ids(a));
    expect(ids(await chunks(data, data.length))).toEqual(ids(a));
  });

  it('re-synchronises after an insertion: later chunks are unchanged', async () => {
    const shifted = Buffer.concat([data.subarray(0, 3_000_000), Buffer.from('x'), data.subarray(3_000_000)]);
    const before = new Set(ids(await chunks(data)));
    const after = ids(await chunks(shifted));
    const reused = after.filter((id) => before.has(id)).length;
    expect(reused).toBeGreaterThanOrEqual(after.length - 2);
  });

  it('forces a cut at 8 MiB on data with no natural boundary and cuts zeros at the minimum', async () => {
    const zeros = await chunks(Buffer.alloc(MIN_CHUNK * 3 + 5));
    // A run of zeros keeps the gear hash away from zero, so nothing cuts before the forced maximum.
    expect(zeros.map((c) => c.length)).toEqual([MIN_CHUNK * 3 + 5]);
    const big = await chunks(Buffer.alloc(MAX_CHUNK + 10));
    expect(big.map((c) => c.length)).toEqual([MAX_CHUNK, 10]);
  });

  it('cuts exactly where every earlier release cut, so new pulls dedup against old snapshots', async () => {
    // Deterministic input: SHA-256 of a counter, 24 MiB. The lengths were recorded from the first
    // release's chunker; a change here silently stops deduplication against existing vaults.
    const parts: Buffer[] = [];
    for (let i = 0; i < (24 * 1024 * 1024) / 32; i++) parts.push(createHash('sha256').update(`lifeboat-chunker-${i}`).digest());
    const lengths = (await chunks(Buffer.concat(parts), 77777)).map((c) => c.length);
    expect(lengths).toEqual([
      1374472, 1563003, 914098, 568665, 1057338, 911849, 2108661, 580587, 569076, 781249, 726442, 1749195,
      1153937, 611724, 1394853, 603810, 1947459, 644101, 1075691, 952704, 2340537, 543456, 992917,
    ]);
  });

  it('yields nothing for empty input and one chunk for tiny input', async () => {
    expect(await chunks(Buffer.alloc(0))).toEqual([]);
    expect((await chunks(Buffer.from('hi'))).map((c) => c.toString())).toEqual(['hi']);
  });
});

describe('vault pack', () => {
  it('writes a header restic can parse back: entries, offsets, lengths', async () => {
    const key = randomKey();
    // A tiny starting buffer makes the pack grow twice on the way.
    const pack = new PackBuilder('data', 64);
    pack.add(key, 'aa'.repeat(32), Buffer.alloc(100, 1));
    pack.add(key, 'bb'.repeat(32), Buffer.alloc(50, 2));
    const { id, data, pack: entry } = await pack.finish(key);
    expect(data.length).toBe(100 + 32 + 50 + 32 + 2 * 37 + 32 + 4);
    expect(id).toBe(createHash('sha256').update(data).digest('hex'));
    const parsed = parsePackHeader(key, entry.id, data.length, data);
    expect(parsed).toEqual({ headerLength: 2 * 37 + 32, blobs: entry.blobs });
    expect(tryOpen(key, data.subarray(132, 214))).toEqual(Buffer.alloc(50, 2));
    expect(entry.blobs.map((b) => [b.offset, b.length])).toEqual([
      [0, 132],
      [132, 82],
    ]);
  });
});
