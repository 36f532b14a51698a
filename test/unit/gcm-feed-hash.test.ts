import { createHash, randomBytes } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FEED_BYTES, readPayload, type PayloadDecipher } from '../../src/main/formats/gcm/payload';
import { ParallelHasher } from '../../src/main/formats/hash-worker';

/** A stand-in decipher (identity) that records the size of every block it is fed. */
class RecordingDecipher extends Transform implements PayloadDecipher {
  readonly sizes: number[] = [];
  authenticated: boolean | null = null;
  headVerdict = null;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.sizes.push(chunk.length);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    this.authenticated = true;
    done();
  }
}

function chunksOf(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

describe('readPayload feeding', () => {
  it('joins small input chunks into blocks of at least FEED_BYTES for the decipher, bytes unchanged', async () => {
    const data = randomBytes(5 * FEED_BYTES + 12_345);
    const decipher = new RecordingDecipher();
    const seen = createHash('sha256');
    const outcome = await readPayload(Readable.from(chunksOf(data, 64 * 1024), { objectMode: false }), {
      label: 'x', secrets: null, decipher, compression: 'none', onStoredChunk: (c) => seen.update(c),
      read: async (plain) => {
        const hash = createHash('sha256');
        for await (const c of plain as AsyncIterable<Buffer>) hash.update(c);
        return hash.digest('hex');
      },
    });
    expect(outcome.storedBytes).toBe(data.length);
    expect(outcome.value).toBe(createHash('sha256').update(data).digest('hex'));
    expect(seen.digest('hex')).toBe(outcome.value);
    expect(decipher.sizes.length).toBeGreaterThan(1);
    expect(decipher.sizes.slice(0, -1).every((n) => n >= FEED_BYTES)).toBe(true);
    expect(decipher.sizes.reduce((a, b) => a + b, 0)).toBe(data.length);
  });

  it('waits for a stored-chunk hook that returns a promise before the next chunk', async () => {
    const data = randomBytes(3 * FEED_BYTES);
    const hasher = new ParallelHasher(['sha256', 'md5'], { blockBytes: 64 * 1024, blocks: 2 });
    try {
      const outcome = await readPayload(Readable.from(chunksOf(data, 200_000), { objectMode: false }), { label: 'x', secrets: null, compression: 'none', onStoredChunk: (c) => hasher.update(c), read: null });
      expect(outcome.storedBytes).toBe(data.length);
      expect(hasher.bytes).toBe(data.length);
      const digests = await hasher.digest();
      expect(digests.sha256).toBe(createHash('sha256').update(data).digest('hex'));
      expect(digests.md5).toBe(createHash('md5').update(data).digest('hex'));
    } finally {
      await hasher.close();
    }
  });
});

describe('ParallelHasher', () => {
  it('hashes on worker threads, in order, across block boundaries, with backpressure from a small ring', async () => {
    const data = randomBytes(2_000_003);
    const hasher = new ParallelHasher(['sha256', 'md5', 'sha1'], { blockBytes: 32 * 1024, blocks: 2 });
    expect(hasher.parallel).toBe(true);
    let waited = 0;
    for (const chunk of chunksOf(data, 100_001)) {
      const pending = hasher.update(chunk);
      if (pending) {
        waited++;
        await pending;
      }
    }
    const digests = await hasher.digest();
    // Two 32 KiB blocks cannot hold 100 KB: the hasher must have made the caller wait.
    expect(waited).toBeGreaterThan(0);
    expect(digests).toEqual({
      sha256: createHash('sha256').update(data).digest('hex'),
      md5: createHash('md5').update(data).digest('hex'),
      sha1: createHash('sha1').update(data).digest('hex'),
    });
  });

  it('gives the same digests inline, also for empty input', async () => {
    const data = randomBytes(70_000);
    const inline = new ParallelHasher(['sha256', 'md5'], { inline: true });
    expect(inline.parallel).toBe(false);
    inline.update(data);
    expect(await inline.digest()).toEqual({ sha256: createHash('sha256').update(data).digest('hex'), md5: createHash('md5').update(data).digest('hex') });
    const empty = new ParallelHasher(['md5']);
    expect(await empty.digest()).toEqual({ md5: createHash('md5').digest('hex') });
  });

  it('rejects a waiting update when closed (a cancelled read)', async () => {
    const hasher = new ParallelHasher(['sha256'], { blockBytes: 1024, blocks: 2 });
    const pending = hasher.update(randomBytes(64 * 1024));
    expect(pending).toBeInstanceOf(Promise);
    const rejected = expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    await hasher.close();
    await rejected;
  });
});
