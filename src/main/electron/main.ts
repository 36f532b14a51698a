// The thin Electron shell: one window, a menu, a tray icon, and the IPC bridge. Everything
// else is the core, which runs the same under plain Node (see src/main/cli).
import { app, BrowserWindow, Menu, Tray, nativeImage, session, shell } from 'electron';
import path from 'node:path';
import { createCore, type Core } from '../core';
import { installIpcBridge } from './ipc-bridge';
import { handleMediaScheme, registerMediaScheme } from './media-protocol';
import { RENDERER_CSP } from '../contract/http-twin';

let core: Core | null = null;
let mainWindow: BrowserWindow | null = null;
let tray: Tray | null = null;

const rendererIndex = path.join(__dirname, '..', 'renderer', 'index.html');
const preloadScript = path.join(__dirname, '..', 'preload', 'index.cjs');
const iconFile = path.join(__dirname, '..', '..', 'resources', 'icon.png');

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    title: 'Lifeboat',
    show: false,
    webPreferences: {
      preload: preloadScript,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  // Nothing navigates away from the bundled UI, and no new windows open; links go to the browser.
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  void window.loadFile(rendererIndex);
  return window;
}

function buildTray(): void {
  tray = new Tray(nativeImage.createFromPath(iconFile));
  tray.setToolTip('Lifeboat');
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: 'Open Lifeboat', click: () => showWindow() },
      { type: 'separator' },
      { label: 'Quit', role: 'quit' },
    ]),
  );
  tray.on('click', () => showWindow());
}

function showWindow(): void {
  if (!mainWindow || mainWindow.isDestroyed()) mainWindow = createWindow();
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.show();
  mainWindow.focus();
}

async function start(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => showWindow());
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  registerMediaScheme();
  await app.whenReady();
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [RENDERER_CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  core = await createCore();
  handleMediaScheme(core);
  installIpcBridge(
    core,
    (contents) => mainWindow !== null && !mainWindow.isDestroyed() && contents === mainWindow.webContents,
    () => (mainWindow ? [mainWindow] : []),
  );
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      { role: 'fileMenu' },
      { role: 'editMenu' },
      { role: 'viewMenu' },
      { role: 'windowMenu' },
      { role: 'help', submenu: [{ label: 'Lifeboat on the web', click: () => void shell.openExternal('https://github.com/') }] },
    ]),
  );
  mainWindow = createWindow();
  buildTray();
  app.on('activate', () => showWindow());
}

app.on('window-all-closed', () => {
  // The tray keeps Lifeboat running for scheduled work; on macOS that is the platform's habit too.
  if (!tray) app.quit();
});

app.on('before-quit', () => {
  void core?.close();
});

start().catch((error: unknown) => {
  console.error('Lifeboat could not start:', error);
  app.exit(1);
});
