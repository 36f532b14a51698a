/**
 * The bits of Go's encoding that restic's files carry: RFC 3339 nano times with the local offset,
 * `strconv.Quote`-escaped node names, and `encoding/json`'s HTML-safe string escapes.
 */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * Formats a time like Go's `time.RFC3339Nano` in this machine's zone (restic writes local times):
 * `2024-03-01T10:00:00.5+01:00`, trailing fraction zeros trimmed, `Z` for UTC.
 * `subMillisNanos` adds precision below the millisecond a Date keeps.
 */
export function formatGoTime(date: Date, subMillisNanos = 0): string {
  const offsetMinutes = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMinutes * 60_000);
  const year = Math.min(9999, Math.max(0, local.getUTCFullYear()));
  let text = `${pad(year, 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  const nanos = local.getUTCMilliseconds() * 1_000_000 + Math.trunc(subMillisNanos);
  if (nanos > 0) text += `.${pad(nanos, 9).replace(/0+$/, '')}`;
  if (offsetMinutes === 0) return `${text}Z`;
  const abs = Math.abs(offsetMinutes);
  return `${text}${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The current time as restic writes it (with sub-millisecond digits so two snapshots rarely share a time). */
export function nowGoTime(): string {
  const nanos = Number(process.hrtime.bigint() % 1_000_000n);
  return formatGoTime(new Date(), nanos);
}

/** Parses a Go RFC 3339 time (keeps millisecond precision). Returns null if it does not parse. */
export function parseGoTime(text: string): Date | null {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** Go `unicode.IsPrint`, closely enough: letters, marks, numbers, punctuation, symbols and ASCII space. */
const NON_PRINTABLE = /[\p{C}\p{Z}]/u;

/** Go `strconv.Quote(name)` without the outer quotes: how restic stores node names (spec §8.1). */
export function goQuote(name: string): string {
  let out = '';
  for (const ch of name) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (cp === 0x20 || (cp >= 0x21 && cp < 0x7f)) out += ch;
    else if (cp < 0x80 || NON_PRINTABLE.test(ch) || (cp >= 0xd800 && cp <= 0xdfff)) out += goEscapeRune(cp);
    else out += ch;
  }
  return out;
}

function goEscapeRune(cp: number): string {
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' };
  const short = named[cp];
  if (short) return short;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  // A lone surrogate is invalid UTF-8 to Go; it would print the replacement character's escape.
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd';
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\U${cp.toString(16).padStart(8, '0')}`;
}

/** Go `strconv.Unquote('"' + stored + '"')`: turns a stored node name back into the real name. */
export function goUnquote(stored: string): string {
  if (!stored.includes('\\')) return stored;
  const bytes: number[] = [];
  const pushString = (s: string): void => {
    for (const b of Buffer.from(s, 'utf8')) bytes.push(b);
  };
  for (let i = 0; i < stored.length; i++) {
    const ch = stored[i] as string;
    if (ch !== '\\') {
      const cp = stored.codePointAt(i) ?? 0;
      const full = String.fromCodePoint(cp);
      pushString(full);
      i += full.length - 1;
      continue;
    }
    const esc = stored[++i];
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, "'": 39 };
    if (esc !== undefined && esc in simple) {
      bytes.push(simple[esc] as number);
    } else if (esc === 'x') {
      bytes.push(parseInt(stored.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (esc === 'u' || esc === 'U') {
      const width = esc === 'u' ? 4 : 8;
      pushString(String.fromCodePoint(parseInt(stored.slice(i + 1, i + 1 + width), 16)));
      i += width;
    } else if (esc !== undefined && esc >= '0' && esc <= '7') {
      bytes.push(parseInt(stored.slice(i, i + 3), 8));
      i += 2;
    } else {
      // Not a Go escape: keep the text as it is rather than guess.
      pushString(`\\${esc ?? ''}`);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `JSON.stringify` with Go `encoding/json`'s extra escapes (`<`, `>`, `&`, U+2028, U+2029). */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Byte-wise comparison of the UTF-8 encodings (Go string order; differs from JS order above U+FFFF). */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
