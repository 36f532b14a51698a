import { watch as watchDir } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { LifeboatError } from '../../shared/errors';
import { NOTIFICATION_EVENTS, type NotificationEvent, type ScheduleSpec, type WatchEntry, type WatchState } from '../../shared/schedule';
import type { RetentionPolicyInput } from '../../shared/vault';
import { createInProcessClient } from '../contract/in-process';
import { startTwin } from '../contract/http-twin';
import { fleetState } from '../watchdog/watchdog';
import type { CliContext } from './extra-commands';
import { EXIT } from './exit-codes';
import { print, readStdin, table } from './output';

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface SpecOptions {
  hourly?: string | boolean;
  daily?: string;
  weekly?: string[];
  cron?: string;
  off?: boolean;
  tz?: string;
  jitterMinutes?: string;
}

/** The schedule the options name, or null when they name none. */
function specFrom(opts: SpecOptions): ScheduleSpec | null {
  const common = { ...(opts.tz ? { timeZone: opts.tz } : {}), ...(opts.jitterMinutes !== undefined ? { jitterMinutes: Number(opts.jitterMinutes) } : {}) };
  const given = [opts.hourly !== undefined, opts.daily !== undefined, opts.weekly !== undefined, opts.cron !== undefined, Boolean(opts.off)].filter(Boolean).length;
  if (given > 1) throw new LifeboatError('INVALID_INPUT', 'Give one of --hourly, --daily, --weekly, --cron, --off.');
  if (opts.off) return { preset: 'off' };
  if (opts.hourly !== undefined) return { preset: 'hourly', ...(typeof opts.hourly === 'string' ? { minute: Number(opts.hourly) } : {}), ...common };
  if (opts.daily !== undefined) return { preset: 'daily', time: opts.daily, ...common };
  if (opts.weekly !== undefined) {
    const [day, time] = opts.weekly;
    const weekday = WEEKDAYS.indexOf((day ?? '').slice(0, 3).toLowerCase());
    if (weekday < 0 || !time) throw new LifeboatError('INVALID_INPUT', '--weekly takes a day and a time, e.g. --weekly sun 04:00.');
    return { preset: 'weekly', weekday, time, ...common };
  }
  if (opts.cron !== undefined) return { preset: 'cron', expression: opts.cron, ...common };
  return null;
}

/** "keepDaily=7,keepWeekly=4" → a retention policy. */
function policyFrom(text: string): RetentionPolicyInput {
  const policy: Record<string, number | string> = {};
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value] = pair.split('=');
    if (!key || value === undefined) throw new LifeboatError('INVALID_INPUT', `--retention "${pair}" must look like keepDaily=7.`);
    policy[key] = /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return policy as RetentionPolicyInput;
}

/** "1h", "30m", "2d" → minutes. */
export function minutesFrom(text: string): number {
  const match = /^(\d+)\s*([mhd])$/.exec(text.trim());
  if (!match) throw new LifeboatError('INVALID_INPUT', `"${text}" is not a duration; write 30m, 1h or 2d.`);
  return Number(match[1]) * { m: 1, h: 60, d: 1440 }[match[2] as 'm' | 'h' | 'd'];
}

function addSpecOptions(command: Command): Command {
  return command
    .option('--hourly [minute]', 'every hour (at this minute; spread over the hour without one)')
    .option('--daily <HH:MM>', 'every day at this local time')
    .option('--weekly <day-and-time...>', 'every week, e.g. --weekly sun 04:00')
    .option('--cron <expression>', 'a cron expression (minute hour day month weekday)')
    .option('--off', 'no schedule')
    .option('--tz <zone>', 'IANA time zone of the times (default: this machine\'s)')
    .option('--jitter-minutes <n>', 'spread runs over this many minutes after each slot');
}

/** Files of the data directory whose change (by any process) can change a state `watch` prints. */
const WATCHED_FILES = new Set(['jobs.jsonl', 'installations.json', 'watchdog.json', 'schedule-state.json']);

const exitFor = (states: WatchState[]) => (states.some((s) => s === 'overdue' || s === 'failing') ? EXIT.failed : states.includes('due') ? EXIT.warnings : EXIT.ok);

