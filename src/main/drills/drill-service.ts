/**
 * Restore drills: a vault snapshot is restored into a throwaway target that is never production,
 * checked there, and the target removed. PostgreSQL-based apps (the module's `drill.postgres`)
 * are restored with pg_restore / psql, stop-on-error, into a scratch database of a temporary local
 * PostgreSQL cluster (local-postgres.ts), their row counts compared with the archive's, the
 * database dropped and the cluster removed. Apps with no scratch instance (`drill.structural`) get
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
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes, randomUUID } from 'node:crypto';
import type { IntegrityCheck } from '../../shared/apps';
import type { DrillResult, DrillTable } from '../../shared/drills';
import type { Installation } from '../../shared/installations';
import { LifeboatError } from '../../shared/errors';
import type { Core } from '../core';
import type { JobContext } from '../jobs/job-manager';
import type { StepContext } from '../apps/adapter';
import type { FormatContext, PostgresDrillDump } from '../apps/module';
import { openArchive } from '../apps/archive-access';
import { moduleOfArchive } from '../apps/preview';
import { createKeyResolver } from '../apps/keys';
import { writeFileAtomic } from '../fs/atomic-write';
import { findPostgresBinDir, startLocalCluster, type LocalCluster, type ToolRun } from './local-postgres';

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
  if (module.drill.postgres) {
    ctx.progress({ phase: 'reading the archive', bytes: 0, total: opened.access.size });
    const dumps = await module.drill.postgres(opened.access, fctx);
    result = { ...base, kind: 'postgres', ...(await drillPostgres(dumps, snapshot.shortId, ctx)), finishedAt: '', durationMs: 0 };
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

async function drillPostgres(dumps: PostgresDrillDump[], shortId: string, ctx: DrillContext): Promise<PostgresVerdict> {
  const checks = dumps.flatMap((d) => d.checks);
  const broken = checks.find(failing);
  if (broken) {
    // An archive that fails its own checks is not restored anywhere.
    return { target: 'not restored: the archive failed its own checks', restorable: false, checks, tables: [], failure: { message: `${broken.name}: ${broken.detail}`, statement: null } };
  }
  const binDir = await findPostgresBinDir();
  if (!binDir) throw new LifeboatError('DRILL_UNAVAILABLE', 'A drill of a PostgreSQL dump needs PostgreSQL on this machine (initdb, pg_ctl, psql, pg_restore); none was found (set LIFEBOAT_PG_BINDIR to its bin directory).');
  ctx.progress({ phase: 'starting a temporary PostgreSQL cluster', bytes: 0, total: null });
  const cluster = await startLocalCluster(binDir);
  const tables: DrillTable[] = [];
  const names: string[] = [];
  try {
    for (const [index, dump] of dumps.entries()) {
      const database = `lifeboat_drill_${shortId}_${randomBytes(3).toString('hex')}${dumps.length > 1 ? `_${index}` : ''}`;
      names.push(database);
      if (ctx.signal.aborted) throw new LifeboatError('CANCELLED', 'The drill was cancelled.');
      await mustRun(cluster.tool('createdb', [database]), `createdb ${database}`);
      ctx.progress({ phase: `restoring ${dump.label} into ${database}`, bytes: 0, total: null });
      const restored = await restoreDump(cluster, database, dump, ctx);
      const tool = dump.format === 'custom' ? 'pg_restore' : 'psql';
      if (restored.code !== 0) {
        const failure = firstError(restored.stderr, tool);
        checks.push({ id: `restore:${dump.label}`, kind: 'verification', name: `${tool} of ${dump.label}`, ok: false, detail: failure.message });
        return { target: targetLabel(cluster, names), restorable: false, checks, tables, failure };
      }
      checks.push({ id: `restore:${dump.label}`, kind: 'verification', name: `${tool} of ${dump.label}`, ok: true, detail: `restored with stop-on-error into ${database}` });
      ctx.progress({ phase: `counting rows in ${database}`, bytes: 0, total: null });
      const live = await countRows(cluster, database, dump.tables.map((t) => t.table));
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
    return { target: targetLabel(cluster, names), restorable: !failed, checks, tables, failure: failed ? { message: `${failed.name}: ${failed.detail}`, statement: null } : null };
  } finally {
    for (const name of names) await cluster.tool('dropdb', ['--if-exists', name]).catch(() => undefined);
    await cluster.stop();
  }
}

function targetLabel(cluster: LocalCluster, databases: string[]): string {
  return `temporary local PostgreSQL ${cluster.major} cluster (removed afterwards), database ${databases.join(', ')}`;
}

async function mustRun(run: Promise<ToolRun>, what: string): Promise<void> {
  const done = await run;
  if (done.code !== 0) throw new LifeboatError('DRILL_UNAVAILABLE', `${what} failed in the drill's temporary cluster: ${done.stderr.trim().slice(-500)}`);
}

async function restoreDump(cluster: LocalCluster, database: string, dump: PostgresDrillDump, ctx: DrillContext): Promise<ToolRun> {
  const input = await dump.open();
  const run = dump.format === 'custom'
    ? cluster.tool('pg_restore', ['--exit-on-error', '--no-owner', '--no-acl', '-d', database], { input, signal: ctx.signal })
    : cluster.tool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--echo-errors', '-d', database, '-f', '-'], { input, signal: ctx.signal });
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

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Rows per table in the scratch database; a table that is not there is left out. */
async function countRows(cluster: LocalCluster, database: string, tables: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const table of tables) {
    const dot = table.indexOf('.');
    const relation = dot > 0 ? `${quoteIdent(table.slice(0, dot))}.${quoteIdent(table.slice(dot + 1))}` : quoteIdent(table);
    const run = await cluster.tool('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', database, '-f', '-'], { input: Readable.from([`SELECT count(*) FROM ${relation};\n`]) });
    if (run.code === 0) counts.set(table, Number(run.stdout.trim()));
  }
  return counts;
}

/** Drill results, stored with the snapshot they are about; starting drills as jobs. */
export class DrillService {
  constructor(private readonly core: Core) {}

  private get dir(): string {
    return path.join(this.core.home.root, 'drills');
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
