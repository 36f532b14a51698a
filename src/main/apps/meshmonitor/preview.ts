// The preview of a MeshMonitor system backup (.tar.gz): tables and row counts, versions, integrity,
// what the backup leaves out and what a restore of it wipes. Facts: specs/meshmonitor.md §1, §5.
import type { ContentsTable, PreviewReport } from '../../../shared/apps';
import type { ArchiveAccess, StepContext } from '../adapter';
import { MESHMONITOR_BACKUP_TABLES, MESHMONITOR_SCHEMA_VERSION, parseMeshMonitorMetadata, type MeshMonitorMetadata } from './backup-format';
import { MESHMONITOR_EXCLUDED_TABLES, MESHMONITOR_TOTAL_TABLES, restoreEffects } from './tables';
import { integrityChecks, verifyStream } from './verifier';

function safeMetadata(text: string | null): MeshMonitorMetadata | null {
  if (text === null) return null;
  try {
    return parseMeshMonitorMetadata(text);
  } catch {
    // A metadata.json that does not parse is already reported by the integrity checks.
    return null;
  }
}

/** Reads an archive once (verify and count, keeping metadata.json's raw text on the way) and describes it. */
export async function previewBackup(archive: ArchiveAccess, ctx: StepContext): Promise<Omit<PreviewReport, 'source'>> {
  ctx.progress({ phase: 'verify', bytes: 0, total: archive.size });
  const stream = await archive.open();
  let bytes = 0;
  stream.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    ctx.progress({ bytes });
  });
  // metadata.json's text comes from the same pass; an archive broken before it was reached has no known metadata.
  let metadataText: string | null = null;
  const outcome = await verifyStream(stream, ctx.signal, (text) => (metadataText = text));
  const metadata = outcome.summary?.metadata ?? safeMetadata(metadataText);
  const summary = outcome.summary;

  const contents: ContentsTable = {
    title: 'Tables',
    columns: [
      { key: 'table', label: 'Table' },
      { key: 'rows', label: 'Rows', numeric: true },
      { key: 'bytes', label: 'Bytes (JSON)', numeric: true },
    ],
    rows: summary
      ? summary.tables.map((t) => ({ table: t.table, rows: t.rows, bytes: t.bytes }))
      : (metadata?.tables ?? []).map((table) => ({ table, rows: null, bytes: null })),
  };
  const tables = metadata?.tables ?? [];
  const schema = metadata?.schemaVersion ?? null;
  const known = new Set<string>(MESHMONITOR_BACKUP_TABLES);
  const warnings = [
    `A MeshMonitor system backup holds only ${tables.length} of about ${MESHMONITOR_TOTAL_TABLES} tables: automations, waypoints, the channel database, ` +
      'MeshCore, Reticulum and MQTT data, themes, embed profiles and API tokens are not in it. For a complete restore point also keep a copy of the SQLite database.',
    'A restore replaces each restored table as a whole, in one transaction; it merges nothing.',
    ...restoreEffects(tables),
    ...(summary?.warnings ?? []),
  ];
  if (!outcome.summary) warnings.unshift(`This archive failed verification: ${outcome.error.message}`);
  const secrets = [
    'users.json holds bcrypt password hashes, MFA secrets and MFA backup codes.',
    'sources.json holds the connection settings of each source; settings.json holds every server setting.',
  ];
  if (tables.includes('users')) secrets.push('Restoring the users table deletes every API token (FK cascade): a token stored in Lifeboat stops working and must be made again.');

  return {
    app: 'meshmonitor',
    fileName: archive.fileName,
    sizeBytes: archive.size ?? bytes,
    appVersion: metadata?.meshmonitorVersion ?? null,
    createdAt: metadata?.timestamp ?? null,
    integrity: { ok: outcome.summary !== null && (schema ?? 0) <= MESHMONITOR_SCHEMA_VERSION, checks: integrityChecks(outcome) },
    summary: [
      { label: 'Backup', value: summary?.dirname ?? archive.fileName.replace(/\.tar\.gz$/, '') },
      { label: 'MeshMonitor version', value: metadata?.meshmonitorVersion ?? 'unknown' },
      { label: 'Created (UTC)', value: metadata?.timestamp ?? 'unknown' },
      { label: 'Schema version', value: schema === null ? 'unknown' : String(schema) },
      { label: 'Tables', value: String(tables.length) },
      { label: 'Rows', value: summary ? String(summary.totalRows) : 'unknown' },
    ],
    contents,
    notIncluded: [`At least these ${MESHMONITOR_EXCLUDED_TABLES.length} tables of MeshMonitor 4.15.1 (a server that ran other versions may have more):`, ...MESHMONITOR_EXCLUDED_TABLES],
    secrets,
    warnings,
    compatibility: [
      {
        label: 'Schema version',
        value: schema === null ? 'unknown' : `${schema} (4.15.1 restores ≤ ${MESHMONITOR_SCHEMA_VERSION})`,
        ok: schema === null ? null : schema <= MESHMONITOR_SCHEMA_VERSION,
        check: 'schema-version',
      },
      { label: 'Backup format', value: metadata?.backupVersion ?? 'unknown', ok: metadata === null ? null : metadata.backupVersion === '1.0' },
      {
        label: 'Tables MeshMonitor restores',
        value: tables.filter((t) => known.has(t)).length === tables.length ? 'all' : `not ${tables.filter((t) => !known.has(t)).join(', ')}`,
        ok: tables.every((t) => known.has(t)),
      },
    ],
    sidecars: metadataText === null ? [] : [{ name: 'metadata.json', text: metadataText }],
    selectable: summary ? summary.tables.map((t) => t.table) : [],
  };
}
