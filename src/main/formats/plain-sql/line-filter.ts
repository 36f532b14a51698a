/**
 * A pass-through for a plain pg_dump script that leaves out chosen short statement lines (never
 * a line of COPY data), e.g. `\restrict` for a psql too old to know it, or pg_dump 17's
 * `SET transaction_timeout = 0;` for a PostgreSQL 15 server. Bytes stream through; only the
 * start of a short line is held until its newline decides it.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { LineAssembler, copyStatementOf, isEndOfCopyData, lineText } from './lines';

/** Longest line that can be left out; longer lines always pass. */
const HOLD_BYTES = 256;

/** Options of {@link plainSqlLineFilter}. */
export interface LineFilterOptions {
  /** True for a statement line (outside COPY data) to leave out; sees the line without its newline. */
  drop(line: string): boolean;
  /** Told about every line left out, with its 1-based line number in the input. */
  onDropped?(line: string, lineNumber: number): void;
}

/** The filter as a Transform. */
export function plainSqlLineFilter(options: LineFilterOptions): Transform {
  const line = new LineAssembler(HOLD_BYTES);
  let held: Buffer[] = [];
  let heldBytes = 0;
  let passing = false;
  let inCopy = false;
  let lineNumber = 0;

  const release = (out: Buffer[]): void => {
    out.push(...held);
    held = [];
    heldBytes = 0;
    passing = true;
  };
  const endLine = (out: Buffer[], newline: boolean): void => {
    const view = line.take();
    lineNumber += 1;
    const text = lineText(view);
    const droppable = !inCopy && !passing && options.drop(text);
    if (inCopy) inCopy = !isEndOfCopyData(view);
    else inCopy = copyStatementOf(view, text) !== null;
    if (droppable) options.onDropped?.(text, lineNumber);
    else {
      out.push(...held);
      if (newline) out.push(NEWLINE);
    }
    held = [];
    heldBytes = 0;
    passing = false;
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      const out: Buffer[] = [];
      let pos = 0;
      while (pos < chunk.length) {
        const newline = chunk.indexOf(0x0a, pos);
        const piece = chunk.subarray(pos, newline === -1 ? chunk.length : newline);
        line.push(piece);
        // COPY data and long lines stream on; a short statement line waits for its newline.
        if (inCopy || passing || heldBytes + piece.length > HOLD_BYTES) {
          if (!passing) release(out);
          out.push(piece);
        } else {
          held.push(Buffer.from(piece));
          heldBytes += piece.length;
        }
        if (newline === -1) break;
        endLine(out, true);
        pos = newline + 1;
      }
      done(null, out.length > 0 ? Buffer.concat(out) : undefined);
    },
    flush(done: TransformCallback) {
      const out: Buffer[] = [];
      if (line.size > 0 || heldBytes > 0) endLine(out, false);
      done(null, out.length > 0 ? Buffer.concat(out) : undefined);
    },
  });
}

const NEWLINE = Buffer.from('\n');
