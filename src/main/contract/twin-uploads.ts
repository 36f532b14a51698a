/**
 * The files a browser twin staged for previews: each twin lists the uploads it received in
 * `<staging>/.twin-uploads-<pid>` and removes them when it closes. A twin that crashed cannot, so
 * the next twin to start removes what every twin whose process is gone left. Uploads of a twin
 * still running (a second `lifeboat serve`) are its own and stay.
 */
import { appendFile, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { processAlive } from '../vault/lock';

const LIST_PREFIX = '.twin-uploads-';

/** An upload id as /api/upload makes it (a UUID): nothing else in the list is ever removed. */
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The uploads of this twin (one per process). */
export class TwinUploads {
  private readonly list: string;

  constructor(
    private readonly stagingDir: string,
    pid = process.pid,
  ) {
    this.list = path.join(stagingDir, `${LIST_PREFIX}${pid}`);
  }

  /** Removes the uploads of twins whose process is gone; returns how many files went. */
  async sweepAbandoned(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.stagingDir).catch(() => [] as string[])) {
      if (!name.startsWith(LIST_PREFIX)) continue;
      const pid = Number(name.slice(LIST_PREFIX.length));
      if (!Number.isInteger(pid) || pid <= 0 || processAlive(pid)) continue;
      removed += await removeListed(path.join(this.stagingDir, name));
    }
    return removed;
  }

  /** Records an upload before its first byte is written, so a crash mid-upload leaves it listed. */
  async add(uploadId: string): Promise<void> {
    await appendFile(this.list, `${uploadId}\n`, { mode: 0o600 });
  }

  /** Removes every upload this twin received that is still staged (the twin is closing). */
  async removeAll(): Promise<number> {
    return removeListed(this.list);
  }
}

/** Removes the uploads a list names, then the list. */
async function removeListed(list: string): Promise<number> {
  const text = await readFile(list, 'utf8').catch(() => '');
  const dir = path.dirname(list);
  let removed = 0;
  for (const id of new Set(text.split('\n'))) {
    if (!UPLOAD_ID.test(id)) continue;
    const file = path.join(dir, id);
    const gone = await rm(file).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        // Already consumed by an import, or swept after a day: nothing left to do.
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    if (gone) removed += 1;
  }
  await rm(list, { force: true });
  return removed;
}
