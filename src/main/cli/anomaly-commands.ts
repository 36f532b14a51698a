import type { Command } from 'commander';
import { DEFAULT_ANOMALY_THRESHOLDS, type AnomalyThresholds } from '../../shared/anomalies';
import { LifeboatError } from '../../shared/errors';
import { createInProcessClient } from '../contract/in-process';
import { EXIT } from './exit-codes';
import type { CliContext } from './extra-commands';
import { print, table } from './output';

/** `lifeboat anomalies`: list, check, acknowledge, thresholds. */
export function registerAnomalyCommands(program: Command, { getCore, json, outcome }: CliContext): void {
  const anomalies = program.command('anomalies').description('anomaly alerts from each installation\'s snapshot history');

  anomalies
    .command('list', { isDefault: true })
    .description('unacknowledged anomalies (with --all, acknowledged ones too)')
    .option('--installation <name>', 'only this installation')
    .option('--all', 'include acknowledged anomalies')
    .action(async (opts: { installation?: string; all?: boolean }) => {
      const core = await getCore();
      const installationId = opts.installation ? (await core.registry.resolve(opts.installation)).id : undefined;
      const list = await createInProcessClient(core).call('anomalies:list', { ...(installationId ? { installationId } : {}), includeAcknowledged: Boolean(opts.all) });
      print(list, json(), (items) => (items.length === 0 ? 'No anomalies.' : table([['ID', 'INSTALLATION', 'SNAPSHOT', 'KIND', 'ACK', 'DETAIL'], ...items.map((a) => [a.id, a.installationName ?? a.installationId, a.snapshotId.slice(0, 8), a.kind, a.acknowledgedAt ? 'yes' : '-', a.detail])])));
      if (list.some((a) => a.acknowledgedAt === null)) outcome.report(EXIT.warnings);
    });

  anomalies
    .command('check')
    .description('compare an installation\'s newest snapshot with its history now')
    .requiredOption('--installation <name>', 'the installation')
    .action(async (opts: { installation: string }) => {
      const core = await getCore();
      const installationId = (await core.registry.resolve(opts.installation)).id;
      const found = await createInProcessClient(core).call('anomalies:check', { installationId });
      print(found, json(), (items) => (items.length === 0 ? 'No new anomalies.' : items.map((a) => `${a.kind}: ${a.detail} (${a.id})`).join('\n')));
      if (found.length > 0) outcome.report(EXIT.warnings);
    });

  anomalies
    .command('ack')
    .description('acknowledge an anomaly: it stops alerting and protecting snapshots from retention')
    .argument('<id>', 'the anomaly id')
    .option('--note <text>', 'why it is fine')
    .action(async (id: string, opts: { note?: string }) => {
      const core = await getCore();
      const anomaly = await createInProcessClient(core).call('anomalies:acknowledge', { id, ...(opts.note ? { note: opts.note } : {}) });
      print(anomaly, json(), (a) => `Acknowledged ${a.id} at ${a.acknowledgedAt}.`);
    });

  anomalies
    .command('thresholds')
    .description(`show or set an installation's thresholds, e.g. --set minSizeRatio=0.3 (keys: ${Object.keys(DEFAULT_ANOMALY_THRESHOLDS).join(', ')})`)
    .requiredOption('--installation <name>', 'the installation')
    .option('--set <key=value...>', 'thresholds to change')
    .action(async (opts: { installation: string; set?: string[] }) => {
      const core = await getCore();
      const installationId = (await core.registry.resolve(opts.installation)).id;
      const set: Partial<Record<keyof AnomalyThresholds, number>> = {};
      for (const pair of opts.set ?? []) {
        const [key, value] = pair.split('=');
        if (!key || value === undefined || !(key in DEFAULT_ANOMALY_THRESHOLDS) || !Number.isFinite(Number(value))) throw new LifeboatError('INVALID_INPUT', `"${pair}" is not KEY=NUMBER with a key of ${Object.keys(DEFAULT_ANOMALY_THRESHOLDS).join(', ')}.`);
        set[key as keyof AnomalyThresholds] = Number(value);
      }
      const result = await createInProcessClient(core).call('anomalies:thresholds', { installationId, ...(opts.set ? { set } : {}) });
      print(result, json(), (t) => table(Object.entries(t).map(([k, v]) => [k, String(v)])));
    });
}
