// Issue 17 item 11: a server that echoes the API token back in an error body, lower-cased and in
// halves, leaves nothing of it in the job history (jobs.jsonl) that the connection test writes.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { makeTestHome } from '../harness/home';
import { makeCertDir, makeSelfSignedCert, removeCertDir, startHttpsServer, type TestServer } from '../harness/tls';

const TOKEN = 'Ws_AbCdEfGh0123IjKlMnOp4567QrStUvWxYz89';
let certDir: string;
let server: TestServer;
let core: Core;
let home: string;
let certSha256: string;
const seenAuthorization: string[] = [];

beforeAll(async () => {
  certDir = await makeCertDir();
  const cert = await makeSelfSignedCert(certDir);
  server = await startHttpsServer(cert, (req, res) => {
    const auth = req.headers.authorization ?? '';
    seenAuthorization.push(auth);
    const token = auth.replace(/^Bearer /, '');
    const half = token.slice(0, token.length / 2);
    const rest = token.slice(token.length / 2);
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: `unknown token ${token.toLowerCase()}`, hint: `starts ${half}, ends ${rest.toUpperCase()}`, raw: auth.toLowerCase() }));
  });
  home = makeTestHome('redaction');
  core = await createCore({ home, secretStore: new MemorySecretStore('redaction test') });
  certSha256 = cert.sha256;
});

afterAll(async () => {
  await core?.close();
  await server?.close();
  if (certDir) await removeCertDir(certDir);
});

describe('secrets echoed by a server', () => {
  it('never reach jobs.jsonl, in any case or in part', async () => {
    const client = createInProcessClient(core);
    const installation = await client.call('installations:add', {
      name: 'Echoing Weavestream',
      app: 'weavestream',
      https: { baseUrl: server.url, auth: 'bearer', pinnedCertSha256: certSha256 },
      settings: {},
      secrets: { 'api-token': TOKEN },
    });
    const { jobId } = await client.call('installations:test', { id: installation.id });
    const job = await core.jobs.wait(jobId);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('HTTP_STATUS');
    // The server did see the token (so it had something to echo).
    expect(seenAuthorization).toContain(`Bearer ${TOKEN}`);
    const history = await readFile(path.join(home, 'jobs.jsonl'), 'utf8');
    expect(history).toContain(jobId);
    expect(history).toContain('[redacted]');
    const folded = history.toLowerCase();
    for (let i = 0; i + 8 <= TOKEN.length; i++) expect(folded, TOKEN.slice(i, i + 8)).not.toContain(TOKEN.slice(i, i + 8).toLowerCase());
  });
});
