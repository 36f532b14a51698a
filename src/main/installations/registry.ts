import { statSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { LifeboatError } from '../../shared/errors';
import {
  installationSchema,
  type Installation,
  type InstallationInput,
  type SecretPurpose,
  installationInputSchema,
} from '../../shared/installations';
import { writeFileAtomic } from '../fs/atomic-write';
import { installationAccount, type SecretStore } from './secrets';

const fileSchema = z.object({ version: z.literal(1), installations: z.array(installationSchema) });

/** What the registry asks of the app modules (the core wires these). */
export interface RegistryHooks {
  /** Checks an add/edit against the installation's app module; throws INVALID_INPUT. */
  validate(input: InstallationInput & { settings: Record<string, string | number | boolean> }): void;
  /** An installation was edited or removed: its sessions (logins, cookies) must go. */
  changed(id: string): Promise<void>;
}

/**
 * The installations the operator manages, in one JSON file written atomically. Secrets never
 * enter this file: they go to the SecretStore and the record keeps only their purposes.
 */
export class InstallationRegistry {
  private cache: Installation[] | null = null;
  /** Size and mtime of the file when `cache` was read. */
  private cacheStamp = '';
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly secrets: () => SecretStore,
    private readonly hooks: RegistryHooks | null = null,
  ) {}

  async list(): Promise<Installation[]> {
    return structuredClone(await this.load());
  }

  async get(id: string): Promise<Installation> {
    const found = (await this.load()).find((i) => i.id === id);
    if (!found) throw new LifeboatError('NOT_FOUND', `No installation with id "${id}".`);
    return structuredClone(found);
  }

  /** Finds by id or, case-insensitively, by name (what the CLI accepts). */
  async resolve(idOrName: string): Promise<Installation> {
    const all = await this.load();
    const found = all.find((i) => i.id === idOrName) ?? all.find((i) => i.name.toLowerCase() === idOrName.toLowerCase());
    if (!found) throw new LifeboatError('NOT_FOUND', `No installation named or with id "${idOrName}".`);
    return structuredClone(found);
  }

  /** Adds an installation; `options.id` keeps the id it had elsewhere (recreated from a recovery kit, so vault snapshots still name it). */
  async add(input: InstallationInput, options: { id?: string } = {}): Promise<Installation> {
    const parsed = installationInputSchema.parse(input);
    this.hooks?.validate(parsed);
    return this.mutate(async (all) => {
      assertUniqueName(all, parsed.name);
      const now = new Date().toISOString();
      if (options.id !== undefined && (!/^[0-9a-f]{16}$/.test(options.id) || all.some((i) => i.id === options.id))) throw new LifeboatError('ALREADY_EXISTS', `An installation with id "${options.id}" exists already, or the id is not 16 hex digits.`);
      const id = options.id ?? randomBytes(8).toString('hex');
      const purposes = await this.storeSecrets(id, parsed.secrets ?? {});
      const { secrets: _secrets, ...fields } = parsed;
      const record = installationSchema.parse({ ...fields, id, secretPurposes: purposes, createdAt: now, updatedAt: now });
      all.push(record);
      return record;
    });
  }

  async update(id: string, changes: InstallationInput): Promise<Installation> {
    const parsed = installationInputSchema.parse(changes);
    this.hooks?.validate(parsed);
    await this.hooks?.changed(id);
    return this.mutate(async (all) => {
      const index = all.findIndex((i) => i.id === id);
      const current = all[index];
      if (!current) throw new LifeboatError('NOT_FOUND', `No installation with id "${id}".`);
      assertUniqueName(all.filter((i) => i.id !== id), parsed.name);
      const stored = await this.storeSecrets(id, parsed.secrets ?? {});
      const { secrets: _secrets, ...fields } = parsed;
      const next = installationSchema.parse({
        ...fields,
        ssh: fields.ssh && keepPinIfSameHost(current.ssh, fields.ssh),
        https: fields.https && { ...fields.https, pinnedCertSha256: fields.https.pinnedCertSha256 ?? (current.https?.baseUrl === fields.https.baseUrl ? current.https.pinnedCertSha256 : undefined) },
        id,
        secretPurposes: [...new Set([...current.secretPurposes, ...stored])],
        createdAt: current.createdAt,
        updatedAt: new Date().toISOString(),
      });
      all[index] = next;
      return next;
    });
  }

  /** Applies a small change to one record (pins, forgotten secrets) without touching the rest. */
  async patch(id: string, change: (current: Installation) => Installation): Promise<Installation> {
    return this.mutate(async (all) => {
      const index = all.findIndex((i) => i.id === id);
      const current = all[index];
      if (!current) throw new LifeboatError('NOT_FOUND', `No installation with id "${id}".`);
      const next = installationSchema.parse({ ...change(structuredClone(current)), updatedAt: new Date().toISOString() });
      all[index] = next;
      return next;
    });
  }

  async remove(id: string): Promise<void> {
    await this.hooks?.changed(id);
    await this.mutate(async (all) => {
      const index = all.findIndex((i) => i.id === id);
      const current = all[index];
      if (!current) throw new LifeboatError('NOT_FOUND', `No installation with id "${id}".`);
      for (const purpose of current.secretPurposes) {
        await this.secrets().delete(installationAccount(id, purpose));
      }
      all.splice(index, 1);
    });
  }

  async forgetSecret(id: string, purpose: SecretPurpose): Promise<Installation> {
    await this.secrets().delete(installationAccount(id, purpose));
    return this.patch(id, (current) => ({ ...current, secretPurposes: current.secretPurposes.filter((p) => p !== purpose) }));
  }

  /** Stores secrets of an installation (keys imported from a file), leaving its other fields as they are. */
  async addSecrets(id: string, secrets: Record<SecretPurpose, string>): Promise<Installation> {
    await this.get(id);
    const stored = await this.storeSecrets(id, secrets);
    return this.patch(id, (current) => ({ ...current, secretPurposes: [...new Set([...current.secretPurposes, ...stored])] }));
  }

  /** Reads one secret of an installation; null when none is stored (the caller then asks). */
  async secret(id: string, purpose: SecretPurpose): Promise<string | null> {
    return this.secrets().get(installationAccount(id, purpose));
  }

  private async storeSecrets(id: string, secrets: Record<SecretPurpose, string>): Promise<SecretPurpose[]> {
    const stored: SecretPurpose[] = [];
    for (const [purpose, value] of Object.entries(secrets) as [SecretPurpose, string | undefined][]) {
      if (!value) continue;
      await this.secrets().set(installationAccount(id, purpose), value);
      stored.push(purpose);
    }
    return stored;
  }

  private async load(): Promise<Installation[]> {
    // Another Lifeboat process (the CLI beside a running serve) may have written the file since.
    const stamp = fileStamp(this.file);
    if (this.cache && stamp === this.cacheStamp) return this.cache;
    this.cacheStamp = stamp;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.cache = [];
        return this.cache;
      }
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new LifeboatError('INVALID_INPUT', `${this.file} is not valid JSON; fix or move it aside.`, { cause: error });
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) {
      throw new LifeboatError('INVALID_INPUT', `${this.file} does not hold valid installations: ${parsed.error.issues[0]?.message ?? 'unknown problem'}.`);
    }
    this.cache = parsed.data.installations;
    return this.cache;
  }

  /**
   * Serialises writers so two edits never interleave: in this process by a queue, across
   * processes by a lock file; each edit starts from what is on disk now.
   */
  private async mutate<T>(change: (all: Installation[]) => Promise<T>): Promise<T> {
    const run = this.writing.then(() =>
      withFileLock(`${this.file}.lock`, async () => {
        const working = structuredClone(await this.load());
        const result = await change(working);
        await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, installations: working }, null, 2)}\n`);
        this.cache = working;
        this.cacheStamp = fileStamp(this.file);
        return result;
      }),
    );
    this.writing = run.then(
      () => undefined,
      () => undefined,
    );
    return structuredClone(await run);
  }
}

function fileStamp(file: string): string {
  const info = statSync(file, { throwIfNoEntry: false });
  return info ? `${info.size}:${info.mtimeMs}` : 'absent';
}

/** A lock older than this is left by a process that died mid-edit (an edit takes milliseconds). */
const STALE_LOCK_MS = 30_000;

/** Runs `task` holding an exclusive lock file (created with O_EXCL); waits for another holder. */
async function withFileLock<T>(lockFile: string, task: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(lockFile, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (statSync(lockFile, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_LOCK_MS) await rm(lockFile, { force: true });
      else if (attempt > 400) throw new LifeboatError('INTERNAL', `Another Lifeboat process has held ${lockFile} for ${Math.round(age / 1000)} s; try again.`);
      else await sleep(25);
    }
  }
  try {
    return await task();
  } finally {
    await rm(lockFile, { force: true });
  }
}

function assertUniqueName(all: Installation[], name: string): void {
  if (all.some((i) => i.name.toLowerCase() === name.toLowerCase())) {
    throw new LifeboatError('ALREADY_EXISTS', `An installation named "${name}" already exists; pick another name.`);
  }
}

function keepPinIfSameHost(current: Installation['ssh'], next: NonNullable<Installation['ssh']>): Installation['ssh'] {
  if (next.hostKeySha256 || !current) return next;
  const sameEndpoint = current.host === next.host && (current.port ?? 22) === (next.port ?? 22);
  return sameEndpoint && current.hostKeySha256 ? { ...next, hostKeySha256: current.hostKeySha256 } : next;
}
