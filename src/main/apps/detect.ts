import { APP_KINDS, type AppKind } from '../../shared/installations';
import { LifeboatError } from '../../shared/errors';

/** File names each app gives its backups; used when nothing else says which app made an archive. */
const NAME_PATTERNS: [AppKind, RegExp][] = [
  ['weavestream', /^weavestream-postgres-.*\.dump$/],
  ['meshmonitor', /^\d{4}-\d{2}-\d{2}_\d{6}\.tar\.gz$/],
  ['nojoin', /^nojoin_backup.*\.zip$/],
  ['loomio', /^loomio.*\.sql\.enc$/],
  ['dbackup', /\.enc$/],
];

/** Which app an archive belongs to: the given kind, else its vault tag, else its file name. */
export function detectApp(fileName: string, hints: { given?: string | undefined; tagged?: AppKind | null }): AppKind {
  if (hints.given) {
    if (!(APP_KINDS as readonly string[]).includes(hints.given)) throw new LifeboatError('INVALID_INPUT', `Unknown app kind "${hints.given}".`);
    return hints.given as AppKind;
  }
  if (hints.tagged) return hints.tagged;
  const match = NAME_PATTERNS.find(([, pattern]) => pattern.test(fileName));
  if (match) return match[0];
  throw new LifeboatError('APP_UNSUPPORTED', `Cannot tell which app made "${fileName}"; choose the app kind.`);
}
