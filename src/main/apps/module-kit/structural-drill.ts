/**
 * A structural restore drill for apps with no scratch instance to restore into: the module's own
 * full read of the archive (every row parsed and validated for its format version, references
 * matched with members, every checksum and CRC recomputed from the bytes the vault hands back),
 * with the rows per table it counted.
 */
import type { ContentsTable } from '../../../shared/apps';
import type { DrillPart, FormatPart } from '../module';

/** A drill from a format part's preview; `rowsOf` picks a table's name and row count from a contents row. */
export function structuralDrill(format: FormatPart, checked: string[], rowsOf: (row: ContentsTable['rows'][number]) => { table: string; rows: number | null } | null): DrillPart {
  return {
    async structural(archive, ctx) {
      const report = await format.preview(archive, ctx);
      const tables = report.contents.rows.map(rowsOf).filter((t): t is { table: string; rows: number | null } => t !== null);
      return { checks: report.integrity.checks, tables, checked };
    },
  };
}
