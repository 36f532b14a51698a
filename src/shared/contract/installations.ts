import { z } from 'zod';
import { command, returns } from './define';
import {
  installationInputSchema,
  secretPurposeSchema,
  type Installation,
  type InstallationStatus,
} from '../installations';

const idInput = z.object({ id: z.string().min(1, 'installation id is required') }).strict();

export interface ConnectionTestReport {
  installationId: string;
  ok: boolean;
  steps: ConnectionTestStep[];
}

export interface ConnectionTestStep {
  name: string;
  ok: boolean;
  detail: string;
  latencyMs?: number;
  /** Set when the step found an SSH host key or TLS certificate the operator has not trusted. */
  fingerprint?: { kind: 'ssh-host-key' | 'tls-certificate'; sha256: string; algorithm?: string };
}

export const installationCommands = {
  'installations:list': command({
    summary: 'Every installation, without secrets.',
    input: z.object({}).strict(),
    output: returns<Installation[]>(),
  }),
  'installations:get': command({ summary: 'One installation.', input: idInput, output: returns<Installation>() }),
  'installations:add': command({
    summary: 'Add an installation; secrets go to the SecretStore, never the config file.',
    input: installationInputSchema,
    output: returns<Installation>(),
  }),
  'installations:update': command({
    summary: 'Edit an installation; secrets given replace the stored ones.',
    input: z.object({ id: z.string().min(1), changes: installationInputSchema }).strict(),
    output: returns<Installation>(),
  }),
  'installations:remove': command({
    summary: 'Remove an installation and its secrets.',
    input: idInput,
    output: returns<{ removed: true }>(),
  }),
  'installations:forget-secret': command({
    summary: 'Delete one stored secret of an installation.',
    input: z.object({ id: z.string().min(1), purpose: secretPurposeSchema }).strict(),
    output: returns<Installation>(),
  }),
  'installations:test': command({
    summary: 'Start a connection test job; its result is the job result (a ConnectionTestReport).',
    input: idInput,
    output: returns<{ jobId: string }>(),
  }),
  'installations:trust-host-key': command({
    summary: 'Pin the SSH host key the operator has seen and trusted.',
    input: z.object({ id: z.string().min(1), fingerprint: z.string().min(1) }).strict(),
    output: returns<Installation>(),
  }),
  'installations:trust-certificate': command({
    summary: 'Pin the TLS certificate the operator has seen and trusted.',
    input: z.object({ id: z.string().min(1), sha256: z.string().min(1) }).strict(),
    output: returns<Installation>(),
  }),
  'installations:provide-code': command({
    summary: 'Hand Lifeboat the one-time code (TOTP or backup code) a step of this installation asked for; kept in memory for 120 s, used once.',
    input: z
      .object({
        installationId: z.string().min(1, 'installation id is required'),
        code: z
          .string()
          .trim()
          .regex(/^(\d{6}|[A-Za-z0-9]{5}-[A-Za-z0-9]{5})$/, 'a code is 6 digits from the authenticator app, or a backup code XXXXX-XXXXX'),
      })
      .strict(),
    output: returns<{ expiresAt: string }>(),
  }),
  'installations:statuses': command({
    summary: 'Last known connection status of every installation.',
    input: z.object({}).strict(),
    output: returns<InstallationStatus[]>(),
  }),
};
