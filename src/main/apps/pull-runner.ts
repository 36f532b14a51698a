import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { LifeboatError, toErrorPayload } from '../../shared/errors';
import type { IntegrityCheck } from '../../shared/apps';
import type { Installation } from '../../shared/installations';
import type { SnapshotSource } from '../../shared/vault';
import type { Core } from '../core';
import type { JobContext } from '../jobs/job-manager';
import type { AdapterContext, PullSource, WholeArchive } from './adapter';
import { createAdapterContext } from './context';
import { listsBackups, pullsFreshBackup } from './module';
import { describeFailedChecks } from './quarantine';

export interface PullResult {
  snapshotId: string;
  remoteId: string;
  alreadyInVault: boolean;
  sizeBytes: number;
  sha256: string | null;
  checks: IntegrityCheck[];
  resumed: number;
  restarts: number;
}

/** Errors of a broken connection: a transfer may resume (or restart) after them. */
const TRANSIENT = new Set(['SSH_CHANNEL', 'SSH_TIMEOUT', 'SSH_SFTP', 'HTTP_NETWORK', 'HTTP_TIMEOUT']);
const MAX_RESUMES = 5;
const MAX_RESTARTS = 2;

export const PULL_QUEUE_LIMIT = 3;

/** Starts a pull job: one at a time per installation, at most three at once overall. */
export function startPull(core: Core, installation: Installation, remoteId: string | null, source: SnapshotSource = 'pull') {
  return core.jobs.start(
    {
      kind: 'pull',
      title: `Pull ${remoteId ?? 'the newest backup'} from ${installation.name}`,
      installationId: installation.id,
      queue: { name: 'pull', limit: PULL_QUEUE_LIMIT, perKey: installation.id },
    },
    (ctx) => (source === 'pull' ? runPullAndCompare(core, installation, remoteId, ctx) : runPull(core, installation, remoteId, ctx, source)),
  );
}

/**
 * A pull, then its new snapshot compared with the installation's history, whether an operator or
 * a schedule asked for it (a new anomaly notifies on its own; here it becomes a job warning).
 */
export async function runPullAndCompare(core: Core, installation: Installation, remoteId: string | null, ctx: JobContext): Promise<PullResult> {
  const pulled = await runPull(core, installation, remoteId, ctx);
  if (pulled.alreadyInVault) return pulled;
  ctx.progress({ phase: 'comparing with the earlier snapshots' });
  const found = await core.anomalies.check(installation.id, ctx).catch((error: unknown) => {
    if (error instanceof LifeboatError && error.code === 'CANCELLED') throw error;
    ctx.log(`the anomaly check did not run: ${(error as Error).message}`);
    return [];
  });
  for (const anomaly of found) ctx.warn(`anomaly: ${anomaly.detail}`);
  return pulled;
}

/**
 * Streams one remote backup straight into the vault, hashing and verifying while it downloads.
 * The snapshot is written only after every check passed; a failed check quarantines the
 * download instead. A cut connection resumes at the byte it reached where the transport can
 * (SFTP offset, HTTP Range), else the transfer restarts.
 */
export async function runPull(core: Core, installation: Installation, remoteId: string | null, ctx: JobContext, source: SnapshotSource = 'pull'): Promise<PullResult> {
  const module = core.apps.get(installation.app);
  const { sources } = module;
  await core.vault.open();
  const actx = createAdapterContext(core, installation, ctx);
  try {
    if (remoteId === null && !listsBackups(module, installation)) {
      if (!sources.pullNewest) throw new LifeboatError('APP_UNSUPPORTED', `"${installation.name}" keeps no list of backups; name the backup to pull.`);
    }
    if (remoteId === null && pullsFreshBackup(module, installation)) {
      // "Pull newest" of an app that exports on demand (Nojoin) makes a fresh backup and downloads it.
      const pullNewest = sources.pullNewest!.bind(sources);
      ctx.progress({ phase: 'asking the app for a backup' });
      return await pullSource(core, installation, actx, ctx, source, null, () => pullNewest(actx));
    }
    ctx.progress({ phase: 'listing remote backups' });
    const id = remoteId ?? (await sources.list!(actx))[0]?.id;
    if (!id) throw new LifeboatError('NOT_FOUND', `"${installation.name}" has no backups yet; run one first.`);
    if (source === 'pull') {
      const existing = (await core.vault.snapshots({ installationId: installation.id })).find((s) => s.remoteId === id.replace(/,/g, '_') && s.source === 'pull');
      if (existing) {
        ctx.log(`${id} is already in the vault as snapshot ${existing.shortId}`);
        return { snapshotId: existing.id, remoteId: id, alreadyInVault: true, sizeBytes: existing.archive?.size ?? 0, sha256: null, checks: [], resumed: 0, restarts: 0 };
      }
    }
    return await pullSource(core, installation, actx, ctx, source, id, () => sources.open(actx, id));
  } finally {
    await actx.close();
  }
}

