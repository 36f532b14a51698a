/**
 * The preview of a Loomio backup: decrypted while verified, the dump read as it streams (versions,
 * tables with COPY row counts), what the name says (tier, reason) against the Fernet time and the
 * file's mtime, and the stack's pitfalls for this file: version skew, same-day overwrite,
 * retention, no encryption. Nothing read from a token whose HMAC failed is shown.
 */
import type { CompatibilityRequirement, IntegrityCheck, PreviewReport } from '../../../shared/apps';
import type { ArchiveAccess } from '../adapter';
import type { PlainSqlSummary } from '../../formats/plain-sql';
import type { LoomioScan } from './archive-scan';
import { KEY_SLOT } from './key';
import { parseLoomioBackupName, retentionDeadline, type LoomioBackupName } from './names';

const HOUR = 3_600_000;

/** A time as people read it in a report: `2026-11-23 13:12:11 UTC`. */
function utc(time: Date): string {
  return `${time.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
const DAY = 24 * HOUR;

/** The integrity lines of a scan: the token (or the lack of one), then the dump. */
function scanChecks(scan: LoomioScan, keyId: string | null): IntegrityCheck[] {
  const checks: IntegrityCheck[] = [];
  const tokenFailed = scan.encrypted && scan.fernet === null;
  if (scan.encrypted) {
    checks.push(tokenFailed
      ? { id: 'fernet-hmac', kind: 'integrity', name: 'Fernet HMAC', ok: false, detail: scan.failure?.message ?? 'the token did not verify' }
      : { id: 'fernet-hmac', kind: 'integrity', name: 'Fernet HMAC', ok: true, detail: `HMAC-SHA256 over the whole token verified with BACKUP_ENCRYPTION_KEY${keyId ? ` (key ${keyId})` : ''}` });
  } else {
    checks.push({ id: 'encryption', kind: 'integrity', name: 'Encryption', ok: true, detail: 'not encrypted: a plain dump carries no checksum, so nothing proves it unaltered' });
  }
  if (tokenFailed) return checks;
  const sql = scan.sql;
  checks.push(sql
    ? { id: 'pg-dump', kind: 'integrity', name: 'pg_dump script', ok: sql.complete, detail: sql.complete ? `every COPY block ends with \\.; ${sql.tables.length} tables, ${sql.totalRows} rows; "dump complete" trailer present` : 'the "-- PostgreSQL database dump complete" trailer is missing: pg_dump did not finish writing it' }
    : { id: 'pg-dump', kind: 'integrity', name: 'pg_dump script', ok: false, detail: scan.failure?.message ?? 'not read' });
  return checks;
}

/** The major version of a `15.18 (Debian …)` string, or null. */
export function majorOf(version: string | null): number | null {
  const match = /^(\d+)/.exec(version ?? '');
  return match ? Number(match[1]) : null;
}

/** Builds the report; `now` is when the preview runs (retention counts from it). */
export function buildLoomioPreview(archive: ArchiveAccess, scan: LoomioScan, keyId: string | null, now: Date): Omit<PreviewReport, 'source'> {
  const name = parseLoomioBackupName(archive.fileName);
  const checks = scanChecks(scan, keyId);
  const ok = checks.every((c) => c.ok);
  // Contents come only from a verified token (or a plain file): otherwise they may be forged.
  const sql = ok ? scan.sql : null;
  const createdAt = scan.fernet?.timestamp ?? name?.nameTime ?? null;
  const summary: { label: string; value: string }[] = [
    { label: 'Tier', value: name ? (name.tier === 'v1' ? 'v1 (loomio_backup_…, before the Nov-2025 rewrite)' : name.tier) : 'unknown: not named as the stack names its backups' },
    ...(name?.reason ? [{ label: 'Reason', value: name.reason }] : []),
    { label: 'Encrypted', value: scan.encrypted ? `yes: one Fernet token${keyId ? `, key ${keyId}` : ''}` : 'NO: a plain SQL dump' },
    { label: 'Fernet time', value: scan.fernet ? utc(scan.fernet.timestamp) : scan.encrypted ? 'unknown (the token did not verify)' : 'none' },
    ...(name ? [{ label: 'Time in the name', value: utc(name.nameTime) }] : []),
    ...(archive.mtime ? [{ label: 'File mtime', value: utc(archive.mtime) }] : []),
    ...(sql ? [
      { label: 'Dumped by pg_dump', value: sql.pgDumpVersion ?? 'unknown' },
      { label: 'Dumped from PostgreSQL', value: sql.serverVersion ?? 'unknown' },
      { label: 'Tables with data', value: String(sql.tables.length + sql.tablesNotListed) },
      { label: 'Rows', value: String(sql.totalRows) },
      { label: 'Objects', value: String(sql.objects.length + sql.objectsNotListed) },
    ] : []),
  ];
  return {
    app: 'loomio',
    fileName: archive.fileName,
    sizeBytes: scan.bytes,
    appVersion: null,
    createdAt: createdAt?.toISOString() ?? null,
    integrity: { ok, checks },
    summary,
    contents: {
      title: sql ? 'Tables (rows in their COPY blocks)' : 'Tables (not shown: the archive did not verify)',
      columns: [{ key: 'table', label: 'Table' }, { key: 'rows', label: 'Rows', numeric: true }, { key: 'columns', label: 'Columns' }],
      rows: (sql?.tables ?? []).map((t) => ({ table: t.qualified, rows: t.rows, columns: t.columns.join(', ') })),
    },
    notIncluded: [
      "Uploaded files and attachments: they live in data/production/uploads/{storage,system,files} on the Pi (and go to Google Drive unencrypted), never in the dump.",
      'The stack\'s .env (BACKUP_ENCRYPTION_KEY, POSTGRES_PASSWORD, Rails secrets): never backed up by the stack; keep a copy elsewhere.',
      'Database roles and permissions: the dump is made with --no-owner --no-acl.',
    ],
    secrets: scan.encrypted
      ? ['Encrypted with BACKUP_ENCRYPTION_KEY (from the stack\'s .env); without that key the backup cannot be read or restored.']
      : ['Not encrypted: the file holds every user\'s e-mail address, password hash and content in plain text.'],
    warnings: ok ? warnings(archive, scan, sql, name, now) : ['The archive did not verify: nothing read from it is shown, and it cannot be restored.'],
    compatibility: sql ? compatibility(sql) : [],
    sidecars: [],
    selectable: [],
    // "Probably the wrong key" (not "altered", not corrupt): the UI asks for another key, the CLI says the one given failed.
    ...(scan.failure?.details?.fernet === 'wrong-key' ? { keyRejected: { slot: KEY_SLOT, label: 'BACKUP_ENCRYPTION_KEY', message: scan.failure.message } } : {}),
  };
}

function compatibility(sql: PlainSqlSummary): CompatibilityRequirement[] {
  const dumper = majorOf(sql.pgDumpVersion);
  const server = majorOf(sql.serverVersion);
  return [
    { label: 'pg_dump / server', value: `${sql.pgDumpVersion ?? '?'} / ${sql.serverVersion ?? '?'}`, ok: dumper === null || server === null ? null : dumper <= server, check: 'server-version' },
    { label: '\\restrict lines', value: sql.restrictLines > 0 ? `${sql.restrictLines} (pg_dump ≥ 15.14): psql older than 15.14/16.10/17.6 reports "invalid command"; Lifeboat leaves them out for such a psql` : 'none', ok: null },
  ];
}

function warnings(archive: ArchiveAccess, scan: LoomioScan, sql: PlainSqlSummary | null, name: LoomioBackupName | null, now: Date): string[] {
  const out: string[] = [];
  if (!scan.encrypted) out.push('This backup is not encrypted (the stack had no BACKUP_ENCRYPTION_KEY, or encryption failed): anyone with the file — or with the Google Drive folder it was synced to — can read the whole database.');
  if (sql) {
    const dumper = majorOf(sql.pgDumpVersion);
    const server = majorOf(sql.serverVersion);
    if (dumper !== null && server !== null && dumper > server) {
      out.push(`Dumped by pg_dump ${dumper} from a PostgreSQL ${server} server (the backup container's postgresql-client is newer than the db image)${sql.settings.includes('transaction_timeout') ? `: the dump SETs transaction_timeout, which PostgreSQL ${server} rejects; the stack's own restore shrugs it off, Lifeboat's restore (ON_ERROR_STOP) leaves that line out` : ''}.`);
    }
    if (sql.transactionLines > 0) out.push(`The dump has ${sql.transactionLines} BEGIN/COMMIT line(s) of its own; a restore leaves them out so the whole load stays one transaction.`);
    if (sql.nulBytes > 0) out.push(`The dump holds ${sql.nulBytes} NUL byte(s), which pg_dump never writes: it was altered before it was encrypted, or is not a pg_dump script.`);
    if (sql.longLines > 0) out.push(`${sql.longLines} statement line(s) are longer than Lifeboat reads: only their start was looked at.`);
  }
  const fernet = scan.fernet?.timestamp ?? null;
  if (name && (name.tier === 'daily' || name.tier === 'weekly')) {
    out.push(`A ${name.tier} file is named by its day only: a second ${name.tier} run that day (a container restart, a manual run) overwrites it, so it holds the state of ${fernet ? utc(fernet) : 'its last run'}, not of midnight.`);
  }
  if (name && fernet) {
    const skew = fernet.getTime() - name.nameTime.getTime();
    const sameDayTier = name.tier === 'daily' || name.tier === 'weekly';
    if (sameDayTier ? skew < 0 || skew >= DAY : Math.abs(skew) > HOUR) {
      out.push(`The Fernet time (${utc(fernet)}) and the time in the name (${utc(name.nameTime)}) differ by ${Math.round(Math.abs(skew) / 60_000)} minutes: the file was renamed, or the container's clock or time zone is off. The Fernet time is when it was encrypted.`);
    }
  }
  if (fernet && archive.mtime && archive.mtime.getTime() - fernet.getTime() > HOUR) {
    out.push(`The file's mtime (${utc(archive.mtime)}) is later than its Fernet time: it was copied or touched after it was written, and the stack's retention counts from the mtime.`);
  }
  if (name && archive.mtime) {
    const deadline = retentionDeadline(name.tier, archive.mtime);
    if (!deadline) out.push('A v1 file (loomio_backup_…): the current stack\'s cleanup never deletes it.');
    else if (deadline.getTime() <= now.getTime()) out.push(`By its mtime the stack's retention (${name.tier}) has deleted this file from the Pi since ${utc(deadline)}: the copy in Lifeboat may be the only one.`);
    else {
      const left = deadline.getTime() - now.getTime();
      const when = left < 2 * DAY ? `${Math.max(1, Math.round(left / HOUR))} hour(s)` : `${Math.round(left / DAY)} days`;
      out.push(`The stack's retention deletes this ${name.tier} file from the Pi in ${when} (${utc(deadline)}, by mtime).`);
    }
  }
  return out;
}
