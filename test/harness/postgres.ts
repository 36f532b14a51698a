// A throwaway PostgreSQL 15 cluster for integration tests: initdb as the postgres OS user, trust
// auth, fsync off, listening on 127.0.0.1 on a free port with its socket in its own temp dir.
// With a password, TCP connections (what an SSH tunnel from the fleet's sshd makes) must log in
// with SCRAM-SHA-256 as postgres with it, while the harness's own tools keep the trusted socket.
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, runTool } from './sshd';

const BIN = '/usr/lib/postgresql/15/bin';

/** A running test cluster. */
export interface TestPostgres {
  host: '127.0.0.1';
  port: number;
  user: 'postgres';
  dataDir: string;
  /** Directory holding the Unix socket (and the cluster's temp files). */
  socketDir: string;
  /** `postgresql://postgres@127.0.0.1:<port>/<db>`; over the socket (no password) when TCP asks for one. */
  connectionString(db?: string): string;
  /** Runs SQL with psql (stop on first error) and returns its unaligned, tuples-only output. */
  psql(sql: string, db?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Options of {@link startPostgres}. */
export interface PostgresOptions {
  /** postgres's password: TCP logins (host all all 127.0.0.1/32) then need it, by scram-sha-256; the socket stays trusted. */
  password?: string;
}

/** Starts a new cluster; stop it in afterAll. */
export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-pg-'));
  const dataDir = path.join(dir, 'data');
  const { uid, gid } = await postgresIds();
  // initdb refuses to run as root; the postgres user must own everything it writes.
  await chown(dir, uid, gid);
  const asPostgres = (args: string[]): Promise<string> => runTool('runuser', ['-u', 'postgres', '--', ...args], { cwd: dir });
  try {
    const password = options.password;
    if (password === undefined) {
      await asPostgres([`${BIN}/initdb`, '-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
    } else {
      // initdb reads the superuser's password from a file (never an argument); gone once it has.
      const pwfile = path.join(dir, 'pwfile');
      await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
      await chown(pwfile, uid, gid);
      try {
        await asPostgres([`${BIN}/initdb`, '-D', dataDir, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwfile}`, '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
      } finally {
        await rm(pwfile, { force: true });
      }
    }
    const port = await startCluster(asPostgres, dataDir, dir);
    const host = password === undefined ? '127.0.0.1' : dir;
    const server: TestPostgres = {
      host: '127.0.0.1',
      port,
      user: 'postgres',
      dataDir,
      socketDir: dir,
      connectionString: (db = 'postgres') => (password === undefined ? `postgresql://postgres@127.0.0.1:${port}/${db}` : `postgresql://postgres@/${db}?host=${encodeURIComponent(dir)}&port=${port}`),
      psql: (sql, db = 'postgres') =>
        runTool(`${BIN}/psql`, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port), '-U', 'postgres', '-d', db, '-f', '-'], { input: sql }),
      async stop() {
        await asPostgres([`${BIN}/pg_ctl`, '-D', dataDir, '-m', 'fast', '-w', 'stop']);
        await rm(dir, { recursive: true, force: true });
      },
    };
    return server;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function startCluster(asPostgres: (args: string[]) => Promise<string>, dataDir: string, dir: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const settings = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off -c full_page_writes=off -c synchronous_commit=off`;
    try {
      await asPostgres([`${BIN}/pg_ctl`, '-D', dataDir, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '30', '-o', settings, 'start']);
      return port;
    } catch (error) {
      // The port may have been taken by another worker between the probe and the bind.
      if (attempt >= 4) throw error;
    }
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const line = await runTool('getent', ['passwd', 'postgres']);
  const [, , uid, gid] = line.trim().split(':');
  if (uid === undefined || gid === undefined) throw new Error('the postgres OS user does not exist (apt-get install postgresql)');
  return { uid: Number(uid), gid: Number(gid) };
}
