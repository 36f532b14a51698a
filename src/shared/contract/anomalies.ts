import { z } from 'zod';
import { command, returns } from './define';
import { anomalyThresholdsSchema, type Anomaly, type AnomalyThresholds } from '../anomalies';

export const anomalyCommands = {
  'anomalies:list': command({
    summary: 'Anomalies of the snapshot histories, newest first (unacknowledged only unless asked).',
    input: z.object({ installationId: z.string().optional(), snapshotId: z.string().optional(), includeAcknowledged: z.boolean().default(false) }).strict(),
    output: returns<Anomaly[]>(),
  }),
  'anomalies:check': command({
    summary: 'Compare an installation\'s newest snapshot with its history now; returns the new anomalies.',
    input: z.object({ installationId: z.string().min(1) }).strict(),
    output: returns<Anomaly[]>(),
  }),
  'anomalies:acknowledge': command({
    summary: 'Acknowledge an anomaly: it stops alerting and no longer protects snapshots from retention.',
    input: z.object({ id: z.string().min(1), note: z.string().max(500).optional() }).strict(),
    output: returns<Anomaly>(),
  }),
  'anomalies:thresholds': command({
    summary: 'An installation\'s anomaly thresholds (defaults where not set); with `set`, change some first.',
    input: z.object({ installationId: z.string().min(1), set: anomalyThresholdsSchema.partial().optional() }).strict(),
    output: returns<AnomalyThresholds>(),
  }),
};
