/**
 * An open restic repository: the master key, the config, the loaded index, and the primitives
 * every operation builds on (encrypted "unpacked" files, verified blob reads).
 */
import { createHash, randomBytes } from 'node:crypto';
import { decompress as zstdDecompress } from 'fzstd';
import { LifeboatError } from '../../shared/errors';
import type { Backend, FileType } from './backend';
import { createKeyFile, DEFAULT_SCRYPT, open, parseKeyFile, randomKey, seal, tryOpen, unlockKeyFile } from './crypto';
import type { RepoKey, ScryptParams } from './crypto';
import { HEADER_PROBE_SIZE, parsePackHeader } from './pack';
import { isIrreducible, randomIrreduciblePolynomial } from './polynomial';
import { parseIndexJson, RepoIndex } from './repo-index';
import type { BlobLocation, IndexPack } from './repo-index';

/** The decrypted `config` file. */
export interface RepoConfig {
  version: number;
  id: string;
  chunker_polynomial: string;
}

/** restic tries at most this many key files before giving up (`maxKeys`). */
const MAX_KEYS_TRIED = 20;

/** sha256 as lower-case hex. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** An open repository. Create one with `initRepository` or `openRepository`. */
export class Repository {
  /** The union of all index files (call `loadIndex` first). */
  index = new RepoIndex();

  constructor(
    readonly backend: Backend,
    readonly key: RepoKey,
    readonly config: RepoConfig,
  ) {}

  /** Repository format version (1 or 2). */
  get version(): number {
    return this.config.version;
  }

  /** Loads, verifies and decodes an index, snapshot or lock file into its JSON value. */
  async loadJson(type: FileType, name: string): Promise<unknown> {
    const sealed = await this.backend.read(type, name);
    const what = `${type}/${name.slice(0, 8)}`;
    if (sha256Hex(sealed) !== name) {
      throw new LifeboatError('VAULT_CORRUPT', `File ${what} is damaged: its content does not match its name (sha256).`, { details: { type, name } });
    }
    const plain = open(this.key, sealed, `File ${what}`);
    return parseUnpacked(plain, this.version, what);
  }

  /** Encrypts a JSON document and stores it under the sha256 of the stored bytes; returns that id. */
  async saveJson(type: FileType, json: Buffer): Promise<string> {
    // Raw JSON is valid in both versions (restic reads `{`-prefixed plaintext in v2); Node 20 has no zstd encoder.
    const sealed = seal(this.key, json);
    const id = sha256Hex(sealed);
    await this.backend.write(type, id, sealed);
    return id;
  }

  /** Lists the ids of one file type. */
  async listIds(type: FileType): Promise<string[]> {
    const ids: string[] = [];
    for await (const f of this.backend.list(type)) ids.push(f.name);
    return ids;
  }

  /** Loads every index file into `this.index` (replacing what was loaded). */
  async loadIndex(): Promise<void> {
    const index = new RepoIndex();
    for (const id of await this.listIds('index')) {
      index.add(await this.loadIndexFile(id), id);
    }
    this.index = index;
  }

  /** Loads and parses one index file. */
  async loadIndexFile(id: string): Promise<IndexPack[]> {
    const json = await this.loadJson('index', id);
    return parseIndexJson(json, id, this.version);
  }

  /** Reads one blob and verifies it (MAC, decompression, sha256 = id); VAULT_CORRUPT names the blob and pack. */
  async readBlob(loc: BlobLocation): Promise<Buffer> {
    let sealed: Buffer;
    try {
      sealed = await this.backend.read('data', loc.packId, { offset: loc.offset, length: loc.length });
    } catch (error) {
      if (error instanceof LifeboatError && error.code === 'NOT_FOUND') {
        throw new LifeboatError('VAULT_CORRUPT', `Pack ${loc.packId} is missing from the vault, so ${loc.type} blob ${loc.id} cannot be read.`, {
          cause: error,
          details: { blobId: loc.id, packId: loc.packId },
        });
      }
      throw error;
    }
    return this.openBlob(loc, sealed);
  }

  /** Verifies and decodes the stored bytes of a blob. */
  openBlob(loc: BlobLocation, sealed: Buffer): Buffer {
    const where = `${loc.type} blob ${loc.id} in pack ${loc.packId}`;
    const corrupt = (why: string): LifeboatError =>
      new LifeboatError('VAULT_CORRUPT', `The ${where} is damaged: ${why}.`, { details: { blobId: loc.id, packId: loc.packId } });
    const payload = tryOpen(this.key, sealed);
    if (!payload) throw corrupt('its MAC does not match');
    let plain: Buffer = payload;
    if (loc.uncompressedLength !== undefined) {
      try {
        plain = Buffer.from(zstdDecompress(payload));
      } catch (error) {
        throw new LifeboatError('VAULT_CORRUPT', `The ${where} is damaged: it does not decompress.`, { cause: error, details: { blobId: loc.id, packId: loc.packId } });
      }
      if (plain.length !== loc.uncompressedLength) throw corrupt(`it decompresses to ${plain.length} bytes instead of ${loc.uncompressedLength}`);
    }
    if (sha256Hex(plain) !== loc.id) throw corrupt('its content does not match its id (sha256)');
    return plain;
  }

