import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh Lifeboat home under the suite's root (scanned for leaked secrets after the run). */
export function makeTestHome(label = 'home'): string {
  const root = process.env.LIFEBOAT_TEST_ROOT ?? os.tmpdir();
  return mkdtempSync(path.join(root, `${label}-`));
}
