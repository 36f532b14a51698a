/**
 * Weavestream installation settings (strings or numbers in `installation.settings`). Every key,
 * its default and its meaning; adapter.ts documents them for operators at its top.
 */
import path from 'node:path/posix';
import type { Installation } from '../../../shared/installations';
import { LifeboatError } from '../../../shared/errors';
import { shellQuote } from '../../transport/ssh/exec';

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
  cadenceHours: '',
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

/** Reads an installation's settings with the defaults filled in; INVALID_INPUT names a bad value. */
export function weavestreamSettings(installation: Pick<Installation, 'settings' | 'name'>): WeavestreamSettings {
  const raw = installation.settings ?? {};
  const text = (key: keyof typeof WEAVESTREAM_SETTING_DEFAULTS): string => {
    const value = raw[key];
    if (value === undefined || value === '') return WEAVESTREAM_SETTING_DEFAULTS[key];
    return String(value).trim();
  };
  const composeDir = text('composeDir');
  const port = Number(text('databasePort'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new LifeboatError('INVALID_INPUT', `Setting databasePort of "${installation.name}" must be a port number (1–65535).`, { details: { setting: 'databasePort' } });
  }
  const cadenceText = text('cadenceHours');
  const cadence = cadenceText === '' ? null : Number(cadenceText);
  if (cadence !== null && !(cadence > 0)) {
    throw new LifeboatError('INVALID_INPUT', `Setting cadenceHours of "${installation.name}" must be a positive number of hours.`, { details: { setting: 'cadenceHours' } });
  }
  return {
    composeDir,
    backupDir: text('backupDir') || path.join(composeDir, 'data', 'backup'),
    envFile: text('envFile') || path.join(composeDir, '.env'),
    triggerCommand: text('triggerCommand'),
    dumpCommand: text('dumpCommand'),
    restoreCommand: text('restoreCommand'),
    pgRestoreVersionCommand: text('pgRestoreVersionCommand'),
    databaseHost: text('databaseHost'),
    databasePort: port,
    databaseName: text('databaseName'),
    databaseUser: text('databaseUser'),
    cadenceHours: cadence,
  };
}

/** Values a command template may use; a list expands to several quoted words. */
export type TemplateValues = Record<string, string | readonly string[]>;

/**
 * Fills `{name}` placeholders, shell-quoting every value (a list becomes several quoted words),
 * and runs the result in the compose directory. Unknown `{…}` are left alone (shell text).
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
  const body = template.replace(/\{([A-Za-z]+)\}/g, (match, name: string) => {
    const value = all[name];
    if (value === undefined) return match;
    return typeof value === 'string' ? shellQuote(value) : value.map(shellQuote).join(' ');
  });
  return `cd ${shellQuote(settings.composeDir)} && ${body}`;
}
