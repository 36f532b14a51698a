import type { ReactNode } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { isFinished } from '../../../shared/jobs';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';

/**
 * Pulls on their way into the vault, whoever started them (a Fleet row, the schedule, the CLI is
 * another process and shows on its own): each with its progress and Cancel beside it, as in the row.
 */
export function RunningPulls(): ReactNode {
  const pulls = useStore(
    useShallow((s) =>
      Object.values(s.jobs.byId)
        .filter((job) => job.kind === 'pull' && !isFinished(job.status))
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt)),
    ),
  );
  if (pulls.length === 0) return null;
  return (
    <section className="card vault-running-pulls" aria-labelledby="vault-pulls-h">
      <h2 id="vault-pulls-h">Coming into the vault</h2>
      {pulls.map((job) => (
        <JobSummary key={job.id} job={job} />
      ))}
    </section>
  );
}
