/**
 * Nojoin's backup API as Lifeboat uses it (specs/nojoin.md §2.3–§2.8), over one installation's
 * NojoinSession: the async export (start, poll every ~2 s, download with Range resume), the
 * certificate fingerprint and version, and the chunked restore upload (init → every chunk sent
 * and confirmed, retried by index → complete with the conflict mode) and its job. Nojoin's
 * `complete` does not check that every chunk arrived, so Lifeboat does before calling it.
 */
import { open as openFile, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LifeboatError } from '../../../shared/errors';
import { normalizeFingerprint, type DownloadResult, type HttpResponse } from '../../transport/https';
import { detailOf, type CallContext, type NojoinSession } from './session';

/** Export options (`POST /backup/export` query). */
export interface ExportOptions {
  includeAudio: boolean;
  archiveQuality: 'compressed' | 'original';
}

/** Nojoin's four export warning counters, as the job result gives them. */
export interface ExportWarnings {
  recordings_without_audio: number;
  recordings_audio_failed: number;
  documents_without_files: number;
  documents_failed: number;
}

/** The export job as `GET /backup/export/{task_id}` reports it. */
export type ExportStatus =
  | { state: 'PENDING'; status: string }
  | { state: 'PROCESSING'; status: string; stage: string | null; current: number | null; total: number | null }
  | { state: 'SUCCESS'; zipPath: string | null; warnings: ExportWarnings | null }
  | { state: 'FAILURE'; status: string }
  /** RETRY, REVOKED: Celery states Nojoin passes through. */
  | { state: 'OTHER'; celeryState: string; status: string };

/** A restore's conflict mode (§2.6). */
export type ConflictMode = 'skip' | 'overwrite' | 'clear-all';

/** How a restore job ended well; a failed one throws RESTORE_FAILED. */
export interface RestoreOutcome {
  status: 'completed' | 'completed_with_warnings';
  /** `warnings.skipped`: per table, per reason (unresolved_owner, no_identity, insert_failed), how many rows. */
  skipped: Record<string, Record<string, number>>;
}

/** The restore job as `GET /backup/import/{job_id}` reports it. */
export interface RestoreStatus {
  status: 'pending' | 'processing' | 'completed' | 'completed_with_warnings' | 'failed';
  progress: string;
  error: string | null;
  skipped: Record<string, Record<string, number>> | null;
}

