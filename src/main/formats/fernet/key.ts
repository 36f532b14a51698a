/**
 * Fernet keys: 32 bytes, the first half signs (HMAC-SHA256), the second encrypts (AES-128-CBC).
 * Apps that derive the key from a passphrase (PBKDF2) say how; the derivation is slow on
 * purpose, so callers derive once per job or keep the key in a per-installation session.
 */
import { createHash, pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { LifeboatError } from '../../../shared/errors';

const pbkdf2Async = promisify(pbkdf2);

/** A Fernet key split into its two halves. */
export interface FernetKey {
  signing: Buffer;
  encryption: Buffer;
}

/** How an app turns a passphrase into a Fernet key. */
export interface Pbkdf2Params {
  salt: string;
  iterations: number;
}

/** The key from 32 raw bytes (signing half first, as Fernet keys are laid out). */
function fernetKeyFromBytes(bytes: Buffer): FernetKey {
  if (bytes.length !== 32) throw new LifeboatError('INVALID_INPUT', `A Fernet key is 32 bytes, not ${bytes.length}.`);
  return { signing: Buffer.from(bytes.subarray(0, 16)), encryption: Buffer.from(bytes.subarray(16, 32)) };
}

/** PBKDF2-HMAC-SHA256 of the passphrase (its UTF-8 bytes, as typed: never hex-decoded) to a Fernet key, off the main thread. */
export async function deriveFernetKey(passphrase: string, params: Pbkdf2Params): Promise<FernetKey> {
  if (passphrase.length === 0) throw new LifeboatError('INVALID_INPUT', 'The encryption passphrase is empty.');
  const bytes = await pbkdf2Async(Buffer.from(passphrase, 'utf8'), Buffer.from(params.salt, 'utf8'), params.iterations, 32, 'sha256');
  return fernetKeyFromBytes(bytes);
}

/** A short, non-secret name for a key (first 8 hex digits of SHA-256 over both halves), for logs. */
export function fernetKeyId(key: FernetKey): string {
  return createHash('sha256').update(key.signing).update(key.encryption).digest('hex').slice(0, 8);
}

/** Overwrites both halves (when a session holding the key ends). */
export function wipeFernetKey(key: FernetKey): void {
  key.signing.fill(0);
  key.encryption.fill(0);
}
