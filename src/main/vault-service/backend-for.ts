import path from 'node:path';
import { LifeboatError } from '../../shared/errors';
import { LocalBackend, type Backend } from '../vault';

/** Turns a vault location (a path, or `rest:URL` like restic's -r) into a storage backend. */
export function backendFor(location: string): Backend {
  if (location.startsWith('rest:')) {
    throw new LifeboatError('VAULT_BACKEND', 'REST vault locations are not available in this build yet.');
  }
  return new LocalBackend(path.resolve(location));
}
