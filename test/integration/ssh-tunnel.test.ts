// PostgreSQL through SSH forwarding, against a real sshd and a real PostgreSQL 15: both the
// in-process channel handed to pg as its stream and the 127.0.0.1 listener (ssh -L).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import { connectSsh } from '../../src/main/transport/ssh/client';
import type { SshSession } from '../../src/main/transport/ssh/session';
import { startPostgres } from '../harness/postgres';
import type { TestPostgres } from '../harness/postgres';
import { freePort, startSshd } from '../harness/sshd';
import type { TestSshd } from '../harness/sshd';

let sshd: TestSshd;
let postgres: TestPostgres;
let session: SshSession;

beforeAll(async () => {
  [sshd, postgres] = await Promise.all([startSshd(), startPostgres()]);
  await postgres.psql(`CREATE DATABASE fleet; `);
  await postgres.psql(`CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 20000) g;`, 'fleet');
  session = await connectSsh(
    { host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint },
    { homeDir: sshd.dir, sshConfigFile: null },
  );
});

afterAll(async () => {
  await session?.close();
  await Promise.all([sshd?.stop(), postgres?.stop()]);
});

/** What a promise rejects with (a resolution fails the test). */
const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => Promise.reject(new Error('expected the call to fail')),
    (error: unknown) => error,
  );

describe('pg through SSH', () => {
  it('queries over a forwarded channel used directly as the pg stream', async () => {
    const stream = await session.forwardOut('127.0.0.1', postgres.port);
    const client = new pg.Client({ stream: () => stream, user: 'postgres', database: 'fleet' });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string; last: string }>('SELECT count(*) AS n, max(body) FILTER (WHERE id = 20000) AS last FROM notes');
      expect(rows[0]).toEqual({ n: '20000', last: 'note 20000' });
      const big = await client.query('SELECT g, repeat($1, 50) AS pad FROM generate_series(1, 50000) g', ['x']);
      expect(big.rowCount).toBe(50000);
    } finally {
      await client.end();
    }
  });

  it('queries through a local 127.0.0.1 tunnel, two clients at once, and refuses after close', async () => {
    const tunnel = await session.openTunnel('127.0.0.1', postgres.port);
    expect(tunnel.localHost).toBe('127.0.0.1');
    const clients = [0, 1].map(() => new pg.Client({ host: tunnel.localHost, port: tunnel.localPort, user: 'postgres', database: 'fleet' }));
    await Promise.all(clients.map((c) => c.connect()));
    const results = await Promise.all(clients.map((c, i) => c.query<{ body: string }>('SELECT body FROM notes WHERE id = $1', [i + 1])));
    expect(results.map((r) => r.rows[0]?.body)).toEqual(['note 1', 'note 2']);
    await Promise.all(clients.map((c) => c.end()));
    await tunnel.close();
    const late = new pg.Client({ host: tunnel.localHost, port: tunnel.localPort, user: 'postgres', database: 'fleet', connectionTimeoutMillis: 2000 });
    expect(String(await failure(late.connect()))).toMatch(/ECONNREFUSED/);
  });

  it('reports a target the server cannot reach', async () => {
    const closedPort = await freePort();
    const error = await failure(session.forwardOut('127.0.0.1', closedPort));
    expect(error).toBeInstanceOf(LifeboatError);
    expect((error as LifeboatError).code).toBe('SSH_CONNECTION_REFUSED');

    const tunnel = await session.openTunnel('127.0.0.1', closedPort);
    const client = new pg.Client({ host: tunnel.localHost, port: tunnel.localPort, user: 'postgres', connectionTimeoutMillis: 5000 });
    expect(await failure(client.connect())).toBeInstanceOf(Error);
    expect(tunnel.lastError?.code).toBe('SSH_CONNECTION_REFUSED');
    await tunnel.close();
  });
});
