// The MeshMonitor installation settings: what the form shows, the rules, and the defaults.
import type { Installation } from '../../../shared/installations';
import { defineSettings, numberOrNull, readSettingsText } from '../module-kit/settings';

/** The settings of a MeshMonitor installation, defaults applied. */
export interface MeshMonitorSettings {
  dataDir: string;
  restartCommand: string;
  logCommand: string;
  cadenceHours: number | null;
  restoreTimeoutSeconds: number;
  liveCounts: 'probe' | 'off';
  /** Prints the live database's table names, one per line; empty: not read. */
  tableListCommand: string;
  /** This host's path of the container's fixed /data/.restore-completed. */
  markerFile: string;
}

/** Defaults of the settings (Docker deployment, data volume at /data, container named meshmonitor). */
export const MESHMONITOR_DEFAULTS = {
  dataDir: '/data',
  restartCommand: 'cd /opt/meshmonitor && RESTORE_FROM_BACKUP={dirname} docker compose up -d --force-recreate meshmonitor',
  logCommand: 'docker logs --since {since} meshmonitor 2>&1',
  restoreTimeoutSeconds: 120,
  liveCounts: 'probe',
  tableListCommand: `sqlite3 -readonly {dataDir}/meshmonitor.db "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"`,
} as const;

const PLACEHOLDERS = 'Placeholders, each filled in shell-quoted: {dirname}, {dataDir}, {backupDir}, {since} (a time shortly before the restart).';

/** The settings schema and form fields of MeshMonitor. */
export const MESHMONITOR_SETTINGS = defineSettings([
  {
    key: 'dataDir',
    label: 'Data directory on the server',
    help: "MeshMonitor's data directory as seen over SSH (the Docker volume's host path, or /data in the LXC install); backups live in <dataDir>/system-backups.",
    kind: 'path',
    absolute: true,
    default: MESHMONITOR_DEFAULTS.dataDir,
    example: '/var/lib/docker/volumes/meshmonitor_data/_data',
    transport: 'ssh',
  },
  {
    key: 'restartCommand',
    label: 'Restart command (restore)',
    help: `Run over SSH to restart MeshMonitor so that it restores {dirname}; the compose file must pass RESTORE_FROM_BACKUP into the container. ${PLACEHOLDERS}`,
    kind: 'command',
    default: MESHMONITOR_DEFAULTS.restartCommand,
    transport: 'ssh',
  },
  {
    key: 'logCommand',
    label: 'Log command',
    help: `Prints MeshMonitor's log after the restart; only lines after the restore's start count, so printing the whole log works too. ${PLACEHOLDERS}`,
    kind: 'command',
    default: MESHMONITOR_DEFAULTS.logCommand,
    transport: 'ssh',
  },
  {
    key: 'markerFile',
    label: 'Restore marker file',
    help: "MeshMonitor writes its restore marker to the container's fixed path /data/.restore-completed, whatever the data directory: give this host's path of that file when /data is not the data directory above. Empty: <dataDir>/.restore-completed.",
    kind: 'path',
    absolute: true,
    default: null,
    example: '/var/lib/docker/volumes/meshmonitor_data/_data/.restore-completed',
    transport: 'ssh',
  },
  {
    key: 'tableListCommand',
    label: 'Table list command',
    help: "Run over SSH when a restore is planned; prints the live database's table names, one per line, so the plan names every table the backup leaves out (a system backup holds 20 of about 71). Needs the sqlite3 command on the host (or e.g. docker exec with a tool that has it); empty: use MeshMonitor 4.15.1's list. Placeholder: {dataDir}.",
    kind: 'command',
    default: MESHMONITOR_DEFAULTS.tableListCommand,
    transport: 'ssh',
  },
  {
    key: 'cadenceHours',
    label: 'Hours between backups',
    help: "For the fleet's freshness badge; empty: 24 when MeshMonitor's own daily schedule is on.",
    kind: 'number',
    positive: true,
    default: null,
    example: '24',
  },
  {
    key: 'restoreTimeoutSeconds',
    label: 'Restore wait (seconds)',
    help: "How long to wait for the log's verdict after the restart (a real restart took 4–5 s on an idle machine; small servers need more).",
    kind: 'number',
    positive: true,
    default: MESHMONITOR_DEFAULTS.restoreTimeoutSeconds,
  },
  {
    key: 'liveCounts',
    label: 'Live row counts',
    help: 'probe: count live rows for plans and verification by making a throwaway backup through the API (deleted again); off: do not.',
    kind: 'choice',
    choices: [
      { value: 'probe', label: 'probe (throwaway backup)' },
      { value: 'off', label: 'off' },
    ],
    default: MESHMONITOR_DEFAULTS.liveCounts,
    transport: 'https',
  },
]);

/** Reads and checks the settings; INVALID_INPUT names a bad one. */
export function meshMonitorSettings(installation: Pick<Installation, 'settings' | 'name'>): MeshMonitorSettings {
  const text = readSettingsText(MESHMONITOR_SETTINGS, installation);
  const dataDir = text.dataDir!.replace(/\/+$/, '') || '/';
  return {
    dataDir,
    markerFile: text.markerFile || `${dataDir === '/' ? '' : dataDir}/.restore-completed`,
    restartCommand: text.restartCommand!,
    logCommand: text.logCommand!,
    cadenceHours: numberOrNull(text.cadenceHours!),
    restoreTimeoutSeconds: Number(text.restoreTimeoutSeconds),
    liveCounts: text.liveCounts === 'off' ? 'off' : 'probe',
    tableListCommand: text.tableListCommand ?? '',
  };
}
