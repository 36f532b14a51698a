// The DBackup part of the test fleet: a real PostgreSQL 15 with two databases, and a real OpenSSH
// sshd whose login user's home holds a DBackup storage destination, filled at test time the way
// DBackup's runner fills one (test/fleet/dbackup/writer.ts): real `pg_dump -F c -Z 6` dumps,
// gzip, AES-256-GCM with a random profile key, a sidecar per file.
//
//   ~/dbackup-<id>/Loomio DB/Loomio_DB_<time>.sql.gz.enc (+ .meta.json)     one database
//   ~/dbackup-<id>/Loomio All DBs/Loomio_All_DBs_<time>.tar.gz.enc (+ …)     multi-DB TAR v1
//   ~/dbackup-<id>/config-backups/config_backup_<time>.json.gz.enc (+ …)     config backup
//   ~/dbackup-<id>/.dbackup/storage-stats.json                               internal, hidden
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { InstallationInput } from '../../../src/shared/installations';
import { startPostgres, type TestPostgres } from '../../harness/postgres';
import { runTool, startSshd, type TestSshd } from '../../harness/sshd';
import { SAMPLES } from './archives';
import { ALL_PERMISSIONS, startFakeDbackup, type FakeDbackup, type FakeDbackupOptions } from './server';
import { configFileName, configSidecar, databaseSidecar, dbackupFileName, encodePayload, multiDbTar, sidecarText } from './writer';

const PG_DUMP = '/usr/lib/postgresql/15/bin/pg_dump';
const PG_RESTORE = '/usr/lib/postgresql/15/bin/pg_restore';

/** Options of {@link startDbackupFleet}. */
export interface DbackupFleetOptions {
  name?: string;
  /** Reuse a running sshd (its user's home holds the destination) instead of starting one. */
  sshd?: TestSshd;
  /** postgres's password: logins over TCP (through the SSH server) then need it. */
  postgresPassword?: string;
}

/** A running DBackup fleet member. */
export interface DbackupFleet {
  sshd: TestSshd;
  postgres: TestPostgres;
  /** The destination's root on the SSH host. */
  destinationDir: string;
  /** The Encryption Profile's master key (64 hex) and id. */
  keyHex: string;
  profileId: string;
  /** What to pass to `installations:add` (without the key). */
  installation: InstallationInput;
  /** Remote ids (paths under the destination) of the backups made at start. */
  seeded: { singleDb: string; multiDb: string; config: string };
  /** Makes a new single-database backup now, as a scheduled run would; returns its remote id. */
  backupNow(): Promise<string>;
  /** Flips one byte of a stored backup (its size and sidecar stay). */
  corrupt(remoteId: string): Promise<void>;
  /** Reads a stored file (or sidecar) as the server has it. */
  read(remoteId: string): Promise<Buffer>;
  stop(): Promise<void>;
}

