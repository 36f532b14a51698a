import { z } from 'zod';
import { command, returns } from './define';
import type { AuditEntry } from '../audit';

export const auditCommands = {
  'audit:list': command({
    summary: 'The audit trail, newest first.',
    input: z.object({ installationId: z.string().optional(), limit: z.number().int().min(1).max(10_000).optional() }).strict(),
    output: returns<AuditEntry[]>(),
  }),
};
