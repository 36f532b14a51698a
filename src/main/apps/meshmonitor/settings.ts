// The MeshMonitor installation settings (strings in installation.settings), with their defaults.
// What each one means is documented at the top of adapter.ts.
import { LifeboatError } from '../../../shared/errors';
import type { Installation } from '../../../shared/installations';

/** The settings of a MeshMonitor installation, defaults applied. */
export interface MeshMonitorSettings {
  dataDir: string;
  restartCommand: string;
  logCommand: string;
  cadenceHours: number | null;
  restoreTimeoutSeconds: number;
  liveCounts: 'probe' | 'off';
}

/** Defaults of the settings (Docker deployment, data volume at /data, container named meshmonitor). */
export const MESHMONITOR_DEFAULTS = {
  dataDir: '/data',
  restartCommand: 'cd /opt/meshmonitor && RESTORE_FROM_BACKUP={dirname} docker compose up -d --force-recreate meshmonitor',
  logCommand: 'docker logs --since {since} meshmonitor 2>&1',
  restoreTimeoutSeconds: 300,
  liveCounts: 'probe',
} as const;

function text(installation: Installation, key: string): string | null {
  const value = installation.settings[key];
  if (value === undefined || value === '') return null;
  return String(value).trim() || null;
}

function positive(installation: Installation, key: string): number | null {
  const raw = text(installation, key);
  if (raw === null) return null;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new LifeboatError('INVALID_INPUT', `The setting ${key} of "${installation.name}" must be a positive number, not "${raw}".`);
  }
  return value;
}

/** Reads and checks the settings; INVALID_INPUT names a bad one. */
export function meshMonitorSettings(installation: Installation): MeshMonitorSettings {
  const dataDir = text(installation, 'dataDir') ?? MESHMONITOR_DEFAULTS.dataDir;
  if (!dataDir.startsWith('/')) {
    throw new LifeboatError('INVALID_INPUT', `The setting dataDir of "${installation.name}" must be an absolute path on the server, not "${dataDir}".`);
  }
  const liveCounts = text(installation, 'liveCounts') ?? MESHMONITOR_DEFAULTS.liveCounts;
  if (liveCounts !== 'probe' && liveCounts !== 'off') {
    throw new LifeboatError('INVALID_INPUT', `The setting liveCounts of "${installation.name}" is "probe" or "off", not "${liveCounts}".`);
  }
  return {
    dataDir: dataDir.replace(/\/+$/, '') || '/',
    restartCommand: text(installation, 'restartCommand') ?? MESHMONITOR_DEFAULTS.restartCommand,
    logCommand: text(installation, 'logCommand') ?? MESHMONITOR_DEFAULTS.logCommand,
    cadenceHours: positive(installation, 'cadenceHours'),
    restoreTimeoutSeconds: positive(installation, 'restoreTimeoutSeconds') ?? MESHMONITOR_DEFAULTS.restoreTimeoutSeconds,
    liveCounts,
  };
}
