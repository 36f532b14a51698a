/**
 * Restoring a Nojoin archive through Nojoin's own import (specs/nojoin.md §2.5–§3): the whole
 * archive, or a subset repacked with the chosen tables and recordings, uploaded in confirmed
 * chunks and completed with the operator's conflict mode (Skip existing, Overwrite existing,
 * Clear all). Nojoin aborts a whole restore on one bad row and says only "Check server logs", so
 * every row is checked here first and a bad one is named. The plan and the verification compare
 * record identities with a fresh export of the live server without audio: Nojoin's API has no
 * other complete view of what is there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import type { IntegrityCheck, PlannedChange, PreflightCheck, RestoreOptions } from '../../../shared/apps';
import { LifeboatError, toErrorPayload } from '../../../shared/errors';
import type { AdapterContext, ArchiveAccess, StepContext } from '../adapter';
import type { RestorePart } from '../module';
import { compareAppVersions, fileByteSource, NOJOIN_TABLES, NojoinZip, readManifest, repackNojoinSubset, scanNojoinArchive, spoolArchive, rowFailure } from './format';
import { downloadExport, fileUploadSource, serverHealth, startExport, uploadForRestore, waitForExport, waitForRestore, type ConflictMode, type RestoreOutcome } from './api';
import { matchRecordings, plannedChanges, readIdentities, type ArchiveIdentities } from './identities';
import { nojoinSessionFor, type CallContext } from './session';
import { nojoinSettings } from './settings';

/** Nojoin's restore scopes and its three conflict modes, each said in terms of what it does. */
export const NOJOIN_RESTORE_OPTIONS: RestoreOptions = {
  scopes: [
    { id: 'full', label: 'Whole archive', description: 'Every table, recording, document and (Clear all only) config.json in the archive.', selectable: false },
    {
      id: 'selective',
      label: 'Chosen tables and recordings',
      description: 'Lifeboat repacks a smaller archive with what you choose; the rows those need (their users, tags, calendars) come along, audio only for the chosen recordings.',
      selectable: true,
    },
  ],
  conflict: {
    label: 'Records that already exist on the server',
    default: 'skip',
    policies: [
      {
        id: 'skip',
        label: 'Skip existing (Nojoin default)',
        description:
          'Adds what is missing. A recording already there (same meeting or public id) is kept as it is, and the archive’s transcript, speakers, tags and documents of it are dropped. Users are matched by username and never changed. Tasks and note templates are always added again. Calendars: only empty fields are filled in.',
      },
      {
        id: 'overwrite',
        label: 'Overwrite existing',
        description:
          'A recording already there is deleted with everything it owns and inserted again from the archive. Users are still never overwritten. Tasks and note templates are added again. Calendar connections, tokens and events are replaced by the archive’s.',
      },
      {
        id: 'clear-all',
        label: 'Clear all, then restore',
        description:
          'Deletes every recording, transcript, task, tag, person, calendar and document row on the server (users are kept), empties the recordings folder, then restores the archive as into a new installation, including its config.json. The most destructive mode.',
      },
    ],
  },
};

/** Nojoin's first release that reads archive format 2. */
const FORMAT_2_SINCE = '1.7.0';

/** Restore jobs' outcomes, from `run` to `verify` of the same plan. */
const outcomes = new Map<string, { jobId: string; outcome: RestoreOutcome }>();

function callContext(ctx: AdapterContext): CallContext {
  return { signal: ctx.signal, unattended: false };
}

