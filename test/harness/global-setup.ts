import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEST_SECRET_MARKER } from './secrets';

/**
 * Runs once around the whole suite. Every test's Lifeboat home lives under one root; after the
 * suite, every file there (config, logs, jobs, audit, vault metadata) is searched for the marker
 * that every test secret carries — a secret in clear anywhere fails the run.
 */
export default function setup(): () => void {
  mkdirSync(path.resolve('test/artifacts'), { recursive: true });
  const root = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-test-homes-'));
  process.env.LIFEBOAT_TEST_ROOT = root;
  return () => {
    const leaks = findMarker(root);
    rmSync(root, { recursive: true, force: true });
    if (leaks.length > 0) {
      throw new Error(`A test secret was written in clear to: ${leaks.join(', ')}`);
    }
  };
}

function findMarker(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const info = statSync(file, { throwIfNoEntry: false });
    if (!info) continue;
    if (info.isDirectory()) found.push(...findMarker(file));
    else if (info.isFile() && info.size < 64 * 1024 * 1024 && readFileSync(file).includes(TEST_SECRET_MARKER)) found.push(file);
  }
  return found;
}
