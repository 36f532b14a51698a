// The Weavestream part of the test fleet: a real PostgreSQL 15 with a Weavestream-like database,
// and a real OpenSSH sshd whose login user's home holds a Weavestream "compose directory":
//
//   ~/weavestream-<id>/.env                   kids and (fake) keys, like the real .env
//   ~/weavestream-<id>/data/backup/           dumps made by the real pg_dump -Fc, piped like the
//                                             worker does, with manifests by Weavestream's rules
//   ~/weavestream-<id>/data/files/            uploads (never in a dump)
//   ~/weavestream-<id>/migrations/<name>/     the migrations the "worker image" ships (hashed)
//   ~/weavestream-<id>/bin/weavestream-export makes a new dump + manifest exactly like the worker
//   ~/weavestream-<id>/bin/weavestream-restore  pg_restore with the flags given, dump on stdin
//   ~/weavestream-<id>/bin/weavestream-dump   pg_dump with the flags given, archive on stdout
//
// The scripts stand in for `docker compose exec …`: no Docker, same shapes. Each fleet has its
// own directory, so several can share the sshd harness's system user.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { InstallationInput } from '../../../src/shared/installations';
import { serializeWeavestreamManifest, type WeavestreamManifest } from '../../../src/main/apps/weavestream/manifest';
import { startPostgres, type TestPostgres } from '../../harness/postgres';
import { runTool, startSshd, type TestSshd } from '../../harness/sshd';
import { MIGRATIONS, PRISMA_MIGRATIONS_TABLE, seedSql } from './schema';

const PG_BIN = '/usr/lib/postgresql/15/bin';
/** The version the fake worker image reports (newest changelog entry of the spec). */
export const FLEET_WEAVESTREAM_VERSION = '1.9.11';
/** The database's name, as POSTGRES_DB would be. */
export const FLEET_DATABASE = 'weavestream';

/** Options of {@link startWeavestreamFleet}. */
export interface WeavestreamFleetOptions {
  /** PASSWORD_ENCRYPTION_KEY_KID in .env; null leaves the variable out (the manifest then says null). Default "2". */
  kid?: string | null;
  /** Kids listed in PASSWORD_PREVIOUS_KEYS. Default ["1"]. */
  previousKids?: string[];
  /** Dumps to seed the backup directory with (one a day, newest yesterday). Default 2. */
  seedDumps?: number;
  /** Name of the installation input. Default "Weavestream (fleet)". */
  name?: string;
  /**
   * Whether the installation has a triggerCommand (bin/weavestream-export). Default true; false
   * is a stock Weavestream, where the safety pull before a restore is Lifeboat's live dump.
   */
  trigger?: boolean;
  /**
   * postgres's password: logins over TCP (Lifeboat's, through the SSH server) then need it; the
   * server's own scripts read it from `<composeDir>/.pgpass`, as a real server keeps its own.
   */
  postgresPassword?: string;
}

/** A running Weavestream fleet member. */
export interface WeavestreamFleet {
  sshd: TestSshd;
  postgres: TestPostgres;
  /** The compose directory on the SSH host (absolute). */
  composeDir: string;
  backupDir: string;
  /** What to pass to `installations:add` / `registry.add`. */
  installation: InstallationInput;
  /** Runs SQL in the Weavestream database; unaligned, tuples-only output. */
  psql(sql: string): Promise<string>;
  /** Row counts of every public table, by name. */
  counts(): Promise<Record<string, number>>;
  /** Runs bin/weavestream-export as the SSH user (what the trigger does); returns the new dump's name. */
  exportNow(): Promise<string>;
  /** Names in the backup directory, sorted. */
  listBackupDir(): Promise<string[]>;
  /** Rewrites the kid lines of .env. */
  setKids(kid: string | null, previous: string[]): Promise<void>;
  /** Writes a file as the SSH user would own it (mode 0600). */
  writeOwnedFile(file: string, content: string | Buffer): Promise<void>;
  stop(): Promise<void>;
}