/** `pg_dump -F c -Z 6` of one database, as DBackup's postgres adapter runs it by default. */
export function pgDump(postgres: TestPostgres, database: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(PG_DUMP, ['-F', 'c', '-Z', '6', `--dbname=${postgres.connectionString(database)}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`pg_dump ${database} exited with ${code}: ${stderr}`))));
  });
}

/** Starts PostgreSQL (and sshd unless given), seeds the databases and the destination. */
export async function startDbackupFleet(options: DbackupFleetOptions = {}): Promise<DbackupFleet> {
  const ownSshd = !options.sshd;
  const [sshd, postgres] = await Promise.all([options.sshd ?? startSshd(), startPostgres(options.postgresPassword === undefined ? {} : { password: options.postgresPassword })]);
  const destinationDir = path.join(sshd.homeDir, `dbackup-${process.pid}-${randomBytes(3).toString('hex')}`);
  try {
    await postgres.psql('CREATE DATABASE loomio_production; CREATE DATABASE analytics;');
    await postgres.psql(`CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);
      CREATE TABLE discussions (id serial PRIMARY KEY, title text, author_id int REFERENCES users(id));
      INSERT INTO users (email) SELECT 'user' || g || '@example.org' FROM generate_series(1, 200) g;
      INSERT INTO discussions (title, author_id) SELECT 'Topic ' || g, 1 + g % 200 FROM generate_series(1, 500) g;`, 'loomio_production');
    await postgres.psql(`CREATE TABLE page_views (id bigserial PRIMARY KEY, path text, at timestamptz DEFAULT now());
      INSERT INTO page_views (path) SELECT '/p/' || g FROM generate_series(1, 300) g;`, 'analytics');

    const key = randomBytes(32);
    const profileId = `cmfleet${randomBytes(8).toString('hex')}`;
    const { uid, gid } = await ownerOf(sshd.user);
    const own = async (file: string): Promise<void> => {
      await runTool('chown', [`${uid}:${gid}`, file]);
    };
    const put = async (relative: string, content: Buffer | string): Promise<void> => {
      const file = path.join(destinationDir, relative);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content, { mode: 0o600 });
    };
    let clock = Date.UTC(2026, 10, 24, 2, 0, 0);
    const nextTime = (): Date => new Date((clock += 3_600_000));

    const backupSingle = async (): Promise<string> => {
      const at = nextTime();
      const dump = await pgDump(postgres, 'loomio_production');
      const fileName = dbackupFileName('Loomio DB', at, 'sql', 'GZIP', true);
      const encoded = encodePayload(dump, { compression: 'GZIP', key });
      // The sidecar first, then the file, as 03-upload.ts uploads them.
      await put(`Loomio DB/${fileName}.meta.json`, sidecarText(databaseSidecar({ jobName: 'Loomio DB', databases: ['loomio_production'], engineVersion: '15', at, fileName, compression: 'GZIP', profileId }, encoded)));
      await put(`Loomio DB/${fileName}`, encoded.stored);
      return `Loomio DB/${fileName}`;
    };

    await mkdir(destinationDir, { recursive: true, mode: 0o700 });
    const singleDb = await backupSingle();
    const multiAt = nextTime();
    const tar = await multiDbTar([{ name: 'loomio_production', dump: await pgDump(postgres, 'loomio_production') }, { name: 'analytics', dump: await pgDump(postgres, 'analytics') }], { engineVersion: '15' });
    const multiName = dbackupFileName('Loomio All DBs', multiAt, 'tar', 'GZIP', true);
    const multiEncoded = encodePayload(tar, { compression: 'GZIP', key });
    await put(`Loomio All DBs/${multiName}.meta.json`, sidecarText(databaseSidecar({ jobName: 'Loomio All DBs', databases: ['loomio_production', 'analytics'], at: multiAt, fileName: multiName, compression: 'GZIP', profileId, multiDb: true }, multiEncoded)));
    await put(`Loomio All DBs/${multiName}`, multiEncoded.stored);
    const configAt = nextTime();
    const configName = configFileName(configAt, true);
    const configEncoded = encodePayload(SAMPLES.configPlain.plaintext, { compression: 'GZIP', key });
    await put(`config-backups/${configName}.meta.json`, sidecarText(configSidecar(configName, configEncoded, configAt, profileId)));
    await put(`config-backups/${configName}`, configEncoded.stored);
    await put('.dbackup/storage-stats.json', '{"files": 3}');
    await runTool('chown', ['-R', `${uid}:${gid}`, destinationDir]);

    return {
      sshd,
      postgres,
      destinationDir,
      keyHex: key.toString('hex'),
      profileId,
      installation: {
        name: options.name ?? 'DBackup (fleet)',
        app: 'dbackup',
        ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint },
        settings: { destinationDir },
      },
      seeded: { singleDb, multiDb: `Loomio All DBs/${multiName}`, config: `config-backups/${configName}` },
      async backupNow() {
        const made = await backupSingle();
        await runTool('chown', ['-R', `${uid}:${gid}`, path.join(destinationDir, 'Loomio DB')]);
        return made;
      },
      async corrupt(remoteId) {
        const file = path.join(destinationDir, remoteId);
        const bytes = await readFile(file);
        bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
        await writeFile(file, bytes);
        await own(file);
      },
      read: (remoteId) => readFile(path.join(destinationDir, remoteId)),
      async stop() {
        await rm(destinationDir, { recursive: true, force: true });
        await Promise.all([ownSshd ? sshd.stop() : Promise.resolve(), postgres.stop()]);
      },
    };
  } catch (error) {
    await rm(destinationDir, { recursive: true, force: true });
    await Promise.allSettled([ownSshd ? sshd.stop() : Promise.resolve(), postgres.stop()]);
    throw error;
  }
}

/** DBackup's Postgres restore: `pg_restore --clean --if-exists --no-owner --no-acl`, the dump on stdin. */
function pgRestore(postgres: TestPostgres, database: string, dump: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(PG_RESTORE, ['--clean', '--if-exists', '--no-owner', '--no-acl', `--dbname=${postgres.connectionString(database)}`], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`pg_restore into ${database} exited with ${code}: ${stderr.trim().slice(-500)}`))));
    child.stdin.end(dump);
  });
}

/** The fake DBackup API over a fleet's destination, and ids to configure installations with. */
export interface DbackupApiFleet {
  api: FakeDbackup;
  storageId: string;
  sourceId: string;
  jobId: string;
  /** An installation input over HTTPS (and SSH too, for `hybrid`), with a key of these permissions. */
  installation(name: string, options?: { permissions?: readonly string[]; hybrid?: boolean }): InstallationInput;
}

/** Starts the fake API: storage = the fleet's destination, source = its PostgreSQL, job = backupNow. */
export async function startDbackupApi(fleet: DbackupFleet, limits?: FakeDbackupOptions['limits']): Promise<DbackupApiFleet> {
  const storageId = 'cmstoragesftp01';
  const sourceId = 'cmsourcepg0001';
  const jobId = 'cmjobloomiodb01';
  const api = await startFakeDbackup({
    storages: [{ id: storageId, name: 'Fleet SFTP', rootDir: fleet.destinationDir }],
    sources: [{ id: sourceId, name: 'Loomio Postgres', adapterId: 'postgres', restore: (database, dump) => pgRestore(fleet.postgres, database, dump) }],
    jobs: [{ id: jobId, name: 'Loomio DB', run: () => fleet.backupNow() }],
    profiles: { [fleet.profileId]: fleet.keyHex },
    ...(limits ? { limits } : {}),
  });
  return {
    api,
    storageId,
    sourceId,
    jobId,
    installation(name, options = {}) {
      const token = api.issueKey(name, options.permissions ?? ALL_PERMISSIONS);
      return {
        name,
        app: 'dbackup',
        https: { baseUrl: api.url, auth: 'bearer', pinnedCertSha256: api.certSha256 },
        ...(options.hybrid ? { ssh: fleet.installation.ssh! } : {}),
        settings: { storageIds: storageId, jobId, targetSourceId: sourceId, ...(options.hybrid ? { destinationDir: fleet.destinationDir } : {}) },
        secrets: { 'api-token': token },
      };
    },
  };
}

async function ownerOf(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([runTool('id', ['-u', user]), runTool('id', ['-g', user])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}
