// On-server restore drills against PostgreSQL clusters that ask for passwords (scram-sha-256 for
// every TCP login, which is what the SSH tunnel from a fleet's sshd makes), with the password in
// the real keychain (the test keyring): DBackup's drill database (slot drill-database-password)
// and Weavestream's own database (slot database-password, the code path Loomio shares). The right
// password passes (row counts as in the archive, the scratch database gone from pg_database);
// none stored or a wrong one fails typed before anything is created or run, naming the slot, the
// installation, host:port and user, never the password. A PGPASSWORD in Lifeboat's own
// environment that would make the drill end otherwise is set in each case (a wrong one beside the
// right stored one, the right one beside none or a wrong one): the drill must use the keychain's.
// pg_restore and psql are wrapped (LIFEBOAT_PG_BINDIR) by scripts that write down what they were
// started with and every command line on the machine at that moment, then exec the real tools.
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillResult } from '../../src/shared/drills';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import { keySlot } from '../../src/main/apps/dbackup/keys';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { runTool } from '../../src/main/drills/local-postgres';
import { startDbackupCore, type DbackupTestCore } from '../fleet/dbackup/core';
import { startDbackupFleet, type DbackupFleet } from '../fleet/dbackup/fleet';
import { startLoomioFleet, type LoomioFleet } from '../fleet/loomio/fleet';
import { startWeavestreamFleet, type WeavestreamFleet } from '../fleet/weavestream/fleet';
import type { TestPostgres } from '../harness/postgres';
import { testSecret } from '../harness/secrets';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const PASSWORD = testSecret('drill-db');
const WRONG = testSecret('drill-db-wrong');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

let fleet: DbackupFleet;
let weavestream: WeavestreamFleet;
let loomio: LoomioFleet;
let t: DbackupTestCore;
let wrapDir: string;
let runsDir: string;
const saved = { bindir: process.env.LIFEBOAT_PG_BINDIR, pgpassword: process.env.PGPASSWORD };

beforeAll(async () => {
  [fleet, weavestream, loomio] = await Promise.all([
    startDbackupFleet({ name: 'DBackup (drill with password)', postgresPassword: PASSWORD }),
    startWeavestreamFleet({ name: 'Weavestream (drill with password)', postgresPassword: PASSWORD, seedDumps: 1 }),
    startLoomioFleet({ name: 'Loomio (drill with password)', postgresPassword: PASSWORD }),
  ]);
  t = await startDbackupCore('drill-password', { keychain: true });
  expect(t.core.secrets().status().kind).toBe('keychain');
  t.core.sessionKeys.provide(keySlot(fleet.profileId), fleet.keyHex);
  wrapDir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-pg-wrap-'));
  runsDir = path.join(wrapDir, 'runs');
  await mkdir(runsDir);
  for (const tool of ['pg_restore', 'psql']) {
    const script = [
      '#!/bin/sh',
      // One file per run: ps lists other people's processes too, so nothing in it can mark where a run ends.
      `{ echo "${tool}"; printf 'argv: %s\\n' "$*"; printf 'pgpassword-sha256: %s\\n' "$(printf %s "\${PGPASSWORD-}" | sha256sum | cut -d' ' -f1)"; printf 'pgpassfile: %s\\n' "\${PGPASSFILE-}"; echo 'processes:'; ps -eo args; } > "$(mktemp ${runsDir}/run.XXXXXX)"`,
      `exec ${PG_BIN}/${tool} "$@"`,
      '',
    ].join('\n');
    await writeFile(path.join(wrapDir, tool), script);
    await chmod(path.join(wrapDir, tool), 0o755);
  }
  process.env.LIFEBOAT_PG_BINDIR = wrapDir;
}, 120_000);

afterAll(async () => {
  if (saved.bindir === undefined) delete process.env.LIFEBOAT_PG_BINDIR;
  else process.env.LIFEBOAT_PG_BINDIR = saved.bindir;
  if (saved.pgpassword === undefined) delete process.env.PGPASSWORD;
  else process.env.PGPASSWORD = saved.pgpassword;
  await t?.core.close();
  await Promise.all([fleet?.stop(), weavestream?.stop(), loomio?.stop()]);
  if (wrapDir) await rm(wrapDir, { recursive: true, force: true });
});

/** An app whose on-server drill logs in to a password-protected cluster. */
interface Target {
  app: string;
  slot: string;
  /** What messages call the database the drill logs in to. */
  role: string;
  /** The tool the drill restores its dump with. */
  tool: 'pg_restore' | 'psql';
  postgres: () => TestPostgres;
  /** Adds an installation drilled on its server, with these secrets. */
  add(name: string, secrets: Record<string, string>): Promise<Installation>;
  /** The remote backup to pull and drill. */
  remoteId(installation: Installation): Promise<string>;
  /** Rows per table of what that backup holds (production has not changed since). */
  rows(): Promise<Record<string, number>>;
}

