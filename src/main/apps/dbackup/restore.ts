/**
 * Restoring a DBackup database backup the only way DBackup allows (spec §8): the file and its
 * `.meta.json` must lie on a storage destination DBackup knows — already there, or put there over
 * SFTP — then `POST /storage/{id}/restore` starts an execution, which Lifeboat follows to its end.
 * Before anything changes the archive is verified in full (GCM tag with the key, or SHA-256), as
 * a restore must never act on unauthenticated bytes. `Partial` is not success. Config backups
 * have no restore API (server actions only) and are refused at planning.
 */
import { createHash } from 'node:crypto';
import path from 'node:path/posix';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { IntegrityCheck, PreflightCheck, PreviewReport, RestoreOptions } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import { authenticateWholeFile } from '../../formats/gcm';
import type { AdapterContext, ArchiveAccess, RestoreContext, RestorePlanDraft } from '../adapter';
import { replaceOnly, type RestorePart } from '../module';
import { progressCounter } from '../module-kit/progress';
import { dbackupApi, unwrapped, type DbackupApi } from './api';
import { followExecution, storageFiles, type Execution, type StorageFile } from './https-source';
import { masterKeyFor } from './keys';
import { dbackupSettings, type DbackupSettings } from './settings';
import { findSidecar, sidecarNameFor, type DbackupSidecar } from './sidecar';

/** DBackup's restores of a database backup: every database in it, or chosen ones (its databaseMapping). */
export const DBACKUP_RESTORE_OPTIONS: RestoreOptions = replaceOnly([
  {
    id: 'full',
    label: 'Restore through DBackup',
    description: 'DBackup restores the backup into the chosen database source (for Postgres: pg_restore --clean --if-exists --no-owner --no-acl); Lifeboat verifies the file first and follows the execution to its end.',
    selectable: false,
  },
  {
    id: 'databases',
    label: 'Chosen databases',
    description: 'Of a backup of several databases, only the ones chosen (DBackup\'s database mapping): each replaces the database of its name on the target source, or of the name set in "Restore as database" when one is chosen. The others are left as they are.',
    selectable: true,
  },
]);

/** DBackup's databaseMapping (spec §8; its postgres adapter skips entries not selected and restores each into targetName). */
interface DatabaseMapping {
  originalName: string;
  targetName: string;
  selected: boolean;
}

/** The mapping of a `databases` restore: every database of the backup, the chosen ones selected; null for a full restore. */
function mappingOf(mode: string, selection: string[], databases: string[], targetDatabaseName: string): DatabaseMapping[] | null {
  if (mode !== 'databases') return null;
  const chosen = new Set(selection);
  const rename = chosen.size === 1 && targetDatabaseName !== '' ? targetDatabaseName : null;
  return databases.map((name) => ({ originalName: name, targetName: chosen.has(name) && rename ? rename : name, selected: chosen.has(name) }));
}

const POINT_OF_NO_RETURN = 'DBackup starts restoring into the target source';
const sourcesAnswer = unwrapped(z.array(z.looseObject({ id: z.string().min(1), name: z.string().nullish(), adapterId: z.string().nullish() })), ['adapters']);
const restoreAnswer = unwrapped(z.looseObject({ executionId: z.string().min(1) }), ['execution']);
const analyzeAnswer = unwrapped(z.looseObject({ databases: z.array(z.string()) }), []);

/** What DBackup itself reads inside a backup on its storage (`POST /storage/{id}/analyze`): its database names, or why not. */
async function analyze(api: DbackupApi, storageId: string, file: string, sourceType: string): Promise<{ databases: string[] } | { problem: string }> {
  try {
    const answer = await api.json('POST', `/storage/${encodeURIComponent(storageId)}/analyze`, { what: `the analysis of ${file}`, permission: 'storage:restore' }, analyzeAnswer, { json: { file, type: sourceType } });
    return { databases: answer.databases };
  } catch (error) {
    if (!(error instanceof LifeboatError) || error.code === 'CANCELLED') throw error;
    return { problem: error.message };
  }
}

