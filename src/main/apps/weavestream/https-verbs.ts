/**
 * The Weavestream adapter's verbs over HTTPS, for an installation without SSH (spec weavestream.md
 * §3.4 "operator present"): list the successful runs, pull one run's dump with its manifest (the
 * run DTO's `manifest`, written out as the worker's sidecar), and Run now. Downloads and Run now
 * need a step-up, so these verbs ask for the operator's TOTP code (CODE_REQUIRED) — never for
 * unattended pulls. There is no restore endpoint.
 */
import type { AdapterCapabilities, RemoteBackup } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { Installation } from '../../../shared/installations';
import type { AdapterContext, PullSource, Sidecar } from '../adapter';
import { cadenceHoursFromSchedules } from './cadence';
import { manifestNameFor } from './backup-files';
import { WeavestreamDumpVerifier, findManifest } from './dump-verifier';
import { downloadRun, getRun, listConfigs, listRuns, prepareStepUp, runNow, waitOrCancel, type WeavestreamRun } from './https-api';
import { WEAVESTREAM_DUMP_NAME, WEAVESTREAM_MANIFEST_KEYS, effectivePasswordKid } from './manifest';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The worker's BullMQ lock (BACKUP_JOB_LOCK_MINUTES default 360): a run still not finished by then is stuck. */
const RUN_WAIT_LIMIT_MS = 360 * 60_000;
/** Groups the snapshots of HTTPS pulls (retention), like the backup directory does over SSH. */
const GROUP_PATH = '/api/v1/backups/runs';

/** True when the installation is reached over HTTPS only (with SSH, the SSH path is used). */
export function usesWeavestreamHttps(installation: Installation): boolean {
  return installation.ssh === undefined && installation.https !== undefined;
}

/** What works over HTTPS: list, pull and Run now with an operator's code; preview of pulled dumps; no restore. */
export function httpsCapabilities(installation: Installation): AdapterCapabilities {
  const apiKey = installation.https?.auth === 'bearer';
  return {
    list: true,
    trigger: true,
    pull: true,
    preview: true,
    restore: false,
    restoreOptions: { scopes: [], conflict: null },
    interactive: apiKey ? ['pull', 'trigger'] : ['list', 'pull', 'trigger'],
    notes: [
      'Over HTTPS, Weavestream asks for the code from your authenticator app to sign in and again (step-up, valid 15 minutes) for each download and Run now: pulls need you present and cannot run unattended. Add an SSH connection for unattended pulls.',
      ...(apiKey ? [] : ['A read-only Weavestream API key (ws_…) as the API token lets Lifeboat list backups without a code.']),
      'Restore is not possible over HTTPS: Weavestream has no restore endpoint. Add an SSH connection to the host to restore.',
    ],
  };
}

/**
 * The expected cadence from the enabled schedules. Read only with the read-only API key: without
 * one it would cost a rate-limited login and an operator's code, which a fleet refresh must not spend.
 */
export async function expectedCadenceHoursHttps(ctx: AdapterContext): Promise<number | null> {
  if (ctx.installation.https?.auth !== 'bearer') return null;
  return cadenceHoursFromSchedules((await listConfigs(ctx)).filter((config) => config.enabled));
}

/** Successful runs that still have a dump to download, newest first; ids are the dump file names. */
export async function listRemoteHttps(ctx: AdapterContext): Promise<Omit<RemoteBackup, 'inVault'>[]> {
  const runs = await listRuns(ctx);
  return runs.filter(downloadable).map((run) => {
    const manifest = run.manifest ?? {};
    const details: Record<string, string> = { runId: run.id, kind: run.kind, manifest: run.manifest ? 'in the run' : 'missing' };
    if (run.configName) details.schedule = run.configName;
    for (const key of ['weavestreamVersion', 'prismaMigrationHash', 'sha256'] as const) {
      if (typeof manifest[key] === 'string') details[key] = manifest[key];
    }
    if (run.manifest) details.passwordEncryptionKid = effectivePasswordKid({ passwordEncryptionKid: typeof manifest.passwordEncryptionKid === 'string' ? manifest.passwordEncryptionKid : null });
    return {
      id: run.dumpFilename,
      name: run.dumpFilename,
      createdAt: (typeof manifest.generatedAt === 'string' ? manifest.generatedAt : null) ?? run.finishedAt ?? run.createdAt,
      sizeBytes: run.sizeBytes,
      details,
    };
  });
}

function downloadable(run: WeavestreamRun): run is WeavestreamRun & { dumpFilename: string } {
  return run.status === 'success' && run.dumpFilename !== null && WEAVESTREAM_DUMP_NAME.test(run.dumpFilename);
}

/**
 * The dump of one run (by dump file name or run id), verified like an SFTP pull against the run's
 * manifest. Steps up first, so a missing code fails before any byte streams. Not resumable:
 * Weavestream does not promise Range support, and each download costs one of 10 a minute.
 */
