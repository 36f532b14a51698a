import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeTestHome } from '../harness/home';
import { fileOffset, freeze, isRunning, ReadProbe, stepUntil } from '../harness/process-probe';
import { startRclone } from '../harness/rclone';

const cli = path.resolve('bin/lifeboat.mjs');
let home: string;
let work: string;
let password: string;

function lifeboat(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function restic(args: string[]) {
  const result = spawnSync('restic', ['--no-cache', '-r', path.join(home, 'vault'), ...args], { env: { ...process.env, RESTIC_PASSWORD: password }, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8') };
}

beforeAll(() => {
  home = makeTestHome('vault-cli');
  work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-vault-cli-'));
  const init = lifeboat(['vault', 'init']);
  expect(init.stderr).toBe('');
  expect(init.status).toBe(0);
  // The kit goes outside the Lifeboat home: it holds the password in clear by design.
  const kitFile = path.join(work, 'kit.txt');
  expect(lifeboat(['vault', 'recovery-kit', '--output', kitFile]).status).toBe(0);
  password = /^Password: +(\S+)$/m.exec(readFileSync(kitFile, 'utf8'))![1]!;
});

afterAll(() => undefined);

/** Where to kill an import: when its lock appears, or once it has read `at` bytes of the archive (all of it: then it commits). */
type Aim = { kind: 'lock' } | { kind: 'bytes'; at: number };

/** Where a killed import stood, seen while it was stopped just before the kill. */
interface Landing {
  aim: string;
  /** finished: it exited by itself first; before/after-ingest: not yet / no longer reading the archive. */
  stage: 'finished' | 'before-ingest' | 'mid-ingest' | 'after-ingest';
  bytesRead: number | null;
  /** Its lock file stayed in the vault after the kill. */
  leftLock: boolean;
}

/**
 * Runs `lifeboat import archive` and kill -9s it at the aimed moment. The test watches the vault's
 * locks and the importer's read offset on the archive (/proc); once the importer reads, it runs in
 * short bursts between SIGSTOPs (see stepUntil), so that it is stopped at the first look past the
 * aimed byte. Where it stands is noted while it is stopped, and only then is SIGKILL sent.
 */
async function importKilledAt(archive: string, aim: Aim): Promise<Landing> {
  const size = statSync(archive).size;
  const described = aim.kind === 'lock' ? 'its lock' : `byte ${aim.at} of ${size}`;
  const locksDir = path.join(home, 'vault', 'locks');
  const lockNames = (): string[] => readdirSync(locksDir).filter((name) => /^[0-9a-f]{64}$/.test(name));
  const earlier = new Set(lockNames());
  const hasNewLock = (): boolean => lockNames().some((name) => !earlier.has(name));
  const child = spawn(process.execPath, [cli, 'import', '--allow-unverified', archive], { env: { ...process.env, LIFEBOAT_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid as number;
  const probe = new ReadProbe(pid, archive);
  // Past the aimed byte, or done reading (closed the archive) without having been seen there.
  const readTo = (at: number) => (offset: number | null) => (offset === null ? probe.opened : offset >= at);
  const deadline = Date.now() + 120_000;
  let frozen = false;
  let stage: Landing['stage'] = 'finished';
  let bytesRead: number | null = null;
  try {
    while (isRunning(pid)) {
      const offset = probe.offset();
      if (aim.kind === 'lock' ? hasNewLock() : readTo(aim.at)(offset)) {
        frozen = await freeze(pid);
        break;
      }
      if (aim.kind === 'bytes' && offset) {
        frozen = await stepUntil(probe, readTo(aim.at));
        break;
      }
      if (Date.now() > deadline) throw new Error(`the import never reached ${described} within 120 s; stderr: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (frozen) {
      bytesRead = fileOffset(pid, archive);
      if (bytesRead === null) stage = probe.opened ? 'after-ingest' : 'before-ingest';
      else stage = bytesRead === 0 ? 'before-ingest' : bytesRead < size ? 'mid-ingest' : 'after-ingest';
    }
  } finally {
    // Also when the watching failed: never leave a stopped importer behind.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await exited;
  if (!frozen) expect(child.exitCode, `an import that was not killed must succeed (3: stored, marked unverified): ${stderr}`).toBe(3);
  return { aim: described, stage, bytesRead, leftLock: hasNewLock() };
}

describe('lifeboat vault commands against the real restic CLI', () => {
  it('the recovery kit alone opens the vault in restic, and what Lifeboat imports restic restores byte for byte', () => {
    const archive = path.join(work, 'weavestream-postgres.dump');
    writeFileSync(archive, randomBytes(5 * 1024 * 1024 + 17));
    const imported = lifeboat(['--json', 'import', '--allow-unverified', archive, path.resolve('test/fixtures/nojoin/nojoin_backup_sample.zip')]);
    expect(imported.status).toBe(3);
    const results = JSON.parse(imported.stdout) as { snapshotId: string; sha256: string }[];
    expect(results[0]!.sha256).toBe(createHash('sha256').update(readFileSync(archive)).digest('hex'));

    const snapshots = JSON.parse(restic(['snapshots', '--json']).stdout.toString('utf8')) as { id: string; tags: string[]; hostname: string }[];
    expect(snapshots.map((s) => s.id).sort()).toEqual(results.map((r) => r.snapshotId).sort());
    expect(snapshots[0]!.tags).toContain('import');
    const dump = restic(['dump', results[0]!.snapshotId, '/weavestream-postgres.dump']);
    expect(dump.status).toBe(0);
    expect(dump.stdout.equals(readFileSync(archive))).toBe(true);
    const check = restic(['check', '--read-data']);
    expect(check.stderr).not.toMatch(/error/i);
    expect(check.status).toBe(0);

    const ours = lifeboat(['vault', 'dump', results[1]!.snapshotId, 'nojoin_backup_sample.zip']);
    expect(Buffer.from(ours.stdout, 'latin1').length).toBeGreaterThan(0);
    const listed = JSON.parse(lifeboat(['--json', 'vault', 'snapshots']).stdout) as { archive: { name: string } }[];
    expect(listed.map((s) => s.archive.name).sort()).toEqual(['nojoin_backup_sample.zip', 'weavestream-postgres.dump']);
  });

  it('kill -9 at 20 points of an import, aimed by what it has read, never leaves a partial snapshot, and a re-run succeeds', async () => {
    const archive = path.join(work, 'big.bin');
    const size = 24 * 1024 * 1024;
    writeFileSync(archive, randomBytes(size));
    // One whole import first: the killed ones re-read what the vault already holds.
    expect(lifeboat(['import', '--allow-unverified', archive]).status).toBe(3);
    const before = JSON.parse(lifeboat(['--json', 'vault', 'snapshots']).stdout) as unknown[];
    // Kill points across the import's life, each one a moment the test sees (not a time): its lock
    // has appeared; it has read a chosen number of bytes of the archive (16 points, 5 % to 90 %);
    // it has read the whole archive (then it writes the index and the snapshot).
    const midIngest = Array.from({ length: 16 }, (_, i): Aim => ({ kind: 'bytes', at: Math.floor(size * (0.05 + (0.85 * (i + Math.random())) / 16)) }));
    const aims: Aim[] = [{ kind: 'lock' }, { kind: 'lock' }, ...midIngest, { kind: 'bytes', at: size }, { kind: 'bytes', at: size }];
    const landings: Landing[] = [];
    const missed: string[] = [];
    // Snapshot files restic has listed whole (each one once: a snapshot file never changes).
    const whole = new Set<string>();
    for (const aim of aims) {
      // A kill aimed mid-ingest is tried again should the import have finished reading before it
      // was stopped (stepUntil makes that all but impossible); a miss after that fails the test.
      const mid = midIngest.includes(aim);
      for (let attempt = 0; ; attempt++) {
        const landing = await importKilledAt(archive, aim);
        landings.push(landing);
        // A killed writer leaves its lock behind, as a killed restic does; restic check takes an
        // exclusive lock and would refuse, so it runs with --no-lock here (nothing else writes).
        // Either the import finished (a whole snapshot) or nothing new exists: never a partial one.
        for (const id of readdirSync(path.join(home, 'vault', 'snapshots')).filter((name) => /^[0-9a-f]{64}$/.test(name) && !whole.has(name))) {
          expect(restic(['--no-lock', 'ls', id]).status).toBe(0);
          whole.add(id);
        }
        // The structure after every kill; the data once below (a kill could only spoil a pack it was
        // writing, and packs are never rewritten, so one read of all of them sees every one).
        const check = restic(['--no-lock', 'check']);
        expect(check.status, check.stderr).toBe(0);
        if (!mid || landing.stage === 'mid-ingest') break;
        if (attempt === 2) {
          missed.push(landing.aim);
          break;
        }
      }
    }
    const readData = restic(['--no-lock', 'check', '--read-data']);
    expect(readData.status, readData.stderr).toBe(0);
    const described = landings.map((l) => `${l.aim} -> ${l.stage} (${l.bytesRead ?? '-'} bytes read${l.leftLock ? ', lock left' : ''})`).join('\n');
    // Stopped with 0 < bytes read < size, the import was inside its ingest when killed: by construction.
    expect(missed, `every kill aimed mid-ingest must land there:\n${described}`).toEqual([]);
    expect(landings.filter((l) => l.stage === 'mid-ingest' && !l.leftLock).map((l) => l.aim), `an import holds its lock while it ingests:\n${described}`).toEqual([]);
    const killedWhileHoldingLock = landings.filter((l) => l.leftLock).length;
    expect(killedWhileHoldingLock, 'some kills must land mid-ingest for this test to mean anything').toBeGreaterThan(3);
    const rerun = lifeboat(['--json', 'import', '--allow-unverified', archive]);
    expect(rerun.status, rerun.stderr).toBe(3);
    const [result] = JSON.parse(rerun.stdout) as { snapshotId: string }[];
    const dumped = restic(['dump', result!.snapshotId, '/big.bin']);
    expect(dumped.stdout.equals(readFileSync(archive))).toBe(true);
    const after = JSON.parse(lifeboat(['--json', 'vault', 'snapshots']).stdout) as { archive: { size: number } }[];
    expect(after.length).toBeGreaterThan(before.length);
    for (const snapshot of after) expect(snapshot.archive).not.toBeNull();
    // A kill inside a snapshot's atomic write may leave its temp file next to the snapshots.
    const snapshotFiles = readdirSync(path.join(home, 'vault', 'snapshots'));
    expect(snapshotFiles.filter((name) => /^[0-9a-f]{64}$/.test(name)).length).toBe(after.length);
    for (const name of snapshotFiles.filter((n) => !/^[0-9a-f]{64}$/.test(n))) expect(name).toMatch(/^\.[0-9a-f]{64}\.[0-9a-f]{12}\.tmp$/);
  }, 600_000);

  it('names the stale locks the killed imports left, and removes them only when asked', () => {
    const listed = lifeboat(['vault', 'unlock']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/STALE .*its process on this machine is gone/);
    expect(listed.stdout).toContain('lifeboat vault unlock --remove-stale');
    expect(readdirSync(path.join(home, 'vault', 'locks')).filter((name) => /^[0-9a-f]{64}$/.test(name)).length).toBeGreaterThan(0);
    const removed = lifeboat(['vault', 'unlock', '--remove-stale']);
    expect(removed.status, removed.stderr).toBe(0);
    expect(removed.stderr).toMatch(/Removed lock [0-9a-f]{8}: .*stale/);
    // A kill during a lock's atomic write can leave a temp file, which is not a lock.
    expect(readdirSync(path.join(home, 'vault', 'locks')).filter((name) => /^[0-9a-f]{64}$/.test(name))).toEqual([]);
  });

  it('prune removes the temp files killed writers left, and nothing restic needs', () => {
    const vault = path.join(home, 'vault');
    // What a writer killed between open and rename leaves, whether or not the kills above did.
    const leftovers = [path.join(vault, 'snapshots', `.${'a'.repeat(64)}.0123456789ab.tmp`), path.join(vault, 'data', '7f', `.7f${'0'.repeat(62)}.ba9876543210.tmp`)];
    for (const file of leftovers) writeFileSync(file, randomBytes(100));
    const pruned = lifeboat(['--json', 'vault', 'prune']);
    expect(pruned.status, pruned.stderr).toBe(0);
    expect((JSON.parse(pruned.stdout) as { abandonedWritesRemoved: number }).abandonedWritesRemoved).toBeGreaterThanOrEqual(leftovers.length);
    const everyFile = readdirSync(vault, { recursive: true }).map(String);
    expect(everyFile.filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const check = restic(['check', '--read-data']);
    expect(check.status, check.stderr).toBe(0);
  });

  it('without the password in a keychain, `vault open` asks for it and says "wrong password" for a wrong one', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, LIFEBOAT_HOME: home };
    delete env.DBUS_SESSION_BUS_ADDRESS;
    const open = (input: string) => spawnSync(process.execPath, [cli, 'vault', 'open', '--no-remember'], { env, input, encoding: 'utf8' });
    const wrong = open('not the password\n');
    // restic's exit code for a wrong password (src/main/cli/exit-codes.ts).
    expect(wrong.status).toBe(12);
    expect(wrong.stderr).toMatch(/password does not open the vault.*VAULT_WRONG_PASSWORD/);
    const right = open(`${password}\n`);
    expect(right.status, right.stderr).toBe(0);
    expect(right.stdout).toMatch(/: open, \d+ snapshot\(s\)\./);
  });

  it('never writes the vault password in clear anywhere in the Lifeboat home', () => {
    const files = (readdirSync(home, { recursive: true }) as string[]).map((f) => path.join(home, f)).filter((f) => statSync(f).isFile());
    expect(files.length).toBeGreaterThan(10);
    expect(files.filter((f) => readFileSync(f).includes(password))).toEqual([]);
  });
});

describe('a vault behind a restic REST server', () => {
  it('lifeboat vault init --location rest:URL keeps the vault on rclone serve restic, and restic reads it there', async () => {
    const restHome = makeTestHome('vault-rest');
    const served = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-rest-served-'));
    const rclone = await startRclone(served);
    try {
      const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: restHome }, input: '', encoding: 'utf8' });
      const init = run(['vault', 'init', '--location', `rest:${rclone.url}`]);
      expect(init.status, init.stderr).toBe(0);
      const imported = run(['--json', 'import', path.resolve('test/fixtures/meshmonitor/2026-11-23_131719.tar.gz')]);
      expect(imported.status, imported.stderr).toBe(0);
      const [result] = JSON.parse(imported.stdout) as { snapshotId: string }[];
      const kit = run(['vault', 'recovery-kit']).stdout;
      expect(kit).toContain(`rest:${rclone.url}`);
      const restPassword = /^Password: +(\S+)$/m.exec(kit)![1]!;
      const env = { ...process.env, RESTIC_PASSWORD: restPassword };
      const listed = spawnSync('restic', ['--no-cache', '-r', `rest:${rclone.url}`, 'snapshots', '--json'], { env, encoding: 'utf8' });
      expect((JSON.parse(listed.stdout) as { id: string }[]).map((s) => s.id)).toEqual([result!.snapshotId]);
      const check = spawnSync('restic', ['--no-cache', '-r', `rest:${rclone.url}`, 'check', '--read-data'], { env, encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      expect(readdirSync(path.join(served, 'snapshots'))).toEqual([result!.snapshotId]);
    } finally {
      await rclone.stop();
    }
  });
});
