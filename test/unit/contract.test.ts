import { describe, expect, it } from 'vitest';
import { commands, events } from '../../src/shared/contract';
import { LifeboatError, toErrorPayload, isErrorPayload } from '../../src/shared/errors';
import { createCore, MemorySecretStore } from '../../src/main/core';
import { makeTestHome } from '../harness/home';

describe('the contract', () => {
  it('names every command domain:verb and gives each a runtime input schema', () => {
    for (const [name, def] of Object.entries(commands)) {
      expect(name).toMatch(/^[a-z]+:[a-z-]+$/);
      expect(typeof (def.input as { safeParse?: unknown }).safeParse).toBe('function');
      expect(def.summary.length).toBeGreaterThan(5);
    }
    expect(Object.keys(events)).toContain('job:update');
  });

  it('rejects bad input at the boundary with the field named', async () => {
    const core = await createCore({ home: makeTestHome('contract'), secretStore: new MemorySecretStore('test') });
    try {
      const result = await core.dispatch('installations:add', { name: '', app: 'weavestream', ssh: { host: 'h', auth: 'agent' } }, { transport: 'in-process' });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe('INVALID_INPUT');
      expect(result.error.message).toContain('name');
      const unknownApp = await core.dispatch('installations:add', { name: 'x', app: 'wordpress', ssh: { host: 'h', auth: 'agent' } }, { transport: 'in-process' });
      expect(unknownApp.ok ? null : unknownApp.error.message).toMatch(/app/);
      const noTransport = await core.dispatch('installations:add', { name: 'x', app: 'nojoin' }, { transport: 'in-process' });
      expect(noTransport.ok ? null : noTransport.error.message).toMatch(/SSH or an HTTPS connection/);
      const unknown = await core.dispatch('nope:nothing', {}, { transport: 'in-process' });
      expect(unknown.ok ? null : unknown.error.code).toBe('NOT_FOUND');
      const extra = await core.dispatch('jobs:get', { id: 'x', surprise: 1 }, { transport: 'in-process' });
      expect(extra.ok ? null : extra.error.code).toBe('INVALID_INPUT');
    } finally {
      await core.close();
    }
  });

  it('carries typed errors across a JSON boundary intact, cause included', () => {
    const original = new LifeboatError('SSH_HOST_KEY_CHANGED', 'The host key changed.', {
      details: { expected: 'SHA256:a', actual: 'SHA256:b' },
      cause: new Error('handshake'),
    });
    const wire = JSON.parse(JSON.stringify(toErrorPayload(original)));
    expect(isErrorPayload(wire)).toBe(true);
    const rebuilt = LifeboatError.fromPayload(wire);
    expect(rebuilt.code).toBe('SSH_HOST_KEY_CHANGED');
    expect(rebuilt.details).toEqual({ expected: 'SHA256:a', actual: 'SHA256:b' });
    expect(String(rebuilt.cause)).toBe('handshake');
    expect(toErrorPayload(new TypeError('boom'))).toEqual({ code: 'INTERNAL', message: 'boom' });
  });
});
