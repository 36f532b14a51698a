// The application menu. A packaged Lifeboat has no DevTools in it (nor a shortcut to them);
// a development build keeps them.
import type { MenuItemConstructorOptions } from 'electron';

export interface MenuOptions {
  /** `app.isPackaged`. */
  packaged: boolean;
  openProjectPage: () => void;
}

export function applicationMenuTemplate(options: MenuOptions): MenuItemConstructorOptions[] {
  const view: MenuItemConstructorOptions[] = [
    { role: 'reload' },
    ...(options.packaged ? [] : ([{ role: 'forceReload' }, { role: 'toggleDevTools' }] as const)),
    { type: 'separator' },
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
  ];
  return [
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { label: 'View', submenu: view },
    { role: 'windowMenu' },
    { role: 'help', submenu: [{ label: 'Lifeboat on the web', click: options.openProjectPage }] },
  ];
}
