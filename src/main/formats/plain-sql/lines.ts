/**
 * Lines of a plain pg_dump script in bounded memory: the first bytes of a line (up to a cap), its
 * last bytes and its length, however long it is. Enough to tell a comment, a `COPY … FROM stdin;`
 * statement and the `\.` that ends its data, without ever holding a huge line whole.
 */
import { copyColumns } from './copy-text';

/** What is kept of one line. */
export interface LineView {
  /** The first bytes (at most the cap). */
  head: Buffer;
  /** The last bytes (at most 16). */
  tail: Buffer;
  /** The whole line's length in bytes, without its newline. */
  length: number;
}

const TAIL_BYTES = 16;

/** Collects one line's pieces; `take` hands the line over and starts the next. */
export class LineAssembler {
  private parts: Buffer[] = [];
  private kept = 0;
  private tail: Buffer = Buffer.alloc(0);
  private length = 0;

  constructor(private cap: number) {}

  /** Bytes of the line so far. */
  get size(): number {
    return this.length;
  }

  /** How many head bytes the next lines keep. */
  setCap(cap: number): void {
    this.cap = cap;
  }

  /** Adds a piece of the current line (no newline in it). */
  push(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.kept < this.cap) {
      const part = piece.subarray(0, this.cap - this.kept);
      this.parts.push(Buffer.from(part));
      this.kept += part.length;
    }
    this.length += piece.length;
    this.tail = piece.length >= TAIL_BYTES ? Buffer.from(piece.subarray(piece.length - TAIL_BYTES)) : Buffer.concat([this.tail, piece]).subarray(-TAIL_BYTES);
  }

  /** The line as kept, and a fresh start for the next. */
  take(): LineView {
    const view = { head: this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts), tail: this.tail, length: this.length };
    this.parts = [];
    this.kept = 0;
    this.tail = Buffer.alloc(0);
    this.length = 0;
    return view;
  }
}

/** The text of a line's head without a trailing CR and NUL bytes (which pg_dump never writes). */
export function lineText(line: LineView): string {
  return line.head.toString('utf8').replace(/\r$/, '').replace(/\0/g, '');
}

/** Whether a data line is `\.`, the end of a COPY block. */
export function isEndOfCopyData(line: LineView): boolean {
  const text = line.head.toString('latin1');
  return (line.length === 2 && text === '\\.') || (line.length === 3 && text === '\\.\r');
}

/** A `COPY <table> [(<columns>)] FROM stdin;` statement, split up. */
export interface CopyStatement {
  schema: string | null;
  name: string;
  /** The columns, when the whole statement fitted the line cap. */
  columns: string[];
}

const IDENT = String.raw`(?:"(?:[^"]|"")*"|[^\s."(]+)`;
const COPY_HEAD = new RegExp(String.raw`^COPY (${IDENT})(?:\.(${IDENT}))?(?: |$)`);

/** The statement when the line is a COPY from stdin (by its head and its tail), else null. */
export function copyStatementOf(line: LineView, text: string): CopyStatement | null {
  if (!text.startsWith('COPY ')) return null;
  if (!line.tail.toString('latin1').replace(/\r$/, '').endsWith('FROM stdin;')) return null;
  const match = COPY_HEAD.exec(text);
  if (!match?.[1]) return null;
  const unquote = (ident: string): string => (ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident);
  const schema = match[2] ? unquote(match[1]) : null;
  const name = unquote(match[2] ?? match[1]);
  const whole = line.length === line.head.length;
  return { schema, name, columns: whole ? copyColumns(text) : [] };
}
