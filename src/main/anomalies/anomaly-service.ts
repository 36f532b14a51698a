/**
 * Anomaly alerts from each installation's snapshot history (rules in detect.ts): stored in
 * `<home>/anomalies.json`, shown on the fleet entry and per snapshot, emitted on `core.events`,
 * and protecting retention: `forget` never removes the last good snapshots before an
 * unacknowledged anomaly (`protectedSnapshots`, which the vault's retention consults).
 *
 * | event                  | payload              | when                                        |
 * |------------------------|----------------------|---------------------------------------------|
 * | `anomaly:detected`     | {@link Anomaly}      | a new finding was stored (notify)           |
 * | `anomaly:acknowledged` | {@link Anomaly}      | the operator acknowledged it (stops alerting) |
 *
 * Every pull into the vault, scheduled or asked for, ends with {@link AnomalyService.check}
 * (`runPullAndCompare`). The facts of each snapshot (size, rows per table, app version, pull
 * duration) are read once and kept in `<home>/snapshot-facts/`. Checks of several installations
 * run at once; their writes of `anomalies.json` take turns, so no finding is lost or raised twice.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { anomalyThresholdsSchema, DEFAULT_ANOMALY_THRESHOLDS, type Anomaly, type AnomalyThresholds } from '../../shared/anomalies';
import { LifeboatError } from '../../shared/errors';
import type { SnapshotView } from '../../shared/vault';
import type { Core } from '../core';
import type { StepContext } from '../apps/adapter';
import type { FormatContext } from '../apps/module';
import { openArchive } from '../apps/archive-access';
import { createKeyResolver } from '../apps/keys';
import { writeFileAtomic } from '../fs/atomic-write';
import { detectAnomalies, type Finding, type SnapshotFacts } from './detect';

const QUIET: StepContext = { signal: new AbortController().signal, progress: () => undefined, log: () => undefined };

export class AnomalyService {
  /** The tail of the chain that writes to the anomaly and threshold files one after another. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly core: Core) {}

  /** Runs a read-modify-write of the stored files after the ones queued before it. */
  private inTurn<T>(change: () => Promise<T>): Promise<T> {
    const next = this.writes.then(change, change);
    this.writes = next.catch(() => undefined);
    return next;
  }

  private get file(): string {
    return path.join(this.core.home.root, 'anomalies.json');
  }

  private get thresholdsFile(): string {
    return path.join(this.core.home.root, 'anomaly-thresholds.json');
  }

  private factsFile(snapshotId: string): string {
    return path.join(this.core.home.root, 'snapshot-facts', `${path.basename(snapshotId)}.json`);
  }

  private async readAll(): Promise<Anomaly[]> {
    const text = await readFile(this.file, 'utf8').catch(() => null);
    return text ? (JSON.parse(text) as Anomaly[]) : [];
  }

  private async writeAll(all: Anomaly[]): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify(all, null, 2)}\n`);
  }

  /** Stored anomalies, newest first; unacknowledged only unless asked. */
  async list(filter: { installationId?: string | undefined; snapshotId?: string | undefined; includeAcknowledged?: boolean | undefined } = {}): Promise<Anomaly[]> {
    return (await this.readAll())
      .filter((a) => !filter.installationId || a.installationId === filter.installationId)
      .filter((a) => !filter.snapshotId || a.snapshotId.startsWith(filter.snapshotId))
      .filter((a) => filter.includeAcknowledged || a.acknowledgedAt === null)
      .sort((a, b) => Date.parse(b.detectedAt) - Date.parse(a.detectedAt));
  }

  async thresholds(installationId: string): Promise<AnomalyThresholds> {
    const text = await readFile(this.thresholdsFile, 'utf8').catch(() => null);
    const stored = text ? (JSON.parse(text) as Record<string, Partial<AnomalyThresholds>>)[installationId] : undefined;
    return { ...DEFAULT_ANOMALY_THRESHOLDS, ...stored };
  }

  /** Changes some thresholds of one installation; the others keep their values. */
  async setThresholds(installationId: string, change: Partial<AnomalyThresholds>): Promise<AnomalyThresholds> {
    await this.core.registry.get(installationId);
    return this.inTurn(async () => {
      const text = await readFile(this.thresholdsFile, 'utf8').catch(() => null);
      const all = text ? (JSON.parse(text) as Record<string, Partial<AnomalyThresholds>>) : {};
      const next = anomalyThresholdsSchema.parse({ ...DEFAULT_ANOMALY_THRESHOLDS, ...all[installationId], ...change });
      all[installationId] = next;
      await writeFileAtomic(this.thresholdsFile, `${JSON.stringify(all, null, 2)}\n`);
      return next;
    });
  }

  acknowledge(id: string, note: string | null): Promise<Anomaly> {
    return this.inTurn(async () => {
      const all = await this.readAll();
      const anomaly = all.find((a) => a.id === id);
      if (!anomaly) throw new LifeboatError('NOT_FOUND', `No anomaly ${id}.`);
      if (anomaly.acknowledgedAt === null) {
        anomaly.acknowledgedAt = new Date().toISOString();
        anomaly.acknowledgeNote = note;
        await this.writeAll(all);
        this.core.events.emit('anomaly:acknowledged', anomaly);
      }
      return anomaly;
    });
  }

  /** The installation's newest snapshot against the ones before it; new findings are stored and emitted. */
  async check(installationId: string, ctx: StepContext = QUIET): Promise<Anomaly[]> {
    const installation = await this.core.registry.get(installationId);
    const thresholds = await this.thresholds(installationId);
    const own = (await this.core.vault.snapshots({ installationId })).filter((s) => s.source !== 'pre-restore');
    const [newest, ...older] = own;
    if (!newest) return [];
    // Compared only with backups of the same series: a DBackup installation's config backup is not
    // a shrunken database dump, nor one job's dump another job's.
    const earlier = older.filter((s) => seriesOf(s) === seriesOf(newest));
    // A first snapshot has nothing to be compared with; its facts are read when a second one comes.
    if (earlier.length === 0) return [];
    const facts = await this.factsOf(newest, ctx);
    const history: SnapshotFacts[] = [];
    for (const s of earlier.slice(0, thresholds.history)) history.push(await this.factsOf(s, ctx));
    const findings = detectAnomalies(facts, history, thresholds);
    return this.inTurn(() => this.store(installationId, installation.name, newest.id, findings));
  }

  /** Stores the findings not stored before and announces them; returns those. */
  private async store(installationId: string, installationName: string, snapshotId: string, findings: Finding[]): Promise<Anomaly[]> {
    const all = await this.readAll();
    const known = new Set(all.map((a) => a.id));
    const fresh: Anomaly[] = [];
    for (const f of findings) {
      const id = `${snapshotId.slice(0, 16)}:${f.kind}${f.table ? `:${f.table}` : ''}`;
      if (known.has(id)) continue;
      fresh.push({ id, installationId, installationName, snapshotId, kind: f.kind, table: f.table, detail: f.detail, detectedAt: new Date().toISOString(), acknowledgedAt: null, acknowledgeNote: null });
    }
    if (fresh.length > 0) {
      await this.writeAll([...all, ...fresh]);
      for (const a of fresh) this.core.events.emit('anomaly:detected', a);
    }
    return fresh;
  }

  /**
   * Snapshots retention must keep: for each unacknowledged anomaly, the last `protectLastGood`
   * snapshots of its installation before the anomalous one, with the reason.
   */
  async protectedSnapshots(snapshots: SnapshotView[]): Promise<Map<string, string>> {
    const keep = new Map<string, string>();
    for (const anomaly of await this.list()) {
      const { protectLastGood } = await this.thresholds(anomaly.installationId);
      const anomalous = snapshots.find((s) => s.id === anomaly.snapshotId);
      const before = snapshots
        .filter((s) => s.installationId === anomaly.installationId && s.id !== anomaly.snapshotId && s.source !== 'pre-restore')
        .filter((s) => !anomalous || Date.parse(s.time) < Date.parse(anomalous.time))
        .sort((a, b) => Date.parse(b.time) - Date.parse(a.time))
        .slice(0, protectLastGood);
      for (const s of before) if (!keep.has(s.id)) keep.set(s.id, `protected: one of the last good snapshots before unacknowledged anomaly ${anomaly.id} (${anomaly.detail})`);
      // The anomalous snapshot itself is evidence: it stays until acknowledged too.
      if (anomalous && !keep.has(anomalous.id)) keep.set(anomalous.id, `protected: holds unacknowledged anomaly ${anomaly.id}`);
    }
    return keep;
  }

  /** Size, rows per table, app version and pull duration of one snapshot; read once, then kept. */
  async factsOf(snapshot: SnapshotView, ctx: StepContext = QUIET): Promise<SnapshotFacts> {
    const cached = await readFile(this.factsFile(snapshot.id), 'utf8').catch(() => null);
    if (cached) return JSON.parse(cached) as SnapshotFacts;
    const pull = this.core.jobs.list({ limit: 500 }).find((j) => j.kind === 'pull' && j.status === 'succeeded' && (j.result as { snapshotId?: string } | null)?.snapshotId === snapshot.id);
    const facts: SnapshotFacts = {
      snapshotId: snapshot.id,
      time: snapshot.time,
      sizeBytes: snapshot.archive?.size ?? null,
      appVersion: null,
      tables: null,
      durationMs: pull?.startedAt && pull.finishedAt ? Date.parse(pull.finishedAt) - Date.parse(pull.startedAt) : null,
    };
    const complete = await this.readContents(snapshot, facts, ctx);
    if (complete) {
      await mkdir(path.dirname(this.factsFile(snapshot.id)), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.factsFile(snapshot.id), `${JSON.stringify(facts)}\n`);
    }
    return facts;
  }

  /** Fills in version and tables from the archive; false when it could not be read (then not cached). */
  private async readContents(snapshot: SnapshotView, facts: SnapshotFacts, ctx: StepContext): Promise<boolean> {
    if (!snapshot.app || !this.core.apps.has(snapshot.app) || !snapshot.archive) return true;
    const module = this.core.apps.get(snapshot.app);
    const installation = snapshot.installationId ? await this.core.registry.get(snapshot.installationId).catch(() => null) : null;
    const keys = createKeyResolver(installation, (slot) => this.core.registry.secret(installation!.id, slot), this.core.sessionKeys);
    const fctx: FormatContext = { ...ctx, keys, installation, stagingDir: this.core.home.stagingDir };
    try {
      const opened = await openArchive(this.core, { snapshotId: snapshot.id });
      facts.appVersion = (await module.format.preview(opened.access, fctx)).appVersion;
      if (module.drill?.postgres) facts.tables = (await module.drill.postgres(opened.access, fctx)).flatMap((d) => d.tables);
      else if (module.drill?.structural) facts.tables = (await module.drill.structural(opened.access, fctx)).tables;
      return true;
    } catch (error) {
      if (error instanceof LifeboatError && error.code === 'CANCELLED') throw error;
      ctx.log(`snapshot ${snapshot.shortId}: contents not read for anomaly checks: ${(error as Error).message}`);
      return false;
    }
  }
}

/**
 * Which run of backups a snapshot belongs to: its archive's name (or the app's id of it, whose
 * folder is DBackup's job) with every word holding a digit — dates, times, counters, temp-file
 * suffixes — made one placeholder, so "Job A/db_2026-11-23_13-13-18.sql.gz.enc" and the next
 * night's share a series and "config-backups/config_backup_…" is another.
 */
export function seriesOf(snapshot: Pick<SnapshotView, 'remoteId' | 'archive'>): string {
  const folder = snapshot.remoteId?.includes('/') ? snapshot.remoteId.slice(0, snapshot.remoteId.lastIndexOf('/')) : '';
  const name = snapshot.archive?.name ?? snapshot.remoteId?.slice(folder.length) ?? '';
  return `${folder}/${name}`.replace(/[A-Za-z0-9]*[0-9][A-Za-z0-9]*/g, '#');
}
