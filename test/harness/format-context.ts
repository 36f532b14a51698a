import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StepContext } from '../../src/main/apps/adapter';
import { SessionKeys, createKeyResolver } from '../../src/main/apps/keys';
import type { FormatContext } from '../../src/main/apps/module';

/** A format part's context for a file of no installation: keys only from `typed` (slot → key). */
export function formatContext(step: StepContext, typed: Record<string, string> = {}): FormatContext {
  const keys = new SessionKeys();
  for (const [slot, key] of Object.entries(typed)) keys.provide(slot, key);
  return { ...step, installation: null, keys: createKeyResolver(null, async () => null, keys), stagingDir: stagingDir() };
}

let staging: string | null = null;

/** One staging directory per test process, as the core's home has one. */
function stagingDir(): string {
  staging ??= mkdtempSync(path.join(os.tmpdir(), 'lifeboat-format-staging-'));
  return staging;
}