/** `lifeboat daemon`, `schedule`, `watch`, `notify`. */
export function registerScheduleCommands(program: Command, { getCore, json, outcome }: CliContext): void {
  program
    .command('daemon')
    .description('run the schedules, the watchdog and notifications headless (one per data directory); optionally serve the UI too')
    .option('--twin', 'also serve the browser twin on 127.0.0.1')
    .option('--port <port>', 'port of the twin (0 = any free port)', '0')
    .action(async (opts: { twin?: boolean; port: string }) => {
      // Listening before anything starts: a stop request that comes early still stops cleanly.
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const core = await getCore();
      core.unattended.run('lifeboat daemon');
      let twin: Awaited<ReturnType<typeof startTwin>> | null = null;
      if (opts.twin) {
        const rendererDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'renderer');
        twin = await startTwin(core, { port: Number(opts.port), rendererDir });
      }
      const info = { pid: process.pid, home: core.home.root, ...(twin ? { url: twin.url, port: twin.port, token: twin.token } : {}) };
      if (json()) process.stdout.write(`${JSON.stringify(info)}\n`);
      else process.stdout.write(`Lifeboat daemon (pid ${process.pid}) runs the schedules of ${core.home.root}.${twin ? `\nUI: ${twin.url}` : ''}\nStop it with Ctrl-C or SIGTERM.\n`);
      // The scheduler's timers do not hold a process open; the daemon exists to keep it so.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      await stopped;
      clearInterval(keepAlive);
      await twin?.close();
    });

  const schedule = program.command('schedule').description('when Lifeboat pulls, applies retention and checks the vault unattended');

  schedule
    .command('list')
    .description('every scheduled task: schedule, next run, last outcome, back-off')
    .action(async () => {
      const overview = await createInProcessClient(await getCore()).call('schedule:overview', {});
      print(overview, json(), (o) => {
        const head = `${o.paused ? `PAUSED ${o.paused.until === 'forever' ? 'until resumed' : `until ${o.paused.until}`}\n` : ''}Runner: ${o.runner.here ? 'this process' : (o.runner.holder ?? 'none (start `lifeboat daemon`, `lifeboat serve` or the desktop app)')}\n`;
        return head + table([
          ['TASK', 'SCHEDULE', 'NEXT RUN', 'LAST RUN', 'OUTCOME', 'NOTE'],
          ...o.tasks.map((t) => [`${t.kind} ${t.name}`, `${t.describe}${t.usesDefault ? ' (default)' : ''}`, t.nextRuns[0] ?? '-', t.lastRunAt ?? '-', t.lastOutcome ?? '-', t.held ?? (t.holdUntil ? `back-off until ${t.holdUntil} after ${t.failures} failure(s)` : (t.lastError ?? ''))]),
        ]);
      });
    });

  addSpecOptions(
    schedule
      .command('set <target>')
      .description('set the schedule of an installation (name or id), of "default" (installations without their own) or of "vault-check"'),
  )
    .option('--follow-default', 'the installation follows the default schedule again')
    .option('--trigger-first', 'ask the app to make a backup first')
    .option('--no-trigger-first', 'pull the newest existing backup')
    .option('--retention <policy>', 'retention policy, e.g. keepDaily=7,keepWeekly=4 (applied on --retention-daily)')
    .option('--retention-daily <HH:MM>', 'when retention runs (default 05:00)')
    .option('--no-retention', 'no automatic retention')
    .option('--prune', 'free space after retention')
    .option('--read-data', 'vault-check: read all data')
    .option('--max-concurrent <n>', 'scheduled pulls at once')
    .option('--drill-weekly <day-and-time...>', 'restore drill of the newest snapshot weekly, e.g. --drill-weekly sun 04:00')
    .option('--no-drill', 'no scheduled restore drill')
    .action(async (target: string, opts: SpecOptions & { followDefault?: boolean; triggerFirst?: boolean; retention?: string | false; retentionDaily?: string; prune?: boolean; readData?: boolean; maxConcurrent?: string; drillWeekly?: string[]; drill?: boolean }) => {
      const core = await getCore();
      const client = createInProcessClient(core);
      const spec = specFrom(opts);
      const maxConcurrent = opts.maxConcurrent ? { maxConcurrent: Number(opts.maxConcurrent) } : {};
      let overview;
      if (target === 'default') {
        if (!spec) throw new LifeboatError('INVALID_INPUT', 'Say which schedule: --hourly, --daily HH:MM, --weekly DAY HH:MM, --cron EXPR or --off.');
        overview = await client.call('schedule:set', { defaultPull: spec, ...maxConcurrent });
      } else if (target === 'vault-check') {
        if (!spec) throw new LifeboatError('INVALID_INPUT', 'Say when: e.g. --weekly sun 04:00.');
        overview = await client.call('schedule:set', { vaultCheck: { schedule: spec, readData: Boolean(opts.readData) }, ...maxConcurrent });
      } else {
        const installation = await core.registry.resolve(target);
        const current = (await client.call('schedule:overview', {})).installations[installation.id];
        const retention =
          opts.retention === false ? null : opts.retention ? { policy: policyFrom(opts.retention), schedule: { preset: 'daily' as const, time: opts.retentionDaily ?? '05:00' }, prune: Boolean(opts.prune) } : (current?.retention ?? null);
        overview = await client.call('schedule:set', {
          installationId: installation.id,
          installation: {
            pull: opts.followDefault ? null : (spec ?? current?.pull ?? null),
            triggerFirst: opts.triggerFirst ?? current?.triggerFirst ?? false,
            retention,
            drill: opts.drill === false ? null : opts.drillWeekly ? specFrom({ weekly: opts.drillWeekly }) : (current?.drill ?? null),
          },
          ...maxConcurrent,
        });
      }
      print(overview, json(), (o) => o.tasks.filter((t) => target === 'default' ? t.usesDefault : target === 'vault-check' ? t.kind === 'vault-check' : t.name.toLowerCase() === target.toLowerCase() || t.installationId === target).map((t) => `${t.kind} ${t.name}: ${t.describe}; next: ${t.nextRuns.slice(0, 5).join(', ') || '-'}`).join('\n') || 'Saved.');
    });

  schedule
    .command('pause')
    .description('pause every schedule (missed runs are caught up once on resume)')
    .option('--for <duration>', 'e.g. 1h, 30m, 2d; without it: until resumed')
    .action(async (opts: { for?: string }) => {
      const overview = await createInProcessClient(await getCore()).call('schedule:pause', opts.for ? { minutes: minutesFrom(opts.for) } : {});
      print(overview, json(), (o) => `Schedules paused ${o.paused?.until === 'forever' ? 'until resumed' : `until ${o.paused?.until}`}.`);
    });

  schedule
    .command('resume')
    .description('resume schedules, including tasks held after repeated authentication failures')
    .action(async () => {
      const overview = await createInProcessClient(await getCore()).call('schedule:resume', {});
      print(overview, json(), () => 'Schedules resumed.');
    });

  program
    .command('watch')
    .description('print freshness state changes as JSON lines (exit 0 all fresh, 3 something due, 1 overdue or failing)')
    .option('--once', 'print every installation\'s state once and exit')
    .option('--interval <seconds>', 'how often to look', '60')
    .action(async (opts: { once?: boolean; interval: string }) => {
      const core = await getCore();
      const watchdog = core.unattended.observer();
      const line = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
      await watchdog.evaluate();
      let entries: WatchEntry[] = await watchdog.entries();
      for (const e of entries) line({ installationId: e.installationId, name: e.name, from: null, to: e.state, side: e.side, message: e.message, at: new Date().toISOString() });
      if (!opts.once) {
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        // Another process (a CLI pull, the daemon, the desktop app) changes the data directory's
        // files: the job history, the installations, the runner's states. Looking again soon after
        // such a change prints its effect at once rather than at the next interval.
        let poke: (() => void) | null = null;
        let debounce: NodeJS.Timeout | undefined;
        const watcher = watchDir(core.home.root, { persistent: false }, (_event, file) => {
          if (!file || !WATCHED_FILES.has(String(file))) return;
          clearTimeout(debounce);
          debounce = setTimeout(() => poke?.(), 200);
        });
        while (!stop.signal.aborted) {
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              poke = null;
              resolve();
            };
            const timer = setTimeout(done, Math.max(1, Number(opts.interval)) * 1000);
            poke = done;
            stop.signal.addEventListener('abort', done, { once: true });
          });
          if (stop.signal.aborted) break;
          for (const change of await watchdog.evaluate()) line(change);
          entries = await watchdog.entries();
        }
        watcher.close();
        clearTimeout(debounce);
      }
      if (!json()) process.stderr.write(`${fleetState(entries).summary}\n`);
      outcome.report(exitFor(entries.map((e) => e.state)));
    });

  const notify = program.command('notify').description('notification channels: ntfy, webhooks, healthchecks.io-style pings');

  notify
    .command('list')
    .description('channels and how their last delivery went')
    .action(async () => {
      const channels = await createInProcessClient(await getCore()).call('notify:channels', {});
      print(channels, json(), (list) => (list.length === 0 ? 'No channels yet. Add one with: lifeboat notify add ntfy --name phone < url-file' : table([['ID', 'KIND', 'NAME', 'EVENTS', 'URL', 'LAST DELIVERY'], ...list.map((c) => [c.id, c.kind, c.name, c.kind === 'healthchecks' ? 'every pull' : c.events.join(','), c.hasUrl ? 'in keychain' : 'MISSING', c.lastDelivery ? `${c.lastDelivery.ok ? 'ok' : 'FAILED'}: ${c.lastDelivery.detail}` : '-'])])));
    });

  notify
    .command('add')
    .description('add a channel; its URL (ntfy topic URL or webhook endpoint) is read from stdin and kept in the keychain')
    .addOption(new Option('--kind <kind>', 'channel kind').choices(['ntfy', 'webhook']).makeOptionMandatory())
    .requiredOption('--name <name>', 'a name you recognise')
    .option('--id <id>', 'a short id (default: generated)')
    .option('--events <list>', `comma-separated: ${NOTIFICATION_EVENTS.join(',')}`)
    .option('--tags <list>', 'ntfy tags, comma-separated')
    .option('--timeout <seconds>', 'per attempt', '10')
    .option('--retries <n>', 'retries on 5xx, 429 and timeouts', '3')
    .action(async (opts: { kind: 'ntfy' | 'webhook'; name: string; id?: string; events?: string; tags?: string; timeout: string; retries: string }) => {
      const url = await readStdin();
      if (!url) throw new LifeboatError('INVALID_INPUT', 'Pipe the channel URL on stdin (it is a secret: it goes to the keychain, never to a file or the command line).');
      const saved = await createInProcessClient(await getCore()).call('notify:save-channel', {
        kind: opts.kind,
        name: opts.name,
        url: url.trim(),
        ...(opts.id ? { id: opts.id } : {}),
        ...(opts.events ? { events: opts.events.split(',').map((e) => e.trim()) as NotificationEvent[] } : {}),
        ...(opts.tags ? { tags: opts.tags.split(',').map((t) => t.trim()) } : {}),
        timeoutSeconds: Number(opts.timeout),
        retries: Number(opts.retries),
      });
      print(saved, json(), (c) => `Added ${c.kind} channel "${c.name}" (id ${c.id}). Try it: lifeboat notify test ${c.id}`);
    });

  notify
    .command('remove <id>')
    .description('remove a channel and its stored URL')
    .action(async (id: string) => {
      const channels = await createInProcessClient(await getCore()).call('notify:remove-channel', { id });
      print(channels, json(), () => `Removed ${id}.`);
    });

  notify
    .command('ping <installation>')
    .description("set an installation's healthchecks.io-style ping URL (read from stdin): /start, success and /fail with the log follow its pulls")
    .option('--remove', 'remove the ping')
    .action(async (name: string, opts: { remove?: boolean }) => {
      const core = await getCore();
      const installation = await core.registry.resolve(name);
      const url = opts.remove ? null : (await readStdin()).trim();
      if (url === '') throw new LifeboatError('INVALID_INPUT', 'Pipe the ping URL on stdin (e.g. https://hc-ping.com/<uuid>); it goes to the keychain.');
      const channels = await createInProcessClient(core).call('notify:set-healthcheck', { installationId: installation.id, url });
      print(channels, json(), () => (url ? `Pings for "${installation.name}" set; test: lifeboat notify test healthchecks-${installation.id}` : `Ping of "${installation.name}" removed.`));
    });

  notify
    .command('test <channel>')
    .description('send a test notification on a channel (id or name) now')
    .action(async (id: string) => {
      const result = await createInProcessClient(await getCore()).call('notify:test', { id });
      print(result, json(), (r) => `${r.ok ? 'Delivered' : 'NOT delivered'} after ${r.attempts} attempt(s): ${r.detail}`);
      if (!result.ok) outcome.report(EXIT.failed);
    });

  notify
    .command('history')
    .description('the notification centre, newest first')
    .option('--limit <n>', 'how many', '20')
    .action(async (opts: { limit: string }) => {
      const history = await createInProcessClient(await getCore()).call('notify:history', { limit: Number(opts.limit) });
      print(history, json(), (h) => (h.items.length === 0 ? 'No notifications.' : h.items.map((n) => `${n.at} ${n.read ? ' ' : '•'} [${n.event}] ${n.title}\n    ${n.message.replace(/\n/g, '\n    ')}`).join('\n')));
    });
}
