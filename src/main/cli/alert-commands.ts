import type { Command } from 'commander';
import type { WatchEntry } from '../../shared/schedule';
import { createInProcessClient } from '../contract/in-process';
import { EXIT } from './exit-codes';
import type { CliContext } from './extra-commands';
import { print, table } from './output';
import { minutesFrom } from './schedule-commands';

const ALARM = new Set(['overdue', 'failing']);

function quietNote(e: WatchEntry): string {
  if (e.snoozedUntil) return `snoozed until ${e.snoozedUntil}`;
  return e.acknowledged ? 'acknowledged' : '-';
}

/** `lifeboat alerts`: the watchdog's alarms, acknowledged or snoozed per installation (what the notification centre offers). */
export function registerAlertCommands(program: Command, { getCore, json, outcome }: CliContext): void {
  const alerts = program.command('alerts').description("the watchdog's alarms per installation: list, acknowledge, snooze");

  alerts
    .command('list', { isDefault: true })
    .description('every installation\'s state and whether its alerts are acknowledged or snoozed (exit 0 all fresh, 3 something due, 1 overdue or failing)')
    .action(async () => {
      const { entries, fleet } = await createInProcessClient(await getCore()).call('watch:states', {});
      print(entries, json(), (list) => `${fleet.summary}\n${table([['INSTALLATION', 'STATE', 'ALERTS', 'MESSAGE'], ...list.map((e) => [e.name, e.state, quietNote(e), e.message])])}`);
      outcome.report(fleet.level === 'alarm' ? EXIT.failed : fleet.level === 'due' ? EXIT.warnings : EXIT.ok);
    });

  alerts
    .command('ack <installation>')
    .description('acknowledge an installation that is overdue or failing: no reminders until its state changes (exit 3 when it is in no alarm)')
    .action(async (name: string) => {
      const core = await getCore();
      const installation = await core.registry.resolve(name);
      const client = createInProcessClient(core);
      const current = (await client.call('watch:states', {})).entries.find((e) => e.installationId === installation.id);
      if (!current || !ALARM.has(current.state)) {
        process.stderr.write(`${installation.name} is ${current?.state ?? 'not watched yet'}: there is no alarm to acknowledge.\n`);
        outcome.report(EXIT.warnings);
        return;
      }
      const entries = await client.call('watch:acknowledge', { installationId: installation.id });
      print(entries.find((e) => e.installationId === installation.id) ?? null, json(), () => `Acknowledged: no reminders for ${installation.name} while it stays ${current.state}.`);
    });

  alerts
    .command('snooze <installation>')
    .description('no alerts for an installation for a while (e.g. during maintenance)')
    .requiredOption('--for <duration>', 'e.g. 4h, 30m, 2d (at most 30 days)')
    .action(async (name: string, opts: { for: string }) => {
      const core = await getCore();
      const installation = await core.registry.resolve(name);
      const entries = await createInProcessClient(core).call('watch:snooze', { installationId: installation.id, hours: minutesFrom(opts.for) / 60 });
      const entry = entries.find((e) => e.installationId === installation.id) ?? null;
      print(entry, json(), (e) => `Snoozed: no alerts for ${installation.name} until ${e?.snoozedUntil ?? '?'}.`);
    });

  alerts
    .command('unsnooze <installation>')
    .description('end a snooze now')
    .action(async (name: string) => {
      const core = await getCore();
      const installation = await core.registry.resolve(name);
      const entries = await createInProcessClient(core).call('watch:snooze', { installationId: installation.id, hours: 0 });
      print(entries.find((e) => e.installationId === installation.id) ?? null, json(), () => `Alerts for ${installation.name} are on again.`);
    });
}
