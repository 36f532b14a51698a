/**
 * A streaming reader of a plain `pg_dump -F p` script: the versions from the header comments,
 * the objects from the `-- Name: …; Type: …; Schema: …` blocks, and the rows of every
 * `COPY … FROM stdin;` block (one line per row, up to the `\.` line). Memory stays bounded
 * whatever the input: lines are kept only up to a cap, data rows only counted, lists capped.
 */
import { LifeboatError } from '../../../shared/errors';
import { LineAssembler, copyStatementOf, isEndOfCopyData, lineText, type CopyStatement, type LineView } from './lines';

/** An object named by a `-- Name: …; Type: …` comment. */
export interface PlainSqlObject {
  name: string;
  type: string;
  schema: string | null;
}

/** One `COPY … FROM stdin;` block and the rows it holds. */
export interface PlainSqlTable {
  schema: string | null;
  name: string;
  /** `schema.name`, or the name alone. */
  qualified: string;
  columns: string[];
  rows: number;
}

/** What the script says about itself. */
export interface PlainSqlSummary {
  /** The script starts like a pg_dump script (`-- PostgreSQL database dump` in its first lines). */
  isPgDump: boolean;
  /** `-- Dumped from database version …`. */
  serverVersion: string | null;
  /** `-- Dumped by pg_dump version …`. */
  pgDumpVersion: string | null;
  /** The `-- PostgreSQL database dump complete` trailer was seen (pg_dump finished writing). */
  complete: boolean;
  objects: PlainSqlObject[];
  /** Objects beyond the list's cap (counted, not listed). */
  objectsNotListed: number;
  tables: PlainSqlTable[];
  tablesNotListed: number;
  /** Rows in all COPY blocks. */
  totalRows: number;
  /** `\restrict` / `\unrestrict` lines (pg_dump ≥ 15.14, 16.10, 17.6): skipped, counted. */
  restrictLines: number;
  /** `BEGIN;` / `COMMIT;` / `ROLLBACK;` lines of the script's own (pg_dump writes them around large objects). */
  transactionLines: number;
  /** Parameters the script SETs (`statement_timeout`, `transaction_timeout`…). */
  settings: string[];
  lines: number;
  bytes: number;
  /** NUL bytes, which pg_dump never writes (they are ignored, not trusted). */
  nulBytes: number;
  /** Lines outside COPY data longer than the cap: only their start was read. */
  longLines: number;
}

/** Options of {@link PlainSqlReader}. */
export interface PlainSqlReaderOptions {
  /** Names the script in messages. */
  label: string;
  /** Bytes of a line kept for parsing (default 64 KiB); the rest of a longer line is only counted. */
  maxLine?: number;
  /** Objects and tables listed at most (default 100 000 each). */
  maxListed?: number;
}

const DUMPED_FROM = '-- Dumped from database version ';
const DUMPED_BY = '-- Dumped by pg_dump version ';
/** A statement line that ends or starts a transaction on its own. */
export const TRANSACTION_LINE = /^(BEGIN|COMMIT|ROLLBACK|END|START TRANSACTION)\s*;\s*$/i;
const NAME_COMMENT = /^-- (?:Data for )?Name: (.*); Type: (.*); Schema: (.*); Owner: (.*)$/;
const HEADER_LINES = 10;
/** In COPY data only the first bytes of a row matter (is it `\.`?). */
const DATA_CAP = 3;

/** Feed it the script chunk by chunk; `finish` gives the summary or throws a typed error. */
export class PlainSqlReader {
  private readonly cap: number;
  private readonly maxListed: number;
  private readonly line: LineAssembler;
  private copy: (CopyStatement & { rows: number }) | null = null;
  private readonly summary: PlainSqlSummary = {
    isPgDump: false, serverVersion: null, pgDumpVersion: null, complete: false,
    objects: [], objectsNotListed: 0, tables: [], tablesNotListed: 0, totalRows: 0,
    restrictLines: 0, transactionLines: 0, settings: [], lines: 0, bytes: 0, nulBytes: 0, longLines: 0,
  };
  private readonly settings = new Set<string>();

