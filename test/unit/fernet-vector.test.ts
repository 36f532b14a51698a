// The streaming encryptor reproduces the deterministic Loomio vector byte for byte when its clock
// and IV are the vector's (node:crypto's randomBytes and the clock are faked here, not in src), and
// Python's cryptography (what the stack's backup.py uses) reads what it writes.
import { execFileSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as NodeCrypto from 'node:crypto';

const fixedIv = vi.hoisted(() => ({ value: null as Buffer | null }));
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof NodeCrypto>();
  return { ...original, randomBytes: (n: number) => (fixedIv.value && n === 16 ? Buffer.from(fixedIv.value) : original.randomBytes(n)) };
});

const { deriveFernetKey, fernetEncryptStream } = await import('../../src/main/formats/fernet');
const { LOOMIO_SAMPLES } = await import('../fleet/loomio/samples');

const { vector } = LOOMIO_SAMPLES;

async function encrypt(data: Buffer[], passphrase: string): Promise<string> {
  const key = await deriveFernetKey(passphrase, LOOMIO_SAMPLES.kdf);
  const out: Buffer[] = [];
  await pipeline(Readable.from(data), fernetEncryptStream(key), new Writable({
    write(chunk: Buffer, _e, done) {
      out.push(chunk);
      done();
    },
  }));
  return Buffer.concat(out).toString('latin1');
}

function pythonHasCryptography(): boolean {
  try {
    execFileSync('python3', ['-c', 'import cryptography.fernet'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

afterEach(() => {
  fixedIv.value = null;
  vi.useRealTimers();
});

describe('Fernet encryption, deterministic', () => {
  it('reproduces fernet-vector.token with its timestamp and IV', async () => {
    fixedIv.value = Buffer.from(vector.iv_hex, 'hex');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(vector.timestamp_unix * 1000);
    const text = Buffer.from(vector.plaintext_utf8);
    const token = await encrypt([text.subarray(0, 5), text.subarray(5)], vector.passphrase_BACKUP_ENCRYPTION_KEY);
    expect(token).toBe(vector.token_base64url);
    expect(token).toBe(LOOMIO_SAMPLES.vectorToken);
  });

  it.skipIf(!pythonHasCryptography())('Python cryptography.fernet decrypts what Lifeboat encrypts (the stack derives the key the same way)', async () => {
    const dump = LOOMIO_SAMPLES.plaintext;
    const token = await encrypt([dump], vector.passphrase_BACKUP_ENCRYPTION_KEY);
    const script = [
      'import base64, hashlib, sys',
      'from cryptography.fernet import Fernet',
      `k = base64.urlsafe_b64encode(hashlib.pbkdf2_hmac('sha256', sys.argv[1].encode(), b'loomio-backup-salt', 100000, 32))`,
      'sys.stdout.buffer.write(Fernet(k).decrypt(sys.stdin.buffer.read()))',
    ].join('\n');
    const out = execFileSync('python3', ['-c', script, vector.passphrase_BACKUP_ENCRYPTION_KEY], { input: token });
    expect(out.equals(dump)).toBe(true);
  });
});
