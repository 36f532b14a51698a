// The tray's model, which the Electron shell only renders: the fleet's state in the words the
// header and the page title use, and the menu (open, pull everything overdue now, pause for an
// hour or until resumed / resume, quit) with the contract command each item runs.
import { describe, expect, it } from 'vitest';
import { trayModel, type TrayItem } from '../../src/main/schedule/tray';
import { fleetState } from '../../src/main/watchdog/watchdog';
import { fleetTitle } from '../../src/shared/fleet-title';
import type { WatchState } from '../../src/shared/schedule';

const fleet = (...states: WatchState[]) => fleetState(states.map((state) => ({ state })));
const labels = (items: TrayItem[]) => items.map((i) => ('separator' in i ? '---' : `${i.label}${i.enabled ? '' : ' (disabled)'}`));
const actionOf = (items: TrayItem[], label: string) => {
  const item = items.find((i) => !('separator' in i) && i.label.startsWith(label));
  return item && !('separator' in item) ? item.action : undefined;
};

describe('tray model', () => {
  it('all fresh: the state, open, nothing to pull, pause, quit', () => {
    const model = trayModel(fleet('fresh', 'fresh', 'unknown'), null);
    expect(model.level).toBe('ok');
    expect(model.tooltip).toBe('All fresh — Lifeboat');
    expect(labels(model.items)).toEqual(['All fresh (disabled)', '---', 'Open Lifeboat', 'Pull everything overdue now (disabled)', 'Pause schedules for 1 hour', 'Pause schedules until resumed', '---', 'Quit Lifeboat']);
    expect(actionOf(model.items, 'Open')).toBe('open');
    expect(actionOf(model.items, 'Quit')).toBe('quit');
    expect(actionOf(model.items, 'Pause schedules for 1 hour')).toEqual({ command: 'schedule:pause', input: { minutes: 60 } });
    expect(actionOf(model.items, 'Pause schedules until resumed')).toEqual({ command: 'schedule:pause', input: {} });
  });

  it('N due, and N overdue or failing: the same words as the page title; pulling what is late is offered with its count', () => {
    const due = trayModel(fleet('fresh', 'due', 'due'), null);
    expect(due).toMatchObject({ level: 'due', tooltip: '• 2 due — Lifeboat' });
    expect(labels(due.items)[0]).toBe('2 due (disabled)');
    const late = trayModel(fleet('failing', 'overdue', 'due', 'fresh'), null);
    expect(late).toMatchObject({ level: 'alarm', tooltip: '⚠ 2 overdue or failing, 1 due — Lifeboat' });
    expect(late.tooltip).toBe(fleetTitle(fleet('failing', 'overdue', 'due', 'fresh')));
    expect(labels(late.items).slice(0, 4)).toEqual(['2 overdue or failing, 1 due (disabled)', '---', 'Open Lifeboat', 'Pull everything overdue now (2)']);
    expect(actionOf(late.items, 'Pull everything overdue now')).toEqual({ command: 'schedule:run-overdue', input: {} });
  });

  it('paused: says until when, and offers resume instead of pause', () => {
    const forever = trayModel(fleet('overdue'), { until: 'forever' });
    expect(forever.tooltip).toBe('⚠ 1 overdue or failing — Lifeboat (schedules paused until resumed)');
    expect(labels(forever.items)).toEqual(['1 overdue or failing (disabled)', 'Schedules paused until resumed (disabled)', '---', 'Open Lifeboat', 'Pull everything overdue now (1)', 'Resume schedules', '---', 'Quit Lifeboat']);
    expect(actionOf(forever.items, 'Resume')).toEqual({ command: 'schedule:resume', input: {} });
    const hour = trayModel(fleet('fresh'), { until: '2026-06-01T13:00:00.000Z' });
    expect(hour.tooltip).toMatch(/^All fresh — Lifeboat \(schedules paused until \d\d:\d\d( [AP]M)?\)$/);
  });

  it('no installations yet', () => {
    const model = trayModel(fleet(), null);
    expect(model.tooltip).toBe('Lifeboat');
    expect(labels(model.items)[0]).toBe('No installations (disabled)');
  });
});
