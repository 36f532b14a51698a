// Disk faults (#17): the vault and the staging directory on a tmpfs of a few MB that fills during
// a pull (a folder of archives over the real sshd), an import and a prune, and under the twin's uploads. Each fails as DISK_FULL naming the
// directory, leaves nothing partial (no pack, index or temp file of its own; restic check
// --read-data clean with the real restic), and the same operation succeeds once space is freed.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend, Vault } from '../../src/main/vault';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { startTwin, type Twin } from '../../src/main/contract/http-twin';
import { makeTestHome } from '../harness/home';
import { runTool } from '../harness/sshd';
import { startDirectoryFleet, type DirectoryFleet } from '../fleet/directory/fleet';
import { makeScratch, resticOk, TEST_SCRYPT, type Scratch } from '../harness/restic';
import { mountSmallDisk, smallDiskSkipReason, type SmallDisk } from '../harness/small-disk';

const skip = smallDiskSkipReason();
const PASSWORD = 'disk-full-pw';
const MB = 1024 * 1024;

/** Deterministic bytes that do not compress or dedup by accident. */
function bytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0, n = 0; at < size; n++) at += createHash('sha256').update(`${seed}:${n}`).digest().copy(out, at);
  return out;
}

/** Polls until `ready()` holds (generous limit: an event, not a timing). */
async function waitFor(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`never saw ${what}`);
}

const stream = (data: Buffer): Readable => Readable.from((function* () {
  for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536);
})());

/** Every file under the vault, packs and temp files alike (the "nothing partial" listing). */
const files = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).filter((f) => !/^locks/.test(f) && /[0-9a-f]{64}$|\.tmp$/.test(f)).sort();

describe.skipIf(skip !== null)(`a vault on a disk that fills${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let disk: SmallDisk;
  let scratch: Scratch;
  let dir: string;
  let vault: Vault;
  const check = () => resticOk(dir, PASSWORD, ['check', '--read-data'], path.join(scratch.dir, 'cache'));

  beforeAll(async () => {
    disk = mountSmallDisk(16 * MB, 'disk-full-vault');
    scratch = await makeScratch('disk-full-');
    dir = path.join(disk.dir, 'vault');
    vault = await Vault.init(new LocalBackend(dir), PASSWORD, { scrypt: TEST_SCRYPT });
  }, 60_000);

  afterAll(async () => {
    disk?.unmount();
    await scratch?.cleanup();
  });

  it('an import that fills it fails as DISK_FULL naming the vault, leaves none of its packs, and succeeds once space is freed', async () => {
    const archive = bytes(3 * MB, 'import');
    const add = () => vault.addArchive({ input: stream(archive), fileName: 'big.bin', size: archive.length, mtime: new Date(), hostname: 'h', paths: ['/imports'], tags: [] });
    const before = files(dir);
    disk.fill(MB);
    const error = await add().then(() => null, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'DISK_FULL', details: { directory: dir } });
    expect((error as Error).message).toContain(dir);
    expect((error as Error).message).toMatch(/needed, .* free/);
    expect(files(dir)).toEqual(before);
    expect(await vault.listSnapshots()).toHaveLength(0);
    disk.unfill();
    await check();
    const result = await add();
    expect(result.size).toBe(archive.length);
    await check();
  }, 60_000);

  it('a prune that cannot write its repacked pack takes back what it wrote; no snapshot is lost, and it succeeds once space is freed', async () => {
    // Two snapshots sharing the first chunks; forgetting the longer leaves its pack partly used.
    const whole = bytes(4 * MB, 'prune');
    const long = await vault.addArchive({ input: stream(whole), fileName: 'whole.bin', mtime: new Date(), hostname: 'h', paths: ['/prune'], tags: [] });
    await vault.addArchive({ input: stream(whole.subarray(0, 3.5 * MB)), fileName: 'part.bin', mtime: new Date(), hostname: 'h', paths: ['/prune'], tags: [] });
    await vault.forgetSnapshots([long.snapshotId]);
    const snapshots = (await vault.listSnapshots()).map((s) => s.id).sort();
    const before = files(dir);
    disk.fill(128 * 1024);
    await expect(vault.prune({ maxUnusedFraction: 0 })).rejects.toMatchObject({ code: 'DISK_FULL', details: { directory: dir } });
    expect(files(dir)).toEqual(before);
    disk.unfill();
    await check();
    expect((await vault.listSnapshots()).map((s) => s.id).sort()).toEqual(snapshots);
    const pruned = await vault.prune({ maxUnusedFraction: 0 });
    // The failure above was the repack's write (the test means something).
    expect(pruned.packsRepacked).toBeGreaterThan(0);
    await check();
    expect((await vault.listSnapshots()).map((s) => s.id).sort()).toEqual(snapshots);
  }, 90_000);
});

describe.skipIf(skip !== null)(`the twin's staged uploads${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let disk: SmallDisk;
  let core: Core;
  let twin: Twin;
  let staging: string;
  const TOKEN = 'disk-full-twin-token';

  // A fresh connection each time (the 507 answer comes before the body is read, and ends that connection).
  const upload = (data: Buffer, name: string) =>
    new Promise<{ status: number; body: { ok: boolean; data?: { uploadId: string }; error?: { code: string; message: string; details?: Record<string, unknown> } } }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: twin.port, method: 'POST', path: `/api/upload?name=${encodeURIComponent(name)}`, agent: false, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/octet-stream', 'Content-Length': data.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(data);
    });
  const staged = () => readdirSync(staging).filter((n) => !n.startsWith('.')).sort();

  beforeAll(async () => {
    disk = mountSmallDisk(4 * MB, 'disk-full-staging');
    const home = makeTestHome('disk-full-twin');
    staging = path.join(disk.dir, 'staging');
    mkdirSync(staging, { mode: 0o700 });
    symlinkSync(staging, path.join(home, 'staging'));
    core = await createCore({ home, secretStore: new MemorySecretStore('disk full twin') });
    await createInProcessClient(core).call('vault:init', {});
    twin = await startTwin(core, { rendererDir: path.join(home, 'no-ui'), token: TOKEN });
  }, 60_000);

  afterAll(async () => {
    await twin?.close();
    await core?.close();
    disk?.unmount();
  });

  it('an upload that fills the staging disk is DISK_FULL naming the staging directory, and leaves no partial file', async () => {
    disk.fill(256 * 1024);
    const { status, body } = await upload(bytes(MB, 'upload'), 'big.zip');
    disk.unfill();
    expect(status).toBe(507);
    expect(body.error).toMatchObject({ code: 'DISK_FULL', details: { directory: core.home.stagingDir } });
    expect(body.error?.message).toContain(core.home.stagingDir);
    expect(staged()).toEqual([]);
  });

  it('a preview that ends without a report (cancelled as it starts) removes its staged upload', async () => {
    const { body } = await upload(bytes(MB, 'cancelled preview'), 'cancelled.zip');
    const uploadId = body.data!.uploadId;
    expect(staged()).toEqual([uploadId]);
    const client = createInProcessClient(core);
    const { jobId } = await client.call('apps:preview', { source: { uploadId, name: 'cancelled.zip' }, app: 'nojoin' });
    await client.call('jobs:cancel', { id: jobId });
    const record = await core.jobs.wait(jobId);
    expect(record.status).toBe('cancelled');
    // The record ends at the cancel; the preview lets go of the file when its read stops.
    await waitFor(() => staged().length === 0, 'the staged upload removed');
  });

  it('a twin that closes removes what it staged; the next twin sweeps what a crashed one left, not a live one\'s', async () => {
    const { body } = await upload(Buffer.from('kept for an import that never came'), 'a.bin');
    expect(staged()).toEqual([body.data!.uploadId]);
    await twin.close();
    expect(staged()).toEqual([]);
    // A crashed twin's list (its pid is gone) and a running one's (pid 1 is alive).
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const crashed = '11111111-1111-4111-8111-111111111111';
    const live = '22222222-2222-4222-8222-222222222222';
    writeFileSync(path.join(staging, crashed), 'left by a crash');
    writeFileSync(path.join(staging, `.twin-uploads-${dead}`), `${crashed}\n`);
    writeFileSync(path.join(staging, live), 'another twin\'s');
    writeFileSync(path.join(staging, '.twin-uploads-1'), `${live}\n`);
    twin = await startTwin(core, { rendererDir: path.join(core.home.root, 'no-ui'), token: TOKEN });
    expect(staged()).toEqual([live]);
    expect(existsSync(path.join(staging, `.twin-uploads-${dead}`))).toBe(false);
  });
});

