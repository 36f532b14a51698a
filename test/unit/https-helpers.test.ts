import { describe, expect, it } from 'vitest';
import { bodyExcerpt, mapTransportError, serverErrorCode, serverMessage } from '../../src/main/transport/https/errors';
import { backoffDelayMs, DEFAULT_RETRY_POLICY, parseRetryAfterMs } from '../../src/main/transport/https/retry';
import { normalizeFingerprint } from '../../src/main/transport/https/tls-verify';

describe('backoff', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    const max = (attempt: number): number => backoffDelayMs(attempt, DEFAULT_RETRY_POLICY, () => 1);
    expect([0, 1, 2, 3, 10].map(max)).toEqual([250, 500, 1000, 2000, 8000]);
    expect(backoffDelayMs(3, DEFAULT_RETRY_POLICY, () => 0)).toBe(0);
    expect(backoffDelayMs(3, DEFAULT_RETRY_POLICY, () => 0.5)).toBe(1000);
  });
});

describe('Retry-After', () => {
  it('reads delta-seconds and HTTP dates, and nothing else', () => {
    const now = Date.parse('2026-11-23T13:17:19Z');
    expect(parseRetryAfterMs('120', now)).toBe(120_000);
    expect(parseRetryAfterMs('Mon, 23 Nov 2026 13:17:49 GMT', now)).toBe(30_000);
    expect(parseRetryAfterMs('Mon, 23 Nov 2026 13:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfterMs('soon', now)).toBeNull();
    expect(parseRetryAfterMs(null, now)).toBeNull();
  });
});

describe('fingerprints', () => {
  it('normalises hex with or without colons to upper-case pairs', () => {
    const hex = 'ab'.repeat(32);
    const expected = Array(32).fill('AB').join(':');
    expect(normalizeFingerprint(hex)).toBe(expected);
    expect(normalizeFingerprint(expected.toLowerCase())).toBe(expected);
    expect(() => normalizeFingerprint('abc')).toThrow(/SHA-256/);
  });
});

describe('error bodies', () => {
  it('redacts secrets, flattens whitespace and truncates', () => {
    const secret = 'mm_v1_0123456789abcdef0123456789abcdef';
    expect(bodyExcerpt(`{"error":"bad\n token ${secret}"}`, [secret])).toBe('{"error":"bad token [redacted]"}');
    expect(bodyExcerpt('x'.repeat(1000), []).length).toBe(301);
  });

  it('redacts a secret echoed in another case or in part, whatever the case', () => {
    const secret = 'Tok_AbCdEfGh0123IjKlMnOp4567QrStUvWx';
    const half = secret.slice(0, secret.length / 2);
    const body = `{"error":"token ${secret.toLowerCase()} unknown; prefix ${half}; tail ${secret.slice(-10).toUpperCase()}; ok words here"}`;
    const excerpt = bodyExcerpt(body, [secret]);
    expect(excerpt).toBe('{"error":"token [redacted] unknown; prefix [redacted]; tail [redacted]; ok words here"}');
    // No run of 8 characters of the secret is left, in any case.
    const folded = excerpt.toLowerCase();
    for (let i = 0; i + 8 <= secret.length; i++) expect(folded).not.toContain(secret.slice(i, i + 8).toLowerCase());
    // Seven characters of a secret are ordinary text.
    expect(bodyExcerpt('see tok_abc here', [secret])).toBe('see tok_abc here');
  });

  it("keeps a server's error text, not its body", () => {
    const secret = 'dbackup_0123456789abcdef0123456789abcdef';
    // JSON: only the error fields, in order, each once; the data a body echoes is dropped.
    expect(serverMessage(`{"error":"Unauthorized","message":"key ${secret} unknown","user":{"email":"a@b.c","hash":"$argon2id$x"}}`, [secret]))
      .toBe('Unauthorized: key [redacted] unknown');
    expect(serverMessage('{"detail":"Only superusers can export"}', [])).toBe('Only superusers can export');
    // FastAPI's validation errors: their msg texts.
    expect(serverMessage('{"detail":[{"loc":["body","username"],"msg":"field required","type":"value_error.missing"}]}', [])).toBe('field required');
    // An HTML error page: its title; plain text: its first line.
    expect(serverMessage('<html><head><title>413 Request Entity Too Large</title></head><body><p>secret stuff</p></body></html>', [])).toBe('413 Request Entity Too Large');
    expect(serverMessage('<html><body>no title here</body></html>', [])).toBe('');
    expect(serverMessage('Too Many Requests\nrow 1 of the database', [])).toBe('Too Many Requests');
    expect(serverMessage('{"rows":[1,2,3]}', [])).toBe('');
  });

  it('extracts a JSON error code', () => {
    expect(serverErrorCode('{"error":"Insufficient permissions","code":"FORBIDDEN"}')).toBe('FORBIDDEN');
    expect(serverErrorCode('<html>')).toBeUndefined();
  });

  it('names timeouts, cancellations and network failures', () => {
    const state = { cancelled: () => false, timedOut: () => false, timeoutMs: 500, host: 'backup.example.org:8443', idleTimeoutMs: 2500 };
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(mapTransportError(refused, 'GET /x', state).code).toBe('HTTP_NETWORK');
    const stalled = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }) });
    expect(mapTransportError(stalled, 'GET /x', state).code).toBe('HTTP_TIMEOUT');
    expect(mapTransportError(new Error('aborted'), 'GET /x', { ...state, cancelled: () => true }).code).toBe('CANCELLED');
    expect(mapTransportError(new Error('aborted'), 'GET /x', { ...state, timedOut: () => true }).code).toBe('HTTP_TIMEOUT');
  });

  it('says which host went quiet mid-body and for how long', () => {
    const state = { cancelled: () => false, timedOut: () => false, timeoutMs: 30_000, host: 'backup.example.org:8443', idleTimeoutMs: 2500 };
    const stalled = Object.assign(new TypeError('terminated'), { cause: Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' }) });
    const error = mapTransportError(stalled, 'GET /download', state);
    expect(error.code).toBe('HTTP_TIMEOUT');
    expect(error.message).toBe('GET /download (backup.example.org:8443): nothing arrived from backup.example.org:8443 for 2.5 s in the middle of the body, so the transfer was given up (idle timeout 2500 ms).');
    expect(error.details).toMatchObject({ host: 'backup.example.org:8443', idleMs: 2500 });
    const reset = Object.assign(new TypeError('terminated'), { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
    expect(mapTransportError(reset, 'GET /download', state).message).toBe('GET /download (backup.example.org:8443) failed: read ECONNRESET');
  });
});
