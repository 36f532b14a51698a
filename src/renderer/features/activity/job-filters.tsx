import { InstallationSelect } from '../../components/installation-select';
import type { ReactNode } from 'react';
import type { JobKind, JobRecord } from '../../../shared/jobs';
import { useStore } from '../../stores/store';
import { KIND_LABELS } from './job-row';

/** What the Activity list shows; background checks (the Fleet's refresh) are hidden unless asked for. */
export interface JobFilter {
  background: boolean;
  installationId: string;
  kind: JobKind | '';
  outcome: '' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  /** Only jobs started within this many hours (0: any time). */
  withinHours: number;
}

export const DEFAULT_JOB_FILTER: JobFilter = { background: false, installationId: '', kind: '', outcome: '', withinHours: 0 };

const BACKGROUND_KINDS: readonly JobKind[] = ['fleet-refresh'];

/** Whether a job passes the filter at time `now`. */
export function jobPasses(job: JobRecord, f: JobFilter, now: number): boolean {
  if (!f.background && BACKGROUND_KINDS.includes(job.kind)) return false;
  if (f.installationId && job.installationId !== f.installationId) return false;
  if (f.kind && job.kind !== f.kind) return false;
  if (f.outcome && !outcomeMatches(job, f.outcome)) return false;
  return f.withinHours === 0 || new Date(job.createdAt).getTime() >= now - f.withinHours * 3600_000;
}

function outcomeMatches(job: JobRecord, outcome: Exclude<JobFilter['outcome'], ''>): boolean {
  if (outcome === 'running') return job.status === 'running' || job.status === 'queued';
  if (outcome === 'succeeded') return job.status === 'succeeded' || job.status === 'succeeded-with-warnings';
  return job.status === outcome;
}

/** The filter bar above the job list. */
export function JobFilters(props: { value: JobFilter; onChange: (f: JobFilter) => void }): ReactNode {
  const { value, onChange } = props;
  const installations = useStore((s) => s.fleet.installations) ?? [];
  const set = (patch: Partial<JobFilter>): void => onChange({ ...value, ...patch });
  return (
    <div className="job-filters" role="group" aria-label="Filter jobs">
      <label>
        Installation{' '}
        <InstallationSelect installations={installations} value={value.installationId} onChange={(installationId) => set({ installationId })} noneLabel="All" />
      </label>
      <label>
        Kind{' '}
        <select value={value.kind} onChange={(e) => set({ kind: e.target.value as JobKind | '' })}>
          <option value="">All</option>
          {(Object.keys(KIND_LABELS) as JobKind[]).map((k) => (
            <option key={k} value={k}>
              {KIND_LABELS[k]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Outcome{' '}
        <select value={value.outcome} onChange={(e) => set({ outcome: e.target.value as JobFilter['outcome'] })}>
          <option value="">All</option>
          <option value="running">Running</option>
          <option value="succeeded">Succeeded</option>
          <option value="failed">Failed</option>
          <option value="cancelled">Cancelled</option>
        </select>
      </label>
      <label>
        Started{' '}
        <select value={value.withinHours} onChange={(e) => set({ withinHours: Number(e.target.value) })}>
          <option value={0}>Any time</option>
          <option value={1}>In the last hour</option>
          <option value={24}>In the last 24 hours</option>
          <option value={168}>In the last 7 days</option>
        </select>
      </label>
      <label className="job-filters-check">
        <input type="checkbox" checked={value.background} onChange={(e) => set({ background: e.target.checked })} /> Show background checks
      </label>
    </div>
  );
}
