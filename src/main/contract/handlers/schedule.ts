import type { scheduleCommands } from '../../../shared/contract/schedule';
import { LifeboatError } from '../../../shared/errors';
import { installationScheduleSchema } from '../../../shared/schedule';
import type { Core } from '../../core';
import type { HandlerMap } from '../handler-types';
import { startPull } from '../../apps/pull-runner';
import { compileSchedule, describeSchedule } from '../../schedule/spec';

/** Schedules, the watchdog and notifications. */
export function scheduleHandlers(core: Core): HandlerMap<keyof typeof scheduleCommands> {
  const u = core.unattended;
  const changed = async (reason: string) => {
    core.events.emit('schedule:changed', { reason });
    return u.overview();
  };
  return {
    'schedule:overview': async () => u.overview(),
    'schedule:set': async ({ installationId, installation, defaultPull, vaultCheck, maxConcurrent }) => {
      if (installation && !installationId) throw new LifeboatError('INVALID_INPUT', 'Name the installation whose schedule this is.');
      if (installationId) await core.registry.get(installationId);
      // Every spec is compiled once here, so a bad cron expression or time zone is refused, not saved.
      for (const spec of [installation?.pull, installation?.retention?.schedule, defaultPull, vaultCheck?.schedule]) if (spec) compileSchedule(spec, 'check');
      if (installation?.retention && Object.values(installation.retention.policy).every((v) => v === undefined)) {
        throw new LifeboatError('INVALID_INPUT', 'A retention policy needs at least one keep rule; an empty policy would keep everything.');
      }
      await u.store.updateConfig((c) => {
        if (installationId && installation) c.installations[installationId] = installationScheduleSchema.parse(installation);
        if (defaultPull) c.defaultPull = defaultPull;
        if (vaultCheck) c.vaultCheck = vaultCheck;
        if (maxConcurrent) c.maxConcurrent = maxConcurrent;
      });
      return changed('schedule set');
    },
    'schedule:preview': async ({ spec, installationId, kind }) => {
      const compiled = compileSchedule(spec, `${kind}:${installationId ?? 'preview'}`);
      return { describe: describeSchedule(spec), nextRuns: compiled.next(5, u.clock.now()).map((t) => new Date(t).toISOString()) };
    },
    'schedule:pause': async ({ minutes }) => {
      const until = minutes ? new Date(u.clock.now() + minutes * 60_000).toISOString() : 'forever';
      await u.store.updateConfig((c) => ({ ...c, pausedUntil: until }));
      return changed('paused');
    },
    'schedule:resume': async () => {
      await u.store.updateConfig((c) => ({ ...c, pausedUntil: null, releasedAt: new Date(u.clock.now()).toISOString() }));
      const overview = await changed('resumed');
      if (u.running) void u.tick('wake');
      return overview;
    },
    'schedule:run-overdue': async () => {
      const entries = await u.evaluate();
      const late = entries.filter((e) => e.state === 'overdue' || e.state === 'failing');
      const jobIds: string[] = [];
      for (const entry of late) {
        const installation = await core.registry.get(entry.installationId).catch(() => null);
        if (!installation || !core.apps.has(installation.app)) continue;
        jobIds.push(startPull(core, installation, null).id);
      }
      return { jobIds };
    },
    'watch:states': async () => {
      const entries = await u.evaluate();
      return { entries, fleet: u.stateOf(entries) };
    },
    'watch:acknowledge': async ({ installationId }) => {
      await u.watchdog.acknowledge(installationId);
      return u.watchdog.entries();
    },
    'watch:snooze': async ({ installationId, hours }) => {
      await u.watchdog.snooze(installationId, hours > 0 ? u.clock.now() + hours * 3_600_000 : null);
      return u.watchdog.entries();
    },
    'watch:settings': async ({ change }) => (change ? u.notifications.setWatchSettings(change) : u.notifications.watchSettings()),
    'notify:channels': async () => u.notifications.channels(),
    'notify:save-channel': async (input) => u.notifications.saveChannel(input),
    'notify:remove-channel': async ({ id }) => {
      await u.notifications.removeChannel(id);
      return u.notifications.channels();
    },
    'notify:set-healthcheck': async ({ installationId, url, timeoutSeconds, retries }) => {
      await core.registry.get(installationId);
      await u.notifications.setHealthcheck(installationId, url, { ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}), ...(retries !== undefined ? { retries } : {}) });
      return u.notifications.channels();
    },
    'notify:test': async ({ id }) => u.notifications.test(id),
    'notify:history': async ({ limit }) => {
      const items = await u.notifications.list(limit);
      const all = await u.notifications.list(500);
      return { items, unread: all.filter((n) => !n.read).length };
    },
    'notify:mark-read': async ({ ids }) => {
      const unread = await u.notifications.markRead(ids ?? 'all');
      core.events.emit('notification:read', { unread });
      return { unread };
    },
  };
}
