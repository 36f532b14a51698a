import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** GNU time's format for a measured process: peak RSS in KiB, user and system CPU seconds. */
export const TIME_FORMAT = '%M %U %S';

/** One benchmark figure: ours reports its in-process time, anchors their whole-process time. */
export interface Measurement {
  label: string;
  seconds: number;
  /** Whole-process wall time (for ours: Node + tsx start-up included). */
  wallSeconds: number;
  peakRssMb: number;
  /** User + system CPU seconds of the measured process and the children it waited for (GNU time %U + %S). */
  cpuSeconds?: number;
  note?: string;
}

/**
 * Reads the last line GNU time wrote to stderr: `%M` alone (peak RSS) or TIME_FORMAT (peak RSS,
 * user and system seconds).
 */
export function gnuTime(stderr: string): { peakRssMb: number; cpuSeconds?: number } {
  const [rss, user, sys] = (stderr.trim().split('\n').at(-1) ?? '').trim().split(/\s+/).map(Number);
  const peakRssMb = Number(rss) / 1024;
  return user === undefined || sys === undefined ? { peakRssMb } : { peakRssMb, cpuSeconds: user + sys };
}

/** Runs `once` `runs` times and keeps the fastest. */
export async function bestOf(label: string, runs: number, once: () => Promise<Omit<Measurement, 'label'>>): Promise<Measurement> {
  let best: Measurement | null = null;
  for (let i = 0; i < runs; i++) {
    const m = { ...(await once()), label };
    if (!best || m.seconds < best.seconds) best = m;
  }
  return best as Measurement;
}

/**
 * Times a command that runs under `/usr/bin/time -f %M` or `-f TIME_FORMAT` (on stderr's last line).
 * A child of ours prints `bench-seconds=N` for its in-process time; anchors get their wall time.
 */
export function measureCommand(label: string, argv: string[], options: { runs: number; env?: NodeJS.ProcessEnv; before?: () => Promise<void> }): Promise<Measurement> {
  return bestOf(label, options.runs, async () => {
    if (options.before) await options.before();
    const started = performance.now();
    const { stdout, stderr } = await execFileAsync(argv[0] as string, argv.slice(1), { env: options.env ?? process.env, maxBuffer: 256 * 1024 * 1024 });
    const wallSeconds = (performance.now() - started) / 1000;
    const inner = /^bench-seconds=([\d.]+)$/m.exec(stdout);
    return { seconds: inner ? Number(inner[1]) : wallSeconds, wallSeconds, ...gnuTime(stderr) };
  });
}
