// Settings of a DBackup installation: the destination folder over SFTP, the storage ids over HTTPS.
import type { Installation } from '../../../shared/installations';
import { defineSettings, numberOrNull, readSettingsText } from '../module-kit/settings';

/** The settings of a DBackup installation, defaults applied. */
export interface DbackupSettings {
  /** Root of the storage destination on the SSH server ('' when unset). */
  destinationDir: string;
  /** Storage destination ids to list over HTTPS (empty: every destination the key may read). */
  storageIds: string[];
  cadenceHours: number | null;
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
  { key: 'cadenceHours', label: 'Hours between backups', help: "For the fleet's freshness badge.", kind: 'number', positive: true, default: null, example: '24' },
]);

/** Reads and checks the settings; INVALID_INPUT names a bad one. */
export function dbackupSettings(installation: Pick<Installation, 'settings' | 'name'>): DbackupSettings {
  const text = readSettingsText(DBACKUP_SETTINGS, installation);
  return {
    destinationDir: text.destinationDir ? text.destinationDir.replace(/\/+$/, '') || '/' : '',
    storageIds: (text.storageIds ?? '').split(',').map((id) => id.trim()).filter(Boolean),
    cadenceHours: numberOrNull(text.cadenceHours!),
  };
}
