/**
 * End-to-end helpers: the system Chromium driven by playwright-core (never a downloaded
 * browser), screenshots into test/artifacts/, and a real `lifeboat serve` child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { execFileSync } from 'node:child_process';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { makeTestHome } from './home';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** A launched Chromium with its own throwaway config and cache directories. */
export interface TestBrowser {
  browser: Browser;
  /** A fresh context (own storage) with a sensible desktop viewport. */
  newContext(options?: { colorScheme?: 'light' | 'dark' }): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** Launches /usr/bin/chromium headless; XDG dirs point at a temp folder removed on close. */
export async function launchBrowser(): Promise<TestBrowser> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-chromium-'));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    env: { ...process.env, XDG_CONFIG_HOME: path.join(scratch, 'config'), XDG_CACHE_HOME: path.join(scratch, 'cache') },
  });
  return {
    browser,
    newContext: async (options = {}) => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: options.colorScheme ?? 'light' });
      // Well under vitest's per-test limit, so a missing element fails with playwright's own message.
      context.setDefaultTimeout(10_000);
      return context;
    },
    close: async () => {
      await browser.close();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page PNG as test/artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A running `lifeboat serve` (the browser twin) on its own data directory. */
export interface ServedLifeboat {
  /** The address with `#token=…`, as the CLI prints it. */
  url: string;
  /** The address without the token. */
  origin: string;
  port: number;
  token: string;
  home: string;
  /** Everything the process wrote to stderr so far, for failure messages. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node bin/lifeboat.mjs serve --port 0 --no-open --json` with LIFEBOAT_HOME in a fresh
 * temp dir and reads the one JSON line `{ url, port, token }` it prints.
 */
export async function startLifeboat(options: { env?: NodeJS.ProcessEnv; home?: string } = {}): Promise<ServedLifeboat> {
  const home = options.home ?? makeTestHome('e2e-home');
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'lifeboat.mjs'), 'serve', '--port', '0', '--no-open', '--json'], {
    cwd: ROOT,
    env: { ...process.env, ...options.env, LIFEBOAT_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const line = await firstLine(child, 20_000, () => stderr);
  const parsed = JSON.parse(line) as { url: string; port: number; token: string };
  return {
    url: parsed.url,
    origin: new URL(parsed.url).origin,
    port: parsed.port,
    token: parsed.token,
    home,
    stderr: () => stderr,
    stop: () => stopChild(child),
  };
}

function firstLine(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lifeboat serve printed no address within ${timeoutMs} ms. stderr:\n${stderr()}`));
    }, timeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lifeboat serve exited with ${code} before printing its address. stderr:\n${stderr()}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/ when it is missing or older than src/, so an e2e run never tests a stale bundle.
 * `LIFEBOAT_E2E_SKIP_BUILD=1` trusts the existing build (CI builds once before the suite).
 */
export function ensureBuilt(): void {
  if (process.env.LIFEBOAT_E2E_SKIP_BUILD === '1') return;
  const outputs = [path.join(ROOT, 'dist', 'renderer', 'index.html'), path.join(ROOT, 'dist', 'main', 'cli.js')];
  const built = outputs.every((file) => existsSync(file)) ? Math.min(...outputs.map((file) => statSync(file).mtimeMs)) : 0;
  if (built > newestMtime(path.join(ROOT, 'src'))) return;
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
}

/** The browser side of an e2e suite, once its `beforeAll` ran (reading one earlier throws). */
export interface BrowserPage {
  readonly browser: TestBrowser;
  readonly context: BrowserContext;
  readonly page: Page;
}

/**
 * Registers the hooks for Chromium, one context and one page: an uncaught error in the page fails
 * the test it happened in, and a failed test leaves the screenshot `e2e-failed-<name>-<test>`.
 */
export function useBrowserPage(name: string): BrowserPage {
  let browser: TestBrowser | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  const pageErrors: Error[] = [];

  beforeAll(async () => {
    ensureBuilt();
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error));
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail' && page) await screenshot(page, `e2e-failed-${name}-${task.name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}`);
    expect(pageErrors.splice(0).map((e) => e.message)).toEqual([]);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });

  return {
    get browser() { return started(browser, 'browser'); },
    get context() { return started(context, 'browser context'); },
    get page() { return started(page, 'page'); },
  };
}

/** A value the suite's `beforeAll` sets; reading it earlier is a mistake in the test. */
export function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`The e2e ${what} is not started yet (use it inside a test).`);
  return value;
}

/** What a served Lifeboat's HTTP API answers to one contract call. */
export interface TwinAnswer<T = unknown> {
  ok: boolean;
  data?: T;
  error?: unknown;
}

/** One contract call to a served Lifeboat over its HTTP API, as the page makes it: the raw answer. */
export async function twinCall<T = unknown>(target: ServedLifeboat, name: string, input: unknown): Promise<TwinAnswer<T>> {
  const response = await fetch(`${target.origin}/api/call/${name}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${target.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(input),
  });
  return (await response.json()) as TwinAnswer<T>;
}

/** The same call's data; a refusal throws, naming the command and the error. */
export async function twinData<T>(target: ServedLifeboat, name: string, input: unknown): Promise<T> {
  const answer = await twinCall<T>(target, name, input);
  if (!answer.ok) throw new Error(`${name}: ${JSON.stringify(answer.error)}`);
  return answer.data as T;
}
