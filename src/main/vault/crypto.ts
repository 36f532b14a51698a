/**
 * restic's encryption: AES-256-CTR + Poly1305-AES (spec §2), key files with scrypt (§3).
 * Every encrypted object is `IV(16) ‖ AES-256-CTR(plaintext) ‖ MAC(16)`; the MAC is Poly1305 over
 * the ciphertext with the one-time key `r ‖ AES-128(mac.k, IV)`.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';
import os from 'node:os';
import { LifeboatError } from '../../shared/errors';
import { formatGoTime } from './go-encoding';
import { poly1305Tag } from './poly1305';

/** Bytes added to every encrypted object: 16 IV + 16 MAC. */
export const CRYPTO_OVERHEAD = 32;

/** One restic crypto key: AES-256 key plus the two Poly1305-AES halves. */
export interface RepoKey {
  encrypt: Buffer;
  macK: Buffer;
  macR: Buffer;
}

/** Draws a fresh random key (used for a new repository's master key). */
export function randomKey(): RepoKey {
  const raw = randomBytes(64);
  return { encrypt: raw.subarray(0, 32), macK: raw.subarray(32, 48), macR: raw.subarray(48, 64) };
}

/** Computes the Poly1305-AES tag of `ciphertext` for nonce `iv` (restic's MAC). */
export function computeMac(key: RepoKey, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const ecb = createCipheriv('aes-128-ecb', key.macK, null);
  ecb.setAutoPadding(false);
  const s = ecb.update(iv);
  const oneTime = new Uint8Array(32);
  // poly1305Tag clamps r itself (RFC 8439), so an unclamped r stored by restic >= 0.17 gives the same tag.
  oneTime.set(key.macR, 0);
  oneTime.set(s, 16);
  return poly1305Tag(ciphertext, oneTime);
}

/** Encrypts and authenticates `plaintext`; returns `IV ‖ ciphertext ‖ MAC` in one buffer. */
export function seal(key: RepoKey, plaintext: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(plaintext.length + CRYPTO_OVERHEAD);
  sealInto(key, plaintext, out, 0);
  return out;
}

/** Bytes encrypted per cipher call in sealInto. */
const CTR_SLICE = 256 * 1024;

/**
 * Writes `IV ‖ ciphertext ‖ MAC` of `plaintext` into `target` at `at`; returns the bytes written.
 * `plaintext` may already lie where its ciphertext goes (`target` at `at + 16`): it is then sealed
 * in place, each slice read before it is overwritten.
 */
export function sealInto(key: RepoKey, plaintext: Uint8Array, target: Buffer, at: number): number {
  const iv = randomBytes(16);
  iv.copy(target, at);
  const ctr = createCipheriv('aes-256-ctr', key.encrypt, iv);
  const ct = target.subarray(at + 16, at + 16 + plaintext.length);
  // CTR mode never buffers, so update() returns exactly as many bytes as it gets. Slices keep
  // its temporary output small and short-lived.
  for (let from = 0; from < plaintext.length; from += CTR_SLICE) {
    ctr.update(plaintext.subarray(from, Math.min(plaintext.length, from + CTR_SLICE))).copy(ct, from);
  }
  target.set(computeMac(key, iv, ct), at + 16 + plaintext.length);
  return plaintext.length + CRYPTO_OVERHEAD;
}

/** Verifies the MAC and decrypts; returns null when the MAC does not match (wrong key or damaged bytes). */
export function tryOpen(key: RepoKey, sealed: Uint8Array): Buffer | null {
  if (sealed.length < CRYPTO_OVERHEAD) return null;
  const iv = sealed.subarray(0, 16);
  if (iv.every((b) => b === 0)) return null; // restic refuses an all-zero nonce
  const ct = sealed.subarray(16, sealed.length - 16);
  const mac = sealed.subarray(sealed.length - 16);
  const expected = computeMac(key, iv, ct);
  if (!timingSafeEqual(expected, mac)) return null;
  const ctr = createDecipheriv('aes-256-ctr', key.encrypt, iv);
  return ctr.update(ct);
}

/** Verifies and decrypts, throwing VAULT_CORRUPT naming `what` when the MAC fails. */
export function open(key: RepoKey, sealed: Uint8Array, what: string): Buffer {
  const plain = tryOpen(key, sealed);
  if (!plain) throw new LifeboatError('VAULT_CORRUPT', `${what} failed its integrity check (MAC mismatch): the stored bytes are damaged.`);
  return plain;
}