/** Starts PostgreSQL and sshd, creates the database, the compose directory and seed dumps. */
export async function startWeavestreamFleet(options: WeavestreamFleetOptions = {}): Promise<WeavestreamFleet> {
  const password = options.postgresPassword;
  const [sshd, postgres] = await Promise.all([startSshd(), startPostgres(password === undefined ? {} : { password })]);
  try {
    const owner = await ownerOf(sshd.user);
    const composeDir = path.join(sshd.homeDir, `weavestream-${process.pid}-${randomBytes(3).toString('hex')}`);
    const backupDir = path.join(composeDir, 'data', 'backup');
    const kid = options.kid === undefined ? '2' : options.kid;
    const previous = options.previousKids ?? ['1'];

    await postgres.psql(`CREATE DATABASE ${FLEET_DATABASE};`);
    const psql = (sql: string): Promise<string> => postgres.psql(sql, FLEET_DATABASE);
    await psql(PRISMA_MIGRATIONS_TABLE);
    for (const [name, sql] of Object.entries(MIGRATIONS)) {
      await psql(sql);
      const checksum = createHash('sha256').update(sql).digest('hex');
      await psql(`INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
        VALUES (gen_random_uuid()::text, '${checksum}', now(), '${name}', 1);`);
    }
    await psql(seedSql(kid ?? '1'));

    await mkdir(backupDir, { recursive: true, mode: 0o700 });
    await mkdir(path.join(composeDir, 'data', 'files', 'attachments'), { recursive: true });
    await writeFile(path.join(composeDir, 'data', 'files', 'attachments', 'hello.txt'), 'an uploaded file; never in a dump\n');
    for (const [name, sql] of Object.entries(MIGRATIONS)) {
      await mkdir(path.join(composeDir, 'migrations', name), { recursive: true });
      await writeFile(path.join(composeDir, 'migrations', name, 'migration.sql'), sql);
    }
    const databaseUrl = `postgresql://postgres@127.0.0.1:${postgres.port}/${FLEET_DATABASE}`;
    await writeFile(path.join(composeDir, 'fleet.env'), [
      `PG_BIN=${PG_BIN}`,
      `PGHOST=127.0.0.1`,
      `PGPORT=${postgres.port}`,
      `PGUSER=postgres`,
      `PGDATABASE=${FLEET_DATABASE}`,
      `DATABASE_URL=${databaseUrl}`,
      `DATABASE_URL_HOSTNAME=${new URL(databaseUrl).hostname}`,
      `WEAVESTREAM_VERSION=${FLEET_WEAVESTREAM_VERSION}`,
      ...(password === undefined ? [] : [`export PGPASSFILE=${path.join(composeDir, '.pgpass')}`]),
      '',
    ].join('\n'));
    if (password !== undefined) await writeFile(path.join(composeDir, '.pgpass'), `127.0.0.1:${postgres.port}:*:postgres:${password}\n`, { mode: 0o600 });
    await writeFile(path.join(composeDir, '.env'), envText(kid, previous), { mode: 0o600 });
    await mkdir(path.join(composeDir, 'bin'));
    await writeFile(path.join(composeDir, 'bin', 'weavestream-export'), EXPORT_SCRIPT, { mode: 0o755 });
    await writeFile(path.join(composeDir, 'bin', 'weavestream-restore'), RESTORE_SCRIPT, { mode: 0o755 });
    await writeFile(path.join(composeDir, 'bin', 'weavestream-dump'), DUMP_SCRIPT, { mode: 0o755 });

    const seeds = options.seedDumps ?? 2;
    for (let i = seeds; i >= 1; i--) {
      const started = new Date(Math.floor(Date.now() / 1000) * 1000 - i * 86_400_000);
      await seedDump({ composeDir, backupDir, databaseUrl, dumpFrom: postgres.connectionString(FLEET_DATABASE), started, kid });
    }
    await runTool('chown', ['-R', `${owner.uid}:${owner.gid}`, composeDir]);

    const fleet: WeavestreamFleet = {
      sshd,
      postgres,
      composeDir,
      backupDir,
      installation: {
        name: options.name ?? 'Weavestream (fleet)',
        app: 'weavestream',
        ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint },
        settings: {
          composeDir,
          triggerCommand: options.trigger === false ? '' : 'bin/weavestream-export',
          // The default's shape: the wrapper, then the worker's pg_dump flags.
          dumpCommand: 'bin/weavestream-dump --format=custom --no-owner --no-acl',
          restoreCommand: 'bin/weavestream-restore {flags}',
          pgRestoreVersionCommand: 'bin/weavestream-restore --version',
          databaseHost: '127.0.0.1',
          databasePort: String(postgres.port),
          databaseName: FLEET_DATABASE,
          databaseUser: 'postgres',
        },
      },
      psql,
      async counts() {
        const tables = (await psql(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1;`)).trim().split('\n').filter(Boolean);
        const out = await psql(tables.map((t) => `SELECT '${t}', count(*) FROM public."${t}"`).join(' UNION ALL ') + ';');
        return Object.fromEntries(out.trim().split('\n').map((line) => {
          const [name, count] = line.split('|');
          return [name as string, Number(count)];
        }));
      },
      async exportNow() {
        const out = await runTool('runuser', ['-u', sshd.user, '--', 'sh', path.join(composeDir, 'bin', 'weavestream-export')]);
        return out.trim();
      },
      async listBackupDir() {
        return (await readdir(backupDir)).sort();
      },
      async setKids(newKid, newPrevious) {
        await fleet.writeOwnedFile(path.join(composeDir, '.env'), envText(newKid, newPrevious));
      },
      async writeOwnedFile(file, content) {
        await writeFile(file, content, { mode: 0o600 });
        await runTool('chown', [`${owner.uid}:${owner.gid}`, file]);
      },
      async stop() {
        await Promise.all([sshd.stop(), postgres.stop()]);
        await runTool('rm', ['-rf', composeDir]);
      },
    };
    return fleet;
  } catch (error) {
    await Promise.allSettled([sshd.stop(), postgres.stop()]);
    throw error;
  }
}

/** The Prisma migration hash as Weavestream's worker computes it (spec §1.4). */
export async function migrationHash(migrationsDir: string): Promise<string> {
  const hash = createHash('sha256');
  const names = (await readdir(migrationsDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  for (const name of names) {
    hash.update(`${name}\n`);
    const sql = await readFile(path.join(migrationsDir, name, 'migration.sql')).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (sql) hash.update(sql);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** One dump the way the worker makes it: pg_dump's stdout piped into the .tmp file and hashed, rename, manifest. */
async function seedDump(input: { composeDir: string; backupDir: string; databaseUrl: string; dumpFrom: string; started: Date; kid: string | null }): Promise<string> {
  const stamp = input.started.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[:.]/g, '-');
  const filename = `weavestream-postgres-${stamp}.dump`;
  const tmp = path.join(input.backupDir, `.${filename}.tmp`);
  const hash = createHash('sha256');
  let size = 0;
  const child = spawn(`${PG_BIN}/pg_dump`, ['--format=custom', '--no-owner', '--no-acl', `--dbname=${input.dumpFrom}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  await pipeline(child.stdout, new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  }), createWriteStream(tmp, { mode: 0o600 }));
  const code = await exited;
  if (code !== 0) throw new Error(`pg_dump exited with code ${code}: ${stderr}`);
  await rename(tmp, path.join(input.backupDir, filename));
  const manifest: WeavestreamManifest = {
    weavestreamVersion: FLEET_WEAVESTREAM_VERSION,
    prismaMigrationHash: await migrationHash(path.join(input.composeDir, 'migrations')),
    passwordEncryptionKid: input.kid,
    databaseUrlHostname: new URL(input.databaseUrl).hostname,
    generatedAt: new Date(input.started.getTime() + 1500).toISOString(),
    filename,
    sizeBytes: size,
    sha256: hash.digest('hex'),
  };
  const manifestPath = path.join(input.backupDir, filename.replace(/\.dump$/, '.manifest.json'));
  await writeFile(manifestPath, serializeWeavestreamManifest(manifest), { mode: 0o600 });
  await chmod(path.join(input.backupDir, filename), 0o600);
  return filename;
}

function envText(kid: string | null, previous: string[]): string {
  const fakeKey = (): string => randomBytes(32).toString('base64');
  return [
    '# Weavestream .env (test fleet; the keys are random and unused)',
    'POSTGRES_USER=postgres',
    `POSTGRES_DB=${FLEET_DATABASE}`,
    `PASSWORD_ENCRYPTION_KEY=${fakeKey()}`,
    ...(kid !== null ? [`PASSWORD_ENCRYPTION_KEY_KID=${kid}`] : []),
    ...(previous.length > 0 ? [`PASSWORD_PREVIOUS_KEYS=${previous.map((k) => `${k}:${fakeKey()}`).join(',')}`] : []),
    `MFA_ENCRYPTION_KEY=${fakeKey()}`,
    `JWT_SIGNING_KEY=${fakeKey()}`,
    `COOKIE_SIGNING_KEY=${fakeKey()}`,
    '',
  ].join('\n');
}

async function ownerOf(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([runTool('id', ['-u', user]), runTool('id', ['-g', user])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/**
 * bin/weavestream-export: the worker's handleRun without Node — pg_dump's stdout goes through a
 * pipe (so data offsets stay unset, as in the app), into a hidden .tmp file (mode 0600), renamed
 * on success; then the manifest with the 8 keys in order, 2-space JSON, no trailing newline.
 */
const EXPORT_SCRIPT = `#!/bin/sh
set -eu
cd "$(dirname "$0")/.."
. ./fleet.env
dir=data/backup
while :; do
  stamp=$(date -u +%Y-%m-%dT%H-%M-%SZ)
  name="weavestream-postgres-$stamp.dump"
  [ -e "$dir/$name" ] || break
  sleep 1
done
tmp="$dir/.$name.tmp"
umask 077
rc=$( { { "$PG_BIN/pg_dump" --format=custom --no-owner --no-acl --dbname="$DATABASE_URL"; echo $? >&3; } | cat > "$tmp"; } 3>&1 )
if [ "$rc" != 0 ]; then echo "pg_dump exited with code $rc" >&2; exit 1; fi
mv "$tmp" "$dir/$name"
generated=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
size=$(stat -c %s "$dir/$name")
sha=$(sha256sum "$dir/$name" | cut -d' ' -f1)
hash=$(for m in $(ls -1 migrations | LC_ALL=C sort); do
  printf '%s\\n' "$m"
  if [ -f "migrations/$m/migration.sql" ]; then cat "migrations/$m/migration.sql"; fi
done | sha256sum | cut -d' ' -f1)
kid=$(sed -n 's/^PASSWORD_ENCRYPTION_KEY_KID=//p' .env)
if [ -n "$kid" ]; then kid="\\"$kid\\""; else kid=null; fi
printf '{\\n  "weavestreamVersion": "%s",\\n  "prismaMigrationHash": "sha256:%s",\\n  "passwordEncryptionKid": %s,\\n  "databaseUrlHostname": "%s",\\n  "generatedAt": "%s",\\n  "filename": "%s",\\n  "sizeBytes": %s,\\n  "sha256": "%s"\\n}' \\
  "$WEAVESTREAM_VERSION" "$hash" "$kid" "$DATABASE_URL_HOSTNAME" "$generated" "$name" "$size" "$sha" > "$dir/\${name%.dump}.manifest.json"
echo "$name"
`;

/** bin/weavestream-dump: stands in for `docker compose exec -T postgres pg_dump …`; the archive goes to stdout. */
const DUMP_SCRIPT = `#!/bin/sh
set -eu
cd "$(dirname "$0")/.."
. ./fleet.env
exec "$PG_BIN/pg_dump" "$@" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$PGDATABASE"
`;

/** bin/weavestream-restore: stands in for `docker compose exec -T postgres pg_restore …`; the dump arrives on stdin. */
const RESTORE_SCRIPT = `#!/bin/sh
set -eu
cd "$(dirname "$0")/.."
. ./fleet.env
if [ "\${1:-}" = --version ]; then exec "$PG_BIN/pg_restore" --version; fi
exec "$PG_BIN/pg_restore" "$@" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$PGDATABASE"
`;
