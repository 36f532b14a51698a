/**
 * A scratch database on the installation's own PostgreSQL server, for restore drills the operator
 * allowed there (DrillSettings.onServer). Everything goes through the installation's SSH
 * connection: a `pg` client on a forwarded channel creates and drops `lifeboat_drill_<id>` and
 * counts its rows; the local pg_restore / psql reach it through a 127.0.0.1 tunnel that is open only
 * while they run. Before anything is created, the server's free space (`df -Pk` over SSH, at the
 * data directory) must hold the database size estimate plus the bytes the operator keeps free;
 * otherwise DRILL_REFUSED says why. The production database is only read (its size), never written.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LifeboatError } from '../../shared/errors';
import type { DrillSettings } from '../../shared/drills';
import { shellQuote } from '../transport/ssh/exec';
import type { SshSession } from '../transport/ssh/session';
import { TunnelDb, quoteIdent, type TunnelDbAddress } from '../transport/postgres/tunnel-db';
import { runTool } from './local-postgres';
import type { ScratchTarget } from './scratch';

/** What the space check found, for the drill's checks. */
export interface SpaceCheck {
  path: string;
  availableBytes: number;
  estimateBytes: number;
  keepFreeBytes: number;
  detail: string;
}

const SCRATCH_NAME = /^lifeboat_drill_[a-z0-9_]{1,48}$/;

const mib = (n: number): string => `${(n / 1024 ** 2).toFixed(1)} MiB`;

/** Free bytes at a path on the server (`df -Pk`), as the SSH user sees it. */
async function freeBytes(session: SshSession, at: string, signal: AbortSignal): Promise<number> {
  const run = await session.exec(`df -Pk -- ${shellQuote(at)}`, { signal });
  const line = run.stdout.trim().split('\n')[1];
  const available = line ? Number(line.trim().split(/\s+/)[3]) : NaN;
  if (run.code !== 0 || !Number.isFinite(available)) {
    throw new LifeboatError('DRILL_REFUSED', `Refused to drill on the server: could not tell its free space at ${at} (df: ${run.stderr.trim().split('\n').pop() || `exit ${run.code}`}); set the drill's free-space path to the host folder of PostgreSQL's data.`);
  }
  return available * 1024;
}

/**
 * The database size estimate against the server's free space; DRILL_REFUSED (nothing created)
 * when the scratch database would leave less than `keepFreeBytes` free. The estimate is the larger
 * of the production database's size and the archive's size: a restore of its newest backup holds
 * about the rows production holds.
 */
export async function checkServerSpace(session: SshSession, admin: TunnelDb, settings: DrillSettings, archiveBytes: number, signal: AbortSignal): Promise<SpaceCheck> {
  const size = await admin.client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n');
  const production = Number(size.rows[0]?.n ?? 0);
  let at = settings.freeSpacePath;
  if (!at) {
    const dir = await admin.client.query<{ data_directory: string }>('SHOW data_directory').catch(() => null);
    at = dir?.rows[0]?.data_directory ?? null;
    if (!at) throw new LifeboatError('DRILL_REFUSED', `Refused to drill on the server: user ${admin.address.user} may not read PostgreSQL's data_directory, so its free space is unknown; set the drill's free-space path.`);
  }
  const available = await freeBytes(session, at, signal);
  const estimate = Math.max(production, archiveBytes);
  const detail = `about ${mib(estimate)} needed (database ${admin.address.database} is ${mib(production)}), ${mib(available)} free at ${at}, ${mib(settings.keepFreeBytes)} kept free`;
  if (available - estimate < settings.keepFreeBytes) {
    throw new LifeboatError('DRILL_REFUSED', `Refused to drill on the server: too little free space: ${detail}.`, { details: { path: at, availableBytes: available, estimateBytes: estimate, keepFreeBytes: settings.keepFreeBytes } });
  }
  return { path: at, availableBytes: available, estimateBytes: estimate, keepFreeBytes: settings.keepFreeBytes, detail };
}

/** Opens the server as a drill target; the admin connection is to the production database (read only). */
export async function openServerScratch(session: SshSession, address: TunnelDbAddress, binDir: string, admin: TunnelDb): Promise<ScratchTarget> {
  const tunnel = await session.openTunnel(address.host, address.port);
  // The stored password only, in the tools' environment (never on their command line); a PGPASSWORD
  // or PGPASSFILE of Lifeboat's own environment belongs to no installation and is not passed on.
  const env: NodeJS.ProcessEnv = { ...process.env, PGCONNECT_TIMEOUT: '30' };
  delete env.PGPASSWORD;
  delete env.PGPASSFILE;
  if (address.password !== null) env.PGPASSWORD = address.password;
  const connect = ['-w', '-h', tunnel.localHost, '-p', String(tunnel.localPort), '-U', address.user];
  const named = (database: string): string => {
    if (!SCRATCH_NAME.test(database)) throw new LifeboatError('INTERNAL', `${database} is not a scratch database name.`);
    return quoteIdent(database);
  };
  const serverVersion = await admin.serverVersion();
  return {
    describe: (databases) => `scratch database ${databases.join(', ')} on the installation's own PostgreSQL ${serverVersion.split(' ')[0]} at ${address.host}:${address.port} (seen from the SSH server), dropped afterwards`,
    async create(database) {
      await admin.client.query(`CREATE DATABASE ${named(database)}`);
      // A server may ask for a password in the new database only (pg_hba.conf by database): logging
      // in now fails typed, naming the secret slot, where pg_restore would print a raw libpq line.
      await (await TunnelDb.connect(session, { ...address, database })).close();
    },
    restore(database, tool, args, input: Readable, signal) {
      return runTool(path.join(binDir, tool), [...args, ...connect, '-d', database], { input, signal, env });
    },
    async countRows(database, tables) {
      const db = await TunnelDb.connect(session, { ...address, database });
      const counts = new Map<string, number>();
      try {
        for (const table of tables) {
          const dot = table.indexOf('.');
          const relation = dot > 0 ? { schema: table.slice(0, dot), name: table.slice(dot + 1) } : { schema: 'public', name: table };
          const n = await db.countRows(relation).catch(() => null);
          if (n !== null) counts.set(table, n);
        }
      } finally {
        await db.close().catch(() => undefined);
      }
      return counts;
    },
    async drop(database) {
      const name = named(database);
      // WITH (FORCE) ends a session the restore tool left behind (PostgreSQL 13+).
      await admin.client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => admin.client.query(`DROP DATABASE IF EXISTS ${name}`));
      const left = await admin.client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (left.rowCount) throw new LifeboatError('DRILL_FAILED', `The scratch database ${database} is still on the server.`);
    },
    async close() {
      await tunnel.close();
    },
  };
}
