import { z } from 'zod';
import { command, returns } from './define';
import type { JobRecord } from '../jobs';

export const jobCommands = {
  'jobs:list': command({
    summary: 'Jobs of this session and recent finished ones, newest first.',
    input: z.object({ installationId: z.string().optional(), limit: z.number().int().min(1).max(1000).optional() }).strict(),
    output: returns<JobRecord[]>(),
  }),
  'jobs:get': command({ summary: 'One job.', input: z.object({ id: z.string().min(1) }).strict(), output: returns<JobRecord>() }),
  'jobs:cancel': command({
    summary: 'Ask a job to stop; refused once it is past its point of no return.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: returns<JobRecord>(),
  }),
};
