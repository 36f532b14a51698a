import { z } from 'zod';
import { command, returns } from './define';
import type { AppModuleInfo } from '../apps';
import type { Installation, InstallationStatus } from '../installations';

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

/** What the UI's first render needs: the frame's facts and the Fleet page's rows, from one call. */
export interface UiBootstrap {
  info: SystemInfo;
  modules: AppModuleInfo[];
  installations: Installation[];
  statuses: InstallationStatus[];
}

export const systemCommands = {
  'system:info': command({
    summary: 'Version, data directory and which backend holds the secrets.',
    input: z.object({}).strict(),
    output: returns<SystemInfo>(),
  }),
  'system:bootstrap': command({
    summary: 'The first state the UI shows, in one answer: system info, app modules, every installation and its last known status.',
    input: z.object({}).strict(),
    output: returns<UiBootstrap>(),
  }),
  'system:use-ask-every-time': command({
    summary: 'Without a keychain: keep secrets in memory for this session only (asked again next start).',
    input: z.object({ enabled: z.boolean() }).strict(),
    output: returns<SecretBackendStatus>(),
  }),
};
