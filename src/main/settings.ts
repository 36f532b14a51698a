import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { LifeboatError } from '../shared/errors';
import { writeFileAtomic } from './fs/atomic-write';

const settingsSchema = z.object({
  /** The operator chose to keep secrets in memory only, because no keychain is available. */
  askEveryTime: z.boolean().default(false),
  /** Desktop app: closing the window leaves Lifeboat in the tray, running the schedules. */
  closeToTray: z.boolean().default(true),
  /** Desktop app: start (in the tray) when the operator logs in. */
  startAtLogin: z.boolean().default(false),
});
export type Settings = z.infer<typeof settingsSchema>;

/** Core preferences (never secrets), stored next to installations.json. */
export class SettingsFile {
  constructor(private readonly file: string) {}

  async read(): Promise<Settings> {
    try {
      return settingsSchema.parse(JSON.parse(await readFile(this.file, 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return settingsSchema.parse({});
      throw new LifeboatError('INVALID_INPUT', `${this.file} is not valid; fix or remove it.`, { cause: error });
    }
  }

  async update(change: Partial<Settings>): Promise<Settings> {
    const next = settingsSchema.parse({ ...(await this.read()), ...change });
    await writeFileAtomic(this.file, `${JSON.stringify(next, null, 2)}\n`);
    return next;
  }
}
