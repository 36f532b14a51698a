/**
 * PostgreSQL's COPY text format, as both dump formats carry it: a custom dump's TABLE DATA blocks
 * and a plain SQL dump's `COPY … FROM stdin;` sections. One line per row, `\.` ends the data.
 */

/**
 * Splits COPY text into rows of fields (tab-separated, `\N` = NULL, backslash escapes decoded).
 * Only for small captured tables.
 */
export function parseCopyText(text: string): (string | null)[][] {
  const rows: (string | null)[][] = [];
  for (const line of text.split('\n')) {
    if (line === '\\.') break;
    if (line === '') continue;
    rows.push(line.split('\t').map((field) => (field === '\\N' ? null : unescapeCopyField(field))));
  }
  return rows;
}

/** The column names of a `COPY schema.table (a, b, c) FROM stdin;` statement. */
export function copyColumns(copyStmt: string | null): string[] {
  const match = /\(([^)]*)\)\s+FROM stdin/i.exec(copyStmt ?? '');
  if (!match?.[1]) return [];
  return match[1].split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

function unescapeCopyField(field: string): string {
  if (!field.includes('\\')) return field;
  return field.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, code: string) => {
    if (code.startsWith('x')) return String.fromCharCode(parseInt(code.slice(1), 16));
    if (/^[0-7]+$/.test(code)) return String.fromCharCode(parseInt(code, 8));
    return ESCAPES[code] ?? code;
  });
}
