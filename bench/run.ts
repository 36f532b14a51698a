// `npm run bench`: every benchmark, each printing Lifeboat's figure next to an anchor measured
// in the same run (restic, OpenSSH sftp, pg_restore) and the ratio. Pick some with
// `npm run bench -- vault-ingest sftp-pull`.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith('.ts') && f !== 'run.ts').sort();
for (const file of files) {
  const name = file.replace(/\.ts$/, '');
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n=== ${name} ===`);
  const module = (await import(pathToFileURL(path.join(here, file)).href)) as { run?: () => Promise<void> };
  if (typeof module.run !== 'function') {
    console.log(`(${file} exports no run(); skipped)`);
    continue;
  }
  await module.run();
}
