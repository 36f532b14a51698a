/**
 * Where a PostgreSQL drill restores: a throwaway database that is never production, either in a
 * temporary local cluster (local-postgres.ts) or on the installation's own server
 * (server-postgres.ts). The drill engine creates, restores, counts and drops through this seam.
 */
import { Readable } from 'node:stream';
import { LifeboatError } from '../../shared/errors';
import type { LocalCluster, ToolRun } from './local-postgres';

export interface ScratchTarget {
  /** Where the drill restored, in words, for the stored result. */
  describe(databases: string[]): string;
  create(database: string): Promise<void>;
  /** Runs pg_restore or psql (with the given options) into the scratch database, reading the dump on stdin. */
  restore(database: string, tool: 'pg_restore' | 'psql', args: string[], input: Readable, signal: AbortSignal): Promise<ToolRun>;
  /** Rows per table in the scratch database; a table that is not there is left out. */
  countRows(database: string, tables: string[]): Promise<Map<string, number>>;
  /** Drops the scratch database; throws when it could not be dropped. */
  drop(database: string): Promise<void>;
  close(): Promise<void>;
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** A temporary local cluster as a drill target (removed by `close`). */
export function localScratch(cluster: LocalCluster): ScratchTarget {
  return {
    describe: (databases) => `temporary local PostgreSQL ${cluster.major} cluster (removed afterwards), database ${databases.join(', ')}`,
    async create(database) {
      const done = await cluster.tool('createdb', [database]);
      if (done.code !== 0) throw new LifeboatError('DRILL_UNAVAILABLE', `createdb ${database} failed in the drill's temporary cluster: ${done.stderr.trim().slice(-500)}`);
    },
    restore: (database, tool, args, input, signal) => cluster.tool(tool, [...args, '-d', database], { input, signal }),
    async countRows(database, tables) {
      const counts = new Map<string, number>();
      for (const table of tables) {
        const dot = table.indexOf('.');
        const relation = dot > 0 ? `${quoteIdent(table.slice(0, dot))}.${quoteIdent(table.slice(dot + 1))}` : quoteIdent(table);
        const run = await cluster.tool('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', database, '-f', '-'], { input: Readable.from([`SELECT count(*) FROM ${relation};\n`]) });
        if (run.code === 0) counts.set(table, Number(run.stdout.trim()));
      }
      return counts;
    },
    async drop(database) {
      const done = await cluster.tool('dropdb', ['--if-exists', database]);
      if (done.code !== 0) throw new LifeboatError('DRILL_FAILED', `dropdb ${database} failed: ${done.stderr.trim().slice(-300)}`);
    },
    close: () => cluster.stop(),
  };
}
