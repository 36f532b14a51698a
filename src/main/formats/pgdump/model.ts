/**
 * Builds the preview model (tables, schemas, sections, large objects, sizes) from a parsed TOC
 * (spec §7 step 4–5). Pure: no I/O.
 */
import type {
  PgDumpArchive, PgDumpHeader, PgDumpLargeObjects, PgDumpSectionsSummary, PgDumpTable, PgDumpTocEntry,
} from './types';

/** Inputs of `buildArchive`. */
export interface ArchiveParts {
  header: PgDumpHeader;
  entries: PgDumpTocEntry[];
  dataStart: number;
  fileSize: number | null;
  dataScanned: boolean;
}

/** Assembles a PgDumpArchive from the header, the entries and what the data walk found. */
export function buildArchive(parts: ArchiveParts): PgDumpArchive {
  const { header, entries, dataStart, fileSize, dataScanned } = parts;
  const sizes = dataScanned ? sizesFromBlocks(entries) : sizesFromOffsets(entries, fileSize);
  return {
    header,
    tocCount: entries.length,
    entries,
    dataStart,
    fileSize,
    dataScanned,
    tables: buildTables(entries, sizes),
    schemas: collectSchemas(entries),
    sections: summariseSections(entries),
    largeObjects: countLargeObjects(entries, sizes),
    objectCounts: countByDesc(entries),
  };
}

/** The TABLE DATA entry of each TABLE dump id: a TABLE DATA's first dependency is its table (pg_restore's rule). */
export function tableDataByTableId(entries: PgDumpTocEntry[]): Map<number, PgDumpTocEntry> {
  const map = new Map<number, PgDumpTocEntry>();
  for (const entry of entries) {
    const first = entry.dependencies[0];
    if (entry.desc === 'TABLE DATA' && first !== undefined) map.set(first, entry);
  }
  return map;
}

type Sizes = Map<number, { bytes: number; storedBytes: number | null }>;

function sizesFromBlocks(entries: PgDumpTocEntry[]): Sizes {
  const sizes: Sizes = new Map();
  for (const entry of entries) {
    if (entry.block) sizes.set(entry.dumpId, { bytes: entry.block.bytes, storedBytes: entry.block.storedBytes });
  }
  return sizes;
}

/**
 * With offsets recorded (flag 2 on every data entry) a block runs to the next block's offset and
 * the last one to EOF — no data needs reading. Piped dumps (flag 1) have no sizes without a walk.
 */
function sizesFromOffsets(entries: PgDumpTocEntry[], fileSize: number | null): Sizes {
  const sizes: Sizes = new Map();
  const data = entries.filter((e) => e.dataState !== 'NO_DATA');
  if (data.length === 0 || data.some((e) => e.dataOffset === null) || fileSize === null) return sizes;
  const sorted = [...data].sort((a, b) => (a.dataOffset as number) - (b.dataOffset as number));
  sorted.forEach((entry, i) => {
    const end = sorted[i + 1]?.dataOffset ?? fileSize;
    sizes.set(entry.dumpId, { bytes: end - (entry.dataOffset as number), storedBytes: null });
  });
  return sizes;
}

function buildTables(entries: PgDumpTocEntry[], sizes: Sizes): PgDumpTable[] {
  const dataByTable = tableDataByTableId(entries);
  const claimed = new Set<number>();
  const tables: PgDumpTable[] = [];
  for (const entry of entries) {
    if (entry.desc !== 'TABLE') continue;
    const data = dataByTable.get(entry.dumpId) ?? findDataByName(entries, entry);
    if (data) claimed.add(data.dumpId);
    tables.push(makeTable(entry, data, sizes));
  }
  // A data-only archive has TABLE DATA without TABLE entries: still a table to show.
  for (const entry of entries) {
    if (entry.desc === 'TABLE DATA' && !claimed.has(entry.dumpId)) tables.push(makeTable(null, entry, sizes, entry));
  }
  return tables;
}

function findDataByName(entries: PgDumpTocEntry[], table: PgDumpTocEntry): PgDumpTocEntry | undefined {
  return entries.find((e) => e.desc === 'TABLE DATA' && e.tag === table.tag && e.namespace === table.namespace);
}

function makeTable(table: PgDumpTocEntry | null, data: PgDumpTocEntry | undefined, sizes: Sizes, named: PgDumpTocEntry | null = table): PgDumpTable {
  const size = data ? sizes.get(data.dumpId) : undefined;
  return {
    schema: named?.namespace ?? null,
    name: named?.tag ?? '',
    owner: named?.owner ?? null,
    tableam: table?.tableam ?? null,
    relkind: table?.relkind ?? null,
    dumpId: table?.dumpId ?? null,
    dataDumpId: data?.dumpId ?? null,
    hasData: data !== undefined && data.dataState !== 'NO_DATA',
    dataBytes: size?.bytes ?? (data ? null : 0),
    storedBytes: size?.storedBytes ?? (data ? null : 0),
  };
}

function collectSchemas(entries: PgDumpTocEntry[]): string[] {
  const names = new Set<string>();
  for (const entry of entries) {
    if (entry.desc === 'SCHEMA') names.add(entry.tag);
    else if (entry.namespace) names.add(entry.namespace);
  }
  return [...names].sort();
}

function summariseSections(entries: PgDumpTocEntry[]): PgDumpSectionsSummary {
  const summary: PgDumpSectionsSummary = { preData: 0, data: 0, postData: 0 };
  for (const entry of entries) {
    if (entry.effectiveSection === 'PRE_DATA') summary.preData++;
    else if (entry.effectiveSection === 'DATA') summary.data++;
    else summary.postData++;
  }
  return summary;
}

/** ≤ 1.15: one BLOB entry per LO; 1.16: BLOB METADATA entries whose defn lists the OIDs, one a line. */
function countLargeObjects(entries: PgDumpTocEntry[], sizes: Sizes): PgDumpLargeObjects {
  let count = 0;
  for (const entry of entries) {
    if (entry.desc === 'BLOB') count++;
    else if (entry.desc === 'BLOB METADATA') count += (entry.defn ?? '').split('\n').filter((line) => line.trim() !== '').length;
  }
  const blobs = entries.filter((e) => e.desc === 'BLOBS');
  if (count === 0) count = blobs.reduce((n, e) => n + (e.block?.largeObjects?.length ?? 0), 0);
  let dataBytes: number | null = 0;
  for (const entry of blobs) {
    const size = sizes.get(entry.dumpId);
    dataBytes = size && dataBytes !== null ? dataBytes + size.bytes : null;
  }
  return { count, dataBytes };
}

function countByDesc(entries: PgDumpTocEntry[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of entries) counts[entry.desc] = (counts[entry.desc] ?? 0) + 1;
  return counts;
}