  /** Reads and parses a pack's header straight from the pack file. */
  async readPackHeader(packId: string, size?: number): Promise<IndexPack['blobs']> {
    const total = size ?? (await this.backend.stat('data', packId)).size;
    const probe = Math.min(total, HEADER_PROBE_SIZE);
    let result = parsePackHeader(this.key, packId, total, await this.backend.read('data', packId, { offset: total - probe, length: probe }));
    if ('needBytes' in result) {
      const need = result.needBytes;
      result = parsePackHeader(this.key, packId, total, await this.backend.read('data', packId, { offset: total - need, length: need }));
    }
    if ('needBytes' in result) throw new LifeboatError('VAULT_CORRUPT', `Pack ${packId.slice(0, 8)} has an unreadable header.`, { details: { packId } });
    return result.blobs;
  }
}

/** Decodes the plaintext of an index/snapshot/lock file (spec §5). */
export function parseUnpacked(plain: Buffer, version: number, what: string): unknown {
  let json: Buffer = plain;
  const first = plain[0];
  if (version >= 2 && first === 0x02) {
    try {
      json = Buffer.from(zstdDecompress(plain.subarray(1)));
    } catch (error) {
      throw new LifeboatError('VAULT_CORRUPT', `File ${what} is damaged: its compressed content does not decompress.`, { cause: error });
    }
  } else if (version >= 2 && first !== 0x7b && first !== 0x5b) {
    throw new LifeboatError('VAULT_CORRUPT', `File ${what} uses an unknown encoding (first byte ${String(first)}).`);
  }
  try {
    return JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new LifeboatError('VAULT_CORRUPT', `File ${what} is damaged: it is not valid JSON.`, { cause: error });
  }
}

/** Options for `initRepository`. */
export interface InitOptions {
  /** Repository format version; 2 (restic's default since 0.14) unless told otherwise. */
  version?: 1 | 2;
  /** scrypt cost for the key file (tests use a cheap one). */
  scrypt?: ScryptParams;
}

/** Creates a new repository in `backend` protected by `password` and opens it. */
export async function initRepository(backend: Backend, password: string, options: InitOptions = {}): Promise<Repository> {
  if (!password) throw new LifeboatError('INVALID_INPUT', 'A vault password must not be empty.');
  if (await backend.exists('config', 'config')) {
    throw new LifeboatError('ALREADY_EXISTS', `${backend.location} already holds a repository.`);
  }
  const master = randomKey();
  const config: RepoConfig = { version: options.version ?? 2, id: randomBytes(32).toString('hex'), chunker_polynomial: randomIrreduciblePolynomial() };
  const keyFile = await createKeyFile(master, password, options.scrypt ?? DEFAULT_SCRYPT);
  // Same order as restic: layout, key file, then config last (its presence marks a finished init).
  await backend.create();
  await backend.write('keys', sha256Hex(keyFile), keyFile);
  await backend.write('config', 'config', seal(master, Buffer.from(JSON.stringify(config))));
  return new Repository(backend, master, config);
}

/** Opens an existing repository: tries the password on the key files, then reads the config. */
export async function openRepository(backend: Backend, password: string): Promise<Repository> {
  if (!(await backend.exists('config', 'config'))) {
    throw new LifeboatError('VAULT_NOT_A_REPOSITORY', `${backend.location} is not a restic repository: it has no config file.`);
  }
  const keyNames: string[] = [];
  for await (const f of backend.list('keys')) keyNames.push(f.name);
  if (keyNames.length === 0) {
    throw new LifeboatError('VAULT_NOT_A_REPOSITORY', `${backend.location} is not a usable restic repository: it has no key files.`);
  }
  let master: RepoKey | null = null;
  for (const name of keyNames.slice(0, MAX_KEYS_TRIED)) {
    master = await unlockKeyFile(parseKeyFile(await backend.read('keys', name), name), password);
    if (master) break;
  }
  if (!master) {
    throw new LifeboatError('VAULT_WRONG_PASSWORD', `The password does not open the vault at ${backend.location} (tried ${Math.min(keyNames.length, MAX_KEYS_TRIED)} key file(s)).`);
  }
  const configPlain = tryOpen(master, await backend.read('config', 'config'));
  if (!configPlain) {
    throw new LifeboatError('VAULT_CORRUPT', `The config file of ${backend.location} does not match its key: it is damaged or belongs to another repository.`);
  }
  let config: RepoConfig;
  try {
    config = JSON.parse(configPlain.toString('utf8')) as RepoConfig;
  } catch (error) {
    throw new LifeboatError('VAULT_CORRUPT', `The config file of ${backend.location} is not valid JSON.`, { cause: error });
  }
  if (config.version !== 1 && config.version !== 2) {
    throw new LifeboatError('VAULT_UNSUPPORTED_VERSION', `The repository at ${backend.location} has format version ${String(config.version)}; Lifeboat reads versions 1 and 2.`, { details: { version: config.version } });
  }
  if (typeof config.id !== 'string' || !/^[0-9a-f]{1,16}$/.test(config.chunker_polynomial ?? '') || !isIrreducible(BigInt(`0x${config.chunker_polynomial}`))) {
    throw new LifeboatError('VAULT_CORRUPT', `The config file of ${backend.location} has a missing id or an invalid chunker polynomial.`);
  }
  return new Repository(backend, master, config);
}
