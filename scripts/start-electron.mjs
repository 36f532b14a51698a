// `npm start`: run the desktop app if Electron's binary is installed, else say what to do.
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const require = createRequire(import.meta.url);
let binary = null;
try {
  const candidate = require('electron');
  if (typeof candidate === 'string' && existsSync(candidate)) binary = candidate;
} catch {
  binary = null;
}
if (!binary) {
  console.log('The Electron binary is not installed here (it downloads from GitHub at install time); run `npm run serve` to use Lifeboat in your browser instead.');
  process.exit(0);
}
const child = spawn(binary, ['.'], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 0));
