/**
 * The automated accessibility check of the e2e suite: axe-core run inside the page. The twin's CSP
 * allows no inline script, so axe's source is evaluated through the DevTools protocol (which the
 * page's CSP does not govern) instead of being added as a <script> tag.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { screenshot } from './browser';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** One serious or critical rule broken, with where (CSS selectors) and why. */
export interface A11yViolation {
  rule: string;
  impact: string;
  help: string;
  nodes: string[];
}

interface AxeResult {
  violations: { id: string; impact?: string | null; help: string; nodes: { target: unknown[]; failureSummary?: string }[] }[];
}

/** The serious and critical violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<A11yViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<AxeResult> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ rule: v.id, impact: v.impact ?? '', help: v.help, nodes: v.nodes.slice(0, 6).map((n) => `${n.target.join(' ')} :: ${n.failureSummary ?? ''}`) }));
}

/** Checks the page in the light and the dark scheme (a screenshot of each), and returns to light. */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  const found: Record<string, A11yViolation[]> = {};
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    // The scheme applies on the next frame; transitions on colours must not catch axe half-way.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const violations = await seriousViolations(page);
    if (violations.length > 0) found[scheme] = violations;
    await screenshot(page, `a11y-${name}-${scheme}`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  expect(found, `serious or critical accessibility violations on ${name}`).toEqual({});
}
