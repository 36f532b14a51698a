/**
 * Weavestream's restore drill: the pg_dump custom archive as it is, for pg_restore into a throwaway
 * database, with the COPY row counts and integrity checks of the scan the preview also makes.
 */
import type { DrillPart } from '../module';
import { scanWeavestreamArchive } from './archive-scan';

export const weavestreamDrill: DrillPart = {
  async postgres(archive, ctx) {
    const scan = await scanWeavestreamArchive(archive, ctx);
    return [{
      label: archive.fileName,
      format: 'custom',
      open: () => archive.open(),
      tables: scan.tables.map((t) => ({ table: t.qualified, rows: t.rows })),
      checks: scan.checks,
    }];
  },
};
