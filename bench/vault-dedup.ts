/**
 * Benchmark: how many new bytes a second archive that is 95 % identical to the first costs,
 * Lifeboat's vault against restic, same files, same run. The second archive has 5 % of its bytes
 * rewritten in scattered regions plus a small insertion (which shifts everything after it, the
 * case content-defined chunking exists for).
 *
 * Env: VAULT_DEDUP_BYTES (default 256 MiB).
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { LocalBackend, Vault } from '../src/main/vault';

const BYTES = Number(process.env.VAULT_DEDUP_BYTES ?? 256 * 1024 ** 2);
const PASSWORD = 'vault-dedup-bench';
const run$ = promisify(execFile);

/** Bytes of every pack file under a repository's data/ folder. */
async function dataBytes(repo: string): Promise<number> {
  let total = 0;
  for (const sub of await readdir(path.join(repo, 'data'))) {
    for (const name of await readdir(path.join(repo, 'data', sub))) total += (await stat(path.join(repo, 'data', sub, name))).size;
  }
  return total;
}

/** Builds the second archive: the first with 5 % rewritten in 20 places and 4 KiB inserted in the middle. */
function derive(first: Buffer): Buffer {
  const second = Buffer.from(first);
  const region = Math.floor((BYTES * 0.05) / 20);
  for (let i = 0; i < 20; i++) randomBytes(region).copy(second, Math.floor(((i + 0.5) * BYTES) / 20));
  const middle = Math.floor(BYTES / 2);
  return Buffer.concat([second.subarray(0, middle), randomBytes(4096), second.subarray(middle)]);
}

/** Prints stored bytes added by the second archive for Lifeboat and restic, and their ratio. */
export async function run(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lifeboat-bench-dedup-'));
  try {
    const first = randomBytes(BYTES);
    const files = [path.join(dir, 'first', 'archive.bin'), path.join(dir, 'second', 'archive.bin')];
    await Promise.all(files.map((f) => mkdir(path.dirname(f), { recursive: true })));
    await writeFile(files[0]!, first);
    await writeFile(files[1]!, derive(first));

    const ours = path.join(dir, 'lifeboat-vault');
    const vault = await Vault.init(new LocalBackend(ours), PASSWORD);
    const oursAfter: number[] = [];
    for (const file of files) {
      await vault.addArchive({ input: createReadStream(file), fileName: 'archive.bin', mtime: new Date(), hostname: 'bench', paths: ['/bench'] });
      oursAfter.push(await dataBytes(ours));
    }

    const restic = path.join(dir, 'restic-repo');
    const env = { ...process.env, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(dir, 'restic-cache') };
    await run$('restic', ['init', '-q', '-r', restic], { env });
    const resticAfter: number[] = [];
    for (const file of files) {
      await run$('restic', ['backup', '-q', '-r', restic, '--host', 'bench', 'archive.bin'], { env, cwd: path.dirname(file) });
      resticAfter.push(await dataBytes(restic));
    }

    const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;
    const oursAdded = oursAfter[1]! - oursAfter[0]!;
    const resticAdded = resticAfter[1]! - resticAfter[0]!;
    console.log(`archives: ${mib(BYTES)} random, then the same with 5 % rewritten in 20 places and 4 KiB inserted`);
    console.log(`  restic  (anchor): first ${mib(resticAfter[0]!)}, second adds ${mib(resticAdded)} (${((100 * resticAdded) / BYTES).toFixed(1)} % of an archive)`);
    console.log(`  Lifeboat        : first ${mib(oursAfter[0]!)}, second adds ${mib(oursAdded)} (${((100 * oursAdded) / BYTES).toFixed(1)} % of an archive)`);
    console.log(`  ratio Lifeboat/restic stored bytes for the second archive: ${(oursAdded / resticAdded).toFixed(2)}× (lower is better; restic's chunks average 1 MiB too)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) await run();
