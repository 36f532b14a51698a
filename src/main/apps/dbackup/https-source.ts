/**
 * DBackup's backups over its HTTP API (spec §8): the storage listing (sidecar-enriched rows), raw
 * downloads (not decrypted: the default, whatever the OpenAPI says; an encrypted file with a
 * sidecar arrives as a ZIP of file and `.meta.json`, which is unpacked here), sidecars fetched by
 * asking for `<path>.meta.json`, and "Run now" (`POST /jobs/{id}/run`, then the execution polled).
 * Remote ids over the API are `<storageId>:<path>`.
 */
import { streamZipMember } from './zip-stream';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import yauzl from 'yauzl';
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';
import type { AdapterContext, PullSource, Sidecar } from '../adapter';
import type { RemoteListing } from '../module';
import { dbackupApi, unwrapped, type DbackupApi } from './api';
import { DbackupVerifier } from './checks';
import { dbackupSettings } from './settings';
import { MAX_SIDECAR_BYTES, indexNameFor, sidecarNameFor } from './sidecar';
import { readCapped } from './tar-walk';

const text = z.string().nullish();
const fileRow = z.looseObject({
  name: z.string().min(1),
  path: z.string().min(1),
  size: z.number().min(0).nullish(),
  lastModified: z.union([z.string(), z.number()]).nullish(),
  jobName: text,
  sourceType: text,
  isEncrypted: z.boolean().nullish(),
  encryptionProfileId: text,
  compression: text,
  locked: z.boolean().nullish(),
  checksum: text,
  checksumMd5: text,
  hasFileIndex: z.boolean().nullish(),
  backupType: text,
});
/** One row of `GET /storage/{id}/files`. */
export type StorageFile = z.infer<typeof fileRow>;
const filesAnswer = unwrapped(z.array(fileRow), ['files']);
const adaptersAnswer = unwrapped(z.array(z.looseObject({ id: z.string().min(1), name: text, adapterId: text, type: text })), ['adapters']);
const runAnswer = unwrapped(z.looseObject({ executionId: z.string().min(1) }), ['execution']);

/** DBackup's execution states; Partial is not success. */
export const EXECUTION_DONE = ['Success', 'Failed', 'Partial', 'Cancelled'] as const;
const executionSchema = unwrapped(z.looseObject({
  id: z.string().optional(),
  status: z.enum(['Pending', 'Running', ...EXECUTION_DONE]),
  progress: z.number().nullish(),
  stage: text,
  path: text,
  size: z.number().nullish(),
  error: text,
}), ['execution']);
/** An execution as `GET /executions/{id}` gives it. */
export type Execution = z.infer<typeof executionSchema>;

const POLL_MS = 2000;
const MAX_INDEX_BYTES = 4 * 1024 * 1024;

/** Whether this installation reads its backups through the API (no SSH destination folder). */
export function listsOverApi(installation: AdapterContext['installation']): boolean {
  return installation.https !== undefined && !(installation.ssh !== undefined && dbackupSettings(installation).destinationDir !== '');
}

/** Splits `<storageId>:<path>`. */
export function parseApiRemoteId(remoteId: string): { storageId: string; file: string } {
  const at = remoteId.indexOf(':');
  const storageId = remoteId.slice(0, at);
  const file = remoteId.slice(at + 1);
  if (at <= 0 || !file || file.split('/').some((s) => s === '..' || s === '')) throw new LifeboatError('INVALID_INPUT', `"${remoteId.slice(0, 120)}" is not a DBackup backup id (<storage id>:<path>).`);
  return { storageId, file };
}

/** The storage destinations to read: the settings', else every one the key may see. */
export async function storageIdsOf(ctx: AdapterContext, api: DbackupApi): Promise<string[]> {
  const { storageIds } = dbackupSettings(ctx.installation);
  if (storageIds.length > 0) return storageIds;
  const adapters = await api.json('GET', '/adapters', { what: 'the list of storage destinations', permission: 'destinations:read' }, adaptersAnswer, { query: { type: 'storage', role: 'DESTINATION' } });
  return adapters.map((a) => a.id);
}

/** The rows of one storage destination, fresh from the destination (not DBackup's cache). */
export async function storageFiles(api: DbackupApi, storageId: string): Promise<StorageFile[]> {
  const rows = await api.json('GET', `/storage/${encodeURIComponent(storageId)}/files`, { what: `the backups on storage ${storageId}`, permission: 'storage:read' }, filesAnswer, { query: { refresh: 'true' } });
  return rows.filter((r) => !r.name.endsWith('.meta.json') && !r.name.endsWith('.index'));
}