async function tempDir(ctx: { stagingDir: string }, prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(ctx.stagingDir, prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Opens a local ZIP file; the file is closed again when the ZIP cannot be read. */
async function openZipFile(file: string, label: string): Promise<NojoinZip> {
  const source = await fileByteSource(file);
  try {
    return await NojoinZip.open(source, { label });
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** Runs `use` with the archive as a local file read at random: in place when it is one, else a staged copy. */
async function withLocalZip<T>(archive: ArchiveAccess, ctx: StepContext & { stagingDir: string }, use: (zip: NojoinZip, file: string) => Promise<T>): Promise<T> {
  const spooled = archive.localPath ? null : await spoolArchive(archive, ctx.stagingDir, ctx);
  const file = archive.localPath ?? spooled!.file;
  try {
    const zip = await openZipFile(file, archive.fileName);
    try {
      return await use(zip, file);
    } finally {
      await zip.close();
    }
  } finally {
    await spooled?.remove();
  }
}

/** Runs `use` with the archive to upload: the whole one, or the subset of `selection` repacked into staging. */
async function withUploadArchive<T>(zip: NojoinZip, file: string, selection: readonly string[], ctx: StepContext & { stagingDir: string }, use: (zip: NojoinZip, file: string) => Promise<T>): Promise<T> {
  if (selection.length === 0) return use(zip, file);
  const temp = await tempDir(ctx, 'nojoin-subset-');
  try {
    const subsetFile = path.join(temp.dir, 'subset.zip');
    const output = new PassThrough();
    const written = pipeline(output, createWriteStream(subsetFile, { mode: 0o600 }));
    ctx.progress({ phase: 'repacking the chosen items' });
    await Promise.all([repackNojoinSubset(zip, selection, output, { signal: ctx.signal }), written]);
    const subset = await openZipFile(subsetFile, `${zip.label} (chosen items)`);
    try {
      return await use(subset, subsetFile);
    } finally {
      await subset.close();
    }
  } finally {
    await temp.remove();
  }
}

async function formatVersionOf(zip: NojoinZip): Promise<number> {
  const manifest = await readManifest(zip);
  if (manifest.kind === 'damaged' || manifest.kind === 'invalid') throw manifest.error;
  return manifest.kind === 'read' ? manifest.info.formatVersion : 1;
}

/** The identities of what is on the server now: an export without audio, downloaded to staging, read and deleted. */
async function liveIdentities(ctx: AdapterContext): Promise<ArchiveIdentities> {
  const session = await nojoinSessionFor(ctx);
  const call = callContext(ctx);
  ctx.progress({ phase: 'reading the live server (an export without audio)' });
  const taskId = await startExport(session, { includeAudio: false, archiveQuality: 'compressed' }, call);
  await waitForExport(session, taskId, call, { onProgress: (p) => ctx.progress({ phase: `reading the live server: ${p.detail}` }) });
  const temp = await tempDir(ctx, 'nojoin-live-');
  try {
    const file = path.join(temp.dir, 'live.zip');
    await downloadExport(session, taskId, file, call);
    const zip = await openZipFile(file, 'the live server’s export');
    try {
      return await readIdentities(zip, await formatVersionOf(zip), NOJOIN_TABLES, ctx.signal);
    } finally {
      await zip.close();
    }
  } finally {
    await temp.remove();
  }
}

/** The account, the server's version against the archive's format, and every row against Nojoin's rules. */
async function targetChecks(ctx: AdapterContext, formatVersion: number): Promise<PreflightCheck[]> {
  const session = await nojoinSessionFor(ctx);
  const call = callContext(ctx);
  const checks: PreflightCheck[] = [];
  const identity = await session.identity(call);
  checks.push({ id: 'superuser', kind: 'target', name: 'Nojoin account', ok: identity.isSuperuser, blocking: true, detail: identity.isSuperuser ? `${identity.username} is a superuser` : `${identity.username} is not a superuser; only a superuser can restore backups in Nojoin.` });
  const { version } = await serverHealth(session, call);
  const tooOld = version !== null && formatVersion >= 2 && compareAppVersions(version, FORMAT_2_SINCE) < 0;
  checks.push({
    id: 'server-version',
    kind: 'compatibility',
    name: 'Nojoin version',
    ok: !tooOld,
    blocking: true,
    detail: version === null ? 'the server did not say its version' : tooOld ? `the server runs Nojoin ${version}, which does not know archive format ${formatVersion} (${FORMAT_2_SINCE} or newer does): upgrade Nojoin first.` : `Nojoin ${version} reads archive format ${formatVersion}`,
  });
  return checks;
}

/** Every row of the archive to upload against its format's rules: Nojoin aborts on the first bad one and says only "Check server logs". */
async function rowCheck(upload: NojoinZip, signal: AbortSignal): Promise<{ check: PreflightCheck; formatVersion: number }> {
  const scan = await scanNojoinArchive(upload, { signal });
  const failure = scan.firstBadRow ? rowFailure(scan.firstBadRow) : scan.failures[0];
  return {
    formatVersion: scan.formatVersion,
    check: { id: 'rows', kind: 'integrity', name: 'Every row as Nojoin checks it', ok: !failure, blocking: true, detail: failure ? failure.message : `every row of every table passes format ${scan.formatVersion}'s rules` },
  };
}

function unknownChanges(archive: ArchiveIdentities, why: string): PlannedChange[] {
  return [...archive.counts].map(([table, rows]) => ({ item: `${table}: not knowable before restore (${why})`, action: 'unknown', archive: rows, live: null }));
}

function describeSkipped(skipped: RestoreOutcome['skipped']): string {
  const parts = Object.entries(skipped).flatMap(([table, reasons]) => Object.entries(reasons).filter(([, n]) => n > 0).map(([reason, n]) => `${table} ${n} (${reason})`));
  return parts.join(', ') || 'none';
}

function skippedIn(skipped: RestoreOutcome['skipped'], table: string): number {
  return Object.values(skipped[table] ?? {}).reduce((sum, n) => sum + n, 0);
}

/** The checks after the restore: Nojoin's job, then the records themselves in a fresh export. */
function recordChecks(archive: ArchiveIdentities, live: ArchiveIdentities, mode: ConflictMode, skipped: RestoreOutcome['skipped']): IntegrityCheck[] {
  const checks: IntegrityCheck[] = [];
  const missingUsers = [...archive.usernames].filter((u) => !live.usernames.has(u));
  checks.push({ id: 'users', kind: 'verification', name: 'Users', ok: missingUsers.length <= skippedIn(skipped, 'users'), detail: missingUsers.length ? `not on the server: ${missingUsers.slice(0, 10).join(', ')}` : `all ${archive.usernames.size} archived users are on the server` });
  const identified = archive.recordings.filter((r) => r.keys.length > 0);
  const matches = matchRecordings(identified, live.recordings);
  const missing = [...matches].filter(([, m]) => m === null).map(([r]) => r);
  checks.push({
    id: 'recordings',
    kind: 'verification',
    name: 'Recordings',
    ok: missing.length <= skippedIn(skipped, 'recordings'),
    detail: missing.length ? `${missing.length} of ${identified.length} archived recordings are not on the server (${missing.slice(0, 5).map((r) => `"${r.name}"`).join(', ')}); Nojoin reported skipping ${skippedIn(skipped, 'recordings')}` : `all ${identified.length} archived recordings are on the server`,
  });
  if (mode === 'overwrite') {
    const differing = [...matches].filter(([r, m]) => m !== null && m.name !== r.name).map(([r]) => r);
    checks.push({ id: 'overwritten', kind: 'verification', name: 'Overwritten recordings', ok: differing.length === 0, detail: differing.length ? `${differing.length} still carry another title than the archive's (${differing.slice(0, 5).map((r) => `"${r.name}"`).join(', ')})` : 'every archived recording carries the archive’s title' });
  }
  if (mode === 'clear-all') {
    const wrong: string[] = [];
    for (const table of ['notes_templates', 'user_tasks'] as const) {
      const rows = archive.counts.get(table);
      if (rows === undefined) continue;
      const expected = rows - skippedIn(skipped, table);
      const now = live.counts.get(table) ?? 0;
      if (now !== expected) wrong.push(`${table}: ${now} on the server, ${expected} expected`);
    }
    const expectedRecordings = identified.length - skippedIn(skipped, 'recordings');
    if (archive.counts.has('recordings') && live.recordings.length !== expectedRecordings) wrong.push(`recordings: ${live.recordings.length} on the server, ${expectedRecordings} expected after clearing`);
    checks.push({ id: 'row-counts', kind: 'verification', name: 'Row counts after Clear all', ok: wrong.length === 0, detail: wrong.length ? wrong.join('; ') : 'the server holds exactly the archive’s recordings, tasks and note templates' });
  }
  return checks;
}

/** The restore part of the Nojoin module. */
export const nojoinRestore: RestorePart = {
  async plan(ctx, input) {
    if (!ctx.installation.https) throw new LifeboatError('APP_UNSUPPORTED', `"${ctx.installation.name}" has no HTTPS connection: Nojoin restores through its API.`);
    const mode = (input.conflict ?? 'skip') as ConflictMode;
    return withLocalZip(input.archive, ctx, (zip, file) =>
      withUploadArchive(zip, file, input.selection, ctx, async (upload) => {
        const rows = await rowCheck(upload, ctx.signal);
        const preflight = [rows.check, ...(await targetChecks(ctx, rows.formatVersion))];
        const archive = await readIdentities(upload, rows.formatVersion, NOJOIN_TABLES, ctx.signal);
        let changes: PlannedChange[];
        if (preflight.some((c) => c.blocking && !c.ok)) changes = unknownChanges(archive, 'the restore is blocked');
        else {
          try {
            changes = plannedChanges(archive, await liveIdentities(ctx), mode);
          } catch (error) {
            if (ctx.signal.aborted) throw error;
            changes = unknownChanges(archive, `the live server could not be read: ${toErrorPayload(error).message}`);
          }
        }
        // Nojoin redacts LLM and Hugging Face keys on export: the target must hold them already.
        const keys = input.preview.secrets.filter((line) => line.startsWith('Redacted'));
        return {
          preflight,
          changes,
          steps: [
            ...(input.selection.length ? ['Repack the chosen tables and recordings into a smaller archive Nojoin accepts'] : []),
            `Upload the archive in chunks of ${nojoinSettings(ctx.installation).chunkBytes / 1024 / 1024} MiB, each confirmed`,
            `Start Nojoin's restore with ${NOJOIN_RESTORE_OPTIONS.conflict!.policies.find((p) => p.id === mode)!.label}`,
            'Follow the restore job to its end',
            'Export the server again (without audio) and check that the records arrived',
          ],
          pointOfNoReturn: 'Completing the upload: Nojoin starts its restore and changes the database in one transaction (rolled back by Nojoin itself on an error)',
          followUps: [
            ...keys,
            'Users are never overwritten: accounts that already existed keep their passwords and roles.',
            ...(mode !== 'clear-all' ? ['Tasks and note templates were added again: remove duplicates if this archive had been restored before.'] : []),
            'Nojoin regenerates playback proxies and search indexes of restored recordings in the background.',
          ],
        };
      }),
    );
  },

  async run(ctx, { plan, archive }) {
    const mode = (plan.conflict ?? 'skip') as ConflictMode;
    const settings = nojoinSettings(ctx.installation);
    const session = await nojoinSessionFor(ctx);
    const call = callContext(ctx);
    await withLocalZip(archive, ctx, (zip, file) =>
      withUploadArchive(zip, file, plan.selection, ctx, async (upload, uploadFile) => {
        // Checked again on the bytes that go: the vault or the file may have changed since the plan.
        const rows = await rowCheck(upload, ctx.signal);
        if (!rows.check.ok) throw new LifeboatError('ARCHIVE_INVALID', rows.check.detail);
        const source = await fileUploadSource(uploadFile);
        try {
          const jobId = await uploadForRestore(session, source, call, {
            fileName: archive.fileName,
            mode,
            chunkBytes: settings.chunkBytes,
            onProgress: (p) => ctx.progress({ phase: `uploading (${p.detail})`, bytes: p.done ?? 0, total: p.total }),
            beforeComplete: () => ctx.passPointOfNoReturn('Nojoin restore started'),
          });
          ctx.log(`Nojoin restore job ${jobId} started (${mode})`);
          const outcome = await waitForRestore(session, jobId, call, { onProgress: (p) => ctx.progress({ phase: `Nojoin is restoring: ${p.detail}` }) });
          ctx.log(`Nojoin restore job ${jobId} ended ${outcome.status}${outcome.status === 'completed_with_warnings' ? `; rows skipped: ${describeSkipped(outcome.skipped)}` : ''}`);
          outcomes.set(plan.id, { jobId, outcome });
        } finally {
          await source.close();
        }
      }),
    );
  },

  async verify(ctx, { plan, archive }) {
    const ran = outcomes.get(plan.id);
    outcomes.delete(plan.id);
    if (!ran) throw new LifeboatError('RESTORE_FAILED', 'The Nojoin restore job of this plan is unknown: the restore did not run.');
    const { jobId, outcome } = ran;
    const checks: IntegrityCheck[] = [
      outcome.status === 'completed'
        ? { id: 'nojoin-job', kind: 'verification', name: 'Nojoin restore job', ok: true, detail: `job ${jobId} completed` }
        : { id: 'nojoin-job', kind: 'verification', name: 'Nojoin restore job', ok: false, skipped: `Nojoin's job completed with warnings: it left out ${describeSkipped(outcome.skipped)}; review those rows`, detail: `job ${jobId} completed with warnings: Nojoin left rows out: ${describeSkipped(outcome.skipped)}` },
    ];
    const archived = await withLocalZip(archive, ctx, (zip, file) => withUploadArchive(zip, file, plan.selection, ctx, async (upload) => readIdentities(upload, await formatVersionOf(upload), NOJOIN_TABLES, ctx.signal)));
    let live: ArchiveIdentities;
    try {
      live = await liveIdentities(ctx);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      checks.push({ id: 'records', kind: 'verification', name: 'Records on the server', ok: false, skipped: 'the server could not be exported after the restore', detail: `could not export the server to check: ${toErrorPayload(error).message}` });
      return checks;
    }
    return [...checks, ...recordChecks(archived, live, (plan.conflict ?? 'skip') as ConflictMode, outcome.skipped)];
  },
};
