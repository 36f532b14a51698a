/**
 * DBackup's Recovery Kit (spec §6): a ZIP with `master.key` (one profile: its 64 hex digits) or
 * `keys/keys.json` = `{version: 1, keys: [{profileId, name, file}]}` with one `keys/<name>.key`
 * per profile, next to DBackup's recovery tool and README. Lifeboat takes only the keys out.
 */
import yauzl from 'yauzl';
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';
import { parseMasterKey } from './keys';

/** One key of a kit. */
export interface RecoveryKitKey {
  /** Null for a one-profile kit: its `master.key` does not say which profile it is. */
  profileId: string | null;
  /** The profile's name when the kit says it (keys.json, or a one-profile kit's ZIP name). */
  name: string | null;
  /** 64 lower-case hex digits. */
  key: string;
}

const MAX_KIT_BYTES = 64 * 1024 * 1024;
const MAX_ENTRIES = 1000;
const MAX_KEY_FILE_BYTES = 1024;
const MAX_INDEX_BYTES = 1024 * 1024;

const keysJsonSchema = z.looseObject({
  version: z.literal(1),
  keys: z.array(z.looseObject({ profileId: z.string().min(1), name: z.string().nullish(), file: z.string().min(1) })).min(1),
});

function invalid(message: string): LifeboatError {
  return new LifeboatError('INVALID_INPUT', `Not a DBackup Recovery Kit: ${message}.`);
}

/** The small members of a ZIP that matter, by name (the recovery tool and launchers are skipped). */
async function smallMembers(zip: Buffer, wanted: (name: string) => number | null): Promise<Map<string, Buffer>> {
  let file: yauzl.ZipFile;
  try {
    file = await yauzl.fromBufferPromise(zip, { lazyEntries: true, validateEntrySizes: true });
  } catch (error) {
    throw invalid(`it is not a ZIP file (${(error as Error).message})`);
  }
  const found = new Map<string, Buffer>();
  try {
    if (file.entryCount > MAX_ENTRIES) throw invalid(`it has ${file.entryCount} members`);
    for await (const entry of file.eachEntry()) {
      const limit = wanted(entry.fileName);
      if (limit === null) continue;
      if (entry.uncompressedSize > limit) throw invalid(`${entry.fileName} is ${entry.uncompressedSize} bytes, more than a key file holds`);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of (await file.openReadStreamPromise(entry)) as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limit) throw invalid(`${entry.fileName} unpacks to more than ${limit} bytes`);
        chunks.push(chunk);
      }
      found.set(entry.fileName, Buffer.concat(chunks));
    }
  } catch (error) {
    if (error instanceof LifeboatError) throw error;
    throw invalid(`its ZIP structure is broken (${(error as Error).message})`);
  } finally {
    file.close();
  }
  return found;
}

/** The profile name a one-profile kit's file name carries (`recovery_kit_<name>.zip`, as DBackup sanitises it). */
function nameFromKitFileName(fileName: string | undefined): string | null {
  const match = fileName ? /^recovery_kit_(.+)\.zip$/i.exec(fileName.split(/[\\/]/).pop() ?? '') : null;
  return match?.[1] && !/^\d+_profiles$/.test(match[1]) ? match[1] : null;
}

/**
 * The keys of a Recovery Kit. INVALID_INPUT when the bytes are not a kit or a key is not 64 hex
 * digits. A one-profile kit gives one key without a profile id: the caller pairs it with the
 * profile named in a backup's sidecar.
 */
export async function readRecoveryKit(zip: Buffer, options: { fileName?: string } = {}): Promise<RecoveryKitKey[]> {
  if (zip.length > MAX_KIT_BYTES) throw invalid(`it is ${zip.length} bytes; a kit is far smaller`);
  const members = await smallMembers(zip, (name) => (name === 'master.key' || (name.startsWith('keys/') && name.endsWith('.key')) ? MAX_KEY_FILE_BYTES : name === 'keys/keys.json' ? MAX_INDEX_BYTES : null));
  const index = members.get('keys/keys.json');
  const keyOf = (name: string, what: string): string => {
    const content = members.get(name);
    if (!content) throw invalid(`${what} names ${name}, which the kit does not hold`);
    const key = parseMasterKey(content.toString('utf8'));
    if (!key) throw invalid(`${name} does not hold a master key (64 hex digits)`);
    return key.toString('hex');
  };
  if (index) {
    let json: unknown;
    try {
      json = JSON.parse(index.toString('utf8'));
    } catch (error) {
      throw invalid(`keys/keys.json is not JSON (${(error as Error).message})`);
    }
    const parsed = keysJsonSchema.safeParse(json);
    if (!parsed.success) throw invalid(`keys/keys.json: ${parsed.error.issues[0]?.path.join('.') || 'the top level'} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
    return parsed.data.keys.map((k) => {
      const file = k.file.startsWith('keys/') ? k.file : `keys/${k.file}`;
      return { profileId: k.profileId, name: k.name ?? null, key: keyOf(members.has(file) ? file : k.file, 'keys/keys.json') };
    });
  }
  if (members.has('master.key')) return [{ profileId: null, name: nameFromKitFileName(options.fileName), key: keyOf('master.key', 'the kit') }];
  throw invalid('it holds neither master.key nor keys/keys.json');
}
