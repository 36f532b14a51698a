import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, randomKey } from '../../src/main/vault/crypto';
import { SealPool } from '../../src/main/vault/seal-pool';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('vault seal pool', () => {
  it.each([['worker', false], ['inline', true]])('%s: gives each chunk its id and openable sealed bytes, in order, and the digest of all', async (_name, inline) => {
    const key = randomKey();
    // Sizes cover a pooled small Buffer (transferred as a copy), a slice of a larger one, and a whole 1 MiB buffer.
    const big = randomBytes(3 * 1024 * 1024);
    const chunks = [Buffer.alloc(0), Buffer.from('tiny'), big.subarray(5, 700_005), randomBytes(1024 * 1024), big.subarray(1024 * 1024)];
    const copies = chunks.map((c) => Buffer.from(c));
    const pool = new SealPool(key, { inline });
    try {
      const results = await Promise.all(chunks.map((c) => pool.seal(c)));
      results.forEach((r, i) => {
        const plain = copies[i] as Buffer;
        expect(r.id).toBe(sha(plain));
        expect(r.plaintextLength).toBe(plain.length);
        expect(open(key, r.sealed, `chunk ${i}`).equals(plain)).toBe(true);
      });
      expect(await pool.digests()).toEqual({ sha256: sha(Buffer.concat(copies)) });
    } finally {
      await pool.close();
    }
  });

  it.each([['worker', false], ['inline', true]])('%s: keeps the MD5 of the whole stream too when asked (DBackup checksums)', async (_name, inline) => {
    const chunks = [randomBytes(1024 * 1024), Buffer.from('tail'), randomBytes(300_000)];
    const whole = Buffer.concat(chunks);
    const pool = new SealPool(randomKey(), { inline, md5: true });
    try {
      for (const chunk of chunks) await pool.seal(chunk);
      expect(await pool.digests()).toEqual({ sha256: sha(whole), md5: createHash('md5').update(whole).digest('hex') });
    } finally {
      await pool.close();
    }
  });

  it('close ends a pending call and refuses later ones (CANCELLED)', async () => {
    const pool = new SealPool(randomKey());
    const pending = pool.seal(randomBytes(8 * 1024 * 1024));
    await pool.close();
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(pool.seal(Buffer.from('late'))).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('vault seal pool memory', () => {
  it.each([['worker', false], ['inline', true]])('%s: seals a chunk in the buffer it handed out and reuses that memory once the chunk is recycled', async (_name, inline) => {
    const key = randomKey();
    const pool = new SealPool(key, { inline });
    try {
      const first = pool.chunkBuffer(700_000);
      first.set(randomBytes(700_000));
      const plain = Buffer.from(first);
      const sealed = await pool.seal(first);
      expect(sealed.id).toBe(sha(plain));
      expect(open(key, sealed.sealed, 'the chunk').equals(plain)).toBe(true);
      pool.recycle(sealed);
      // The next chunk of a size that fits lands in the same memory: no new allocation per chunk.
      const next = pool.chunkBuffer(600_000);
      expect(next.buffer).toBe(sealed.sealed.buffer);
      next.set(randomBytes(600_000));
      const nextPlain = Buffer.from(next);
      expect(open(key, (await pool.seal(next)).sealed, 'the next chunk').equals(nextPlain)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
