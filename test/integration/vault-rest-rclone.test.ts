/**
 * The REST backend against the real `rclone serve restic` (1.60), and Lifeboat ⇄ restic 0.14 interop
 * over REST. A small fault-injecting HTTP proxy in front of rclone checks retries and timeouts; every
 * answer it forwards comes from rclone.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vault } from '../../src/main/vault';
import { RestBackend } from '../../src/main/vault/backends/rest';
import { LifeboatError } from '../../src/shared/errors';
import { startRclone, type RcloneServer } from '../harness/rclone';
import { hashStream, makeScratch, resticDumpHash, resticOk, sha256, TEST_SCRYPT, type Scratch } from '../harness/restic';
import { until } from '../harness/wait';

// 'v1' answers a listing the way a REST API v1 server does (names only, not the v2 content type).
type Fault = '503' | 'reset' | 'stall' | 'truncate' | 'v1';

/** An HTTP proxy to rclone that applies queued faults to the next requests and logs what it saw. */
interface FaultProxy {
  url: string;
  faults: Fault[];
  log: { method: string; url: string; accept: string; range: string; authorization: string }[];
  stop(): Promise<void>;
}

async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const proxy: FaultProxy = { url: '', faults: [], log: [], stop: async () => undefined };
  const server = http.createServer((req, res) => {
    proxy.log.push({ method: req.method ?? '', url: req.url ?? '', accept: req.headers.accept ?? '', range: req.headers.range ?? '', authorization: req.headers.authorization ?? '' });
    const fault = proxy.faults.shift();
    if (fault === 'stall') return; // never answer; the client's timeout must fire
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain' }).end('try later');
      return;
    }
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      if (fault === 'v1') {
        res.writeHead(up.statusCode ?? 502, { 'content-type': 'application/vnd.x.restic.rest.v1' });
      } else {
        res.writeHead(up.statusCode ?? 502, up.headers);
      }
      if (fault === 'v1') {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const names = (JSON.parse(Buffer.concat(chunks).toString()) as { name: string }[]).map((f) => f.name);
          res.end(JSON.stringify(names));
        });
        return;
      }
      if (fault === 'truncate') {
        up.once('data', (chunk: Buffer) => {
          res.write(chunk.subarray(0, Math.floor(chunk.length / 2)), () => res.socket?.destroy());
        });
        return;
      }
      up.pipe(res);
    });
    forward.on('error', () => res.socket?.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  proxy.stop = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return proxy;
}

async function expectError(promise: Promise<unknown>, code: string, message?: RegExp): Promise<LifeboatError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(LifeboatError);
  expect((error as LifeboatError).code).toBe(code);
  if (message) expect((error as LifeboatError).message).toMatch(message);
  return error as LifeboatError;
}

const hexName = (data: Buffer): string => sha256(data);

let scratch: Scratch;
let plain: RcloneServer;
let guarded: RcloneServer;
let proxy: FaultProxy;
const backends: RestBackend[] = [];
const track = (b: RestBackend): RestBackend => {
  backends.push(b);
  return b;
};

beforeAll(async () => {
  scratch = await makeScratch('lifeboat-rest-');
  plain = await startRclone(path.join(scratch.dir, 'plain'));
  guarded = await startRclone(path.join(scratch.dir, 'guarded'), ['--user', 'alice', '--pass', 'p@ss:wörd/x y', '--append-only']);
  proxy = await startFaultProxy(plain.url);
}, 60_000);

afterAll(async () => {
  for (const b of backends) await b.close();
  await proxy?.stop();
  await plain?.stop();
  await guarded?.stop();
  await scratch?.cleanup();
});

