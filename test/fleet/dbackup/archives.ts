// The DBackup samples (test/fixtures/dbackup) as archives a format part reads, and helpers to vary them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ArchiveAccess, Sidecar, StepContext } from '../../../src/main/apps/adapter';
import type { FormatContext } from '../../../src/main/apps/module';
import { keySlot } from '../../../src/main/apps/dbackup/keys';
import { formatContext } from '../../harness/format-context';
import { SAMPLE_KEY_HEX, SAMPLE_PROFILE_ID } from './writer';

/** The samples' folder. */
export const SAMPLES_DIR = path.resolve('test/fixtures/dbackup');

/** One sample: stored file, its sidecar, and the plaintext DBackup's recovery tool gives. */
export interface Sample {
  relative: string;
  fileName: string;
  stored: Buffer;
  sidecar: Buffer;
  plaintext: Buffer;
}

function sample(relative: string, plaintext: string): Sample {
  return {
    relative,
    fileName: path.basename(relative),
    stored: readFileSync(path.join(SAMPLES_DIR, relative)),
    sidecar: readFileSync(path.join(SAMPLES_DIR, `${relative}.meta.json`)),
    plaintext: readFileSync(path.join(SAMPLES_DIR, 'plaintext', plaintext)),
  };
}

/** The four samples by role. */
export const SAMPLES = {
  configWithSecrets: sample('config-backups/config_backup_2026-11-23T13-12-49-621Z.json.gz.enc', 'config_backup_2026-11-23T13-12-49-621Z.json'),
  configPlain: sample('config-backups/config_backup_2026-11-23T13-12-50-765Z.json.gz', 'config_backup_2026-11-23T13-12-50-765Z.json'),
  singleDb: sample('Loomio DB/Loomio_DB_2026-11-23_13-12-50.sql.gz.enc', 'Loomio_DB_2026-11-23_13-12-50.sql'),
  multiDb: sample('Loomio All DBs/Loomio_All_DBs_2026-11-23_13-13-18.tar.gz.enc', 'Loomio_All_DBs_2026-11-23_13-13-18.tar'),
};

/** An archive held in memory, read in chunks of `chunk` bytes. */
export function memoryArchive(fileName: string, bytes: Buffer, sidecars: Sidecar[], chunk = 777): ArchiveAccess {
  return {
    fileName,
    size: bytes.length,
    mtime: new Date('2026-11-23T13:00:00Z'),
    sidecars,
    open: async () => {
      const parts: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += chunk) parts.push(bytes.subarray(at, at + chunk));
      return Readable.from(parts, { objectMode: false });
    },
  };
}

/** A sample as an archive, optionally with another sidecar text (or none). */
export function sampleArchive(s: Sample, sidecar: Buffer | string | null = s.sidecar, stored: Buffer = s.stored): ArchiveAccess {
  return memoryArchive(s.fileName, stored, sidecar === null ? [] : [{ name: `${s.fileName}.meta.json`, content: Buffer.from(sidecar) }]);
}

/** A quiet step context. */
export const quietStep = (signal: AbortSignal = new AbortController().signal): StepContext => ({ signal, progress: () => undefined, log: () => undefined });

/** A format context that knows the samples' key (or `key`), or none at all (`null`). */
export function keyedContext(key: string | null = SAMPLE_KEY_HEX, profileId = SAMPLE_PROFILE_ID, step: StepContext = quietStep()): FormatContext {
  return formatContext(step, key === null ? {} : { [keySlot(profileId)]: key });
}

/** The `details.reason` of a typed payload failure (wrong-key, corrupt, no-sidecar, decompression-bomb, bad-compression). */
export const reasonOf = (error: unknown): unknown => (error as { details?: Record<string, unknown> } | null)?.details?.reason;
