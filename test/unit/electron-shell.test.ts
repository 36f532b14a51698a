// Electron's security checklist for the shell (issue 17 item 12). The Electron binary cannot run
// here, so the pure pieces are tested directly and the built shell (dist/electron/main.cjs, from
// `node scripts/build.mjs`) and electron-builder.yml are read for the rest.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MenuItemConstructorOptions } from 'electron';
import { APP_ENTRY_URL, resolveAppFile } from '../../src/main/electron/app-url';
import { isAllowedExternalUrl, PROJECT_URL } from '../../src/main/electron/external-links';
import { applicationMenuTemplate } from '../../src/main/electron/app-menu';

const root = path.resolve(import.meta.dirname, '..', '..');
const rendererDir = path.join(root, 'dist', 'renderer');
const require = createRequire(import.meta.url);
// js-yaml (electron-builder's own YAML reader) ships no types.
const yaml = require('js-yaml') as { load: (text: string) => unknown };

describe('lifeboat-app:// path resolution', () => {
  it('serves files under the renderer directory', () => {
    expect(resolveAppFile(rendererDir, APP_ENTRY_URL)).toBe(path.join(rendererDir, 'index.html'));
    expect(resolveAppFile(rendererDir, 'lifeboat-app://ui/')).toBe(path.join(rendererDir, 'index.html'));
    expect(resolveAppFile(rendererDir, 'lifeboat-app://ui/assets/index-abc.js')).toBe(path.join(rendererDir, 'assets', 'index-abc.js'));
  });

  it('refuses traversal, other hosts and schemes, and malformed paths', () => {
    // The URL parser folds plain `..` segments itself: what is left stays inside the directory.
    expect(resolveAppFile(rendererDir, 'lifeboat-app://ui/../../package.json')).toBe(path.join(rendererDir, 'package.json'));
    expect(resolveAppFile(rendererDir, 'lifeboat-app://ui/%2e%2e/%2e%2e/package.json')).toBe(path.join(rendererDir, 'package.json'));
    for (const url of [
      'lifeboat-app://ui/assets/%2E%2E%2F%2E%2E%2F..%2Fpackage.json',
      'lifeboat-app://ui/..%5C..%5Cpackage.json',
      'lifeboat-app://ui/%2F%2E%2E%2Fetc%2Fpasswd',
      'lifeboat-app://ui/index.html%00.js',
      'lifeboat-app://ui/%E0%A4%A',
      'lifeboat-app://other/index.html',
      'file:///etc/passwd',
      'https://ui/index.html',
      'not a url',
    ]) {
      expect(resolveAppFile(rendererDir, url), url).toBeNull();
    }
  });
});

describe('openExternal allowlist', () => {
  it('lets through only the links Lifeboat makes', () => {
    expect(isAllowedExternalUrl(PROJECT_URL)).toBe(true);
    expect(isAllowedExternalUrl('https://age-encryption.org')).toBe(true);
    for (const url of [
      'https://evil.example/',
      'http://age-encryption.org/',
      'https://age-encryption.org.evil.example/',
      'https://user:pw@age-encryption.org/',
      'https://age-encryption.org/?x=1',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'lifeboat-app://ui/index.html',
      'smb://host/share',
      '',
    ]) {
      expect(isAllowedExternalUrl(url), url).toBe(false);
    }
  });
});

function roles(items: MenuItemConstructorOptions[]): string[] {
  return items.flatMap((item) => [String(item.role ?? ''), ...(Array.isArray(item.submenu) ? roles(item.submenu) : [])]);
}

describe('the application menu', () => {
  it('has no DevTools when packaged, and keeps them in development', () => {
    const packaged = roles(applicationMenuTemplate({ packaged: true, openProjectPage: () => undefined }));
    expect(packaged).not.toContain('toggleDevTools');
    expect(packaged).not.toContain('viewMenu');
    expect(roles(applicationMenuTemplate({ packaged: false, openProjectPage: () => undefined }))).toContain('toggleDevTools');
  });
});

describe('the built shell and its packaging', () => {
  it('electron-builder.yml flips the fuses and passes electron-builder\'s own schema', async () => {
    const config = yaml.load(readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>;
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
      enableCookieEncryption: true,
    });
    expect(config.asar).not.toBe(false);
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as { validateConfiguration: (c: unknown, log: unknown) => Promise<void> };
    await validateConfiguration(config, { isEnabled: false, add: () => undefined });
    // A misspelt fuse is refused by the schema (so the check above means something).
    await expect(validateConfiguration({ ...config, electronFuses: { runAsNod: false } }, { isEnabled: false, add: () => undefined })).rejects.toThrow();
  });

  it('dist/electron/main.cjs loads the UI from lifeboat-app://, guards every WebContents and hides DevTools when packaged', () => {
    const file = path.join(root, 'dist', 'electron', 'main.cjs');
    expect(existsSync(file), 'run node scripts/build.mjs first').toBe(true);
    const main = readFileSync(file, 'utf8');
    expect(main).not.toMatch(/\.loadFile\(/);
    expect(main).toMatch(/\.loadURL\(APP_ENTRY_URL\)/);
    expect(main).toContain('"lifeboat-app"');
    // One privileged-scheme registration, for the UI and the media player, before whenReady.
    const registrations = main.match(/registerSchemesAsPrivileged\(/g) ?? [];
    expect(registrations).toHaveLength(1);
    expect(main.indexOf('registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES, MEDIA_SCHEME_PRIVILEGES])')).toBeGreaterThan(-1);
    expect(main.indexOf('registerSchemesAsPrivileged(')).toBeLessThan(main.search(/await import_electron\d*\.app\.whenReady\(\)/));
    expect(main).toMatch(/APP_SCHEME_PRIVILEGES = \{ scheme: APP_SCHEME, privileges: \{ standard: true, secure: true/);
    expect(main).toMatch(/MEDIA_SCHEME_PRIVILEGES = \{ scheme: MEDIA_SCHEME, privileges: \{ standard: true, secure: true, stream: true/);
    expect(main).toMatch(/protocol\.handle\(APP_SCHEME,/);
    expect(main).toMatch(/protocol\.handle\(MEDIA_SCHEME,/);
    // The guard is installed app-wide, for every WebContents.
    expect(main).toMatch(/app\.on\("web-contents-created", \(_event, contents\) => guardContents\(contents\)\)/);
    const guard = main.slice(main.indexOf('function guardContents('), main.indexOf('function buildTray('));
    for (const event of ['will-navigate', 'will-redirect', 'will-attach-webview', 'will-frame-navigate']) expect(guard).toContain(`"${event}"`);
    expect(guard).toContain('setWindowOpenHandler');
    expect(guard).toContain('action: "deny"');
    // shell.openExternal is called in exactly one place, behind the allowlist.
    const opens = main.match(/shell\.openExternal\(/g) ?? [];
    expect(opens).toHaveLength(1);
    expect(main).toMatch(/if \(isAllowedExternalUrl\(url\)\) void import_electron\d*\.shell\.openExternal\(url\)/);
    expect(main).toMatch(/devTools: !import_electron\d*\.app\.isPackaged/);
    expect(main).toMatch(/applicationMenuTemplate\(\{ packaged: import_electron\d*\.app\.isPackaged/);
    for (const preference of ['contextIsolation: true', 'sandbox: true', 'nodeIntegration: false', 'webSecurity: true']) expect(main).toContain(preference);
  });
});
