// Settings of a DBackup installation: the destination folder over SFTP, the storage ids over HTTPS,
// and the PostgreSQL server an on-server restore drill uses (seen from the SSH server).
import type { Installation } from '../../../shared/installations';
import { defineSettings, numberOrNull, portSetting, readSettingsText } from '../module-kit/settings';

/** The secret slot of the drill database user's password (keychain; never in settings or logs). */
export const DRILL_PASSWORD_SLOT = 'drill-database-password';

/** The settings of a DBackup installation, defaults applied. */
export interface DbackupSettings {
  /** Root of the storage destination on the SSH server ('' when unset). */
  destinationDir: string;
  /** Storage destination ids to list over HTTPS (empty: every destination the key may read). */
  storageIds: string[];
  /** Over HTTPS: the job "Run backup now" runs ('' when none). */
  jobId: string;
  /** Over HTTPS: the DBackup database source a restore goes into ('' when none). */
  targetSourceId: string;
  /** Over HTTPS: another database name on the target source ('' to keep the backup's). */
  targetDatabaseName: string;
  cadenceHours: number | null;
  /** For on-server drills: the PostgreSQL DBackup backs up, as seen from the SSH server ('' when none). */
  drillDatabaseHost: string;
  drillDatabasePort: number;
  /** The database the drill connects to (to create and drop its scratch database; its size is the space estimate). */
  drillDatabaseName: string;
  /** A role that may create databases there; its password is the secret {@link DRILL_PASSWORD_SLOT}. */
  drillDatabaseUser: string;
}

/** The settings schema and form fields of the DBackup module. */
export const DBACKUP_SETTINGS = defineSettings([
  {
    key: 'destinationDir', label: 'Destination folder on the server',
    help: 'The root of a DBackup storage destination (an SFTP, rsync or local destination\'s path prefix), read over SSH: the job folders and config-backups/ are inside it.',
    kind: 'path', absolute: true, default: null, example: '/srv/dbackup', transport: 'ssh',
  },
  {
    key: 'storageIds', label: 'Storage destination ids',
    help: 'Over HTTPS: the ids of the storage destinations to list, separated by commas (Settings → Destinations in DBackup). Empty: every destination the API key may read.',
    kind: 'text', default: '', example: 'cm1abc…, cm2def…', transport: 'https',
  },
  {
    key: 'jobId', label: 'Job to run',
    help: 'Over HTTPS: the id of the DBackup job that "Run backup now" (and the safety backup before a restore) runs; the API key needs jobs:execute and history:read.',
    kind: 'text', default: '', example: 'cm3job…', transport: 'https',
  },
  {
    key: 'targetSourceId', label: 'Restore into source',
    help: 'Over HTTPS: the id of the DBackup database source a restore goes into (DBackup runs the restore itself); the API key needs storage:restore and sources:view.',
    kind: 'text', default: '', example: 'cm4src…', transport: 'https',
  },
  {
    key: 'targetDatabaseName', label: 'Restore as database',
    help: 'Over HTTPS: restore a single-database backup under this name instead of its own. Empty: its own name.',
    kind: 'text', default: '', example: 'loomio_restored', transport: 'https',
  },
  { key: 'cadenceHours', label: 'Hours between backups', help: "For the fleet's freshness badge.", kind: 'number', positive: true, default: null, example: '24' },
  {
    key: 'drillDatabaseHost', label: 'Drill database host (from the server)',
    help: 'For restore drills on the server (drill settings "on its own server"): the PostgreSQL server DBackup backs up, as seen from the SSH server (best: the SSH server is the database host, where the free space is read). A scratch database lifeboat_drill_<id> is created there, restored, counted and dropped; production is only read. Empty: drills use a temporary local cluster.',
    kind: 'text', default: '', example: '127.0.0.1', transport: 'ssh',
  },
  { key: 'drillDatabasePort', label: 'Drill database port', help: 'PostgreSQL port as seen from the SSH server.', kind: 'number', positive: true, default: 5432, transport: 'ssh' },
  {
    key: 'drillDatabaseName', label: 'Drill: database to connect to',
    help: 'The drill connects to this database to create and drop its scratch database; its size is the free-space estimate, so name the database the backups hold.',
    kind: 'text', default: 'postgres', example: 'loomio_production', transport: 'ssh',
  },
  { key: 'drillDatabaseUser', label: 'Drill database user', help: 'A role that may create databases (CREATEDB); its password is the "Drill database password" secret, if PostgreSQL asks for one.', kind: 'text', default: 'postgres', transport: 'ssh' },
]);

/** Reads and checks the settings; INVALID_INPUT names a bad one. */
export function dbackupSettings(installation: Pick<Installation, 'settings' | 'name'>): DbackupSettings {
  const text = readSettingsText(DBACKUP_SETTINGS, installation);
  return {
    destinationDir: text.destinationDir ? text.destinationDir.replace(/\/+$/, '') || '/' : '',
    storageIds: (text.storageIds ?? '').split(',').map((id) => id.trim()).filter(Boolean),
    jobId: text.jobId ?? '',
    targetSourceId: text.targetSourceId ?? '',
    targetDatabaseName: text.targetDatabaseName ?? '',
    cadenceHours: numberOrNull(text.cadenceHours!),
    drillDatabaseHost: text.drillDatabaseHost ?? '',
    drillDatabasePort: portSetting(text.drillDatabasePort!, 'drillDatabasePort', installation),
    drillDatabaseName: text.drillDatabaseName!,
    drillDatabaseUser: text.drillDatabaseUser!,
  };
}
