// Runs fuzz cases in child processes (test/fuzz/worker.ts bundled like the CLI): one case at a time
// per child, each under a memory cap (the child's RSS is watched in /proc and its own peak reported)
// and a time cap that only detects hangs (generous: this is no speed test). A child that dies, hangs
// or goes over the cap is replaced and the case is counted as a crash, hang or over-memory; a case
// that leaves files in staging or next to its input counts as "wrote outside", and one that must be
// refused for a stated reason (a bomb) but was not, or for another, as "not refused".
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import type { FuzzCase } from './cases';

export type FuzzVerdict = 'valid' | 'typed' | 'crash' | 'hang' | 'over-memory' | 'wrote-outside' | 'not-refused';

export interface FuzzResult {
  format: string;
  name: string;
  verdict: FuzzVerdict;
  /** For a valid preview: whether it found the archive intact. */
  intact?: boolean;
  code?: string;
  message?: string;
  ms?: number;
  peakRssMb?: number;
}

export interface FuzzOptions {
  /** RSS cap of a child, MB (the 300). */
  memoryCapMb?: number;
  /** Per case; a hang detector for a loaded machine. */
  caseCapMs?: number;
  /** Children run side by side. */
  workers?: number;
  onResult?: (result: FuzzResult, done: number, total: number) => void;
}

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/** Bundles the worker next to the repository's node_modules (packages stay external, as in the CLI). */
async function bundleWorker(): Promise<string> {
  const outfile = path.join(ROOT, 'test', 'artifacts', 'fuzz', 'worker.mjs');
  await build({ entryPoints: [path.join(ROOT, 'test', 'fuzz', 'worker.ts')], outfile, bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', logLevel: 'warning' });
  return outfile;
}

function rssMb(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then(
    (text) => Number(/VmRSS:\s+(\d+) kB/.exec(text)?.[1] ?? 0) / 1024,
    () => 0,
  );
}

interface Done {
  outcome: 'valid' | 'typed' | 'crash';
  intact?: boolean;
  failedChecks?: string[];
  code?: string;
  message?: string;
  ms: number;
  peakRssMb: number;
  leftInStaging: string[];
}

/**
 * Whether a case was refused for the reason it must be: an ARCHIVE_INVALID whose message, or a
 * preview that found it broken one of whose failed checks (`reasons`), matches `refusal`.
 */
function refusedAs(refusal: RegExp, outcome: Done, reasons: string[]): boolean {
  const broken = (outcome.outcome === 'typed' && outcome.code === 'ARCHIVE_INVALID') || (outcome.outcome === 'valid' && outcome.intact === false);
  return broken && reasons.some((reason) => refusal.test(reason));
}

/** One child: previews one case at a time; `run` settles with what became of the case. */
class Child {
  private readonly process: ChildProcessWithoutNullStreams;
  private pending: ((outcome: Done | { died: string }) => void) | null = null;
  private stderr = '';
  private exited = false;

  constructor(workerFile: string, home: string, tmp: string) {
    this.process = spawn(process.execPath, [workerFile], { env: { ...process.env, LIFEBOAT_HOME: home, TMPDIR: tmp }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-2000)));
    createInterface({ input: this.process.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { event: string } & Done;
      if (message.event === 'done') this.settle(message);
    });
    this.process.on('exit', (code, signal) => {
      this.exited = true;
      this.settle({ died: `exit ${code ?? signal}: ${this.stderr.trim().split('\n').slice(-12).join(' | ')}` });
    });
  }

  get alive(): boolean {
    return !this.exited;
  }

  private settle(outcome: Done | { died: string }): void {
    const pending = this.pending;
    this.pending = null;
    pending?.(outcome);
  }

  async run(request: { id: number; file: string; app: string; key?: string }, memoryCapMb: number, caseCapMs: number): Promise<Done | { died: string } | { killed: 'hang' | 'over-memory'; peakRssMb: number }> {
    let peak = 0;
    let killed: 'hang' | 'over-memory' | null = null;
    const kill = (why: 'hang' | 'over-memory'): void => {
      killed ??= why;
      this.process.kill('SIGKILL');
    };
    const watch = setInterval(() => {
      void rssMb(this.process.pid!).then((mb) => {
        peak = Math.max(peak, mb);
        if (mb > memoryCapMb) kill('over-memory');
      });
    }, 20);
    const timer = setTimeout(() => kill('hang'), caseCapMs);
    try {
      const outcome = await new Promise<Done | { died: string }>((resolve) => {
        this.pending = resolve;
        this.process.stdin.write(`${JSON.stringify(request)}\n`);
      });
      if (killed) return { killed, peakRssMb: Math.round(peak) };
      return outcome;
    } finally {
      clearInterval(watch);
      clearTimeout(timer);
    }
  }

  stop(): void {
    if (!this.exited) this.process.stdin.end();
  }
}

/** Runs every case; the results are in the cases' order. */
export async function runFuzz(cases: FuzzCase[], options: FuzzOptions = {}): Promise<FuzzResult[]> {
  const memoryCapMb = options.memoryCapMb ?? 300;
  const caseCapMs = options.caseCapMs ?? 120_000;
  const workerFile = await bundleWorker();
  const root = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-fuzz-'));
  const results: FuzzResult[] = new Array(cases.length);
  let next = 0;
  let done = 0;
  try {
    const lane = async (lane: number): Promise<void> => {
      const home = path.join(root, `home-${lane}`);
      const tmp = path.join(root, `tmp-${lane}`);
      await mkdir(tmp, { recursive: true });
      let child = new Child(workerFile, home, tmp);
      while (next < cases.length) {
        const id = next++;
        const fuzzCase = cases[id]!;
        const dir = path.join(root, 'inputs', String(id));
        await mkdir(dir, { recursive: true });
        const file = path.join(dir, fuzzCase.fileName);
        await writeFile(file, await fuzzCase.bytes());
        for (const sidecar of fuzzCase.sidecars ?? []) await writeFile(path.join(dir, sidecar.name), sidecar.bytes);
        const expected = [fuzzCase.fileName, ...(fuzzCase.sidecars ?? []).map((s) => s.name)].sort();
        if (!child.alive) child = new Child(workerFile, home, tmp);
        const outcome = await child.run({ id, file, app: fuzzCase.app, ...(fuzzCase.key ? { key: fuzzCase.key } : {}) }, memoryCapMb, caseCapMs);
        const base = { format: fuzzCase.format, name: fuzzCase.name };
        let result: FuzzResult;
        if ('killed' in outcome) result = { ...base, verdict: outcome.killed, peakRssMb: outcome.peakRssMb };
        else if ('died' in outcome) result = { ...base, verdict: 'crash', message: outcome.died };
        else {
          const beside = (await readdir(dir)).sort();
          const strays = [...outcome.leftInStaging, ...beside.filter((f) => !expected.includes(f)), ...(await readdir(tmp))];
          const reasons = outcome.message ? [outcome.message] : (outcome.failedChecks ?? []);
          const refused = !fuzzCase.refusal || refusedAs(fuzzCase.refusal, outcome, reasons);
          const message = [...(strays.length > 0 ? [`left ${strays.join(', ')}`] : []), ...(refused ? [] : [`not refused as ${String(fuzzCase.refusal)}`]), ...reasons].join('; ');
          result = {
            ...base,
            verdict: outcome.peakRssMb > memoryCapMb ? 'over-memory' : strays.length > 0 ? 'wrote-outside' : !refused ? 'not-refused' : outcome.outcome,
            ...(outcome.intact !== undefined ? { intact: outcome.intact } : {}),
            ...(outcome.code ? { code: outcome.code } : {}),
            ...(message ? { message } : {}),
            ms: outcome.ms,
            peakRssMb: outcome.peakRssMb,
          };
        }
        await rm(dir, { recursive: true, force: true });
        results[id] = result;
        done += 1;
        options.onResult?.(result, done, cases.length);
      }
      child.stop();
    };
    await Promise.all(Array.from({ length: options.workers ?? 1 }, (_, i) => lane(i)));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return results;
}

const COLUMNS: FuzzVerdict[] = ['typed', 'valid', 'crash', 'hang', 'over-memory', 'wrote-outside', 'not-refused'];

/** The table per format: cases and how each ended (crash, hang, over-memory, wrote-outside and not-refused must be 0). */
export function fuzzTable(results: FuzzResult[]): string {
  const formats = [...new Set(results.map((r) => r.format))];
  const rows = [...formats, 'all'].map((format) => {
    const mine = format === 'all' ? results : results.filter((r) => r.format === format);
    return [format, String(mine.length), ...COLUMNS.map((verdict) => String(mine.filter((r) => r.verdict === verdict).length))];
  });
  const header = ['format', 'cases', 'typed errors', 'valid', 'crashes', 'hangs', 'over-memory', 'wrote outside', 'not refused'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** The results that must not happen. */
export function fuzzFailures(results: FuzzResult[]): FuzzResult[] {
  return results.filter((r) => r.verdict === 'crash' || r.verdict === 'hang' || r.verdict === 'over-memory' || r.verdict === 'wrote-outside' || r.verdict === 'not-refused');
}
