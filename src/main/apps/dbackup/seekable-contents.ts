/**
 * Reading a v2 seekable archive for preview: one pass over the stored TAR (hashing it on the way)
 * keeps the cleartext `manifest.json` (first member) and the `index` (last member); the index is
 * unsealed with the profile key when the archive is encrypted. The `.index` sidecar, a copy of
 * the last member, stands in when the member is missing and is compared with it otherwise.
 */
import type { Readable } from 'node:stream';
import { LifeboatError } from '../../../shared/errors';
import { parseSeekableManifest, readSeekableIndex, type SeekableIndex, type SeekableManifest } from '../../formats/gcm';
import type { Sidecar } from '../adapter';
import type { KeyResolver } from '../module';
import { masterKeyFor } from './keys';
import { indexNameFor } from './sidecar';
import { readCapped, walkTar } from './tar-walk';

/** What a v2 archive showed. */
export interface SeekableContents {
  members: number;
  manifest: SeekableManifest | null;
  manifestProblem: string | null;
  index: SeekableIndex | null;
  indexProblem: string | null;
  /** Whether the `.index` sidecar is byte-identical to the last member; null when one of them is missing. */
  indexMatchesSidecar: boolean | null;
  /** The typed error behind `indexProblem` (a wrong key is KEY_REQUIRED with reason wrong-key). */
  indexFailure: LifeboatError | null;
}

const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/** Reads a v2 archive to its end; only a missing key throws (KEY_REQUIRED), a wrong one or a fault comes back as a problem. */
export async function readSeekableContents(stream: Readable, fileName: string, sidecars: readonly Sidecar[], keys: KeyResolver): Promise<SeekableContents> {
  let manifestText: string | null = null;
  let indexMember: Buffer | null = null;
  let walkProblem: string | null = null;
  let members = 0;
  try {
    const walked = await walkTar(stream, fileName, (member) => {
      if (member.index === 0 && member.name === 'manifest.json') {
        return async (body) => {
          manifestText = (await readCapped(body, MAX_MANIFEST_BYTES, `${fileName}: manifest.json`)).toString('utf8');
        };
      }
      // The index is the last member; an earlier member named so is replaced by a later one.
      if (member.name === 'index') {
        return async (body) => {
          indexMember = await readCapped(body, MAX_INDEX_BYTES, `${fileName}: index`);
        };
      }
      return null;
    });
    members = walked.length;
  } catch (error) {
    if (!(error instanceof LifeboatError) || error.code === 'CANCELLED') throw error;
    walkProblem = error.message;
  }
  const result: SeekableContents = { members, manifest: null, manifestProblem: null, index: null, indexProblem: null, indexMatchesSidecar: null, indexFailure: null };
  if (manifestText === null) {
    result.manifestProblem = walkProblem ?? `${fileName} does not start with manifest.json: it is not a DBackup v2 archive`;
    return result;
  }
  try {
    result.manifest = parseSeekableManifest(manifestText, `${fileName}: manifest.json`);
  } catch (error) {
    if (!(error instanceof LifeboatError)) throw error;
    result.manifestProblem = error.message;
    return result;
  }
  const sidecar = sidecars.find((s) => s.name === indexNameFor(fileName))?.content ?? null;
  const member = indexMember as Buffer | null;
  if (member && sidecar) result.indexMatchesSidecar = member.equals(sidecar);
  const index = member ?? sidecar;
  if (!index) {
    result.indexProblem = walkProblem ?? `${fileName} has no index member and no ${indexNameFor(fileName)} came with it`;
    return result;
  }
  const encryption = result.manifest.encryption ?? null;
  const master = encryption ? await masterKeyFor(keys, encryption.profileId, fileName) : null;
  try {
    result.index = readSeekableIndex(index, result.manifest, master?.key ?? null, fileName, master ? { keyRef: master.ref } : {});
  } catch (error) {
    if (!(error instanceof LifeboatError)) throw error;
    result.indexProblem = error.message;
    result.indexFailure = error;
  }
  if (walkProblem) result.indexProblem ??= walkProblem;
  return result;
}
