/**
 * Text views of a parsed archive: the exact `pg_restore --list` output (`PrintTOCSummary` in
 * pg_backup_archiver.c) and TOC list files for selective restore (`pg_restore -L`).
 */
import { LifeboatError } from '../../../shared/errors';
import { tableDataByTableId } from './model';
import type { PgDumpArchive, PgDumpHeader, PgDumpTocEntry } from './types';

/** Options of `renderPgRestoreList`. */
export interface PgRestoreListOptions {
  /**
   * Which pg_restore to imitate in the `Compression:` line: ≤ 15 prints the stored zlib level
   * (`-1`), 16+ the algorithm name (`gzip`). Default 15 when the archive stores a level (≤ 1.14),
   * else 16 (a 1.15+ archive stores no level, and pg_restore 15 cannot read it anyway).
   */
  pgRestoreMajor?: number;
  /**
   * Zone abbreviation printed after `Archive created at`. pg_restore prints the header's wall
   * time with the *reader's* `%Z`; default: this process's zone as Intl names it ("UTC" under
   * TZ=UTC; Intl may say "GMT+1" where strftime says "CET").
   */
  timeZoneName?: string;
  /** Imitate `pg_restore --create --list`: DATABASE entries and database-level COMMENT/ACL are listed too. */
  createDb?: boolean;
}

/** Renders the archive's TOC exactly as `pg_restore --list` prints it (header block + one line per listed entry). */
export function renderPgRestoreList(archive: PgDumpArchive, options: PgRestoreListOptions = {}): string {
  const { header } = archive;
  const lines = [
    ';',
    `; Archive created at ${createdStamp(header, options.timeZoneName)}`,
    `;     dbname: ${sanitizeLine(header.dbname, false)}`,
    `;     TOC Entries: ${archive.tocCount}`,
    `;     Compression: ${compressionText(header, options.pgRestoreMajor)}`,
    `;     Dump Version: ${header.version}`,
    ';     Format: CUSTOM',
    `;     Integer: ${header.intSize} bytes`,
    `;     Offset: ${header.offSize} bytes`,
  ];
  if (header.serverVersion !== null) lines.push(`;     Dumped from database version: ${header.serverVersion}`);
  if (header.pgDumpVersion !== null) lines.push(`;     Dumped by pg_dump version: ${header.pgDumpVersion}`);
  lines.push(';', ';', '; Selected TOC Entries:', ';');
  for (const entry of archive.entries) {
    if (isListedByPgRestore(entry, options.createDb ?? false)) lines.push(formatTocLine(entry));
  }
  return lines.map((line) => `${line}\n`).join('');
}

/** One TOC line in `--list` form: `3386; 0 16415 TABLE DATA public users postgres`. */
export function formatTocLine(entry: PgDumpTocEntry): string {
  return `${entry.dumpId}; ${entry.tableoid} ${entry.oid} ${entry.desc} ${sanitizeLine(entry.namespace, true)} ${sanitizeLine(entry.tag, false)} ${sanitizeLine(entry.owner, false)}`;
}

/**
 * Whether `pg_restore --list` (no selection options) prints an entry: `_tocEntryRequired` with
 * default options must give REQ_SCHEMA or REQ_DATA. ENCODING/STDSTRINGS/SEARCHPATH are special,
 * DATABASE* and database-level COMMENT/ACL/SECURITY LABEL need --create, and an entry with neither
 * a definition nor data has nothing to restore.
 */
export function isListedByPgRestore(entry: PgDumpTocEntry, createDb = false): boolean {
  const { desc, tag } = entry;
  if (desc === 'ENCODING' || desc === 'STDSTRINGS' || desc === 'SEARCHPATH') return false;
  if (desc === 'DATABASE' || desc === 'DATABASE PROPERTIES') return createDb;
  if ((desc === 'ACL' || desc === 'COMMENT' || desc === 'SECURITY LABEL') && tag.startsWith('DATABASE ') && !createDb) return false;
  if (desc === '<Init>' && tag === 'Max OID') return false;
  let schema = true;
  let data = true;
  if (!entry.hadDumper) {
    const largeObjectMeta = tag.startsWith('LARGE OBJECT') && (desc === 'ACL' || desc === 'COMMENT' || desc === 'SECURITY LABEL');
    if (desc === 'SEQUENCE SET' || desc === 'BLOB' || desc === 'BLOB METADATA' || largeObjectMeta) schema = false;
    else data = false;
  }
  const defn = entry.defn;
  if (!defn || defn.startsWith('-- load via partition root ')) schema = false;
  return schema || data;
}

