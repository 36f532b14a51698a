/**
 * Weavestream installation settings: every key, its default, its meaning and its rule (the
 * installation form shows these); index.ts has the same as a table for readers of the code.
 */
import path from 'node:path/posix';
import type { Installation } from '../../../shared/installations';
import { LifeboatError } from '../../../shared/errors';
import { shellQuote } from '../../transport/ssh/exec';
import { fillCommandTemplate, type TemplateValues } from '../../transport/ssh/command-template';
import { defineSettings, numberOrNull, readSettingsText } from '../module-kit/settings';

/** Setting keys and defaults (see the table at the top of adapter.ts). */
export const WEAVESTREAM_SETTING_DEFAULTS = {
  composeDir: 'weavestream',
  backupDir: '',
  envFile: '',
  triggerCommand: '',
  dumpCommand: `docker compose exec -T postgres sh -c 'exec pg_dump "$@" -U "$POSTGRES_USER" -d "$POSTGRES_DB"' pg_dump --format=custom --no-owner --no-acl`,
  restoreCommand: `docker compose exec -T postgres sh -c 'exec pg_restore "$@" -U "$POSTGRES_USER" -d "$POSTGRES_DB"' pg_restore {flags}`,
  pgRestoreVersionCommand: 'docker compose exec -T postgres pg_restore --version',
  databaseHost: '127.0.0.1',
  databasePort: '5432',
  databaseName: 'weavestream',
  databaseUser: 'weavestream',
} as const;

/** The resolved settings of one installation. */
export interface WeavestreamSettings {
  composeDir: string;
  backupDir: string;
  envFile: string;
  triggerCommand: string;
  /** Writes a pg_dump custom archive of the live database to stdout (the safety copy without a trigger). */
  dumpCommand: string;
  restoreCommand: string;
  pgRestoreVersionCommand: string;
  databaseHost: string;
  databasePort: number;
  databaseName: string;
  databaseUser: string;
  cadenceHours: number | null;
}

const SSH = 'ssh' as const;
const TEMPLATE_HELP = 'Placeholders, each shell-quoted: {flags} (pg_restore options of the mode), {composeDir}, {backupDir}, {database}, {user}, {host}, {port}. Runs in composeDir.';

/** The settings schema and form fields of Weavestream. */
export const WEAVESTREAM_SETTINGS = defineSettings([
  { key: 'composeDir', label: 'Compose directory', help: "Directory of Weavestream's compose.yml (relative to the SSH user's home, or absolute); every command runs there.", kind: 'path', default: WEAVESTREAM_SETTING_DEFAULTS.composeDir, example: '/opt/weavestream', transport: SSH },
  { key: 'backupDir', label: 'Backup directory', help: 'The host path of ${DATA_DIR}/backup; empty: <composeDir>/data/backup.', kind: 'path', default: null, example: '/opt/weavestream/data/backup', transport: SSH },
  { key: 'envFile', label: '.env file', help: 'Read only for the password-encryption key ids (never the keys); empty: <composeDir>/.env.', kind: 'path', default: null, transport: SSH },
  { key: 'triggerCommand', label: 'Backup trigger command', help: 'Makes a dump + manifest in the backup directory now ("Run backup now"); Weavestream has no command-line trigger, so this is empty unless you have one.', kind: 'command', default: null, transport: SSH },
  { key: 'dumpCommand', label: 'Live dump command', help: 'Writes a pg_dump custom archive of the live database to stdout: the safety copy before a restore when there is no trigger command.', kind: 'command', default: WEAVESTREAM_SETTING_DEFAULTS.dumpCommand, transport: SSH },
  { key: 'restoreCommand', label: 'Restore command', help: `Reads the dump on stdin (Weavestream's documented restore). ${TEMPLATE_HELP}`, kind: 'command', default: WEAVESTREAM_SETTING_DEFAULTS.restoreCommand, transport: SSH },
  { key: 'pgRestoreVersionCommand', label: 'pg_restore version command', help: 'Prints the version of the pg_restore that the restore command runs.', kind: 'command', default: WEAVESTREAM_SETTING_DEFAULTS.pgRestoreVersionCommand, transport: SSH },
  { key: 'databaseHost', label: 'Database host (from the server)', help: 'PostgreSQL as seen from the SSH server (publish it on the host\'s loopback).', kind: 'text', default: WEAVESTREAM_SETTING_DEFAULTS.databaseHost, transport: SSH },
  { key: 'databasePort', label: 'Database port', help: 'PostgreSQL port as seen from the SSH server.', kind: 'number', positive: true, default: Number(WEAVESTREAM_SETTING_DEFAULTS.databasePort), transport: SSH },
  { key: 'databaseName', label: 'Database name', help: "Weavestream's database.", kind: 'text', default: WEAVESTREAM_SETTING_DEFAULTS.databaseName, transport: SSH },
  { key: 'databaseUser', label: 'Database user', help: 'Its password is the "Database password" secret, if any.', kind: 'text', default: WEAVESTREAM_SETTING_DEFAULTS.databaseUser, transport: SSH },
  { key: 'cadenceHours', label: 'Hours between backups', help: "For the fleet's freshness badge; empty: read from Weavestream's enabled schedules.", kind: 'number', positive: true, default: null, example: '24' },
]);

/** Reads an installation's settings with the defaults filled in; INVALID_INPUT names a bad value. */
export function weavestreamSettings(installation: Pick<Installation, 'settings' | 'name'>): WeavestreamSettings {
  const text = readSettingsText(WEAVESTREAM_SETTINGS, installation);
  const port = Number(text.databasePort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new LifeboatError('INVALID_INPUT', `Setting databasePort of "${installation.name}" must be a port number (1–65535).`, { details: { setting: 'databasePort' } });
  }
  const composeDir = text.composeDir!;
  return {
    composeDir,
    backupDir: text.backupDir || path.join(composeDir, 'data', 'backup'),
    envFile: text.envFile || path.join(composeDir, '.env'),
    triggerCommand: text.triggerCommand!,
    dumpCommand: text.dumpCommand!,
    restoreCommand: text.restoreCommand!,
    pgRestoreVersionCommand: text.pgRestoreVersionCommand!,
    databaseHost: text.databaseHost!,
    databasePort: port,
    databaseName: text.databaseName!,
    databaseUser: text.databaseUser!,
    cadenceHours: numberOrNull(text.cadenceHours!),
  };
}

/**
 * Fills the template's placeholders (see the table in index.ts) and runs the result in the
 * compose directory; an unknown placeholder is refused.
 */
export function renderCommand(template: string, settings: WeavestreamSettings, values: TemplateValues = {}): string {
  const all: TemplateValues = {
    composeDir: settings.composeDir,
    backupDir: settings.backupDir,
    database: settings.databaseName,
    user: settings.databaseUser,
    host: settings.databaseHost,
    port: String(settings.databasePort),
    flags: [],
    ...values,
  };
  return `cd ${shellQuote(settings.composeDir)} && ${fillCommandTemplate(template, all)}`;
}
