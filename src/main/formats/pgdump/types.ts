/**
 * The typed model of a PostgreSQL `pg_dump --format=custom` archive (archive versions 1.10–1.16).
 * Byte layout: ../shared/specs/pgdump-custom-format.md. Field names follow pg_dump's own
 * (`pg_backup_archiver.h`) so the source can be read side by side.
 */

/** Compression as recorded in the header: 1.14 stores a zlib level, 1.15+ an algorithm byte. */
export interface PgDumpCompression {
  algorithm: 'none' | 'gzip' | 'lz4' | 'zstd';
  /** The zlib level of archives before 1.15 (-1 = zlib default, 0 = none); null from 1.15 on, which do not store it. */
  level: number | null;
}

/** pg_dump's broken-down creation time (`struct tm` fields, exactly as stored). */
export interface PgDumpCreationTm {
  sec: number;
  min: number;
  hour: number;
  mday: number;
  /** 0–11, as in `struct tm`. */
  mon: number;
  /** Years since 1900, as in `struct tm`. */
  year: number;
  isdst: number;
}

/** The archive header (spec §4). */
export interface PgDumpHeader {
  versionMajor: number;
  versionMinor: number;
  versionRev: number;
  /** `1.14-0`, as `pg_restore --list` prints it. */
  version: string;
  intSize: number;
  offSize: number;
  /** Always 'custom' (1); other formats are refused. */
  format: 'custom';
  compression: PgDumpCompression;
  createdTm: PgDumpCreationTm;
  /** The creation time as the dumping host's local wall-clock time, `YYYY-MM-DDTHH:MM:SS`, no zone (pg_dump stores none). */
  createdLocal: string;
  dbname: string | null;
  serverVersion: string | null;
  pgDumpVersion: string | null;
}

/** Section of a TOC entry (`teSection`). */
export type PgDumpSection = 'NONE' | 'PRE_DATA' | 'DATA' | 'POST_DATA';

/** Where an entry's data block is (`K_OFFSET_*`). */
export type PgDumpDataState = 'NO_DATA' | 'POS_NOT_SET' | 'POS_SET';

/** What the data-block walk found for one entry (only with `scanData`). */
export interface PgDumpBlockInfo {
  /** Byte offset of the block-type byte. */
  start: number;
  /** Bytes of the whole block: type byte, dump id, chunk headers, payload, terminators. */
  bytes: number;
  /** Sum of the chunk payloads (the compressed bytes as stored). */
  storedBytes: number;
  /** For BLOBS blocks: each large object with its stored payload bytes. */
  largeObjects?: { oid: number; storedBytes: number }[];
}

/** One TOC entry (spec §5). Strings keep pg_dump's NULL (null) apart from "". */
export interface PgDumpTocEntry {
  dumpId: number;
  hadDumper: boolean;
  tableoid: number;
  oid: number;
  /** Object name without schema; a NULL tag reads as "" (pg_restore prints it so). */
  tag: string;
  desc: string;
  section: PgDumpSection;
  /** The section the entry belongs to: NONE entries (comments, ACLs) take the one in force before them. */
  effectiveSection: Exclude<PgDumpSection, 'NONE'>;
  defn: string | null;
  dropStmt: string | null;
  copyStmt: string | null;
  namespace: string | null;
  tablespace: string | null;
  /** Table access method (archives ≥ 1.14), e.g. `heap`. */
  tableam: string | null;
  /** `pg_class.relkind` character (archives ≥ 1.16), null when not stored or 0. */
  relkind: string | null;
  owner: string | null;
  /** True only for an (unsupported) WITH OIDS table. */
  withOids: boolean;
  dependencies: number[];
  dataState: PgDumpDataState;
  /** Absolute offset of the data block when `dataState` is POS_SET, else null. */
  dataOffset: number | null;
  /** Filled by the data-block walk (`scanData`). */
  block?: PgDumpBlockInfo;
}

/** A table of the archive with its data entry and size. */
export interface PgDumpTable {
  schema: string | null;
  name: string;
  owner: string | null;
  tableam: string | null;
  relkind: string | null;
  /** Dump id of the TABLE entry (null for a data-only archive where only TABLE DATA exists). */
  dumpId: number | null;
  /** Dump id of its TABLE DATA entry, null when the archive holds no data for it. */
  dataDumpId: number | null;
  hasData: boolean;
  /**
   * Stored size of the data block in bytes (headers included): from the block walk, or from the
   * distance between recorded offsets; null when neither is available (piped dump, no scan).
   */
  dataBytes: number | null;
  /** Compressed chunk payload bytes as stored (block walk only). */
  storedBytes: number | null;
}

/** Entry counts per section, NONE entries counted in the section before them. */
export interface PgDumpSectionsSummary {
  preData: number;
  data: number;
  postData: number;
}

/** Large objects held by the archive. */
export interface PgDumpLargeObjects {
  count: number;
  /** Stored bytes of all BLOBS blocks (null when not known). */
  dataBytes: number | null;
}

/** What `readPgDumpToc` returns. */
export interface PgDumpArchive {
  header: PgDumpHeader;
  tocCount: number;
  entries: PgDumpTocEntry[];
  /** Byte offset right after the TOC, where the first data block starts. */
  dataStart: number;
  /** File size when known (path input, or a stream read to its end). */
  fileSize: number | null;
  /** True when the data blocks were walked to EOF and every data entry had its block. */
  dataScanned: boolean;
  tables: PgDumpTable[];
  /** SCHEMA entries plus every other namespace named by an entry, sorted. */
  schemas: string[];
  sections: PgDumpSectionsSummary;
  largeObjects: PgDumpLargeObjects;
  /** Count of entries by `desc` (e.g. `{ TABLE: 5, INDEX: 1 }`). */
  objectCounts: Record<string, number>;
}

/** Progress report of a long read. */
export interface PgDumpProgress {
  phase: 'toc' | 'data';
  bytes: number;
  total: number | null;
}
