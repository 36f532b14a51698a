// The fake Nojoin against the spec itself (specs/nojoin.md §2), with raw HTTPS requests rather
// than Lifeboat's client: the answers a client never provokes on purpose, and the export's audio
// made and re-encoded by the real ffmpeg.
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audioFormatOf } from '../../src/main/apps/nojoin/format/preview';
import { makeSineOpus, makeSineWav } from '../fleet/nojoin/audio';
import { startNojoin, type NojoinFakeHandle } from '../fleet/nojoin/server';
import { readRawZip } from '../fleet/nojoin/zip-tools';
import { until } from '../harness/wait';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
}

let fake: NojoinFakeHandle;
let token: string;

/** One request over TLS to the fake (trusting its certificate), optionally with a body that never ends. */
function raw(method: string, path: string, options: { headers?: Record<string, string>; body?: Buffer | string; hold?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      // servername: the certificate is checked for localhost whatever Host header a test sends.
      { host: '127.0.0.1', port: fake.port, servername: 'localhost', method, path, ca: fake.cert.certPem, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body, json: <T>() => JSON.parse(body.toString('utf8')) as T });
        });
      },
    );
    request.on('error', reject);
    if (options.body !== undefined) request.write(options.body);
    if (!options.hold) request.end();
  });
}

function multipart(data: Buffer | string, filename: string): { body: Buffer; headers: Record<string, string> } {
  const boundary = 'x-fake-test-boundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/zip\r\n\r\n`),
    Buffer.from(data),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

async function waitFor<T>(probe: () => Promise<T | null>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await probe();
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('timed out waiting for the fake');
}

async function exportArchive(query: string): Promise<Buffer> {
  const { task_id: taskId } = (await raw('POST', `/api/v1/backup/export?${query}`)).json<{ task_id: string }>();
  await waitFor(async () => ((await raw('GET', `/api/v1/backup/export/${taskId}`)).json().state === 'SUCCESS' ? true : null));
  return (await raw('GET', `/api/v1/backup/export/${taskId}/download`)).body;
}

beforeAll(async () => {
  fake = await startNojoin({ exportStepMs: 10, restoreStepMs: 5, maxRequestBytes: 200_000 });
  token = '';
  const login = await raw('POST', '/api/v1/login/access-token', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=admin&password=admin-password' });
  token = login.json<{ access_token: string }>().access_token;
});

afterAll(async () => {
  await fake?.stop();
});

describe('the fake Nojoin answers as the spec says', () => {
  it('refuses a Host outside the allow-list, in plain text', async () => {
    const response = await raw('GET', '/health', { headers: { host: 'evil.example' } });
    expect(response.status).toBe(400);
    expect(response.body.toString()).toBe('Invalid host header');
    expect((await raw('GET', '/api/health', { headers: { host: 'localhost:14443' } })).json()).toEqual({ status: 'ok' });
  });

  it('gives FastAPI error bodies for missing and bad tokens', async () => {
    const saved = token;
    token = '';
    const none = await raw('GET', '/api/v1/users/me');
    expect(none.status).toBe(401);
    expect(none.json()).toEqual({ detail: 'Not authenticated' });
    expect(none.headers['www-authenticate']).toBe('Bearer');
    token = `${saved.slice(0, -4)}AAAA`;
    expect((await raw('GET', '/api/v1/users/me')).json()).toEqual({ detail: 'Could not validate credentials' });
    token = saved;
    expect((await raw('GET', '/api/v1/users/me')).json()).toMatchObject({ username: 'admin', is_superuser: true });
  });

  it('reads an unknown export id as waiting, and answers an unsatisfiable range with 416', async () => {
    expect((await raw('GET', `/api/v1/backup/export/${randomUUID()}`)).json()).toEqual({ state: 'PENDING', status: 'Waiting for a worker...' });
    const { task_id: taskId } = (await raw('POST', '/api/v1/backup/export?include_audio=false')).json<{ task_id: string }>();
    await waitFor(async () => ((await raw('GET', `/api/v1/backup/export/${taskId}`)).json().state === 'SUCCESS' ? true : null));
    const whole = await raw('GET', `/api/v1/backup/export/${taskId}/download`);
    expect(whole.headers['content-disposition']).toMatch(/^attachment; filename="nojoin_backup_\d{8}_\d{6}\.zip"$/);
    const past = await raw('GET', `/api/v1/backup/export/${taskId}/download`, { headers: { range: `bytes=${whole.body.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${whole.body.length}`);
    const last = await raw('GET', `/api/v1/backup/export/${taskId}/download`, { headers: { range: 'bytes=-10' } });
    expect(last.status).toBe(206);
    expect(last.body.equals(whole.body.subarray(-10))).toBe(true);
  });

  it('validates upload parameters: 422 for a missing one, 400 for a bad size or an empty upload', async () => {
    const missing = await raw('POST', '/api/v1/backup/upload/init?filename=x.zip&file_size=10');
    expect(missing.status).toBe(422);
    expect(missing.json()).toEqual({ detail: [{ type: 'missing', loc: ['query', 'total_chunks'], msg: 'Field required', input: null }] });
    expect((await raw('POST', '/api/v1/backup/upload/init?filename=x.zip&file_size=-1&total_chunks=1')).json()).toEqual({ detail: 'Invalid file size.' });
    const { upload_id: uploadId } = (await raw('POST', '/api/v1/backup/upload/init?filename=x.zip&file_size=10&total_chunks=1')).json<{ upload_id: string }>();
    expect((await raw('POST', `/api/v1/backup/upload/${uploadId}/complete`)).json()).toEqual({ detail: 'Invalid or empty upload.' });
    expect((await raw('POST', `/api/v1/backup/upload/${randomUUID()}/chunk?chunk_index=0`, multipart('x', 'blob'))).json()).toEqual({ detail: 'Invalid upload_id or chunk_index.' });
  });

  it("answers a request over nginx's body limit with nginx's HTML 413", async () => {
    const response = await raw('POST', '/api/v1/backup/import', multipart(Buffer.alloc(300_000), 'big.zip'));
    expect(response.status).toBe(413);
    expect(response.body.toString()).toContain('<title>413 Request Entity Too Large</title>');
  });

  it('single-shot import: a traversal filename is refused, a third upload in flight is 429', async () => {
    const traversal = await raw('POST', '/api/v1/backup/import', multipart('PK', '../x.zip'));
    expect(traversal.json()).toEqual({ detail: 'Filename contains illegal path traversal characters.' });
    const slow = (name: string) => raw('POST', '/api/v1/backup/import', { headers: { 'content-type': 'multipart/form-data; boundary=b', 'content-length': '100000' }, body: `--b\r\n${name}`, hold: true });
    // Both stay in flight until the fake stops (their sockets are then cut).
    for (const name of ['one', 'two']) slow(name).catch(() => undefined);
    // The third is sent once the fake is receiving both, not after a guessed delay.
    await until(() => fake.importsInFlight() === 2, 'the fake to be receiving both slow uploads');
    const third = await raw('POST', '/api/v1/backup/import', multipart('PK', 'c.zip'));
    expect(third.status).toBe(429);
    expect(third.json()).toEqual({ detail: 'Too many concurrent uploads. Please wait for an existing upload to finish.' });
  });
});

describe("the fake's export audio, by the real ffmpeg", () => {
  it('re-encodes a WAV recording to Ogg Opus in compressed quality and copies it in original quality; an Opus file is copied as is', async () => {
    const alice = fake.store.rows('users').find((u) => u.username === 'alice')!;
    const wav = await makeSineWav({ seconds: 2 });
    const opus = await makeSineOpus({ seconds: 2, frequency: 660 });
    const wavStem = randomUUID();
    const opusStem = randomUUID();
    for (const [stem, extension, bytes] of [[wavStem, '.wav', wav], [opusStem, '.opus', opus]] as const) {
      fake.store.putFile(`data/recordings/${stem}${extension}`, bytes);
      fake.store.insert('recordings', { name: `tone ${extension}`, meeting_uid: randomUUID(), public_id: randomUUID(), audio_path: `data/recordings/${stem}${extension}`, status: 'PROCESSED', duration_seconds: 2, user_id: alice.id });
    }
    const compressed = new Map((await readRawZip(await exportArchive('include_audio=true&archive_quality=compressed'))).map((m) => [m.name, m.data]));
    const reencoded = compressed.get(`recordings/${wavStem}.opus`)!;
    expect(audioFormatOf(reencoded.subarray(0, 64), 'x')).toBe('Opus (Ogg)');
    expect(reencoded.length).toBeLessThan(wav.length / 2);
    expect(compressed.get(`recordings/${opusStem}.opus`)?.equals(opus)).toBe(true);
    const original = new Map((await readRawZip(await exportArchive('include_audio=true&archive_quality=original'))).map((m) => [m.name, m.data]));
    expect(original.get(`recordings/${wavStem}.wav`)?.equals(wav)).toBe(true);
    expect(audioFormatOf(original.get(`recordings/${wavStem}.wav`)!.subarray(0, 64), 'x')).toBe('WAV');
    const info = JSON.parse(original.get('backup_info.json')!.toString()) as { warnings: Record<string, number> };
    expect(info.warnings.recordings_without_audio).toBe(2);
  });
});
