import net from 'node:net';
import { readFile } from 'node:fs/promises';
import { connectSsh } from '../transport/ssh/client';
import { createHttpsClient, normalizeFingerprint, probeTls } from '../transport/https';
import { LifeboatError, toErrorPayload } from '../../shared/errors';
import type { ConnectionTestReport, ConnectionTestStep } from '../../shared/contract/installations';
import type { ConnectionState, Installation } from '../../shared/installations';
import { createAdapterContext } from '../apps/context';
import type { JobRecord } from '../../shared/jobs';
import type { Core } from '../core';
import type { JobContext } from '../jobs/job-manager';

/**
 * Starts the "Test connection" job: reachability and latency, then the SSH handshake (banner,
 * host key) and/or the HTTPS probe (status, certificate, the app's health endpoint).
 * The job fails with the first blocking error; its details carry the report so far.
 */
export function startConnectionTest(core: Core, installation: Installation): JobRecord {
  return core.jobs.start(
    { kind: 'connection-test', title: `Test connection to ${installation.name}`, installationId: installation.id },
    async (ctx) => {
      core.setStatus({ installationId: installation.id, state: 'checking', checkedAt: new Date().toISOString() });
      const report: ConnectionTestReport = { installationId: installation.id, ok: true, steps: [] };
      try {
        if (installation.ssh) await testSsh(core, installation, report, ctx);
        if (installation.https) await testHttps(core, installation, report, ctx);
        await testAccess(core, installation, report, ctx);
      } catch (error) {
        const payload = toErrorPayload(error);
        core.setStatus({
          installationId: installation.id,
          state: stateFor(payload.code),
          checkedAt: new Date().toISOString(),
          message: payload.message,
        });
        throw new LifeboatError(payload.code, payload.message, { details: { ...payload.details, report }, cause: error });
      }
      // The test made an authenticated call: a listing refused before it is out of date.
      core.fleet.supersedeRefusal(installation.id);
      const latencies = report.steps.map((s) => s.latencyMs).filter((l): l is number => l !== undefined);
      core.setStatus({
        installationId: installation.id,
        state: 'online',
        checkedAt: new Date().toISOString(),
        ...(latencies.length ? { latencyMs: Math.min(...latencies) } : {}),
        message: report.steps.map((s) => s.detail).join('; '),
      });
      return report;
    },
  );
}

function stateFor(code: string): ConnectionState {
  if (code === 'SSH_HOST_KEY_UNKNOWN' || code === 'SSH_HOST_KEY_CHANGED' || code === 'TLS_UNTRUSTED' || code === 'TLS_PIN_MISMATCH') return 'host-key-untrusted';
  if (code === 'SSH_AUTH_FAILED' || code === 'HTTP_AUTH_FAILED' || code === 'SECRET_REQUIRED') return 'auth-failed';
  return 'offline';
}

/** Opens and closes a TCP connection, measuring how long the handshake took. */
export async function measureTcp(host: string, port: number, signal: AbortSignal, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => fail(new LifeboatError('SSH_TIMEOUT', `No answer from ${host}:${port} within ${timeoutMs / 1000} s.`)), timeoutMs);
    const onAbort = () => fail(new LifeboatError('CANCELLED', 'Cancelled.'));
    signal.addEventListener('abort', onAbort, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
    }
    function fail(error: Error) {
      done();
      reject(error);
    }
    socket.once('connect', () => {
      done();
      resolve();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') fail(new LifeboatError('SSH_CONNECTION_REFUSED', `${host}:${port} refused the connection: nothing listens there.`, { cause: error }));
      else if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') fail(new LifeboatError('SSH_DNS', `The name ${host} could not be resolved.`, { cause: error }));
      else fail(new LifeboatError('HTTP_NETWORK', `Could not reach ${host}:${port}: ${error.message}.`, { cause: error }));
    });
  });
  return Math.round(performance.now() - started);
}

/**
 * One authenticated, read-only call of the app's module (e.g. listing backups), so a wrong token
 * or password fails the test as an authentication failure instead of passing on a public endpoint.
 */
async function testAccess(core: Core, installation: Installation, report: ConnectionTestReport, ctx: JobContext): Promise<void> {
  const module = core.apps.has(installation.app) ? core.apps.get(installation.app) : null;
  if (!module?.checkAccess) return;
  ctx.progress({ phase: 'signing in' });
  const actx = createAdapterContext(core, installation, ctx);
  const started = performance.now();
  try {
    const seen = await module.checkAccess(actx);
    if (seen !== null) push(report, { name: 'Access', ok: true, detail: seen, latencyMs: Math.round(performance.now() - started) });
  } finally {
    await actx.close();
  }
}