/** Keeps the vault password the core makes at init, for the real restic. */
class KeptSecrets extends MemorySecretStore {
  readonly kept = new Map<string, string>();
  override async set(account: string, secret: string): Promise<void> {
    this.kept.set(account, secret);
    await super.set(account, secret);
  }
}

describe.skipIf(skip !== null)(`a pull into a vault on a disk that fills${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let disk: SmallDisk;
  let fleet: DirectoryFleet;
  let core: Core;
  let secrets: KeptSecrets;
  let vaultDir: string;
  let installationId: string;

  beforeAll(async () => {
    disk = mountSmallDisk(6 * MB, 'disk-full-pull');
    vaultDir = path.join(disk.dir, 'vault');
    fleet = await startDirectoryFleet({ name: 'Folder (disk full)' });
    // An archive larger than the space left: random bytes, so gzip keeps it about as large.
    const work = path.join(fleet.sshd.dir, `big-${process.pid}`);
    mkdirSync(work, { recursive: true });
    writeFileSync(path.join(work, 'data.bin'), bytes(3 * MB, 'pull'));
    await runTool('tar', ['czf', path.join(fleet.folder, 'site-900.tar.gz'), '-C', work, 'data.bin']);
    await runTool('chown', [`${fleet.sshd.user}:`, path.join(fleet.folder, 'site-900.tar.gz')]);
    secrets = new KeptSecrets('disk full pull');
    core = await createCore({ home: makeTestHome('disk-full-pull'), secretStore: secrets });
    await createInProcessClient(core).call('vault:init', { location: vaultDir });
    installationId = (await createInProcessClient(core).call('installations:add', fleet.installation)).id;
  }, 60_000);

  afterAll(async () => {
    await core?.close();
    await fleet?.stop();
    disk?.unmount();
  });

  it('fails as DISK_FULL naming the vault, leaves nothing of the pull, and the same pull works once space is freed', async () => {
    const pull = async () => core.jobs.wait((await createInProcessClient(core).call('apps:pull', { installationId, remoteId: 'site-900.tar.gz' })).jobId);
    const before = files(vaultDir);
    disk.fill(MB);
    const failed = await pull();
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'DISK_FULL', details: { directory: vaultDir } });
    expect(failed.error?.message).toContain(vaultDir);
    expect(files(vaultDir)).toEqual(before);
    disk.unfill();
    const password = [...secrets.kept.values()][0]!;
    const cache = path.join(core.home.root, 'restic-cache');
    await resticOk(vaultDir, password, ['check', '--read-data'], cache);
    const pulled = await pull();
    expect(pulled.status, JSON.stringify(pulled.error)).toBe('succeeded');
    expect(await core.vault.snapshots({ installationId })).toHaveLength(1);
    await resticOk(vaultDir, password, ['check', '--read-data'], cache);
  }, 90_000);
});
