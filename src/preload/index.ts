// The preload exposes the contract as window.lifeboat and nothing else: no Node, no raw IPC.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { LifeboatBridge } from '../shared/contract';
import type { Result } from '../shared/errors';

const bridge: LifeboatBridge = {
  invoke: (name, input) => ipcRenderer.invoke('lifeboat:call', name, input) as Promise<Result<unknown>>,
  subscribe: (name, listener) => {
    const forward = (_event: Electron.IpcRendererEvent, eventName: string, payload: unknown) => {
      if (eventName === name) listener(payload);
    };
    ipcRenderer.on('lifeboat:event', forward);
    return () => {
      ipcRenderer.off('lifeboat:event', forward);
    };
  },
  pathForFile: (file) => webUtils.getPathForFile(file),
};

contextBridge.exposeInMainWorld('lifeboat', bridge);
