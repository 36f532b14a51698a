import type { Command } from 'commander';
import type { DrillResult, DrillSettings } from '../../shared/drills';
import { LifeboatError } from '../../shared/errors';
import { createInProcessClient } from '../contract/in-process';
import { EXIT } from './exit-codes';
import type { CliContext } from './extra-commands';
import { followJob } from './jobs';
import { print, table } from './output';

/** How a drill result reads in a terminal. */
export function describeDrill(r: DrillResult): string {
  const head = r.restorable
    ? `Snapshot ${r.snapshotId.slice(0, 8)} restores: ${r.kind} drill in ${(r.durationMs / 1000).toFixed(1)} s (${r.finishedAt}).`
    : `Snapshot ${r.snapshotId.slice(0, 8)} does NOT restore: ${r.failure?.message ?? 'see the checks'}`;
  return [
    head,
    ...(r.failure?.statement ? [`Failing statement: ${r.failure.statement}`] : []),
    `Target: ${r.target}`,
    ...r.checks.map((c) => `  ${c.skipped ? 'skip' : c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    ...(r.tables.length ? [table([['TABLE', 'ARCHIVE', 'RESTORED', ''], ...r.tables.map((t) => [t.table, String(t.archive ?? '?'), String(t.restored ?? '-'), t.ok ? 'ok' : 'DIFFERS'])])] : []),
  ].join('\n');
}

/** `lifeboat drill SNAPSHOT`: restore it into a throwaway target and check it there. */
export function registerDrillCommands(program: Command, { getCore, json, outcome }: CliContext): void {
  program
    .command('drill')
    .description('restore drill: restore a snapshot into a throwaway target (never production), check it, remove it')
    .argument('<snapshot>', 'snapshot id (or a unique prefix)')
    .option('--show', 'only show the stored drills of the snapshot')
    .action(async (snapshotId: string, opts: { show?: boolean }) => {
      const core = await getCore();
      const client = createInProcessClient(core);
      if (opts.show) {
        const results = await client.call('drills:results', { snapshotId });
        print(results, json(), (items) => (items.length === 0 ? `No drill of snapshot ${snapshotId} yet: run \`lifeboat drill ${snapshotId}\`.` : items.map(describeDrill).join('\n\n')));
        if (results[0] && !results[0].restorable) outcome.report(EXIT.failed);
        return;
      }
      const { jobId } = await client.call('drills:run', { snapshotId });
      const result = await followJob<DrillResult>(core, jobId, outcome);
      print(result, json(), describeDrill);
      if (!result.restorable) outcome.report(EXIT.failed);
    });

  program
    .command('drill-settings')
    .description('how an installation is drilled: a temporary local cluster (default), or a scratch database on its own server over SSH (free space checked first)')
    .argument('<installation>', 'installation name or id')
    .option('--on-server', 'drill into a scratch database lifeboat_drill_<id> on the installation\'s own PostgreSQL')
    .option('--local', 'drill into a temporary local PostgreSQL cluster')
    .option('--free-space-path <path>', 'where the server keeps PostgreSQL\'s data, for df ("" : its data_directory)')
    .option('--keep-free <bytes>', 'bytes that must stay free on the server')
    .action(async (name: string, opts: { onServer?: boolean; local?: boolean; freeSpacePath?: string; keepFree?: string }) => {
      const core = await getCore();
      const installationId = (await core.registry.resolve(name)).id;
      if (opts.onServer && opts.local) throw new LifeboatError('INVALID_INPUT', 'Give --on-server or --local, not both.');
      const set: Partial<DrillSettings> = {};
      if (opts.onServer || opts.local) set.onServer = Boolean(opts.onServer);
      if (opts.freeSpacePath !== undefined) set.freeSpacePath = opts.freeSpacePath.trim() || null;
      if (opts.keepFree !== undefined) {
        const bytes = Number(opts.keepFree);
        if (!Number.isInteger(bytes) || bytes < 0) throw new LifeboatError('INVALID_INPUT', `--keep-free takes a number of bytes, not "${opts.keepFree}".`);
        set.keepFreeBytes = bytes;
      }
      const result = await createInProcessClient(core).call('drills:settings', { installationId, ...(Object.keys(set).length > 0 ? { set } : {}) });
      print(result, json(), (r) => (r.onServer ? `Drills of ${name} run in a scratch database on its own server (free space read at ${r.freeSpacePath ?? 'PostgreSQL\'s data_directory'}, ${r.keepFreeBytes} bytes kept free).` : `Drills of ${name} run in a temporary local PostgreSQL cluster.`));
    });
}