async function drilledOnServer(installation: Installation): Promise<Installation> {
  await t.client().call('drills:settings', { installationId: installation.id, set: { onServer: true, freeSpacePath: os.tmpdir(), keepFreeBytes: 1024 * 1024 } });
  return installation;
}

/** Rows per public table, named as the drill names them. */
const publicRows = (counts: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(counts).map(([table, n]) => [`public.${table}`, n]));

const DBACKUP: Target = {
  app: 'DBackup',
  slot: 'drill-database-password',
  role: 'drill database',
  tool: 'pg_restore',
  postgres: () => fleet.postgres,
  add: async (name, secrets) => {
    const drill = { drillDatabaseHost: '127.0.0.1', drillDatabasePort: fleet.postgres.port, drillDatabaseName: 'loomio_production', drillDatabaseUser: 'postgres' };
    return drilledOnServer(await t.client().call('installations:add', { ...fleet.installation, name, settings: { ...fleet.installation.settings, ...drill }, secrets }));
  },
  remoteId: async () => fleet.seeded.singleDb,
  rows: async () => ({ 'public.users': 200, 'public.discussions': 500 }),
};

const WEAVESTREAM: Target = {
  app: 'Weavestream',
  slot: 'database-password',
  role: 'database',
  tool: 'pg_restore',
  postgres: () => weavestream.postgres,
  add: async (name, secrets) => drilledOnServer(await t.client().call('installations:add', { ...weavestream.installation, name, secrets })),
  remoteId: async (installation) => (await t.client().call('apps:list-remote', { installationId: installation.id }))[0]!.id,
  rows: async () => publicRows(await weavestream.counts()),
};

const LOOMIO: Target = {
  app: 'Loomio',
  slot: 'database-password',
  role: 'database',
  tool: 'psql',
  postgres: () => loomio.postgres,
  add: async (name, secrets) => drilledOnServer(await t.client().call('installations:add', { ...loomio.installation, name, secrets: { ...loomio.installation.secrets, ...secrets } })),
  remoteId: async (installation) => (await t.client().call('apps:list-remote', { installationId: installation.id })).find((r) => r.id.includes(loomio.seeded.daily))!.id,
  rows: async () => publicRows(await loomio.counts()),
};

const TARGETS = [DBACKUP, WEAVESTREAM, LOOMIO];

async function drill(target: Target, installation: Installation): Promise<{ record: JobRecord; result: DrillResult }> {
  const pull = await t.job<PullResult>(t.client().call('apps:pull', { installationId: installation.id, remoteId: await target.remoteId(installation) }));
  expect(pull.record.status, JSON.stringify(pull.record.error)).toBe('succeeded');
  return t.job<DrillResult>(t.client().call('drills:run', { snapshotId: pull.result.snapshotId }));
}

const scratchDatabases = async (target: Target): Promise<string> => (await target.postgres().psql(`SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'lifeboat_drill%';`)).trim();

