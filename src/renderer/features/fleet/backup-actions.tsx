import { useEffect, useState, type ReactNode } from 'react';
import type { FleetEntry } from '../../../shared/apps';
import type { Installation } from '../../../shared/installations';
import { isFinished } from '../../../shared/jobs';
import { api } from '../../lib/api';
import { useStore } from '../../stores/store';
import { startTrackedJob, useNewestInstallationJob } from './fleet-jobs';
import { CodeDialog, codeRequiredOf } from './code-dialog';
import { PullDialog } from './pull-dialog';

/** The job kinds a Fleet row starts for its backups (its progress shows in the row). */
export const BACKUP_ACTION_KINDS = ['pull', 'trigger'] as const;

/** What a Fleet row can do with an installation's backups, and the dialogs those actions open. */
export interface BackupActions {
  entry: FleetEntry | undefined;
  /** A pull or trigger from this window is still running. */
  busy: boolean;
  pull: (remoteId?: string) => void;
  choosePull: () => void;
  trigger: () => void;
  /** The tooltip for a verb that asks for a one-time code, if it does. */
  asksCode: (verb: 'pull' | 'trigger') => string | undefined;
  /** Starting the last action failed (the job's own failure shows with the job). */
  error: unknown;
  /** The Pull… and code dialogs, to render once in the row. */
  dialogs: ReactNode;
}

/** The pull / trigger state of one installation's row: which backup was asked for, which code prompt was dismissed. */
export function useBackupActions(installation: Installation): BackupActions {
  const entry = useStore((s) => s.fleet.overview?.[installation.id]);
  const job = useNewestInstallationJob(installation.id, BACKUP_ACTION_KINDS);
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
  const asksCode = (verb: 'pull' | 'trigger'): string | undefined =>
    entry?.capabilities.interactive?.includes(verb) ? 'Asks for the code from your authenticator app' : undefined;
  const codeError = job && job.status === 'failed' && job.id !== dismissedJob ? codeRequiredOf(job.error) : null;

  const dialogs = (
    <>
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
    </>
  );

  return {
    entry,
    busy: job !== undefined && !isFinished(job.status),
    pull,
    choosePull: () => setPulling(true),
    trigger,
    asksCode,
    error,
    dialogs,
  };
}
