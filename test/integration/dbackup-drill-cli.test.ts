// `lifeboat drill SNAPSHOT` on DBackup snapshots, through the built CLI (node bin/lifeboat.mjs, after
// `node scripts/build.mjs`): a gzipped DBackup Postgres backup (the sample's pg_dump custom archive,
// no encryption profile) imported with its .meta.json drills in a temporary local PostgreSQL 15
// cluster and exits 0; the same dump with a table definition edited to invalid SQL exits 1, the
// failing statement printed.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/main/cli/exit-codes';
import { makeTestHome } from '../harness/home';
import { SAMPLES } from '../fleet/dbackup/archives';
import { databaseSidecar, dbackupFileName, encodePayload, sidecarText } from '../fleet/dbackup/writer';

const cli = path.resolve('bin/lifeboat.mjs');
let home: string;
let work: string;

function lifeboat(args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, encoding: 'utf8', timeout: 180_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Writes an unencrypted gzipped DBackup backup of `dump` with its sidecar, imports it, returns the snapshot id. */
function importBackup(jobName: string, dump: Buffer): string {
  const at = new Date(Date.UTC(2026, 11, 2, 3, 0, 0));
  const fileName = dbackupFileName(jobName, at, 'sql', 'GZIP', false);
  const encoded = encodePayload(dump, { compression: 'GZIP' });
  writeFileSync(path.join(work, fileName), encoded.stored);
  writeFileSync(path.join(work, `${fileName}.meta.json`), sidecarText(databaseSidecar({ jobName, databases: ['loomio_production'], at, fileName, compression: 'GZIP' }, encoded)));
  const imported = lifeboat(['--json', 'import', path.join(work, fileName), path.join(work, `${fileName}.meta.json`)]);
  expect(imported.status, imported.stderr).toBe(0);
  return (JSON.parse(imported.stdout) as { snapshotId: string }[])[0]!.snapshotId;
}

beforeAll(() => {
  home = makeTestHome('dbackup-drill-cli');
  work = makeTestHome('dbackup-drill-cli-files');
  expect(lifeboat(['vault', 'init']).status).toBe(0);
});

describe('lifeboat drill on DBackup snapshots', () => {
  it('exits 0 on a passing drill, no row count differing', () => {
    const id = importBackup('Loomio DB', SAMPLES.singleDb.plaintext);
    const run = lifeboat(['drill', id.slice(0, 8)]);
    expect(run.status, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toMatch(new RegExp(`^Snapshot ${id.slice(0, 8)} restores: postgres drill`));
    expect(run.stdout).toMatch(/ok {3}pg_restore of loomio_production: restored with stop-on-error into lifeboat_drill_/);
    expect(run.stdout).not.toMatch(/DIFFERS/);
  });

  it('exits 1 on a failing drill, printing the failing statement', () => {
    const dump = Buffer.from(SAMPLES.singleDb.plaintext);
    const at = dump.indexOf('CREATE TABLE public.');
    expect(at).toBeGreaterThan(0);
    dump.write('CREATE TABLX', at, 'latin1');
    const id = importBackup('Loomio DB edited', dump);
    const run = lifeboat(['drill', id]);
    expect(run.status, run.stderr).toBe(EXIT.failed);
    expect(run.stdout).toMatch(/does NOT restore: pg_restore stopped: syntax error at or near "TABLX"/);
    expect(run.stdout).toMatch(/^Failing statement: CREATE TABLX public\./m);
  });
});
