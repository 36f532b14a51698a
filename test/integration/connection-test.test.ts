import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { startSshd, type TestSshd } from '../harness/sshd';
import { makeCertDir, makeSelfSignedCert, removeCertDir, startHttpsServer, type TestServer, type TestCert } from '../harness/tls';
import { makeTestHome } from '../harness/home';
import { testSecret } from '../harness/secrets';
import type { ConnectionTestReport } from '../../src/shared/contract/installations';
import type { InstallationStatus } from '../../src/shared/installations';

let core: Core;
let sshd: TestSshd;
let certDir: string;
let cert: TestCert;
let other: TestCert;
let https: TestServer;
let rotatedFingerprint: string;

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('conntest') });
  sshd = await startSshd({ passwordAuth: true });
  certDir = await makeCertDir();
  cert = await makeSelfSignedCert(certDir, 'server');
  other = await makeSelfSignedCert(certDir, 'other');
  https = await startHttpsServer(cert, (req, res) => {
    if (req.url === '/api/health') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', version: '4.15.1', databaseType: 'sqlite' }));
    } else {
      res.writeHead(404).end();
    }
  });
});

afterAll(async () => {
  await core?.close();
  await sshd?.stop();
  await https?.close();
  await removeCertDir(certDir);
});

async function runTest(id: string) {
  const client = createInProcessClient(core);
  const { jobId } = await client.call('installations:test', { id });
  return core.jobs.wait(jobId);
}

describe('Test connection', () => {
  it('asks to trust an unknown SSH host key, pins it, then goes online; a changed key is refused with both fingerprints', async () => {
    const client = createInProcessClient(core);
    const statuses: InstallationStatus[] = [];
    core.events.on('installation:status', (s) => statuses.push(s));
    const added = await client.call('installations:add', {
      name: 'weavestream ssh',
      app: 'weavestream',
      ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'password' },
      secrets: { 'ssh-password': sshd.password! },
    });
    const first = await runTest(added.id);
    expect(first.status).toBe('failed');
    expect(first.error?.code).toBe('SSH_HOST_KEY_UNKNOWN');
    expect(first.error?.details?.fingerprint).toBe(sshd.hostKeyFingerprint);
    expect(statuses.at(-1)?.state).toBe('host-key-untrusted');

    await client.call('installations:trust-host-key', { id: added.id, fingerprint: sshd.hostKeyFingerprint });
    const second = await runTest(added.id);
    expect(second.status, JSON.stringify(second.error)).toBe('succeeded');
    const report = second.result as ConnectionTestReport;
    expect(report.steps[0]!.detail).toMatch(/^SSH-2\.0-OpenSSH_9/);
    expect(report.steps[0]!.fingerprint?.sha256).toBe(sshd.hostKeyFingerprint);
    expect(statuses.at(-1)?.state).toBe('online');

    const pinned = sshd.hostKeyFingerprint;
    const rotated = await sshd.rotateHostKey();
    rotatedFingerprint = rotated;
    const third = await runTest(added.id);
    expect(third.error?.code).toBe('SSH_HOST_KEY_CHANGED');
    expect(third.error?.message).toContain(pinned);
    expect(third.error?.message).toContain(rotated);
    expect(third.error?.details).toMatchObject({ expected: pinned, presented: rotated });
  });

  it('reports a wrong SSH password as an auth failure', async () => {
    const client = createInProcessClient(core);
    const added = await client.call('installations:add', {
      name: 'wrong password',
      app: 'directory',
      ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'password', hostKeySha256: rotatedFingerprint },
      secrets: { 'ssh-password': testSecret('wrong') },
    });
    const job = await runTest(added.id);
    expect(job.error?.code).toBe('SSH_AUTH_FAILED');
  });

  it('over HTTPS: an untrusted self-signed certificate is shown, a pinned one passes with the app health, another certificate is refused', async () => {
    const client = createInProcessClient(core);
    const added = await client.call('installations:add', { name: 'mesh', app: 'meshmonitor', https: { baseUrl: https.url, auth: 'none' } });
    const untrusted = await runTest(added.id);
    expect(untrusted.error?.code).toBe('TLS_UNTRUSTED');
    expect(untrusted.error?.details?.fingerprint).toBe(cert.sha256);

    await client.call('installations:trust-certificate', { id: added.id, sha256: cert.sha256 });
    const ok = await runTest(added.id);
    expect(ok.status, JSON.stringify(ok.error)).toBe('succeeded');
    const report = ok.result as ConnectionTestReport;
    expect(report.steps.map((s) => s.name)).toEqual(['TCP reachability', 'TLS', 'App health']);
    expect(report.steps[2]!.detail).toBe('GET /api/health → HTTP 200 version 4.15.1');

    await client.call('installations:trust-certificate', { id: added.id, sha256: other.sha256 });
    const refused = await runTest(added.id);
    expect(refused.error?.code).toBe('TLS_PIN_MISMATCH');
    expect(refused.error?.message).toContain(cert.sha256);
    expect(refused.error?.message).toContain(other.sha256);
  });
});
