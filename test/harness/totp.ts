// RFC 6238 TOTP (HMAC-SHA1, 30 s steps, 6 digits) as authenticator apps compute it, for the
// Weavestream fleet server (which verifies codes) and the tests (which type them).
import { createHmac, randomBytes } from 'node:crypto';

/** Seconds per TOTP step. */
export const TOTP_STEP_SECONDS = 30;

/** The HOTP value (RFC 4226) of `counter`, as `digits` decimal digits. */
export function hotp(secret: Buffer, counter: number, digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The TOTP step number of a time (ms since the epoch). */
export function totpCounter(timeMs: number = Date.now()): number {
  return Math.floor(timeMs / 1000 / TOTP_STEP_SECONDS);
}

/** The 6-digit TOTP code of `timeMs`, or of the step `stepOffset` steps after it (the next code is +1). */
export function totp(secret: Buffer, timeMs: number = Date.now(), stepOffset = 0): string {
  return hotp(secret, totpCounter(timeMs) + stepOffset);
}

/** A fresh 20-byte TOTP secret (what authenticator enrolment generates). */
export function newTotpSecret(): Buffer {
  return randomBytes(20);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding: how an otpauth:// URI carries the secret. */
export function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}
