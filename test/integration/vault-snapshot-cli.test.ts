/**
 * The CLI's side of a snapshot's Export file and Forget…: `lifeboat vault export` writes the
 * archive back out under its original name, byte for byte; `lifeboat vault forget-snapshot` removes
 * that one snapshot (restic no longer lists it; the others stay) and the audit trail names it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeTestHome } from '../harness/home';
import { EXIT } from '../../src/main/cli/exit-codes';

const cli = path.resolve('bin/lifeboat.mjs');
let home: string;
let work: string;

function lifeboat(args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

interface Listed {
  id: string;
  archive: { name: string } | null;
}

const snapshots = (): Listed[] => JSON.parse(lifeboat(['--json', 'vault', 'snapshots']).stdout) as Listed[];

beforeAll(() => {
  home = makeTestHome('vault-snapshot-cli');
  work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-snapshot-cli-'));
  expect(lifeboat(['vault', 'init']).status).toBe(0);
  for (const name of ['first.bin', 'second.bin']) {
    writeFileSync(path.join(work, name), randomBytes(200_000));
    const imported = lifeboat(['import', '--allow-unverified', path.join(work, name)]);
    // Stored unverified (no module reads random bytes): done, with warnings.
    expect(imported.status, imported.stderr).toBe(EXIT.warnings);
  }
});

describe('lifeboat vault export and forget-snapshot', () => {
  it('exports a snapshot’s archive under its own name, byte for byte, and never over an existing file', () => {
    const first = snapshots().find((s) => s.archive?.name === 'first.bin')!;
    const out = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-export-'));
    const exported = lifeboat(['vault', 'export', first.id.slice(0, 8), '--dir', out]);
    expect(exported.status, exported.stderr).toBe(0);
    expect(sha256(readFileSync(path.join(out, 'first.bin')))).toBe(sha256(readFileSync(path.join(work, 'first.bin'))));
    expect(lifeboat(['vault', 'export', first.id, '--dir', out]).status).not.toBe(0);
  });

  it('forgets one snapshot, keeps the other, and audits it', () => {
    const before = snapshots();
    expect(before).toHaveLength(2);
    const second = before.find((s) => s.archive?.name === 'second.bin')!;
    const forgot = lifeboat(['vault', 'forget-snapshot', second.id]);
    expect(forgot.status, forgot.stderr).toBe(0);
    expect(forgot.stdout).toContain(`Removed snapshot ${second.id.slice(0, 8)}`);
    expect(snapshots().map((s) => s.archive?.name)).toEqual(['first.bin']);
    expect(lifeboat(['audit']).stdout).toContain(`removed snapshot ${second.id.slice(0, 8)} (second.bin)`);
    // Gone means gone: a second forget of it is a not-found, not a silent success.
    expect(lifeboat(['vault', 'forget-snapshot', second.id]).status).not.toBe(0);
  });
});
