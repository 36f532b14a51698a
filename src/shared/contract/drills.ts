import { z } from 'zod';
import { command, returns } from './define';
import type { DrillResult, DrillSettings } from '../drills';

const snapshotId = z.string().trim().regex(/^[0-9a-f]{4,64}$/, 'a snapshot id is 4 to 64 hex digits');

export const drillCommands = {
  'drills:run': command({
    summary: 'Restore a snapshot into a throwaway target (never production), check it there, remove it (a job whose result is the stored drill result).',
    input: z.object({ snapshotId }).strict(),
    output: returns<{ jobId: string }>(),
  }),
  'drills:results': command({
    summary: 'The stored restore drills of a snapshot, newest first.',
    input: z.object({ snapshotId }).strict(),
    output: returns<DrillResult[]>(),
  }),
  'drills:settings': command({
    summary: 'How an installation is drilled (a temporary local cluster, or a scratch database on its own server over SSH, free space checked first); with `set`, change some first.',
    input: z.object({
      installationId: z.string().min(1),
      set: z.object({
        onServer: z.boolean(),
        freeSpacePath: z.string().trim().min(1).max(4096).nullable(),
        keepFreeBytes: z.number().int().min(0),
      }).strict().partial().optional(),
    }).strict(),
    output: returns<DrillSettings>(),
  }),
};
