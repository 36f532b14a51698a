/**
 * Restore drills: a vault snapshot is restored into a throwaway target that is never production,
 * checked there, and the target removed. PostgreSQL-based apps (the module's `drill.postgres`)
 * are restored with pg_restore / psql, stop-on-error, into a scratch database of a temporary local
 * PostgreSQL cluster (local-postgres.ts) or, when the installation's drill settings allow it
 * (`onServer`, off by default), into `lifeboat_drill_<id>` on the installation's own PostgreSQL
 * over SSH once the server's free space is checked (server-postgres.ts); their row counts are
 * compared with the archive's and the scratch database dropped in every outcome (scratch.ts). Apps with no scratch instance (`drill.structural`) get
 * a structural drill: every row parsed and validated, references resolved, checksums re-read, from
 * the bytes the vault hands back (every vault blob is verified as it is read).
 *
 * The result is stored with the snapshot (`<home>/drills/<snapshot id>.json`, every drill of it,
 * newest last), audited (action `drill`), and emitted on `core.events`:
 *
 * | event            | payload                          | when                                   |
 * |------------------|----------------------------------|----------------------------------------|
 * | `drill:finished` | {@link DrillResult}              | every drill that reached a verdict     |
 * | `drill:failed`   | {@link DrillResult}              | also, when that verdict is "does not restore" (for #13's notification channels) |
 *
 * The scheduler calls {@link runDrill} (inside a job of its own) or `core.drills.start(snapshotId)`
 * (which makes the job), and `core.drills.latest(snapshotId)` for the badge.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { IntegrityCheck } from '../../shared/apps';
import { DEFAULT_DRILL_SETTINGS, type DrillResult, type DrillSettings, type DrillTable } from '../../shared/drills';
import type { Installation } from '../../shared/installations';
import { LifeboatError } from '../../shared/errors';
import type { Core } from '../core';
import type { JobContext } from '../jobs/job-manager';
import type { StepContext } from '../apps/adapter';
import type { DrillPart, FormatContext, PostgresDrillDump } from '../apps/module';
import { createAdapterContext } from '../apps/context';
import { TunnelDb } from '../transport/postgres/tunnel-db';
import { openArchive } from '../apps/archive-access';
import { moduleOfArchive } from '../apps/preview';
import { createKeyResolver } from '../apps/keys';
import { writeFileAtomic } from '../fs/atomic-write';
import { findPostgresBinDir, findPostgresClientBinDir, startLocalCluster, type ToolRun } from './local-postgres';
import { localScratch, type ScratchTarget } from './scratch';
import { checkServerSpace, openServerScratch } from './server-postgres';

/** What a drill needs of its caller: progress, cancellation, log; a job id when it runs as a job. */
export type DrillContext = StepContext & { jobId?: string };

/** A check fails a drill when it failed and was not skipped; compatibility notes only warn. */
const failing = (c: IntegrityCheck): boolean => !c.ok && !c.skipped && c.kind !== 'compatibility';

/**
 * Drills one snapshot and stores the result: the hook the scheduler calls. Throws only when the
 * drill cannot run at all (DRILL_UNAVAILABLE, a missing key, cancellation); a snapshot that does
 * not restore is a stored result with `restorable: false`.
 */
