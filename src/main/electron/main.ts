// The thin Electron shell: one window, a menu, a tray icon, and the IPC bridge. Everything
// else is the core, which runs the same under plain Node (see src/main/cli).
import { app, BrowserWindow, Menu, Notification, Tray, nativeImage, net, powerMonitor, session, shell } from 'electron';
import path from 'node:path';
import { createCore, type Core } from '../core';
import { installIpcBridge } from './ipc-bridge';
import { handleMediaScheme, registerMediaScheme } from './media-protocol';
import { RENDERER_CSP } from '../contract/http-twin';
import type { TrayAction } from '../schedule/tray';

let core: Core | null = null;
let mainWindow: BrowserWindow | null = null;
let tray: Tray | null = null;
let closeToTray = true;
const NETWORK_POLL_MS = 10_000;

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
  tray.on('click', () => showWindow());
  void refreshTray();
}

/** The tray renders the core's tray model (state, tooltip, menu); choosing an item runs its command. */
async function refreshTray(): Promise<void> {
  if (!tray || !core) return;
  const c = core;
  const model = await c.unattended.tray().catch(() => null);
  if (!model || !tray) return;
  tray.setToolTip(model.tooltip);
  const run = (action: TrayAction | null) => () => {
    if (action === 'open') showWindow();
    else if (action === 'quit') app.quit();
    else if (action) void c.dispatch(action.command, action.input, { transport: 'ipc' }).then(() => refreshTray());
  };
  tray.setContextMenu(Menu.buildFromTemplate(model.items.map((item) => ('separator' in item ? { type: 'separator' as const } : { label: item.label, enabled: item.enabled, click: run(item.action) }))));
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
  // The desktop app runs the schedules unless a daemon already does (then it only shows them).
  try {
    core.unattended.run('the Lifeboat desktop app');
  } catch (error) {
    console.warn(String(error));
  }
  const settings = await core.settings.read();
  closeToTray = settings.closeToTray;
  if (app.isPackaged) app.setLoginItemSettings({ openAtLogin: settings.startAtLogin, openAsHidden: true });
  // Waking from sleep: catch up what was missed, once.
  powerMonitor.on('resume', () => void core?.unattended.wake());
  // The network coming back: Electron has no main-process event for it, so its word is read on
  // the power events and every few seconds; the core decides what a return means (run what is past due once).
  const network = () => void core?.unattended.networkChanged(net.isOnline());
  powerMonitor.on('resume', network);
  powerMonitor.on('unlock-screen', network);
  setInterval(network, NETWORK_POLL_MS).unref();
  for (const name of ['watch:changed', 'schedule:changed'] as const) core.events.on(name, () => void refreshTray());
  core.events.on('notification:new', (n) => {
    if (n.severity !== 'info' && Notification.isSupported()) new Notification({ title: n.title, body: n.message }).show();
  });
}

app.on('window-all-closed', () => {
  // The tray keeps Lifeboat running for scheduled work; on macOS that is the platform's habit too.
  if (!tray || !closeToTray) app.quit();
});

app.on('before-quit', () => {
  void core?.close();
});

start().catch((error: unknown) => {
  console.error('Lifeboat could not start:', error);
  app.exit(1);
});