/** Neither password is in any file of Lifeboat's home (settings, jobs, logs, audit, drill results, vault). */
async function expectNoPasswordInHome(): Promise<void> {
  const entries = await readdir(t.core.home.root, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  expect(files.length).toBeGreaterThan(3);
  for (const file of files) {
    const bytes = await readFile(file);
    expect(bytes.includes(PASSWORD), file).toBe(false);
    expect(bytes.includes(WRONG), file).toBe(false);
  }
}

/** What the wrapped tools wrote down since the last call, one entry per run (first line: the tool). */
async function toolRuns(): Promise<string[]> {
  const files = (await readdir(runsDir)).map((f) => path.join(runsDir, f));
  const runs = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  await Promise.all(files.map((f) => rm(f)));
  return runs;
}

it.each(TARGETS)('$app: the test cluster takes TCP logins only with the password: without it or with another they are refused', async (target) => {
  await expect(target.postgres().psql('SELECT 1;')).resolves.toBe('1\n');
  const tcp = (password: string | undefined) => runTool(`${PG_BIN}/psql`, ['-X', '-w', '-A', '-t', '-h', '127.0.0.1', '-p', String(target.postgres().port), '-U', 'postgres', '-c', 'SELECT 1'], { env: { PATH: process.env.PATH ?? '', PGPASSFILE: '/nonexistent', ...(password === undefined ? {} : { PGPASSWORD: password }) } });
  expect((await tcp(undefined)).stderr).toMatch(/no password supplied/);
  expect((await tcp(WRONG)).stderr).toMatch(/password authentication failed for user "postgres"/);
  expect((await tcp(PASSWORD)).code).toBe(0);
});

it('the Weavestream and Loomio servers\' own scripts log in with their .pgpass (the export the trigger runs, the stack\'s services and backup)', async () => {
  expect(await weavestream.exportNow()).toMatch(/^weavestream-postgres-.*\.dump$/);
  expect((await loomio.services()).hocuspocus).toBe(true);
  expect(await loomio.backupNow('manual', 'password-check')).toMatch(/^loomio-manual-.*\.sql\.enc$/);
});

describe.each(TARGETS)('$app drill on the server', (target) => {
  const { app, slot } = target;

  it('with the right password in the keychain restores, counts the rows and drops the scratch database; the password is never written or on a command line', async () => {
    const installation = await target.add(`${app} (right password)`, { [slot]: PASSWORD });
    expect(await t.core.registry.secret(installation.id, slot)).toBe(PASSWORD);
    process.env.PGPASSWORD = WRONG;
    await toolRuns();
    const { record, result } = await drill(target, installation);
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    expect(result.restorable, JSON.stringify(result.failure)).toBe(true);
    expect(Object.fromEntries(result.tables.map((x) => [x.table, x.restored]))).toEqual(await target.rows());
    expect(result.tables.every((x) => x.ok && x.restored === x.archive)).toBe(true);
    expect(result.checks.find((c) => c.id === 'scratch-dropped')).toMatchObject({ ok: true });
    expect(await scratchDatabases(target)).toBe('');
    const runs = await toolRuns();
    expect(runs.map((r) => r.split('\n')[0])).toEqual([target.tool]);
    const run = runs[0]!;
    // The keychain's password, in the tool's environment only; it was used: the restore passed a scram-sha-256 login.
    expect(run).toContain(`pgpassword-sha256: ${sha256(PASSWORD)}`);
    expect(run).toMatch(/^argv: .*-w .*-h 127\.0\.0\.1 -p \d+ -U postgres -d lifeboat_drill_/m);
    expect(run.includes(PASSWORD), 'a command line holds the password').toBe(false);
    expect(JSON.stringify(record).includes(PASSWORD)).toBe(false);
    await expectNoPasswordInHome();
  }, 120_000);

  /**
   * Drills a new installation with these secrets while PGPASSWORD holds the right password, and
   * expects the job to fail with `code` before anything ran or was created: the message names the
   * installation, the slot, host:port and user, never a password.
   */
  async function expectRefused(name: string, secrets: Record<string, string>, code: string, said: RegExp): Promise<void> {
    const installation = await target.add(name, secrets);
    process.env.PGPASSWORD = PASSWORD;
    await toolRuns();
    const { record } = await drill(target, installation);
    const { port } = target.postgres();
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code, message: expect.stringMatching(said), details: expect.objectContaining({ purpose: slot, host: '127.0.0.1', port, user: 'postgres' }) });
    for (const part of [`"${name}"`, `secret slot ${slot}`, `127.0.0.1:${port}`, 'user postgres']) expect(record.error!.message).toContain(part);
    expect(record.error!.message).not.toMatch(/SASL|SCRAM|client password must be a string|password authentication failed/);
    expect(await toolRuns()).toEqual([]);
    expect(await scratchDatabases(target)).toBe('');
    expect(JSON.stringify(record).includes(PASSWORD)).toBe(false);
    expect(JSON.stringify(record).includes(WRONG)).toBe(false);
    await expectNoPasswordInHome();
  }

  it('with no password stored fails SECRET_REQUIRED naming the slot and the installation, although PGPASSWORD holds the right one', async () => {
    await expectRefused(`${app} (no password)`, {}, 'SECRET_REQUIRED', new RegExp(`asks for the password .* has none in its secret slot ${slot}`));
  }, 120_000);

  it('with a wrong password fails DATABASE_AUTH_FAILED: the database refused it, naming host, port and user, never the password', async () => {
    await expectRefused(`${app} (wrong password)`, { [slot]: WRONG }, 'DATABASE_AUTH_FAILED', new RegExp(`^The ${target.role} at 127\\.0\\.0\\.1:\\d+ \\(PostgreSQL, seen from the SSH server\\) refused the password of user postgres `));
  }, 120_000);
});

it('a server that asks for the password in the scratch database only (pg_hba.conf by database): with none stored the drill fails SECRET_REQUIRED before pg_restore runs, and drops the scratch database', async () => {
  const hba = path.join(fleet.postgres.dataDir, 'pg_hba.conf');
  const original = await readFile(hba, 'utf8');
  await writeFile(hba, `host loomio_production postgres 127.0.0.1/32 trust\n${original}`);
  await fleet.postgres.psql('SELECT pg_reload_conf();');
  try {
    const installation = await DBACKUP.add('DBackup (drill database trusted)', {});
    process.env.PGPASSWORD = PASSWORD;
    await toolRuns();
    const { record } = await drill(DBACKUP, installation);
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'SECRET_REQUIRED', message: expect.stringMatching(/asks for the password of user postgres, and "DBackup \(drill database trusted\)" has none in its secret slot drill-database-password/), details: expect.objectContaining({ database: expect.stringMatching(/^lifeboat_drill_/) }) });
    expect(await toolRuns()).toEqual([]);
    expect(await scratchDatabases(DBACKUP)).toBe('');
    expect(JSON.stringify(record).includes(PASSWORD)).toBe(false);
  } finally {
    await writeFile(hba, original);
    await fleet.postgres.psql('SELECT pg_reload_conf();');
  }
}, 120_000);