export async function runDrill(core: Core, snapshotId: string, ctx: DrillContext): Promise<DrillResult> {
  const started = Date.now();
  const opened = await openArchive(core, { snapshotId });
  const snapshot = (await core.vault.snapshots()).find((s) => s.id === opened.snapshotId)!;
  const module = await moduleOfArchive(core, opened, undefined, ctx.log);
  if (!module.drill) throw new LifeboatError('DRILL_UNAVAILABLE', `Lifeboat has no restore drill for ${module.label} archives.`);
  const installation: Installation | null = opened.installationId ? await core.registry.get(opened.installationId).catch(() => null) : null;
  const keys = createKeyResolver(installation, (slot) => core.registry.secret(installation!.id, slot), core.sessionKeys);
  const fctx: FormatContext = { signal: ctx.signal, progress: (p) => ctx.progress(p), log: (l) => ctx.log(l), keys, installation, stagingDir: core.home.stagingDir };
  const base = {
    id: randomUUID(),
    snapshotId: snapshot.id,
    installationId: snapshot.installationId,
    installationName: installation?.name ?? snapshot.hostname,
    app: module.kind,
    startedAt: new Date(started).toISOString(),
    jobId: ctx.jobId ?? null,
  };
  let result: DrillResult;
  ctx.progress({ phase: 'reading the archive', bytes: 0, total: opened.access.size });
  // A module with both parts drills structurally an archive that holds no dump it can restore (another engine's).
  const dumps = module.drill.postgres ? await module.drill.postgres(opened.access, fctx) : null;
  if (dumps && (dumps.length > 0 || !module.drill.structural)) {
    const part = module.drill;
    const settings = installation ? await core.drills.settings(installation.id) : DEFAULT_DRILL_SETTINGS;
    const open = settings.onServer && installation ? () => openServerTarget(core, installation, part, settings, opened.access.size ?? 0, ctx) : () => openLocalTarget(ctx);
    result = { ...base, kind: 'postgres', ...(await drillPostgres(dumps, snapshot.shortId, ctx, open)), finishedAt: '', durationMs: 0 };
  } else if (module.drill.structural) {
    ctx.progress({ phase: 're-reading every row and checksum', bytes: 0, total: opened.access.size });
    const report = await module.drill.structural(opened.access, fctx);
    const tables: DrillTable[] = report.tables.map((t) => ({ dump: opened.access.fileName, table: t.table, archive: t.rows, restored: t.rows, ok: true }));
    const checks: IntegrityCheck[] = [...report.checks, { id: 'structural', kind: 'verification', name: 'What the structural drill read', ok: true, detail: report.checked.join('; ') }];
    const failed = checks.find(failing);
    result = {
      ...base,
      kind: 'structural',
      target: 'no scratch instance: a structural drill of the archive as the vault holds it',
      restorable: !failed,
      checks,
      tables,
      failure: failed ? { message: `${failed.name}: ${failed.detail}`, statement: null } : null,
      finishedAt: '',
      durationMs: 0,
    };
  } else {
    throw new LifeboatError('DRILL_UNAVAILABLE', `Lifeboat has no restore drill for ${module.label} archives.`);
  }
  result.finishedAt = new Date().toISOString();
  result.durationMs = Date.now() - started;
  await core.drills.record(result);
  return result;
}

type PostgresVerdict = Pick<DrillResult, 'target' | 'restorable' | 'checks' | 'tables' | 'failure'>;

/** A drill target opened for one drill, with the checks made before anything was created there. */
interface OpenedTarget {
  target: ScratchTarget;
  checks: IntegrityCheck[];
}

/** A temporary local cluster, when this machine has PostgreSQL. */
async function openLocalTarget(ctx: DrillContext): Promise<OpenedTarget> {
  const binDir = await findPostgresBinDir();
  if (!binDir) throw new LifeboatError('DRILL_UNAVAILABLE', 'A drill of a PostgreSQL dump needs PostgreSQL on this machine (initdb, pg_ctl, psql, pg_restore); none was found (set LIFEBOAT_PG_BINDIR to its bin directory).');
  ctx.progress({ phase: 'starting a temporary PostgreSQL cluster', bytes: 0, total: null });
  return { target: localScratch(await startLocalCluster(binDir)), checks: [] };
}

/**
 * A scratch database on the installation's own server, over its SSH connection, once the free
 * space there is checked (DRILL_REFUSED otherwise, before anything is created).
 */
