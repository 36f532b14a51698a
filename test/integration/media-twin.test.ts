// The preview's player through the browser twin: a ticket from `apps:media-url` serves one audio
// member of the Nojoin sample straight out of the ZIP, whole or as a byte range, or converted to
// Opus by the system's ffmpeg; an unknown ticket is a 404 and a ticket needs no bearer token.
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { startTwin, type Twin } from '../../src/main/contract/http-twin';
import type { PreviewReport } from '../../src/shared/apps';
import { makeTestHome } from '../harness/home';

const SAMPLE = path.resolve('test/fixtures/nojoin/nojoin_backup_sample.zip');
let core: Core;
let twin: Twin;

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('media-twin'), secretStore: new MemorySecretStore('media') });
  const rendererDir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-renderer-'));
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Lifeboat</title>');
  twin = await startTwin(core, { rendererDir });
});

afterAll(async () => {
  await twin?.close();
  await core?.close();
});

function get(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: twin.port, path: pathname, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      })
      .on('error', reject);
  });
}

/** The member's bytes as an independent reader (yauzl directly) inflates them. */
function memberBytes(name: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    yauzl.open(SAMPLE, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error);
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== name) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            zip.close();
            resolve(Buffer.concat(chunks));
          });
        });
      });
      zip.on('end', () => reject(new Error(`${name} is not in the sample`)));
      zip.readEntry();
    });
  });
}

describe('media tickets in the browser twin', () => {
  let media: NonNullable<PreviewReport['media']>;
  const client = () => createInProcessClient(core);
  const ticketFor = async (transcode: boolean) => (await client().call('apps:media-url', { source: { path: SAMPLE }, mediaId: media[0]!.id, transcode })).ticket;

  beforeAll(async () => {
    const { jobId } = await client().call('apps:preview', { source: { path: SAMPLE } });
    const record = await core.jobs.wait(jobId);
    media = (record.result as PreviewReport).media ?? [];
  });

  it('lists the recording with audio as playable media', () => {
    expect(media).toHaveLength(1);
    expect(media[0]).toMatchObject({ id: expect.stringMatching(/^recordings\/.+\.opus$/), contentType: 'audio/ogg; codecs=opus' });
  });

  it('serves the whole member, then a byte range of it, equal to what the ZIP holds', async () => {
    const expected = await memberBytes(media[0]!.id);
    const ticket = await ticketFor(false);
    const whole = await get(`/media/${ticket}`);
    expect(whole.status).toBe(200);
    expect(whole.headers['content-type']).toBe('audio/ogg; codecs=opus');
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.body.equals(expected)).toBe(true);
    const part = await get(`/media/${ticket}`, { Range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${expected.length}`);
    expect(part.body.equals(expected.subarray(100, 200))).toBe(true);
    const tail = await get(`/media/${ticket}`, { Range: `bytes=${expected.length - 10}-` });
    expect(tail.body.equals(expected.subarray(expected.length - 10))).toBe(true);
  });

  it('answers a range outside the member with 416, and an unknown ticket with 404', async () => {
    const ticket = await ticketFor(false);
    expect((await get(`/media/${ticket}`, { Range: 'bytes=99999999-' })).status).toBe(416);
    const unknown = await get('/media/0123456789abcdef0123456789abcdef0123456789abcdef');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body.toString()).error.code).toBe('NOT_FOUND');
  });

  it('converts with ffmpeg when asked: an Ogg stream, not ranged', async () => {
    const converted = await get(`/media/${await ticketFor(true)}`);
    expect(converted.status).toBe(200);
    expect(converted.headers['accept-ranges']).toBe('none');
    expect(converted.body.subarray(0, 4).toString('latin1')).toBe('OggS');
    expect(converted.body.includes(Buffer.from('OpusHead'))).toBe(true);
  });

  it('refuses a media id the archive does not list as audio', async () => {
    const { ticket } = await client().call('apps:media-url', { source: { path: SAMPLE }, mediaId: 'users.json', transcode: false });
    const refused = await get(`/media/${ticket}`);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body.toString()).error.message).toContain('not an audio member');
  });
});
