/**
 * Streaming base64url decoding of a Fernet token's text: any length, chunk by chunk, with the
 * byte offset of the first bad character and the difference between a text that stops early
 * (truncated) and one whose end is malformed (corrupt).
 */

/** Why a token's text is not base64url; `offset` is the byte of the file where it went wrong. */
export interface Base64Problem {
  kind: 'corrupt' | 'truncated';
  what: string;
  offset: number;
}

const ALPHABET_RUN = /[^A-Za-z0-9_-]/;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const PAD = 0x3d;
const PLUS = 0x2b;
const SLASH = 0x2f;

/**
 * Decodes base64url text as it arrives. The body is the URL-safe alphabet; `=` padding (at most
 * two) may end it, then only whitespace (trimmed defensively: an editor may add a newline).
 */
export class Base64UrlStreamDecoder {
  /** Bytes of text seen so far (the file offset of the next chunk). */
  private textOffset = 0;
  /** Up to three characters of an unfinished quartet. */
  private pending = '';
  private padding = 0;
  /** Set once the body ended (padding or whitespace seen): only padding/whitespace may follow. */
  private ended = false;
  private sawWhitespace = false;
  private problem: Base64Problem | null = null;

  /** The first problem found, if any; once set, later input is ignored. */
  get failure(): Base64Problem | null {
    return this.problem;
  }

  /** Decodes one chunk of text; returns the bytes it completes (empty after a problem). */
  write(chunk: Buffer): Buffer {
    if (this.problem) return Buffer.alloc(0);
    const start = this.textOffset;
    this.textOffset += chunk.length;
    if (this.ended) {
      this.checkTrailer(chunk, 0, start);
      return Buffer.alloc(0);
    }
    const text = chunk.toString('latin1');
    // Fast path, a chunk inside the body: Node's decoder skips every character outside the
    // alphabet (and stops at "="), so a whole decode proves the text clean, but it also takes "+"
    // and "/" (standard base64), which memchr rules out. Anything else takes the exact path below.
    if (chunk.indexOf(PLUS) < 0 && chunk.indexOf(SLASH) < 0) {
      const body = this.pending + text;
      const whole = body.length - (body.length % 4);
      const rest = body.slice(whole);
      // The ≤ 3 characters left over are not decoded yet: those are checked one by one.
      if (!ALPHABET_RUN.test(rest)) {
        const bytes = Buffer.from(body.slice(0, whole), 'base64url');
        if (bytes.length === (whole / 4) * 3) {
          this.pending = rest;
          return bytes;
        }
      }
    }
    const bad = ALPHABET_RUN.exec(text);
    const bodyEnd = bad ? bad.index : text.length;
    if (bad) {
      this.ended = true;
      this.checkTrailer(chunk, bodyEnd, start);
      if (this.problem) return Buffer.alloc(0);
    }
    const body = this.pending + text.slice(0, bodyEnd);
    const whole = body.length - (body.length % 4);
    this.pending = body.slice(whole);
    return whole > 0 ? Buffer.from(body.slice(0, whole), 'base64url') : Buffer.alloc(0);
  }

  /** After the last chunk: the final bytes, or the problem with the text's end. */
  finish(): { bytes: Buffer; problem: Base64Problem | null } {
    if (this.problem) return { bytes: Buffer.alloc(0), problem: this.problem };
    const rest = this.pending.length;
    const end = this.textOffset;
    if (this.padding > 0) {
      // Padding proves the end is the real end: a wrong count there is damage, not a cut.
      if (rest + this.padding !== 4 || rest < 2) {
        this.problem = { kind: 'corrupt', what: `${this.padding} "=" after ${rest} character(s) of the last group, which base64 never writes`, offset: end };
        return { bytes: Buffer.alloc(0), problem: this.problem };
      }
      return { bytes: Buffer.from(this.pending, 'base64url'), problem: null };
    }
    if (rest !== 0) {
      // Fernet always pads its text, so an unfinished group without "=" is where the file stops.
      this.problem = { kind: 'truncated', what: `the text stops inside a base64 group (${rest} of 4 characters)`, offset: end };
      return { bytes: Buffer.alloc(0), problem: this.problem };
    }
    return { bytes: Buffer.alloc(0), problem: null };
  }

  /** Whether the text ended in "=" padding (so its end is known to be the real end). */
  get padded(): boolean {
    return this.padding > 0;
  }

  /** Whether trailing whitespace was trimmed. */
  get trimmedWhitespace(): boolean {
    return this.sawWhitespace;
  }

  /** Checks what follows the body: at most two "=", then whitespace only. */
  private checkTrailer(chunk: Buffer, from: number, chunkOffset: number): void {
    for (let i = from; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === PAD && !this.sawWhitespace && this.padding < 2) {
        this.padding += 1;
        continue;
      }
      if (WHITESPACE.has(byte)) {
        this.sawWhitespace = true;
        continue;
      }
      const shown = byte >= 0x21 && byte < 0x7f ? `"${String.fromCharCode(byte)}"` : `0x${byte.toString(16).padStart(2, '0')}`;
      const after = this.padding > 0 || this.sawWhitespace ? ' after the end of the base64 text' : '';
      this.problem = { kind: 'corrupt', what: `the character ${shown}${after}, which is not base64url`, offset: chunkOffset + i };
      return;
    }
  }
}
