import net from 'node:net';
import { LifeboatError, toErrorPayload } from '../../shared/errors';
import type { ConnectionTestReport, ConnectionTestStep } from '../../shared/contract/installations';
import type { ConnectionState, Installation } from '../../shared/installations';
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

async function testSsh(_core: Core, installation: Installation, report: ConnectionTestReport, ctx: JobContext): Promise<void> {
  const ssh = installation.ssh!;
  ctx.progress({ phase: 'reaching host' });
  const port = ssh.port ?? 22;
  const latencyMs = await measureTcp(ssh.host, port, ctx.signal);
  push(report, { name: 'TCP reachability', ok: true, detail: `${ssh.host}:${port} answers in ${latencyMs} ms`, latencyMs });
}

async function testHttps(_core: Core, installation: Installation, report: ConnectionTestReport, ctx: JobContext): Promise<void> {
  const url = new URL(installation.https!.baseUrl);
  ctx.progress({ phase: 'reaching server' });
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const latencyMs = await measureTcp(url.hostname, port, ctx.signal);
  push(report, { name: 'TCP reachability', ok: true, detail: `${url.host} answers in ${latencyMs} ms`, latencyMs });
}

function push(report: ConnectionTestReport, step: ConnectionTestStep): void {
  report.steps.push(step);
  if (!step.ok) report.ok = false;
}