describe('RestBackend against rclone serve restic', () => {
  it('creates the layout, and refuses a second create once a config exists', async () => {
    const backend = track(new RestBackend(`rest:${plain.url}created`));
    expect(backend.location).toBe(`rest:${plain.url}created/`);
    await backend.create();
    expect((await readdir(path.join(plain.dir, 'created'))).sort()).toEqual(['data', 'index', 'keys', 'locks', 'snapshots']);
    await backend.write('config', 'config', Buffer.from('config bytes'));
    expect(await backend.exists('config', 'config')).toBe(true);
    expect(await collect(backend.list('config'))).toEqual([{ name: 'config', size: 12 }]);
    await expectError(backend.create(), 'ALREADY_EXISTS');
    await expectError(backend.write('config', 'config', Buffer.from('other')), 'ALREADY_EXISTS');
    expect(await readFile(path.join(plain.dir, 'created', 'config'), 'utf8')).toBe('config bytes');
  });

  it('writes, lists, stats, reads whole files and ranges, and removes', async () => {
    const backend = track(new RestBackend(`${plain.url}files/`));
    await backend.create();
    const pack = randomBytes(300_000);
    const packId = hexName(pack);
    const key = Buffer.from('{"kdf":"scrypt"}');
    await backend.write('data', packId, pack);
    await backend.write('keys', hexName(key), key);
    // The server lays packs out in data/xx/ although the client addresses them flat.
    expect(await readFile(path.join(plain.dir, 'files', 'data', packId.slice(0, 2), packId))).toEqual(pack);
    expect(await collect(backend.list('data'))).toEqual([{ name: packId, size: pack.length }]);
    expect(await collect(backend.list('keys'))).toEqual([{ name: hexName(key), size: key.length }]);
    expect(await collect(backend.list('snapshots'))).toEqual([]);
    expect(await backend.stat('data', packId)).toEqual({ size: pack.length });
    expect(await backend.exists('data', packId)).toBe(true);
    expect(sha256(await backend.read('data', packId))).toBe(packId);
    expect(await backend.read('data', packId, { offset: 1000, length: 5000 })).toEqual(pack.subarray(1000, 6000));
    expect(await backend.read('data', packId, { offset: pack.length - 651, length: 651 })).toEqual(pack.subarray(pack.length - 651));
    expect(await backend.read('data', packId, { offset: 10, length: 0 })).toEqual(Buffer.alloc(0));
    await backend.remove('data', packId);
    expect(await backend.exists('data', packId)).toBe(false);
    expect(await collect(backend.list('data'))).toEqual([]);
  });

  it('never overwrites a stored file, and skips names that are not restic IDs', async () => {
    const backend = track(new RestBackend(`${plain.url}nooverwrite/`));
    await backend.create();
    const data = Buffer.from('index file bytes');
    const id = hexName(data);
    await backend.write('index', id, data);
    const onDisk = path.join(plain.dir, 'nooverwrite', 'index', id);
    await writeFile(onDisk, 'changed on the server');
    await backend.write('index', id, data);
    expect(await readFile(onDisk, 'utf8')).toBe('changed on the server');
    await writeFile(path.join(plain.dir, 'nooverwrite', 'index', 'notes.txt'), 'x');
    await writeFile(path.join(plain.dir, 'nooverwrite', 'index', `${id}-tmp-123`), 'x');
    expect((await collect(backend.list('index'))).map((f) => f.name)).toEqual([id]);
  });

  it('reports missing files as NOT_FOUND and reads past the end as VAULT_CORRUPT', async () => {
    const backend = track(new RestBackend(`${plain.url}files/`));
    const missing = '0'.repeat(64);
    expect(await backend.exists('snapshots', missing)).toBe(false);
    await expectError(backend.stat('snapshots', missing), 'NOT_FOUND', /snapshots\/00000000/);
    await expectError(backend.read('snapshots', missing), 'NOT_FOUND');
    await expectError(backend.remove('snapshots', missing), 'NOT_FOUND');
    const data = Buffer.from('short file');
    await backend.write('snapshots', hexName(data), data);
    await expectError(backend.read('snapshots', hexName(data), { offset: 5, length: 100 }), 'VAULT_CORRUPT', /shorter than expected/);
    await expectError(backend.read('snapshots', hexName(data), { offset: 50, length: 10 }), 'VAULT_CORRUPT', /shorter than expected/);
    await expectError(backend.read('snapshots', 'not-an-id'), 'INVALID_INPUT');
  });

  it('sends Accept: REST v2 on every request and Range on partial reads', async () => {
    const backend = track(new RestBackend(`${proxy.url}headers/`, { retries: 0 }));
    await backend.create();
    const data = randomBytes(2000);
    await backend.write('data', hexName(data), data);
    proxy.log.length = 0;
    await collect(backend.list('data'));
    await backend.read('data', hexName(data), { offset: 100, length: 200 });
    expect(proxy.log.map((r) => [r.method, r.url, r.accept, r.range])).toEqual([
      ['GET', '/headers/data/', 'application/vnd.x.restic.rest.v2', ''],
      ['GET', `/headers/data/${hexName(data)}`, 'application/vnd.x.restic.rest.v2', 'bytes=100-299'],
    ]);
  });

  it('reads a v1 listing (names only) by asking each file\'s size', async () => {
    const backend = track(new RestBackend(`${proxy.url}headers/`, { retries: 0 }));
    const extra = randomBytes(777);
    await backend.write('data', hexName(extra), extra);
    const expected = await collect(backend.list('data'));
    expect(expected).toHaveLength(2);
    proxy.log.length = 0;
    proxy.faults.push('v1');
    const listed = await collect(backend.list('data'));
    expect(listed.sort((a, b) => a.name.localeCompare(b.name))).toEqual(expected.sort((a, b) => a.name.localeCompare(b.name)));
    expect(proxy.log.map((r) => r.method)).toEqual(['GET', 'HEAD', 'HEAD']);
  });

  it('retries 503s, dropped connections and cut-off bodies, then succeeds', async () => {
    const backend = track(new RestBackend(`${proxy.url}flaky/`, { retries: 3, initialBackoffMs: 20 }));
    proxy.faults.push('503', 'reset');
    await backend.create();
    const data = randomBytes(200_000);
    proxy.faults.push('reset'); // the existence check before the upload
    proxy.faults.push('503'); // the upload itself
    await backend.write('data', hexName(data), data);
    proxy.faults.push('truncate', '503');
    expect(sha256(await backend.read('data', hexName(data)))).toBe(hexName(data));
    proxy.faults.push('truncate');
    expect(await backend.read('data', hexName(data), { offset: 50_000, length: 100_000 })).toEqual(data.subarray(50_000, 150_000));
    proxy.faults.push('reset');
    expect(await collect(backend.list('data'))).toEqual([{ name: hexName(data), size: data.length }]);
    proxy.faults.push('reset');
    await backend.remove('data', hexName(data));
    expect(await backend.exists('data', hexName(data))).toBe(false);
    expect(proxy.faults).toEqual([]);
  });

  it('gives up after the retry budget with a message naming the operation', async () => {
    const backend = track(new RestBackend(`${proxy.url}flaky/`, { retries: 2, initialBackoffMs: 10 }));
    proxy.faults.push('503', '503', '503');
    const error = await expectError(backend.stat('keys', 'a'.repeat(64)), 'VAULT_BACKEND', /read the size of keys\/aaaaaaaa .*503 \(gave up after 3 attempts\)/);
    expect(error.details).toEqual({ attempts: 3 });
    expect(proxy.faults).toEqual([]);
  });

  it('times out a stalled answer and tries again', async () => {
    const backend = track(new RestBackend(`${proxy.url}flaky/`, { retries: 1, idleTimeoutMs: 400, initialBackoffMs: 10 }));
    proxy.faults.push('stall');
    const started = Date.now();
    expect(await backend.exists('keys', 'b'.repeat(64))).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    proxy.faults.push('stall', 'stall');
    await expectError(backend.exists('keys', 'b'.repeat(64)), 'VAULT_BACKEND', /did not answer in time/);
  });

  it('stops with CANCELLED when its signal aborts', async () => {
    const controller = new AbortController();
    const backend = track(new RestBackend(`${proxy.url}flaky/`, { signal: controller.signal, idleTimeoutMs: 30_000 }));
    proxy.faults.push('stall');
    const requests = proxy.log.length;
    const pending = backend.exists('keys', 'c'.repeat(64));
    // Cancelled once the stalled request has reached the proxy, not after a guessed delay.
    await until(() => proxy.log.length > requests, 'the request to reach the proxy');
    controller.abort();
    const started = Date.now();
    await expectError(pending, 'CANCELLED');
    expect(Date.now() - started).toBeLessThan(2000);
    proxy.faults.length = 0;
  });

  it('uses basic auth from the URL and never shows the password', async () => {
    const password = 'p@ss:wörd/x y';
    const url = `rest:http://alice:${encodeURIComponent(password)}@${guarded.url.slice('http://'.length)}repo/`;
    const backend = track(new RestBackend(url));
    expect(backend.location).toBe(`rest:${guarded.url}repo/`);
    await backend.create();
    const data = Buffer.from('hello');
    await backend.write('keys', hexName(data), data);
    expect(await backend.read('keys', hexName(data))).toEqual(data);

    const anonymous = track(new RestBackend(`${guarded.url}repo/`, { retries: 0 }));
    await expectError(anonymous.read('keys', hexName(data)), 'VAULT_BACKEND', /credentials \(401\)/);
    const wrong = track(new RestBackend(`http://alice:nope@${guarded.url.slice('http://'.length)}repo/`, { retries: 0 }));
    const error = await expectError(wrong.exists('keys', hexName(data)), 'VAULT_BACKEND', /401/);
    expect(JSON.stringify(error.toPayload())).not.toContain('nope');
    const all = JSON.stringify([backend.location, error.message]);
    expect(all).not.toContain(encodeURIComponent(password));
    expect(all).not.toContain('alice');
  });

  it('on an append-only server, removing data is refused but locks can go', async () => {
    const url = `http://alice:${encodeURIComponent('p@ss:wörd/x y')}@${guarded.url.slice('http://'.length)}repo/`;
    const backend = track(new RestBackend(url, { retries: 0 }));
    const data = Buffer.from('pack');
    const lock = Buffer.from('lock');
    await backend.write('data', hexName(data), data);
    await backend.write('locks', hexName(lock), lock);
    await expectError(backend.remove('data', hexName(data)), 'VAULT_BACKEND', /append-only/);
    await backend.remove('locks', hexName(lock));
    expect(await backend.exists('locks', hexName(lock))).toBe(false);
  });
});