/** Bytes to upload, read a chunk at a time. */
export interface UploadSource {
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

/** Progress of a long step: what it is doing, and bytes or items done. */
export type StepProgress = (p: { phase: string; detail: string; done: number | null; total: number | null }) => void;

/** Polling and waiting knobs (tests shorten them). */
export interface PollOptions {
  /** Between status requests; default 2 s, as Nojoin's web UI polls. */
  pollMs?: number;
  /** Give up after this long; default 6 h (the web UI's limit). */
  maxWaitMs?: number;
  onProgress?: StepProgress;
}

/** Upload knobs. */
export interface UploadOptions {
  fileName: string;
  mode: ConflictMode;
  /** Default 10 MiB (as the web UI); at most 256 MiB, well under nginx's 500 MiB per request. */
  chunkBytes?: number;
  /** Attempts per chunk after the first; default 4. */
  chunkRetries?: number;
  /** Wait before retry n is n × this; default 1 s. */
  retryDelayMs?: number;
  onProgress?: StepProgress;
  /** Called after every chunk is confirmed, right before `complete` starts the restore (the point of no return). */
  beforeComplete?: () => void;
}

const DEFAULT_POLL_MS = 2_000;
const DEFAULT_MAX_WAIT_MS = 6 * 3_600_000;
/** An export still "waiting for a worker" this long: Celery is down, or the id expired. */
const MAX_PENDING_MS = 30 * 60_000;
/** The default upload chunk: 10 MiB, as Nojoin's web UI sends. */
export const DEFAULT_CHUNK_BYTES = 10 * 1024 * 1024;
/** The largest upload chunk Lifeboat sends, well under nginx's 500 MiB per request. */
export const MAX_CHUNK_BYTES = 256 * 1024 * 1024;
/** nginx proxies one request for at most 300 s. */
const CHUNK_TIMEOUT_MS = 300_000;
const TRANSIENT = new Set(['HTTP_NETWORK', 'HTTP_TIMEOUT']);

/** The query booleans of a conflict mode: both false is Skip (§2.6). */
export function conflictQuery(mode: ConflictMode): { clear_existing: boolean; overwrite_existing: boolean } {
  return { clear_existing: mode === 'clear-all', overwrite_existing: mode === 'overwrite' };
}

function apiError(response: HttpResponse, what: string, advice = ''): LifeboatError {
  const detail = detailOf(response);
  const code = response.status === 429 ? 'HTTP_RATE_LIMITED' : 'HTTP_STATUS';
  return new LifeboatError(code, `Nojoin answered ${what} with HTTP ${response.status}${detail ? `: "${detail}"` : ''}.${advice ? ` ${advice}` : ''}`, {
    details: { status: response.status, ...(detail ? { detail } : {}) },
  });
}

function expectStatus(response: HttpResponse, statuses: readonly number[], what: string): HttpResponse {
  if (!statuses.includes(response.status)) throw apiError(response, what);
  return response;
}

async function wait(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    throw new LifeboatError('CANCELLED', 'Cancelled while waiting for Nojoin.', { cause: error });
  }
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

function safeTaskId(id: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new LifeboatError('INVALID_INPUT', `"${id.slice(0, 80)}" is not a Nojoin job id.`);
  return id;
}

// ---- export ----

/** `POST /backup/export`: starts an export job; returns its task id. Not retried (a repeat would start a second export). */
export async function startExport(session: NojoinSession, options: ExportOptions, ctx: CallContext): Promise<string> {
  await session.requireSuperuser(ctx);
  const response = await session.send('POST', '/backup/export', { query: { include_audio: options.includeAudio, archive_quality: options.archiveQuality }, retry: false }, ctx);
  const body = expectStatus(response, [200], 'the export request').json<{ task_id?: unknown }>();
  if (typeof body.task_id !== 'string' || body.task_id.length === 0) throw new LifeboatError('HTTP_STATUS', 'Nojoin started an export but returned no task_id.');
  return body.task_id;
}

/** `GET /backup/export/{task_id}`. */
export async function exportStatus(session: NojoinSession, taskId: string, ctx: CallContext): Promise<ExportStatus> {
  const response = await session.send('GET', `/backup/export/${safeTaskId(taskId)}`, {}, ctx);
  const body = expectStatus(response, [200], 'the export status request').json<Record<string, unknown>>();
  const status = typeof body.status === 'string' ? body.status : '';
  switch (body.state) {
    case 'PENDING':
      return { state: 'PENDING', status };
    case 'PROCESSING':
      return { state: 'PROCESSING', status, stage: typeof body.stage === 'string' ? body.stage : null, current: numberOrNull(body.current), total: numberOrNull(body.total) };
    case 'SUCCESS': {
      const result = typeof body.result === 'object' && body.result !== null ? (body.result as Record<string, unknown>) : {};
      const warnings = typeof result.warnings === 'object' && result.warnings !== null ? (result.warnings as ExportWarnings) : null;
      return { state: 'SUCCESS', zipPath: typeof result.zip_path === 'string' ? result.zip_path : null, warnings };
    }
    case 'FAILURE':
      return { state: 'FAILURE', status };
    default:
      return { state: 'OTHER', celeryState: String(body.state ?? 'unknown'), status };
  }
}

/** Polls an export until it succeeds; FAILURE, a worker that never starts, or the time limit throw. */
export async function waitForExport(session: NojoinSession, taskId: string, ctx: CallContext, options: PollOptions = {}): Promise<Extract<ExportStatus, { state: 'SUCCESS' }>> {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const started = Date.now();
  let lastActive = started;
  for (;;) {
    const status = await exportStatus(session, taskId, ctx);
    if (status.state === 'SUCCESS') return status;
    if (status.state === 'FAILURE') {
      throw new LifeboatError('HTTP_STATUS', `Nojoin's export ${taskId} failed ("${status.status}"); the reason is only in the Nojoin worker's log.`, { details: { taskId, state: 'FAILURE' } });
    }
    const now = Date.now();
    if (status.state === 'PROCESSING') {
      lastActive = now;
      options.onProgress?.({ phase: 'export', detail: status.status || status.stage || 'processing', done: status.current, total: status.total });
    } else {
      options.onProgress?.({ phase: 'export', detail: status.status || 'waiting', done: null, total: null });
      if (status.state === 'PENDING' && now - lastActive > MAX_PENDING_MS) {
        throw new LifeboatError('HTTP_TIMEOUT', `Nojoin's export ${taskId} has waited for a worker for over ${MAX_PENDING_MS / 60_000} minutes: is the Celery worker running? (An expired or unknown id also reads as waiting.)`, {
          details: { taskId },
        });
      }
    }
    if (now - started > (options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS)) {
      throw new LifeboatError('HTTP_TIMEOUT', `Nojoin's export ${taskId} did not finish within ${Math.round((options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS) / 60_000)} minutes.`, { details: { taskId } });
    }
    await wait(pollMs, ctx.signal);
  }
}

/**
 * `GET /backup/export/{task_id}/download` from byte `offset` (a Range request). Throws when the
 * server sends the whole file again instead of the range, so a resumed pull never mixes files.
 */
export async function openExportDownload(session: NojoinSession, taskId: string, offset: number, ctx: CallContext, onProgress?: (bytes: number, total: number | null) => void): Promise<DownloadResult> {
  // A non-superuser's 400 would otherwise read as "not ready" below.
  await session.requireSuperuser(ctx);
  let download: DownloadResult;
  try {
    download = await session.download(`/backup/export/${safeTaskId(taskId)}/download`, {
      start: offset,
      signal: ctx.signal,
      ...(onProgress ? { onProgress: (p) => onProgress(p.bytes, p.total) } : {}),
    }, ctx);
  } catch (error) {
    const status = error instanceof LifeboatError ? error.details?.status : undefined;
    if (status === 404) throw new LifeboatError('NOT_FOUND', `Nojoin no longer has the file of export ${taskId}: exports are deleted 24 to 30 hours after they were made. Start a new export.`, { details: { taskId, status }, cause: error });
    if (status === 400) throw new LifeboatError('HTTP_STATUS', `Nojoin's export ${taskId} is not ready, or failed ("Backup not ready or failed").`, { details: { taskId, status }, cause: error });
    throw error;
  }
  if (download.offset !== offset) {
    download.stream.destroy();
    throw new LifeboatError('HTTP_STATUS', `Nojoin ignored the request to resume export ${taskId} at byte ${offset} and sent the file from the start.`, { details: { taskId, offset, restarted: true } });
  }
  return download;
}

/** The server's name for a downloaded export (`nojoin_backup_YYYYMMDD_HHMMSS.zip`), or a fallback. */
export function downloadFileName(download: DownloadResult, taskId: string): string {
  const match = /filename="?([^";]+)"?/.exec(download.headers.get('content-disposition') ?? '');
  const name = match?.[1] ? path.basename(match[1]) : '';
  return /^[\w.-]{1,200}\.zip$/.test(name) ? name : `nojoin_backup_${taskId.slice(0, 8)}.zip`;
}

