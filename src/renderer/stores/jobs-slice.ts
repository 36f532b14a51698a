import type { JobRecord } from '../../shared/jobs';
import type { ErrorPayload } from '../../shared/errors';

/** Every job the core told us about, keyed by id; job:update events keep it current. */
export interface JobsSlice {
  jobs: {
    byId: Record<string, JobRecord>;
    loaded: boolean;
    loadError: ErrorPayload | null;
  };
}

export const initialJobs: JobsSlice['jobs'] = { byId: {}, loaded: false, loadError: null };