/**
 * The databases a restore works on: DBackup's own analysis when it names some (that is what its
 * restore maps), else the preview's, else the sidecar's.
 */
function databasesInside(analysis: { databases: string[] } | { problem: string } | null, preview: PreviewReport, sidecar: DbackupSidecar): string[] {
  if (analysis && 'databases' in analysis && analysis.databases.length > 0) return analysis.databases;
  return preview.selectable.length ? preview.selectable : (sidecar.databases ?? []);
}

/** The plan's check of DBackup's analysis against what Lifeboat read. */
function analysisCheck(analysis: { databases: string[] } | { problem: string } | null, preview: PreviewReport, sidecar: DbackupSidecar, storageId: string): PreflightCheck {
  const name = 'What DBackup reads inside';
  if (!analysis) return check('dbackup-analyze', name, true, false, `asked once the file is on storage ${storageId} (after the upload), before DBackup restores anything`, 'compatibility');
  if ('problem' in analysis) return check('dbackup-analyze', name, true, false, `DBackup could not analyze it (${analysis.problem}); the plan follows the preview and the sidecar`, 'compatibility');
  const ours = preview.selectable.length ? preview.selectable : (sidecar.databases ?? []);
  if (analysis.databases.length === 0) return check('dbackup-analyze', name, true, false, `DBackup names no database inside (a single dump: it restores it as ${ours.join(', ') || 'the target database'})`, 'compatibility');
  const missing = ours.filter((d) => !analysis.databases.includes(d));
  const extra = analysis.databases.filter((d) => !ours.includes(d));
  const same = missing.length === 0 && extra.length === 0;
  return check('dbackup-analyze', name, same, false, same ? `${analysis.databases.length} database(s): ${analysis.databases.join(', ')}, as the preview read them` : `DBackup reads ${analysis.databases.join(', ')}; the preview read ${ours.join(', ') || 'none'}: DBackup's list is what it will restore`, 'compatibility');
}

/** Executions of the restores this process ran, by plan id, for `verify`. */
const executions = new Map<string, { executionId: string; execution: Execution }>();

const check = (id: string, name: string, ok: boolean, blocking: boolean, detail: string, kind: PreflightCheck['kind'] = 'target'): PreflightCheck => ({ id, kind, name, ok, blocking, detail });

/** The SHA-256 the preview computed of the archive. */
const sha256Of = (preview: PreviewReport): string | null => preview.summary.find((f) => f.label === 'SHA-256')?.value ?? null;

/** Where the backup lies on the storage, by name and checksum. */
function findOnStorage(rows: StorageFile[], fileName: string, sha256: string | null): StorageFile | null {
  return rows.find((r) => r.name === fileName && (!r.checksum || !sha256 || r.checksum.toLowerCase() === sha256)) ?? null;
}

/** The folder DBackup would have written the backup to: the raw job name (spec §5). */
const uploadPathOf = (sidecar: DbackupSidecar, fileName: string): string => (sidecar.kind === 'config' ? `config-backups/${fileName}` : `${sidecar.jobName ?? 'Lifeboat restores'}/${fileName}`);

interface Target {
  api: DbackupApi;
  settings: DbackupSettings;
  storageId: string;
  sidecar: DbackupSidecar;
}

function sidecarOf(archive: ArchiveAccess): DbackupSidecar {
  const lookup = findSidecar(archive.fileName, archive.sidecars);
  if (!lookup.sidecar) throw new LifeboatError('PREFLIGHT_FAILED', `DBackup cannot restore ${archive.fileName} without its sidecar: ${lookup.problem?.message ?? 'it is missing'}`);
  return lookup.sidecar;
}

