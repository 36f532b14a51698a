// Fernet tokens against the Loomio samples (test/fixtures/loomio, made by Python's cryptography):
// key derivation, streaming verification and decryption in chunks of any size, the three failure
// messages, and the streaming encryptor read back.
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LifeboatError } from '../../src/shared/errors';
import {
  FernetTokenReader,
  deriveFernetKey,
  fernetDecryptStream,
  fernetEncryptStream,
  looksLikeFernetText,
  readFernetTimestamp,
  type FernetKey,
} from '../../src/main/formats/fernet';
import { LOOMIO_SAMPLES } from '../fleet/loomio/samples';

/** The failure kind a Fernet error carries in its details (corrupt, truncated, wrong-key, altered). */
const fernetFailureOf = (error: unknown): string | null => (error as LifeboatError).details?.fernet as string | undefined ?? null;

const { vector, hourly, v1, plaintext, kdf: LOOMIO_KDF } = LOOMIO_SAMPLES;

let key: FernetKey;
let wrongKey: FernetKey;

beforeAll(async () => {
  key = await deriveFernetKey(vector.passphrase_BACKUP_ENCRYPTION_KEY, LOOMIO_KDF);
  wrongKey = await deriveFernetKey('0'.repeat(64), LOOMIO_KDF);
});

/** Feeds text in chunks of `size` bytes; the plaintext and the outcome. */
type Extra = { keyVerifiedElsewhere?: boolean; recognizePlaintext?: (block: Buffer) => boolean };

function read(text: Buffer, withKey: FernetKey, size: number, extra: Extra = {}) {
  const reader = new FernetTokenReader({ key: withKey, decrypt: true, label: 'backup.sql.enc', ...extra });
  const out: Buffer[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...reader.write(text.subarray(i, i + size)));
  const outcome = reader.finish();
  if (outcome.ok) out.push(outcome.plaintextTail);
  return { outcome, plain: Buffer.concat(out) };
}

function errorOf(text: Buffer, withKey: FernetKey, extra: Extra = {}): LifeboatError {
  const { outcome } = read(text, withKey, 4096, extra);
  if (outcome.ok) throw new Error('expected the token to fail');
  return outcome.error;
}

describe('Fernet key derivation (backup.py derive_fernet_key)', () => {
  it('derives the README key from the passphrase as a UTF-8 string (not hex-decoded)', () => {
    expect(Buffer.concat([key.signing, key.encryption]).toString('hex')).toBe(vector.derived_key_hex);
    expect(`${Buffer.concat([key.signing, key.encryption]).toString('base64url')}=`).toBe(vector.fernet_key_base64url);
  });
});

describe('reading a Fernet token', () => {
  it('verifies and decrypts the deterministic vector, timestamp and all', () => {
    const token = Buffer.from(vector.token_base64url);
    const { outcome, plain } = read(token, key, 7);
    expect(outcome.ok).toBe(true);
    expect(plain.toString('utf8')).toBe(vector.plaintext_utf8);
    expect(readFernetTimestamp(token)?.getTime()).toBe(vector.timestamp_unix * 1000);
    if (outcome.ok) expect(outcome.facts.timestamp.getTime()).toBe(vector.timestamp_unix * 1000);
  });

  it.each([1, 3, 4, 1000, 65536])('decrypts both sample generations byte-identically in %i-byte chunks', (size) => {
    for (const sample of [hourly, v1]) {
      const { outcome, plain } = read(sample, key, size);
      expect(outcome.ok).toBe(true);
      expect(createHash('sha256').update(plain).digest('hex')).toBe(LOOMIO_SAMPLES.plaintextSha256);
      expect(plain.equals(plaintext)).toBe(true);
    }
  });

  it('reads the timestamp without the key: 2026-11-23T13:12:11Z', () => {
    expect(readFernetTimestamp(hourly)?.toISOString()).toBe('2026-11-23T13:12:11.000Z');
    expect(readFernetTimestamp(v1)?.toISOString()).toBe('2026-11-23T13:12:11.000Z');
    expect(looksLikeFernetText(hourly)).toBe(true);
    expect(looksLikeFernetText(plaintext)).toBe(false);
    expect(readFernetTimestamp(plaintext)).toBeNull();
  });

  it('tolerates a trailing newline', () => {
    expect(read(Buffer.concat([hourly, Buffer.from('\r\n')]), key, 100).outcome.ok).toBe(true);
  });
});

