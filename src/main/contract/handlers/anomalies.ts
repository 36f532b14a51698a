import type { anomalyCommands } from '../../../shared/contract/anomalies';
import type { Core } from '../../core';
import type { HandlerMap } from '../handler-types';

export function anomalyHandlers(core: Core): HandlerMap<keyof typeof anomalyCommands> {
  return {
    'anomalies:list': async (filter) => core.anomalies.list(filter),
    'anomalies:check': async ({ installationId }) => core.anomalies.check(installationId),
    'anomalies:acknowledge': async ({ id, note }) => core.anomalies.acknowledge(id, note ?? null),
    'anomalies:thresholds': async ({ installationId, set }) => (set ? core.anomalies.setThresholds(installationId, set) : core.anomalies.thresholds(installationId)),
  };
}