/** Reads the archive to its end before anything changes: the GCM tag with the key, else the SHA-256 against the sidecar. */
async function verifyFirst(ctx: AdapterContext, archive: ArchiveAccess, sidecar: DbackupSidecar): Promise<void> {
  ctx.progress({ phase: 'verifying the archive', bytes: 0, total: archive.size });
  const hash = createHash('sha256');
  const onStoredChunk = (chunk: Buffer): void => {
    hash.update(chunk);
  };
  if (sidecar.encryption?.iv && sidecar.encryption.authTag) {
    const master = await masterKeyFor(ctx.keys, sidecar.encryption.profileId, archive.fileName);
    await authenticateWholeFile(await archive.open(), { key: master.key, iv: sidecar.encryption.iv, authTag: sidecar.encryption.authTag }, { label: archive.fileName, compression: sidecar.compression, keyRef: master.ref, signal: ctx.signal, onStoredChunk });
  } else {
    for await (const chunk of (await archive.open()) as AsyncIterable<Buffer>) onStoredChunk(chunk);
  }
  const sha256 = hash.digest('hex');
  if (sidecar.sha256 && sidecar.sha256 !== sha256) throw new LifeboatError('RESTORE_FAILED', `${archive.fileName} has SHA-256 ${sha256}, its sidecar says ${sidecar.sha256}; nothing was restored.`);
}

