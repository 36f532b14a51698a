import { useState, type ReactNode } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { JobRecord } from '../../../shared/jobs';
import { EmptyState } from '../../components/empty-state';
import { ErrorMessage } from '../../components/error-message';
import { ActivityIcon } from '../../components/icons';
import { useStore } from '../../stores/store';
import { AuditTrail } from './audit-trail';
import { JobRow } from './job-row';
import { QuarantineList } from './quarantine-list';
import { DEFAULT_JOB_FILTER, JobFilters, jobPasses, type JobFilter } from './job-filters';
import { useNow } from '../../lib/use-now';
import './activity.css';

const newestFirst = (a: JobRecord, b: JobRecord): number => b.createdAt.localeCompare(a.createdAt);

/** Every job — tests, pulls, restores — with live progress from job:update events. */
function JobList(): ReactNode {
  const [filter, setFilter] = useState<JobFilter>(DEFAULT_JOB_FILTER);
  const now = useNow();
  const total = useStore((s) => Object.keys(s.jobs.byId).length);
  const ids = useStore(useShallow((s) => Object.values(s.jobs.byId).filter((job) => jobPasses(job, filter, now)).sort(newestFirst).map((job) => job.id)));
  const loaded = useStore((s) => s.jobs.loaded);
  const loadError = useStore((s) => s.jobs.loadError);

  if (loadError) return <ErrorMessage error={loadError} title="Could not load the activity list." />;
  if (!loaded && ids.length === 0) return <p className="muted" role="status">Loading activity…</p>;
  if (total === 0) {
    return (
      <EmptyState title="No activity yet" icon={<ActivityIcon width={32} height={32} />}>
        <p>
          Connection tests, backup pulls, checks and restores show up here while they run, with their progress, and stay
          listed afterwards with their outcome and log.
        </p>
      </EmptyState>
    );
  }
  return (
    <>
      <JobFilters value={filter} onChange={setFilter} />
      {ids.length === 0 ? (
        <p className="muted" role="status">
          No job matches these filters.
        </p>
      ) : (
        <ul className="job-list" aria-label="Jobs">
          {ids.map((id) => (
            <JobRow key={id} id={id} />
          ))}
        </ul>
      )}
    </>
  );
}

/** Jobs, then downloads that failed verification, then the audit trail of what was done. */
export function ActivityPage(): ReactNode {
  return (
    <div className="activity-page">
      <JobList />
      <QuarantineList />
      <AuditTrail />
    </div>
  );
}
