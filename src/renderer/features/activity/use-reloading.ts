import { useCallback, useEffect, useState } from 'react';
import { isFinished } from '../../../shared/jobs';
import { useStore } from '../../stores/store';

/**
 * Data the core does not announce by its own event (audit lines, quarantine) changes when a job
 * finishes or the vault changes: reload it then, never on a timer. Returns the data, the load
 * error, and a reload function for after our own changes.
 */
export function useReloading<T>(load: () => Promise<T>): { data: T | null; error: unknown; reload: () => void } {
  const finishedJobs = useStore((s) => Object.values(s.jobs.byId).filter((job) => isFinished(job.status)).length);
  const revision = useStore((s) => s.vault.revision);
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [manual, setManual] = useState(0);

  useEffect(() => {
    let current = true;
    load()
      .then((value) => {
        if (!current) return;
        setData(value);
        setError(null);
      })
      .catch((e: unknown) => current && setError(e));
    // An answer to an older trigger must not overwrite a newer one.
    return () => {
      current = false;
    };
  }, [load, finishedJobs, revision, manual]);

  return { data, error, reload: useCallback(() => setManual((n) => n + 1), []) };
}
