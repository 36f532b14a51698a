// The client-side budget that keeps Lifeboat inside DBackup's per-address limits (auth 5/min,
// GET 100/min, other 20/min), on a fake clock.
import { describe, expect, it } from 'vitest';
import { DBACKUP_RATE_LIMITS, RateBudget, rateCategory } from '../../src/main/apps/dbackup/api';

describe('DBackup rate budget', () => {
  const signal = new AbortController().signal;

  it('counts requests in DBackup\'s categories', () => {
    expect(rateCategory('GET', '/api/storage/s1/files')).toBe('get');
    expect(rateCategory('POST', '/api/jobs/j1/run')).toBe('other');
    expect(rateCategory('DELETE', '/storage/s1/files')).toBe('other');
    expect(rateCategory('POST', '/api/auth/sign-in/email')).toBe('auth');
    expect(DBACKUP_RATE_LIMITS).toEqual({ auth: 5, get: 100, other: 20 });
  });

  it('lets 100 GETs and 20 others through in a minute, then says how long to wait', async () => {
    let now = 1_000_000;
    const budget = new RateBudget(undefined, () => now);
    for (let i = 0; i < 100; i++) await budget.take('get', signal);
    for (let i = 0; i < 20; i++) await budget.take('other', signal);
    expect(budget.waitMs('get')).toBe(60_000);
    expect(budget.waitMs('other')).toBe(60_000);
    expect(budget.waitMs('auth')).toBe(0);
    now += 30_000;
    expect(budget.waitMs('get')).toBe(30_000);
    now += 30_001;
    expect(budget.waitMs('get')).toBe(0);
  });

  it('a 429 blocks its category until Retry-After; a wait longer than a window fails, saying when to retry', async () => {
    const now = 5_000_000;
    const budget = new RateBudget(undefined, () => now);
    budget.penalize('other', 120_000);
    expect(budget.waitMs('other')).toBe(120_000);
    expect(budget.waitMs('get')).toBe(0);
    await expect(budget.take('other', signal)).rejects.toMatchObject({ code: 'HTTP_RATE_LIMITED', details: { category: 'other', retryAfterSeconds: 120 }, message: expect.stringMatching(/allows 20 POST, PUT and DELETE requests a minute/) });
  });

  it('waits for a slot when the wait is short', async () => {
    const budget = new RateBudget({ auth: 1, get: 1, other: 1 });
    await budget.take('get', signal);
    budget.penalize('get', 0);
    const started = Date.now();
    const wait = budget.waitMs('get');
    expect(wait).toBeGreaterThan(59_000);
    const quick = new RateBudget({ auth: 1, get: 1, other: 1 });
    quick.penalize('get', 150);
    await quick.take('get', signal);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});