async function openServerTarget(core: Core, installation: Installation, part: DrillPart, settings: DrillSettings, archiveBytes: number, ctx: DrillContext): Promise<OpenedTarget> {
  if (!installation.ssh || !part.serverDatabase) {
    throw new LifeboatError('DRILL_UNAVAILABLE', `"${installation.name}" is set to drill on its own server, but ${installation.ssh ? 'Lifeboat cannot reach this app\'s database there' : 'it has no SSH connection'}.`);
  }
  const binDir = await findPostgresClientBinDir();
  if (!binDir) throw new LifeboatError('DRILL_UNAVAILABLE', 'A drill on the server runs pg_restore / psql on this machine through the SSH connection; neither was found (set LIFEBOAT_PG_BINDIR to their bin directory).');
  const actx = createAdapterContext(core, installation, ctx);
  let admin: TunnelDb | null = null;
  try {
    ctx.progress({ phase: `checking free space on ${installation.name}'s server`, bytes: 0, total: null });
    const session = await actx.ssh();
    const address = await part.serverDatabase(actx);
    admin = await TunnelDb.connect(session, address);
    const space = await checkServerSpace(session, admin, settings, archiveBytes, ctx.signal);
    const target = await openServerScratch(session, address, binDir, admin);
    const opened = admin;
    return {
      target: { ...target, close: async () => { await target.close().catch(() => undefined); await opened.close().catch(() => undefined); await actx.close(); } },
      checks: [{ id: 'server-space', kind: 'target', name: 'Free space on the server', ok: true, detail: space.detail }],
    };
  } catch (error) {
    await admin?.close().catch(() => undefined);
    await actx.close();
    throw error;
  }
}

async function drillPostgres(dumps: PostgresDrillDump[], shortId: string, ctx: DrillContext, open: () => Promise<OpenedTarget>): Promise<PostgresVerdict> {
  const checks = dumps.flatMap((d) => d.checks);
  const broken = checks.find(failing);
  if (broken) {
    // An archive that fails its own checks is not restored anywhere.
    return { target: 'not restored: the archive failed its own checks', restorable: false, checks, tables: [], failure: { message: `${broken.name}: ${broken.detail}`, statement: null } };
  }
  const { target, checks: targetChecks } = await open();
  checks.push(...targetChecks);
  const tables: DrillTable[] = [];
  const names: string[] = [];
  const undropped: string[] = [];
  let verdict: PostgresVerdict;
  try {
    verdict = await (async (): Promise<PostgresVerdict> => {
      for (const [index, dump] of dumps.entries()) {
        const database = `lifeboat_drill_${shortId}_${randomBytes(3).toString('hex')}${dumps.length > 1 ? `_${index}` : ''}`;
        if (ctx.signal.aborted) throw new LifeboatError('CANCELLED', 'The drill was cancelled.');
        names.push(database);
        await target.create(database);
        ctx.progress({ phase: `restoring ${dump.label} into ${database}`, bytes: 0, total: null });
        const tool = dump.format === 'custom' ? 'pg_restore' : 'psql';
        const restored = await restoreDump(target, database, dump, ctx);
        if (restored.code !== 0) {
          const failure = firstError(restored.stderr, tool);
          checks.push({ id: `restore:${dump.label}`, kind: 'verification', name: `${tool} of ${dump.label}`, ok: false, detail: failure.message });
          return { target: target.describe(names), restorable: false, checks, tables, failure };
        }
        checks.push({ id: `restore:${dump.label}`, kind: 'verification', name: `${tool} of ${dump.label}`, ok: true, detail: `restored with stop-on-error into ${database}` });
        ctx.progress({ phase: `counting rows in ${database}`, bytes: 0, total: null });
        const live = await target.countRows(database, dump.tables.map((t) => t.table));
        for (const t of dump.tables) {
          const count = live.get(t.table) ?? null;
          tables.push({ dump: dump.label, table: t.table, archive: t.rows, restored: count, ok: count !== null && (t.rows === null || t.rows === count) });
        }
        const off = tables.filter((t) => t.dump === dump.label && !t.ok);
        checks.push({
          id: `rows:${dump.label}`, kind: 'verification', name: `Row counts of ${dump.label}`, ok: off.length === 0,
          detail: off.length === 0 ? `${dump.tables.length} table(s), every row count as in the archive` : off.map((t) => `${t.table}: ${t.restored ?? 'missing'} restored, ${t.archive} in the archive`).join('; '),
        });
      }
      const failed = checks.find(failing);
      return { target: target.describe(names), restorable: !failed, checks, tables, failure: failed ? { message: `${failed.name}: ${failed.detail}`, statement: null } : null };
    })();
  } finally {
    // Dropped in every outcome: a pass, a failed statement, a cancel, a broken connection.
    for (const name of names) {
      await target.drop(name).catch((error: unknown) => {
        undropped.push(`${name} (${(error as Error).message})`);
      });
    }
    await target.close();
    if (undropped.length > 0) ctx.log(`could not drop the scratch database ${undropped.join('; ')}: drop it by hand`);
  }
  const dropped: IntegrityCheck = { id: 'scratch-dropped', kind: 'target', name: 'Scratch database dropped', ok: undropped.length === 0, detail: undropped.length === 0 ? `${names.join(', ') || 'none created'}: gone` : `could not drop ${undropped.join('; ')}: drop it by hand` };
  verdict.checks.push(dropped);
  // A scratch database left behind on the server is the operator's to know about at once.
  if (!dropped.ok && verdict.restorable) return { ...verdict, restorable: false, failure: { message: `${dropped.name}: ${dropped.detail}`, statement: null } };
  return verdict;
}

