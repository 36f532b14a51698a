/**
 * OpenSSH host patterns, as used by `Host` lines in ssh_config and host fields in known_hosts:
 * `*` matches any run of characters, `?` exactly one, a leading `!` negates, and a list matches
 * when at least one plain pattern matches and no negated one does. Matching ignores case, as
 * OpenSSH lower-cases host names before it compares them.
 */

/** True when `value` matches one wildcard pattern (no negation handling). */
export function matchWildcard(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  // Iterative glob with backtracking to the last `*`: linear-ish and no regex injection.
  let pi = 0;
  let vi = 0;
  let starPi = -1;
  let starVi = 0;
  while (vi < v.length) {
    const pc = p[pi];
    if (pc === '*') {
      starPi = pi++;
      starVi = vi;
    } else if (pc !== undefined && (pc === '?' || pc === v[vi])) {
      pi++;
      vi++;
    } else if (starPi >= 0) {
      pi = starPi + 1;
      vi = ++starVi;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

/**
 * Matches `value` against a pattern list. Returns 'negated' when a `!pattern` matches (which
 * OpenSSH treats as a definite non-match of the whole list), 'match', or 'none'.
 */
export function matchPatternList(patterns: readonly string[], value: string): 'match' | 'negated' | 'none' {
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (!matchWildcard(pattern, value)) continue;
    if (negated) return 'negated';
    matched = true;
  }
  return matched ? 'match' : 'none';
}
