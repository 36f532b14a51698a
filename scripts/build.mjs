// Builds everything the CLI, the browser twin and the Electron shell load:
//   dist/renderer/        the React UI (vite)
//   dist/main/cli.js      the core + CLI for plain Node (esbuild, node_modules left external)
//   dist/electron/main.cjs, dist/preload/index.cjs   the thin Electron shell
import { build as viteBuild } from 'vite';
import { build as esbuild } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
process.chdir(root);

const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, packages: 'external', logLevel: 'warning' };

await Promise.all([
  viteBuild({ configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn' }),
  esbuild({ ...common, format: 'esm', entryPoints: ['src/main/cli/main.ts'], outfile: 'dist/main/cli.js' }),
  // The vault's seal worker, loaded by src/main/vault/seal-pool.ts from next to cli.js.
  esbuild({ ...common, format: 'esm', entryPoints: ['src/main/vault/seal-worker.ts'], outfile: 'dist/main/seal-worker.js' }),
  // CJS has no import.meta.url; the core's modules use it to find files next to the bundled core
  // (the vault's seal worker in dist/main/), so it is pointed there.
  esbuild({
    ...common,
    format: 'cjs',
    entryPoints: ['src/main/electron/main.ts'],
    outfile: 'dist/electron/main.cjs',
    external: ['electron'],
    banner: { js: 'const lifeboatCoreUrl = require("node:url").pathToFileURL(require("node:path").join(__dirname, "..", "main", "electron-core.js")).href;' },
    define: { 'import.meta.url': 'lifeboatCoreUrl' },
  }),
  // A sandboxed preload can require only 'electron', so it is bundled whole.
  esbuild({ ...common, packages: undefined, format: 'cjs', entryPoints: ['src/preload/index.ts'], outfile: 'dist/preload/index.cjs', external: ['electron'] }),
]);