describe('three different failures', () => {
  it('wrong key, altered byte and truncation each say what happened', () => {
    const wrong = errorOf(hourly, wrongKey);
    const altered = Buffer.from(hourly);
    altered[5000] = altered[5000] === 0x41 ? 0x42 : 0x41;
    const alteredWithoutHistory = errorOf(altered, key);
    const alteredKnownKey = errorOf(altered, key, { keyVerifiedElsewhere: true });
    const truncated = errorOf(hourly.subarray(0, 7001), key);

    expect(wrong.code).toBe('ARCHIVE_VERIFY_FAILED');
    expect(wrong.message).toMatch(/probably the wrong key/);
    expect(fernetFailureOf(wrong)).toBe('wrong-key');
    // Without another backup verified by the same key, an altered file looks like a wrong key.
    expect(fernetFailureOf(alteredWithoutHistory)).toBe('wrong-key');
    expect(alteredKnownKey.code).toBe('ARCHIVE_VERIFY_FAILED');
    expect(alteredKnownKey.message).toMatch(/altered or damaged/);
    expect(fernetFailureOf(alteredKnownKey)).toBe('altered');
    expect(truncated.code).toBe('ARCHIVE_INVALID');
    expect(truncated.message).toMatch(/cut short/);
    expect(fernetFailureOf(truncated)).toBe('truncated');
    expect(new Set([wrong.message, alteredKnownKey.message, truncated.message]).size).toBe(3);
  });

  it('a first block that decrypts to a dump header is evidence the key is right: altered, not wrong key', () => {
    const recognizePlaintext = (block: Buffer): boolean => block.toString('latin1') === '--\n-- PostgreSQL';
    const altered = Buffer.from(hourly);
    altered[9000] = altered[9000] === 0x41 ? 0x42 : 0x41;
    const error = errorOf(altered, key, { recognizePlaintext });
    expect(fernetFailureOf(error)).toBe('altered');
    expect(error.message).toMatch(/first bytes decrypt to the expected text/);
    expect(fernetFailureOf(errorOf(hourly, wrongKey, { recognizePlaintext }))).toBe('wrong-key');
    // Also without decrypting the whole token (a pull's verifier): one block is enough.
    const reader = new FernetTokenReader({ key, decrypt: false, label: 'x', recognizePlaintext });
    reader.write(altered);
    const outcome = reader.finish();
    expect(!outcome.ok && fernetFailureOf(outcome.error)).toBe('altered');
  });

  it('names the offset of a bad character and of a bad version byte (corrupt)', () => {
    const bad = Buffer.from(hourly);
    bad[1234] = 0x2b; // "+": standard base64, not base64url
    const corrupt = errorOf(bad, key);
    expect(corrupt.code).toBe('ARCHIVE_INVALID');
    expect(fernetFailureOf(corrupt)).toBe('corrupt');
    expect(corrupt.message).toMatch(/"\+".*at byte 1234 of the file/);
    const version = Buffer.from(`A${hourly.subarray(1).toString('latin1')}`, 'latin1');
    expect(errorOf(version, key).message).toMatch(/version byte is 0x00 .* at byte 0/);
  });

  it('finds any foreign character inside the body at its exact offset, whatever the chunk size', () => {
    // Chunks inside the body are decoded whole when clean; each of these must still be caught where it is.
    for (const [byte, shown] of [[0x2b, '"\\+"'], [0x2f, '"/"'], [0x2e, '"\\."'], [0x00, '0x00'], [0xc3, '0xc3']] as const) {
      for (const size of [1, 3, 4, 1000, 4096, 1 << 20]) {
        const bad = Buffer.from(hourly);
        bad[5001] = byte;
        const { outcome } = read(bad, key, size);
        expect(outcome.ok, `${shown} in chunks of ${size}`).toBe(false);
        if (!outcome.ok) expect(outcome.error.message, `${shown} in chunks of ${size}`).toMatch(new RegExp(`${shown}.*at byte 5001 of the file`));
      }
    }
    // "=" and a newline may end the text, so the error is the next character, after that end.
    for (const byte of [0x3d, 0x0a]) {
      for (const size of [1, 3, 4, 1000, 4096, 1 << 20]) {
        const bad = Buffer.from(hourly);
        bad[5001] = byte;
        const { outcome } = read(bad, key, size);
        expect(!outcome.ok && outcome.error.message, `0x${byte.toString(16)} in chunks of ${size}`).toMatch(/after the end of the base64 text.*at byte 5002 of the file/);
      }
    }
  });

  it('tells truncation at a block boundary without padding from damage after padding', () => {
    // The samples end in "=" padding; a cut removes it, so a short length reads as a cut.
    expect(fernetFailureOf(errorOf(hourly.subarray(0, 4000), key))).toBe('truncated');
    expect(fernetFailureOf(errorOf(Buffer.alloc(0), key))).toBe('truncated');
    const extraPad = Buffer.concat([hourly, Buffer.from('=')]);
    expect(fernetFailureOf(errorOf(extraPad, key))).toBe('corrupt');
    const dataAfterNewline = Buffer.concat([hourly.subarray(0, hourly.length - 2), Buffer.from('\nAA')]);
    expect(fernetFailureOf(errorOf(dataAfterNewline, key))).toBe('corrupt');
  });
});

