import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { FleetEntry } from '../../../shared/apps';
import type { Installation } from '../../../shared/installations';
import { isFinished, type JobRecord } from '../../../shared/jobs';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';
import { formatBytes, formatRelative, formatTime } from '../../lib/format';
import { useNow } from '../../lib/use-now';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';
import { failedChecksOf, pullOutcomeOf, startTrackedJob, useNewestInstallationJob } from './fleet-jobs';
import { FreshnessPill } from './freshness-pill';
import { CodeDialog, codeRequiredOf } from './code-dialog';
import { PullDialog } from './pull-dialog';
import { fleetHref } from './sub-route';

const ACTION_KINDS = ['pull', 'trigger'] as const;

/**
 * The backup line of a Fleet row: freshness, newest backup on the server and in the vault, the
 * last error, and the actions the adapter can do for this installation (and only those).
 */
export function BackupStrip(props: { installation: Installation }): ReactNode {
  const { installation } = props;
  const entry = useStore((s) => s.fleet.overview?.[installation.id]);
  const job = useNewestInstallationJob(installation.id, ACTION_KINDS);
  const [pulling, setPulling] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // The backup the last pull from here asked for (null: the newest), to repeat it after a code.
  const [pulledId, setPulledId] = useState<string | null>(null);
  // A code is asked once per failed job; closing the dialog dismisses it for that job.
  const [dismissedJob, setDismissedJob] = useState<string | null>(null);
  const triggered = job?.kind === 'trigger' && job.status === 'succeeded' ? job.id : null;

  // A new backup exists on the server now: list it once (the overview follows by event).
  useEffect(() => {
    if (!triggered) return;
    api.call('fleet:refresh', { installationId: installation.id }).catch(setError);
  }, [triggered, installation.id]);

  // Reachable but never listed (just added, or its host key just trusted): list it once, so the row does not say "not listed yet" after a passing test.
  const listedOnce = useRef(false);
  const unlisted = entry !== undefined && entry.status?.state === 'online' && entry.newestRemote === null && entry.capabilities.list && !entry.lastError;
  useEffect(() => {
    if (!unlisted || listedOnce.current) return;
    listedOnce.current = true;
    api.call('fleet:refresh', { installationId: installation.id }).catch(setError);
  }, [unlisted, installation.id]);

  if (!entry) return null;

  const busy = job !== undefined && !isFinished(job.status);
  const caps = entry.capabilities;
  const start = (started: () => Promise<{ jobId: string }>): void => {
    setError(null);
    startTrackedJob(started()).catch(setError);
  };
  const pull = (remoteId?: string): void => {
    setPulling(false);
    setPulledId(remoteId ?? null);
    start(() => api.call('apps:pull', { installationId: installation.id, ...(remoteId ? { remoteId } : {}) }));
  };
  const trigger = (): void => start(() => api.call('apps:trigger', { installationId: installation.id }));
  const asksCode = (verb: 'pull' | 'trigger'): string | undefined => (caps.interactive?.includes(verb) ? 'Asks for the code from your authenticator app' : undefined);
  const codeError = job && job.status === 'failed' && job.id !== dismissedJob ? codeRequiredOf(job.error) : null;

  return (
    <div className="fleet-backups" aria-label={`Backups of ${installation.name}`} role="group">
      <div className="fleet-backups-line">
        <FreshnessPill freshness={entry.freshness} cadenceHours={entry.cadenceHours} />
        <Newest entry={entry} />
        <div className="fleet-backup-actions">
          {caps.pull ? (
            <>
              <button type="button" className="button button-small" disabled={busy} onClick={() => pull()} title={asksCode('pull')} aria-label={`Pull newest backup of ${installation.name}`}>
                Pull newest
              </button>
              <button type="button" className="button button-small" disabled={busy} onClick={() => setPulling(true)} title={asksCode('pull')} aria-label={`Choose a backup of ${installation.name} to pull`}>
                Pull…
              </button>
            </>
          ) : null}
          {caps.trigger ? (
            <button
              type="button"
              className="button button-small"
              disabled={busy}
              onClick={trigger}
              title={asksCode('trigger')}
              aria-label={`Run a backup on ${installation.name} now`}
            >
              Run backup now
            </button>
          ) : null}
          {caps.preview && entry.newestSnapshot ? (
            <a className="button button-small" href={fleetHref.preview(entry.newestSnapshot.id)} aria-label={`Preview the newest snapshot of ${installation.name}`}>
              Preview
            </a>
          ) : null}
          {caps.restore ? (
            <a className="button button-small" href={fleetHref.restore(installation.id)} aria-label={`Restore ${installation.name}…`}>
              Restore…
            </a>
          ) : null}
        </div>
      </div>
      {caps.notes.length > 0 && !(caps.pull && caps.restore) ? <p className="fleet-note muted">{caps.notes.join(' ')}</p> : null}
      {(entry.findings ?? []).map((finding) => (
        <p key={finding} className="alert alert-danger fleet-finding" role="note" data-testid="security-finding">
          <strong>Security finding:</strong> {finding}
        </p>
      ))}
      {entry.lastError ? (
        <p className="fleet-last-error" role="note">
          <strong>Last error:</strong> {entry.lastError}
        </p>
      ) : null}
      {error ? <ErrorMessage error={error} /> : null}
      {job ? <ActionJob job={job} /> : null}
      {pulling ? <PullDialog installation={installation} onPull={pull} onClose={() => setPulling(false)} /> : null}
      {codeError && job ? (
        <CodeDialog
          installation={installation}
          error={codeError}
          actionLabel={job.kind === 'trigger' ? 'Run backup now' : 'Pull'}
          onClose={() => setDismissedJob(job.id)}
          onProvided={() => {
            setDismissedJob(job.id);
            if (job.kind === 'trigger') trigger();
            else pull(pulledId ?? undefined);
          }}
        />
      ) : null}
    </div>
  );
}

function Newest(props: { entry: FleetEntry }): ReactNode {
  const { newestRemote, newestSnapshot } = props.entry;
  const now = useNow();
  return (
    <dl className="fleet-newest">
      <div>
        <dt>On server</dt>
        <dd data-testid="newest-remote">
          {newestRemote ? (
            <>
              <span className="mono wrap-anywhere">{newestRemote.id}</span>
              {newestRemote.createdAt ? (
                <span className="muted" title={formatTime(newestRemote.createdAt)}>
                  {' '}
                  · {formatRelative(newestRemote.createdAt, now)}
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
              <span className="muted" title={formatTime(newestSnapshot.time)}>
                {' '}
                · {formatRelative(newestSnapshot.time, now)}
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
