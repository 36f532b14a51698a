import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** One benchmark figure: ours reports its in-process time, anchors their whole-process time. */
export interface Measurement {
  label: string;
  seconds: number;
  /** Whole-process wall time (for ours: Node + tsx start-up included). */
  wallSeconds: number;
  peakRssMb: number;
  note?: string;
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
 * Times a command that runs under `/usr/bin/time -f %M` (peak RSS in KiB on stderr's last line).
 * A child of ours prints `bench-seconds=N` for its in-process time; anchors get their wall time.
 */
export function measureCommand(label: string, argv: string[], options: { runs: number; env?: NodeJS.ProcessEnv; before?: () => Promise<void> }): Promise<Measurement> {
  return bestOf(label, options.runs, async () => {
    if (options.before) await options.before();
    const started = performance.now();
    const { stdout, stderr } = await execFileAsync(argv[0] as string, argv.slice(1), { env: options.env ?? process.env, maxBuffer: 256 * 1024 * 1024 });
    const wallSeconds = (performance.now() - started) / 1000;
    const inner = /^bench-seconds=([\d.]+)$/m.exec(stdout);
    return { seconds: inner ? Number(inner[1]) : wallSeconds, wallSeconds, peakRssMb: Number(stderr.trim().split('\n').at(-1)) / 1024 };
  });
}
