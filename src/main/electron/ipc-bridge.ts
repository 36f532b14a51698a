// The one place raw IPC is used: every contract command over one channel, every event pushed
// to our own windows. Calls from any other WebContents are refused.
import { ipcMain, type BrowserWindow, type WebContents } from 'electron';
import type { Core } from '../core';

export function installIpcBridge(core: Core, isOurWindow: (contents: WebContents) => boolean, windows: () => BrowserWindow[]): () => void {
  ipcMain.handle('lifeboat:call', async (event, name: unknown, input: unknown) => {
    if (!isOurWindow(event.sender) || !event.senderFrame || event.senderFrame !== event.sender.mainFrame) {
      return { ok: false, error: { code: 'FORBIDDEN_ORIGIN', message: 'This window is not Lifeboat.' } };
    }
    return core.dispatch(String(name), input, { transport: 'ipc' });
  });
  const unsubscribe = core.events.onAny((name, payload) => {
    for (const window of windows()) {
      if (!window.isDestroyed()) window.webContents.send('lifeboat:event', name, payload);
    }
  });
  return () => {
    unsubscribe();
    ipcMain.removeHandler('lifeboat:call');
  };
}
