// Several Lifeboat processes on one data directory (the CLI beside a running serve, later a
// daemon): each sees what the others wrote — installations, jobs, snapshots — and two writers
// never lose or corrupt each other's edits.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, type Core } from '../../src/main/core';
import { makeTestHome } from '../harness/home';

const cli = path.resolve('bin/lifeboat.mjs');
let home: string;
let core: Core;

function lifeboat(args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function lifeboatAsync(args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, stdio: 'ignore' });
    child.on('exit', (code) => resolve(code));
  });
}

beforeAll(async () => {
  home = makeTestHome('multi-process');
  // The "serve" process: a core on the home, opened before the CLI runs (it uses the test keychain).
  core = await createCore({ home });
});

afterAll(async () => {
  await core?.close();
});

describe('two processes on one data directory', () => {
  it('ten CLI processes adding installations at once lose none, and the file stays valid', async () => {
    const codes = await Promise.all(Array.from({ length: 10 }, (_, i) => lifeboatAsync(['installations', 'add', '--name', `box ${i}`, '--app', 'weavestream', '--ssh-host', '127.0.0.1'])));
    expect(codes).toEqual(Array(10).fill(0));
    const file = JSON.parse(readFileSync(path.join(home, 'installations.json'), 'utf8')) as { installations: { name: string }[] };
    expect(file.installations.map((i) => i.name).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `box ${i}`).sort());
    // The core that was already running sees them all, without a restart.
    expect((await createInProcessClient(core).call('installations:list', {})).length).toBe(10);
  });

  it('the running core sees a pull or import another process made: its job and its snapshot', async () => {
    expect(lifeboat(['vault', 'init']).status).toBe(0);
    const archive = path.join(home, 'from-cli.dump');
    writeFileSync(archive, 'made by another process\n');
    const imported = lifeboat(['--json', 'import', '--allow-unverified', archive]);
    expect(imported.status, imported.stderr).toBe(3);
    const jobs = await createInProcessClient(core).call('jobs:list', { limit: 50 });
    expect(jobs.some((j) => j.kind === 'vault-import' && j.status === 'succeeded-with-warnings')).toBe(true);
    await core.vault.open();
    const snapshots = await createInProcessClient(core).call('vault:snapshots', {});
    expect(snapshots.map((s) => s.archive?.name)).toContain('from-cli.dump');
    const files = await core.vault.snapshotFiles(snapshots.find((s) => s.archive?.name === 'from-cli.dump')!.id);
    expect(files.map((f) => f.name)).toContain('from-cli.dump');
  });
});
