// The streaming JSON checker under Nojoin's table files: rows come out whole whatever the chunking,
// every syntax error is named with line and column, and the caps hold.
import { describe, expect, it } from 'vitest';
import { JsonScanError, JsonStreamScanner, type JsonScanMode } from '../../src/main/apps/nojoin/format/json-scan';

function scan(text: string, mode: JsonScanMode, chunk = text.length, limits = { maxDepth: 64, maxCapturedChars: 1 << 20 }): string[] {
  const scanner = new JsonStreamScanner(mode, limits);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += chunk) out.push(...scanner.write(text.slice(i, i + chunk)));
  out.push(...scanner.end());
  return out;
}

function failure(text: string, mode: JsonScanMode = 'check', limits?: { maxDepth: number; maxCapturedChars: number }): JsonScanError {
  try {
    scan(text, mode, text.length, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(JsonScanError);
    return error as JsonScanError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail`);
}

const TABLE = `[\n  {"id": 1, "name": "caf\\u00e9 \\"x\\"", "n": -1.5e3, "ok": true, "none": null, "list": [1, {"a": []}]},\n  {"id": 2, "text": "line\\nbreak"}\n, "scalar", 42]`;

describe('rows mode', () => {
  it('hands out each element exactly, for every chunk size', () => {
    const expected = (JSON.parse(TABLE) as unknown[]).map((v) => JSON.stringify(v));
    for (const chunk of [1, 2, 3, 7, 64, TABLE.length]) {
      expect(scan(TABLE, 'rows', chunk).map((row) => JSON.stringify(JSON.parse(row)))).toEqual(expected);
    }
  });

  it('reads an empty table and refuses a table that is not an array', () => {
    expect(scan(' [ ] ', 'rows')).toEqual([]);
    expect(failure('{"id": 1}', 'rows').reason).toContain('must be a JSON array');
  });

  it('caps one row, not the file', () => {
    const rows = `[${Array.from({ length: 50 }, (_, i) => `{"id": ${i}}`).join(',')}]`;
    expect(scan(rows, 'rows', 5, { maxDepth: 8, maxCapturedChars: 20 })).toHaveLength(50);
    const error = failure(`[{"text": "${'x'.repeat(40)}"}]`, 'rows', { maxDepth: 8, maxCapturedChars: 20 });
    expect(error.cap).toBe('size');
  });
});

describe('document and check modes', () => {
  it('returns a whole document and only checks in check mode', () => {
    expect(scan('{"format_version": 2}', 'document', 3)).toEqual(['{"format_version": 2}']);
    expect(scan('"just a string"', 'document')).toEqual(['"just a string"']);
    expect(scan('[1, 2, {"a": "b"}]', 'check', 2)).toEqual([]);
    expect(scan('12', 'document', 1)).toEqual(['12']);
  });

  it('caps nesting depth', () => {
    const deep = `${'['.repeat(70)}${']'.repeat(70)}`;
    const error = failure(deep, 'check');
    expect(error.cap).toBe('depth');
    expect(error.reason).toContain('deeper than 64');
  });
});

describe('syntax errors, named with line and column', () => {
  it.each([
    ['[1, 2,]', 'a value cannot start with "]"'],
    ['{"a" 1}', 'expected ":"'],
    ['{"a": 1,}', 'expected an object key after ","'],
    ['[01]', 'is not a JSON number'],
    ['[1.]', 'is not a JSON number'],
    ['[-]', 'is not a JSON number'],
    ['[tru]', 'is not a JSON value'],
    ['[NaN]', 'is not a JSON value'],
    ['["bad \\x escape"]', 'is not a JSON escape'],
    ['["\\u12G4"]', 'four hex digits'],
    ['["raw\ttab"]', 'raw control character'],
    ['[1] [2]', 'more after the end'],
    ['[1, 2', 'ends in the middle'],
    ['', 'is empty'],
    ['\ufeff[]', 'cannot start with'],
    ['[1}', 'mismatched brackets'],
  ])('%j → %s', (text, reason) => {
    expect(failure(text).reason).toContain(reason);
  });

  it('points at the line and column of the fault', () => {
    const error = failure('[\n  {"id": 1},\n  {"id": 2,,}\n]');
    expect(error.line).toBe(3);
    expect(error.column).toBe(12);
    expect(error.message).toContain('line 3, column 12');
  });
});
