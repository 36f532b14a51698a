import path from 'node:path';
import { LocalBackend, type Backend } from '../vault';
import { RestBackend } from '../vault/backends/rest';

/**
 * Turns a vault location into a storage backend: a directory path, or `rest:URL` exactly as
 * restic's -r takes it (rclone serve restic, rest-server; any rclone remote behind it).
 */
export function backendFor(location: string): Backend {
  if (location.startsWith('rest:')) return new RestBackend(location.slice('rest:'.length));
  return new LocalBackend(path.resolve(location));
}
