import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { startTwin, type Twin } from '../../src/main/contract/http-twin';
import { makeTestHome } from '../harness/home';

let core: Core;
let twin: Twin;
let rendererDir: string;

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('twin'), secretStore: new MemorySecretStore('test') });
  rendererDir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-renderer-'));
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Lifeboat</title>');
  twin = await startTwin(core, { rendererDir });
});

afterAll(async () => {
  await twin.close();
  await core.close();
});

/** A raw request, so tests control Host and Origin exactly as a hostile page could. */
function request(options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: twin.port, method: options.method ?? 'GET', path: options.path, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const auth = () => ({ Authorization: `Bearer ${twin.token}`, 'Content-Type': 'application/json' });

describe('the browser twin', () => {
  it('listens on 127.0.0.1 with a fresh random token in the URL fragment', () => {
    expect(twin.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${twin.port}/#token=[A-Za-z0-9_-]{32}$`));
  });

  it('serves the UI with a strict CSP', async () => {
    const page = await request({ path: '/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['cache-control']).toBe('no-cache');
    // A content-hashed build file never changes under its name: cached for good (code only, no data).
    mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
    writeFileSync(path.join(rendererDir, 'assets', 'index-Ab_d-123.js'), 'export {};');
    writeFileSync(path.join(rendererDir, 'assets', 'unhashed.js'), 'export {};');
    const hashed = await request({ path: '/assets/index-Ab_d-123.js' });
    expect(hashed.headers['cache-control']).toBe('max-age=31536000, immutable');
    expect(hashed.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await request({ path: '/assets/unhashed.js' })).headers['cache-control']).toBe('no-cache');
    const traversal = await request({ path: '/..%2f..%2fetc%2fpasswd' });
    expect(traversal.status).toBe(404);
  });

  it('answers 401 to a missing or wrong token', async () => {
    const none = await request({ method: 'POST', path: '/api/call/installations:list', body: '{}' });
    expect(none.status).toBe(401);
    const wrong = await request({ method: 'POST', path: '/api/call/installations:list', headers: { Authorization: 'Bearer nope' }, body: '{}' });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body).error.code).toBe('UNAUTHORIZED');
    const events = await request({ path: '/api/events', headers: { Authorization: `Bearer ${twin.token}x` } });
    expect(events.status).toBe(401);
  });

  it('refuses another Origin and a foreign Host (DNS rebinding) even with the token', async () => {
    const crossSite = await request({ method: 'POST', path: '/api/call/installations:list', headers: { ...auth(), Origin: 'https://evil.example' }, body: '{}' });
    expect(crossSite.status).toBe(403);
    const rebinding = await request({ method: 'POST', path: '/api/call/installations:list', headers: { ...auth(), Host: `evil.example:${twin.port}` }, body: '{}' });
    expect(rebinding.status).toBe(403);
    const sameOrigin = await request({ method: 'POST', path: '/api/call/installations:list', headers: { ...auth(), Origin: `http://127.0.0.1:${twin.port}` }, body: '{}' });
    expect(sameOrigin.status).toBe(200);
  });

  it('runs contract commands and returns errors as data', async () => {
    const added = await request({
      method: 'POST',
      path: '/api/call/installations:add',
      headers: auth(),
      body: JSON.stringify({ name: 'twin test', app: 'weavestream', ssh: { host: '127.0.0.1', auth: 'agent' } }),
    });
    expect(JSON.parse(added.body)).toMatchObject({ ok: true, data: { name: 'twin test', app: 'weavestream' } });
    const invalid = await request({ method: 'POST', path: '/api/call/installations:add', headers: auth(), body: JSON.stringify({ name: 'x' }) });
    expect(JSON.parse(invalid.body)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    const malformed = await request({ method: 'POST', path: '/api/call/installations:list', headers: auth(), body: '{' });
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT', message: expect.stringContaining('JSON') } });
  });

  it('serves the UI bootstrap (installations and statuses) only with the token, and never in the page itself', async () => {
    const name = 'bootstrap twin test';
    await core.registry.add({ name, app: 'directory', tags: ['</script><script>alert(1)</script>'], settings: { directory: '/srv' }, ssh: { host: '127.0.0.1', auth: 'agent' } });
    const path = '/api/call/system%3Abootstrap';
    for (const headers of [{}, { Authorization: 'Bearer nope' }, { Authorization: `Bearer ${twin.token}x` }] as Record<string, string>[]) {
      const refused = await request({ method: 'POST', path, headers: { ...headers, 'Content-Type': 'application/json' }, body: '{}' });
      expect(refused.status).toBe(401);
      expect(refused.body).not.toContain(name);
    }
    const crossSite = await request({ method: 'POST', path, headers: { ...auth(), Origin: 'https://evil.example' }, body: '{}' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body).not.toContain(name);
    const answer = await request({ method: 'POST', path, headers: auth(), body: '{}' });
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    const { data } = JSON.parse(answer.body) as { data: { info: { transport: string }; modules: unknown[]; installations: { name: string; tags: string[] }[]; statuses: unknown[] } };
    expect(data.info.transport).toBe('http-twin');
    expect(data.modules.length).toBeGreaterThan(0);
    expect(data.installations.find((i) => i.name === name)?.tags).toEqual(['</script><script>alert(1)</script>']);
    // What a page without the token can read carries none of it.
    const page = await request({ path: '/' });
    expect(page.body).not.toContain(name);
  });

  it('answers a malformed percent-encoding with 400, never INTERNAL', async () => {
    for (const bad of ['/%E0%A4%A', '/%c0%ae%c0%ae/x', '/api/call/%E0%A4%A', '/api/call/%c0%ae']) {
      const api = bad.startsWith('/api/');
      const answer = await request({ method: api ? 'POST' : 'GET', path: bad, headers: auth(), ...(api ? { body: '{}' } : {}) });
      expect(answer.status, `${bad}: ${answer.body.slice(0, 200)}`).toBe(400);
      // Node's own parser refuses some of these before Lifeboat sees them (an empty 400); what reaches Lifeboat is named.
      if (answer.body) expect(JSON.parse(answer.body)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT', message: expect.stringContaining('percent-encoding') } });
    }
  });

  it('streams contract events over server-sent events', async () => {
    const received = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: twin.port, path: '/api/events', headers: { Authorization: `Bearer ${twin.token}` } }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
          if (text.includes(': connected')) core.events.emit('vault:changed', { reason: 'test event' });
          if (text.includes('test event')) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
      req.end();
    });
    expect(received).toContain('event: vault:changed\ndata: {"reason":"test event"}');
  });

  it('stages uploaded files for later commands', async () => {
    const upload = await request({ method: 'POST', path: '/api/upload?name=..%2Fbackup.zip', headers: { Authorization: `Bearer ${twin.token}` }, body: 'archive bytes' });
    const data = JSON.parse(upload.body).data as { uploadId: string; name: string; size: number };
    expect(data.name).toBe('backup.zip');
    expect(data.size).toBe(13);
    expect(readFileSync(path.join(core.home.stagingDir, data.uploadId), 'utf8')).toBe('archive bytes');
  });

  it('removes staged files older than a day when the next upload comes', async () => {
    const old = path.join(core.home.stagingDir, 'left-by-a-preview');
    writeFileSync(old, 'x');
    const dayAgo = new Date(Date.now() - 25 * 3600 * 1000);
    utimesSync(old, dayAgo, dayAgo);
    await request({ method: 'POST', path: '/api/upload?name=new.zip', headers: { Authorization: `Bearer ${twin.token}` }, body: 'y' });
    expect(existsSync(old)).toBe(false);
  });
});
