import { describe, expect, it } from 'vitest';
import { visible } from '../../src/main/cli/output';

describe('human CLI output', () => {
  it('shows terminal escape sequences from archive fields as text instead of running them', () => {
    expect(visible('app \x1b]0;pwned\x07 and \x1b[2J done')).toBe('app \\x1b]0;pwned\\x07 and \\x1b[2J done');
    expect(visible('a\u009b31m')).toBe('a\\x9b31m');
  });

  it('keeps newlines, tabs and ordinary text', () => {
    expect(visible('line 1\n\tline 2 — ü')).toBe('line 1\n\tline 2 — ü');
  });
});
