#!/usr/bin/env node
// The `lifeboat` command: loads the bundled core (built by `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main', 'cli.js');
if (!existsSync(cli)) {
  console.error('lifeboat: the core is not built yet; run `npm run build` in the Lifeboat folder first.');
  process.exit(1);
}
const { main } = await import(pathToFileURL(cli).href);
process.exitCode = await main(process.argv.slice(2));
