/**
 * Rotating verification: each run re-reads a different slice of the vault's pack files (every
 * blob decrypted and verified, like `restic check --read-data-subset n/t`), the packs read longest
 * ago (never read first), so that with one run a day every pack is re-read within `windowDays`.
 * When each pack was last read is kept in `<home>/verification.json`, so coverage carries across
 * runs and restarts. A damaged pack is reported with the snapshots that need it.
 *
 * | event                   | payload                    | when                               |
 * |-------------------------|----------------------------|------------------------------------|
 * | `verification:finished` | {@link RotatingCheckReport} | every run                          |
 * | `verification:bad-pack` | {@link BadPack}            | each damaged pack a run found (notify) |
 *
 * The scheduler calls {@link runRotatingCheck} once a day (inside a job) or `core.verification.start()`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BadPack, RotatingCheckReport, VerificationCoverage } from '../../shared/verification';
import type { Core } from '../core';
import type { JobContext } from '../jobs/job-manager';
import { writeFileAtomic } from '../fs/atomic-write';

interface State {
  windowDays: number;
  /** pack id → when it was last read whole. */
  lastRead: Record<string, string>;
  /** pack id → size, as of the last run. */
  sizes: Record<string, number>;
  lastRun: string | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_WINDOW_DAYS = 30;

export function runRotatingCheck(core: Core, ctx: JobContext): Promise<RotatingCheckReport> {
  return core.verification.run(ctx);
}

export class RotatingVerification {
  constructor(private readonly core: Core) {}

  private get file(): string {
    return path.join(this.core.home.root, 'verification.json');
  }

  private async state(): Promise<State> {
    const text = await readFile(this.file, 'utf8').catch(() => null);
    return text ? (JSON.parse(text) as State) : { windowDays: DEFAULT_WINDOW_DAYS, lastRead: {}, sizes: {}, lastRun: null };
  }

  async setWindow(windowDays: number): Promise<VerificationCoverage> {
    const state = await this.state();
    state.windowDays = windowDays;
    await writeFileAtomic(this.file, `${JSON.stringify(state)}\n`);
    return this.coverage();
  }

  /** One run: reads the slice due now, records it, reports coverage and bad packs. */
  async run(ctx: JobContext): Promise<RotatingCheckReport> {
    const state = await this.state();
    let chosen: string[] = [];
    const sizes: Record<string, number> = {};
    const check = await this.core.vault.check(true, ctx, (packs) => {
      const perRun = Math.max(1, Math.ceil(packs.length / state.windowDays));
      // Never read first, then the ones read longest ago; ties by id so runs are deterministic.
      chosen = packs.map((p) => p.id).sort((a, b) => (state.lastRead[a] ?? '').localeCompare(state.lastRead[b] ?? '') || a.localeCompare(b)).slice(0, perRun);
      for (const p of packs) sizes[p.id] = p.size;
      return chosen;
    });
    const now = new Date().toISOString();
    const lastRead: Record<string, string> = {};
    // Packs pruned away leave the record; the ones still there keep when they were read.
    for (const id of Object.keys(sizes)) if (state.lastRead[id]) lastRead[id] = state.lastRead[id]!;
    for (const id of chosen) lastRead[id] = now;
    const next: State = { windowDays: state.windowDays, lastRead, sizes, lastRun: now };
    await writeFileAtomic(this.file, `${JSON.stringify(next)}\n`);
    const badPacks = badPacksOf(check.problems);
    const report: RotatingCheckReport = { check, packsReadNow: chosen, badPacks, coverage: this.coverageOf(next, Date.now()) };
    this.core.events.emit('verification:finished', report);
    for (const bad of badPacks) this.core.events.emit('verification:bad-pack', bad);
    return report;
  }

  async coverage(now = Date.now()): Promise<VerificationCoverage> {
    return this.coverageOf(await this.state(), now);
  }

  private coverageOf(state: State, now: number): VerificationCoverage {
    const ids = Object.keys(state.sizes);
    const recent = ids.filter((id) => state.lastRead[id] && now - Date.parse(state.lastRead[id]!) <= state.windowDays * DAY_MS);
    const bytes = ids.reduce((n, id) => n + (state.sizes[id] ?? 0), 0);
    const bytesRead = recent.reduce((n, id) => n + (state.sizes[id] ?? 0), 0);
    const reads = ids.map((id) => state.lastRead[id]).filter((t): t is string => t !== undefined).sort();
    return {
      windowDays: state.windowDays,
      slices: state.windowDays,
      packs: ids.length,
      bytes,
      packsRead: recent.length,
      bytesRead,
      percent: bytes > 0 ? Math.floor((1000 * bytesRead) / bytes) / 10 : ids.length > 0 && recent.length === ids.length ? 100 : 0,
      oldestRead: reads.length === ids.length && reads.length > 0 ? reads[0]! : null,
      lastRun: state.lastRun,
    };
  }

  start(): { jobId: string } {
    const job = this.core.jobs.start({ kind: 'vault-check', title: 'Rotating verification: re-read the slice of the vault due now', queue: { name: 'verification', limit: 1 } }, (ctx) => this.run(ctx));
    return { jobId: job.id };
  }
}

/** Damaged packs named in the check's problems, with the snapshots whose files need them. */
function badPacksOf(problems: { snapshotId?: string; message: string }[]): BadPack[] {
  const packs = new Map<string, Set<string>>();
  for (const p of problems) {
    const damaged = /^Pack ([0-9a-f]{64})(?: is damaged|: \w+ blob [0-9a-f]+ is damaged)/.exec(p.message);
    if (damaged && !packs.has(damaged[1]!)) packs.set(damaged[1]!, new Set());
  }
  for (const p of problems) {
    if (!p.snapshotId) continue;
    for (const m of p.message.matchAll(/in pack ([0-9a-f]{64}), which is damaged/g)) packs.get(m[1]!)?.add(p.snapshotId);
  }
  return [...packs].map(([packId, snapshots]) => ({ packId, snapshotIds: [...snapshots].sort() }));
}
