/**
 * Streaming AES-256-GCM decryption of DBackup's whole-file format (spec dbackup.md §2.3, §3.1):
 * the file is raw ciphertext, no header; the 16-byte IV and the 16-byte tag come from the
 * sidecar; the master key is used directly. Plaintext flows out as it is decrypted, but is
 * untrusted until the tag is checked after the last byte (`_flush`): a caller that acts on the
 * bytes (a restore) must read to the end first. The first KiB is judged as DBackup does to tell a
 * wrong key (fails early when the compression makes that certain) from a damaged file.
 */
import { createDecipheriv, type DecipherGCM } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { LifeboatError } from '../../../shared/errors';
import { finishDecipher, wrongKeyError, type KeyRef } from './errors';
import { HEAD_BYTES, judgeHead, type HeadVerdict, type PayloadCompression } from './head';

/** The key, IV and tag of one whole-file backup. */
export interface WholeFileSecrets {
  /** The Encryption Profile master key: 32 bytes. */
  key: Buffer;
  /** 16 bytes, from the sidecar. */
  iv: Buffer;
  /** 16 bytes, from the sidecar. */
  authTag: Buffer;
}

/** Options of the decipher. */
export interface DecipherOptions {
  /** How the plaintext is compressed, for the wrong-key test on its head. */
  compression: PayloadCompression;
  /** The file, for messages. */
  label: string;
  /** Where the key came from, named in a wrong-key error. */
  keyRef?: KeyRef;
}

const KEY_BYTES = 32;
const IV_BYTES = 16;
const TAG_BYTES = 16;

/** Refuses keys, IVs and tags of the wrong length before any byte is read. */
function checkSecrets(secrets: WholeFileSecrets, label: string): void {
  const wrong = (what: string, got: number, want: number): never => {
    throw new LifeboatError('ARCHIVE_INVALID', `${label}: the ${what} is ${got} bytes; DBackup's AES-256-GCM uses ${want}.`, { details: { reason: 'corrupt', field: what } });
  };
  if (secrets.key.length !== KEY_BYTES) {
    throw new LifeboatError('INVALID_INPUT', `An Encryption Profile master key is ${KEY_BYTES} bytes (64 hex digits); this one is ${secrets.key.length}.`, { details: { field: 'key' } });
  }
  if (secrets.iv.length !== IV_BYTES) wrong('IV', secrets.iv.length, IV_BYTES);
  if (secrets.authTag.length !== TAG_BYTES) wrong('authentication tag', secrets.authTag.length, TAG_BYTES);
}

/** A Transform from ciphertext to (untrusted until the end) plaintext; errors are the typed ones of errors.ts. */
export class WholeFileDecipher extends Transform {
  private readonly decipher: DecipherGCM;
  private head: Buffer[] = [];
  private headBytes = 0;
  private verdict: HeadVerdict | null = null;
  /** True once the tag was checked and matched; false when it failed; null before the end. */
  authenticated: boolean | null = null;

  constructor(secrets: WholeFileSecrets, private readonly options: DecipherOptions) {
    super();
    checkSecrets(secrets, options.label);
    // authTagLength pins the tag size: Node would otherwise accept a truncated tag.
    this.decipher = createDecipheriv('aes-256-gcm', secrets.key, secrets.iv, { authTagLength: TAG_BYTES });
    this.decipher.setAuthTag(secrets.authTag);
  }

  /** What the head test said (after the first KiB, or at the end for a shorter payload). */
  get headVerdict(): HeadVerdict | null {
    return this.verdict;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const out = this.decipher.update(chunk);
    if (this.verdict === null) {
      this.head.push(out);
      this.headBytes += out.length;
      if (this.headBytes >= HEAD_BYTES) {
        const failure = this.judge();
        if (failure) return done(failure);
      }
    }
    done(null, out);
  }

  override _flush(done: TransformCallback): void {
    if (this.verdict === null) {
      const failure = this.judge();
      if (failure) return done(failure);
    }
    const end = finishDecipher(this.decipher, this.verdict, this.options, {
      wrongKey: (what) => `the authentication tag does not match and the plaintext is ${what}`,
      corrupt: (what) => `the AES-GCM authentication tag does not match (the file was changed or cut after it was written, or its sidecar belongs to another file); the plaintext began as ${what ?? 'nothing'}`,
    });
    if ('error' in end) {
      this.authenticated = false;
      return done(end.error);
    }
    this.authenticated = true;
    done(null, end.rest);
  }

  /** Judges the head; a wrong key is reported at once when the compression makes it certain. */
  private judge(): LifeboatError | null {
    const verdict = judgeHead(Buffer.concat(this.head), this.options.compression);
    this.verdict = verdict;
    this.head = [];
    if (!verdict.plausible && verdict.confident) {
      this.authenticated = false;
      return wrongKeyError(this.options.label, `its first bytes decrypt to ${verdict.what}, where the ${this.options.compression} stream the sidecar announces should begin`, this.options.keyRef);
    }
    return null;
  }
}
