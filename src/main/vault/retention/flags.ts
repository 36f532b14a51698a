/**
 * restic `forget` flags ⇄ RetentionPolicy, so a user can paste the policy they already run
 * (`--keep-daily 7 --keep-weekly 4 --keep-tag important`) and the UI can show the equivalent command.
 */
import { LifeboatError } from '../../../shared/errors';
import { parseDuration } from './duration';
import type { RetentionPolicy } from './policy';

type CountField = 'keepLast' | 'keepHourly' | 'keepDaily' | 'keepWeekly' | 'keepMonthly' | 'keepYearly';
type DurationField = 'keepWithin' | 'keepWithinHourly' | 'keepWithinDaily' | 'keepWithinWeekly' | 'keepWithinMonthly' | 'keepWithinYearly';
type FlagTarget = { kind: 'count'; field: CountField } | { kind: 'duration'; field: DurationField } | { kind: 'tag' } | { kind: 'group-by' };

// Long names and pflag short names as restic 0.14 defines them (cmd/restic/cmd_forget.go).
const FLAGS: Record<string, FlagTarget> = {
  'keep-last': { kind: 'count', field: 'keepLast' },
  'keep-hourly': { kind: 'count', field: 'keepHourly' },
  'keep-daily': { kind: 'count', field: 'keepDaily' },
  'keep-weekly': { kind: 'count', field: 'keepWeekly' },
  'keep-monthly': { kind: 'count', field: 'keepMonthly' },
  'keep-yearly': { kind: 'count', field: 'keepYearly' },
  'keep-within': { kind: 'duration', field: 'keepWithin' },
  'keep-within-hourly': { kind: 'duration', field: 'keepWithinHourly' },
  'keep-within-daily': { kind: 'duration', field: 'keepWithinDaily' },
  'keep-within-weekly': { kind: 'duration', field: 'keepWithinWeekly' },
  'keep-within-monthly': { kind: 'duration', field: 'keepWithinMonthly' },
  'keep-within-yearly': { kind: 'duration', field: 'keepWithinYearly' },
  'keep-tag': { kind: 'tag' },
  'group-by': { kind: 'group-by' },
};
const SHORT_FLAGS: Record<string, string> = { l: 'keep-last', H: 'keep-hourly', d: 'keep-daily', w: 'keep-weekly', m: 'keep-monthly', y: 'keep-yearly', g: 'group-by' };

/** A parsed flag set: the policy, and `--group-by` if it was given. */
export interface ParsedPolicyFlags {
  policy: RetentionPolicy;
  groupBy?: string;
}

/**
 * Parses restic forget's policy flags from a command-line string or an argv array.
 * Accepts `--flag value`, `--flag=value`, `-d 7`, `-d7`; counts take `unlimited` or -1.
 * Throws INVALID_INPUT naming the offending flag or value.
 */
export function parsePolicyFlags(args: string | readonly string[]): ParsedPolicyFlags {
  const tokens = typeof args === 'string' ? splitCommandLine(args) : [...args];
  const policy: RetentionPolicy = {};
  let groupBy: string | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    let name: string;
    let inlineValue: string | undefined;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      name = eq === -1 ? token.slice(2) : token.slice(2, eq);
      inlineValue = eq === -1 ? undefined : token.slice(eq + 1);
    } else if (/^-[A-Za-z]/.test(token)) {
      name = SHORT_FLAGS[token.charAt(1)] ?? token;
      const rest = token.slice(2);
      inlineValue = rest === '' ? undefined : rest.replace(/^=/, '');
    } else {
      throw new LifeboatError('INVALID_INPUT', `Unexpected "${token}" in the retention flags: expected a flag such as --keep-daily 7.`);
    }
    const target = FLAGS[name];
    if (!target) {
      throw new LifeboatError('INVALID_INPUT', `"${token}" is not a retention flag (known: ${Object.keys(FLAGS).map((f) => `--${f}`).join(', ')}).`);
    }
    let value = inlineValue;
    if (value === undefined) {
      value = tokens[i + 1];
      i++;
      if (value === undefined) throw new LifeboatError('INVALID_INPUT', `Flag --${name} needs a value.`);
    }
    switch (target.kind) {
      case 'count': policy[target.field] = parseCount(name, value); break;
      case 'duration': policy[target.field] = parseDurationFlag(name, value); break;
      // restic's TagList.Set: split at commas, trim each tag; repeated flags add lists (OR).
      case 'tag': policy.keepTags = [...(policy.keepTags ?? []), value.split(',').map((t) => t.trim())]; break;
      case 'group-by': groupBy = value; break;
    }
  }
  return groupBy === undefined ? { policy } : { policy, groupBy };
}

/** The restic forget flags for a policy (unlimited is written `unlimited`, which restic ≥ 0.16 reads and 0.14 refuses instead of misreading). */
export function formatPolicyFlags(policy: RetentionPolicy, groupBy?: string): string[] {
  const out: string[] = [];
  for (const [name, target] of Object.entries(FLAGS)) {
    if (target.kind === 'count') {
      const count = policy[target.field];
      if (count !== undefined && count !== 0) out.push(`--${name}`, count === -1 ? 'unlimited' : String(count));
    } else if (target.kind === 'duration') {
      const text = policy[target.field];
      if (text !== undefined) out.push(`--${name}`, text);
    } else if (target.kind === 'tag') {
      for (const list of policy.keepTags ?? []) out.push(`--${name}`, list.join(','));
    } else if (groupBy !== undefined) {
      out.push(`--${name}`, groupBy);
    }
  }
  return out;
}

function parseCount(name: string, value: string): number {
  if (value === 'unlimited') return -1;
  if (!/^-?\d+$/.test(value)) throw new LifeboatError('INVALID_INPUT', `--${name} needs a whole number or "unlimited", not "${value}".`);
  const n = Number(value);
  // restic ≥ 0.17 rejects these too; 0.14 silently let such a rule keep nothing.
  if (n < -1 || !Number.isSafeInteger(n)) throw new LifeboatError('INVALID_INPUT', `--${name} must be ≥ 0, or -1/"unlimited"; got ${value}.`);
  return n;
}

function parseDurationFlag(name: string, value: string): string {
  const d = parseDuration(value);
  if (d.years < 0 || d.months < 0 || d.days < 0 || d.hours < 0) {
    throw new LifeboatError('INVALID_INPUT', `--${name} needs a positive duration like 1y2m3d4h, not "${value}".`);
  }
  return value.trim();
}

/** Splits a command line at spaces, honouring '…' and "…" quoting and backslash escapes outside single quotes. */
function splitCommandLine(line: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let inToken = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line.charAt(i);
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) current += line.charAt(++i);
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inToken = true;
    } else if (c === '\\' && i + 1 < line.length) {
      current += line.charAt(++i);
      inToken = true;
    } else if (/\s/.test(c)) {
      if (inToken) tokens.push(current);
      current = '';
      inToken = false;
    } else {
      current += c;
      inToken = true;
    }
  }
  if (quote) throw new LifeboatError('INVALID_INPUT', `Unclosed ${quote} quote in the retention flags.`);
  if (inToken) tokens.push(current);
  return tokens;
}
