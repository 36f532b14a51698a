import { fleetTitle } from '../../shared/fleet-title';
import type { FleetState } from '../../shared/schedule';

/** What a tray item does when chosen: a contract command, or the shell's own open and quit. */
export type TrayAction = { command: 'schedule:run-overdue'; input: Record<string, never> } | { command: 'schedule:pause'; input: { minutes?: number } } | { command: 'schedule:resume'; input: Record<string, never> } | 'open' | 'quit';

export type TrayItem = { separator: true } | { label: string; enabled: boolean; action: TrayAction | null };

/** The tray icon's state and menu, computed here so the shell only renders it. */
export interface TrayModel {
  /** Which icon: all fresh, something due, something overdue or failing. */
  level: FleetState['level'];
  tooltip: string;
  items: TrayItem[];
}

/**
 * The tray of a fleet: its state as the header and the page title say it (one function for
 * all three), and the menu: open, pull everything overdue now (only when something is), pause
 * the schedules for an hour or until resumed, or resume them when paused, and quit.
 */
export function trayModel(fleet: FleetState, paused: { until: string } | null): TrayModel {
  const late = fleet.overdue + fleet.failing;
  const pausedText = paused ? (paused.until === 'forever' ? 'Schedules paused until resumed' : `Schedules paused until ${new Date(paused.until).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`) : null;
  return {
    level: fleet.level,
    tooltip: pausedText ? `${fleetTitle(fleet)} (s${pausedText.slice(1)})` : fleetTitle(fleet),
    items: [
      { label: fleet.total === 0 ? 'No installations' : fleet.summary, enabled: false, action: null },
      ...(pausedText ? [{ label: pausedText, enabled: false, action: null }] : []),
      { separator: true },
      { label: 'Open Lifeboat', enabled: true, action: 'open' },
      { label: late > 0 ? `Pull everything overdue now (${late})` : 'Pull everything overdue now', enabled: late > 0, action: { command: 'schedule:run-overdue', input: {} } },
      ...(paused
        ? [{ label: 'Resume schedules', enabled: true, action: { command: 'schedule:resume', input: {} } as const }]
        : [
            { label: 'Pause schedules for 1 hour', enabled: true, action: { command: 'schedule:pause', input: { minutes: 60 } } as const },
            { label: 'Pause schedules until resumed', enabled: true, action: { command: 'schedule:pause', input: {} } as const },
          ]),
      { separator: true },
      { label: 'Quit Lifeboat', enabled: true, action: 'quit' },
    ],
  };
}
