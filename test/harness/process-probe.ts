// Watching another process from outside, through Linux's /proc: how far it has read a file (the
// offset of its descriptor on it), whether it still runs, and freezing it (SIGSTOP) so that what is
// seen is exactly where it stands when it is then killed.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The state letter of a task in /proc/…/stat (R, S, D, T, t, Z, X…), or null when it is gone. */
function taskState(statFile: string): string | null {
  try {
    const stat = readFileSync(statFile, 'utf8');
    // "pid (comm) S …": comm may hold spaces and parentheses, the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Whether `pid` runs (or is stopped): false once it has exited, even before its parent reaps it. */
export function isRunning(pid: number): boolean {
  const state = taskState(`/proc/${pid}/stat`);
  return state !== null && state !== 'Z' && state !== 'X';
}

/** The offset of `pid`'s descriptor on `file` (bytes read so far for a sequential reader), or null without one. */
export function fileOffset(pid: number, file: string): number | null {
  return new ReadProbe(pid, file).offset();
}

function offsetIfOn(pid: number, fd: string, file: string): number | null {
  try {
    if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== file) return null;
    const pos = /^pos:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    return pos ? Number(pos[1]) : null;
  } catch {
    // Closed meanwhile.
    return null;
  }
}

/** Follows one process's reading of one file, remembering its descriptor between looks. */
export class ReadProbe {
  private fd: string | null = null;
  /** Whether the process has been seen with the file open. */
  opened = false;

  constructor(
    readonly pid: number,
    readonly file: string,
  ) {}

  /** Bytes read so far, null while it has no descriptor on the file (not yet, or no longer). */
  offset(): number | null {
    if (this.fd !== null) {
      const offset = offsetIfOn(this.pid, this.fd, this.file);
      if (offset !== null) return offset;
      this.fd = null;
    }
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${this.pid}/fd`);
    } catch {
      return null;
    }
    for (const fd of fds) {
      const offset = offsetIfOn(this.pid, fd, this.file);
      if (offset !== null) {
        this.fd = fd;
        this.opened = true;
        return offset;
      }
    }
    return null;
  }
}

/**
 * Stops every thread of `pid` (SIGSTOP) and waits until the kernel shows each one stopped, so that
 * its files and descriptors no longer change. Returns false when it had already exited.
 */
export async function freeze(pid: number, timeoutMs = 30_000): Promise<boolean> {
  if (!isRunning(pid)) return false;
  process.kill(pid, 'SIGSTOP');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isRunning(pid)) return false;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return false;
    }
    const states = tasks.map((task) => taskState(`/proc/${pid}/task/${task}/stat`));
    if (states.every((s) => s === null || s === 'T' || s === 't')) return true;
    if (Date.now() > deadline) throw new Error(`process ${pid} did not stop within ${timeoutMs} ms after SIGSTOP (thread states ${states.join('')})`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * Runs the probed process in short bursts between SIGSTOPs until `reached` holds for its read
 * offset, and returns with it stopped there (true), or false if it exited first. However busy the
 * machine, it gets past the aimed point by at most what it reads in one burst: it is stopped
 * whenever this process is not looking.
 */
export async function stepUntil(probe: ReadProbe, reached: (offset: number | null) => boolean, burstMs = 2): Promise<boolean> {
  for (;;) {
    if (!(await freeze(probe.pid))) return false;
    if (reached(probe.offset())) return true;
    process.kill(probe.pid, 'SIGCONT');
    const start = performance.now();
    while (performance.now() - start < burstMs && !reached(probe.offset()) && isRunning(probe.pid));
  }
}
