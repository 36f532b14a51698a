/**
 * The preview of a Weavestream dump: manifest facts, the dump's TOC (our reader, never
 * pg_restore), per-table sizes and row counts, what a dump never holds, integrity checks.
 */
import type { PreviewReport } from '../../../shared/apps';
import type { ArchiveAccess } from '../adapter';
import { minPgRestoreMajor } from '../../formats/pgdump';
import { WEAVESTREAM_ARCHIVE_MINOR, parseWeavestreamFileName } from './backup-files';
import { effectivePasswordKid, hasKnownMigrationHash } from './manifest';
import type { ArchiveScan } from './archive-scan';

/** `.env` keys a restore target must share with the source (spec §4.1); none is in the dump. */
export const WEAVESTREAM_ENV_KEYS = [
  'PASSWORD_ENCRYPTION_KEY',
  'PASSWORD_PREVIOUS_KEYS',
  'MFA_ENCRYPTION_KEY',
  'INTEGRATION_SECRET_KEY',
  'SMTP_SECRET_KEY',
  'JWT_SIGNING_KEY',
  'COOKIE_SIGNING_KEY',
] as const;

/** Builds the preview report (without `source`, which the caller knows). */
export function buildWeavestreamPreview(access: ArchiveAccess, scan: ArchiveScan): Omit<PreviewReport, 'source'> {
  const { manifest } = scan.lookup;
  const header = scan.archive?.header ?? null;
  const stamp = parseWeavestreamFileName(access.fileName);
  const tableNames = new Set(scan.tables.map((t) => t.name));

  const summary: PreviewReport['summary'] = [];
  const fact = (label: string, value: string | number | null | undefined): void => {
    if (value !== null && value !== undefined) summary.push({ label, value: String(value) });
  };
  if (manifest) {
    fact('Weavestream version', manifest.weavestreamVersion);
    fact('Prisma migration hash', manifest.prismaMigrationHash);
    fact('Password-encryption kid', manifest.passwordEncryptionKid ?? '1 (PASSWORD_ENCRYPTION_KEY_KID not set: the default)');
    fact('Database host (DATABASE_URL)', manifest.databaseUrlHostname);
    fact('Manifest generated', manifest.generatedAt);
  }
  if (stamp) fact('pg_dump started (from file name)', stamp.startedAt.toISOString());
  if (header) {
    fact('Archive version', header.version);
    fact('Compression', header.compression.algorithm + (header.compression.level !== null ? ` (level ${header.compression.level})` : ''));
    fact('pg_dump version', header.pgDumpVersion);
    fact('Server version', header.serverVersion);
    fact('Database', header.dbname);
    fact('Dumped at (dumping host local time)', header.createdLocal);
  }
  if (scan.archive) {
    fact('Schemas', scan.archive.schemas.join(', '));
    fact('Tables', scan.archive.tables.length);
    fact('TOC entries', scan.archive.tocCount);
    if (scan.archive.largeObjects.count > 0) fact('Large objects', scan.archive.largeObjects.count);
  }
  if (scan.migrations) {
    const newest = scan.migrations.at(-1);
    fact('Applied migrations in the dump', `${scan.migrations.length}${newest ? ` (newest ${newest.name})` : ''}`);
  }
  fact('SHA-256', scan.sha256);

  const warnings: string[] = [];
  if (!manifest) warnings.push(`No valid manifest: ${scan.lookup.problem ?? 'unknown'}. Weavestream version, migration level and key id cannot be checked.`);
  if (manifest && !hasKnownMigrationHash(manifest)) warnings.push(`The manifest has no migration hash (${manifest.prismaMigrationHash.replace(/^unknown:/, '')}); migration compatibility is checked from _prisma_migrations only.`);
  if (header && header.versionMinor !== WEAVESTREAM_ARCHIVE_MINOR) warnings.push(`Archive version ${header.version} is not the 1.${WEAVESTREAM_ARCHIVE_MINOR} Weavestream's pg_dump 16 writes; this dump was made by another pg_dump.`);
  if (tableNames.has('backup_config')) warnings.push('Restored backup_config rows start their own schedules (and prunes) when the api boots.');
  if (scan.tables.some((t) => t.hasData && t.rows === null)) warnings.push('Row counts are unknown for some tables (INSERT-mode or lz4 data).');

  const secrets = [
    `Saved passwords are encrypted with PASSWORD_ENCRYPTION_KEY${manifest ? ` (kid ${effectivePasswordKid(manifest)})` : ''}; the key is not in the dump, the target's .env must hold it.`,
    'MFA secrets are encrypted with MFA_ENCRYPTION_KEY (not in the dump); without it nobody passes the mandatory TOTP login.',
  ];
  if (tableNames.has('sessions')) secrets.push('The sessions table holds login sessions: they are valid again after a restore if the cookie and JWT keys match.');

  const compatibility: PreviewReport['compatibility'] = [];
  if (header) compatibility.push({ label: 'pg_restore needed', value: `PostgreSQL ${minPgRestoreMajor(header)} or newer`, ok: null, check: 'pg-restore-version' });
  if (manifest) {
    compatibility.push({ label: 'Weavestream image needed', value: `${manifest.weavestreamVersion} or newer`, ok: null, check: 'migration-hash' });
    compatibility.push({ label: 'Password-encryption kid the target must know', value: effectivePasswordKid(manifest), ok: null, check: 'password-kid' });
  }

  return {
    app: 'weavestream',
    fileName: access.fileName,
    sizeBytes: scan.size,
    appVersion: manifest?.weavestreamVersion ?? null,
    createdAt: manifest?.generatedAt ?? stamp?.startedAt.toISOString() ?? null,
    integrity: { ok: scan.ok, checks: scan.checks },
    summary,
    contents: {
      title: 'Tables in the dump',
      columns: [
        { key: 'schema', label: 'Schema' },
        { key: 'table', label: 'Table' },
        { key: 'section', label: 'Holds' },
        { key: 'dataBytes', label: 'Stored data (bytes)', numeric: true },
        { key: 'rows', label: 'Rows', numeric: true },
      ],
      rows: scan.tables.map((t) => ({ schema: t.schema, table: t.name, section: t.hasData ? 'schema and data' : 'schema only', dataBytes: t.dataBytes, rows: t.rows })),
    },
    notIncluded: [
      'Uploaded files (${DATA_DIR}/files): back them up and restore them separately, from the same point in time.',
      `The .env keys (${WEAVESTREAM_ENV_KEYS.join(', ')}): the target must keep the source's values.`,
      'Redis state: step-up windows, rate limits and queued jobs.',
      'Database roles, object owners and privileges (the worker dumps with --no-owner --no-acl).',
    ],
    secrets,
    warnings,
    compatibility,
    sidecars: access.sidecars.map((s) => ({ name: s.name, text: s.content.toString('utf8') })),
    selectable: scan.tables.filter((t) => t.hasData).map((t) => t.qualified),
  };
}
