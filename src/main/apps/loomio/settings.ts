/**
 * Loomio Pi stack installation settings (spec loomio.md §1, §9): where the stack lives, what its
 * containers and services are called, and the commands Lifeboat runs for it. Every command is a
 * template, so a stack run without Docker (or the test fleet) can substitute its own.
 */
import path from 'node:path/posix';
import { LifeboatError } from '../../../shared/errors';
import type { Installation } from '../../../shared/installations';
import { shellQuote } from '../../transport/ssh/exec';
import { fillCommandTemplate, type TemplateValues } from '../../transport/ssh/command-template';
import { defineSettings, numberOrNull, readSettingsText } from '../module-kit/settings';

/** Defaults, as the stack's docker-compose.yml and .env.production.example have them. */
export const LOOMIO_DEFAULTS = {
  stackDir: '/home/pi/loomio-pi-stack',
  dbContainer: 'loomio-db',
  backupContainer: 'loomio-backup',
  services: 'app worker channels hocuspocus',
  databaseName: 'loomio_production',
  databaseUser: 'loomio',
  databaseHost: '127.0.0.1',
  databasePort: 5432,
  stopCommand: 'docker compose {projectArgs} stop {services}',
  startCommand: 'docker compose {projectArgs} start {services}',
  psqlCommand: 'docker exec -i {dbContainer} psql -U {user} {args}',
  backupCommand: 'docker exec {backupContainer} python3 /app/backup.py --type manual --reason {reason}',
  statusCommand: 'docker compose {projectArgs} ps --status running --services',
} as const;

/** The resolved settings of one installation. */
export interface LoomioSettings {
  stackDir: string;
  /** Where the stack writes backups now (HEAD): `<stackDir>/data/production/backups`. */
  backupDir: string;
  /** Every folder backups may be in, the current one first (v1 `backups/`, Nov-2025 `data/db_backup/`). */
  backupDirs: string[];
  composeProject: string;
  dbContainer: string;
  backupContainer: string;
  services: string[];
  databaseName: string;
  databaseUser: string;
  databaseHost: string;
  databasePort: number;
  stopCommand: string;
  startCommand: string;
  psqlCommand: string;
  backupCommand: string;
  /** Prints the running services, one a line (empty: the restore does not check them). */
  statusCommand: string;
  cadenceHours: number | null;
}

const SSH = 'ssh' as const;
const PLACEHOLDERS = 'Placeholders (each shell-quoted): {stackDir}, {backupDir}, {projectArgs} (-p <project> when set), {services}, {dbContainer}, {backupContainer}, {database}, {user}, {args} (psql arguments), {reason}. Runs in the stack directory.';

