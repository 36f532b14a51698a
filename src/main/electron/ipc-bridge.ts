// The one place raw IPC is used: every contract command over one channel, every event pushed
// to our own windows. Calls from any other WebContents or frame are refused (ipc-handlers.ts).
import { ipcMain, type BrowserWindow, type WebContents } from 'electron';
import type { Core } from '../core';
import { createIpcHandlers } from './ipc-handlers';

export function installIpcBridge(core: Core, isOurWindow: (contents: WebContents) => boolean, windows: () => BrowserWindow[]): () => void {
  const handlers = createIpcHandlers<WebContents>(core, isOurWindow);
  ipcMain.handle('lifeboat:call', (event, name: unknown, input: unknown) => handlers.call(event, name, input));
  const unsubscribe = handlers.forwardEvents(() => windows().filter((w) => !w.isDestroyed()).map((w) => w.webContents));
  return () => {
    unsubscribe();
    ipcMain.removeHandler('lifeboat:call');
  };
}
