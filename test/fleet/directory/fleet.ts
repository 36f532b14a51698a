// The Folder-of-archives member of the test fleet: a directory in the sshd user's home that a
// "backup job" fills with archives made by real tools (`tar czf`, `sha256sum` for the sidecar),
// as an operator's own cron job would. Files appear under a temporary name and are renamed when
// complete, like a careful job; `growing()` starts a file that keeps growing, like a careless one.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { InstallationInput } from '../../../src/shared/installations';
import { runTool, startSshd, type TestSshd } from '../../harness/sshd';

/** The running member. */
export interface DirectoryFleet {
  sshd: TestSshd;
  /** The folder on the server (also this machine's path). */
  folder: string;
  installation: InstallationInput;
  /**
   * Writes a new `site-<n>.tar.gz` (and its `.sha256`, unless told not to); returns its name.
   * `emptied`: the site lost its data before the job ran (a few bytes of page, no data file).
   */
  writeArchive(options?: { sidecar?: boolean; emptied?: boolean }): Promise<string>;
  /** Deletes a file from the folder (an operator's mistake, a disk that went bad). */
  remove(name: string): Promise<void>;
  /** Flips one byte of a file in the folder (its sidecar stays as it was). */
  corrupt(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts sshd (or uses the given one) and makes the folder with two archives in it. */
export async function startDirectoryFleet(options: { name?: string; sshd?: TestSshd } = {}): Promise<DirectoryFleet> {
  const sshd = options.sshd ?? (await startSshd());
  const folder = path.join(sshd.homeDir, `archives-${process.pid}-${randomBytes(3).toString('hex')}`);
  const work = path.join(sshd.dir, `site-${randomBytes(3).toString('hex')}`);
  await mkdir(folder, { recursive: true });
  await mkdir(work, { recursive: true });
  let made = 0;
  const owned = async (...files: string[]) => runTool('chown', [`${sshd.user}:`, ...files]);
  const fleet: DirectoryFleet = {
    sshd,
    folder,
    installation: {
      name: options.name ?? 'Folder of archives (fleet)',
      app: 'directory',
      ssh: { host: sshd.host, port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint },
      settings: { directory: folder, pattern: 'site-*.tar.gz' },
      expectedCadenceHours: 24,
    },
    async writeArchive({ sidecar = true, emptied = false } = {}) {
      made += 1;
      const name = `site-${String(made).padStart(3, '0')}.tar.gz`;
      const members = ['index.html'];
      if (emptied) {
        await writeFile(path.join(work, 'index.html'), `<h1>site version ${made}</h1>\n`);
      } else {
        await writeFile(path.join(work, 'index.html'), `<h1>site version ${made}</h1>\n${randomBytes(2048).toString('base64')}\n`);
        await writeFile(path.join(work, 'data.json'), JSON.stringify({ version: made, rows: Array.from({ length: 200 }, (_, i) => ({ i, v: randomBytes(8).toString('hex') })) }));
        members.push('data.json');
      }
      const temporary = path.join(folder, `.${name}.part`);
      await runTool('tar', ['czf', temporary, '-C', work, ...members]);
      await runTool('mv', [temporary, path.join(folder, name)]);
      if (sidecar) {
        const sum = await runTool('sha256sum', [name], { cwd: folder });
        await writeFile(path.join(folder, `${name}.sha256`), sum);
        await owned(path.join(folder, `${name}.sha256`));
      }
      await owned(folder, path.join(folder, name));
      return name;
    },
    async remove(name) {
      await rm(path.join(folder, name));
    },
    async corrupt(name) {
      // Every bit of byte 100 flipped: writing a fixed value left the file as it was whenever the byte already held it (1 run in 256).
      const handle = await open(path.join(folder, name), 'r+');
      try {
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, 100);
        byte[0] = (byte[0] as number) ^ 0xff;
        await handle.write(byte, 0, 1, 100);
      } finally {
        await handle.close();
      }
    },
    async stop() {
      await runTool('rm', ['-rf', folder, work]);
      if (!options.sshd) await sshd.stop();
    },
  };
  await fleet.writeArchive();
  await fleet.writeArchive({ sidecar: false });
  return fleet;
}
