import type { DecipherGCM } from 'node:crypto';
/**
 * The typed failures of reading an encrypted, compressed backup. DBackup tells a wrong key from a
 * damaged file by what the first KiB of plaintext looks like (a GCM tag is only checked at the
 * end); Lifeboat keeps the same three apart, each with its own code and `details.reason`.
 */
import { LifeboatError } from '../../../shared/errors';

/** Why a whole-file backup could not be read; the `details.reason` of the error. */
export type PayloadFailure = 'wrong-key' | 'corrupt' | 'no-sidecar' | 'decompression-bomb' | 'bad-compression';

/** Which keychain slot a key came from, so a wrong-key error can name it (and the UI ask again). */
export interface KeyRef {
  slot: string;
  label: string;
}

/** The key does not fit: KEY_REQUIRED (the operator must give another), `reason: 'wrong-key'`. */
export function wrongKeyError(label: string, why: string, key?: KeyRef): LifeboatError {
  return new LifeboatError('KEY_REQUIRED', `${label}: the key does not decrypt this file (${why}). Enter the right key for this encryption profile.`, {
    details: { reason: 'wrong-key' satisfies PayloadFailure, ...(key ? { slot: key.slot, label: key.label } : {}) },
  });
}

/** The key fits but the bytes were changed or cut: ARCHIVE_INVALID, `reason: 'corrupt'`. */
export function corruptError(label: string, why: string): LifeboatError {
  return new LifeboatError('ARCHIVE_INVALID', `${label} is damaged: ${why}. Nothing read from it can be trusted.`, {
    details: { reason: 'corrupt' satisfies PayloadFailure },
  });
}

/** An encrypted file whose IV and tag are unknown (they live only in its sidecar): ARCHIVE_INVALID, `reason: 'no-sidecar'`. */
export function noSidecarError(label: string, sidecarName: string, why = 'it is missing'): LifeboatError {
  return new LifeboatError('ARCHIVE_INVALID', `${label} cannot be decrypted: its IV and authentication tag live only in ${sidecarName}, and ${why}.`, {
    details: { reason: 'no-sidecar' satisfies PayloadFailure, sidecar: sidecarName },
  });
}

/** Decompression went past a cap: ARCHIVE_INVALID, `reason: 'decompression-bomb'`. */
export function bombError(label: string, why: string, limit: number): LifeboatError {
  return new LifeboatError('ARCHIVE_INVALID', `${label} unpacks to too much: ${why}. Lifeboat stopped reading it (a decompression bomb, or a cap too low for this backup).`, {
    details: { reason: 'decompression-bomb' satisfies PayloadFailure, limit },
  });
}

/** A compressed stream that does not decompress: ARCHIVE_INVALID, `reason: 'bad-compression'`. */
export function badCompressionError(label: string, kind: string, cause: unknown): LifeboatError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new LifeboatError('ARCHIVE_INVALID', `${label} is not a complete ${kind} stream: ${message}.`, {
    details: { reason: 'bad-compression' satisfies PayloadFailure },
    cause,
  });
}

/** What a tag mismatch is called, given what the head decrypted to (see `HeadVerdict`). */
export interface TagMismatchWords {
  /** When the head already looked like no plaintext this file could have: the key is wrong. */
  wrongKey: (what: string) => string;
  corrupt: (what: string | null) => string;
}

/**
 * Ends a GCM decipher: the last plaintext, or the typed error a tag mismatch means — "wrong key"
 * when the head was implausible, else "corrupt".
 */
export function finishDecipher(
  decipher: DecipherGCM,
  verdict: { plausible: boolean; what: string } | null,
  options: { label: string; keyRef?: KeyRef },
  words: TagMismatchWords,
): { rest: Buffer } | { error: LifeboatError } {
  try {
    return { rest: decipher.final() };
  } catch {
    return {
      error: verdict?.plausible === false ? wrongKeyError(options.label, words.wrongKey(verdict.what), options.keyRef) : corruptError(options.label, words.corrupt(verdict?.what ?? null)),
    };
  }
}
