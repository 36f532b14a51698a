/**
 * Screens reached from the Fleet page live under its fragment, so the nav keeps "Fleet" current:
 *   #/fleet/preview/<snapshotId>              preview of a vault snapshot
 *   #/fleet/preview                           preview of a local file
 *   #/fleet/restore/<installationId>[/<snapshotId>]   the restore wizard
 *   #/fleet/edit/<installationId>             the list, with that installation's form open
 */
import { useSyncExternalStore } from 'react';

/** Which Fleet screen the fragment names. */
export type FleetScreen =
  | { kind: 'list'; editId?: string }
  | { kind: 'preview'; snapshotId: string | null }
  | { kind: 'restore'; installationId: string; snapshotId: string | null };

const HEX = /^[0-9a-f]{4,64}$/;

function parse(hash: string): FleetScreen {
  const [, page, screen, first, second] = hash.replace(/^#/, '').split('/').map(decodeURIComponent);
  if (page !== 'fleet') return { kind: 'list' };
  if (screen === 'preview') return { kind: 'preview', snapshotId: first && HEX.test(first) ? first : null };
  if (screen === 'edit' && first) return { kind: 'list', editId: first };
  if (screen === 'restore' && first) return { kind: 'restore', installationId: first, snapshotId: second && HEX.test(second) ? second : null };
  return { kind: 'list' };
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

const currentHash = (): string => window.location.hash;

/** The Fleet screen in the fragment, re-rendering when it changes. */
export function useFleetScreen(): FleetScreen {
  return parse(useSyncExternalStore(subscribe, currentHash));
}

/** Links to the Fleet screens. */
export const fleetHref = {
  list: (): string => '#/fleet',
  edit: (installationId: string): string => `#/fleet/edit/${encodeURIComponent(installationId)}`,
  preview: (snapshotId?: string): string => (snapshotId ? `#/fleet/preview/${encodeURIComponent(snapshotId)}` : '#/fleet/preview'),
  restore: (installationId: string, snapshotId?: string): string =>
    `#/fleet/restore/${encodeURIComponent(installationId)}${snapshotId ? `/${encodeURIComponent(snapshotId)}` : ''}`,
};