/**
 * The safety pull before a restore, in the first way the module offers: the app makes a backup
 * (trigger) and it is pulled; else a copy Lifeboat makes itself (`safetyCopy`); else "make one
 * and download it" (`pullNewest`).
 */
export async function runSafetyPull(core: Core, installation: Installation, ctx: JobContext): Promise<PullResult> {
  const module = core.apps.get(installation.app);
  const { sources } = module;
  await core.vault.open();
  const actx = createAdapterContext(core, installation, ctx);
  try {
    const canTrigger = sources.trigger !== undefined && module.capabilities(installation).trigger;
    if (!canTrigger && sources.safetyCopy) {
      const safetyCopy = sources.safetyCopy.bind(sources);
      return await pullSource(core, installation, actx, ctx, 'pre-restore', null, () => safetyCopy(actx));
    }
    if (!canTrigger && sources.pullNewest) {
      const pullNewest = sources.pullNewest.bind(sources);
      return await pullSource(core, installation, actx, ctx, 'pre-restore', null, () => pullNewest(actx));
    }
    if (!canTrigger || !sources.trigger) {
      throw new LifeboatError('APP_UNSUPPORTED', `Lifeboat cannot make a safety copy of "${installation.name}" before the restore: ${module.label} offers no backup trigger here. Skip the safety pull with a reason if you have another copy.`);
    }
    const remoteId = (await sources.trigger(actx)).remoteId;
    const id = remoteId ?? (sources.list ? (await sources.list(actx))[0]?.id : undefined);
    if (!id) throw new LifeboatError('NOT_FOUND', `"${installation.name}" has no backups yet; run one first.`);
    return await pullSource(core, installation, actx, ctx, 'pre-restore', id, () => sources.open(actx, id));
  } finally {
    await actx.close();
  }
}

/** Pulls one source into the vault, restarting it after a transient failure; quarantines a failed verification. */
async function pullSource(core: Core, installation: Installation, actx: AdapterContext, ctx: JobContext, source: SnapshotSource, knownId: string | null, open: () => Promise<PullSource>): Promise<PullResult> {
  let restarts = 0;
  for (;;) {
    const pull = await open();
    const id = knownId ?? pull.remoteId;
    try {
      const result = await ingest(core, installation, pull, actx, ctx, source);
      await core.audit.record({ action: 'pull', outcome: 'succeeded', installationId: installation.id, installationName: installation.name, snapshotId: result.snapshotId, jobId: ctx.jobId, detail: `${pull.fileName}${source === 'pre-restore' ? ' (safety pull before restore)' : ''}` });
      return { ...result, remoteId: id, alreadyInVault: false, restarts };
    } catch (error) {
      const payload = toErrorPayload(error);
      if (payload.code === 'ARCHIVE_VERIFY_FAILED') {
        const checks = (payload.details?.checks as IntegrityCheck[] | undefined) ?? [];
        const entry = await core.quarantine.add(
          { installationId: installation.id, installationName: installation.name, remoteId: id, fileName: pull.fileName, sizeBytes: (payload.details?.size as number | undefined) ?? null, sha256: (payload.details?.sha256 as string | undefined) ?? null, reason: payload.message, checks },
          pull.sidecars,
        );
        core.events.emit('vault:changed', { reason: 'download quarantined' });
        await core.audit.record({ action: 'pull', outcome: 'failed', installationId: installation.id, installationName: installation.name, jobId: ctx.jobId, detail: `quarantined ${pull.fileName}: ${payload.message}` });
        throw new LifeboatError('ARCHIVE_VERIFY_FAILED', `${payload.message} The download was quarantined (${entry.id.slice(0, 8)}); nothing entered the vault.`, { details: { ...payload.details, quarantineId: entry.id } });
      }
      if (isTransient(payload) && !ctx.signal.aborted && restarts < MAX_RESTARTS) {
        restarts += 1;
        ctx.log(`transfer failed (${payload.message}); restarting it (${restarts}/${MAX_RESTARTS})`);
        await sleep(500 * restarts, undefined, { signal: ctx.signal }).catch(() => undefined);
        continue;
      }
      await core.audit.record({ action: 'pull', outcome: ctx.signal.aborted ? 'cancelled' : 'failed', installationId: installation.id, installationName: installation.name, jobId: ctx.jobId, detail: payload.message });
      throw error;
    }
  }
}

