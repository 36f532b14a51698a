import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { LifeboatError } from '../../shared/errors';
import { writeFileAtomic } from '../fs/atomic-write';

const vaultConfigSchema = z.object({
  /** A directory path, or `rest:http(s)://…/` for a restic REST server (rclone serve restic, rest-server). */
  location: z.string().min(1),
  /** The repository id from restic's config; names the keychain account of the password. */
  id: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  recoveryKitAcknowledged: z.boolean().default(false),
});
export type VaultConfig = z.infer<typeof vaultConfigSchema>;

/** vault.json: which vault this Lifeboat uses. Never holds the password. */
export class VaultConfigFile {
  constructor(readonly file: string) {}

  static in(home: string): VaultConfigFile {
    return new VaultConfigFile(path.join(home, 'vault.json'));
  }

  async read(): Promise<VaultConfig | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const parsed = vaultConfigSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new LifeboatError('INVALID_INPUT', `${this.file} is not a valid vault configuration.`);
    return parsed.data;
  }

  async write(config: VaultConfig): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify(config, null, 2)}\n`);
  }
}
