import { useEffect, useState, type ReactNode } from 'react';
import type { Anomaly } from '../../../shared/anomalies';
import type { DrillResult } from '../../../shared/drills';
import { isFinished } from '../../../shared/jobs';
import type { SnapshotView } from '../../../shared/vault';
import { ErrorMessage } from '../../components/error-message';
import { Pill } from '../../components/pill';
import { api } from '../../lib/api';
import { formatRelative, formatTime } from '../../lib/format';
import { useNow } from '../../lib/use-now';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';
import { useAction } from './use-action';
import { startVaultJob } from './vault-jobs';

/** "Restored in a drill 3 days ago" / "Drill failed 2 hours ago": the badge of a drilled snapshot or installation. */
export function DrillBadge(props: { finishedAt: string; restorable: boolean; failure: string | null }): ReactNode {
  const now = useNow();
  const when = formatRelative(props.finishedAt, now);
  return props.restorable ? (
    <Pill tone="ok" title={`Restore drill at ${formatTime(props.finishedAt)}`}>
      restored in a drill {when}
    </Pill>
  ) : (
    <Pill tone="danger" title={props.failure ?? 'The drill failed'}>
      drill failed {when}
    </Pill>
  );
}

/** One drill result: where it restored, every check, the failing statement, row counts. */
function DrillReport(props: { result: DrillResult }): ReactNode {
  const { result } = props;
  return (
    <div className="drill-report" data-testid="drill-report">
      <p>
        <DrillBadge finishedAt={result.finishedAt} restorable={result.restorable} failure={result.failure?.message ?? null} />{' '}
        <span className="muted">
          {result.kind === 'postgres' ? 'PostgreSQL' : 'structural'} drill, {(result.durationMs / 1000).toFixed(1)} s: {result.target}
        </span>
      </p>
      {result.failure ? (
        <div className="alert alert-danger" role="alert">
          <strong>Does not restore:</strong> {result.failure.message}
          {result.failure.statement ? (
            <p>
              Failing statement: <code className="wrap-anywhere">{result.failure.statement}</code>
            </p>
          ) : null}
        </div>
      ) : null}
      <ul className="check-list" aria-label="What the drill checked">
        {result.checks.map((c) => (
          <li key={c.id}>
            <span className={c.ok ? 'step-ok' : 'step-fail'}>{c.ok ? '✓' : '✗'}</span> {c.name}: <span className="muted">{c.detail}</span>
          </li>
        ))}
      </ul>
      {result.tables.length > 0 ? (
        <p className="muted">
          {result.tables.filter((t) => t.ok).length} of {result.tables.length} table(s) with every row as in the archive
          {result.tables.some((t) => !t.ok) ? `; differ: ${result.tables.filter((t) => !t.ok).map((t) => `${t.table} (${t.restored ?? 'missing'} of ${t.archive ?? '?'})`).join(', ')}` : ''}.
        </p>
      ) : null}
    </div>
  );
}

