import { describe, expect, it } from 'vitest';
import { cadenceHoursFromSchedules } from '../../src/main/apps/weavestream/cadence';

// A Wednesday in a month without a DST change.
const WEDNESDAY = new Date('2026-11-18T12:00:00Z');

describe('Weavestream cadence from its schedules', () => {
  it('is the longest gap between backups of all enabled schedules together', () => {
    expect(cadenceHoursFromSchedules([{ cron: '0 3 * * *', timezone: null }], WEDNESDAY)).toBe(24);
    expect(cadenceHoursFromSchedules([{ cron: '0 */6 * * *', timezone: null }], WEDNESDAY)).toBe(6);
    // Two daily schedules twelve hours apart make a backup every 12 h.
    expect(cadenceHoursFromSchedules([{ cron: '0 3 * * *', timezone: null }, { cron: '0 15 * * *', timezone: 'Etc/UTC' }], WEDNESDAY)).toBe(12);
    // Weekdays only: Friday 03:00 to Monday 03:00 is the gap that must not count as overdue.
    expect(cadenceHoursFromSchedules([{ cron: '0 3 * * 1-5', timezone: null }], WEDNESDAY)).toBe(72);
    expect(cadenceHoursFromSchedules([{ cron: '30 2 * * 0', timezone: 'Europe/Berlin' }], WEDNESDAY)).toBe(168);
    // An hourly schedule listed only so far does not leave a fake gap next to a daily one.
    expect(cadenceHoursFromSchedules([{ cron: '0 * * * *', timezone: null }, { cron: '30 3 * * *', timezone: null }], WEDNESDAY)).toBe(1);
    // Monthly on the 1st: December has 31 days.
    expect(cadenceHoursFromSchedules([{ cron: '0 3 1 * *', timezone: null }], WEDNESDAY)).toBe(31 * 24);
  });

  it('follows the schedule\'s timezone across a DST change (a 25-hour day)', () => {
    // Europe/Berlin leaves summer time on 2026-10-25: 03:00 local on the 24th and 25th are 25 h apart.
    expect(cadenceHoursFromSchedules([{ cron: '0 3 * * *', timezone: 'Europe/Berlin' }], new Date('2026-10-22T12:00:00Z'))).toBe(25);
  });

  it('is unknown without a schedule that parses and fires twice within two months', () => {
    expect(cadenceHoursFromSchedules([], WEDNESDAY)).toBeNull();
    expect(cadenceHoursFromSchedules([{ cron: 'not a cron', timezone: null }], WEDNESDAY)).toBeNull();
    expect(cadenceHoursFromSchedules([{ cron: '0 3 * * *', timezone: 'Mars/Olympus_Mons' }], WEDNESDAY)).toBeNull();
    expect(cadenceHoursFromSchedules([{ cron: '0 3 1 1 *', timezone: null }], WEDNESDAY)).toBeNull();
  });
});