/**
 * Downloads a finished export to `file`, resuming with Range after a broken connection (up to
 * `maxResumes` times) from the bytes already on disk. Returns the server's file name and size.
 */
export async function downloadExport(
  session: NojoinSession,
  taskId: string,
  file: string,
  ctx: CallContext,
  options: { maxResumes?: number; onProgress?: StepProgress } = {},
): Promise<{ fileName: string; size: number; resumes: number }> {
  const maxResumes = options.maxResumes ?? 5;
  await writeFile(file, '', { flag: 'a' });
  let resumes = 0;
  let fileName: string | null = null;
  for (;;) {
    const offset = (await stat(file)).size;
    // Opened before the download, so no await lies between the stream's opening and its reading.
    const handle = await openFile(file, 'a');
    try {
      const download = await openExportDownload(session, taskId, offset, ctx, (bytes, total) => options.onProgress?.({ phase: 'download', detail: 'downloading', done: bytes, total }));
      fileName ??= downloadFileName(download, taskId);
      await appendDownload(download.stream, handle, ctx.signal);
      await handle.close();
      const size = (await stat(file)).size;
      if (download.total !== null && size !== download.total) throw new LifeboatError('HTTP_NETWORK', `The download of export ${taskId} ended at ${size} of ${download.total} bytes.`);
      return { fileName, size, resumes };
    } catch (error) {
      await handle.close().catch(() => undefined);
      const restarted = error instanceof LifeboatError && error.details?.restarted === true;
      const transient = error instanceof LifeboatError && TRANSIENT.has(error.code);
      if (ctx.signal.aborted || (!restarted && !transient) || resumes >= maxResumes) throw error;
      // The server ignored the Range: what is on disk cannot be continued, so start over.
      if (restarted) await truncate(file, 0);
      resumes++;
    }
  }
}

