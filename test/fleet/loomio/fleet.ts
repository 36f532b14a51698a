// The Loomio Pi stack member of the test fleet: a real PostgreSQL 15 with a Loomio-like database,
// and a real OpenSSH sshd whose login user's home holds a "stack directory":
//
//   ~/loomio-<id>/.env                          BACKUP_ENCRYPTION_KEY (random, like make init-env)
//   ~/loomio-<id>/data/production/backups/      HEAD backups: hourly, daily, weekly, manual (one
//                                               unencrypted .sql), a lingering restore_<epoch>.sql
//   ~/loomio-<id>/backups/                      a v1 loomio_backup_<ts>.sql.enc
//   ~/loomio-<id>/data/db_backup/               the Nov-2025 intermediate folder, one backup
//   ~/loomio-<id>/bin/loomio-compose            stands in for `docker compose stop|start <services>`:
//                                               records each call, and kills / restarts a
//                                               "hocuspocus" process that holds a DB connection
//   ~/loomio-<id>/bin/loomio-psql               stands in for `docker exec -i loomio-db psql`: the
//                                               real psql against the cluster
//   ~/loomio-<id>/bin/loomio-backup             stands in for `docker exec loomio-backup python3
//                                               backup.py`: the real pg_dump -F p --no-owner
//                                               --no-acl, then Fernet with openssl (an independent
//                                               implementation of what Python's cryptography does)
//
// Seed backups are made at start by the real pg_dump and encrypted by Lifeboat's own streaming
// Fernet encryptor (checked byte for byte against the stack's samples in the unit tests).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { InstallationInput } from '../../../src/shared/installations';
import { deriveFernetKey, fernetEncryptStream, type FernetKey } from '../../../src/main/formats/fernet';
import { LOOMIO_KDF } from '../../../src/main/apps/loomio/key';
import { startPostgres, type TestPostgres } from '../../harness/postgres';
import { runTool, startSshd, type TestSshd } from '../../harness/sshd';

const PG_BIN = '/usr/lib/postgresql/15/bin';
/** POSTGRES_DB, as the stack's .env has it. */
export const FLEET_LOOMIO_DATABASE = 'loomio_production';
/** The services the stack's restore stops. */
export const FLEET_SERVICES = ['app', 'worker', 'channels', 'hocuspocus'];