describe('Lifeboat and restic 0.14 share a vault over REST', () => {
  const password = 'rest interop password';
  let cache: string;

  beforeAll(() => {
    cache = path.join(scratch.dir, 'restic-cache');
  });

  it('restic lists, checks every byte of, and dumps a vault Lifeboat wrote over REST', async () => {
    const repoUrl = `${plain.url}lifeboat-written/`;
    const vault = await Vault.init(track(new RestBackend(repoUrl)), password, { scrypt: TEST_SCRYPT });
    // 5 MiB of random data with a repeated 1 MiB block in it, so dedup and several blobs are involved.
    const block = randomBytes(1 << 20);
    const archive = Buffer.concat([randomBytes(1 << 20), block, randomBytes(2 << 20), block]);
    const result = await vault.addArchive({
      input: Readable.from([archive.subarray(0, 3_000_000), archive.subarray(3_000_000)]),
      fileName: 'app-2026-11-23.dump',
      size: archive.length,
      mtime: new Date('2026-11-23T12:00:00Z'),
      sidecars: [{ name: 'app-2026-11-23.manifest.json', content: Buffer.from('{"ok":true}\n') }],
      hostname: 'app.example',
      tags: ['lifeboat'],
      paths: ['/lifeboat/app'],
      time: new Date('2026-11-23T12:30:00Z'),
    });
    expect(result.sha256).toBe(sha256(archive));

    const restUrl = `rest:${repoUrl}`;
    const snapshots = JSON.parse(await resticOk(restUrl, password, ['snapshots', '--json'], cache)) as { id: string; hostname: string; paths: string[]; tags: string[] }[];
    expect(snapshots.map((s) => [s.id, s.hostname, s.paths, s.tags])).toEqual([[result.snapshotId, 'app.example', ['/lifeboat/app'], ['lifeboat']]]);
    const checked = await resticOk(restUrl, password, ['check', '--read-data'], cache);
    expect(checked).toMatch(/no errors were found/);
    expect(await resticDumpHash(restUrl, password, result.snapshotId, '/app-2026-11-23.dump', cache)).toEqual({ sha256: sha256(archive), size: archive.length });
  });

  it('Lifeboat opens, checks and reads a repository restic wrote over REST', async () => {
    const repoUrl = `${plain.url}restic-written/`;
    const restUrl = `rest:${repoUrl}`;
    const src = path.join(scratch.dir, 'src');
    await mkdir(path.join(src, 'sub'), { recursive: true });
    const big = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(path.join(src, 'big.bin'), big);
    await writeFile(path.join(src, 'sub', 'note.txt'), 'hello over REST\n');
    await resticOk(restUrl, password, ['init', '--repository-version', '2'], cache);
    await resticOk(restUrl, password, ['backup', '--host', 'restic-host', '--tag', 'made-by-restic', src], cache);

    const vault = await Vault.open(track(new RestBackend(repoUrl)), password);
    const list = await vault.listSnapshots();
    expect(list.map((s) => [s.hostname, s.tags, s.paths])).toEqual([['restic-host', ['made-by-restic'], [src]]]);
    const id = list[0]!.id;
    const files = await vault.listFiles(id);
    const bigPath = `${src}/big.bin`;
    expect(files.find((f) => f.path === bigPath)?.size).toBe(big.length);
    expect(await hashStream(await vault.dumpFile(id, bigPath))).toEqual({ sha256: sha256(big), size: big.length });
    const note = Buffer.from('hello over REST\n');
    expect(await hashStream(await vault.dumpFile(id, `${src}/sub/note.txt`))).toEqual({ sha256: sha256(note), size: note.length });
    const check = await vault.check({ readData: true });
    expect(check.problems).toEqual([]);
    expect(check.ok).toBe(true);
    expect(check.stats.bytesRead).toBeGreaterThan(big.length);
  });
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
