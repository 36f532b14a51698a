import { mkdirSync, mkdtempSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TEST_SECRET_MARKER } from './secrets';
import { prepareTestUsers, removeStalePasswordUsers } from './test-users';

/**
 * Runs once around the whole suite, in vitest's main process.
 *
 * Before any worker starts, it creates the system users sshd tests log in as and repairs their
 * homes (workers only check them: parallel useradd runs for one name once left a home owned by a
 * uid the user no longer had). Every test's Lifeboat home lives under one root; after the suite,
 * every file there (config, logs, jobs, audit, vault metadata) is searched for the marker that
 * every test secret carries — a secret in clear anywhere fails the run.
 */
export default async function setup(): Promise<() => Promise<void>> {
  mkdirSync(path.resolve('test/artifacts'), { recursive: true });
  const root = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-test-homes-'));
  process.env.LIFEBOAT_TEST_ROOT = root;
  const asRoot = process.getuid?.() === 0;
  // Without root, the users cannot be made; the sshd tests then say what is missing.
  if (asRoot) await prepareTestUsers();
  return async () => {
    // vitest calls this while the last workers are still stopping, each with a 10 s timer: the scan
    // must not block this process's event loop. A synchronous scan did (2.2 s measured with two CPU
    // hogs; more on a slower disk or a larger run): the stopped worker's answer waited behind it, and
    // past 10 s vitest reported "Timeout terminating forks worker" for whichever file ran last.
    const leaks = await findMarker(root);
    await rm(root, { recursive: true, force: true });
    // Each test server removes its password user; this catches those of workers that died.
    if (asRoot) await removeStalePasswordUsers();
    if (leaks.length > 0) {
      throw new Error(`A test secret was written in clear to: ${leaks.join(', ')}`);
    }
  };
}

async function findMarker(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => null);
    if (!info) continue;
    if (info.isDirectory()) found.push(...(await findMarker(file)));
    else if (info.isFile() && info.size < 64 * 1024 * 1024 && (await readFile(file)).includes(TEST_SECRET_MARKER)) found.push(file);
  }
  return found;
}