/** A table chosen for selective restore. */
export interface TableRef {
  schema: string | null;
  name: string;
}

/** Options of `buildSelectiveRestoreList`. */
export interface SelectiveRestoreOptions {
  /**
   * `schema-and-data` (default): everything needed to recreate the tables in an empty database —
   * the TABLE entries and what they depend on (schemas, types, functions), their data, and the
   * objects attached to them (owned sequences and their values, defaults, constraints, indexes,
   * triggers, comments) unless those need a table that was not chosen (a foreign key to it).
   * `data-only`: the TABLE DATA entries and the values of sequences the tables own, for tables
   * that already exist.
   */
  mode?: 'schema-and-data' | 'data-only';
}

/** A `pg_restore -L` list file and what it selects. */
export interface SelectiveRestoreList {
  /** Contents of the list file (comment header, then one `--list` line per entry, in TOC order). */
  text: string;
  entries: PgDumpTocEntry[];
}

/** Objects that belong to some table; an attached entry may never drag one in that was not chosen. */
const RELATION_DESCS = new Set([
  'TABLE', 'TABLE DATA', 'VIEW', 'MATERIALIZED VIEW', 'MATERIALIZED VIEW DATA', 'FOREIGN TABLE',
  'BLOB', 'BLOB METADATA', 'BLOBS',
]);

/** Entry types that hang off a table (or off a sequence the table owns). */
const ATTACHED_DESCS = new Set([
  'SEQUENCE', 'SEQUENCE OWNED BY', 'SEQUENCE SET', 'DEFAULT', 'CONSTRAINT', 'CHECK CONSTRAINT',
  'FK CONSTRAINT', 'INDEX', 'INDEX ATTACH', 'TRIGGER', 'RULE', 'POLICY', 'ROW SECURITY', 'COMMENT',
  'SECURITY LABEL', 'ACL', 'STATISTICS', 'STATISTICS DATA',
]);

/** Entries that pg_restore always handles on its own and a list file must not name. */
const NEVER_LISTED = new Set(['ENCODING', 'STDSTRINGS', 'SEARCHPATH', 'DATABASE', 'DATABASE PROPERTIES']);

/**
 * Builds a `pg_restore -L` list file that restores only the given tables.
 * Throws NOT_FOUND naming a table the archive does not hold.
 */
export function buildSelectiveRestoreList(archive: PgDumpArchive, tables: TableRef[], options: SelectiveRestoreOptions = {}): SelectiveRestoreList {
  const mode = options.mode ?? 'schema-and-data';
  const byId = new Map(archive.entries.map((e) => [e.dumpId, e]));
  const dataByTable = tableDataByTableId(archive.entries);
  const tableEntries = tables.map((ref) => findTable(archive, ref));
  const selected = new Set<number>();
  const anchors = new Set<number>();

  for (const table of tableEntries) {
    if (table.desc === 'TABLE DATA') {
      selected.add(table.dumpId);
      continue;
    }
    const data = dataByTable.get(table.dumpId);
    if (data) selected.add(data.dumpId);
    anchors.add(table.dumpId);
    if (mode === 'schema-and-data') for (const id of closure(table.dumpId, byId, selected)) selected.add(id);
  }

  if (mode === 'schema-and-data') {
    attachDependents(archive.entries, byId, selected, anchors);
  } else {
    // Sequences the tables own keep their current value only through SEQUENCE SET.
    for (const entry of archive.entries) {
      if (entry.desc !== 'SEQUENCE' || !entry.dependencies.some((d) => anchors.has(d))) continue;
      for (const set of archive.entries) {
        if (set.desc === 'SEQUENCE SET' && set.dependencies.includes(entry.dumpId)) selected.add(set.dumpId);
      }
    }
  }

  const entries = archive.entries.filter((e) => selected.has(e.dumpId) && !NEVER_LISTED.has(e.desc));
  const names = tableEntries.map((t) => (t.namespace ? `${t.namespace}.${t.tag}` : t.tag)).join(', ');
  const text = [
    ';',
    `; Selective restore list (${mode}) for: ${sanitizeLine(names, false)}`,
    `; Archive: dbname ${sanitizeLine(archive.header.dbname, false)}, dump version ${archive.header.version}`,
    ';',
    ...entries.map(formatTocLine),
  ].map((line) => `${line}\n`).join('');
  return { text, entries };
}

