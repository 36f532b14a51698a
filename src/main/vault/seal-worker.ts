/**
 * Worker thread body for SealPool. For each chunk it receives, in order: adds it to the SHA-256
 * (and, when asked, the MD5) of the whole stream, computes its blob id (SHA-256 of the chunk) and seals it (AES-256-CTR +
 * Poly1305-AES) in place, in the same buffer, which goes back to the pool (transferred, never copied).
 * Built as its own esbuild entry (dist/main/seal-worker.js); source runs load it through tsx.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { sealInto } from './crypto';
import type { RepoKey } from './crypto';
import { SEAL_IV_BYTES } from './seal-protocol';
import type { SealReply, SealRequest, SealWorkerData } from './seal-protocol';

const { key, md5: keepMd5 } = workerData as SealWorkerData<RepoKey>;
const port = parentPort;
if (!port) throw new Error('seal-worker must run as a worker thread.');
const whole = createHash('sha256');
const wholeMd5 = keepMd5 ? createHash('md5') : null;
port.on('message', (request: SealRequest) => {
  if (!request.buffer) {
    const reply: SealReply = { seq: request.seq, id: whole.digest('hex'), buffer: null, ...(wholeMd5 ? { md5: wholeMd5.digest('hex') } : {}) };
    port.postMessage(reply);
    return;
  }
  const target = Buffer.from(request.buffer);
  const plaintext = target.subarray(SEAL_IV_BYTES, SEAL_IV_BYTES + request.length);
  whole.update(plaintext);
  wholeMd5?.update(plaintext);
  const id = createHash('sha256').update(plaintext).digest('hex');
  sealInto(key, plaintext, target, 0);
  const reply: SealReply = { seq: request.seq, id, buffer: request.buffer };
  port.postMessage(reply, [request.buffer]);
});
