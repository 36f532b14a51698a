/**
 * Nojoin installation settings: what an export asks for (audio, quality), where finished exports
 * lie for SSH, and how a restore uploads. The HTTPS connection's user name is the superuser
 * Lifeboat logs in as; its password is the `https-password` secret.
 */
import path from 'node:path/posix';
import type { Installation } from '../../../shared/installations';
import { defineSettings, numberOrNull, readSettingsText } from '../module-kit/settings';
import { DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES, type ExportOptions } from './api';

const MIB = 1024 * 1024;

/** The resolved settings of one installation. */
export interface NojoinSettings {
  export: ExportOptions;
  /** The compose directory on the server (where `data/` is mounted into the containers as /app/data). */
  composeDir: string;
  /** Where Nojoin leaves finished exports (`tmp*.zip`, deleted after about a day). */
  backupsDir: string;
  chunkBytes: number;
  cadenceHours: number | null;
}

const SSH = 'ssh' as const;

/** The settings schema and form fields of Nojoin. */
export const NOJOIN_SETTINGS = defineSettings([
  { key: 'includeAudio', label: 'Include audio', help: 'Exports carry every recording\'s audio (large); without it a restore brings recordings back without playable audio.', kind: 'boolean', default: true },
  {
    key: 'archiveQuality',
    label: 'Audio quality',
    help: 'compressed: Nojoin re-encodes audio to Opus 64 kb/s (small); original: the files byte for byte.',
    kind: 'choice',
    default: 'compressed',
    choices: [
      { value: 'compressed', label: 'Compressed (Opus)' },
      { value: 'original', label: 'Original files' },
    ],
  },
  { key: 'composeDir', label: 'Compose directory', help: "Nojoin's docker compose directory on the server (relative to the SSH user's home, or absolute); finished exports are in its data/backups.", kind: 'path', default: 'nojoin', example: '/opt/nojoin', transport: SSH },
  { key: 'uploadChunkMiB', label: 'Restore upload chunk (MiB)', help: `Size of each upload request of a restore; 10 as Nojoin's web UI, at most ${MAX_CHUNK_BYTES / MIB} (nginx refuses requests over 500 MiB).`, kind: 'number', positive: true, default: DEFAULT_CHUNK_BYTES / MIB },
  { key: 'cadenceHours', label: 'Hours between backups', help: "Nojoin has no schedule of its own: how often Lifeboat should pull an export, for the fleet's freshness badge; empty: 24.", kind: 'number', positive: true, default: null, example: '24' },
]);

/** Reads an installation's settings with defaults; INVALID_INPUT names a bad value. */
export function nojoinSettings(installation: Pick<Installation, 'settings' | 'name'>): NojoinSettings {
  const text = readSettingsText(NOJOIN_SETTINGS, installation);
  const composeDir = text.composeDir!.replace(/\/+$/, '') || '.';
  const chunkBytes = Math.min(MAX_CHUNK_BYTES, Math.max(1, Math.round(Number(text.uploadChunkMiB) * MIB)));
  return {
    export: { includeAudio: text.includeAudio !== 'false', archiveQuality: text.archiveQuality === 'original' ? 'original' : 'compressed' },
    composeDir,
    backupsDir: path.join(composeDir, 'data', 'backups'),
    chunkBytes,
    cadenceHours: numberOrNull(text.cadenceHours!),
  };
}
