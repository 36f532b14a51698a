/**
 * Benchmark: the Fleet page in Chromium (1280×800) at 200 installations (FLEET_UI_N) against the
 * same page at 20 (the anchor), same run, same build: the first paint of the rows (navigation
 * start → the first rows painted, bundle load included) and a filter keystroke in the search box
 * (keydown → the list repainted; one key empties the list, Backspace brings every row back).
 * The installations are Folder-of-archives ones from the many-fleet (one sshd), refreshed
 * before the page opens. Goal: a keystroke < 100 ms at 200, and first paint close to the anchor's
 * (the list is virtualised, so 10× the rows should not cost 10× the time).
 * Metrics, all from navigation start in the page's clock: 'first-contentful-paint' (the paint
 * performance entry) and the first fleet row painted (a MutationObserver sees the first
 * li.fleet-item, then the frame after it: rAF + a task); a keystroke is keydown's timeStamp → the
 * list mutated → the frame after it. Anchor of the paint: a static HTML page of the same rows
 * served by the same twin server code to the same browser in the same run. The first of the loads
 * has nothing cached (a cold start of the twin); the reloads take the hashed assets from the cache.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
  /** Navigation start → the first fleet row painted. */
  paintMs: number[];
  /** Navigation start → 'first-contentful-paint' (the performance entry). */
  fcpMs: number[];
  /** The same server's static page of the same number of rows (no script): the floor. */
  staticMs: number[];
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
    if (!check()) new MutationObserver((_, observer) => { if (check()) observer.disconnect(); }).observe(document, { childList: true, subtree: true });
  });
  window.__fcp = new Promise((resolve) => {
    new PerformanceObserver((list) => {
      const entry = list.getEntriesByName('first-contentful-paint')[0];
      if (entry) resolve(entry.startTime);
    }).observe({ type: 'paint', buffered: true });
  });
`;

/** A page of `count` rows like the list's, no script: what painting them costs by itself. */
const staticPage = (count: number): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>anchor</title></head><body><ul>${Array.from(
    { length: count },
    (_, i) => `<li class="fleet-item"><strong>installation-${i}</strong> 127.0.0.1 · Folder of archives · Connected · 2 backups</li>`,
  ).join('')}</ul></body></html>`;

async function measure(browser: TestBrowser, count: number): Promise<Figures> {
  const fleet = await startManyFleet({ kinds: ['directory'], total: count });
  const core = await createCore({ home: makeTestHome(`bench-fleet-ui-${count}`), secretStore: new MemorySecretStore(`bench ui ${count}`) });
  const twin = await startTwin(core, { rendererDir: path.join(ROOT, 'dist', 'renderer') });
  const staticDir = await mkdtemp(path.join(tmpdir(), 'lifeboat-bench-static-'));
  const staticTwin = await startTwin(core, { rendererDir: staticDir });
  const context = await browser.newContext();
  try {
    const client = createInProcessClient(core);
    for (const input of fleet.inputs) await client.call('installations:add', input);
    for (const id of await core.fleet.refresh()) await core.jobs.wait(id);
    const page = await context.newPage();
    await page.addInitScript(PAINT_PROBE);
    const probes = (): Promise<[number, number]> =>
      page.evaluate(() => {
        const w = window as unknown as { __rowsPainted: Promise<number>; __fcp: Promise<number> };
        return Promise.all([w.__rowsPainted, w.__fcp]);
      });
    // The anchor: the same server (a twin on a folder holding one static page) and browser.
    await writeFile(path.join(staticDir, 'index.html'), staticPage(count));
    const staticMs: number[] = [];
    for (let i = 0; i < PAINTS; i++) {
      // A reload each time: a goto to the same address with a fragment would not navigate.
      if (i === 0) await page.goto(`http://127.0.0.1:${staticTwin.port}/`);
      else await page.reload();
      staticMs.push((await probes())[0]);
    }
    const paintMs: number[] = [];
    const fcpMs: number[] = [];
    for (let i = 0; i < PAINTS; i++) {
      if (i === 0) await page.goto(twin.url);
      else await page.reload();
      const [rows, fcp] = await probes();
      paintMs.push(rows);
      fcpMs.push(fcp);
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
    return { paintMs, fcpMs, staticMs, keyMs, renderedRows };
  } finally {
    await context.close();
    await staticTwin.close();
    await rm(staticDir, { recursive: true, force: true });
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
    const worst = (values: number[]): number => Math.max(...values);
    const line = (label: string, a: number[], b: number[]): string =>
      `  ${label.padEnd(40)} ${ANCHOR}: ${median(a).toFixed(1).padStart(6)} ms (worst ${worst(a).toFixed(1).padStart(6)})   ${N}: ${median(b).toFixed(1).padStart(6)} ms (worst ${worst(b).toFixed(1).padStart(6)})   ratio ${(median(b) / median(a)).toFixed(2)}`;
    console.log(`Fleet page in Chromium 1280×800, ${N} installations against ${ANCHOR} (medians and worst; ${PAINTS} loads, ${KEYS * 2} keystrokes)`);
    console.log(line('static page of the rows (anchor):', anchor.staticMs, ours.staticMs));
    console.log(line('first-contentful-paint:', anchor.fcpMs, ours.fcpMs));
    console.log(line('first fleet row painted:', anchor.paintMs, ours.paintMs));
    // The first load of each run has nothing in the HTTP cache (the reloads take the hashed assets from it).
    console.log(`  first row, first load (nothing cached):   ${ANCHOR}: ${(anchor.paintMs[0] ?? Number.NaN).toFixed(1).padStart(6)} ms   ${N}: ${(ours.paintMs[0] ?? Number.NaN).toFixed(1).padStart(6)} ms`);
    console.log(line('filter keystroke → repainted:', anchor.keyMs, ours.keyMs));
    console.log(`  first row at ${N} against the static page of ${N} rows: ratio ${(median(ours.paintMs) / median(ours.staticMs)).toFixed(2)}`);
    console.log(`  rows in the DOM: ${anchor.renderedRows} of ${ANCHOR}, ${ours.renderedRows} of ${N} (virtualised)`);
    console.log(`  at ${N}: first row ${median(ours.paintMs).toFixed(1)} ms, worst keystroke ${worst(ours.keyMs).toFixed(1)} ms (goal < 100 ms each)`);
  } finally {
    await browser.close();
  }
}
