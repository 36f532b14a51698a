/**
 * The restore journal: one small JSON file per running restore in `<home>/restores/journal/`,
 * written durably (temp file, fsync, rename, fsync of the directory) at every phase change and
 * when the point of no return is passed — before the module goes on to change the target. A
 * restore that ends removes its file; a file whose writer is gone at the next start is a restore
 * that was interrupted. It holds ids, names, the phase and times, never a secret.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { InterruptedRestore, InterruptedTargetState, RestorePhase } from '../../shared/apps';
import type { AppKind } from '../../shared/installations';

export interface JournalEntry {
  version: 1;
  restoreId: string;
  planId: string | null;
  installationId: string;
  installationName: string;
  app: AppKind;
  sourceLabel: string;
  snapshotId: string | null;
  mode: string;
  phase: RestorePhase;
  pointOfNoReturnPassed: boolean;
  safetySnapshotId: string | null;
  startedAt: string;
  phaseStartedAt: string;
  updatedAt: string;
  /** The writing process, to tell a restore another Lifeboat process is running from one that died. */
  writer: { pid: number; startTicks: string | null };
  /** Set by the start that found it interrupted (its job record and audit entry are written then, once). */
  detectedAt?: string;
}

const PHASE_WORDS: Record<RestorePhase, string> = {
  plan: 'while planning',
  'safety-pull': 'during the safety pull',
  restoring: 'while restoring',
  verifying: 'while verifying',
};

/** The start time of a process in clock ticks since boot (Linux), so a reused pid is not taken for the writer. */
function startTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name (which is in parentheses and may hold spaces).
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

const OWN_WRITER = { pid: process.pid, startTicks: startTicks(process.pid) };

function writerAlive(writer: JournalEntry['writer']): boolean {
  if (writer.pid === process.pid) return writer.startTicks === OWN_WRITER.startTicks;
  try {
    process.kill(writer.pid, 0);
  } catch {
    // ESRCH: gone. EPERM: another user's process has that pid now, not a Lifeboat of this data directory's owner.
    return false;
  }
  const ticks = startTicks(writer.pid);
  return writer.startTicks === null || ticks === null || ticks === writer.startTicks;
}

/** What the target is in after an interruption, said for the operator. */
export function describeInterruption(entry: JournalEntry): Pick<InterruptedRestore, 'targetState' | 'summary' | 'advice'> {
  // Verifying: the module's restore step returned, so whatever it changes has been changed.
  const targetState: InterruptedTargetState = entry.phase === 'verifying' ? 'restored-unverified' : entry.pointOfNoReturnPassed ? 'partial' : 'unchanged';
  const summary = `The restore of ${entry.sourceLabel} into "${entry.installationName}" (${entry.mode}) was interrupted ${PHASE_WORDS[entry.phase]}: Lifeboat stopped before it ended.`;
  const safety = entry.safetySnapshotId ? `the safety snapshot ${entry.safetySnapshotId.slice(0, 8)} holds "${entry.installationName}" as it was before` : 'no safety snapshot was taken';
  const advice =
    targetState === 'unchanged'
      ? `"${entry.installationName}" is unchanged: the restore stopped before its point of no return. Start the restore again when you are ready${entry.safetySnapshotId ? ` (${safety})` : ''}.`
      : targetState === 'partial'
        ? `"${entry.installationName}" is partially restored, its state unknown: the restore stopped after its point of no return. Restore again, or restore the safety snapshot (${safety}).`
        : `"${entry.installationName}" was restored, but not verified: the restore step ended and its verification did not. Check it, restore again, or restore the safety snapshot (${safety}).`;
  return { targetState, summary, advice };
}

export function toInterrupted(entry: JournalEntry): InterruptedRestore {
  return {
    restoreId: entry.restoreId,
    planId: entry.planId,
    installationId: entry.installationId,
    installationName: entry.installationName,
    app: entry.app,
    sourceLabel: entry.sourceLabel,
    snapshotId: entry.snapshotId,
    mode: entry.mode,
    phase: entry.phase,
    pointOfNoReturnPassed: entry.pointOfNoReturnPassed,
    safetySnapshotId: entry.safetySnapshotId,
    startedAt: entry.startedAt,
    phaseStartedAt: entry.phaseStartedAt,
    detectedAt: entry.detectedAt ?? new Date().toISOString(),
    ...describeInterruption(entry),
  };
}

/** Writes `data` to `target` so that a crash leaves the old or the new file, never a mix (synchronous: callers go on only once it is on disk). */
function writeDurably(target: string, data: string): void {
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, target);
  syncDir(dir);
}

function syncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The journal directory of one data directory. */
export class RestoreJournal {
  constructor(private readonly dir: string) {}

  private file(restoreId: string): string {
    return path.join(this.dir, `${path.basename(restoreId)}.json`);
  }

  /** Records a restore that starts (or its plan), in `phase`. */
  begin(fields: Omit<JournalEntry, 'version' | 'pointOfNoReturnPassed' | 'safetySnapshotId' | 'startedAt' | 'phaseStartedAt' | 'updatedAt' | 'writer'>): JournalEntry {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const now = new Date().toISOString();
    const entry: JournalEntry = { version: 1, ...fields, pointOfNoReturnPassed: false, safetySnapshotId: null, startedAt: now, phaseStartedAt: now, updatedAt: now, writer: OWN_WRITER };
    this.write(entry);
    return entry;
  }

  /** Records a change (a new phase, the safety snapshot, the point of no return); durable when it returns. */
  update(entry: JournalEntry, change: Partial<Pick<JournalEntry, 'phase' | 'pointOfNoReturnPassed' | 'safetySnapshotId' | 'planId'>>): void {
    const now = new Date().toISOString();
    if (change.phase && change.phase !== entry.phase) entry.phaseStartedAt = now;
    Object.assign(entry, change, { updatedAt: now });
    this.write(entry);
  }

  /** The restore ended (whatever its outcome): its journal goes. */
  end(entry: JournalEntry): void {
    rmSync(this.file(entry.restoreId), { force: true });
    syncDir(this.dir);
  }

  private write(entry: JournalEntry): void {
    writeDurably(this.file(entry.restoreId), `${JSON.stringify(entry, null, 2)}\n`);
  }

  /** Journals whose writer is gone: restores that were interrupted. One unreadable file is skipped, never fatal. */
  interrupted(): JournalEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
    } catch {
      return [];
    }
    const found: JournalEntry[] = [];
    for (const name of names) {
      try {
        const entry = JSON.parse(readFileSync(path.join(this.dir, name), 'utf8')) as JournalEntry;
        if (entry.version !== 1 || typeof entry.restoreId !== 'string') continue;
        if (entry.detectedAt === undefined && writerAlive(entry.writer)) continue;
        found.push(entry);
      } catch {
        continue;
      }
    }
    return found.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  /** Marks an interrupted journal as reported (its job record and audit entry are written). */
  markDetected(entry: JournalEntry): void {
    entry.detectedAt = new Date().toISOString();
    this.write(entry);
  }

  /** The operator has seen it: the journal goes. */
  acknowledge(restoreId: string): boolean {
    const known = this.interrupted().some((e) => e.restoreId === restoreId);
    if (known) this.end({ restoreId } as JournalEntry);
    return known;
  }
}
