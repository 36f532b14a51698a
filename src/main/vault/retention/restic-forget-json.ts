/**
 * Reads the output of `restic forget --dry-run --json` and puts it, and Lifeboat's own decision,
 * into one comparable shape. Used to check Lifeboat's retention against the restic CLI (the
 * parity tests, and a diagnostics view when a user runs restic on the same vault).
 */
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';
import type { PolicyCounters, PolicyResult } from './policy';

const snapshotSchema = z.object({ id: z.string(), time: z.string() });
const groupSchema = z.object({
  tags: z.array(z.string()).nullable(),
  host: z.string(),
  paths: z.array(z.string()).nullable(),
  keep: z.array(snapshotSchema).nullable(),
  remove: z.array(snapshotSchema).nullable(),
  reasons: z.array(z.object({
    matches: z.array(z.string()),
    // restic leaves zero counters out (`omitempty`).
    counters: z.object({
      last: z.number().optional(), hourly: z.number().optional(), daily: z.number().optional(),
      weekly: z.number().optional(), monthly: z.number().optional(), yearly: z.number().optional(),
    }),
  })).nullable(),
});

/** One group's decision by snapshot ID, newest first; the comparable form of both restic's and our output. */
export interface ForgetGroupReport {
  hostname: string;
  paths: string[] | null;
  tags: string[] | null;
  keep: { id: string; reasons: string[]; counters: PolicyCounters }[];
  remove: string[];
}

/** Parses restic forget's JSON (empty output, as restic 0.14 prints for an empty policy, gives no groups). Groups sorted like applyPolicy's. */
export function parseResticForgetJson(text: string): ForgetGroupReport[] {
  if (text.trim() === '') return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new LifeboatError('INVALID_INPUT', 'restic forget output is not JSON.', { cause });
  }
  const parsed = z.array(groupSchema).safeParse(raw);
  if (!parsed.success) {
    throw new LifeboatError('INVALID_INPUT', `restic forget output does not have the expected shape: ${parsed.error.message}`);
  }
  const groups = parsed.data.map((g): ForgetGroupReport => {
    const keep = g.keep ?? [];
    const reasons = g.reasons ?? [];
    if (reasons.length !== keep.length) {
      throw new LifeboatError('INVALID_INPUT', `restic forget output lists ${keep.length} kept snapshots but ${reasons.length} reasons.`);
    }
    return {
      hostname: g.host,
      paths: g.paths,
      tags: g.tags,
      keep: keep.map((s, i) => {
        const r = reasons[i] ?? { matches: [], counters: {} };
        const c = r.counters;
        return { id: s.id, reasons: r.matches, counters: { last: c.last ?? 0, hourly: c.hourly ?? 0, daily: c.daily ?? 0, weekly: c.weekly ?? 0, monthly: c.monthly ?? 0, yearly: c.yearly ?? 0 } };
      }),
      remove: (g.remove ?? []).map((s) => s.id),
    };
  });
  return groups.sort((a, b) => groupKey(a).localeCompare(groupKey(b)));
}

/** Lifeboat's decision in the same shape as parseResticForgetJson's. */
export function reportPolicyResult(result: PolicyResult): ForgetGroupReport[] {
  return result.groups
    .map((g) => ({
      hostname: g.hostname,
      paths: g.paths,
      tags: g.tags,
      keep: g.keep.map((k) => ({ id: k.snapshot.id, reasons: k.reasons, counters: k.counters })),
      remove: g.remove.map((r) => r.snapshot.id),
    }))
    .sort((a, b) => groupKey(a).localeCompare(groupKey(b)));
}

function groupKey(g: ForgetGroupReport): string {
  return JSON.stringify([g.hostname, g.paths, g.tags]);
}
