// Settings of a folder of archives: where, which files, how often.
import type { Installation } from '../../../shared/installations';
import { defineSettings, numberOrNull, readSettingsText } from '../module-kit/settings';

/** The settings of a directory installation, defaults applied. */
export interface DirectorySettings {
  directory: string;
  pattern: string;
  cadenceHours: number | null;
}

/** The settings schema and form fields of the folder-of-archives module. */
export const DIRECTORY_SETTINGS = defineSettings([
  { key: 'directory', label: 'Folder on the server', help: 'Absolute path of the folder your backup job writes its archives to.', kind: 'path', absolute: true, default: null, example: '/var/backups/app', transport: 'ssh' },
  { key: 'pattern', label: 'File pattern', help: 'Which files are backups: a glob on the file name (* any characters, ? one, [abc] one of them).', kind: 'text', default: '*', example: 'app-*.tar.gz', transport: 'ssh' },
  { key: 'cadenceHours', label: 'Hours between backups', help: "For the fleet's freshness badge.", kind: 'number', positive: true, default: null, example: '24' },
]);

/** Reads and checks the settings; INVALID_INPUT names a bad one (the folder is required). */
export function directorySettings(installation: Pick<Installation, 'settings' | 'name'>): DirectorySettings {
  const text = readSettingsText(DIRECTORY_SETTINGS, installation);
  return { directory: text.directory!.replace(/\/+$/, '') || '/', pattern: text.pattern || '*', cadenceHours: numberOrNull(text.cadenceHours!) };
}

/** A file-name glob as a regular expression: `*`, `?` and `[…]`, anchored, no path separators. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else source += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