/** Unacknowledged anomalies with an Acknowledge button each; `onChange` after one is acknowledged. */
export function AnomalyList(props: { anomalies: Anomaly[]; onChange: () => void; showInstallation?: boolean }): ReactNode {
  const ack = useAction(async (id: string) => {
    await api.call('anomalies:acknowledge', { id });
    props.onChange();
  });
  if (props.anomalies.length === 0) return null;
  return (
    <>
      {ack.error ? <ErrorMessage error={ack.error} title="Could not acknowledge the anomaly." /> : null}
      <ul className="stacked-list anomaly-list" aria-label="Anomalies">
        {props.anomalies.map((a) => (
          <li key={a.id} className="anomaly">
            <Pill tone="warn">{a.kind}</Pill> {props.showInstallation ? <strong>{a.installationName ?? a.installationId}: </strong> : null}
            {a.detail} <span className="muted">(snapshot {a.snapshotId.slice(0, 8)}, {formatTime(a.detectedAt)})</span>{' '}
            <button type="button" className="button button-small" disabled={ack.busy} onClick={() => ack.run(a.id)} aria-label={`Acknowledge anomaly ${a.kind} of snapshot ${a.snapshotId.slice(0, 8)}`}>
              Acknowledge
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

/**
 * A snapshot's restore drills and anomalies: "Run restore drill" (a job with progress and cancel),
 * the newest stored result, and the anomalies found in it, each to acknowledge.
 */
export function SnapshotDrill(props: { snapshot: SnapshotView }): ReactNode {
  const { snapshot } = props;
  // Only where the app's module can drill (a plain file has nothing to restore into).
  const canDrill = useStore((s) => s.system.modules?.find((m) => m.kind === snapshot.app)?.drill === true);
  const [jobId, setJobId] = useState<string | null>(null);
  const job = useStore((s) => (jobId ? s.jobs.byId[jobId] : undefined));
  const [results, setResults] = useState<{ id: string; list: DrillResult[] } | null>(null);
  const [anomalies, setAnomalies] = useState<Anomaly[]>([]);
  const [reload, setReload] = useState(0);
  const finished = job ? isFinished(job.status) : false;

  useEffect(() => {
    let current = true;
    api.call('drills:results', { snapshotId: snapshot.id }).then((list) => current && setResults({ id: snapshot.id, list }), () => undefined);
    api.call('anomalies:list', { snapshotId: snapshot.id }).then((list) => current && setAnomalies(list), () => undefined);
    return () => {
      current = false;
    };
  }, [snapshot.id, reload, finished]);

  useEffect(() => setJobId(null), [snapshot.id]);

  const start = useAction(async () => {
    setJobId(await startVaultJob(api.call('drills:run', { snapshotId: snapshot.id })));
  });
  const running = job !== undefined && !finished;
  const latest = results?.id === snapshot.id ? results.list[0] : undefined;
  if (!canDrill) return null;
  return (
    <section className="snapshot-drill" aria-label={`Restore drills of snapshot ${snapshot.shortId}`}>
      <div className="vault-section-head">
        <h4>Restore drill</h4>
        <span className="spacer" />
        <button type="button" className="button button-small" onClick={() => start.run()} disabled={running || start.busy}>
          Run restore drill
        </button>
      </div>
      <p className="muted">Restores the snapshot into a throwaway database that is never production, checks it there, then removes it.</p>
      {start.error ? <ErrorMessage error={start.error} title="Could not start the drill." /> : null}
      {job ? <JobSummary job={job} showBytes={false} /> : null}
      {latest ? <DrillReport result={latest} /> : results?.id === snapshot.id ? <p className="muted">Never drilled.</p> : null}
      <AnomalyList anomalies={anomalies} onChange={() => setReload((n) => n + 1)} />
    </section>
  );
}

/** Every unacknowledged anomaly of the fleet, on the vault page. */
export function AnomaliesPanel(): ReactNode {
  const revision = useStore((s) => s.vault.revision);
  const [anomalies, setAnomalies] = useState<Anomaly[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    let current = true;
    api.call('anomalies:list', {}).then((list) => current && setAnomalies(list), (e: unknown) => current && setError(e));
    return () => {
      current = false;
    };
  }, [revision, reload]);
  return (
    <section className="card" aria-labelledby="anomalies-h">
      <h2 id="anomalies-h">Anomalies</h2>
      <p className="muted">Backups that shrank, tables that vanished or emptied, versions going backwards, runs far slower than usual. Until acknowledged, an anomaly keeps the last good snapshots before it from retention.</p>
      {error ? <ErrorMessage error={error} title="Could not list the anomalies." /> : null}
      {anomalies && anomalies.length === 0 ? <p className="muted">No unacknowledged anomalies.</p> : null}
      {anomalies ? <AnomalyList anomalies={anomalies} showInstallation onChange={() => setReload((n) => n + 1)} /> : null}
    </section>
  );
}
