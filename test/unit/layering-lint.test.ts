// The layering rules in eslint.config.js, proved on snippets placed at virtual paths: each
// forbidden import is reported by the rule that owns it, and the imports a layer may use are not.
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');

// Only the lifeboat/* rules, and without the type-aware parser (the files do not exist).
const eslint = new ESLint({
  cwd: repo,
  overrideConfigFile: path.join(repo, 'eslint.config.js'),
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId.startsWith('lifeboat/'),
});

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(repo, filePath) });
  if (!result) throw new Error(`no lint result for ${filePath}`);
  const fatal = result.messages.filter((m) => m.fatal);
  if (fatal.length > 0) throw new Error(`${filePath} did not parse: ${fatal.map((m) => m.message).join('; ')}`);
  return result.messages.map((m) => `${m.ruleId}:${m.messageId}`);
}

type Case = [file: string, code: string, expected: string];

function forbids(cases: Case[]): void {
  it.each(cases)('%s: %s → %s', async (file, code, expected) => {
    expect(await problems(file, code)).toEqual([expected]);
  });
}

function allows(file: string, imports: string[]): void {
  it.each(imports)(`${file}: %s is allowed`, async (code) => {
    expect(await problems(file, code)).toEqual([]);
  });
}

const app = 'src/main/apps/nojoin/x.ts';

describe('an app folder (src/main/apps/<x>/)', () => {
  forbids([
    [app, "import { createCore } from '../../core';", 'lifeboat/app-boundary:core'],
    [app, "import { createCore } from '../../core.js';", 'lifeboat/app-boundary:core'],
    [app, "import type { Core } from '../../core';", 'lifeboat/app-boundary:core'],
    [app, "export { createCore } from '../../core';", 'lifeboat/app-boundary:core'],
    [app, "export type Core = import('../../core').Core;", 'lifeboat/app-boundary:core'],
    [app, "const { createCore } = await import('../../core');", 'lifeboat/app-boundary:core'],
    ['src/main/apps/nojoin/deep/x.ts', "import { createCore } from '../../../core';", 'lifeboat/app-boundary:core'],
    [app, "import { parseSettings } from '../weavestream/settings';", 'lifeboat/app-boundary:otherApp'],
    [app, "import { weavestream } from '../weavestream';", 'lifeboat/app-boundary:otherApp'],
    [app, "import { weavestream } from '../../apps/weavestream/index';", 'lifeboat/app-boundary:otherApp'],
    [app, "await import('../meshmonitor/api');", 'lifeboat/app-boundary:otherApp'],
    [app, "const { restore } = await import('../../restore/restore-service');", 'lifeboat/app-boundary:restore'],
    [app, "import '../../contract/handlers/apps';", 'lifeboat/app-boundary:contract'],
    [app, "void import('../../cli/main');", 'lifeboat/app-boundary:cli'],
    [app, "import { runPull } from '../pull-runner';", 'lifeboat/app-boundary:appsRoot'],
    [app, "import { fleet } from '../fleet';", 'lifeboat/app-boundary:appsRoot'],
    [app, "import { preview } from '../preview';", 'lifeboat/app-boundary:appsRoot'],
    [app, "import { context } from '../context';", 'lifeboat/app-boundary:appsRoot'],
    [app, "import { quarantine } from '../quarantine';", 'lifeboat/app-boundary:appsRoot'],
    [app, "import { apps } from '..';", 'lifeboat/app-boundary:appsRoot'],
    [app, "const name = 'x'; await import(name);", 'lifeboat/literal-imports:computed'],
    // module-kit/ is imported by apps, so it obeys the same rule.
    ['src/main/apps/module-kit/x.ts', "import { createCore } from '../../core';", 'lifeboat/app-boundary:core'],
    ['src/main/apps/module-kit/x.ts', "import { parseSettings } from '../weavestream/settings';", 'lifeboat/app-boundary:otherApp'],
  ]);
  allows(app, [
    "import type { AppAdapter } from '../adapter';",
    "import type { AppModule } from '../module';",
    "import { defineSettings } from '../module-kit/settings';",
    "import { readDump } from '../../formats/pgdump';",
    "import { httpsRequest } from '../../transport/https';",
    "import { LifeboatError } from '../../../shared/errors';",
    "import { own } from './own';",
    "import { own } from '../nojoin/own';",
    "import { readFile } from 'node:fs/promises';",
    "const { readFile } = await import('node:fs/promises');",
  ]);
  it('leaves the apps root itself to the generic rules', async () => {
    expect(await problems('src/main/apps/pull-runner.ts', "import { createCore } from '../core';")).toEqual([]);
  });
});

