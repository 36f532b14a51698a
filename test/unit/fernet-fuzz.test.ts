// Mutated Fernet tokens in a fixed-seed loop (cuts, bad characters, swapped valid characters,
// inserted and deleted bytes, wrong version bytes, garbage after the end, any chunking): each
// either verifies or fails with a typed LifeboatError — never another exception. And a token far
// larger than any buffer streams through in bounded memory.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import { FernetTokenReader, deriveFernetKey, fernetDecryptStream, fernetEncryptStream, type FernetKey } from '../../src/main/formats/fernet';
import { LOOMIO_SAMPLES, seededRandom } from '../fleet/loomio/samples';

/** The failure kind a Fernet error carries in its details (corrupt, truncated, wrong-key, altered). */
const fernetFailureOf = (error: unknown): string | null => (error as LifeboatError).details?.fernet as string | undefined ?? null;

const sample = LOOMIO_SAMPLES.hourly;
const dump = LOOMIO_SAMPLES.plaintext;
const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

let key: FernetKey;
beforeAll(async () => {
  key = await deriveFernetKey(LOOMIO_SAMPLES.passphrase, LOOMIO_SAMPLES.kdf);
});

type Mutation = (token: Buffer, rnd: () => number) => Buffer;
const at = (token: Buffer, rnd: () => number): number => Math.floor(rnd() * token.length);
const MUTATIONS: Record<string, Mutation> = {
  truncate: (t, r) => t.subarray(0, at(t, r)),
  swapValid: (t, r) => {
    const copy = Buffer.from(t);
    const i = Math.floor(r() * (t.length - 3));
    copy[i] = ALPHABET[(ALPHABET.indexOf(copy[i]!) + 1 + Math.floor(r() * 63)) % 64]!;
    return copy;
  },
  badByte: (t, r) => {
    const copy = Buffer.from(t);
    copy[at(t, r)] = [0x00, 0x2b, 0x2f, 0x3d, 0x0a, 0xff, 0x20, 0x2e][Math.floor(r() * 8)]!;
    return copy;
  },
  insert: (t, r) => {
    const i = at(t, r);
    return Buffer.concat([t.subarray(0, i), Buffer.from([ALPHABET[Math.floor(r() * 64)]!]), t.subarray(i)]);
  },
  delete: (t, r) => {
    const i = at(t, r);
    return Buffer.concat([t.subarray(0, i), t.subarray(i + 1)]);
  },
  version: (t, r) => Buffer.concat([Buffer.from([ALPHABET[Math.floor(r() * 64)]!]), t.subarray(1)]),
  garbageAfter: (t, r) => Buffer.concat([t, Buffer.from(['AAAA', '\n\n', '==', ' x', '\0'][Math.floor(r() * 5)]!)]),
  headOnly: (t, r) => t.subarray(0, Math.floor(r() * 120)),
};

describe('mutated tokens', () => {
  it('200 mutations, fixed seed: each a valid result or a typed LifeboatError', () => {
    const rnd = seededRandom(20261123);
    const names = Object.keys(MUTATIONS);
    const seen = new Map<string, number>();
    for (let n = 0; n < 200; n++) {
      const name = names[n % names.length]!;
      const token = MUTATIONS[name]!(sample, rnd);
      const chunk = 1 + Math.floor(rnd() * 5000);
      const reader = new FernetTokenReader({ key, decrypt: true, label: `mutation ${n} (${name})` });
      const plain: Buffer[] = [];
      let outcome: ReturnType<FernetTokenReader['finish']>;
      try {
        for (let i = 0; i < token.length; i += chunk) plain.push(...reader.write(token.subarray(i, i + chunk)));
        outcome = reader.finish();
      } catch (error) {
        throw new Error(`mutation ${n} (${name}) threw instead of failing typed: ${String(error)}`, { cause: error });
      }
      const verdict = outcome.ok ? 'ok' : fernetFailureOf(outcome.error) ?? 'untyped';
      // A token that still verifies (trailing whitespace, a change in the unused bits of the last
      // character) must decrypt to exactly the dump.
      if (outcome.ok) expect(Buffer.concat([...plain, outcome.plaintextTail]).equals(dump)).toBe(true);
      else {
        expect(outcome.error).toBeInstanceOf(LifeboatError);
        expect(['ARCHIVE_INVALID', 'ARCHIVE_VERIFY_FAILED']).toContain(outcome.error.code);
      }
      expect(verdict).not.toBe('untyped');
      seen.set(verdict, (seen.get(verdict) ?? 0) + 1);
    }
    // Every kind of failure came up.
    expect([...seen.keys()].sort()).toEqual(expect.arrayContaining(['corrupt', 'truncated', 'wrong-key']));
    expect(seen.get('ok') ?? 0).toBeLessThan(40);
  });
});

describe('a token larger than any buffer', () => {
  it('256 MiB of plaintext as one line of base64 streams through encrypt and decrypt in bounded memory', async () => {
    const total = 256 * 1024 * 1024;
    const block = Buffer.alloc(1024 * 1024, 'COPY-ROW\t');
    async function* plaintext(): AsyncGenerator<Buffer> {
      for (let sent = 0; sent < total; sent += block.length) yield block;
    }
    let out = 0;
    let peak = 0;
    const used = (): number => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const before = used();
    await pipeline(Readable.from(plaintext()), fernetEncryptStream(key), fernetDecryptStream({ key, label: 'big' }), new Writable({
      write(chunk: Buffer, _e, done) {
        out += chunk.length;
        peak = Math.max(peak, used() - before);
        done();
      },
    }));
    expect(out).toBe(total);
    // What is alive at once stays far below the token (the stream buffers a few chunks).
    expect(peak).toBeLessThan(96 * 1024 * 1024);
  });
});
