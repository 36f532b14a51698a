import type { FleetState } from './schedule';

/**
 * The fleet's state as one line, the same everywhere it is shown: the browser twin's page title
 * and the tray's tooltip ("⚠ 1 overdue or failing — Lifeboat", "• 2 due — Lifeboat", "All fresh — Lifeboat").
 */
export function fleetTitle(fleet: FleetState | null): string {
  if (!fleet || fleet.total === 0) return 'Lifeboat';
  const mark = fleet.level === 'alarm' ? '⚠ ' : fleet.level === 'due' ? '• ' : '';
  return `${mark}${fleet.summary} — Lifeboat`;
}
