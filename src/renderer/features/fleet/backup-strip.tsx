import { useEffect, useRef, type ReactNode } from 'react';
import { When } from '../../components/when';
import type { FleetEntry } from '../../../shared/apps';
import type { Installation } from '../../../shared/installations';
import type { JobRecord } from '../../../shared/jobs';
import { HelpPopover } from '../../components/help-popover';
import { api } from '../../lib/api';
import { formatBytes } from '../../lib/format';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';
import { failedChecksOf, pullOutcomeOf, useNewestInstallationJob } from './fleet-jobs';
import { FreshnessPill } from './freshness-pill';
import { BACKUP_ACTION_KINDS } from './backup-actions';
import { fleetHref } from './sub-route';
import { DrillBadge } from '../vault/snapshot-drill';
import { Pill } from '../../components/pill';

/**
 * The backup line of a Fleet row: freshness, newest backup on the server and in the vault, the
 * last error, and the pull or trigger started from here (the actions live in the row's menu).
 */
export function BackupStrip(props: { installation: Installation }): ReactNode {
  const { installation } = props;
  const entry = useStore((s) => s.fleet.overview?.[installation.id]);
  const status = useStore((s) => s.fleet.statuses[installation.id]);
  // A restore that made the secret worthless explains the refusals that follow better than they do.
  const renewal = status?.action?.kind === 'renew-secret' ? (status.message ?? null) : null;
  // What to do next when nothing was checked yet ("A new API token is stored; test the connection.").
  const nextStep = status?.state === 'unknown' && !entry?.lastError ? (status.message ?? null) : null;
  const job = useNewestInstallationJob(installation.id, BACKUP_ACTION_KINDS);

  // Reachable but never listed (just added, or its host key just trusted): list it once, so the row does not say "not listed yet" after a passing test.
  const listedOnce = useRef(false);
  const unlisted = entry !== undefined && entry.status?.state === 'online' && entry.newestRemote === null && entry.capabilities.list && !entry.lastError;
  useEffect(() => {
    if (!unlisted || listedOnce.current) return;
    listedOnce.current = true;
    // A failed listing shows as the row's status and last error.
    api.call('fleet:refresh', { installationId: installation.id }).catch(() => undefined);
  }, [unlisted, installation.id]);

  if (!entry) return null;
  const caps = entry.capabilities;

  return (
    <div className="fleet-backups" aria-label={`Backups of ${installation.name}`} role="group">
      <div className="fleet-backups-line">
        <FreshnessPill freshness={entry.freshness} cadenceHours={entry.cadenceHours} />
        <Newest entry={entry} />
        {entry.lastDrill ? <DrillBadge finishedAt={entry.lastDrill.finishedAt} restorable={entry.lastDrill.restorable} failure={entry.lastDrill.failure} /> : null}
        {anomalyKinds(entry).map(([kind, found]) => (
          <Pill key={kind} tone="warn" title={`${found.map((a) => `${a.detail} (snapshot ${a.snapshotId.slice(0, 8)})`).join('; ')}. Acknowledge on the Vault page.`}>
            anomaly: {kind}
            {found.length > 1 ? ` ×${found.length}` : ''}
          </Pill>
        ))}
        {caps.notes.length > 0 ? (
          <HelpPopover label={`What Lifeboat can do with ${installation.name}`}>
            <p>{caps.notes.join(' ')}</p>
          </HelpPopover>
        ) : null}
      </div>
      {(entry.findings ?? []).map((finding) => (
        <p key={finding} className="alert alert-danger fleet-finding" role="note" data-testid="security-finding">
          <strong>Security finding:</strong> {finding}
        </p>
      ))}
      {renewal ? (
        <p className="fleet-last-error" role="note" title={entry.lastError ?? undefined}>
          {renewal}
        </p>
      ) : entry.lastError ? (
        <p className="fleet-last-error" role="note">
          <strong>Last error:</strong> {entry.lastError}
        </p>
      ) : null}
      {nextStep ? (
        <p className="fleet-note" role="note">
          {nextStep}
        </p>
      ) : null}
      {job ? <ActionJob job={job} /> : null}
    </div>
  );
}

/** The row's unacknowledged anomalies, one pill per kind. */
function anomalyKinds(entry: FleetEntry): [string, NonNullable<FleetEntry['anomalies']>][] {
  const byKind = new Map<string, NonNullable<FleetEntry['anomalies']>>();
  for (const a of entry.anomalies ?? []) byKind.set(a.kind, [...(byKind.get(a.kind) ?? []), a]);
  return [...byKind];
}

function Newest(props: { entry: FleetEntry }): ReactNode {
  const { newestRemote, newestSnapshot } = props.entry;
  return (
    <dl className="fleet-newest">
      <div>
        <dt>On server</dt>
        <dd data-testid="newest-remote">
          {newestRemote ? (
            <>
              <span className="mono wrap-anywhere">{newestRemote.id}</span>
              {newestRemote.createdAt ? (
                <span className="muted">
                  {' '}
                  · <When iso={newestRemote.createdAt} />
                </span>
              ) : null}
            </>
          ) : (
            <span className="muted">not listed yet</span>
          )}
        </dd>
      </div>
      <div>
        <dt>In vault</dt>
        <dd data-testid="newest-snapshot">
          {newestSnapshot ? (
            <>
              <span className="mono">{newestSnapshot.id.slice(0, 8)}</span>
              <span className="muted">
                {' '}
                · <When iso={newestSnapshot.time} />
              </span>
            </>
          ) : (
            <span className="muted">none yet</span>
          )}
        </dd>
      </div>
    </dl>
  );
}

/** The pull or trigger started from this window: live progress, then what came of it. */
function ActionJob(props: { job: JobRecord }): ReactNode {
  const { job } = props;
  const outcome = job.kind === 'pull' && job.status === 'succeeded' ? pullOutcomeOf(job) : null;
  const quarantined = job.status === 'failed' && job.error?.code === 'ARCHIVE_VERIFY_FAILED';
  const triggerMessage = job.kind === 'trigger' && job.status === 'succeeded' ? (job.result as { message?: unknown } | null)?.message : null;
  return (
    <div className="fleet-job">
      <JobSummary job={job}>
        {outcome ? (
          <p className="fleet-outcome" role="status">
            {outcome.alreadyInVault ? (
              <>
                <strong>Already in the vault</strong> as snapshot <code>{outcome.snapshotId.slice(0, 8)}</code>: nothing was downloaded.
              </>
            ) : (
              <>
                <span className="step-ok">✓</span> Pulled into snapshot <code>{outcome.snapshotId.slice(0, 8)}</code> ({formatBytes(outcome.sizeBytes)}),{' '}
                {outcome.checks.length} check{outcome.checks.length === 1 ? '' : 's'} passed
                {outcome.resumed ? `, resumed ${outcome.resumed}×` : ''}.
              </>
            )}{' '}
            <a href={fleetHref.preview(outcome.snapshotId)}>Preview it</a>
          </p>
        ) : null}
        {quarantined ? (
          <div className="fleet-outcome">
            <p>
              <strong>Quarantined:</strong> the download failed verification and did not enter the vault.
            </p>
            <ul className="check-list">
              {failedChecksOf(job).map((c) => (
                <li key={c.name}>
                  <span className={c.ok ? 'step-ok' : 'step-fail'}>{c.ok ? '✓' : '✗'}</span> {c.name}: <span className="muted">{c.detail}</span>
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        {typeof triggerMessage === 'string' ? <p className="fleet-outcome">{triggerMessage}</p> : null}
      </JobSummary>
    </div>
  );
}
