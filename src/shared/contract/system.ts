import { z } from 'zod';
import { command, returns } from './define';

export type SecretBackendKind = 'keychain' | 'ask-every-time' | 'unavailable';

export interface SecretBackendStatus {
  kind: SecretBackendKind;
  /** e.g. "Secret Service (gnome-keyring) via keytar", or why no keychain was found. */
  description: string;
}

export interface SystemInfo {
  version: string;
  home: string;
  transport: 'ipc' | 'http-twin' | 'in-process';
  secrets: SecretBackendStatus;
}

export const systemCommands = {
  'system:info': command({
    summary: 'Version, data directory and which backend holds the secrets.',
    input: z.object({}).strict(),
    output: returns<SystemInfo>(),
  }),
  'system:use-ask-every-time': command({
    summary: 'Without a keychain: keep secrets in memory for this session only (asked again next start).',
    input: z.object({ enabled: z.boolean() }).strict(),
    output: returns<SecretBackendStatus>(),
  }),
};
