/**
 * Importing a key file an app exports (DBackup's Recovery Kit ZIP): its keys go to an
 * installation's keychain slots, or, for files of no installation, to this session's memory.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { LifeboatError } from '../../shared/errors';
import type { KeyFileImport } from '../../shared/apps';
import type { Core } from '../core';
import type { AppModule, ImportedKey } from './module';

/** Far more than any key file (a Recovery Kit is a few hundred KiB with DBackup's recovery tool). */
const MAX_KEY_FILE_BYTES = 64 * 1024 * 1024;

export interface KeyFileRequest {
  source: { uploadId: string; name: string } | { path: string };
  /** The app whose key file it is; otherwise every module with a key file tries it. */
  app?: string | undefined;
  /** Store the keys on this installation (keychain); otherwise keep them for this session. */
  installationId?: string | undefined;
  /** Where a key the file does not name a slot for goes (the slot a preview asked for). */
  slot?: string | undefined;
}

async function readKeyFile(core: Core, source: KeyFileRequest['source']): Promise<{ bytes: Buffer; name: string }> {
  const file = 'uploadId' in source ? path.join(core.home.stagingDir, source.uploadId) : path.resolve(source.path);
  const name = 'uploadId' in source ? path.basename(source.name) : path.basename(source.path);
  const info = await stat(file).catch((error: unknown) => {
    throw new LifeboatError('NOT_FOUND', `Cannot read ${name}: ${(error as Error).message}.`, { cause: error });
  });
  if (!info.isFile()) throw new LifeboatError('INVALID_INPUT', `${name} is not a regular file.`);
  if (info.size > MAX_KEY_FILE_BYTES) throw new LifeboatError('INVALID_INPUT', `${name} is ${info.size} bytes: far larger than a key file.`);
  return { bytes: await readFile(file), name };
}

/** The keys of the file as the first module that reads it finds them. */
async function readWithModules(modules: AppModule[], bytes: Buffer, name: string): Promise<{ module: AppModule; keys: ImportedKey[] }> {
  const problems: string[] = [];
  for (const module of modules) {
    if (!module.keyFile) continue;
    try {
      return { module, keys: await module.keyFile.read(bytes, name) };
    } catch (error) {
      if (!(error instanceof LifeboatError) || error.code !== 'INVALID_INPUT') throw error;
      problems.push(error.message);
    }
  }
  if (problems.length === 0) throw new LifeboatError('APP_UNSUPPORTED', 'No app Lifeboat knows has a key file to import.');
  throw new LifeboatError('INVALID_INPUT', problems.length === 1 ? problems[0]! : `${name} is no key file Lifeboat knows: ${problems.join(' ')}`, { details: { reason: 'not-a-key-file' } });
}

/** Reads a key file and keeps its keys: in the installation's keychain slots, or in this session's memory. */
export async function importKeyFile(core: Core, request: KeyFileRequest): Promise<KeyFileImport> {
  const { bytes, name } = await readKeyFile(core, request.source);
  const installation = request.installationId ? await core.registry.get(request.installationId) : null;
  const kind = request.app ?? installation?.app;
  const candidates = kind ? [core.apps.get(kind)] : core.apps.list();
  if (kind && !candidates[0]!.keyFile) throw new LifeboatError('APP_UNSUPPORTED', `${candidates[0]!.label} has no key file Lifeboat can import.`);
  const { module, keys } = await readWithModules(candidates, bytes, name);
  if (installation && installation.app !== module.kind) throw new LifeboatError('INVALID_INPUT', `${name} is a ${module.keyFile!.label}, but "${installation.name}" is not a ${module.label} installation.`);
  const placed = keys.flatMap((k) => {
    const slot = k.slot ?? request.slot ?? null;
    return slot ? [{ slot, label: k.label, value: k.value }] : [];
  });
  const unplaced = keys.filter((k) => k.slot === null && !request.slot).map((k) => k.label);
  if (placed.length === 0) {
    throw new LifeboatError('INVALID_INPUT', `${name} holds ${keys.length === 1 ? 'one key' : `${keys.length} keys`} without saying which profile ${keys.length === 1 ? 'it belongs' : 'they belong'} to. Preview a backup made with it and import the kit at the key prompt: the backup names its profile.`, { details: { reason: 'slot-unknown' } });
  }
  const allowed = (slot: string): boolean => module.secretSlots.some((s) => (s.keyed ? slot.startsWith(`${s.slot}:`) : slot === s.slot));
  const foreign = placed.find((k) => !allowed(k.slot));
  if (foreign) throw new LifeboatError('INVALID_INPUT', `${module.label} keeps no key in the slot "${foreign.slot}".`);
  if (installation) await core.registry.addSecrets(installation.id, Object.fromEntries(placed.map((k) => [k.slot, k.value])));
  else for (const k of placed) core.sessionKeys.provide(k.slot, k.value);
  return {
    app: module.kind,
    fileLabel: module.keyFile!.label,
    kept: installation ? 'keychain' : 'session',
    installationId: installation?.id ?? null,
    keys: placed.map((k) => ({ slot: k.slot, label: k.label })),
    unplaced,
  };
}
