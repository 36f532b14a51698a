import { LifeboatError } from '../../../shared/errors';

/**
 * Checks and normalises a member name so that it can only ever land inside the extraction folder:
 * relative, no ".." segment, no backslash (a separator on Windows), no NUL or control characters.
 */
export function safeEntryName(raw: string, isDirectory = false): string {
  const refuse = (why: string): never => {
    throw new LifeboatError('ARCHIVE_INVALID', `Refused the archive member "${raw.slice(0, 200)}": ${why}.`, { details: { name: raw.slice(0, 200) } });
  };
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is being refused
  if (/[\u0000-\u001f\u007f]/.test(raw)) refuse('its name holds control characters');
  if (raw.includes('\\')) refuse('its name holds a backslash');
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) refuse('its path is absolute');
  const segments = raw.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.some((segment) => segment === '..')) refuse('its path climbs out with ".."');
  if (segments.length === 0) refuse('its name is empty');
  if (!isDirectory && raw.endsWith('/')) refuse('a file name ends with "/"');
  return segments.join('/');
}
