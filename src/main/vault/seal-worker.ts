/**
 * Worker thread body for SealPool. For each chunk it receives, in order: adds it to the SHA-256
 * (and, when asked, the MD5) of the whole stream, computes its blob id (SHA-256 of the chunk) and seals it (AES-256-CTR +
 * Poly1305-AES), and sends id and sealed bytes back. Built as its own esbuild entry
 * (dist/main/seal-worker.js); source runs load it through tsx.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { seal } from './crypto';
import type { RepoKey } from './crypto';
import { ownedBytes } from './seal-protocol';
import type { SealReply, SealRequest, SealWorkerData } from './seal-protocol';

const { key, md5: keepMd5 } = workerData as SealWorkerData<RepoKey>;
const port = parentPort;
if (!port) throw new Error('seal-worker must run as a worker thread.');
const whole = createHash('sha256');
const wholeMd5 = keepMd5 ? createHash('md5') : null;
port.on('message', (request: SealRequest) => {
  if (!request.plaintext) {
    const reply: SealReply = { seq: request.seq, id: whole.digest('hex'), sealed: null, ...(wholeMd5 ? { md5: wholeMd5.digest('hex') } : {}) };
    port.postMessage(reply);
    return;
  }
  whole.update(request.plaintext);
  wholeMd5?.update(request.plaintext);
  const id = createHash('sha256').update(request.plaintext).digest('hex');
  const sealed = ownedBytes(seal(key, request.plaintext));
  const reply: SealReply = { seq: request.seq, id, sealed };
  port.postMessage(reply, [sealed.buffer]);
});
