/** Retention (restic `forget`) for the vault: policy evaluation, flag parsing, explanations. */
export { applyPolicy, isEmptyPolicy } from './policy';
export type {
  ApplyPolicyOptions, CalendarRule, CountRule, KeepMatch, KeptSnapshot, PolicyCounters, PolicyGroup, PolicyResult,
  RemovedSnapshot, RetentionPolicy, SnapshotSummary,
} from './policy';
export { formatPolicyFlags, parsePolicyFlags } from './flags';
export type { ParsedPolicyFlags } from './flags';
export { describeDecision, describeMatch } from './describe';
export { formatDuration, parseDuration } from './duration';
export type { ResticDuration } from './duration';
