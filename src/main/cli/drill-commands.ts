import type { Command } from 'commander';
import type { DrillResult } from '../../shared/drills';
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
}
