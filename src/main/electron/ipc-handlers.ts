import type { Result } from '../../shared/errors';
import type { Core } from '../core';

/** The parts of an IPC message the bridge looks at (Electron's IpcMainInvokeEvent has them). */
export interface IpcCallEvent<Contents> {
  sender: Contents;
  senderFrame: unknown;
}

/** Contents that can receive pushed events (Electron's WebContents has this). */
export interface EventTarget {
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
}

/**
 * What the IPC bridge does, without Electron: answer contract calls from our own window's main
 * frame only, and push every core event to our windows. ipc-bridge.ts wires it to ipcMain.
 */
export function createIpcHandlers<Contents extends { mainFrame: unknown }>(core: Core, isOurWindow: (contents: Contents) => boolean) {
  return {
    async call(event: IpcCallEvent<Contents>, name: unknown, input: unknown): Promise<Result<unknown>> {
      if (!isOurWindow(event.sender) || !event.senderFrame || event.senderFrame !== event.sender.mainFrame) {
        return { ok: false, error: { code: 'FORBIDDEN_ORIGIN', message: 'This window is not Lifeboat.' } };
      }
      return core.dispatch(String(name), input, { transport: 'ipc' });
    },
    forwardEvents(targets: () => EventTarget[]): () => void {
      return core.events.onAny((name, payload) => {
        for (const target of targets()) {
          if (!target.isDestroyed()) target.send('lifeboat:event', name, payload);
        }
      });
    },
  };
}
