import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { LifeboatError } from '../../shared/errors';
import type { IntegrityCheck, QuarantineEntry } from '../../shared/apps';
import { writeFileAtomic } from '../fs/atomic-write';
import type { Sidecar } from './adapter';

/**
 * Downloads that failed verification. They never enter the vault; what is kept here is the
 * record (which checks failed and why) and the small sidecars for inspection. The archive
 * itself stays on the server, untouched, so nothing is lost by not keeping its bytes twice.
 */
export class Quarantine {
  constructor(private readonly dir: string) {}

  async add(entry: Omit<QuarantineEntry, 'id' | 'at' | 'keptFiles'>, sidecars: Sidecar[]): Promise<QuarantineEntry> {
    const id = randomUUID();
    const entryDir = path.join(this.dir, id);
    await mkdir(entryDir, { recursive: true, mode: 0o700 });
    const keptFiles: string[] = [];
    for (const sidecar of sidecars) {
      const name = path.basename(sidecar.name);
      await writeFile(path.join(entryDir, name), sidecar.content, { mode: 0o600 });
      keptFiles.push(name);
    }
    const full: QuarantineEntry = { ...entry, id, at: new Date().toISOString(), keptFiles };
    await writeFileAtomic(path.join(entryDir, 'entry.json'), `${JSON.stringify(full, null, 2)}\n`);
    return full;
  }

  async list(): Promise<QuarantineEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const entries: QuarantineEntry[] = [];
    for (const name of names) {
      const text = await readFile(path.join(this.dir, name, 'entry.json'), 'utf8').catch(() => null);
      if (text) entries.push(JSON.parse(text) as QuarantineEntry);
    }
    return entries.sort((a, b) => b.at.localeCompare(a.at));
  }

  async remove(id: string): Promise<void> {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new LifeboatError('INVALID_INPUT', `"${id}" is not a quarantine entry id.`);
    const entries = await this.list();
    if (!entries.some((e) => e.id === id)) throw new LifeboatError('NOT_FOUND', `No quarantined download ${id}.`);
    await rm(path.join(this.dir, id), { recursive: true, force: true });
  }
}

/** The failed checks of a verification, in one sentence. */
export function describeFailedChecks(checks: IntegrityCheck[]): string {
  return checks
    .filter((c) => !c.ok)
    .map((c) => `${c.name}: ${c.detail}`)
    .join('; ');
}