async function restoreDump(target: ScratchTarget, database: string, dump: PostgresDrillDump, ctx: DrillContext): Promise<ToolRun> {
  const input = await dump.open();
  const run = dump.format === 'custom'
    ? target.restore(database, 'pg_restore', ['--exit-on-error', '--no-owner', '--no-acl'], input, ctx.signal)
    : target.restore(database, 'psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--echo-errors', '-f', '-'], input, ctx.signal);
  try {
    return await run;
  } catch (error) {
    // The archive stream broke (a token that does not verify at its end): the dump does not restore.
    if (error instanceof LifeboatError && error.code !== 'CANCELLED') return { code: 1, signal: null, stdout: '', stderr: `error: ${error.message}` };
    throw error;
  }
}

/** The first error a restore tool printed, and the statement it ran then. */
export function firstError(stderr: string, tool: 'psql' | 'pg_restore'): { message: string; statement: string | null } {
  if (tool === 'psql') {
    const error = /^psql:[^:\n]*:(\d+): ERROR:\s+(.*)$/m.exec(stderr);
    const statement = /^psql:[^:\n]*:\d+: STATEMENT:\s+([\s\S]*?)(?=\npsql:|$)/m.exec(stderr);
    if (error) return { message: `psql stopped at line ${error[1]}: ${error[2]}`, statement: statement?.[1]?.trim().slice(0, 2000) ?? null };
  } else {
    const error = /error: (?:could not execute query: )?(?:ERROR:\s+)?(.*)$/m.exec(stderr);
    const statement = /Command was: ([\s\S]*?)(?=\npg_restore:|$)/.exec(stderr);
    if (error) return { message: `pg_restore stopped: ${error[1]}`, statement: statement?.[1]?.trim().slice(0, 2000) ?? null };
  }
  const tail = stderr.trim().split('\n').slice(-3).join(' ');
  return { message: `${tool} failed: ${tail || 'no error output'}`, statement: null };
}

/** Drill results, stored with the snapshot they are about; starting drills as jobs; drill settings per installation. */
export class DrillService {
  constructor(private readonly core: Core) {}

  private get dir(): string {
    return path.join(this.core.home.root, 'drills');
  }

  private get settingsFile(): string {
    return path.join(this.core.home.root, 'drill-settings.json');
  }

  /** How an installation is drilled (defaults where not set: a local cluster). */
  async settings(installationId: string): Promise<DrillSettings> {
    const text = await readFile(this.settingsFile, 'utf8').catch(() => null);
    const stored = text ? (JSON.parse(text) as Record<string, Partial<DrillSettings>>)[installationId] : undefined;
    return { ...DEFAULT_DRILL_SETTINGS, ...stored };
  }