async function ingest(core: Core, installation: Installation, pull: PullSource, actx: AdapterContext, ctx: JobContext, source: SnapshotSource) {
  const verifier = pull.createVerifier();
  let offset = 0;
  let resumed = 0;
  let verified: IntegrityCheck[] = [];

  async function* bytes(): AsyncGenerator<Buffer> {
    for (;;) {
      const stream = await pull.open(offset);
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          offset += chunk.length;
          // Per chunk, not only per few MiB the vault takes: on a slow link rate and ETA stay current.
          ctx.progress({ phase: 'downloading', bytes: offset, total: pull.size });
          verifier.write(chunk);
          yield chunk;
        }
        return;
      } catch (error) {
        const transient = isTransient(toErrorPayload(error)) || isSocketError(error);
        if (ctx.signal.aborted || !transient || !pull.resumable || resumed >= MAX_RESUMES) {
          throw transient && !pull.resumable ? new LifeboatError('HTTP_NETWORK', `The connection broke after ${offset} bytes and this source cannot resume.`, { cause: error }) : error;
        }
        resumed += 1;
        actx.log(`connection lost after ${offset} bytes; resuming from there (${resumed}/${MAX_RESUMES}): ${toErrorPayload(error).message}`);
        await sleep(300 * resumed, undefined, { signal: ctx.signal });
      } finally {
        stream.destroy();
      }
    }
  }

  // The verdict comes from the vault's hook after the last byte and before any snapshot exists:
  // an archive that fails a check never gets one. The vault hashes the whole archive on its
  // worker thread, so the verifier does not hash it a second time on this one.
  const verify = async (whole: WholeArchive): Promise<void> => {
    ctx.progress({ phase: 'verifying' });
    const checks = await verifier.finish(whole);
    if (checks.some((c) => !c.ok)) {
      throw new LifeboatError('ARCHIVE_VERIFY_FAILED', `${pull.fileName} from ${installation.name} failed verification: ${describeFailedChecks(checks)}.`, { details: { checks, sha256: whole.sha256, size: whole.size } });
    }
    verified = checks;
  };

  ctx.progress({ phase: 'downloading', bytes: 0, total: pull.size });
  const result = await core.vault.addArchive({
    input: Readable.from(bytes()),
    fileName: pull.fileName,
    ...(pull.size !== null ? { size: pull.size } : {}),
    mtime: pull.mtime,
    // Read after the last byte: a source may complete its sidecars from what streamed by.
    sidecars: () => pull.sidecars,
    origin: { installation, app: installation.app, source, remoteId: pull.remoteId, groupPath: pull.groupPath },
    ctx: { signal: ctx.signal, progress: (p) => ctx.progress({ ...p, phase: p.phase === 'verifying' ? p.phase : 'downloading' }) },
    beforeSnapshot: verify,
    ...(verifier.wantsMd5 ? { wholeMd5: true } : {}),
  });
  return { snapshotId: result.snapshotId, sizeBytes: result.size, sha256: result.sha256, checks: verified, resumed };
}

/** A broken connection, not an answer: an SFTP status the server gave (permission denied…) does not change on a retry. */
function isTransient(payload: { code: string; details?: Record<string, unknown> | undefined }): boolean {
  if (payload.code === 'SSH_SFTP' && typeof payload.details?.sftpStatus === 'number') return false;
  return TRANSIENT.has(payload.code);
}

function isSocketError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT' || code === 'ECONNABORTED';
}
