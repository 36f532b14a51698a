import { randomUUID } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
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

/** Runs every long action as a job record the UI can follow and cancel. */
export class JobManager {
  private readonly jobs = new Map<string, LiveJob>();
  private readonly history: JobRecord[] = [];

  constructor(
    private readonly events: EventBus,
    private readonly historyFile: string | null,
    private readonly now: () => number = Date.now,
  ) {}

  /** Loads finished jobs of earlier sessions so the Activity page has history. */
  async loadHistory(): Promise<void> {
    if (!this.historyFile) return;
    let text: string;
    try {
      text = await readFile(this.historyFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const lines = text.split('\n').filter(Boolean).slice(-FINISHED_JOBS_KEPT);
    for (const line of lines) {
      try {
        // Records written before jobs had warnings have none.
        const record = JSON.parse(line) as Partial<JobRecord> & Omit<JobRecord, 'warnings'>;
        this.history.push({ ...record, warnings: record.warnings ?? [] });
      } catch {
        // A torn last line after a crash is expected in an append-only file; skip it.
        continue;
      }
    }
  }

  /** Queues a job and returns its record at once; `wait(id)` resolves when it ends. */
  start<T>(spec: JobSpec, run: Runner<T>): JobRecord {
    const id = randomUUID();
    const record: JobRecord = {
      id,
      kind: spec.kind,
      title: spec.title,
      installationId: spec.installationId ?? null,
      status: 'queued',
      progress: { phase: 'queued', bytes: 0, total: null, rate: null, etaSeconds: null },
      cancellable: true,
      createdAt: new Date(this.now()).toISOString(),
      startedAt: null,
      finishedAt: null,
      error: null,
      warnings: [],
      result: null,
      log: [],
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
    const old = this.history.find((r) => r.id === id);
    if (old) return structuredClone(old);
    throw new LifeboatError('NOT_FOUND', `No job with id ${id}.`);
  }

  list(filter: { installationId?: string; limit?: number } = {}): JobRecord[] {
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
    this.history.push(structuredClone(job.record));
    if (this.history.length > FINISHED_JOBS_KEPT) this.history.splice(0, this.history.length - FINISHED_JOBS_KEPT);
    if (this.historyFile) {
      appendFile(this.historyFile, `${JSON.stringify(job.record)}\n`, { mode: 0o600 }).catch((e: unknown) => {
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
