// The fake MeshMonitor's data: live tables persisted as JSON, system backups, and the startup restore.
// Written from specs/meshmonitor.md (§1, §4, §5); line texts are those of restore-log-excerpts.txt.
import { spawn, execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Version the fake reports in /api/health and metadata.json. */
export const MM_VERSION = '4.15.1';
/** Hard-coded on both sides upstream (systemBackupService.ts:343-349, systemRestoreService.ts:127). */
export const MM_SCHEMA_VERSION = 21;
/** `BACKUP_TABLES` of systemBackupService.ts:18-41, in order. */
export const BACKUP_TABLES = [
  'sources', 'nodes', 'messages', 'channels', 'telemetry', 'traceroutes', 'route_segments', 'neighbor_info',
  'settings', 'users', 'permissions', 'audit_log', 'read_messages', 'user_notification_preferences',
  'auto_traceroute_nodes', 'packet_log', 'solar_estimates', 'system_backup_history', 'auto_favorite_targets',
  'auto_favorite_assignments',
];
/**
 * Tables of a fresh 4.15.1 SQLite database that the backup leaves out (§1.3, observed), besides
 * `sqlite_sequence`, which SQLite makes itself for the first AUTOINCREMENT table.
 */
const FRESH_EXCLUDED_TABLES = [
  'api_tokens', 'atak_contacts', 'auto_distance_delete_log', 'auto_key_repair_log', 'auto_key_repair_state',
  'auto_time_sync_nodes', 'auto_traceroute_log', 'automation_home_anchors', 'automation_runs', 'automation_variable_values',
  'automation_variables', 'automations', 'backup_history', 'channel_database', 'channel_database_permissions',
  'conversation_read_state', 'custom_themes', 'dead_drop_messages', 'embed_profiles', 'estimated_position_anchors',
  'estimated_positions', 'geofence_cooldowns', 'ignored_nodes', 'mesh_beacon_offers', 'meshcore_heard_repeaters',
  'meshcore_messages', 'meshcore_neighbor_info', 'meshcore_nodes', 'meshcore_observer_credentials', 'meshcore_observer_keys',
  'meshcore_packet_log', 'meshcore_pathfinding_targets', 'meshcore_position_history', 'meshcore_saved_regions',
  'meshtastic_heard_repeaters', 'message_events', 'mqtt_ok_to_mqtt_violations', 'mqtt_packet_log', 'news_cache',
  'push_subscriptions', 'reticulum_destinations', 'reticulum_interfaces', 'reticulum_messages', 'reticulum_paths', 'sessions',
  'source_pki_keys', 'user_map_preferences', 'user_news_status', 'waypoints',
];
/** The table the real server has only after its first restart (71 tables then, §1.3 as observed). */
const AFTER_RESTART_TABLE = 'upgrade_history';

/** Tables outside the backup that the fake models: tokens die with their users (FK cascade, §5.4). */
const EXTRA_TABLES = ['api_tokens'];
export const DIRNAME_RE = /^\d{4}-\d{2}-\d{2}_\d{6}$/;
const COLUMN_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export type Row = Record<string, unknown>;

interface RestoreMetadata {
  schemaVersion: number;
  tables: string[];
  backupVersion: string;
}

interface DbFile {
  tables: Record<string, Row[]>;
  /** Like sqlite_sequence: ids are never reused, even after a restore replaces a table. */
  sequences: Record<string, number>;
  /** Known columns per table (learned from seed rows); tables without an entry accept any column. */
  columns: Record<string, string[]>;
}

/** An appending log in the server's format (`[INFO] …`), kept in a file like the container's log. */
export class ServerLog {
  constructor(readonly file: string) {}
  async write(level: 'INFO' | 'WARN' | 'ERROR', line: string): Promise<void> {
    await appendFile(this.file, `[${level}] ${line}\n`);
  }
}

/** SQLite-style error text, as better-sqlite3 names it in the log. */
class SqliteError extends Error {
  override name = 'SqliteError';
}

/** bcrypt through the system's crypt(3) (libxcrypt supports $2b$), reached via perl; the password goes on stdin. */
function perlCrypt(password: string, salt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('perl', ['-e', 'my $p = do { local $/; <STDIN> }; print crypt($p, $ARGV[0]) // ""', salt]);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 && out.startsWith('$2') ? resolve(out) : reject(new Error(`crypt(3) failed (exit ${code})`))));
    child.stdin.end(password);
  });
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** A bcrypt hash (cost 10, like bcrypt's default in MeshMonitor). */
export async function bcryptHash(password: string): Promise<string> {
  const bytes = randomBytes(22);
  // The 22nd salt character carries only 2 bits; libxcrypt wants them canonical (one of . O e u).
  const salt = [...bytes.subarray(0, 21)].map((b) => BCRYPT_ALPHABET[b % 64]).join('') + '.Oeu'[bytes[21]! % 4];
  return perlCrypt(password, `$2b$10$${salt}`);
}
/** Checks a password against a bcrypt hash. */
export async function bcryptVerify(password: string, hash: string): Promise<boolean> {
  if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return false;
  return (await perlCrypt(password, hash)) === hash;
}

/** `YYYY-MM-DD_HHMMSS` in the server's local time (systemBackupService.ts:354-364). */
export function backupDirname(date: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}_${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

/** Options for opening a store. */
export interface StoreOptions {
  dataDir: string;
  adminPassword: string;
  /** Seed a fresh data dir from this real backup (tar.gz); null starts from an empty database. */
  seedArchive: string | null;
  log: ServerLog;
}

/** The live database of one fake MeshMonitor, persisted to `<dataDir>/meshmonitor.db.json`. */
export class MeshMonitorStore {
  private db: DbFile = { tables: {}, sequences: {}, columns: {} };
  readonly backupRoot: string;
  readonly markerFile: string;
  private readonly dbFile: string;

  private constructor(private readonly options: StoreOptions) {
    this.backupRoot = path.join(options.dataDir, 'system-backups');
    // Upstream hard-codes /data/.restore-completed; the data dir plays /data here.
    this.markerFile = path.join(options.dataDir, '.restore-completed');
    this.dbFile = path.join(options.dataDir, 'meshmonitor.db.json');
  }

  /** Opens (or creates and seeds) the database; a pending restore suppresses default-user creation until it ran. */
  static async open(options: StoreOptions): Promise<MeshMonitorStore> {
    const store = new MeshMonitorStore(options);
    const restarted = existsSync(store.dbFile);
    await store.writeSqliteSchema(restarted);
    if (restarted) {
      store.db = JSON.parse(await readFile(store.dbFile, 'utf8')) as DbFile;
    } else {
      for (const table of [...BACKUP_TABLES, ...EXTRA_TABLES]) store.db.tables[table] = [];
      store.db.columns.system_backup_history = ['id', 'dirname', 'timestamp', 'type', 'size', 'tableCount', 'meshmonitorVersion', 'schemaVersion', 'rowCount', 'createdAt'];
      store.db.columns.api_tokens = ['id', 'user_id', 'token_hash', 'prefix', 'created_at', 'last_used_at', 'is_active'];
      if (options.seedArchive !== null) await store.seed(options.seedArchive);
      await store.save();
    }
    return store;
  }

  /**
   * The rows live in meshmonitor.db.json, but the schema is also kept where the real server keeps it:
   * a real SQLite file, <dataDir>/meshmonitor.db in WAL mode, made by the sqlite3 tool, with the
   * tables of a fresh 4.15.1 database and, from the first restart on, upgrade_history. What reads
   * the live table list over SSH reads this file.
   */
  private async writeSqliteSchema(restarted: boolean): Promise<void> {
    const file = path.join(this.options.dataDir, 'meshmonitor.db');
    const tables = existsSync(file) ? [] : [...BACKUP_TABLES, ...FRESH_EXCLUDED_TABLES];
    if (restarted) tables.push(AFTER_RESTART_TABLE);
    const ddl = tables.map((t) => `CREATE TABLE IF NOT EXISTS ${t} (id INTEGER PRIMARY KEY${t === 'audit_log' ? ' AUTOINCREMENT' : ''});`);
    await new Promise<void>((resolve, reject) => {
      const child = spawn('sqlite3', [file], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`sqlite3 ${file}: ${stderr.trim()}`))));
      child.stdin.end(['PRAGMA journal_mode = WAL;', 'BEGIN;', ...ddl, 'COMMIT;'].join('\n'));
    });
  }

  private async seed(archive: string): Promise<void> {
    const tmp = await mkdtemp(path.join(this.options.dataDir, '.seed-'));
    try {
      await run('tar', ['-xzf', archive, '-C', tmp]);
      const [dir] = await readdir(tmp);
      for (const table of BACKUP_TABLES) {
        const rows = JSON.parse(await readFile(path.join(tmp, dir!, `${table}.json`), 'utf8')) as Row[];
        this.db.tables[table] = rows;
        if (rows[0]) this.db.columns[table] = Object.keys(rows[0]);
        this.db.sequences[table] = Math.max(0, ...rows.map((r) => (typeof r.id === 'number' ? r.id : 0)));
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    const admin = this.rows('users').find((u) => u.username === 'admin');
    if (admin && !(await bcryptVerify(this.options.adminPassword, String(admin.password_hash)))) {
      admin.password_hash = await bcryptHash(this.options.adminPassword);
    }
  }

  /** After startup (and any restore): a database without users gets anonymous + admin, like a first run. */
  async ensureDefaultUsers(): Promise<void> {
    const users = this.rows('users');
    const now = Date.now();
    const base = (id: number, username: string, displayName: string, isAdmin: number, hash: string): Row => ({
      id, username, password_hash: hash, email: null, display_name: displayName, auth_provider: 'local', oidc_subject: null,
      is_admin: isAdmin, is_active: 1, password_locked: 0, mfa_enabled: 0, mfa_secret: null, mfa_backup_codes: null,
      created_at: now, last_login_at: null, created_by: null, updated_at: null,
    });
    if (!users.some((u) => u.username === 'anonymous')) {
      const id = this.nextId('users');
      users.push(base(id, 'anonymous', 'Anonymous User', 0, await bcryptHash(randomBytes(16).toString('hex'))));
      for (const resource of ['dashboard', 'nodes', 'info']) {
        this.rows('permissions').push({
          id: this.nextId('permissions'), user_id: id, resource, can_view_on_map: 0, can_read: 1, can_write: 0, can_delete: 0,
          granted_at: now, granted_by: null, sourceId: null,
        });
      }
    }
    if (!users.some((u) => u.username === 'admin')) {
      users.push(base(this.nextId('users'), 'admin', 'Administrator', 1, await bcryptHash(this.options.adminPassword)));
      await this.options.log.write('INFO', '🔐 FIRST RUN: Admin user created');
    }
    await this.save();
  }

  rows(table: string): Row[] {
    return (this.db.tables[table] ??= []);
  }

  nextId(table: string): number {
    const current = Math.max(this.db.sequences[table] ?? 0, ...this.rows(table).map((r) => (typeof r.id === 'number' ? r.id : 0)));
    this.db.sequences[table] = current + 1;
    return current + 1;
  }

  setting(key: string): string | undefined {
    const row = this.rows('settings').find((r) => r.key === key);
    return row === undefined ? undefined : String(row.value);
  }

  setSetting(key: string, value: string): void {
    const now = Date.now();
    const row = this.rows('settings').find((r) => r.key === key);
    if (row) {
      row.value = value;
      row.updatedAt = now;
    } else {
      this.rows('settings').push({ key, value, createdAt: now, updatedAt: now });
    }
  }

  audit(action: string, resource: string, userId: number | null, details: unknown, ip: string | null): void {
    this.rows('audit_log').push({
      id: this.nextId('audit_log'), user_id: userId, username: null, action, resource, details: JSON.stringify(details),
      ip_address: ip, user_agent: null, value_before: null, value_after: null, timestamp: Date.now(),
    });
  }

  /** Writes the database atomically. */
  async save(): Promise<void> {
    const tmp = `${this.dbFile}.tmp`;
    await writeFile(tmp, JSON.stringify(this.db));
    await rename(tmp, this.dbFile);
  }

  /** createBackup (systemBackupService.ts:85-150): export tables, write metadata, then add the history row. */
  async createBackup(type: 'manual' | 'automatic'): Promise<string> {
    const now = new Date();
    const dirname = backupDirname(now);
    const dir = path.join(this.backupRoot, dirname);
    // Recursive mkdir: a second backup in the same second reuses (overwrites) the directory.
    await mkdir(dir, { recursive: true });
    const checksums: Record<string, string> = {};
    let size = 0;
    for (const table of BACKUP_TABLES) {
      const text = JSON.stringify(this.rows(table), null, 2);
      await writeFile(path.join(dir, `${table}.json`), text, { encoding: 'utf8', mode: 0o644 });
      checksums[table] = createHash('sha256').update(text, 'utf8').digest('hex');
      size += Buffer.byteLength(text, 'utf8');
    }
    const metadata = {
      backupVersion: '1.0',
      meshmonitorVersion: MM_VERSION,
      timestamp: now.toISOString(),
      timestampUnix: now.getTime(),
      schemaVersion: MM_SCHEMA_VERSION,
      tables: BACKUP_TABLES,
      tableCount: BACKUP_TABLES.length,
      checksums,
    };
    const metadataText = JSON.stringify(metadata, null, 2);
    await writeFile(path.join(dir, 'metadata.json'), metadataText, { encoding: 'utf8', mode: 0o644 });
    size += Buffer.byteLength(metadataText, 'utf8');
    this.rows('system_backup_history').push({
      id: this.nextId('system_backup_history'), dirname, timestamp: now.getTime(), type, size, tableCount: BACKUP_TABLES.length,
      meshmonitorVersion: MM_VERSION, schemaVersion: MM_SCHEMA_VERSION, rowCount: null, createdAt: now.getTime(),
    });
    await this.purgeOldBackups();
    await this.save();
    return dirname;
  }

  /** purgeOldBackups (systemBackupService.ts:518-575): only once maxBackups was saved. */
  private async purgeOldBackups(): Promise<void> {
    const max = this.setting('system_backup_maxBackups');
    if (max === undefined) return;
    const history = [...this.rows('system_backup_history')].sort((a, b) => Number(a.timestamp) - Number(b.timestamp));
    while (history.length > Number(max)) {
      const oldest = history.shift()!;
      await rm(path.join(this.backupRoot, String(oldest.dirname)), { recursive: true, force: true });
      this.db.tables.system_backup_history = this.rows('system_backup_history').filter((r) => r !== oldest);
    }
  }

  /** The list endpoint's rows: from the history table, newest first (not from the disk). */
  listBackups(): Row[] {
    return [...this.rows('system_backup_history')]
      .sort((a, b) => Number(b.timestamp) - Number(a.timestamp))
      .map((r) => ({
        dirname: r.dirname,
        timestamp: new Date(Number(r.timestamp)).toISOString(),
        timestampUnix: Number(r.timestamp),
        type: r.type,
        size: r.size,
        tableCount: r.tableCount,
        meshmonitorVersion: r.meshmonitorVersion,
        schemaVersion: r.schemaVersion,
      }));
  }

  /** deleteBackup: removes the directory and the history rows; works if either exists. */
  async deleteBackup(dirname: string): Promise<void> {
    const dir = path.join(this.backupRoot, dirname);
    const onDisk = existsSync(dir);
    const rows = this.rows('system_backup_history').filter((r) => r.dirname === dirname);
    if (!onDisk && rows.length === 0) throw new Error('Backup not found');
    await rm(dir, { recursive: true, force: true });
    this.db.tables.system_backup_history = this.rows('system_backup_history').filter((r) => r.dirname !== dirname);
    await this.save();
  }

  /** validateBackup (systemBackupService.ts:423-466): reads each listed table as a UTF-8 string and hashes it again. */
  private validateBackup(dir: string): string[] {
    const errors: string[] = [];
    try {
      if (!existsSync(dir)) return ['Backup directory not found'];
      let metadata: { tables?: unknown; checksums?: Record<string, string> };
      try {
        metadata = JSON.parse(readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as typeof metadata;
      } catch {
        return ['metadata.json not found or invalid'];
      }
      for (const table of (metadata.tables as string[]) ?? []) {
        const file = path.join(dir, `${table}.json`);
        if (!existsSync(file)) {
          errors.push(`Missing table file: ${table}.json`);
          continue;
        }
        const actual = createHash('sha256').update(readFileSync(file, 'utf8')).digest('hex');
        if (metadata.checksums?.[table] !== actual) errors.push(`Checksum mismatch for table: ${table}`);
      }
    } catch (error) {
      errors.push(`Validation error: ${(error as Error).message}`);
    }
    return errors;
  }

  /**
   * The RESTORE_FROM_BACKUP startup path (server.ts:240-307, systemRestoreService.ts). The checks upstream
   * runs at bootstrap come before `databaseReady` (which logs "Database ready"); validation and restore after.
   */
  async restoreAtStartup(name: string, databaseReady: () => Promise<void>): Promise<void> {
    const log = this.options.log;
    await log.write('INFO', `🔍 RESTORE_FROM_BACKUP environment variable detected: ${name}`);
    // shouldRestore(): the value is joined to the backup root without checking its pattern (upstream does the same).
    const dir = path.join(this.backupRoot, name);
    if (existsSync(this.markerFile) && (await readFile(this.markerFile, 'utf8')).trim() === name) {
      // Only these two lines of the block are known (spec §5.1, §5.5).
      await log.write('WARN', '⚠️  RESTORE ALREADY COMPLETED');
      await log.write('WARN', '⚠️  Skipping restore to prevent data loss.');
      await databaseReady();
      return;
    }
    let fatal: string | null = null;
    if (!existsSync(dir)) {
      await log.write('ERROR', `❌ Backup directory not found: ${dir}`);
      fatal = `Backup directory not found: ${name}`;
    } else if (!existsSync(path.join(dir, 'metadata.json'))) {
      fatal = `Backup metadata not found in: ${name}`;
    }
    if (fatal !== null) {
      await log.write('ERROR', `❌ Fatal error during bootstrap restore: Error: ${fatal}`);
      await log.write('ERROR', '⚠️  Container will start normally with existing database');
      await databaseReady();
      return;
    }
    await databaseReady();
    // canRestore(): validation, then the schema version.
    const errors = this.validateBackup(dir);
    let refusal: string | null = errors.length > 0 ? `Backup validation failed: ${errors.join(', ')}` : null;
    let metadata: RestoreMetadata | null = null;
    if (refusal === null) {
      const parsed = JSON.parse(await readFile(path.join(dir, 'metadata.json'), 'utf8')) as RestoreMetadata;
      metadata = parsed;
      if (parsed.schemaVersion > MM_SCHEMA_VERSION) {
        refusal = `Backup schema version (${parsed.schemaVersion}) is newer than current version (${MM_SCHEMA_VERSION}). Cannot restore from future version.`;
      }
    }
    if (refusal !== null || metadata === null) {
      await log.write('ERROR', `❌ Cannot restore from backup: ${refusal}`);
      await log.write('ERROR', '⚠️  Container will start normally without restore');
      return;
    }
    await log.write('INFO', '✅ Backup validation passed, starting restore...');
    await log.write('INFO', `🔄 Starting system restore from backup: ${name}`);
    const started = performance.now();
    const snapshot = structuredClone(this.db);
    let tablesRestored = 0;
    let rowsRestored = 0;
    try {
      // One transaction (SQLite path, :349-419): any error rolls every table back.
      for (const table of metadata.tables) {
        if (!BACKUP_TABLES.includes(table)) {
          await log.write('WARN', `⚠️  Skipping table not in backup allowlist: ${table}`);
          continue;
        }
        const file = path.join(dir, `${table}.json`);
        if (!existsSync(file)) {
          await log.write('WARN', `⚠️  Backup file not found for table ${table}, skipping`);
          continue;
        }
        const rows = JSON.parse(await readFile(file, 'utf8')) as Row[];
        try {
          this.replaceTable(table, rows);
        } catch (error) {
          await log.write('ERROR', `  ❌ Failed to restore table ${table}: ${String(error)}`);
          throw error;
        }
        tablesRestored++;
        rowsRestored += rows.length;
      }
    } catch (error) {
      this.db = snapshot;
      const message = (error as Error).message;
      await log.write('ERROR', `❌ System restore failed: ${String(error)}`);
      this.audit('system_restore_failed', 'system', null, { dirname: name, error: `System restore failed: ${message}` }, null);
      await this.save();
      await log.write('ERROR', `❌ System restore failed: System restore failed: ${message}`);
      await log.write('ERROR', '⚠️  Container will start normally with existing database');
      return;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    await log.write('INFO', `✅ System restore completed: ${tablesRestored} tables, ${rowsRestored} rows in ${seconds}s`);
    this.audit('system_restore_completed', 'system', null, {
      dirname: name, tablesRestored, rowsRestored, backupVersion: metadata.backupVersion, backupSchemaVersion: metadata.schemaVersion,
      currentSchemaVersion: MM_SCHEMA_VERSION, migrationRequired: metadata.schemaVersion < MM_SCHEMA_VERSION,
    }, null);
    try {
      await writeFile(this.markerFile, name);
    } catch (error) {
      await log.write('WARN', `⚠️  Failed to write restore marker file: ${String(error)}`);
      await log.write('WARN', '⚠️  Re-restore protection may not work properly');
    }
    await log.write('INFO', '✅ System restore completed successfully!');
    await log.write('INFO', `📊 Restored ${tablesRestored} tables with ${rowsRestored} rows`);
    await log.write('INFO', '🚀 Continuing with normal startup...');
    this.audit('system_restore_bootstrap_complete', 'system', null, { dirname: name }, null);
    await this.save();
  }

  /** DELETE FROM <table> then one INSERT per row with the first row's columns (FK cascades included). */
  private replaceTable(table: string, rows: Row[]): void {
    this.db.tables[table] = [];
    if (table === 'users') this.db.tables.api_tokens = []; // ON DELETE CASCADE (§5.4)
    if (rows.length === 0) return;
    const columns = Object.keys(rows[0]!);
    for (const column of columns) {
      if (!COLUMN_RE.test(column)) throw new Error(`Invalid column name: ${column}`);
    }
    const known = this.db.columns[table];
    const unknown = known === undefined ? undefined : columns.find((c) => !known.includes(c));
    if (unknown !== undefined) throw new SqliteError(`table ${table} has no column named ${unknown}`);
    this.db.tables[table] = rows.map((row) => Object.fromEntries(columns.map((c) => [c, row[c] ?? null])));
    const maxId = Math.max(0, ...this.db.tables[table].map((r) => (typeof r.id === 'number' ? r.id : 0)));
    this.db.sequences[table] = Math.max(this.db.sequences[table] ?? 0, maxId);
  }

  /** Whether a backup directory exists on disk. */
  async backupExists(dirname: string): Promise<boolean> {
    return stat(path.join(this.backupRoot, dirname)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }
}
