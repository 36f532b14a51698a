/**
 * Plain-language explanations of retention decisions for the UI, e.g.
 * "kept: newest of 2024-W12 (weekly)". restic's own reason strings stay in `KeptSnapshot.reasons`.
 */
import { assertNever } from '../../../shared/errors';
import type { KeepMatch, KeptSnapshot, RemovedSnapshot } from './policy';

/** One sentence saying why a snapshot is kept or removed. */
export function describeDecision(entry: KeptSnapshot | RemovedSnapshot): string {
  if (!('matches' in entry)) return 'removed: no rule of the policy keeps it';
  return `kept: ${entry.matches.map(describeMatch).join('; ')}`;
}

/** The phrase for one reason, e.g. "newest of 2024-03 (monthly)" or "has tags important (keep-tag)". */
export function describeMatch(match: KeepMatch): string {
  switch (match.kind) {
    case 'empty-policy': return 'the policy is empty, so nothing is removed';
    case 'tags': return match.tags.length === 1 && match.tags[0] === '' ? 'has no tags (keep-tag "")' : `has tags ${match.tags.join(', ')} (keep-tag)`;
    case 'within': return `within ${match.within} of the newest snapshot (within)`;
    case 'count':
      if (match.rule === 'last') return match.limit === -1 ? 'every snapshot is kept (last, unlimited)' : `one of the newest ${match.limit} (last)`;
      return `newest of ${match.bucket} (${match.rule}${match.limit === -1 ? ', unlimited' : ''})`;
    case 'within-bucket': return `newest of ${match.bucket} within ${match.within} of the newest snapshot (${match.rule} within)`;
    default: return assertNever(match, 'retention match');
  }
}
