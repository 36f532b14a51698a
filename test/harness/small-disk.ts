// A small file system that fills up: a tmpfs of a few MB mounted for one test file. Mounting
// needs root; without it, run the file inside `unshare --user --map-root-user --mount`, where the
// test process is root of its own mount namespace. `skipReason` says why it cannot run otherwise.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A mounted tmpfs and a filler file that takes its space. */
export interface SmallDisk {
  dir: string;
  /** Fills the disk until `leave` bytes are free. */
  fill(leave: number): void;
  /** Frees what `fill` took. */
  unfill(): void;
  free(): number;
  unmount(): void;
}

/** Why a tmpfs cannot be mounted here, or null when it can. */
export function smallDiskSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root: run this file under `unshare --user --map-root-user --mount`';
  return null;
}

/** Mounts a tmpfs of `size` bytes under the test root. */
export function mountSmallDisk(size: number, label = 'small-disk'): SmallDisk {
  const dir = mkdtempSync(path.join(process.env.LIFEBOAT_TEST_ROOT ?? os.tmpdir(), `${label}-`));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  const filler = path.join(dir, 'filler');
  const free = (): number => {
    const info = statfsSync(dir);
    return info.bavail * info.bsize;
  };
  return {
    dir,
    free,
    fill(leave) {
      rmSync(filler, { force: true });
      writeFileSync(filler, Buffer.alloc(Math.max(0, free() - leave)));
    },
    unfill() {
      rmSync(filler, { force: true });
    },
    unmount() {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
