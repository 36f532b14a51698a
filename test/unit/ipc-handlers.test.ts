// The Electron binary cannot run on these machines, so the IPC bridge's logic is tested here
// with plain objects in the shape Electron passes; ipc-bridge.ts only wires it to ipcMain.
import { describe, expect, it } from 'vitest';
import { createCore, MemorySecretStore } from '../../src/main/core';
import { createIpcHandlers, type EventTarget } from '../../src/main/electron/ipc-handlers';
import { makeTestHome } from '../harness/home';

interface FakeContents { id: number; mainFrame: object }

describe('the IPC bridge', () => {
  it('answers our window\'s main frame, refuses other windows and subframes, and pushes events', async () => {
    const core = await createCore({ home: makeTestHome('ipc'), secretStore: new MemorySecretStore('test') });
    try {
      const ours: FakeContents = { id: 1, mainFrame: {} };
      const stranger: FakeContents = { id: 2, mainFrame: {} };
      const handlers = createIpcHandlers<FakeContents>(core, (c) => c === ours);

      const ok = await handlers.call({ sender: ours, senderFrame: ours.mainFrame }, 'system:info', {});
      expect(ok).toMatchObject({ ok: true, data: { transport: 'ipc' } });
      const invalid = await handlers.call({ sender: ours, senderFrame: ours.mainFrame }, 'installations:get', {});
      expect(invalid).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
      expect(await handlers.call({ sender: stranger, senderFrame: stranger.mainFrame }, 'system:info', {})).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_ORIGIN' } });
      expect(await handlers.call({ sender: ours, senderFrame: {} }, 'system:info', {})).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_ORIGIN' } });

      const sent: unknown[][] = [];
      const window: EventTarget = { isDestroyed: () => false, send: (...args) => sent.push(args) };
      const closed: EventTarget = { isDestroyed: () => true, send: () => sent.push(['closed window got an event']) };
      const stop = handlers.forwardEvents(() => [window, closed]);
      core.events.emit('vault:changed', { reason: 'test' });
      stop();
      core.events.emit('vault:changed', { reason: 'after stop' });
      expect(sent).toEqual([['lifeboat:event', 'vault:changed', { reason: 'test' }]]);
    } finally {
      await core.close();
    }
  });
});
