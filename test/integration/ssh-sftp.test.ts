// SFTP through a real sshd: a 5 MiB round trip checked by SHA-256 on both sides, resume, and errors.
import { createHash, randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import { connectSsh } from '../../src/main/transport/ssh/client';
import type { SshSession } from '../../src/main/transport/ssh/session';
import { startSshd } from '../harness/sshd';
import type { TestSshd } from '../harness/sshd';

let sshd: TestSshd;
let session: SshSession;
let base: string;
const payload = randomBytes(5 * 1024 * 1024 + 12_345);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  sshd = await startSshd();
  session = await connectSsh(
    { host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint },
    { homeDir: sshd.dir, sshConfigFile: null },
  );
  base = `${sshd.homeDir}/lifeboat-sftp-${process.pid}-${randomBytes(3).toString('hex')}`;
});

afterAll(async () => {
  if (session?.isOpen) {
    if (await session.statOrNull(base)) await session.remove(base, { recursive: true });
    await session.close();
  }
  await sshd?.stop();
});

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The LifeboatError a promise rejects with (a resolution fails the test). */
const failure = (promise: Promise<unknown>): Promise<LifeboatError> =>
  promise.then(
    () => Promise.reject(new Error('expected the call to fail')),
    (error: unknown) => (error instanceof LifeboatError ? error : Promise.reject(error)),
  );

describe('SFTP', () => {
  it('uploads ~5 MiB with mkdir -p and an atomic rename; the server and a download agree on SHA-256', async () => {
    const dir = `${base}/nested/deeper`;
    await session.mkdirp(dir);
    await session.mkdirp(dir);
    const partial = `${dir}/backup.bin.part`;
    const final = `${dir}/backup.bin`;
    const out = await session.createWriteStream(partial);
    // Uneven pieces, as a real producer would write them.
    const pieces = [payload.subarray(0, 1), payload.subarray(1, 70_001), payload.subarray(70_001)];
    await pipeline(Readable.from(pieces), out);
    expect(out.bytesWritten).toBe(payload.length);
    await session.rename(partial, final);

    const serverSum = (await session.execChecked(`sha256sum ${final}`)).stdout.split(' ')[0];
    expect(serverSum).toBe(sha(payload));
    const stat = await session.stat(final);
    expect(stat).toMatchObject({ size: payload.length, isFile: true, isDirectory: false });
    expect(Math.abs(stat.mtime.getTime() - Date.now())).toBeLessThan(120_000);

    const downloaded = await readAll(await session.createReadStream(final));
    expect(downloaded.length).toBe(payload.length);
    expect(sha(downloaded)).toBe(sha(payload));

    // Odd chunk sizes and few requests in flight must give the same bytes.
    const odd = await readAll(await session.createReadStream(final, { chunkSize: 100_003, concurrency: 3 }));
    expect(sha(odd)).toBe(sha(payload));
    const big = await readAll(await session.createReadStream(final, { chunkSize: 512 * 1024, concurrency: 8 }));
    expect(sha(big)).toBe(sha(payload));

    const listing = await session.list(dir);
    expect(listing.map((e) => e.name)).toEqual(['backup.bin']);
    expect(listing[0]).toMatchObject({ size: payload.length, isDirectory: false });
    expect((await session.list(`${base}/nested`))[0]).toMatchObject({ name: 'deeper', isDirectory: true });
  });

  it('resumes a read from an offset and reads a bounded range', async () => {
    const file = `${base}/nested/deeper/backup.bin`;
    const offset = 3_000_001;
    const progress: number[] = [];
    const rest = await readAll(await session.createReadStream(file, { start: offset, onProgress: (p) => progress.push(p.bytes) }));
    expect(sha(rest)).toBe(sha(payload.subarray(offset)));
    expect(progress.at(-1)).toBe(payload.length - offset);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    const range = await readAll(await session.createReadStream(file, { start: 10, length: 1000 }));
    expect(range.equals(payload.subarray(10, 1010))).toBe(true);
    const pastEnd = await readAll(await session.createReadStream(file, { start: payload.length + 5 }));
    expect(pastEnd.length).toBe(0);
  });

  it('resumes an upload from an offset', async () => {
    const file = `${base}/resumed.bin`;
    const first = await session.createWriteStream(file);
    await pipeline(Readable.from([payload.subarray(0, 1_000_000)]), first);
    const second = await session.createWriteStream(file, { start: 1_000_000, fsync: true });
    await pipeline(Readable.from([payload.subarray(1_000_000)]), second);
    expect((await session.execChecked(`sha256sum ${file}`)).stdout.split(' ')[0]).toBe(sha(payload));
  });

  it('reads ahead only a bounded amount for a slow consumer, and stops on cancel', async () => {
    const file = `${base}/nested/deeper/backup.bin`;
    const controller = new AbortController();
    const stream = await session.createReadStream(file, { signal: controller.signal, chunkSize: 64 * 1024, concurrency: 8 });
    let received = 0;
    let maxBuffered = 0;
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        maxBuffered = Math.max(maxBuffered, stream.readableLength);
        if (received > 1024 * 1024) controller.abort();
        setTimeout(cb, 1);
      },
    });
    const error = await failure(pipeline(stream, slow));
    expect(error.code).toBe('CANCELLED');
    expect(received).toBeLessThan(payload.length);
    // highWaterMark (4 chunks) plus what the 8 requests in flight may still deliver: far below the file's 5 MiB.
    expect(maxBuffered).toBeLessThanOrEqual((4 + 8) * 64 * 1024);
  });

  it('fails a read, instead of hanging, when the connection drops mid-transfer', async () => {
    const other = await connectSsh(
      { host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint },
      { homeDir: sshd.dir, sshConfigFile: null },
    );
    const stream = await other.createReadStream(`${base}/nested/deeper/backup.bin`, { chunkSize: 64 * 1024, concurrency: 4 });
    let received = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        if (received >= 1024 * 1024 && other.isOpen) void other.close();
        setTimeout(cb, 2);
      },
    });
    const error = await pipeline(stream, sink).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(received).toBeLessThan(payload.length);
    expect(other.isOpen).toBe(false);
  });

  it('reads small files whole, replaces on rename, removes recursively, and names missing or forbidden paths', async () => {
    const a = `${base}/a.json`;
    const b = `${base}/b.json`;
    for (const [file, text] of [[a, '{"a":1}'], [b, '{"b":2}']] as const) {
      const out = await session.createWriteStream(file);
      await pipeline(Readable.from([Buffer.from(text)]), out);
    }
    await session.rename(a, b);
    expect((await session.readFile(b)).toString()).toBe('{"a":1}');
    expect(await session.statOrNull(a)).toBeNull();
    expect((await failure(session.readFile(b, { maxBytes: 3 }))).code).toBe('INVALID_INPUT');

    const missing = await failure(session.createReadStream(`${base}/nope.bin`));
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.message).toContain('nope.bin');
    expect((await failure(session.stat(`${base}/nope`))).code).toBe('NOT_FOUND');
    const forbidden = await failure(session.createReadStream('/etc/shadow'));
    expect(forbidden.code).toBe('SSH_SFTP');
    expect(forbidden.message).toMatch(/permission denied/);
    expect((await failure(session.mkdirp(`${b}/sub`))).code).toBe('SSH_SFTP');

    await session.remove(b);
    await session.remove(`${base}/nested`, { recursive: true });
    expect(await session.statOrNull(`${base}/nested`)).toBeNull();
    expect((await failure(session.remove(`${base}/nested`))).code).toBe('NOT_FOUND');
  });
});
