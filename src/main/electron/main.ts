// The thin Electron shell: one window, a menu, a tray icon, and the IPC bridge. Everything
// else is the core, which runs the same under plain Node (see src/main/cli).
import { app, BrowserWindow, Menu, Notification, Tray, nativeImage, net, powerMonitor, protocol, session, shell, type WebContents } from 'electron';
import path from 'node:path';
import { createCore, type Core } from '../core';
import { installIpcBridge } from './ipc-bridge';
import { applicationMenuTemplate } from './app-menu';
import { APP_SCHEME_PRIVILEGES, handleAppScheme } from './app-protocol';
import { APP_ENTRY_URL } from './app-url';
import { isAllowedExternalUrl, PROJECT_URL } from './external-links';
import { handleMediaScheme, MEDIA_SCHEME_PRIVILEGES } from './media-protocol';
import { RENDERER_CSP } from '../contract/http-twin';
import type { TrayAction } from '../schedule/tray';

let core: Core | null = null;
let mainWindow: BrowserWindow | null = null;
let tray: Tray | null = null;
let closeToTray = true;
const NETWORK_POLL_MS = 10_000;

const rendererDir = path.join(__dirname, '..', 'renderer');
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
      // A packaged Lifeboat cannot open DevTools at all (nor does its menu offer them).
      devTools: !app.isPackaged,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(APP_ENTRY_URL);
  return window;
}

/** Only the pages Lifeboat itself links to reach the system browser (external-links.ts). */
function openExternal(url: string): void {
  if (isAllowedExternalUrl(url)) void shell.openExternal(url);
}

/**
 * For every WebContents the app ever creates: nothing navigates or is redirected away from the
 * page it loaded (a link Lifeboat itself made opens in the browser instead), no new windows open,
 * no <webview> attaches, and a packaged app closes DevTools should they open anyway.
 */
function guardContents(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    event.preventDefault();
    openExternal(url);
  });
  contents.on('will-frame-navigate', (event) => {
    if (!event.isMainFrame) event.preventDefault();
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    openExternal(url);
    return { action: 'deny' };
  });
  if (app.isPackaged) contents.on('devtools-opened', () => contents.closeDevTools());
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
  app.on('web-contents-created', (_event, contents) => guardContents(contents));
  // One call, before ready: Electron takes the privileged schemes only once.
  protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES, MEDIA_SCHEME_PRIVILEGES]);
  await app.whenReady();
  handleAppScheme(rendererDir);
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
  Menu.setApplicationMenu(Menu.buildFromTemplate(applicationMenuTemplate({ packaged: app.isPackaged, openProjectPage: () => openExternal(PROJECT_URL) })));
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