async function testSsh(core: Core, installation: Installation, report: ConnectionTestReport, ctx: JobContext): Promise<void> {
  const ssh = installation.ssh!;
  ctx.progress({ phase: 'SSH handshake' });
  const started = performance.now();
  const session = await connectSsh(ssh, { secrets: await sshSecrets(core, installation), signal: ctx.signal });
  try {
    const { target, serverIdent } = session.info;
    push(report, {
      name: 'SSH',
      ok: true,
      detail: `${serverIdent} at ${target.user}@${target.host}:${target.port}, host key ${target.algorithm} ${target.fingerprint} (${target.trustedBy === 'pinned' ? 'pinned' : target.trustedBy === 'known-hosts' ? 'from known_hosts' : 'trusted now'})`,
      latencyMs: Math.round(performance.now() - started),
      fingerprint: { kind: 'ssh-host-key', sha256: target.fingerprint, algorithm: target.algorithm },
    });
  } finally {
    await session.close();
  }
}

/** Reads the SSH secrets the installation's auth needs; asks (SECRET_REQUIRED) when one is missing. */
export async function sshSecrets(core: Core, installation: Installation): Promise<{ password?: string; passphrase?: string }> {
  const secrets: { password?: string; passphrase?: string } = {};
  if (installation.ssh?.auth === 'password') {
    const password = await core.registry.secret(installation.id, 'ssh-password');
    if (!password) throw new LifeboatError('SECRET_REQUIRED', `No SSH password is stored for "${installation.name}" in ${core.secrets().status().description}; edit the installation to enter it.`, { details: { purpose: 'ssh-password' } });
    secrets.password = password;
  }
  const passphrase = installation.secretPurposes.includes('ssh-key-passphrase') ? await core.registry.secret(installation.id, 'ssh-key-passphrase') : null;
  if (passphrase) secrets.passphrase = passphrase;
  return secrets;
}

async function testHttps(core: Core, installation: Installation, report: ConnectionTestReport, ctx: JobContext): Promise<void> {
  const https = installation.https!;
  const url = new URL(https.baseUrl);
  ctx.progress({ phase: 'reaching server' });
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const latencyMs = await measureTcp(url.hostname, port, ctx.signal);
  push(report, { name: 'TCP reachability', ok: true, detail: `${url.host} answers in ${latencyMs} ms`, latencyMs });
  if (url.protocol === 'https:') {
    ctx.progress({ phase: 'TLS certificate' });
    const caPem = https.caFile ? await readFile(https.caFile, 'utf8') : undefined;
    const probe = await probeTls(https.baseUrl, { signal: ctx.signal, ...(caPem ? { caPem } : {}) });
    const fingerprint = { kind: 'tls-certificate' as const, sha256: probe.sha256 };
    if (https.pinnedCertSha256 && normalizeFingerprint(https.pinnedCertSha256) !== probe.sha256) {
      throw new LifeboatError('TLS_PIN_MISMATCH', `The certificate of ${url.host} changed: pinned ${normalizeFingerprint(https.pinnedCertSha256)}, presented ${probe.sha256}. Refusing to connect.`, { details: { expected: normalizeFingerprint(https.pinnedCertSha256), actual: probe.sha256, fingerprint: probe.sha256 } });
    }
    if (!https.pinnedCertSha256 && !probe.trusted) {
      throw new LifeboatError('TLS_UNTRUSTED', `The certificate of ${url.host} is not trusted (${probe.authorizationError ?? 'unknown issuer'}${probe.selfSigned ? ', self-signed' : ''}). Its SHA-256 is ${probe.sha256}; trust it only if it matches what the server shows.`, { details: { fingerprint: probe.sha256, actual: probe.sha256, subject: probe.subject, validTo: probe.validTo } });
    }
    push(report, { name: 'TLS', ok: true, detail: `certificate ${probe.subject}, valid until ${probe.validTo}${https.pinnedCertSha256 ? ', matches the pin' : ''}`, fingerprint });
  }
  const healthPath = core.apps.has(installation.app) ? core.apps.get(installation.app).healthPath : undefined;
  if (!healthPath) return;
  ctx.progress({ phase: 'app health' });
  const token = https.auth === 'bearer' ? await core.registry.secret(installation.id, 'api-token') : null;
  const client = createHttpsClient(https, { signal: ctx.signal, ...(token ? { bearerToken: token } : {}) });
  try {
    const started = performance.now();
    const response = await client.request('GET', healthPath, { acceptStatus: [401, 403, 404, 503], retry: false });
    const body = safeJson(response.text());
    const version = typeof body?.version === 'string' ? ` version ${body.version}` : '';
    push(report, {
      name: 'App health',
      ok: response.status === 200,
      detail: `GET ${healthPath} → HTTP ${response.status}${version}`,
      latencyMs: Math.round(performance.now() - started),
    });
  } finally {
    await client.close();
  }
}

function safeJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function push(report: ConnectionTestReport, step: ConnectionTestStep): void {
  report.steps.push(step);
  if (!step.ok) report.ok = false;
}
