/**
 * The Fernet token layout (fernet/spec Spec.md): base64url(version ‖ timestamp ‖ IV ‖ ciphertext ‖
 * HMAC), and the three ways a token can be bad, each with its own message: corrupt (bad
 * structure, with the offset), truncated, and an HMAC that does not match (wrong key or altered).
 */
import { createDecipheriv } from 'node:crypto';
import { LifeboatError } from '../../../shared/errors';
import type { FernetKey } from './key';

/** The only version byte the spec defines. */
export const FERNET_VERSION = 0x80;
/** Version (1) + timestamp (8) + IV (16). */
export const FERNET_HEADER_BYTES = 25;
/** HMAC-SHA256 at the end. */
export const FERNET_HMAC_BYTES = 32;
/** Header + one cipher block (PKCS#7 always pads) + HMAC. */
export const FERNET_MIN_BYTES = FERNET_HEADER_BYTES + 16 + FERNET_HMAC_BYTES;
/** Every token of this century starts so: 0x80 then the zero high bytes of the timestamp. */
export const FERNET_TEXT_PREFIX = 'gAAAAA';

/** What went wrong with a token, for callers that act on the kind rather than the words. */
export type FernetFailureKind = 'corrupt' | 'truncated' | 'wrong-key' | 'altered';

/** The token's creation time from its first 12 characters (no key needed), or null when they are not a Fernet token's start. */
export function readFernetTimestamp(head: Buffer): Date | null {
  const text = head.subarray(0, 12).toString('latin1');
  if (!/^[A-Za-z0-9_-]{12}$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  if (bytes[0] !== FERNET_VERSION) return null;
  return new Date(Number(bytes.readBigUInt64BE(1)) * 1000);
}

/**
 * The first 16 plaintext bytes of a token under `key`, from its first 56 characters (version,
 * timestamp, IV and the first cipher block), or null when they are not there. Unauthenticated:
 * only a cheap guess at whether this is the key (the HMAC needs the whole token).
 */
export function fernetFirstBlock(head: Buffer, key: FernetKey): Buffer | null {
  const text = head.subarray(0, 56).toString('latin1');
  if (!/^[A-Za-z0-9_-]{56}$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  if (bytes[0] !== FERNET_VERSION) return null;
  const decipher = createDecipheriv('aes-128-cbc', key.encryption, bytes.subarray(9, FERNET_HEADER_BYTES));
  decipher.setAutoPadding(false);
  return decipher.update(bytes.subarray(FERNET_HEADER_BYTES, FERNET_HEADER_BYTES + 16));
}

/** Whether text looks like the start of a Fernet token (version 0x80, base64url). */
export function looksLikeFernetText(head: Buffer): boolean {
  const text = head.subarray(0, 64).toString('latin1');
  return text.startsWith(FERNET_TEXT_PREFIX) && /^[A-Za-z0-9_-]+={0,2}\s*$/.test(text);
}

/** A token whose bytes are not a Fernet structure (bad character, version byte, length). */
export function fernetCorruptError(label: string, what: string, offset: number): LifeboatError {
  return new LifeboatError('ARCHIVE_INVALID', `${label} is not an intact Fernet token: ${what} at byte ${offset} of the file.`, { details: { fernet: 'corrupt', offset } });
}

/** A token that stops before its end. */
export function fernetTruncatedError(label: string, what: string, size: number): LifeboatError {
  return new LifeboatError('ARCHIVE_INVALID', `${label} is cut short: ${what}; the file ends after ${size} bytes (an interrupted copy or a full disk truncates a backup so).`, {
    details: { fernet: 'truncated', size },
  });
}

/** Why a key is believed right although an HMAC failed: it verified another token of the same source, or the token's first block decrypts to the plaintext expected. */
export type KeyEvidence = 'other-backup' | 'plaintext';

/**
 * An HMAC that does not match. Fernet cannot tell a wrong key from an altered file; with evidence
 * that the key is right, the file is the culprit. `hint` says where the right key lives.
 */
export function fernetHmacError(label: string, options: { evidence: KeyEvidence | null; hint?: string }): LifeboatError {
  const because = options.evidence === 'other-backup' ? 'the same key verifies other backups of this installation' : 'its first bytes decrypt to the expected text, so the key is right';
  const message = options.evidence
    ? `${label} fails its HMAC check although ${because}: the file was altered or damaged after it was written.`
    : `${label} fails its HMAC check with the key given: probably the wrong key${options.hint ? ` (${options.hint})` : ''}.`;
  return new LifeboatError('ARCHIVE_VERIFY_FAILED', message, { details: { fernet: options.evidence ? 'altered' : 'wrong-key', ...(options.evidence ? { evidence: options.evidence } : {}) } });
}
