import { APP_LABELS, type AppKind } from '../../shared/installations';
import { LifeboatError } from '../../shared/errors';
import type { AppAdapter } from './adapter';
import { meshMonitorAdapter } from './meshmonitor/adapter';
import { weavestreamAdapter } from './weavestream/adapter';

/** Every adapter Lifeboat has, by app kind. An installation's app kind selects one. */
const adapters: Partial<Record<AppKind, AppAdapter>> = {
  meshmonitor: meshMonitorAdapter,
  weavestream: weavestreamAdapter,
};

/** The adapter of an app kind, or APP_UNSUPPORTED naming what is not there yet. */
export function adapterFor(app: AppKind): AppAdapter {
  const adapter = adapters[app];
  if (!adapter) throw new LifeboatError('APP_UNSUPPORTED', `Lifeboat cannot pull or restore ${APP_LABELS[app]} backups yet.`);
  return adapter;
}

export function hasAdapter(app: AppKind): boolean {
  return adapters[app] !== undefined;
}