/**
 * Appends a download to an open file. Chunks are taken in flowing mode into a queue of our own
 * and written from there: a readable that errors discards what it still buffers, so bytes left in
 * the stream when the connection breaks would be lost to the resume and fetched again.
 */
async function appendDownload(stream: Readable, handle: FileHandle, signal: AbortSignal): Promise<void> {
  const queue: Buffer[] = [];
  let failure: unknown = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const poke = () => {
    wake?.();
    wake = null;
  };
  stream.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    if (queue.length >= 16) stream.pause();
    poke();
  });
  stream.on('end', () => {
    ended = true;
    poke();
  });
  stream.on('error', (error) => {
    failure = error;
    poke();
  });
  const aborted = () => {
    failure = new LifeboatError('CANCELLED', 'The download was cancelled.');
    stream.destroy();
    poke();
  };
  signal.addEventListener('abort', aborted, { once: true });
  try {
    for (;;) {
      for (let chunk = queue.shift(); chunk !== undefined; chunk = queue.shift()) {
        await handle.write(chunk);
        if (queue.length < 4 && stream.isPaused()) stream.resume();
      }
      if (failure !== null) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    signal.removeEventListener('abort', aborted);
    stream.destroy();
  }
}

// ---- facts about the server ----

/** `GET /system/fingerprint`: the SHA-256 of the server's TLS certificate, `AB:CD:…`, for pinning. */
export async function fetchFingerprint(session: NojoinSession, ctx: CallContext): Promise<string> {
  const response = expectStatus(await session.send('GET', '/system/fingerprint', {}, ctx), [200], 'the fingerprint request');
  const body = response.json<{ fingerprint?: unknown }>();
  if (typeof body.fingerprint !== 'string') throw new LifeboatError('HTTP_STATUS', 'Nojoin returned no certificate fingerprint.');
  return normalizeFingerprint(body.fingerprint);
}

/** `GET /system/health`: the server's version (e.g. "2.4.0") and overall status. */
export async function serverHealth(session: NojoinSession, ctx: CallContext): Promise<{ version: string | null; status: string | null }> {
  const body = expectStatus(await session.send('GET', '/system/health', {}, ctx), [200], 'the health request').json<Record<string, unknown>>();
  return { version: typeof body.version === 'string' ? body.version : null, status: typeof body.status === 'string' ? body.status : null };
}

// ---- restore ----

/** A local file as an upload source. */
export async function fileUploadSource(file: string): Promise<UploadSource & { close(): Promise<void> }> {
  const handle = await openFile(file, 'r');
  const { size } = await handle.stat();
  return {
    size,
    read: async (offset, length) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    },
    close: () => handle.close(),
  };
}