/** Puts the sidecar, then the file (under a temporary name, renamed), on the destination over SFTP, as DBackup uploads them. */
async function upload(ctx: RestoreContext, archive: ArchiveAccess, destinationDir: string, relative: string): Promise<void> {
  const session = await ctx.ssh();
  const target = path.join(destinationDir, relative);
  await session.mkdirp(path.dirname(target));
  const sidecar = archive.sidecars.find((s) => s.name === sidecarNameFor(archive.fileName))!;
  await pipeline(Readable.from([sidecar.content]), await session.createWriteStream(`${target}.meta.json`, { signal: ctx.signal }));
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.lifeboat-${Date.now()}`);
  try {
    await pipeline(await archive.open(), progressCounter(ctx, 'uploading to the destination', archive.size), await session.createWriteStream(temporary, { fsync: true, signal: ctx.signal }));
    await session.rename(temporary, target);
  } catch (error) {
    await session.remove(temporary).catch(() => undefined);
    throw error;
  }
}

async function target(ctx: AdapterContext, archive: ArchiveAccess): Promise<Target> {
  const settings = dbackupSettings(ctx.installation);
  const storageId = settings.storageIds[0];
  if (!storageId) throw new LifeboatError('PREFLIGHT_FAILED', `"${ctx.installation.name}" names no storage destination (storageIds): DBackup restores only from a destination it knows.`);
  return { api: await dbackupApi(ctx), settings, storageId, sidecar: sidecarOf(archive) };
}

/** The restore part: plan (reads only), run (verify, place, POST restore, follow), verify (the execution's outcome). */
export const dbackupRestore: RestorePart = {
  async plan(ctx, { archive, preview, ...choice }) {
    const preflight: PreflightCheck[] = [];
    const draft = { preflight, changes: [], steps: [] as string[], pointOfNoReturn: POINT_OF_NO_RETURN };
    const lookup = findSidecar(archive.fileName, archive.sidecars);
    const sidecar = lookup.sidecar;
    if (!sidecar) {
      preflight.push(check('sidecar', 'DBackup sidecar', false, true, `DBackup cannot restore a file without its .meta.json: ${lookup.problem?.message ?? 'missing'}`, 'integrity'));
      return draft;
    }
    if (sidecar.kind === 'config') {
      preflight.push(check('database-backup', 'A database backup', false, true, 'This is a config backup: DBackup restores those only in its web UI (Storage Explorer, or upload with the .meta.json); it has no API for it.', 'compatibility'));
      return draft;
    }
    preflight.push(check('database-backup', 'A database backup', true, true, `${sidecar.sourceType} backup of ${sidecar.databases?.join(', ') ?? 'its databases'}`, 'compatibility'));
    const { api, settings, storageId } = await target(ctx, archive);
    const sources = await api.json('GET', '/adapters', { what: 'the list of database sources', permission: 'sources:view' }, sourcesAnswer, { query: { type: 'database' } });
    const source = sources.find((s) => s.id === settings.targetSourceId);
    preflight.push(check('target-source', 'Target source', source !== undefined, true, !settings.targetSourceId ? 'no targetSourceId is set: choose the DBackup database source to restore into' : source ? `DBackup source ${source.name ?? source.id}${source.adapterId ? ` (${source.adapterId})` : ''}` : `DBackup has no database source ${settings.targetSourceId}`));
    if (source?.adapterId && source.adapterId !== sidecar.sourceType) preflight.push(check('engine', 'Same engine', false, true, `the backup is a ${sidecar.sourceType} dump, the target source is ${source.adapterId}`, 'compatibility'));
    const onStorage = findOnStorage(await storageFiles(api, storageId), archive.fileName, sha256Of(preview));
    const canUpload = ctx.installation.ssh !== undefined && settings.destinationDir !== '';
    preflight.push(check('on-destination', 'On a DBackup destination', onStorage !== null || canUpload, true, onStorage ? `already on storage ${storageId} at ${onStorage.path}` : canUpload ? `not on storage ${storageId}: it will be uploaded over SFTP to ${uploadPathOf(sidecar, archive.fileName)} with its .meta.json` : `not on storage ${storageId}, and DBackup has no upload API: put the file and its .meta.json there (or add an SSH connection and destinationDir)`));
    const sourceName = `DBackup source ${source?.name ?? settings.targetSourceId}`;
    const analysis = onStorage ? await analyze(api, storageId, onStorage.path, sidecar.sourceType) : null;
    preflight.push(analysisCheck(analysis, preview, sidecar, storageId));
    const inside = databasesInside(analysis, preview, sidecar);
    const mapping = mappingOf(choice.mode, choice.selection, inside, settings.targetDatabaseName);
    if (mapping) {
      const unknown = choice.selection.filter((name) => !mapping.some((m) => m.originalName === name));
      preflight.push(check('databases', 'Chosen databases', mapping.some((m) => m.selected) && unknown.length === 0, true, unknown.length ? `the backup holds no database ${unknown.join(', ')} (it holds ${mapping.map((m) => m.originalName).join(', ') || 'none that the preview could name'})` : mapping.some((m) => m.selected) ? `${mapping.filter((m) => m.selected).length} of ${mapping.length}: ${mapping.filter((m) => m.selected).map((m) => (m.targetName === m.originalName ? m.originalName : `${m.originalName} → ${m.targetName}`)).join(', ')}` : 'choose at least one database', 'compatibility'));
    }
    const into = mapping ? mapping.filter((m) => m.selected).map((m) => m.targetName).join(', ') : `${settings.targetDatabaseName || sidecar.databases?.join(', ') || 'the databases in the backup'}`;
    const changes: RestorePlanDraft['changes'] = mapping
      ? mapping.map((m) => ({ item: m.selected ? `database ${m.targetName}${m.targetName === m.originalName ? '' : ` (from ${m.originalName})`} on ${sourceName}` : `database ${m.originalName} (not chosen)`, action: m.selected ? 'replace' : 'keep', live: null, archive: null }))
      : inside.length > 1 && !settings.targetDatabaseName
        ? inside.map((name) => ({ item: `database ${name} on ${sourceName}`, action: 'replace' as const, live: null, archive: null }))
        : [{ item: `${into} on ${sourceName}`, action: 'replace', live: null, archive: archive.size }];
    return {
      preflight,
      changes,
      steps: [
        'Read the archive to its end and check it (AES-GCM tag with the profile key, or SHA-256) before anything changes.',
        ...(onStorage ? [] : [`Upload ${archive.fileName}.meta.json, then ${archive.fileName}, to the destination over SFTP.`]),
        `Ask DBackup to restore it into ${into} on ${sourceName} (POST /storage/${storageId}/restore${mapping ? ' with the database mapping' : ''}).`,
        'Follow DBackup\'s execution to its end; anything but Success (Partial included) is a failed restore.',
      ],
      pointOfNoReturn: POINT_OF_NO_RETURN,
      followUps: ['Check the application that uses the restored database; DBackup reports only its own steps.'],
    };
  },

  async run(ctx, { plan, archive, preview }) {
    const { api, settings, storageId, sidecar } = await target(ctx, archive);
    if (sidecar.kind !== 'database') throw new LifeboatError('RESTORE_FAILED', 'DBackup has no API to restore a config backup; nothing was changed.');
    await verifyFirst(ctx, archive, sidecar);
    ctx.log(`${archive.fileName} verified to its last byte.`);
    let onStorage = findOnStorage(await storageFiles(api, storageId), archive.fileName, sha256Of(preview));
    if (!onStorage) {
      if (!ctx.installation.ssh || !settings.destinationDir) throw new LifeboatError('RESTORE_FAILED', `${archive.fileName} is not on storage ${storageId} and cannot be uploaded (no SSH destination folder); nothing was restored.`);
      const relative = uploadPathOf(sidecar, archive.fileName);
      ctx.log(`Uploading ${relative} (sidecar first) to ${settings.destinationDir}.`);
      await upload(ctx, archive, settings.destinationDir, relative);
      onStorage = findOnStorage(await storageFiles(api, storageId), archive.fileName, sha256Of(preview));
      if (!onStorage) throw new LifeboatError('RESTORE_FAILED', `DBackup does not list ${relative} on storage ${storageId} after the upload: is destinationDir the root of that destination?`);
    }
    const analysis = await analyze(api, storageId, onStorage.path, sidecar.sourceType);
    const inside = databasesInside(analysis, preview, sidecar);
    const unknown = plan.mode === 'databases' ? plan.selection.filter((name) => !inside.includes(name)) : [];
    if (unknown.length > 0) throw new LifeboatError('RESTORE_FAILED', `DBackup reads ${inside.join(', ')} inside ${onStorage.path}, not ${unknown.join(', ')}; nothing was restored.`);
    const mapping = mappingOf(plan.mode, plan.selection, inside, settings.targetDatabaseName);
    ctx.passPointOfNoReturn(POINT_OF_NO_RETURN);
    const started = await api.json('POST', `/storage/${encodeURIComponent(storageId)}/restore`, { what: `the restore of ${onStorage.path}`, permission: 'storage:restore' }, restoreAnswer, {
      json: mapping
        ? { file: onStorage.path, targetSourceId: settings.targetSourceId, databaseMapping: mapping }
        : { file: onStorage.path, targetSourceId: settings.targetSourceId, ...(settings.targetDatabaseName ? { targetDatabaseName: settings.targetDatabaseName } : {}) },
    });
    ctx.log(`DBackup restores ${onStorage.path} as execution ${started.executionId}.`);
    // Past the point of no return: following ends only when DBackup's execution does.
    const execution = await followExecution({ ...ctx, signal: new AbortController().signal }, api, started.executionId, 'the restore');
    executions.set(plan.id, { executionId: started.executionId, execution });
    if (execution.status !== 'Success') {
      throw new LifeboatError('RESTORE_FAILED', `DBackup's restore ended ${execution.status}${execution.status === 'Partial' ? ' (some steps failed: not a complete restore)' : ''}${execution.error ? `: ${execution.error}` : ''}.`, { details: { executionId: started.executionId, status: execution.status } });
    }
  },

  async verify(_ctx, { plan }) {
    const done = executions.get(plan.id);
    executions.delete(plan.id);
    const checks: IntegrityCheck[] = [];
    if (!done) {
      checks.push({ id: 'dbackup-execution', kind: 'verification', name: 'DBackup\'s restore', ok: true, detail: 'the execution is not known to this Lifeboat process', skipped: 'no execution to check' });
      return checks;
    }
    checks.push({ id: 'dbackup-execution', kind: 'verification', name: 'DBackup\'s restore', ok: done.execution.status === 'Success' && !done.execution.error, detail: `execution ${done.executionId}: ${done.execution.status}${done.execution.error ? ` (${done.execution.error})` : ''}` });
    return checks;
  },
};
