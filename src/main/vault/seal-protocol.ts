/** Messages between SealPool and its seal worker, and the framing both sides share. */

/** What a seal worker starts with: the repository key, and whether it also keeps the stream's MD5. */
export interface SealWorkerData<K> {
  key: K;
  md5: boolean;
}

/**
 * A chunk to hash and seal in place (`buffer` set), or a request for the digest of every chunk so
 * far. The chunk's plaintext is `length` bytes at `SEAL_IV_BYTES` into `buffer`; the sealed blob
 * (`IV ‖ ciphertext ‖ MAC`) takes its place, from byte 0 to `length + CRYPTO_OVERHEAD`.
 */
export interface SealRequest {
  seq: number;
  buffer: ArrayBuffer | null;
  length: number;
}

/**
 * A chunk's blob id and its buffer, now holding the sealed blob at its start, or (`buffer` null)
 * the stream's SHA-256 in `id` and, when the worker keeps one, its MD5 in `md5`.
 */
export interface SealReply {
  seq: number;
  id: string;
  buffer: ArrayBuffer | null;
  md5?: string;
}

/** Bytes before a chunk's plaintext in its buffer: the IV goes there. */
export const SEAL_IV_BYTES = 16;