export async function openPullHttps(ctx: AdapterContext, remoteId: string): Promise<PullSource> {
  const run = await findRun(ctx, remoteId);
  const fileName = run.dumpFilename;
  const sidecars: Sidecar[] = run.manifest ? [{ name: manifestNameFor(fileName), content: Buffer.from(manifestSidecarText(run.manifest), 'utf8') }] : [];
  const lookup = findManifest(fileName, sidecars);
  if (!lookup.manifest) ctx.log(`No usable manifest for ${fileName}: ${lookup.problem ?? ''}`);
  await prepareStepUp(ctx);
  return {
    remoteId: fileName,
    fileName,
    size: run.sizeBytes ?? lookup.manifest?.sizeBytes ?? null,
    mtime: new Date(run.finishedAt ?? run.createdAt),
    sidecars,
    groupPath: GROUP_PATH,
    resumable: false,
    async open(offset) {
      if (offset > 0) throw new LifeboatError('INVALID_INPUT', 'A Weavestream download over HTTPS cannot resume; it starts again from the first byte.');
      const download = await downloadRun(ctx, run.id);
      const disposition = download.headers.get('content-disposition') ?? '';
      if (!disposition.includes(`filename="${fileName}"`)) {
        download.stream.destroy();
        throw new LifeboatError('HTTP_STATUS', `Weavestream sent a download that is not ${fileName} (Content-Disposition: ${disposition.slice(0, 120) || 'none'}).`, { details: { runId: run.id } });
      }
      return download.stream;
    },
    createVerifier: () => new WeavestreamDumpVerifier(fileName, lookup),
  };
}

/** The run behind a remote id: a dump file name (as listed) or a run's UUID. */
async function findRun(ctx: AdapterContext, remoteId: string): Promise<WeavestreamRun & { dumpFilename: string }> {
  let run: WeavestreamRun | undefined;
  if (UUID.test(remoteId)) {
    run = await getRun(ctx, remoteId);
  } else if (WEAVESTREAM_DUMP_NAME.test(remoteId)) {
    run = (await listRuns(ctx)).find((r) => r.dumpFilename === remoteId);
  } else {
    throw new LifeboatError('INVALID_INPUT', `"${remoteId.slice(0, 80)}" is neither a Weavestream dump name (weavestream-postgres-<time>.dump) nor a run id.`);
  }
  if (!run) throw new LifeboatError('NOT_FOUND', `Weavestream "${ctx.installation.name}" lists no run with the dump ${remoteId} among its newest 200 runs.`);
  if (!downloadable(run)) {
    throw new LifeboatError('NOT_FOUND', `Weavestream run ${run.id} has no downloadable dump (status ${run.status}${run.dumpFilename ? '' : ', its dump was pruned or never written'}).`);
  }
  return run;
}

/**
 * The run DTO's manifest as the worker wrote the sidecar: its eight keys in the worker's order
 * (JSONB returns them reordered), 2-space JSON, no trailing newline. Extra keys are kept after
 * them so the strict parser refuses a manifest Weavestream did not write.
 */
export function manifestSidecarText(manifest: Record<string, unknown>): string {
  const ordered: Record<string, unknown> = {};
  for (const key of WEAVESTREAM_MANIFEST_KEYS) if (key in manifest) ordered[key] = manifest[key];
  for (const [key, value] of Object.entries(manifest)) if (!(key in ordered)) ordered[key] = value;
  return JSON.stringify(ordered, null, 2);
}

/**
 * Run now on the first schedule (enabled ones come first), then waits for the run to finish,
 * polling it with a growing interval; cancelling stops the waiting, not Weavestream's run.
 */
export async function triggerHttps(ctx: AdapterContext): Promise<{ message: string; remoteId: string | null }> {
  const config = (await listConfigs(ctx))[0];
  if (!config) throw new LifeboatError('APP_UNSUPPORTED', `Weavestream "${ctx.installation.name}" has no backup schedule to run: create one under Admin → Backups.`);
  let run = await runNow(ctx, config.id);
  ctx.log(`Weavestream queued run ${run.id} of "${config.name}".`);
  const started = Date.now();
  let interval = 1000;
  while (run.status === 'queued' || run.status === 'running') {
    if (Date.now() - started > RUN_WAIT_LIMIT_MS) {
      throw new LifeboatError('HTTP_TIMEOUT', `Weavestream's run ${run.id} is still ${run.status} after ${RUN_WAIT_LIMIT_MS / 60_000} minutes; look at Admin → Backups.`, { details: { runId: run.id } });
    }
    ctx.progress({ phase: `Weavestream run ${run.status}` });
    await waitOrCancel(interval, ctx.signal, `waiting for Weavestream's run ${run.id}`);
    interval = Math.min(Math.round(interval * 1.5), 10_000);
    const previous = run.status;
    run = await getRun(ctx, run.id);
    if (run.status !== previous) ctx.log(`Run ${run.id} is ${run.status}.`);
  }
  if (run.status === 'failed') {
    const why = run.error === 'concurrent' ? 'another backup was already running' : (run.error ?? 'no reason given');
    throw new LifeboatError('HTTP_STATUS', `Weavestream's run ${run.id} failed: ${why}.`, { details: { runId: run.id, error: run.error } });
  }
  return { message: run.dumpFilename ? `Weavestream wrote ${run.dumpFilename}.` : `Weavestream's run ${run.id} succeeded.`, remoteId: run.dumpFilename };
}