/** scrypt parameters as stored in a key file. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** restic's calibration lands on N=32768, r=8 (60 MiB budget); p=4 keeps opening under ~0.5 s here. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 32768, r: 8, p: 4 };

/** Derives the 64-byte user key from a password (UTF-8, no normalisation, like restic). */
export async function deriveUserKey(password: string, salt: Buffer, params: ScryptParams): Promise<RepoKey> {
  const { N, r, p } = params;
  if (!(N > 1) || N % 2 !== 0 || r < 1 || p < 1 || r * p >= 2 ** 30 || N > 2 ** 31 / 128 / r) {
    throw new LifeboatError('VAULT_CORRUPT', `The key file has invalid scrypt parameters (N=${N}, r=${r}, p=${p}).`);
  }
  // Node's default maxmem (32 MiB) is just too small for restic's N=32768, r=8.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 16 * 1024 * 1024 };
  const dk = await new Promise<Buffer>((resolve, reject) => {
    scryptCb(Buffer.from(password, 'utf8'), salt, 64, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
  return { encrypt: dk.subarray(0, 32), macK: dk.subarray(32, 48), macR: dk.subarray(48, 64) };
}

/** The master key as restic stores it inside a key file. */
export function encodeMasterKey(key: RepoKey): Buffer {
  return Buffer.from(
    JSON.stringify({ mac: { k: key.macK.toString('base64'), r: key.macR.toString('base64') }, encrypt: key.encrypt.toString('base64') }),
  );
}

/** Parses and validates master key JSON. */
export function decodeMasterKey(json: Buffer): RepoKey {
  const parsed = JSON.parse(json.toString('utf8')) as { mac?: { k?: string; r?: string }; encrypt?: string };
  const key: RepoKey = {
    encrypt: Buffer.from(parsed.encrypt ?? '', 'base64'),
    macK: Buffer.from(parsed.mac?.k ?? '', 'base64'),
    macR: Buffer.from(parsed.mac?.r ?? '', 'base64'),
  };
  const allZero = (b: Buffer): boolean => b.every((x) => x === 0);
  if (key.encrypt.length !== 32 || key.macK.length !== 16 || key.macR.length !== 16 || allZero(key.encrypt) || allZero(key.macK) || allZero(key.macR)) {
    throw new LifeboatError('VAULT_CORRUPT', 'The master key stored in the key file is malformed.');
  }
  return key;
}

/** The JSON of a key file (spec §3). */
export interface KeyFile {
  created: string;
  username: string;
  hostname: string;
  kdf: string;
  N: number;
  r: number;
  p: number;
  salt: string;
  data: string;
}

/** Makes a key file that wraps `master` with `password`; returns its exact bytes (name = sha256 of them). */
export async function createKeyFile(master: RepoKey, password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<Buffer> {
  const salt = randomBytes(64);
  const user = await deriveUserKey(password, salt, params);
  const file: KeyFile = {
    created: formatGoTime(new Date()),
    username: os.userInfo().username,
    hostname: os.hostname(),
    kdf: 'scrypt',
    N: params.N,
    r: params.r,
    p: params.p,
    salt: salt.toString('base64'),
    data: seal(user, encodeMasterKey(master)).toString('base64'),
  };
  return Buffer.from(JSON.stringify(file));
}

/** Parses a key file; throws VAULT_CORRUPT naming `name` if it is not one. */
export function parseKeyFile(bytes: Buffer, name: string): KeyFile {
  let parsed: Partial<KeyFile>;
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as Partial<KeyFile>;
  } catch (error) {
    throw new LifeboatError('VAULT_CORRUPT', `Key file ${name.slice(0, 8)} is not valid JSON.`, { cause: error });
  }
  if (parsed.kdf !== 'scrypt') {
    throw new LifeboatError('VAULT_CORRUPT', `Key file ${name.slice(0, 8)} uses the unsupported key derivation "${String(parsed.kdf)}" (only scrypt exists).`);
  }
  if (typeof parsed.N !== 'number' || typeof parsed.r !== 'number' || typeof parsed.p !== 'number' || typeof parsed.salt !== 'string' || typeof parsed.data !== 'string') {
    throw new LifeboatError('VAULT_CORRUPT', `Key file ${name.slice(0, 8)} lacks its scrypt parameters, salt or data.`);
  }
  return parsed as KeyFile;
}

/** Tries `password` on a key file: the master key, or null when the password does not fit. */
export async function unlockKeyFile(file: KeyFile, password: string): Promise<RepoKey | null> {
  const salt = Buffer.from(file.salt, 'base64');
  if (salt.length !== 64) throw new LifeboatError('VAULT_CORRUPT', `A key file has a ${salt.length}-byte salt; restic key files have 64.`);
  const user = await deriveUserKey(password, salt, { N: file.N, r: file.r, p: file.p });
  const plain = tryOpen(user, Buffer.from(file.data, 'base64'));
  return plain ? decodeMasterKey(plain) : null;
}