function findTable(archive: PgDumpArchive, ref: TableRef): PgDumpTocEntry {
  const matches = (e: PgDumpTocEntry): boolean => e.tag === ref.name && (ref.schema === null || e.namespace === ref.schema);
  const found = archive.entries.find((e) => e.desc === 'TABLE' && matches(e)) ?? archive.entries.find((e) => e.desc === 'TABLE DATA' && matches(e));
  if (!found) {
    const name = ref.schema ? `${ref.schema}.${ref.name}` : ref.name;
    throw new LifeboatError('NOT_FOUND', `Table ${name} is not in this archive.`, { details: { schema: ref.schema, name: ref.name } });
  }
  return found;
}

/** Entry ids reachable through dependencies (the entry included), skipping what is already selected. */
function closure(id: number, byId: Map<number, PgDumpTocEntry>, selected: Set<number>): Set<number> {
  const found = new Set<number>();
  const stack = [id];
  while (stack.length > 0) {
    const next = stack.pop() as number;
    if (found.has(next) || selected.has(next)) continue;
    const entry = byId.get(next);
    // A dependency missing from the TOC (partial dump) or handled by pg_restore itself is no requirement.
    if (!entry || NEVER_LISTED.has(entry.desc)) continue;
    found.add(next);
    stack.push(...entry.dependencies);
  }
  return found;
}

/**
 * Adds entries attached to an anchor (a chosen table or something already attached to one),
 * with whatever they depend on, until nothing more fits. An attached entry whose dependencies
 * would pull in another table is left out (e.g. a foreign key to a table not restored).
 */
function attachDependents(entries: PgDumpTocEntry[], byId: Map<number, PgDumpTocEntry>, selected: Set<number>, anchors: Set<number>): void {
  let changed = true;
  while (changed) {
    changed = false;
    for (const entry of entries) {
      if (selected.has(entry.dumpId) || !ATTACHED_DESCS.has(entry.desc)) continue;
      if (!entry.dependencies.some((d) => anchors.has(d))) continue;
      const needed = closure(entry.dumpId, byId, selected);
      if ([...needed].some((id) => RELATION_DESCS.has(byId.get(id)?.desc ?? ''))) continue;
      for (const id of needed) {
        selected.add(id);
        if (ATTACHED_DESCS.has(byId.get(id)?.desc ?? '')) anchors.add(id);
      }
      changed = true;
    }
  }
}

/** pg_restore's `sanitize_line`: CR/LF become spaces; NULL prints as "-" or "". */
function sanitizeLine(text: string | null, wantHyphen: boolean): string {
  if (text === null) return wantHyphen ? '-' : '';
  return text.replace(/[\r\n]/g, ' ');
}

function compressionText(header: PgDumpHeader, pgRestoreMajor: number | undefined): string {
  const level = header.compression.level;
  const major = pgRestoreMajor ?? (level === null ? 16 : 15);
  if (major <= 15 && level !== null) return String(level);
  return header.compression.algorithm;
}

/** `%Y-%m-%d %H:%M:%S %Z` of the stored wall time, as pg_restore prints it. */
function createdStamp(header: PgDumpHeader, timeZoneName: string | undefined): string {
  const zone = timeZoneName ?? localZoneName();
  return `${header.createdLocal.replace('T', ' ')} ${zone}`;
}

function localZoneName(): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName');
  return part?.value ?? 'UTC';
}