describe('the renderer', () => {
  const file = 'src/renderer/x.tsx';
  forbids([
    [file, "import { readFileSync } from 'node:fs';", 'lifeboat/renderer-boundary:node'],
    [file, "import { readFile } from 'fs/promises';", 'lifeboat/renderer-boundary:node'],
    [file, "const fs = await import('node:fs');", 'lifeboat/renderer-boundary:node'],
    [file, "const core = await import('../main/core');", 'lifeboat/renderer-boundary:side'],
    [file, "import type { Core } from '../main/core';", 'lifeboat/renderer-boundary:side'],
    [file, "import '../preload/index';", 'lifeboat/renderer-boundary:side'],
    [file, "import { ipcRenderer } from 'electron';", 'lifeboat/renderer-boundary:electron'],
  ]);
  allows(file, [
    "import { useState } from 'react';",
    "import { createRoot } from 'react-dom/client';",
    "import { LifeboatError } from '../shared/errors';",
    "import { api } from './lib/api';",
    "const page = await import('./features/vault/page');",
  ]);
});

describe('src/main', () => {
  const file = 'src/main/x.ts';
  forbids([
    [file, "import { createRoot } from 'react-dom/client';", 'lifeboat/main-boundary:react'],
    [file, "import { jsx } from 'react/jsx-runtime';", 'lifeboat/main-boundary:react'],
    [file, "import { renderToString } from 'react-dom/server';", 'lifeboat/main-boundary:react'],
    [file, "import { useState } from 'react';", 'lifeboat/main-boundary:react'],
    [file, "const { createRoot } = await import('react-dom/client');", 'lifeboat/main-boundary:react'],
    [file, "import { create } from 'zustand';", 'lifeboat/main-boundary:zustand'],
    [file, "import '../renderer/main';", 'lifeboat/main-boundary:side'],
    [file, "import { ipcMain } from 'electron';", 'lifeboat/ipc-only-in-bridge:ipc'],
    [file, "const { ipcMain } = await import('electron');", 'lifeboat/ipc-only-in-bridge:ipc'],
    [file, "const ipc = (await import('electron')).ipcMain;", 'lifeboat/ipc-only-in-bridge:ipc'],
    [file, "const keytar = await import('keytar');", 'lifeboat/wrapped-library:wrapped'],
    [file, "import ffmpeg from 'fluent-ffmpeg';", 'lifeboat/wrapped-library:wrapped'],
  ]);
  allows(file, [
    "import { app, BrowserWindow } from 'electron';",
    "const { shell } = await import('electron');",
    "import { readFile } from 'node:fs/promises';",
    "import { createCore } from './core';",
    "import { LifeboatError } from '../shared/errors';",
  ]);
  allows('src/main/electron/ipc-bridge.ts', ["import { ipcMain } from 'electron';"]);
  allows('src/main/installations/secrets/keytar-store.ts', ["const keytar = await import('keytar');"]);
});

describe('src/shared', () => {
  const file = 'src/shared/x.ts';
  forbids([
    [file, "import { useState } from 'react';", 'lifeboat/shared-boundary:react'],
    [file, "import { jsx } from 'react/jsx-runtime';", 'lifeboat/shared-boundary:react'],
    [file, "import path from 'node:path';", 'lifeboat/shared-boundary:node'],
    [file, "const core = await import('../main/core');", 'lifeboat/shared-boundary:side'],
    [file, "import { api } from '../renderer/lib/api';", 'lifeboat/shared-boundary:side'],
    [file, "import { app } from 'electron';", 'lifeboat/shared-boundary:electron'],
  ]);
  allows(file, ["import { z } from 'zod';", "import { LifeboatError } from './errors';"]);
});

describe('src/preload', () => {
  const file = 'src/preload/other.ts';
  forbids([
    [file, "import { readFileSync } from 'node:fs';", 'lifeboat/preload-boundary:other'],
    [file, "const fs = await import('node:fs');", 'lifeboat/preload-boundary:other'],
    [file, "import { shell } from 'electron';", 'lifeboat/preload-boundary:electron'],
    [file, "import electron from 'electron';", 'lifeboat/preload-boundary:electron'],
    [file, "import { createCore } from '../main/core';", 'lifeboat/preload-boundary:other'],
    [file, "import { z } from 'zod';", 'lifeboat/preload-boundary:other'],
    // Raw IPC only in the bridge file itself.
    [file, "import { ipcRenderer } from 'electron';", 'lifeboat/ipc-only-in-bridge:ipc'],
  ]);
  allows(file, ["import { contextBridge } from 'electron';", "import type { LifeboatBridge } from '../shared/contract';"]);
  allows('src/preload/index.ts', [
    "import { contextBridge, ipcRenderer, webUtils } from 'electron';\nimport type { LifeboatBridge } from '../shared/contract';\nimport type { Result } from '../shared/errors';",
  ]);
});

describe('the messages explain the rule', () => {
  it('names what the app imported and why it may not', async () => {
    const [result] = await eslint.lintText("import { createCore } from '../../core';", { filePath: path.join(repo, app) });
    expect(result?.messages[0]?.message).toMatch(/^An app's folder never imports the core, the restore engine or another app: '\.\.\/\.\.\/core' resolves to src\/main\/core/);
    const [other] = await eslint.lintText("import { x } from '../weavestream/settings';", { filePath: path.join(repo, app) });
    expect(other?.messages[0]?.message).toContain('from apps/nojoin/ resolves into apps/weavestream/');
  });
});
