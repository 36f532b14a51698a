/**
 * Writing one Fernet token as a stream: what Python's `Fernet(key).encrypt(data)` returns for the
 * same bytes (version 0x80, the current time, a random IV, AES-128-CBC with PKCS#7, HMAC-SHA256
 * over all of it, base64url with "=" padding, no newline), without holding the data in memory.
 */
import { createCipheriv, createHmac, randomBytes, type Cipher, type Hmac } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { FernetKey } from './key';
import { FERNET_VERSION } from './token';

/** Base64url of bytes as they come, three at a time, padded at the end as Fernet pads. */
class Base64UrlStreamEncoder {
  private rest: Buffer = Buffer.alloc(0);

  write(bytes: Buffer): string {
    const joined = this.rest.length > 0 ? Buffer.concat([this.rest, bytes]) : bytes;
    const whole = joined.length - (joined.length % 3);
    this.rest = Buffer.from(joined.subarray(whole));
    return joined.subarray(0, whole).toString('base64url');
  }

  finish(): string {
    const text = this.rest.toString('base64url');
    return text.length === 0 ? '' : text.padEnd(4, '=');
  }
}

/** A Transform from plaintext to one Fernet token's text, timestamped now. */
export function fernetEncryptStream(key: FernetKey): Transform {
  const iv = randomBytes(16);
  const header = Buffer.alloc(25);
  header[0] = FERNET_VERSION;
  header.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), 1);
  iv.copy(header, 9);
  const cipher: Cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const hmac: Hmac = createHmac('sha256', key.signing);
  const encoder = new Base64UrlStreamEncoder();
  const sign = (bytes: Buffer): string => {
    hmac.update(bytes);
    return encoder.write(bytes);
  };
  let started = false;
  const start = (): string => {
    if (started) return '';
    started = true;
    return sign(header);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      const text = start() + sign(cipher.update(chunk));
      done(null, text.length > 0 ? Buffer.from(text, 'latin1') : undefined);
    },
    flush(done: TransformCallback) {
      const text = start() + sign(cipher.final()) + encoder.write(hmac.digest()) + encoder.finish();
      done(null, Buffer.from(text, 'latin1'));
    },
  });
}
