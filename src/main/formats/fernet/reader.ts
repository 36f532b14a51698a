/**
 * Reading one Fernet token as a stream of text: structure, timestamp, HMAC and (optionally)
 * AES-128-CBC decryption, in one pass and bounded memory whatever the token's length (a 1 GiB
 * dump is one line of base64).
 *
 * Why two passes for a restore: the HMAC covers the whole token and is known only after its last
 * byte, so plaintext that comes out while the token streams is unauthenticated. A preview may
 * decrypt while it verifies and throw away what it learnt when the HMAC fails; a restore must
 * not feed a byte to the database before the HMAC has passed, so it verifies first (one pass)
 * and decrypts in a second pass. (Holding the plaintext until the end instead would mean keeping
 * a whole dump in memory or in a plaintext file, which Lifeboat never writes.)
 */
import { createDecipheriv, createHmac, timingSafeEqual, type Decipher, type Hmac } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { LifeboatError } from '../../../shared/errors';
import { Base64UrlStreamDecoder } from './base64url';
import type { FernetKey } from './key';
import {
  FERNET_HEADER_BYTES,
  FERNET_HMAC_BYTES,
  FERNET_MIN_BYTES,
  FERNET_VERSION,
  fernetCorruptError,
  fernetHmacError,
  fernetTruncatedError,
} from './token';

/** Options of {@link FernetTokenReader}. */
export interface FernetReaderOptions {
  key: FernetKey;
  /** Decrypt as well (plaintext comes out of `write`, unauthenticated until `finish`). */
  decrypt: boolean;
  /** Names the token in messages (its file name). */
  label: string;
  /** The key has verified another token of the same source: an HMAC failure then means "altered". */
  keyVerifiedElsewhere?: boolean;
  /** Where the right key lives, for the wrong-key message. */
  keyHint?: string;
  /**
   * Whether the first 16 plaintext bytes are what this source's tokens hold (a dump's header):
   * checked whatever `decrypt` says (one AES block), so an HMAC failure with a recognised first
   * block reads "altered", not "wrong key".
   */
  recognizePlaintext?: (firstBlock: Buffer) => boolean;
}

/** A token that verified. */
export interface FernetTokenFacts {
  timestamp: Date;
  /** Bytes of text (the file's size). */
  textBytes: number;
  /** Bytes of the decoded token. */
  tokenBytes: number;
  /** Ciphertext bytes: the plaintext's length plus its 1–16 padding bytes. */
  ciphertextBytes: number;
}

/** How a token ended: its facts, or the typed error saying why it is bad. */
export type FernetOutcome = { ok: true; facts: FernetTokenFacts; plaintextTail: Buffer } | { ok: false; error: LifeboatError };

/** One token, fed chunk by chunk; never throws for bad input (see `failure`). */
export class FernetTokenReader {
  private readonly decoder = new Base64UrlStreamDecoder();
  private readonly hmac: Hmac;
  private decipher: Decipher | null = null;
  /** The first 25 decoded bytes (version, timestamp, IV), for the decipher's IV. */
  private readonly header = Buffer.alloc(FERNET_HEADER_BYTES);
  /** Decoded bytes seen (including the held-back tail). */
  private decoded = 0;
  /** Bytes passed to the HMAC so far. */
  private signed = 0;
  /** The last ≤ 32 decoded bytes: the HMAC if the token ends here. */
  private tail: Buffer = Buffer.alloc(0);
  private textBytes = 0;
  private time: Date | null = null;
  private error: LifeboatError | null = null;
  /** The first cipher block, while it is being collected; then whether it was recognised. */
  private firstBlock: Buffer = Buffer.alloc(0);
  private recognized = false;

  constructor(private readonly options: FernetReaderOptions) {
    this.hmac = createHmac('sha256', options.key.signing);
  }

  /** The first problem found; once set, further input is ignored. */
  get failure(): LifeboatError | null {
    return this.error;
  }

  /** The token's timestamp, once its first 12 characters have arrived. */
  get timestamp(): Date | null {
    return this.time;
  }

  /** Feeds text; returns plaintext chunks when decrypting (NOT authenticated until `finish` says ok). */
  write(chunk: Buffer): Buffer[] {
    if (this.error) return [];
    this.textBytes += chunk.length;
    const bytes = this.decoder.write(chunk);
    const problem = this.decoder.failure;
    if (problem) {
      this.fail(problem.kind === 'corrupt' ? fernetCorruptError(this.options.label, problem.what, problem.offset) : fernetTruncatedError(this.options.label, problem.what, this.textBytes));
      return [];
    }
    return this.take(bytes);
  }

  /** After the last chunk: the facts and the last plaintext, or why the token is bad. */
  finish(): FernetOutcome {
    if (this.error) return { ok: false, error: this.error };
    const last = this.decoder.finish();
    if (last.problem) {
      const { label } = this.options;
      return this.failed(last.problem.kind === 'corrupt' ? fernetCorruptError(label, last.problem.what, last.problem.offset) : fernetTruncatedError(label, last.problem.what, this.textBytes));
    }
    const early = this.take(last.bytes);
    if (this.error) return { ok: false, error: this.error };
    const structure = this.structureProblem();
    if (structure) return this.failed(structure);

    const expected = this.hmac.digest();
    if (!timingSafeEqual(expected, this.tail)) {
      const evidence = this.options.keyVerifiedElsewhere ? 'other-backup' : this.recognized ? 'plaintext' : null;
      return this.failed(fernetHmacError(this.options.label, { evidence, ...(this.options.keyHint ? { hint: this.options.keyHint } : {}) }));
    }
    let plaintextTail = Buffer.concat(early);
    if (this.decipher) {
      try {
        plaintextTail = Buffer.concat([plaintextTail, this.decipher.final()]);
      } catch {
        // The HMAC passed, so the key is right and the bytes are as written: the writer was not Fernet.
        return this.failed(fernetCorruptError(this.options.label, 'the HMAC is valid but the PKCS#7 padding of the last block is not', this.textBytes));
      }
    }
    const ciphertextBytes = this.decoded - FERNET_HEADER_BYTES - FERNET_HMAC_BYTES;
    return { ok: true, facts: { timestamp: this.time!, textBytes: this.textBytes, tokenBytes: this.decoded, ciphertextBytes }, plaintextTail };
  }

