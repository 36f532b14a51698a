/**
 * Loomio's restore drill: the Fernet token verified with the installation's key and decrypted,
 * the plain pg_dump script for psql, with the COPY row counts of the verified plaintext.
 */
import type { IntegrityCheck } from '../../../shared/apps';
import type { DrillPart } from '../module';
import { openPlaintext, scanLoomioArchive } from './archive-scan';
import { formatKey, type LoomioKey } from './key';

export const loomioDrill: DrillPart = {
  async postgres(archive, ctx) {
    let key: LoomioKey | null = null;
    const scan = await scanLoomioArchive(archive, ctx, { readDump: true, key: async (head) => (key = await formatKey(ctx, head)) });
    const checks: IntegrityCheck[] = [];
    if (scan.encrypted) {
      checks.push({ id: 'fernet', kind: 'integrity', name: 'Fernet token', ok: scan.fernet !== null, detail: scan.fernet ? 'the HMAC verified with the installation\'s key' : (scan.failure?.message ?? 'the token did not verify') });
    }
    checks.push({ id: 'dump', kind: 'integrity', name: 'pg_dump script', ok: scan.failure === null && scan.sql !== null, detail: scan.failure?.message ?? (scan.sql?.complete ? 'a complete plain pg_dump script' : 'the script has no "dump complete" trailer: pg_dump did not finish') });
    if (scan.sql && !scan.sql.complete) checks[checks.length - 1]!.ok = false;
    return [{
      label: archive.fileName,
      format: 'plain',
      open: () => openPlaintext(archive, scan, key),
      tables: (scan.sql?.tables ?? []).map((t) => ({ table: t.qualified, rows: t.rows })),
      checks,
    }];
  },
};
