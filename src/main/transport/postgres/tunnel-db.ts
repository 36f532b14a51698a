/**
 * An app's PostgreSQL as Lifeboat sees it through the SSH connection: a `pg` client on a
 * `direct-tcpip` channel (no local port is opened), live tables and row counts, advisory locks.
 */
import pg from 'pg';
import { LifeboatError } from '../../../shared/errors';
import type { SshSession } from '../ssh/session';

/** Where the database is, as seen from the SSH server. */
export interface TunnelDbAddress {
  host: string;
  port: number;
  database: string;
  user: string;
  /** The stored password; null when none is (then the server must not ask for one). */
  password: string | null;
  /** Where the password is kept, to name in errors: the installation and its secret slot. */
  passwordFrom: { installation: string; slot: string };
  /** What this database is to the installation, for messages ("drill database"); "database" when not given. */
  role?: string;
}

/** SQLSTATE invalid_password: the server refused the password (any method: scram, md5, cleartext). */
const INVALID_PASSWORD = '28P01';

/** A table of the live database. */
export interface LiveTable {
  schema: string;
  name: string;
}

/** An open connection to the target database; `close` ends it (and releases session locks). */
export class TunnelDb {
  private constructor(
    readonly client: pg.Client,
    readonly address: TunnelDbAddress,
  ) {}

  /**
   * Connects through the SSH session with the stored password only: never PGPASSWORD or a
   * ~/.pgpass of Lifeboat's own environment, which belong to no installation. SECRET_REQUIRED
   * when the server asks for a password and none is stored, DATABASE_AUTH_FAILED when it refuses
   * the stored one (both name the slot, host, port and user), SSH_CONNECTION_REFUSED otherwise.
   */
  static async connect(session: SshSession, address: TunnelDbAddress): Promise<TunnelDb> {
    const where = `The ${address.role ?? 'database'} at ${address.host}:${address.port} (PostgreSQL, seen from the SSH server)`;
    const details = { host: address.host, port: address.port, user: address.user, database: address.database, purpose: address.passwordFrom.slot, installation: address.passwordFrom.installation };
    const channel = await session.forwardOut(address.host, address.port);
    const client = new pg.Client({
      stream: () => channel,
      user: address.user,
      database: address.database,
      // A function is asked only when the server wants a password, and keeps pg from its env and pgpass fallbacks.
      password: () => {
        if (address.password !== null) return address.password;
        throw new LifeboatError('SECRET_REQUIRED', `${where} asks for the password of user ${address.user}, and "${address.passwordFrom.installation}" has none in its secret slot ${address.passwordFrom.slot}; edit the installation to enter it.`, { details });
      },
      application_name: 'lifeboat',
    });
    // A dropped tunnel surfaces here; without a listener pg's 'error' would crash the process.
    client.on('error', () => channel.destroy());
    try {
      await client.connect();
    } catch (error) {
      channel.destroy();
      if (error instanceof LifeboatError) throw error;
      if ((error as { code?: unknown }).code === INVALID_PASSWORD) {
        throw new LifeboatError('DATABASE_AUTH_FAILED', `${where} refused the password of user ${address.user} (database ${address.database}) that "${address.passwordFrom.installation}" keeps in its secret slot ${address.passwordFrom.slot}; edit the installation to enter the right one.`, { details, cause: error });
      }
      throw new LifeboatError('SSH_CONNECTION_REFUSED', `Could not log in to database ${address.database} as ${address.user} at ${address.host}:${address.port} (seen from the SSH server): ${(error as Error).message}`, {
        cause: error,
        details: { host: address.host, port: address.port, database: address.database },
      });
    }
    return new TunnelDb(client, address);
  }

  /** Ordinary and partitioned tables outside the system schemas. */
  async tables(): Promise<LiveTable[]> {
    const result = await this.client.query<{ schema: string; name: string }>(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
       ORDER BY 1, 2`,
    );
    return result.rows;
  }

  /** Exact row count of a table. */
  async countRows(table: LiveTable): Promise<number> {
    const result = await this.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(table.schema)}.${quoteIdent(table.name)}`);
    return Number(result.rows[0]?.n ?? 0);
  }

  /** True when the logged-in role is a superuser (needed to skip foreign-key triggers). */
  async isSuperuser(): Promise<boolean> {
    const result = await this.client.query<{ s: boolean }>(`SELECT rolsuper AS s FROM pg_roles WHERE rolname = current_user`);
    return result.rows[0]?.s === true;
  }

  /** `SHOW server_version`, e.g. `16.4 (Debian …)`. */
  async serverVersion(): Promise<string> {
    const result = await this.client.query<{ server_version: string }>('SHOW server_version');
    return result.rows[0]?.server_version ?? '';
  }

  /** Takes an advisory lock (a bigint SQL expression, e.g. `hashtext('app:backup')`) for this session; false when another holds it. */
  async tryAdvisoryLock(keySql: string): Promise<boolean> {
    const result = await this.client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${keySql}) AS ok`);
    return result.rows[0]?.ok === true;
  }

  /** Releases an advisory lock taken by this session. */
  async releaseAdvisoryLock(keySql: string): Promise<void> {
    await this.client.query(`SELECT pg_advisory_unlock(${keySql})`);
  }

  /** Whether any session holds the advisory lock right now (without taking it). */
  async advisoryLockHeld(keySql: string): Promise<boolean> {
    const result = await this.client.query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted
         AND ((classid::bigint << 32) | objid::bigint) = (${keySql})::bigint) AS held`,
    );
    return result.rows[0]?.held === true;
  }

  /**
   * Deletes every row of the given tables in one transaction with foreign-key triggers off
   * (`session_replication_role = replica`, superuser only), so other tables keep their rows.
   */
  async emptyTables(tables: LiveTable[]): Promise<void> {
    await this.client.query('BEGIN');
    try {
      await this.client.query('SET LOCAL session_replication_role = replica');
      for (const table of tables) await this.client.query(`DELETE FROM ${quoteIdent(table.schema)}.${quoteIdent(table.name)}`);
      await this.client.query('COMMIT');
    } catch (error) {
      await this.client.query('ROLLBACK');
      throw error;
    }
  }

  /** Ends the connection (session locks go with it). */
  async close(): Promise<void> {
    await this.client.end();
  }
}

/** Quotes an SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
