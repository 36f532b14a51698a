import { describe, expect, it } from 'vitest';
import { ONE_TIME_CODE_TTL_MS, OneTimeCodes } from '../../src/main/installations/one-time-codes';

describe('OneTimeCodes', () => {
  it('hands a code out once, only to its installation', () => {
    const codes = new OneTimeCodes();
    codes.provide('a', '123456');
    expect(codes.take('b')).toBeNull();
    expect(codes.has('a')).toBe(true);
    expect(codes.take('a')).toBe('123456');
    expect(codes.take('a')).toBeNull();
  });

  it('forgets a code after 120 s, and a newer code replaces an older one', () => {
    let now = 1_000_000;
    const codes = new OneTimeCodes(() => now);
    expect(codes.provide('a', '111111').expiresAt).toBe(new Date(now + ONE_TIME_CODE_TTL_MS).toISOString());
    codes.provide('a', '222222');
    now += ONE_TIME_CODE_TTL_MS - 1;
    expect(codes.take('a')).toBe('222222');
    codes.provide('a', '333333');
    now += ONE_TIME_CODE_TTL_MS;
    expect(codes.has('a')).toBe(false);
    expect(codes.take('a')).toBeNull();
  });
});
