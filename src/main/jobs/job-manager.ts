import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { appendFile, rename } from 'node:fs/promises';
import { LifeboatError, toErrorPayload } from '../../shared/errors';
import { isFinished, isSuccess, type JobKind, type JobProgress, type JobRecord } from '../../shared/jobs';
import type { EventBus } from '../events/event-bus';

/** What a running job may do: report progress, log, declare its point of no return, notice cancel. */
export interface JobContext {
  readonly jobId: string;
  readonly signal: AbortSignal;
  progress(update: Partial<Pick<JobProgress, 'phase' | 'bytes' | 'total'>>): void;
  log(line: string): void;
  /** After this, cancel is refused: the job is changing something it cannot roll back. */
  passPointOfNoReturn(what: string): void;
  /** Throws CANCELLED if the job was asked to stop. */
  throwIfCancelled(): void;
  /** Records something the operator must know; the job then ends `succeeded-with-warnings`. */
  warn(message: string): void;
  /** Keeps a result even if the job then fails (a restore report whose verification failed). */
  keepResult(result: unknown): void;
}

export interface JobSpec {
  kind: JobKind;
  title: string;
  installationId?: string | null;
  /** Why it runs, when no operator started it (the scheduler's "missed 2 runs while asleep"). */
  reason?: string;
  /** Jobs of the same queue share a concurrency limit; `perKey` allows one running job per key. */
  queue?: { name: string; limit: number; perKey?: string };
}

type Runner<T> = (ctx: JobContext) => Promise<T>;

interface LiveJob {
  record: JobRecord;
  spec: JobSpec;
  controller: AbortController;
  run: Runner<unknown>;
  samples: { at: number; bytes: number }[];
  lastEmit: number;
  done: Promise<JobRecord>;
  resolveDone: (record: JobRecord) => void;
  keptResult: unknown;
}

const EMIT_INTERVAL_MS = 250;
const RATE_WINDOW_MS = 5_000;
const LOG_LINES_KEPT = 200;
const FINISHED_JOBS_KEPT = 500;
/** Only this much of the end of the history file is read. */
const HISTORY_TAIL_BYTES = 8 * 1024 * 1024;
/** A history file larger than this is moved aside at start-up. */
const HISTORY_ROTATE_BYTES = 32 * 1024 * 1024;
/** A job's result larger than this (as JSON) is not kept in the history file (a preview's sidecar texts). */
const MAX_KEPT_RESULT_BYTES = 64 * 1024;

/** The history line of a finished job: its record, with a large result left out and said so. */
function historyLine(record: JobRecord): string {
  const result = JSON.stringify(record.result ?? null);
  if (result.length <= MAX_KEPT_RESULT_BYTES) return JSON.stringify(record);
  return JSON.stringify({ ...record, result: { omitted: `the result (${result.length} bytes) is not kept in the job history` } });
}

