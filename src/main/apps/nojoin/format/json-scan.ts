/**
 * A streaming JSON syntax checker that never holds more than one piece of a document: it checks
 * the grammar (RFC 8259, as Python's json.load accepts it minus NaN/Infinity, which Nojoin's
 * exports never contain: pydantic's JSON mode writes them as null) character by character and
 * caps nesting. In `rows` mode the top level must be an array and each element's text is handed
 * out as it completes, so a table file of any size is read one row at a time.
 */

/** How a document is read: its elements one by one, whole (small files), or only checked. */
export type JsonScanMode = 'rows' | 'document' | 'check';

/** Caps of one scan; each overrun is a JsonScanError. */
export interface JsonScanLimits {
  maxDepth: number;
  /** Characters of one row (`rows`) or of the whole document (`document`). */
  maxCapturedChars: number;
}

/** Defaults: nesting 64 deep, 64 Mi characters per captured piece. */
export const DEFAULT_JSON_LIMITS: JsonScanLimits = { maxDepth: 64, maxCapturedChars: 64 * 1024 * 1024 };

/** A syntax error or an overrun cap, with where it happened (1-based line and column). */
export class JsonScanError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
    /** Set when a cap, not the syntax, stopped the scan. */
    readonly cap: 'depth' | 'size' | null = null,
  ) {
    super(`${reason} at line ${line}, column ${column}`);
    this.name = 'JsonScanError';
  }
}