describe('the streaming encryptor', () => {
  it('writes a token Fernet reads back, of the size Python writes for the same dump', async () => {
    const chunks: Buffer[] = [];
    await pipeline(Readable.from([plaintext.subarray(0, 1000), plaintext.subarray(1000)]), fernetEncryptStream(key), new Writable({
      write(chunk: Buffer, _e, done) {
        chunks.push(chunk);
        done();
      },
    }));
    const token = Buffer.concat(chunks);
    expect(token.length).toBe(hourly.length);
    expect(token.subarray(0, 6).toString()).toBe('gAAAAA');
    expect(Math.abs((readFernetTimestamp(token)?.getTime() ?? 0) - Date.now())).toBeLessThan(5000);
    const { outcome, plain } = read(token, key, 333);
    expect(outcome.ok).toBe(true);
    expect(plain.equals(plaintext)).toBe(true);
  });

  it.each([0, 1, 15, 16, 17, 47, 48, 49])('round-trips %i bytes (every padding and base64 remainder)', async (n) => {
    const data = randomBytes(n);
    const out: Buffer[] = [];
    await pipeline(Readable.from(n > 0 ? [data] : []), fernetEncryptStream(key), fernetDecryptStream({ key, label: 'x' }), new Writable({
      write(chunk: Buffer, _e, done) {
        out.push(chunk);
        done();
      },
    }));
    expect(Buffer.concat(out).equals(data)).toBe(true);
  });

  it('a decrypt stream errors (typed) on a wrong key, after passing unauthenticated bytes', async () => {
    const seen: Buffer[] = [];
    const run = pipeline(Readable.from([hourly]), fernetDecryptStream({ key: wrongKey, label: 'hourly' }), new Writable({
      write(chunk: Buffer, _e, done) {
        seen.push(chunk);
        done();
      },
    }));
    await expect(run).rejects.toMatchObject({ code: 'ARCHIVE_VERIFY_FAILED' });
  });
});