function rowDetails(storageId: string, row: StorageFile): Record<string, string> {
  const details: Record<string, string> = { storage: storageId, path: row.path };
  const add = (key: string, value: string | boolean | null | undefined): void => {
    if (value !== null && value !== undefined && value !== '') details[key] = String(value);
  };
  add('kind', row.sourceType === 'SYSTEM' || row.name.startsWith('config_backup_') ? 'config' : 'database');
  add('sourceType', row.sourceType);
  add('job', row.jobName);
  add('encrypted', row.isEncrypted === undefined || row.isEncrypted === null ? null : row.isEncrypted ? 'yes' : 'no');
  add('encryptionProfile', row.encryptionProfileId);
  add('compression', row.compression?.toLowerCase());
  add('sha256', row.checksum);
  add('locked', row.locked);
  if (row.hasFileIndex) details.format = 'seekable archive v2';
  return details;
}

const timeOf = (value: string | number | null | undefined): string | null => {
  if (value === null || value === undefined) return null;
  const time = typeof value === 'number' ? new Date(value) : new Date(value);
  return Number.isNaN(time.getTime()) ? null : time.toISOString();
};

/** Every backup on the installation's storage destinations, newest first. */
export async function listOverApi(ctx: AdapterContext): Promise<RemoteListing[]> {
  const api = await dbackupApi(ctx);
  const listing: RemoteListing[] = [];
  for (const storageId of await storageIdsOf(ctx, api)) {
    for (const row of await storageFiles(api, storageId)) {
      listing.push({ id: `${storageId}:${row.path}`, name: row.name, createdAt: timeOf(row.lastModified), sizeBytes: row.size ?? null, details: rowDetails(storageId, row) });
    }
  }
  return listing.sort((a, b) => Date.parse(b.createdAt ?? '') - Date.parse(a.createdAt ?? ''));
}

/** A small file from the storage (a sidecar), or null when DBackup has none (404). */
async function fetchSmall(api: DbackupApi, storageId: string, file: string, max: number): Promise<Buffer | null> {
  try {
    const download = await api.download(`/storage/${encodeURIComponent(storageId)}/download`, { what: `the download of ${file}`, permission: 'storage:download' }, { file });
    return await readCapped(download.stream, max, file);
  } catch (error) {
    if (error instanceof LifeboatError && error.code === 'HTTP_STATUS' && error.details?.status === 404) return null;
    throw error;
  }
}

/**
 * The stored file out of a download: as it came, or (an encrypted file with a sidecar) out of
 * the ZIP DBackup wraps it in, spooled to a temporary file because a ZIP is read from its end.
 */