const enum State {
  Value,
  AfterValue,
  ObjectKeyOrEnd,
  ObjectKey,
  Colon,
  ArrayValueOrEnd,
  InString,
  InEscape,
  InUnicode,
  InNumber,
  InLiteral,
  Done,
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const LITERALS = new Set(['true', 'false', 'null']);
const HEX = /^[0-9a-fA-F]$/;

/** Feeds text in with `write`, then `end`; both return the captured pieces completed so far. */
export class JsonStreamScanner {
  private state = State.Value;
  /** Open containers: `{` or `[`. */
  private readonly stack: string[] = [];
  private stringIsKey = false;
  private unicodeDigits = 0;
  private token = '';
  private line = 1;
  private column = 0;
  /** Pieces of the value being captured, and where in the current chunk the capture began. */
  private capture: string[] | null = null;
  private capturedChars = 0;
  private captureStart = 0;
  private sawRoot = false;

  constructor(
    private readonly mode: JsonScanMode,
    private readonly limits: JsonScanLimits = DEFAULT_JSON_LIMITS,
  ) {}

  /** Scans the next piece of text; returns the rows (or the document) completed within it. */
  write(text: string): string[] {
    const out: string[] = [];
    this.captureStart = 0;
    let i = 0;
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      const { line, column } = this;
      if (ch === 0x0a) {
        this.line++;
        this.column = 0;
      } else {
        this.column++;
      }
      if (this.step(text, i, ch, out)) {
        // The character ended a number or literal and is read again in the new state.
        this.line = line;
        this.column = column;
        continue;
      }
      i++;
    }
    if (this.capture !== null) this.appendCapture(text.slice(this.captureStart));
    return out;
  }

  /** The end of the document: throws when it is incomplete. */
  end(): string[] {
    const out: string[] = [];
    if (this.state === State.InNumber || this.state === State.InLiteral) this.finishToken(out, '');
    if (this.state !== State.Done && !(this.state === State.AfterValue && this.stack.length === 0)) {
      throw this.error(this.sawRoot ? 'the document ends in the middle of a value' : 'the document is empty');
    }
    return out;
  }

  /** One character; returns true when it must be read again in the new state. */
  private step(text: string, i: number, ch: number, out: string[]): boolean {
    switch (this.state) {
      case State.InString:
        if (ch === 0x22) this.endValue(text, i + 1, out, this.stringIsKey ? State.Colon : State.AfterValue);
        else if (ch === 0x5c) this.state = State.InEscape;
        else if (ch < 0x20) throw this.error('a string holds a raw control character');
        return false;
      case State.InEscape:
        if (ch === 0x75) {
          this.state = State.InUnicode;
          this.unicodeDigits = 0;
        } else if ('"\\/bfnrt'.includes(text[i]!)) {
          this.state = State.InString;
        } else {
          throw this.error(`"\\${text[i]}" is not a JSON escape`);
        }
        return false;
      case State.InUnicode:
        if (!HEX.test(text[i]!)) throw this.error('"\\u" must be followed by four hex digits');
        if (++this.unicodeDigits === 4) this.state = State.InString;
        return false;
      case State.InNumber:
      case State.InLiteral:
        if ((this.state === State.InNumber && /[-+.eE0-9]/.test(text[i]!)) || (this.state === State.InLiteral && /[a-zA-Z]/.test(text[i]!))) {
          this.token += text[i];
          if (this.token.length > 400) throw this.error('a number or literal is absurdly long');
          return false;
        }
        this.finishToken(out, text, i);
        return true;
      default:
        return this.structural(text, i, ch, out);
    }
  }

  private structural(text: string, i: number, ch: number, out: string[]): boolean {
    if (ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d) return false;
    const c = text[i]!;
    switch (this.state) {
      case State.Done:
        throw this.error('there is more after the end of the document');
      case State.Colon:
        if (c !== ':') throw this.error(`expected ":" after an object key, found "${c}"`);
        this.state = State.Value;
        return false;
      case State.ObjectKeyOrEnd:
      case State.ObjectKey:
        if (c === '"') {
          this.state = State.InString;
          this.stringIsKey = true;
          return false;
        }
        if (c === '}' && this.state === State.ObjectKeyOrEnd) return this.close(text, i, out, '{');
        throw this.error(this.state === State.ObjectKey ? 'expected an object key after ","' : `expected an object key or "}", found "${c}"`);
      case State.AfterValue:
        if (this.stack.length === 0) throw this.error('there is more after the end of the document');
        if (c === ',') {
          this.state = this.stack[this.stack.length - 1] === '{' ? State.ObjectKey : State.Value;
          return false;
        }
        if (c === '}' || c === ']') return this.close(text, i, out, c === '}' ? '{' : '[');
        throw this.error(`expected "," or the end of the ${this.stack[this.stack.length - 1] === '{' ? 'object' : 'array'}, found "${c}"`);
      case State.ArrayValueOrEnd:
        if (c === ']') return this.close(text, i, out, '[');
        return this.startValue(i, c);
      case State.Value:
        return this.startValue(i, c);
      default:
        throw this.error(`unexpected "${c}"`);
    }
  }

  private startValue(i: number, c: string): boolean {
    if (!this.sawRoot) {
      this.sawRoot = true;
      if (this.mode === 'rows' && c !== '[') throw this.error('a table file must be a JSON array of rows');
      if (this.mode === 'document') this.beginCapture(i);
    } else if (this.mode === 'rows' && this.stack.length === 1) {
      this.beginCapture(i);
    }
    if (c === '{' || c === '[') {
      this.stack.push(c);
      if (this.stack.length > this.limits.maxDepth) throw this.error(`nesting is deeper than ${this.limits.maxDepth} levels`, 'depth');
      this.state = c === '{' ? State.ObjectKeyOrEnd : State.ArrayValueOrEnd;
    } else if (c === '"') {
      this.state = State.InString;
      this.stringIsKey = false;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      this.state = State.InNumber;
      this.token = c;
    } else if (/[a-zA-Z]/.test(c)) {
      this.state = State.InLiteral;
      this.token = c;
    } else {
      throw this.error(`a value cannot start with "${c}"`);
    }
    return false;
  }

  private close(text: string, i: number, out: string[], opener: string): boolean {
    if (this.stack.pop() !== opener) throw this.error('mismatched brackets');
    this.endValue(text, i + 1, out, State.AfterValue);
    return false;
  }

  /** A number or literal ended at `text[i]` (or at the end of input). */
  private finishToken(out: string[], text: string, i = text.length): void {
    const token = this.token;
    if (this.state === State.InNumber ? !NUMBER.test(token) : !LITERALS.has(token)) {
      throw this.error(`"${token.slice(0, 40)}" is not a JSON ${this.state === State.InNumber ? 'number' : 'value'}`);
    }
    this.endValue(text, i, out, State.AfterValue);
  }

  /** A value ended just before `text[end]`; emits it when it was the captured row or document. */
  private endValue(text: string, end: number, out: string[], next: State): void {
    this.state = this.stack.length === 0 && next === State.AfterValue ? State.Done : next;
    if (this.capture === null || next !== State.AfterValue) return;
    const depthOfCapture = this.mode === 'rows' ? 1 : 0;
    if (this.stack.length !== depthOfCapture) return;
    this.appendCapture(text.slice(this.captureStart, end));
    out.push(this.capture.join(''));
    this.capture = null;
  }

  private beginCapture(i: number): void {
    this.capture = [];
    this.capturedChars = 0;
    this.captureStart = i;
  }

  private appendCapture(piece: string): void {
    if (this.capture === null || piece.length === 0) return;
    this.capturedChars += piece.length;
    if (this.capturedChars > this.limits.maxCapturedChars) {
      throw this.error(`${this.mode === 'rows' ? 'one row' : 'the document'} is longer than ${this.limits.maxCapturedChars} characters`, 'size');
    }
    this.capture.push(piece);
    this.captureStart = 0;
  }

  private error(reason: string, cap: 'depth' | 'size' | null = null): JsonScanError {
    return new JsonScanError(reason, this.line, this.column, cap);
  }
}
