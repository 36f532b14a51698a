import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMasterKey, open, parseKeyFile, randomKey, seal, tryOpen, unlockKeyFile } from '../../src/main/vault/crypto';
import { compareUtf8, formatGoTime, goQuote, goUnquote } from '../../src/main/vault/go-encoding';
import { isIrreducible, randomIrreduciblePolynomial } from '../../src/main/vault/polynomial';
import { poly1305Tag } from '../../src/main/vault/poly1305';

const fixtures = path.resolve('test/fixtures/restic');
const masterJson = readFileSync(path.join(fixtures, 'outputs/cat-masterkey.json'));

describe('vault crypto', () => {
  it('opens the restic-made config with the fixture master key and refuses a flipped byte', () => {
    const master = decodeMasterKey(Buffer.from(JSON.stringify(JSON.parse(masterJson.toString()))));
    const sealed = readFileSync(path.join(fixtures, 'repo-v2/config'));
    const plain = open(master, sealed, 'config');
    expect(JSON.parse(plain.toString())).toEqual({ version: 2, id: '4d5c5b8f8ef0607d72a84eea9a043eae389f0ed0bece34b2ef59a839be4a4d0a', chunker_polynomial: '29e2a5f2c658d7' });
    const damaged = Buffer.from(sealed);
    damaged[40] = (damaged[40] as number) ^ 1;
    expect(tryOpen(master, damaged)).toBeNull();
    expect(() => open(master, damaged, 'The config')).toThrow('The config failed its integrity check (MAC mismatch)');
  });

  it('unlocks a key file whose master r is stored unclamped (written outside restic)', async () => {
    const keysDir = path.join(fixtures, 'repo-v2-node-written/keys');
    const name = '00c1cbdf372b7212f096f4b1ef2628cf025141ce94d5ce741eb557a64cdd94d3';
    const file = parseKeyFile(readFileSync(path.join(keysDir, name)), name);
    const master = await unlockKeyFile(file, 'node-writer-password');
    const expected = JSON.parse(readFileSync(path.join(fixtures, 'outputs/node-cat-masterkey.json'), 'utf8')) as { encrypt: string; mac: { r: string } };
    expect(master?.encrypt.toString('base64')).toBe(expected.encrypt);
    // restic 0.14 clamps r when it loads a key, so `cat masterkey` shows the clamped form of what is stored.
    const clamped = Buffer.from(master!.macR);
    for (const i of [3, 7, 11, 15]) clamped[i] = (clamped[i] as number) & 0x0f;
    for (const i of [4, 8, 12]) clamped[i] = (clamped[i] as number) & 0xfc;
    expect(clamped.toString('base64')).toBe(expected.mac.r);
    expect(master!.macR.equals(clamped)).toBe(false);
    expect(await unlockKeyFile(file, 'not-the-password')).toBeNull();
  });

  it('round-trips seal/open with a fresh IV each time', () => {
    const key = randomKey();
    const a = seal(key, Buffer.from('hello'));
    const b = seal(key, Buffer.from('hello'));
    expect(a.length).toBe(5 + 32);
    expect(a.equals(b)).toBe(false);
    expect(tryOpen(key, a)?.toString()).toBe('hello');
    expect(tryOpen(randomKey(), a)).toBeNull();
  });
});

describe('vault Go encodings', () => {
  it('quotes and unquotes names like Go strconv', () => {
    expect(goQuote('grüße "quoted" \\ name.txt')).toBe('grüße \\"quoted\\" \\\\ name.txt');
    expect(goQuote('a\nb\x1b\u00a0c')).toBe('a\\nb\\x1b\\u00a0c');
    for (const name of ['grüße "quoted" \\ name.txt', 'a\nb\x1b\u00a0c', 'plain.txt', '😀 emoji']) {
      expect(goUnquote(goQuote(name))).toBe(name);
    }
  });

  it('formats RFC 3339 nano times with the local offset and trimmed fraction', () => {
    const text = formatGoTime(new Date('2024-02-10T12:00:00.500Z'));
    expect(text).toMatch(/^2024-02-10T\d\d:\d\d:00\.5(Z|[+-]\d\d:\d\d)$/);
    expect(Date.parse(text)).toBe(Date.parse('2024-02-10T12:00:00.500Z'));
    expect(formatGoTime(new Date('2024-02-10T12:00:00Z'))).not.toContain('.');
  });

  it('orders names by UTF-8 bytes, not UTF-16 units', () => {
    expect(compareUtf8('\uffff', '😀')).toBeLessThan(0);
    expect('\uffff' < '😀').toBe(false);
  });
});

describe('vault chunker polynomial', () => {
  it('accepts the polynomials restic made and rejects a reducible one', () => {
    for (const hex of ['29e2a5f2c658d7', '33e30c8c5d5245', '25bdcccb971c67', '267f0eadd09bfb']) expect(isIrreducible(BigInt(`0x${hex}`))).toBe(true);
    // (x^27 + x + 1)·(x^26 + 1) style products are reducible: x^53 + x is divisible by x.
    expect(isIrreducible((1n << 53n) | 2n)).toBe(false);
    const fresh = randomIrreduciblePolynomial();
    expect(BigInt(`0x${fresh}`).toString(2)).toHaveLength(54);
    expect(isIrreducible(BigInt(`0x${fresh}`))).toBe(true);
  });
});

describe('vault Poly1305 (WebAssembly)', () => {
  it('gives the same tags as @noble/ciphers for every length class, including all-0xff r and message', () => {
    for (const len of [0, 1, 15, 16, 17, 33, 1000, 65536, 1024 * 1024 - 1, 1024 * 1024 + 17]) {
      for (const extreme of [false, true]) {
        const msg = extreme ? Buffer.alloc(len, 0xff) : randomBytes(len);
        const key = extreme ? Buffer.alloc(32, 0xff) : randomBytes(32);
        expect(Buffer.from(poly1305Tag(msg, key)).toString('hex')).toBe(Buffer.from(poly1305(msg, key)).toString('hex'));
      }
    }
  });
});
