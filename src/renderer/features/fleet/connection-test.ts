/**
 * The connection test flow: start the job, then read its outcome — the report, and whether the
 * operator must decide about an SSH host key or TLS certificate that is new or has changed.
 */
import type { ConnectionTestReport, ConnectionTestStep } from '../../../shared/contract/installations';
import type { Installation } from '../../../shared/installations';
import { isFinished, type JobRecord } from '../../../shared/jobs';
import { api, ensureJob } from '../../lib/api';
import { useStore } from '../../stores/store';

/** Starts a test job and ties it to the installation's row, which then shows its progress and outcome. */
export async function startConnectionTest(installationId: string): Promise<void> {
  const { jobId } = await api.call('installations:test', { id: installationId });
  useStore.getState().rememberConnectionTest(installationId, jobId);
  await ensureJob(jobId);
}

/** What the operator has to decide about after a test; `changed` prompts can only be refused. */
export type TrustPrompt =
  | { kind: 'ssh-unknown'; host: string; algorithm: string | null; fingerprint: string; hop: SshHop }
  | { kind: 'ssh-changed'; host: string; pinned: string | null; presented: string | null; hop: SshHop }
  | { kind: 'tls-unknown'; host: string; sha256: string; reason: string | null }
  | { kind: 'tls-changed'; host: string; pinned: string | null; presented: string | null };

/**
 * Which SSH server the key belongs to. Only the target's key can be pinned on the installation;
 * a jump host's key is trusted through known_hosts.
 */
export type SshHop = 'target' | 'jump';

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** The report of a finished test: the job result on success, or the partial report in the error details. */
export function reportOf(job: JobRecord): ConnectionTestReport | null {
  const candidate = job.result ?? job.error?.details?.report;
  if (typeof candidate !== 'object' || candidate === null) return null;
  const steps = (candidate as { steps?: unknown }).steps;
  return Array.isArray(steps) ? (candidate as ConnectionTestReport) : null;
}

function fingerprintStep(report: ConnectionTestReport | null, kind: 'ssh-host-key' | 'tls-certificate'): ConnectionTestStep['fingerprint'] | null {
  return report?.steps.find((s) => s.fingerprint?.kind === kind)?.fingerprint ?? null;
}

function sshHost(installation: Installation): string {
  const ssh = installation.ssh;
  return ssh ? `${ssh.host}:${ssh.port ?? 22}` : '';
}

function httpsHost(installation: Installation): string {
  return installation.https ? new URL(installation.https.baseUrl).host : '';
}

/** Reads a finished test job for a trust decision; null when there is none to make. */
export function trustPromptOf(job: JobRecord, installation: Installation): TrustPrompt | null {
  if (!isFinished(job.status)) return null;
  const details = job.error?.details ?? {};
  const report = reportOf(job);
  const sshStep = fingerprintStep(report, 'ssh-host-key');
  const tlsStep = fingerprintStep(report, 'tls-certificate');
  const host = text(details.host);
  switch (job.error?.code) {
    case 'SSH_HOST_KEY_UNKNOWN': {
      const fingerprint = text(details.fingerprint) ?? text(details.actual) ?? sshStep?.sha256 ?? null;
      if (!fingerprint) return null;
      return {
        kind: 'ssh-unknown',
        host: host ?? sshHost(installation),
        algorithm: text(details.algorithm) ?? sshStep?.algorithm ?? null,
        fingerprint,
        hop: details.hop === 'jump' ? 'jump' : 'target',
      };
    }
    case 'SSH_HOST_KEY_CHANGED':
      return {
        kind: 'ssh-changed',
        host: host ?? sshHost(installation),
        pinned: text(details.expected) ?? text(details.pinned) ?? installation.ssh?.hostKeySha256 ?? null,
        presented: text(details.presented) ?? text(details.actual) ?? text(details.fingerprint) ?? sshStep?.sha256 ?? null,
        hop: details.hop === 'jump' ? 'jump' : 'target',
      };
    case 'TLS_UNTRUSTED': {
      const sha256 = text(details.actual) ?? text(details.sha256) ?? text(details.fingerprint) ?? tlsStep?.sha256 ?? null;
      if (!sha256) return null;
      return { kind: 'tls-unknown', host: host ?? httpsHost(installation), sha256, reason: text(details.reason) };
    }
    case 'TLS_PIN_MISMATCH':
      return {
        kind: 'tls-changed',
        host: host ?? httpsHost(installation),
        pinned: text(details.expected) ?? installation.https?.pinnedCertSha256 ?? null,
        presented: text(details.actual) ?? tlsStep?.sha256 ?? null,
      };
    default:
      return null;
  }
}
