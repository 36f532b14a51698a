/** Messages between SealPool and its seal worker, and the one helper both sides need. */

/** What a seal worker starts with: the repository key, and whether it also keeps the stream's MD5. */
export interface SealWorkerData<K> {
  key: K;
  md5: boolean;
}

/** A chunk to hash and seal (`plaintext` set), or a request for the digest of every chunk so far. */
export interface SealRequest {
  seq: number;
  plaintext: Uint8Array<ArrayBuffer> | null;
}

/**
 * A chunk's blob id and its sealed bytes (`IV ‖ ciphertext ‖ MAC`), or (`sealed` null) the
 * stream's SHA-256 in `id` and, when the worker keeps one, its MD5 in `md5`.
 */
export interface SealReply {
  seq: number;
  id: string;
  sealed: Uint8Array<ArrayBuffer> | null;
  md5?: string;
}

/**
 * Returns `bytes` if they span their whole ArrayBuffer (so it can be transferred), else a copy
 * that does: small Buffers live in Node's shared pool, and transferring that would detach it.
 */
export function ownedBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (bytes.byteOffset === 0 && bytes.buffer instanceof ArrayBuffer && bytes.buffer.byteLength === bytes.length) {
    return bytes as Uint8Array<ArrayBuffer>;
  }
  return new Uint8Array(bytes);
}
