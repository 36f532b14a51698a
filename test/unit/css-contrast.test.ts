/**
 * Every text colour token in the renderer's stylesheet reads at WCAG AA (4.5:1) on every
 * background it is drawn on, in the light and the dark scheme. The tokens are read from
 * styles.css itself (`--name: light-dark(#light, #dark)`), so a new faint grey fails here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const CSS = readFileSync(path.resolve(import.meta.dirname, '../../src/renderer/app/styles.css'), 'utf8');

/** `--name: light-dark(#aaa, #bbb)` of the :root block → { light, dark }. */
function tokens(): Map<string, { light: string; dark: string }> {
  const root = /:root\s*\{([^}]*)\}/.exec(CSS)?.[1] ?? '';
  const found = new Map<string, { light: string; dark: string }>();
  for (const m of root.matchAll(/--([a-z0-9-]+):\s*light-dark\((#[0-9a-f]{6}),\s*(#[0-9a-f]{6})\)/gi)) found.set(m[1]!, { light: m[2]!, dark: m[3]! });
  return found;
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

/** The WCAG 2 contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

const TEXT = ['text', 'text-muted', 'text-faint', 'accent', 'ok', 'warn', 'danger', 'info'];
const BACKGROUNDS = ['bg', 'surface', 'surface-2'];
/** Pills and alerts draw their tone's colour on its soft background. */
const TONE_PAIRS: [string, string][] = [
  ['ok', 'ok-soft'],
  ['warn', 'warn-soft'],
  ['danger', 'danger-soft'],
  ['info', 'info-soft'],
  ['accent', 'accent-soft'],
  ['text-muted', 'neutral-soft'],
  ['accent-text', 'accent'],
];

describe('colour tokens', () => {
  const all = tokens();

  it('the contrast formula gives the known ratios', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    // The measurement of the old faint grey on white.
    expect(contrast('#8a94a3', '#ffffff')).toBeCloseTo(3.07, 1);
  });

  it('finds the tokens it checks', () => {
    for (const name of [...TEXT, ...BACKGROUNDS, ...TONE_PAIRS.flat()]) expect(all.has(name), name).toBe(true);
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`every text token is at least 4.5:1 on every background (${scheme})`, () => {
      const failing: string[] = [];
      const pairs: [string, string][] = [...TEXT.flatMap((t) => BACKGROUNDS.map((b): [string, string] => [t, b])), ...TONE_PAIRS];
      for (const [fg, bg] of pairs) {
        const ratio = contrast(all.get(fg)![scheme], all.get(bg)![scheme]);
        if (ratio < 4.5) failing.push(`--${fg} on --${bg}: ${ratio.toFixed(2)}:1`);
      }
      expect(failing).toEqual([]);
    });
  }
});