/** The settings schema and form fields of the Loomio Pi stack. */
export const LOOMIO_SETTINGS = defineSettings([
  { key: 'stackDir', label: 'Stack directory', help: 'The loomio-pi-stack checkout on the Pi (holds docker-compose.yml, .env and data/production/backups).', kind: 'path', absolute: true, default: LOOMIO_DEFAULTS.stackDir, transport: SSH },
  { key: 'composeProject', label: 'Compose project', help: 'docker compose -p name, when the stack runs under another project name; empty: the directory name.', kind: 'text', default: null, example: 'loomio-pi-stack', transport: SSH },
  { key: 'dbContainer', label: 'Database container', help: 'The container of the db service (postgres:15-alpine).', kind: 'text', default: LOOMIO_DEFAULTS.dbContainer, transport: SSH },
  { key: 'backupContainer', label: 'Backup container', help: 'The container of the backup service (runs backup.py).', kind: 'text', default: LOOMIO_DEFAULTS.backupContainer, transport: SSH },
  { key: 'services', label: 'Services stopped during a restore', help: 'Compose services that use the database; hocuspocus too, or DROP DATABASE fails while it is connected.', kind: 'text', default: LOOMIO_DEFAULTS.services, transport: SSH },
  { key: 'databaseName', label: 'Database name', help: 'POSTGRES_DB of the stack\'s .env.', kind: 'text', default: LOOMIO_DEFAULTS.databaseName, transport: SSH },
  { key: 'databaseUser', label: 'Database user', help: 'POSTGRES_USER of the stack\'s .env; its password (POSTGRES_PASSWORD) is the "Database password" secret.', kind: 'text', default: LOOMIO_DEFAULTS.databaseUser, transport: SSH },
  { key: 'databaseHost', label: 'Database host (from the server)', help: 'PostgreSQL as seen from the SSH server, for live row counts: publish the db port on the Pi\'s loopback (127.0.0.1:5432:5432) or give the container\'s address.', kind: 'text', default: LOOMIO_DEFAULTS.databaseHost, transport: SSH },
  { key: 'databasePort', label: 'Database port', help: 'PostgreSQL port as seen from the SSH server.', kind: 'number', positive: true, default: LOOMIO_DEFAULTS.databasePort, transport: SSH },
  { key: 'stopCommand', label: 'Stop command', help: `Stops the services that use the database. ${PLACEHOLDERS}`, kind: 'command', default: LOOMIO_DEFAULTS.stopCommand, transport: SSH },
  { key: 'startCommand', label: 'Start command', help: `Starts them again (after every restore, also a failed or cancelled one). ${PLACEHOLDERS}`, kind: 'command', default: LOOMIO_DEFAULTS.startCommand, transport: SSH },
  { key: 'psqlCommand', label: 'psql command', help: `Runs psql in the database container with {args}; reads SQL on stdin. ${PLACEHOLDERS}`, kind: 'command', default: LOOMIO_DEFAULTS.psqlCommand, transport: SSH },
  { key: 'backupCommand', label: 'Backup command', help: `The stack's manual backup (make create-backup): writes loomio-manual-<time>-<reason>.sql.enc. Empty: no "Run backup now". ${PLACEHOLDERS}`, kind: 'command', default: LOOMIO_DEFAULTS.backupCommand, transport: SSH },
  { key: 'statusCommand', label: 'Status command', help: `Prints the services that are running, one a line; after a restore every stopped service must be among them (the restore's health check). Empty: not checked. ${PLACEHOLDERS}`, kind: 'command', default: LOOMIO_DEFAULTS.statusCommand, transport: SSH },
  { key: 'cadenceHours', label: 'Hours between backups', help: "For the fleet's freshness badge; empty: 1 (the stack backs up every hour).", kind: 'number', positive: true, default: null, example: '1' },
]);

/** Reads an installation's settings with defaults; INVALID_INPUT names a bad value. */
export function loomioSettings(installation: Pick<Installation, 'settings' | 'name'>): LoomioSettings {
  const text = readSettingsText(LOOMIO_SETTINGS, installation);
  const port = Number(text.databasePort);
  if (!Number.isInteger(port) || port > 65535) {
    throw new LifeboatError('INVALID_INPUT', `Setting databasePort of "${installation.name}" must be a port number (1–65535).`, { details: { setting: 'databasePort' } });
  }
  const stackDir = text.stackDir!.replace(/\/+$/, '') || '/';
  const services = text.services!.split(/[\s,]+/).filter(Boolean);
  const backupDir = path.join(stackDir, 'data', 'production', 'backups');
  return {
    stackDir,
    backupDir,
    backupDirs: [backupDir, path.join(stackDir, 'backups'), path.join(stackDir, 'data', 'db_backup')],
    composeProject: text.composeProject!,
    dbContainer: text.dbContainer!,
    backupContainer: text.backupContainer!,
    services,
    databaseName: text.databaseName!,
    databaseUser: text.databaseUser!,
    databaseHost: text.databaseHost!,
    databasePort: port,
    stopCommand: text.stopCommand!,
    startCommand: text.startCommand!,
    psqlCommand: text.psqlCommand!,
    backupCommand: text.backupCommand!,
    statusCommand: text.statusCommand!,
    cadenceHours: numberOrNull(text.cadenceHours!),
  };
}

/** Fills a command template (unknown placeholders are refused) and runs it in the stack directory. */
export function renderLoomioCommand(template: string, settings: LoomioSettings, values: TemplateValues = {}): string {
  const all: TemplateValues = {
    stackDir: settings.stackDir,
    backupDir: settings.backupDir,
    projectArgs: settings.composeProject ? ['-p', settings.composeProject] : [],
    services: settings.services,
    dbContainer: settings.dbContainer,
    backupContainer: settings.backupContainer,
    database: settings.databaseName,
    user: settings.databaseUser,
    args: [],
    reason: 'lifeboat',
    ...values,
  };
  return `cd ${shellQuote(settings.stackDir)} && ${fillCommandTemplate(template, all)}`;
}