/** Reads bytes [start, end) of a file as UTF-8 (small, synchronous reads: the tail of a log). */
function readRange(file: string, start: number, end: number): string {
  const buffer = Buffer.alloc(end - start);
  const fd = openSync(file, 'r');
  try {
    let done = 0;
    while (done < buffer.length) {
      const n = readSync(fd, buffer, done, buffer.length - done, start + done);
      if (n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Runs every long action as a job record the UI can follow and cancel. */
export class JobManager {
  private readonly jobs = new Map<string, LiveJob>();
  private readonly history: JobRecord[] = [];
  /** Ids in `history`, so a line read twice (ours, or after a rotation) is taken once. */
  private readonly known = new Set<string>();
  /** How far the history file has been read. */
  private readOffset = 0;

  constructor(
    private readonly events: EventBus,
    private readonly historyFile: string | null,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Loads finished jobs of earlier sessions so the Activity page has history. Only the file's tail
   * is read (a history that grew huge never stops start-up), and a file past HISTORY_ROTATE_BYTES
   * is moved aside to `<file>.old` so it does not grow without bound.
   */
  async loadHistory(): Promise<void> {
    if (!this.historyFile) return;
    const size = statSync(this.historyFile, { throwIfNoEntry: false })?.size ?? 0;
    if (size > HISTORY_ROTATE_BYTES) {
      await rename(this.historyFile, `${this.historyFile}.old`);
      this.readOffset = 0;
      this.readTail(`${this.historyFile}.old`, size);
      return;
    }
    this.readTail(this.historyFile, size);
    this.readOffset = size;
  }

  /**
   * Takes in jobs another Lifeboat process (the CLI beside a running serve) finished since the
   * file was last read, so every process shows the same history.
   */
  private syncFromDisk(): void {
    if (!this.historyFile) return;
    const size = statSync(this.historyFile, { throwIfNoEntry: false })?.size ?? 0;
    if (size < this.readOffset) this.readOffset = 0;
    if (size === this.readOffset) return;
    const start = Math.max(this.readOffset, size - HISTORY_TAIL_BYTES);
    const text = readRange(this.historyFile, start, size);
    // A line still being written by the other process is read again next time.
    const complete = text.lastIndexOf('\n') + 1;
    this.addLines(text.slice(0, complete), start > this.readOffset);
    this.readOffset = start + Buffer.byteLength(text.slice(0, complete));
  }

  private readTail(file: string, size: number): void {
    if (size === 0) return;
    const start = Math.max(0, size - HISTORY_TAIL_BYTES);
    this.addLines(readRange(file, start, size), start > 0);
  }

  private addLines(text: string, firstIsPartial: boolean): void {
    const lines = text.split('\n').filter(Boolean);
    if (firstIsPartial) lines.shift();
    for (const line of lines) {
      try {
        // Records written before jobs had warnings have none.
        const record = JSON.parse(line) as Partial<JobRecord> & Omit<JobRecord, 'warnings'>;
        if (this.known.has(record.id) || this.jobs.has(record.id)) continue;
        this.known.add(record.id);
        this.history.push({ ...record, warnings: record.warnings ?? [] });
      } catch {
        // A torn last line after a crash is expected in an append-only file; skip it.
        continue;
      }
    }
    this.history.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    if (this.history.length > FINISHED_JOBS_KEPT) this.history.splice(0, this.history.length - FINISHED_JOBS_KEPT);
  }

  /**
   * Adds the record of a job that ended without this manager seeing it end (a restore whose
   * process was killed, found in the restore journal at the next start) to the history, once.
   */
  async recordFinished(record: JobRecord): Promise<void> {
    this.syncFromDisk();
    if (this.known.has(record.id) || this.jobs.has(record.id)) return;
    this.known.add(record.id);
    this.history.push(structuredClone(record));
    this.history.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    if (this.history.length > FINISHED_JOBS_KEPT) this.history.splice(0, this.history.length - FINISHED_JOBS_KEPT);
    if (this.historyFile) await appendFile(this.historyFile, `${historyLine(record)}\n`, { mode: 0o600 });
    this.events.emit('job:update', structuredClone(record));
  }

  /** Queues a job and returns its record at once; `wait(id)` resolves when it ends. */
  start<T>(spec: JobSpec, run: Runner<T>): JobRecord {
    const id = randomUUID();
    const record: JobRecord = {
      id,
      kind: spec.kind,
      title: spec.title,
      installationId: spec.installationId ?? null,
      ...(spec.reason ? { reason: spec.reason } : {}),
      status: 'queued',
      progress: { phase: 'queued', bytes: 0, total: null, rate: null, etaSeconds: null },
      cancellable: true,
      createdAt: new Date(this.now()).toISOString(),
      startedAt: null,
      finishedAt: null,
      error: null,
      warnings: [],
      result: null,
      log: spec.reason ? [`${new Date(this.now()).toISOString()} ${spec.reason}`] : [],
    };
    let resolveDone!: (record: JobRecord) => void;
    const done = new Promise<JobRecord>((resolve) => (resolveDone = resolve));
    const job: LiveJob = { record, spec, controller: new AbortController(), run, samples: [], lastEmit: 0, done, resolveDone, keptResult: null };
    this.jobs.set(id, job);
    this.emit(job);
    this.pump();
    return { ...record };
  }

  /** Starts a job and waits for it; throws the job's error if it failed or was cancelled. */
  async runToCompletion<T>(spec: JobSpec, run: Runner<T>): Promise<T> {
    const started = this.start(spec, run);
    const finished = await this.wait(started.id);
    if (isSuccess(finished.status)) return finished.result as T;
    throw LifeboatError.fromPayload(finished.error ?? { code: 'INTERNAL', message: 'Job ended without a result.' });
  }

  async wait(id: string): Promise<JobRecord> {
    const job = this.jobs.get(id);
    if (job) return job.done;
    return this.get(id);
  }

  get(id: string): JobRecord {
    const job = this.jobs.get(id);
    if (job) return structuredClone(job.record);
    this.syncFromDisk();
    const old = this.history.find((r) => r.id === id);
    if (old) return structuredClone(old);
    throw new LifeboatError('NOT_FOUND', `No job with id ${id}.`);
  }

  list(filter: { installationId?: string; limit?: number } = {}): JobRecord[] {
    this.syncFromDisk();
    const live = [...this.jobs.values()].map((j) => j.record);
    const all = [...live, ...this.history.filter((h) => !this.jobs.has(h.id))]
      .filter((r) => !filter.installationId || r.installationId === filter.installationId)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return structuredClone(all.slice(0, filter.limit ?? 200));
  }

  cancel(id: string): JobRecord {
    const job = this.jobs.get(id);
    if (!job) {
      const record = this.get(id);
      if (isFinished(record.status)) return record;
      throw new LifeboatError('NOT_FOUND', `No running job with id ${id}.`);
    }
    if (isFinished(job.record.status)) return structuredClone(job.record);
    if (!job.record.cancellable) {
      throw new LifeboatError('INVALID_INPUT', `"${job.record.title}" is past its point of no return and cannot be cancelled.`);
    }
    if (job.record.status === 'queued') {
      this.finish(job, 'cancelled', null, { code: 'CANCELLED', message: 'Cancelled before it started.' });
    } else {
      job.controller.abort(new LifeboatError('CANCELLED', 'Cancelled by the operator.'));
      job.record.log.push(`${new Date(this.now()).toISOString()} cancel requested`);
      this.emit(job);
    }
    return structuredClone(job.record);
  }

  /** Cancels every cancellable job and waits for all to settle (used on shutdown). */
  async shutdown(): Promise<void> {
    const pending = [...this.jobs.values()].filter((j) => !isFinished(j.record.status));
    for (const job of pending) {
      if (job.record.cancellable) this.cancel(job.record.id);
    }
    await Promise.all(pending.map((j) => j.done));
  }

  private pump(): void {
    for (const job of this.jobs.values()) {
      if (job.record.status !== 'queued' || !this.mayStart(job)) continue;
      void this.execute(job);
    }
  }

  private mayStart(job: LiveJob): boolean {
    const queue = job.spec.queue;
    if (!queue) return true;
    const running = [...this.jobs.values()].filter(
      (j) => j.record.status === 'running' && j.spec.queue?.name === queue.name,
    );
    if (running.length >= queue.limit) return false;
    return !queue.perKey || !running.some((j) => j.spec.queue?.perKey === queue.perKey);
  }

  private async execute(job: LiveJob): Promise<void> {
    job.record.status = 'running';
    job.record.startedAt = new Date(this.now()).toISOString();
    job.record.progress.phase = 'starting';
    this.emit(job);
    const ctx = this.contextFor(job);
    try {
      const result = await job.run(ctx);
      if (job.controller.signal.aborted && job.record.cancellable) {
        this.finish(job, 'cancelled', null, { code: 'CANCELLED', message: 'Cancelled by the operator.' });
      } else {
        this.finish(job, job.record.warnings.length > 0 ? 'succeeded-with-warnings' : 'succeeded', result ?? null, null);
      }
    } catch (error) {
      const payload = toErrorPayload(error);
      const cancelled = job.controller.signal.aborted && (payload.code === 'CANCELLED' || payload.code === 'INTERNAL');
      this.finish(job, cancelled ? 'cancelled' : 'failed', job.keptResult, cancelled ? { code: 'CANCELLED', message: 'Cancelled by the operator.' } : payload);
    }
  }

  private contextFor(job: LiveJob): JobContext {
    const signal = job.controller.signal;
    return {
      jobId: job.record.id,
      signal,
      progress: (update) => this.progress(job, update),
      log: (line) => {
        job.record.log.push(`${new Date(this.now()).toISOString()} ${line}`);
        if (job.record.log.length > LOG_LINES_KEPT) job.record.log.splice(0, job.record.log.length - LOG_LINES_KEPT);
        this.emit(job);
      },
      passPointOfNoReturn: (what) => {
        job.record.cancellable = false;
        job.record.log.push(`${new Date(this.now()).toISOString()} point of no return: ${what}`);
        this.emit(job);
      },
      throwIfCancelled: () => {
        if (signal.aborted) throw new LifeboatError('CANCELLED', 'Cancelled by the operator.');
      },
      warn: (message) => {
        job.record.warnings.push(message);
        job.record.log.push(`${new Date(this.now()).toISOString()} warning: ${message}`);
        this.emit(job);
      },
      keepResult: (result) => {
        job.keptResult = result;
      },
    };
  }

  private progress(job: LiveJob, update: Partial<Pick<JobProgress, 'phase' | 'bytes' | 'total'>>): void {
    const p = job.record.progress;
    const phaseChanged = update.phase !== undefined && update.phase !== p.phase;
    if (phaseChanged) job.samples = [];
    Object.assign(p, update);
    const at = this.now();
    job.samples.push({ at, bytes: p.bytes });
    while (job.samples.length > 2 && at - job.samples[0]!.at > RATE_WINDOW_MS) job.samples.shift();
    const first = job.samples[0]!;
    const elapsed = (at - first.at) / 1000;
    p.rate = elapsed > 0.2 ? Math.max(0, (p.bytes - first.bytes) / elapsed) : p.rate;
    p.etaSeconds = p.total !== null && p.rate ? Math.max(0, (p.total - p.bytes) / p.rate) : null;
    if (phaseChanged || at - job.lastEmit >= EMIT_INTERVAL_MS) this.emit(job);
  }

  private finish(job: LiveJob, status: JobRecord['status'], result: unknown, error: JobRecord['error']): void {
    if (isFinished(job.record.status)) return;
    job.record.status = status;
    job.record.result = result;
    job.record.error = error;
    job.record.finishedAt = new Date(this.now()).toISOString();
    job.record.progress.phase = status;
    job.record.progress.rate = null;
    job.record.progress.etaSeconds = null;
    this.emit(job);
    this.jobs.delete(job.record.id);
    this.known.add(job.record.id);
    this.history.push(structuredClone(job.record));
    if (this.history.length > FINISHED_JOBS_KEPT) this.history.splice(0, this.history.length - FINISHED_JOBS_KEPT);
    if (this.historyFile) {
      appendFile(this.historyFile, `${historyLine(job.record)}\n`, { mode: 0o600 }).catch((e: unknown) => {
        job.record.log.push(`could not record job history: ${String(e)}`);
      });
    }
    job.resolveDone(structuredClone(job.record));
    this.pump();
  }

  private emit(job: LiveJob): void {
    job.lastEmit = this.now();
    this.events.emit('job:update', structuredClone(job.record));
  }
}
