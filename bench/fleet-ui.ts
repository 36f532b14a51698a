/**
 * Benchmark: the Fleet page in Chromium (1280×800) at 200 installations (FLEET_UI_N) against the
 * same page at 20 (the anchor), same run, same build: the first paint of the rows (navigation
 * start → the first rows painted, bundle load included) and a filter keystroke in the search box
 * (keydown → the list repainted; one key empties the list, Backspace brings every row back).
 * The installations are Folder-of-archives ones from the many-fleet (one sshd), refreshed
 * before the page opens. Goal: a keystroke < 100 ms at 200, and first paint close to the anchor's
 * (the list is virtualised, so 10× the rows should not cost 10× the time).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCore, MemorySecretStore, type Core } from '../src/main/core';
import { createInProcessClient } from '../src/main/contract/in-process';
import { startTwin } from '../src/main/contract/http-twin';
import { launchBrowser, type TestBrowser } from '../test/harness/browser';
import { makeTestHome } from '../test/harness/home';
import { startManyFleet } from '../test/fleet/many';

const N = Number(process.env.FLEET_UI_N ?? 200);
const ANCHOR = 20;
const PAINTS = 5;
const KEYS = 10;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Figures {
  paintMs: number[];
  keyMs: number[];
  renderedRows: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Waits until no job of the core is queued or running (the page's own refresh on each visit). */
async function settled(core: Core): Promise<void> {
  for (const job of core.jobs.list({ limit: 10_000 })) if (job.status === 'queued' || job.status === 'running') await core.jobs.wait(job.id);
}

/** In the page: when the first row appears, the time of the paint after it. */
const PAINT_PROBE = `
  window.__rowsPainted = new Promise((resolve) => {
    const check = () => {
      if (!document.querySelector('li.fleet-item')) return false;
      requestAnimationFrame(() => setTimeout(() => resolve(performance.now())));
      return true;
    };
    new MutationObserver((_, observer) => { if (check()) observer.disconnect(); }).observe(document, { childList: true, subtree: true });
  });
`;

async function measure(browser: TestBrowser, count: number): Promise<Figures> {
  const fleet = await startManyFleet({ kinds: ['directory'], total: count });
  const core = await createCore({ home: makeTestHome(`bench-fleet-ui-${count}`), secretStore: new MemorySecretStore(`bench ui ${count}`) });
  const twin = await startTwin(core, { rendererDir: path.join(ROOT, 'dist', 'renderer') });
  const context = await browser.newContext();
  try {
    const client = createInProcessClient(core);
    for (const input of fleet.inputs) await client.call('installations:add', input);
    for (const id of await core.fleet.refresh()) await core.jobs.wait(id);
    const page = await context.newPage();
    await page.addInitScript(PAINT_PROBE);
    const paintMs: number[] = [];
    for (let i = 0; i < PAINTS; i++) {
      if (i === 0) await page.goto(twin.url);
      else await page.reload();
      paintMs.push(await page.evaluate(() => (window as unknown as { __rowsPainted: Promise<number> }).__rowsPainted));
      await page.locator('.fleet-count', { hasText: `${count} shown` }).waitFor();
      await settled(core);
    }
    const renderedRows = await page.locator('li.fleet-item').count();

    // keydown → the list changed → the paint after it.
    await page.evaluate(() => {
      const w = window as unknown as { __keys: number[] };
      w.__keys = [];
      const list = document.querySelector('.fleet-list')!;
      document.addEventListener(
        'keydown',
        (event) => {
          const started = event.timeStamp;
          const observer = new MutationObserver(() => {
            observer.disconnect();
            requestAnimationFrame(() => setTimeout(() => w.__keys.push(performance.now() - started)));
          });
          observer.observe(list, { childList: true, subtree: true, characterData: true });
        },
        true,
      );
    });
    const search = page.getByRole('searchbox', { name: 'Search installations' });
    await search.focus();
    for (let i = 0; i < KEYS; i++) {
      // No name, host or tag holds an x: the list empties; Backspace brings all back.
      await page.keyboard.press('x');
      await page.locator('.fleet-count', { hasText: `0 of ${count} shown` }).waitFor();
      await page.keyboard.press('Backspace');
      await page.locator('.fleet-count', { hasText: `${count} shown` }).waitFor();
      await page.locator('li.fleet-item').first().waitFor();
    }
    await page.waitForFunction((expected) => (window as unknown as { __keys: number[] }).__keys.length >= expected, KEYS * 2);
    const keyMs = await page.evaluate(() => (window as unknown as { __keys: number[] }).__keys);
    return { paintMs, keyMs, renderedRows };
  } finally {
    await context.close();
    await twin.close();
    await core.close();
    await fleet.stop();
  }
}

export async function run(): Promise<void> {
  const browser = await launchBrowser();
  try {
    const anchor = await measure(browser, ANCHOR);
    const ours = await measure(browser, N);
    const line = (label: string, a: number[], b: number[]): string =>
      `  ${label.padEnd(36)} ${ANCHOR}: ${median(a).toFixed(1).padStart(6)} ms   ${N}: ${median(b).toFixed(1).padStart(6)} ms   ratio ${(median(b) / median(a)).toFixed(2)}`;
    console.log(`Fleet page in Chromium 1280×800, ${N} installations against ${ANCHOR} (medians; ${PAINTS} loads, ${KEYS * 2} keystrokes)`);
    console.log(line('first paint of the rows:', anchor.paintMs, ours.paintMs));
    console.log(line('filter keystroke → repainted:', anchor.keyMs, ours.keyMs));
    console.log(`  rows in the DOM: ${anchor.renderedRows} of ${ANCHOR}, ${ours.renderedRows} of ${N} (virtualised)`);
    console.log(`  worst keystroke at ${N}: ${Math.max(...ours.keyMs).toFixed(1)} ms (goal < 100 ms)`);
  } finally {
    await browser.close();
  }
}