async function storedBytes(arriving: Readable, zipped: boolean, fileName: string, onSidecar: (sidecar: Sidecar) => void): Promise<Readable> {
  if (!zipped) return arriving;
  // Unwrapped while it arrives; a ZIP whose sizes come after the data is read from its central directory instead.
  const streamed = await streamZipMember(arriving, fileName, { maxOther: MAX_SIDECAR_BYTES, onOther: (name, content) => name === sidecarNameFor(fileName) && onSidecar({ name, content }) });
  if (streamed.stream) return streamed.stream;
  const download = streamed.replay;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-dbackup-'));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const zipFile = path.join(dir, 'download.zip');
    await pipeline(download, createWriteStream(zipFile, { mode: 0o600 }));
    const zip = await yauzl.openPromise(zipFile, { lazyEntries: true, autoClose: false }).catch((error: unknown) => {
      throw new LifeboatError('ARCHIVE_INVALID', `DBackup's download of ${fileName} is not the ZIP it should be: ${(error as Error).message}.`);
    });
    let member: Readable | null = null;
    for await (const entry of zip.eachEntry()) {
      const name = path.posix.basename(entry.fileName);
      if (name === sidecarNameFor(fileName) && entry.uncompressedSize <= MAX_SIDECAR_BYTES) onSidecar({ name, content: await readCapped(await zip.openReadStreamPromise(entry), MAX_SIDECAR_BYTES, name) });
      else if (name === fileName && !member) member = await zip.openReadStreamPromise(entry);
    }
    if (!member) {
      zip.close();
      throw new LifeboatError('ARCHIVE_INVALID', `DBackup's ZIP download holds no ${fileName}.`);
    }
    const out = new PassThrough();
    pipeline(member, out).catch((error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error)))).finally(() => {
      zip.close();
      void cleanup();
    });
    out.once('close', () => member.destroy());
    return out;
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Opens one backup over the API: its row, its sidecars, and the raw stored bytes. */
export async function openOverApi(ctx: AdapterContext, remoteId: string): Promise<PullSource> {
  const { storageId, file } = parseApiRemoteId(remoteId);
  const api = await dbackupApi(ctx);
  const row = (await storageFiles(api, storageId)).find((r) => r.path === file);
  if (!row) throw new LifeboatError('NOT_FOUND', `Storage ${storageId} of "${ctx.installation.name}" has no backup ${file}.`);
  const fileName = row.name;
  const sidecars: Sidecar[] = [];
  const meta = await fetchSmall(api, storageId, `${file}.meta.json`, MAX_SIDECAR_BYTES);
  if (meta) sidecars.push({ name: sidecarNameFor(fileName), content: meta });
  if (row.hasFileIndex) {
    const index = await fetchSmall(api, storageId, `${file}.index`, MAX_INDEX_BYTES);
    if (index) sidecars.push({ name: indexNameFor(fileName), content: index });
  }
  const size = row.size ?? null;
  return {
    remoteId,
    fileName,
    size,
    mtime: new Date(timeOf(row.lastModified) ?? Date.now()),
    sidecars,
    groupPath: `/storage/${storageId}/${path.posix.dirname(file)}`,
    // DBackup's download has no Range support Lifeboat can count on; a cut transfer starts over.
    resumable: false,
    async open(offset) {
      if (offset > 0) throw new LifeboatError('HTTP_NETWORK', 'DBackup downloads cannot resume; the transfer starts over.');
      const download = await api.download(`/storage/${encodeURIComponent(storageId)}/download`, { what: `the download of ${file}`, permission: 'storage:download' }, { file });
      const zipped = /zip/i.test(download.headers.get('content-type') ?? '') && !fileName.endsWith('.zip');
      return storedBytes(download.stream, zipped, fileName, (sidecar) => {
        if (!sidecars.some((s) => s.name === sidecar.name)) sidecars.push(sidecar);
      });
    },
    createVerifier: () => new DbackupVerifier(fileName, () => sidecars, size),
  };
}

/** Polls an execution until it ends (Success, Failed, Partial, Cancelled), reporting its progress. */
export async function followExecution(ctx: AdapterContext, api: DbackupApi, executionId: string, what: string): Promise<Execution> {
  for (;;) {
    const execution = await api.json('GET', `/executions/${encodeURIComponent(executionId)}`, { what: `the state of ${what}`, permission: 'history:read' }, executionSchema);
    if ((EXECUTION_DONE as readonly string[]).includes(execution.status)) return execution;
    ctx.progress({ phase: `${what}: ${execution.stage ?? execution.status}` });
    try {
      await sleep(POLL_MS, undefined, { signal: ctx.signal });
    } catch (error) {
      throw new LifeboatError('CANCELLED', `Stopped following ${what}; DBackup goes on with it (execution ${executionId}).`, { cause: error });
    }
  }
}

/** Runs the configured job now and waits for it; the new backup's remote id when DBackup names it. */
export async function runJobNow(ctx: AdapterContext): Promise<{ message: string; remoteId: string | null }> {
  const settings = dbackupSettings(ctx.installation);
  if (!settings.jobId) throw new LifeboatError('APP_UNSUPPORTED', `"${ctx.installation.name}" names no DBackup job to run: set jobId.`, { details: { setting: 'jobId' } });
  const api = await dbackupApi(ctx);
  const started = await api.json('POST', `/jobs/${encodeURIComponent(settings.jobId)}/run`, { what: `running job ${settings.jobId}`, permission: 'jobs:execute' }, runAnswer, { json: {} });
  ctx.log(`DBackup started job ${settings.jobId} as execution ${started.executionId}.`);
  const done = await followExecution(ctx, api, started.executionId, `job ${settings.jobId}`);
  if (done.status !== 'Success') {
    throw new LifeboatError('APP_UNSUPPORTED', `DBackup's run of job ${settings.jobId} ended ${done.status}${done.error ? `: ${done.error}` : ''}.`, { details: { executionId: started.executionId, status: done.status } });
  }
  const file = done.path ? done.path.replace(/^\/+/, '') : null;
  const storage = settings.storageIds[0];
  const remoteId = file ? (listsOverApi(ctx.installation) ? (storage ? `${storage}:${file}` : null) : file) : null;
  return { message: `DBackup made ${file ?? 'a backup'} (execution ${started.executionId}).`, remoteId };
}