  /** Changes some drill settings of one installation (audited); the others keep their values. */
  async setSettings(installationId: string, change: Partial<DrillSettings>): Promise<DrillSettings> {
    const installation = await this.core.registry.get(installationId);
    const text = await readFile(this.settingsFile, 'utf8').catch(() => null);
    const all = text ? (JSON.parse(text) as Record<string, Partial<DrillSettings>>) : {};
    const next: DrillSettings = { ...DEFAULT_DRILL_SETTINGS, ...all[installationId], ...change };
    all[installationId] = next;
    await mkdir(this.core.home.root, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.settingsFile, `${JSON.stringify(all, null, 2)}\n`);
    await this.core.audit.record({
      action: 'drill-settings',
      outcome: 'succeeded',
      installationId,
      installationName: installation.name,
      detail: next.onServer ? `drills on the installation's own server (scratch database), ${next.keepFreeBytes} bytes kept free${next.freeSpacePath ? `, free space read at ${next.freeSpacePath}` : ''}` : 'drills in a temporary local PostgreSQL cluster',
    });
    return next;
  }

  private file(snapshotId: string): string {
    return path.join(this.dir, `${path.basename(snapshotId)}.json`);
  }

  /** Every drill of a snapshot, newest first. */
  async results(snapshotId: string): Promise<DrillResult[]> {
    const id = await this.fullId(snapshotId);
    const text = await readFile(this.file(id), 'utf8').catch(() => null);
    return text ? (JSON.parse(text) as DrillResult[]).reverse() : [];
  }

  /** The newest drill of each installation (any of its snapshots), for the fleet's badge. */
  async latestByInstallation(): Promise<Map<string, { snapshotId: string; finishedAt: string; restorable: boolean; failure: string | null }>> {
    const newest = new Map<string, { snapshotId: string; finishedAt: string; restorable: boolean; failure: string | null }>();
    const files = (await readdir(this.dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
    for (const file of files) {
      const text = await readFile(path.join(this.dir, file), 'utf8').catch(() => null);
      const last = text ? (JSON.parse(text) as DrillResult[]).at(-1) : undefined;
      if (!last?.installationId) continue;
      const known = newest.get(last.installationId);
      if (!known || known.finishedAt < last.finishedAt) newest.set(last.installationId, { snapshotId: last.snapshotId, finishedAt: last.finishedAt, restorable: last.restorable, failure: last.failure?.message ?? null });
    }
    return newest;
  }

  async latest(snapshotId: string): Promise<DrillResult | null> {
    return (await this.results(snapshotId))[0] ?? null;
  }

  /** Stores a result, audits it and emits its events. */
  async record(result: DrillResult): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const text = await readFile(this.file(result.snapshotId), 'utf8').catch(() => null);
    const all = text ? (JSON.parse(text) as DrillResult[]) : [];
    all.push(result);
    await writeFileAtomic(this.file(result.snapshotId), `${JSON.stringify(all.slice(-50), null, 2)}\n`);
    await this.core.audit.record({
      action: 'drill',
      outcome: result.restorable ? 'succeeded' : 'failed',
      ...(result.installationId ? { installationId: result.installationId } : {}),
      ...(result.installationName ? { installationName: result.installationName } : {}),
      snapshotId: result.snapshotId,
      ...(result.jobId ? { jobId: result.jobId } : {}),
      detail: result.restorable ? `restorable (${result.kind}, ${result.tables.length} table(s), ${result.durationMs} ms)` : `does not restore: ${result.failure?.message ?? 'see the result'}`,
    });
    this.core.events.emit('drill:finished', result);
    if (!result.restorable) this.core.events.emit('drill:failed', result);
  }

  /** Starts a drill job of one snapshot; its result is the stored DrillResult. */
  async start(snapshotId: string): Promise<{ jobId: string }> {
    const id = await this.fullId(snapshotId);
    const snapshot = (await this.core.vault.snapshots()).find((s) => s.id === id)!;
    const job = this.core.jobs.start(
      { kind: 'drill', title: `Restore drill of snapshot ${snapshot.shortId} (${snapshot.hostname})`, installationId: snapshot.installationId, queue: { name: 'drill', limit: 1 } },
      (ctx: JobContext) => runDrill(this.core, id, ctx),
    );
    return { jobId: job.id };
  }

  private async fullId(snapshotId: string): Promise<string> {
    const snapshot = (await this.core.vault.snapshots()).find((s) => s.id === snapshotId || s.id.startsWith(snapshotId));
    if (!snapshot) throw new LifeboatError('NOT_FOUND', `No snapshot ${snapshotId} in the vault.`);
    return snapshot.id;
  }
}