/** One multipart/form-data body with the bytes as field `file` (filename `blob`, as the web UI sends). */
function multipartFile(bytes: Buffer): { body: Buffer; contentType: string } {
  const boundary = `----lifeboat${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="blob"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, bytes, tail]), contentType: `multipart/form-data; boundary=${boundary}` };
}

function uploadTooLarge(response: HttpResponse, label: string): LifeboatError {
  // nginx answers an oversized request with its own HTML page; Nojoin's limit comes as JSON.
  if (detailOf(response) === null) return apiError(response, label, 'The proxy in front of Nojoin refused a request this large (nginx client_max_body_size); upload in smaller chunks.');
  return apiError(response, label, "The archive is over the server's upload limit (UPLOAD_LIMIT_BACKUP, 25 GiB by default); Nojoin has discarded what was uploaded.");
}

/** Sends chunk `index` until the server confirms it, retrying transient failures by index (a re-sent index overwrites the part). */
async function sendChunk(session: NojoinSession, uploadId: string, index: number, bytes: Buffer, ctx: CallContext, options: UploadOptions): Promise<void> {
  const retries = options.chunkRetries ?? 4;
  for (let attempt = 0; ; attempt++) {
    let failure: LifeboatError;
    try {
      const { body, contentType } = multipartFile(bytes);
      const response = await session.send('POST', `/backup/upload/${uploadId}/chunk`, { query: { chunk_index: index }, body, contentType, timeoutMs: CHUNK_TIMEOUT_MS, retry: false }, ctx);
      if (response.status === 413) throw uploadTooLarge(response, `chunk ${index}`);
      if (response.status === 400) throw apiError(response, `chunk ${index}`, 'The upload is no longer known to the server (uploads older than 24 h are purged); start the restore again.');
      if (response.status === 200) {
        const confirmed = response.json<{ status?: unknown; chunk_index?: unknown }>();
        if (confirmed.status === 'ok' && confirmed.chunk_index === index) return;
        failure = new LifeboatError('HTTP_STATUS', `Nojoin did not confirm chunk ${index} (it answered ${JSON.stringify(confirmed).slice(0, 120)}).`);
      } else {
        failure = apiError(response, `chunk ${index}`);
        if (response.status < 500) throw failure;
      }
    } catch (error) {
      if (!(error instanceof LifeboatError) || !TRANSIENT.has(error.code)) throw error;
      failure = error;
    }
    if (attempt >= retries || ctx.signal.aborted) {
      throw new LifeboatError('HTTP_NETWORK', `Chunk ${index} of the restore upload failed ${attempt + 1} times; the last time: ${failure.message}`, { details: { chunk: index }, cause: failure });
    }
    await wait((attempt + 1) * (options.retryDelayMs ?? 1_000), ctx.signal);
  }
}

/**
 * Uploads an archive in chunks and starts the restore with `mode`; returns the restore's job id.
 * Every chunk is confirmed before `complete` is called. A 409 (a restore already runs) is
 * RESTORE_FAILED: Nojoin then deletes the upload, so a later attempt uploads again.
 */
export async function uploadForRestore(session: NojoinSession, source: UploadSource, ctx: CallContext, options: UploadOptions): Promise<string> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
    throw new LifeboatError('INVALID_INPUT', `A restore chunk must be 1 byte to ${MAX_CHUNK_BYTES} bytes (nginx refuses requests over 500 MiB), not ${chunkBytes}.`);
  }
  await session.requireSuperuser(ctx);
  const totalChunks = Math.max(1, Math.ceil(source.size / chunkBytes));
  const fileName = path.basename(options.fileName).replace(/[^\w.-]/g, '_') || 'backup.zip';
  const init = await session.send('POST', '/backup/upload/init', { query: { filename: fileName, file_size: source.size, total_chunks: totalChunks }, retry: false }, ctx);
  if (init.status === 413) throw uploadTooLarge(init, 'the upload');
  const uploadId = expectStatus(init, [200], 'the upload start').json<{ upload_id?: unknown }>().upload_id;
  if (typeof uploadId !== 'string' || !/^[\w-]{1,64}$/.test(uploadId)) throw new LifeboatError('HTTP_STATUS', 'Nojoin started an upload but returned no usable upload_id.');
  for (let index = 0; index < totalChunks; index++) {
    const offset = index * chunkBytes;
    const bytes = await source.read(offset, Math.min(chunkBytes, source.size - offset));
    await sendChunk(session, uploadId, index, bytes, ctx, options);
    options.onProgress?.({ phase: 'upload', detail: `chunk ${index + 1} of ${totalChunks}`, done: offset + bytes.length, total: source.size });
  }
  options.beforeComplete?.();
  // Not retried: if the answer was lost after the restore started, a second call would only get 409.
  const complete = await session.send('POST', `/backup/upload/${uploadId}/complete`, { query: conflictQuery(options.mode), retry: false }, ctx);
  if (complete.status === 409) {
    throw new LifeboatError('RESTORE_FAILED', `A restore is already running on Nojoin; it runs one at a time. Nojoin discarded this upload: wait for the other restore to end, then start again.`, {
      details: { status: 409, detail: detailOf(complete) },
    });
  }
  const jobId = expectStatus(complete, [202, 200], 'the upload completion').json<{ job_id?: unknown }>().job_id;
  if (typeof jobId !== 'string' || jobId.length === 0) throw new LifeboatError('HTTP_STATUS', 'Nojoin accepted the upload but returned no job_id.');
  return jobId;
}

/** `GET /backup/import/{job_id}` (the ≤ 1.6.0 shape without `warnings` is read too). */
export async function restoreStatus(session: NojoinSession, jobId: string, ctx: CallContext): Promise<RestoreStatus> {
  const response = await session.send('GET', `/backup/import/${safeTaskId(jobId)}`, {}, ctx);
  if (response.status === 404) {
    throw new LifeboatError('RESTORE_FAILED', `Nojoin no longer knows restore job ${jobId} (servers up to 1.6.0 forget jobs when the API restarts); check the installation by hand.`, { details: { jobId, status: 404 } });
  }
  const body = expectStatus(response, [200], 'the restore status request').json<Record<string, unknown>>();
  const status = body.status;
  if (status !== 'pending' && status !== 'processing' && status !== 'completed' && status !== 'completed_with_warnings' && status !== 'failed') {
    throw new LifeboatError('HTTP_STATUS', `Nojoin reported restore job ${jobId} as "${String(status).slice(0, 40)}", which Lifeboat does not know.`, { details: { jobId } });
  }
  const warnings = typeof body.warnings === 'object' && body.warnings !== null ? (body.warnings as { skipped?: unknown }) : null;
  const skipped = warnings && typeof warnings.skipped === 'object' && warnings.skipped !== null ? (warnings.skipped as Record<string, Record<string, number>>) : null;
  return { status, progress: typeof body.progress === 'string' ? body.progress : '', error: typeof body.error === 'string' ? body.error : null, skipped };
}

/**
 * Polls a restore job to its end: `completed` and `completed_with_warnings` (rows skipped, listed)
 * are returned apart; `failed` throws RESTORE_FAILED with Nojoin's (vague) message and what it hides.
 */
export async function waitForRestore(session: NojoinSession, jobId: string, ctx: CallContext, options: PollOptions = {}): Promise<RestoreOutcome> {
  const started = Date.now();
  for (;;) {
    const status = await restoreStatus(session, jobId, ctx);
    if (status.status === 'completed' || status.status === 'completed_with_warnings') {
      const skipped = status.skipped ?? {};
      // Old servers say only "completed"; a skip count still means the restore left rows out.
      const any = Object.values(skipped).some((reasons) => Object.values(reasons).some((n) => n > 0));
      return { status: status.status === 'completed_with_warnings' || any ? 'completed_with_warnings' : 'completed', skipped };
    }
    if (status.status === 'failed') {
      throw new LifeboatError(
        'RESTORE_FAILED',
        `Nojoin's restore failed: "${status.error ?? 'no reason given'}". Nojoin rolled the database back; it logs the reason (a bad row, a too-new format, a damaged member, too little disk) only in its worker's log.`,
        { details: { jobId, error: status.error } },
      );
    }
    options.onProgress?.({ phase: 'restore', detail: status.progress || status.status, done: null, total: null });
    if (Date.now() - started > (options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS)) {
      throw new LifeboatError('HTTP_TIMEOUT', `Nojoin's restore ${jobId} did not finish within ${Math.round((options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS) / 60_000)} minutes; it may still be running.`, { details: { jobId } });
    }
    await wait(options.pollMs ?? DEFAULT_POLL_MS, ctx.signal);
  }
}