/** A running Loomio fleet member. */
export interface LoomioFleet {
  sshd: TestSshd;
  postgres: TestPostgres;
  stackDir: string;
  backupDir: string;
  /** BACKUP_ENCRYPTION_KEY of this stack. */
  passphrase: string;
  key: FernetKey;
  /** What to pass to `installations:add` (the key is among its secrets). */
  installation: InstallationInput;
  /** The names of the seeded backups, by what they are. */
  seeded: { hourly: string; daily: string; weekly: string; manual: string; unencrypted: string; v1: string; intermediate: string };
  /** Runs SQL in the Loomio database (unaligned, tuples only). */
  psql(sql: string, db?: string): Promise<string>;
  /** Row counts of every public table. */
  counts(): Promise<Record<string, number>>;
  /** The real pg_dump -F p --no-owner --no-acl of the database now. */
  dumpPlain(): Promise<Buffer>;
  /** Writes a backup file (encrypted with the stack's key unless told not to), owned by the SSH user. */
  writeBackup(relativePath: string, plaintext: Buffer, options?: { encrypt?: boolean; mtime?: Date }): Promise<void>;
  /** Writes any file as the SSH user owns it. */
  writeOwnedFile(file: string, content: string | Buffer): Promise<void>;
  /** Runs bin/loomio-backup as the SSH user (what the stack's cron does); returns the file name it wrote. */
  backupNow(tier: 'hourly' | 'daily' | 'weekly' | 'manual', reason?: string): Promise<string>;
  /** Lines of data/compose.log: each stop/start call, in order. */
  composeLog(): Promise<string[]>;
  /** Which services are running: app/worker/channels by their state files, hocuspocus by its live DB connection. */
  services(): Promise<Record<string, boolean>>;
  /** Names in a folder of the stack, sorted. */
  list(relativeDir: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** Options of {@link startLoomioFleet}. */
export interface LoomioFleetOptions {
  name?: string;
  /**
   * postgres's password: logins over TCP (Lifeboat's, through the SSH server) then need it; the
   * stack's own scripts read it from `<stackDir>/.pgpass`, as a real server keeps its own.
   */
  postgresPassword?: string;
}

/** Starts PostgreSQL and sshd, makes the database, the stack directory, the seed backups and the services. */
export async function startLoomioFleet(options: LoomioFleetOptions = {}): Promise<LoomioFleet> {
  const password = options.postgresPassword;
  const [sshd, postgres] = await Promise.all([startSshd(), startPostgres(password === undefined ? {} : { password })]);
  try {
    const owner = await ownerOf(sshd.user);
    const stackDir = path.join(sshd.homeDir, `loomio-${process.pid}-${randomBytes(3).toString('hex')}`);
    const backupDir = path.join(stackDir, 'data', 'production', 'backups');
    const passphrase = randomBytes(32).toString('hex');
    const key = await deriveFernetKey(passphrase, LOOMIO_KDF);
    const psql = (sql: string, db = FLEET_LOOMIO_DATABASE): Promise<string> => postgres.psql(sql, db);
    const chown = (...files: string[]): Promise<string> => runTool('chown', [`${owner.uid}:${owner.gid}`, ...files]);

    await postgres.psql(`CREATE DATABASE ${FLEET_LOOMIO_DATABASE};`);
    await psql(SCHEMA_SQL);
    for (const dir of ['data/production/backups', 'backups', 'data/db_backup', 'data/production/uploads/storage', 'bin', 'run']) await mkdir(path.join(stackDir, dir), { recursive: true, mode: 0o700 });
    await writeFile(path.join(stackDir, 'data/production/uploads/storage/avatar.png'), 'an uploaded file; never in a dump\n');
    await writeFile(path.join(stackDir, '.env'), `POSTGRES_DB=${FLEET_LOOMIO_DATABASE}\nPOSTGRES_USER=postgres\nBACKUP_ENCRYPTION_KEY=${passphrase}\n`, { mode: 0o600 });
    await writeFile(path.join(stackDir, 'fleet.env'), [
      `PG_BIN=${PG_BIN}`, 'PGHOST=127.0.0.1', `PGPORT=${postgres.port}`, 'PGUSER=postgres', `PGDATABASE=${FLEET_LOOMIO_DATABASE}`,
      // backup.py derives these from BACKUP_ENCRYPTION_KEY with PBKDF2; the shell script gets them ready-made.
      `FERNET_SIGNING_HEX=${key.signing.toString('hex')}`, `FERNET_ENCRYPTION_HEX=${key.encryption.toString('hex')}`,
      ...(password === undefined ? [] : [`export PGPASSFILE=${path.join(stackDir, '.pgpass')}`]), '',
    ].join('\n'));
    if (password !== undefined) await writeFile(path.join(stackDir, '.pgpass'), `127.0.0.1:${postgres.port}:*:postgres:${password}\n`, { mode: 0o600 });
    await writeFile(path.join(stackDir, 'bin', 'loomio-compose'), COMPOSE_SCRIPT, { mode: 0o755 });
    await writeFile(path.join(stackDir, 'bin', 'loomio-psql'), PSQL_SCRIPT, { mode: 0o755 });
    await writeFile(path.join(stackDir, 'bin', 'loomio-backup'), BACKUP_SCRIPT, { mode: 0o755 });

    const dumpPlain = (): Promise<Buffer> => pgDump(postgres);
    const writeOwnedFile = async (file: string, content: string | Buffer): Promise<void> => {
      await writeFile(file, content, { mode: 0o600 });
      await chown(file);
    };
    const writeBackup = async (relativePath: string, plaintext: Buffer, { encrypt = true, mtime }: { encrypt?: boolean; mtime?: Date } = {}): Promise<void> => {
      const file = path.join(stackDir, relativePath);
      await writeOwnedFile(file, encrypt ? await encryptWith(key, plaintext) : plaintext);
      if (mtime) await utimes(file, mtime, mtime);
    };

    // Seeds: names from the time they claim, mtimes set to match (the stack's retention reads mtimes).
    const now = Date.now();
    const dump = await dumpPlain();
    const at = (msAgo: number): Date => new Date(Math.floor((now - msAgo) / 1000) * 1000);
    const seeded = {
      hourly: `loomio-hourly-${stamp(at(3_600_000), '-')}.sql.enc`,
      daily: `loomio-daily-${stamp(at(0)).slice(0, 8)}.sql.enc`,
      weekly: `loomio-weekly-${stamp(at(2 * 86_400_000)).slice(0, 8)}.sql.enc`,
      manual: `loomio-manual-${stamp(at(3 * 3_600_000), '-')}-before-upgrade.sql.enc`,
      unencrypted: `loomio-hourly-${stamp(at(2 * 3_600_000), '-')}.sql`,
      v1: `loomio_backup_${stamp(at(40 * 86_400_000), '_')}.sql.enc`,
      intermediate: `loomio_backup_${stamp(at(20 * 86_400_000), '_')}.sql.enc`,
    };
    await writeBackup(`data/production/backups/${seeded.hourly}`, dump, { mtime: at(3_600_000) });
    await writeBackup(`data/production/backups/${seeded.daily}`, dump, { mtime: at(60_000) });
    await writeBackup(`data/production/backups/${seeded.weekly}`, dump, { mtime: at(2 * 86_400_000) });
    await writeBackup(`data/production/backups/${seeded.manual}`, dump, { mtime: at(3 * 3_600_000) });
    await writeBackup(`data/production/backups/${seeded.unencrypted}`, dump, { encrypt: false, mtime: at(2 * 3_600_000) });
    await writeBackup(`backups/${seeded.v1}`, dump, { mtime: at(40 * 86_400_000) });
    await writeBackup(`data/db_backup/${seeded.intermediate}`, dump, { mtime: at(20 * 86_400_000) });
    // What a restore script that died leaves behind, and the sync status dot-file.
    await writeOwnedFile(path.join(backupDir, 'restore_1763900000.sql'), dump);
    await writeOwnedFile(path.join(backupDir, '.last_sync_status'), `${Math.floor(now / 1000)}\n`);
    await runTool('chown', ['-R', `${owner.uid}:${owner.gid}`, stackDir]);

    const asUser = (args: string[]): Promise<string> => runTool('runuser', ['-u', sshd.user, '--', ...args], { cwd: stackDir });
    await asUser(['sh', path.join(stackDir, 'bin', 'loomio-compose'), 'start', ...FLEET_SERVICES]);

    const fleet: LoomioFleet = {
      sshd,
      postgres,
      stackDir,
      backupDir,
      passphrase,
      key,
      installation: {
        name: options.name ?? 'Loomio (fleet)',
        app: 'loomio',
        ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint },
        settings: {
          stackDir,
          stopCommand: 'bin/loomio-compose stop {services}',
          startCommand: 'bin/loomio-compose start {services}',
          psqlCommand: 'bin/loomio-psql {args}',
          backupCommand: 'bin/loomio-backup --type manual --reason {reason}',
          statusCommand: 'bin/loomio-compose status',
          databaseHost: '127.0.0.1',
          databasePort: String(postgres.port),
          databaseName: FLEET_LOOMIO_DATABASE,
          databaseUser: 'postgres',
        },
        secrets: { 'backup-encryption-key': passphrase },
        expectedCadenceHours: 1,
      },
      seeded,
      psql,
      async counts() {
        const out = await psql(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1;`);
        const tables = out.trim().split('\n').filter(Boolean);
        if (tables.length === 0) return {};
        const rows = await psql(tables.map((t) => `SELECT '${t}', count(*) FROM public."${t}"`).join(' UNION ALL ') + ';');
        return Object.fromEntries(rows.trim().split('\n').map((line) => {
          const [name, count] = line.split('|');
          return [name!, Number(count)];
        }));
      },
      dumpPlain,
      writeBackup,
      writeOwnedFile,
      async backupNow(tier, reason = '') {
        const out = await asUser(['sh', path.join(stackDir, 'bin', 'loomio-backup'), '--type', tier, ...(reason ? ['--reason', reason] : [])]);
        return out.trim().split('\n').pop()!;
      },
      async composeLog() {
        const text = await readFile(path.join(stackDir, 'data', 'compose.log'), 'utf8').catch(() => '');
        return text.split('\n').filter(Boolean);
      },
      async services() {
        const state: Record<string, boolean> = {};
        for (const service of FLEET_SERVICES.filter((s) => s !== 'hocuspocus')) {
          state[service] = (await readFile(path.join(stackDir, 'run', `${service}.state`), 'utf8').catch(() => '')).trim() === 'running';
        }
        state.hocuspocus = (await postgres.psql(`SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hocuspocus';`)).trim() !== '0';
        return state;
      },
      async list(relativeDir) {
        return (await readdir(path.join(stackDir, relativeDir))).sort();
      },
      async stop() {
        await asUser(['sh', path.join(stackDir, 'bin', 'loomio-compose'), 'stop', 'hocuspocus']).catch(() => undefined);
        await Promise.all([sshd.stop(), postgres.stop()]);
        await runTool('rm', ['-rf', stackDir]);
      },
    };
    return fleet;
  } catch (error) {
    await Promise.allSettled([sshd.stop(), postgres.stop()]);
    throw error;
  }
}

/** `YYYYMMDD<sep>HHMMSS` in UTC, as backup.py's datetime.now() in a UTC container. */
function stamp(time: Date, sep = '-'): string {
  const iso = time.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}${sep}${iso.slice(11, 19).replace(/:/g, '')}`;
}

/** Fernet-encrypts bytes with Lifeboat's streaming encryptor. */
export async function encryptWith(key: FernetKey, plaintext: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from([plaintext]), fernetEncryptStream(key), new Writable({
    write(chunk: Buffer, _e, done) {
      out.push(chunk);
      done();
    },
  }));
  return Buffer.concat(out);
}

/** Python's `cryptography` Fernet (an implementation that is not Lifeboat's) decrypting a file; the key on stdin. */
export function pythonFernet(file: string, key: FernetKey): { ok: true; plaintext: Buffer } | { ok: false; error: string } {
  const script = [
    'import sys',
    'from cryptography.fernet import Fernet, InvalidToken',
    'f = Fernet(sys.stdin.readline().strip().encode())',
    'try:',
    '    sys.stdout.buffer.write(f.decrypt(open(sys.argv[1], "rb").read()))',
    'except InvalidToken:',
    '    sys.stderr.write("InvalidToken"); sys.exit(3)',
  ].join('\n');
  try {
    const plaintext = execFileSync('python3', ['-c', script, file], { input: `${Buffer.concat([key.signing, key.encryption]).toString('base64url')}=\n`, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
    return { ok: true, plaintext };
  } catch (error) {
    return { ok: false, error: String((error as { stderr?: Buffer }).stderr ?? error) };
  }
}

function pgDump(postgres: TestPostgres): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(`${PG_BIN}/pg_dump`, [`--dbname=${postgres.connectionString(FLEET_LOOMIO_DATABASE)}`, '-F', 'p', '--no-owner', '--no-acl'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`pg_dump exited with ${code}: ${stderr}`))));
  });
}

async function ownerOf(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([runTool('id', ['-u', user]), runTool('id', ['-g', user])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** A small Loomio-like schema (users, groups, discussions, comments, schema_migrations) with rows. */
const SCHEMA_SQL = `
CREATE TABLE users (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, name text, created_at timestamptz DEFAULT now());
CREATE TABLE groups (id bigserial PRIMARY KEY, name text NOT NULL, handle text, created_at timestamptz DEFAULT now());
CREATE TABLE discussions (id bigserial PRIMARY KEY, group_id bigint REFERENCES groups(id), author_id bigint REFERENCES users(id), title text, description text, created_at timestamptz DEFAULT now());
CREATE TABLE comments (id bigserial PRIMARY KEY, discussion_id bigint REFERENCES discussions(id), user_id bigint REFERENCES users(id), body text, created_at timestamptz DEFAULT now());
CREATE INDEX index_comments_on_discussion_id ON comments (discussion_id);
CREATE TABLE schema_migrations (version text PRIMARY KEY);
INSERT INTO users (email, name) SELECT 'user' || g || '@example.org', 'User ' || g FROM generate_series(1, 25) g;
INSERT INTO groups (name, handle) VALUES ('Pi Collective', 'pi'), ('Garden', 'garden'), ('Board', 'board');
INSERT INTO discussions (group_id, author_id, title, description) SELECT 1 + g % 3, 1 + g % 25, 'Topic ' || g, E'line one\\nline two\\twith a tab, ünïcødé' FROM generate_series(1, 12) g;
INSERT INTO comments (discussion_id, user_id, body) SELECT 1 + g % 12, 1 + g % 25, 'Comment ' || g || E' with a backslash \\\\ and a newline\\n' FROM generate_series(1, 140) g;
INSERT INTO schema_migrations VALUES ('20250101000000'), ('20250601000000'), ('20251101000000');
`;

/**
 * bin/loomio-compose stop|start <services…>: what `docker compose stop/start` does to the stack,
 * without Docker. Each call is appended to data/compose.log; app, worker and channels are state
 * files; hocuspocus is a real process holding a database connection (as the real one does), so a
 * DROP or RENAME of the database fails while it runs.
 */
const COMPOSE_SCRIPT = `#!/bin/sh
set -eu
cd "$(dirname "$0")/.."
set -a; . ./fleet.env; set +a
action=$1; shift
if [ "$action" = status ]; then
  # Like docker compose ps --status running --services: the running ones, one a line.
  for state in run/*.state; do
    if [ -f "$state" ] && [ "$(cat "$state")" = running ]; then basename "$state" .state; fi
  done
  if [ -f run/hocuspocus.pid ] && kill -0 "$(cat run/hocuspocus.pid)" 2>/dev/null; then echo hocuspocus; fi
  exit 0
fi
echo "$action $*" >> data/compose.log
for service in "$@"; do
  case "$action:$service" in
    stop:hocuspocus)
      if [ -f run/hocuspocus.pid ]; then kill -TERM "-$(cat run/hocuspocus.pid)" 2>/dev/null || true; rm -f run/hocuspocus.pid; fi
      # Like docker compose stop: return once the service is down (its connection gone).
      i=0; while [ "$("$PG_BIN/psql" -X -At -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hocuspocus'")" != 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done ;;
    start:hocuspocus)
      if [ ! -f run/hocuspocus.pid ] || ! kill -0 "$(cat run/hocuspocus.pid)" 2>/dev/null; then
        # An idle connection held open (psql waiting on its input), as the real service holds one; the
        # process group is its own (setsid), with its leader's pid in the pid file, so stop ends all of it.
        PGAPPNAME=hocuspocus setsid nohup sh -c 'echo $$ > run/hocuspocus.pid; sleep 86400 | "$0" -X -q -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$PGDATABASE"' "$PG_BIN/psql" </dev/null >/dev/null 2>&1 &
        i=0; while [ "$("$PG_BIN/psql" -X -At -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hocuspocus'")" = 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
      fi ;;
    stop:*) echo stopped > "run/$service.state" ;;
    start:*) echo running > "run/$service.state" ;;
  esac
done
`;

/** bin/loomio-psql: `docker exec -i loomio-db psql -U loomio …` without Docker. */
const PSQL_SCRIPT = `#!/bin/sh
set -eu
cd "$(dirname "$0")/.."
. ./fleet.env
exec "$PG_BIN/psql" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "$@"
`;

/**
 * bin/loomio-backup --type <tier> [--reason <text>]: backup.py's flow — name by tier (UTC),
 * pg_dump -F p --no-owner --no-acl to <name>.sql, Fernet-encrypt it to <name>.sql.enc, delete the
 * plaintext. Fernet here is openssl: 0x80 ‖ time ‖ IV ‖ AES-128-CBC/PKCS#7 ‖ HMAC-SHA256, base64url
 * with padding and no newline.
 */
const BACKUP_SCRIPT = `#!/bin/sh
set -eu
cd "$(dirname "$0")/.."
. ./fleet.env
tier=hourly; reason=
while [ $# -gt 0 ]; do
  case "$1" in --type) tier=$2; shift 2 ;; --reason) reason=$2; shift 2 ;; *) shift ;; esac
done
day=$(date -u +%Y%m%d); clock=$(date -u +%H%M%S)
case "$tier" in
  hourly) name="loomio-hourly-$day-$clock" ;;
  daily|weekly) name="loomio-$tier-$day" ;;
  manual)
    clean=$(printf '%s' "$reason" | sed -e 's/[^A-Za-z0-9_-]/-/g' -e 's/--*/-/g' -e 's/^-//' -e 's/-$//')
    name="loomio-manual-$day-$clock\${clean:+-$clean}" ;;
  *) name="loomio_backup_\${day}_$clock" ;;
esac
dir=data/production/backups
umask 077
"$PG_BIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$PGDATABASE" -F p --no-owner --no-acl -f "$dir/$name.sql"
work=$(mktemp -d)
iv=$(openssl rand -hex 16)
{ printf '80%016x%s' "$(date -u +%s)" "$iv"; openssl enc -aes-128-cbc -K "$FERNET_ENCRYPTION_HEX" -iv "$iv" -in "$dir/$name.sql" | xxd -p | tr -d '\\n'; } | xxd -r -p > "$work/body"
openssl dgst -sha256 -mac HMAC -macopt "hexkey:$FERNET_SIGNING_HEX" -binary "$work/body" >> "$work/body"
base64 -w0 "$work/body" | tr '+/' '-_' > "$dir/$name.sql.enc"
rm -rf "$work" "$dir/$name.sql"
echo "$name.sql.enc"
`;
