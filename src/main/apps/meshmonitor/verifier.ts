// Checking a MeshMonitor tar.gz while it streams into the vault, and turning the result of
// verifyMeshMonitorBackup into the integrity lines the UI shows.
import { PassThrough } from 'node:stream';
import type { IntegrityCheck } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { StreamVerifier } from '../adapter';
import { MESHMONITOR_SCHEMA_VERSION, verifyMeshMonitorBackup, type MeshMonitorBackupSummary } from './backup-format';

/** What a finished verification knows: the summary when the archive is sound, else the error. */
export type VerifyOutcome = { summary: MeshMonitorBackupSummary; error: null } | { summary: null; error: LifeboatError };

const METADATA_NOTE: IntegrityCheck = {
  id: 'metadata-json', kind: 'integrity', name: 'metadata.json',
  ok: true,
  detail: 'not covered by any checksum: MeshMonitor signs nothing, so its fields (schemaVersion, timestamp, version) are taken on trust',
};

/** Verifies a .tar.gz stream; never throws for a bad archive (the error is returned), only for cancellation. */
export async function verifyStream(stream: NodeJS.ReadableStream, signal?: AbortSignal, onMetadataText?: (text: string) => void): Promise<VerifyOutcome> {
  try {
    const summary = await verifyMeshMonitorBackup(stream as PassThrough, { allowNewerSchema: true, ...(signal ? { signal } : {}), ...(onMetadataText ? { onMetadataText } : {}) });
    return { summary, error: null };
  } catch (error) {
    if (error instanceof LifeboatError && error.code !== 'CANCELLED') return { summary: null, error };
    throw error;
  }
}

/** The integrity lines of a verification: parse, every table's SHA-256 (a mismatch names its table), schema. */
export function integrityChecks(outcome: VerifyOutcome): IntegrityCheck[] {
  if (outcome.summary === null) {
    const { error } = outcome;
    const bad = error.details?.tables;
    if (error.code === 'ARCHIVE_VERIFY_FAILED' && Array.isArray(bad) && bad.length > 0) {
      const lines = (bad as { table: string; expected: string | null; actual: string | null }[]).map((t): IntegrityCheck => ({
        id: `table:${t.table}`, kind: 'integrity', name: `Table ${t.table}`,
        ok: false,
        detail:
          t.actual === null
            ? `${t.table}.json is missing from the archive`
            : `SHA-256 of ${t.table}.json is ${t.actual}, but metadata.json says ${t.expected ?? '(no checksum)'}`,
      }));
      return [{ id: 'gzip-and-tar', kind: 'integrity', name: 'gzip and tar', ok: true, detail: 'the archive parses to its end' }, ...lines, METADATA_NOTE];
    }
    return [{ id: 'archive', kind: 'integrity', name: 'Archive', ok: false, detail: error.message }];
  }
  const s = outcome.summary;
  const checks: IntegrityCheck[] = [
    { id: 'gzip-and-tar', kind: 'integrity', name: 'gzip and tar', ok: true, detail: 'the archive parses to its end' },
    {
      id: 'table-checksums', kind: 'integrity', name: 'Table checksums',
      ok: true,
      detail: `all ${s.tables.length} table files match metadata.json's SHA-256 over their exact bytes (${s.totalRows} rows)`,
    },
    {
      id: 'schema-version', kind: 'compatibility', name: 'Schema version',
      ok: s.schemaVersion <= MESHMONITOR_SCHEMA_VERSION,
      detail:
        s.schemaVersion <= MESHMONITOR_SCHEMA_VERSION
          ? `${s.schemaVersion} (MeshMonitor 4.15.1 restores up to ${MESHMONITOR_SCHEMA_VERSION})`
          : `${s.schemaVersion} is newer than ${MESHMONITOR_SCHEMA_VERSION}: MeshMonitor 4.15.1 refuses to restore it`,
    },
    METADATA_NOTE,
  ];
  if (s.extraFiles.length > 0) {
    checks.push({ id: 'extra-files', kind: 'integrity', name: 'Extra files', ok: true, detail: `ignored by MeshMonitor: ${s.extraFiles.join(', ')}` });
  }
  return checks;
}

/**
 * A verifier fed chunk by chunk (the pull runner's tee). The archive is parsed concurrently; once it is
 * known to be bad, later chunks are dropped rather than buffered. `onMetadata` gets metadata.json's
 * text when verification succeeds, for the vault's sidecar.
 */
export function createStreamVerifier(onSummary?: (summary: MeshMonitorBackupSummary) => void): StreamVerifier {
  const input = new PassThrough();
  let failed = false;
  const outcome = verifyStream(input).then((result) => {
    if (result.summary === null) {
      failed = true;
      input.resume();
    } else {
      onSummary?.(result.summary);
    }
    return result;
  });
  // Cancellation cannot happen here (no signal), but the promise must never be left rejecting unobserved.
  outcome.catch(() => undefined);
  return {
    write(chunk) {
      if (!failed) input.write(chunk);
    },
    async finish() {
      input.end();
      return integrityChecks(await outcome);
    },
  };
}