  constructor(private readonly options: PlainSqlReaderOptions) {
    this.cap = options.maxLine ?? 64 * 1024;
    this.maxListed = options.maxListed ?? 100_000;
    this.line = new LineAssembler(this.cap);
  }

  /** Reads one chunk of the script. */
  write(chunk: Buffer): void {
    this.summary.bytes += chunk.length;
    for (let nul = chunk.indexOf(0); nul !== -1; nul = chunk.indexOf(0, nul + 1)) this.summary.nulBytes += 1;
    let pos = 0;
    while (pos < chunk.length) {
      const newline = chunk.indexOf(0x0a, pos);
      if (newline !== -1 && this.copy && this.line.size === 0) {
        // A data line whole in this chunk: only whether it is `\.` matters, so nothing is copied.
        this.summary.lines += 1;
        const n = newline - pos;
        if ((n === 2 || (n === 3 && chunk[pos + 2] === 0x0d)) && chunk[pos] === 0x5c && chunk[pos + 1] === 0x2e) this.endCopy();
        else this.copy.rows += 1;
        pos = newline + 1;
        continue;
      }
      const end = newline === -1 ? chunk.length : newline;
      this.line.push(chunk.subarray(pos, end));
      if (newline === -1) break;
      this.endLine(this.line.take());
      pos = newline + 1;
    }
  }

  /** After the last chunk; ARCHIVE_INVALID when a COPY block has no `\.` (the script was cut off). */
  finish(): PlainSqlSummary {
    if (this.line.size > 0) this.endLine(this.line.take());
    if (this.copy) {
      const table = qualifiedName(this.copy);
      throw new LifeboatError('ARCHIVE_INVALID', `${this.options.label} stops inside the data of ${table}: its COPY block has no "\\." line after ${this.copy.rows} row(s), so the dump was cut off there.`, {
        details: { reason: 'copy-unterminated', table, rows: this.copy.rows },
      });
    }
    this.summary.settings = [...this.settings];
    return this.summary;
  }

  private endLine(line: LineView): void {
    this.summary.lines += 1;
    if (this.copy) {
      if (isEndOfCopyData(line)) this.endCopy();
      else this.copy.rows += 1;
      return;
    }
    if (line.length > this.cap) this.summary.longLines += 1;
    this.statementLine(line, lineText(line));
  }

  private statementLine(line: LineView, text: string): void {
    const s = this.summary;
    if (s.lines <= HEADER_LINES && text === '-- PostgreSQL database dump') s.isPgDump = true;
    if (!text.startsWith('--')) {
      if (text.startsWith('\\restrict ') || text.startsWith('\\unrestrict ')) s.restrictLines += 1;
      else if (text.startsWith('SET ')) this.settings.add(/^SET (\w+)/.exec(text)?.[1] ?? '');
      else if (TRANSACTION_LINE.test(text)) s.transactionLines += 1;
      else {
        const copy = copyStatementOf(line, text);
        if (copy) {
          this.copy = { ...copy, rows: 0 };
          this.line.setCap(DATA_CAP);
        }
      }
      return;
    }
    if (text.startsWith(DUMPED_FROM)) s.serverVersion ??= text.slice(DUMPED_FROM.length).trim();
    else if (text.startsWith(DUMPED_BY)) s.pgDumpVersion ??= text.slice(DUMPED_BY.length).trim();
    else if (text === '-- PostgreSQL database dump complete') s.complete = true;
    else {
      const match = NAME_COMMENT.exec(text);
      if (!match || text.startsWith('-- Data for ')) return;
      if (s.objects.length >= this.maxListed) s.objectsNotListed += 1;
      else s.objects.push({ name: match[1]!, type: match[2]!, schema: match[3] === '-' ? null : match[3]! });
    }
  }

  private endCopy(): void {
    const copy = this.copy!;
    this.copy = null;
    this.line.setCap(this.cap);
    const s = this.summary;
    s.totalRows += copy.rows;
    if (s.tables.length >= this.maxListed) s.tablesNotListed += 1;
    else s.tables.push({ schema: copy.schema, name: copy.name, qualified: qualifiedName(copy), columns: copy.columns, rows: copy.rows });
  }
}

function qualifiedName(copy: CopyStatement): string {
  return copy.schema ? `${copy.schema}.${copy.name}` : copy.name;
}