  /** Routes decoded bytes: the last 32 are held back, the rest are signed (and deciphered after the header). */
  private take(bytes: Buffer): Buffer[] {
    if (bytes.length === 0) return [];
    if (this.decoded === 0 && bytes[0] !== FERNET_VERSION) {
      this.fail(fernetCorruptError(this.options.label, `the version byte is 0x${bytes[0]!.toString(16).padStart(2, '0')} (Fernet has only 0x80)`, 0));
      return [];
    }
    const before = this.decoded;
    this.decoded += bytes.length;
    if (this.time === null && this.decoded >= 9) {
      const head = before >= 9 ? null : Buffer.concat([this.tail, bytes]).subarray(0, 9);
      if (head) this.time = new Date(Number(head.readBigUInt64BE(1)) * 1000);
    }
    const joined = this.tail.length > 0 ? Buffer.concat([this.tail, bytes]) : bytes;
    const release = Math.max(0, joined.length - FERNET_HMAC_BYTES);
    const body = joined.subarray(0, release);
    this.tail = Buffer.from(joined.subarray(release));
    return this.sign(body);
  }

  private sign(body: Buffer): Buffer[] {
    if (body.length === 0) return [];
    this.hmac.update(body);
    const start = this.signed;
    this.signed += body.length;
    let cipherPart = body;
    if (start < FERNET_HEADER_BYTES) {
      const headerPart = body.subarray(0, FERNET_HEADER_BYTES - start);
      headerPart.copy(this.header, start);
      cipherPart = body.subarray(headerPart.length);
      if (this.signed >= FERNET_HEADER_BYTES && this.options.decrypt) {
        this.decipher = createDecipheriv('aes-128-cbc', this.options.key.encryption, this.header.subarray(9, 25));
      }
    }
    if (this.firstBlock.length < 16 && cipherPart.length > 0) this.checkFirstBlock(cipherPart);
    if (!this.decipher || cipherPart.length === 0) return [];
    const plain = this.decipher.update(cipherPart);
    return plain.length > 0 ? [plain] : [];
  }

  /** Collects the first cipher block and decrypts it alone (no padding), for the "altered, not wrong key" evidence. */
  private checkFirstBlock(cipherPart: Buffer): void {
    this.firstBlock = Buffer.concat([this.firstBlock, cipherPart.subarray(0, 16 - this.firstBlock.length)]);
    if (this.firstBlock.length < 16 || !this.options.recognizePlaintext) return;
    const one = createDecipheriv('aes-128-cbc', this.options.key.encryption, this.header.subarray(9, 25)).setAutoPadding(false);
    this.recognized = this.options.recognizePlaintext(one.update(this.firstBlock));
  }

  /** Length rules once the end is known: at least 57 bytes, whole cipher blocks. */
  private structureProblem(): LifeboatError | null {
    const { label } = this.options;
    const cipher = this.decoded - FERNET_HEADER_BYTES - FERNET_HMAC_BYTES;
    const problem =
      this.decoded === 0 ? 'the file is empty'
        : this.decoded < FERNET_MIN_BYTES ? `the token has ${this.decoded} bytes, and a Fernet token has at least ${FERNET_MIN_BYTES}`
          : cipher % 16 !== 0 ? `the ciphertext is ${cipher} bytes, not whole 16-byte AES blocks`
            : null;
    if (!problem) return null;
    // With "=" padding at its end the text ends where it was meant to: the length is damage, not a cut.
    return this.decoder.padded ? fernetCorruptError(label, problem, this.textBytes) : fernetTruncatedError(label, problem, this.textBytes);
  }

  private fail(error: LifeboatError): void {
    this.error ??= error;
    this.tail = Buffer.alloc(0);
  }

  private failed(error: LifeboatError): FernetOutcome {
    this.fail(error);
    return { ok: false, error };
  }
}

/**
 * A Transform from token text to plaintext. The plaintext is authenticated only when the stream
 * ends without an error: use it after a verifying pass (a restore), or discard what it produced
 * when it errors (a preview). `onFacts` gets the token's facts at the end.
 */
export function fernetDecryptStream(options: Omit<FernetReaderOptions, 'decrypt'> & { onFacts?: (facts: FernetTokenFacts) => void }): Transform {
  const reader = new FernetTokenReader({ ...options, decrypt: true });
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      for (const plain of reader.write(chunk)) this.push(plain);
      done(reader.failure ?? undefined);
    },
    flush(done: TransformCallback) {
      const outcome = reader.finish();
      if (!outcome.ok) {
        done(outcome.error);
        return;
      }
      options.onFacts?.(outcome.facts);
      done(null, outcome.plaintextTail.length > 0 ? outcome.plaintextTail : undefined);
    },
  });
}
