/**
 * Checks a Weavestream dump while its bytes stream by (a pull from SFTP, a read from the vault):
 * size and SHA-256 against the manifest sidecar, the PGDMP header, the TOC and the data blocks to
 * EOF — the same facts as `verifyWeavestreamDump` in backup-files.ts, which needs a local file.
 * The bytes go through a PassThrough into the streaming `readPgDumpToc`.
 */
import { PassThrough } from 'node:stream';
import type { IntegrityCheck } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { StreamVerifier, Sidecar, WholeArchive } from '../adapter';
import { readPgDumpToc } from '../../formats/pgdump';
import type { PgDumpArchive } from '../../formats/pgdump';
import { WEAVESTREAM_ARCHIVE_MINOR, manifestNameFor } from './backup-files';
import { parseWeavestreamManifest, type WeavestreamManifest } from './manifest';

/** The manifest of a dump as found among its sidecars, or why there is none. */
export interface ManifestLookup {
  manifest: WeavestreamManifest | null;
  sidecar: Sidecar | null;
  /** Why `manifest` is null (no sidecar, or it does not parse). */
  problem: string | null;
}

/** Finds and parses the `.manifest.json` sidecar that belongs to `fileName`. */
export function findManifest(fileName: string, sidecars: readonly Sidecar[]): ManifestLookup {
  const expected = manifestNameFor(fileName);
  const sidecar = sidecars.find((s) => s.name === expected) ?? sidecars.find((s) => s.name.endsWith('.manifest.json')) ?? null;
  if (!sidecar) return { manifest: null, sidecar: null, problem: `no ${expected} sidecar came with the dump` };
  try {
    return { manifest: parseWeavestreamManifest(sidecar.content.toString('utf8'), { source: sidecar.name }), sidecar, problem: null };
  } catch (error) {
    if (!(error instanceof LifeboatError)) throw error;
    return { manifest: null, sidecar, problem: error.message };
  }
}

/** A streaming verifier that also hands out the parsed archive once finished. */
export class WeavestreamDumpVerifier implements StreamVerifier {
  private bytes = 0;
  private readonly pass = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  private readonly reading: Promise<PgDumpArchive | LifeboatError>;
  private streamError: Error | null = null;
  /** The archive with per-table block sizes, when header, TOC and data walk all passed. */
  archive: PgDumpArchive | null = null;
  /** SHA-256 (hex) of the whole dump, as given to `finish`. */
  sha256 = '';

  /**
   * `lookup` null: there is no manifest to compare with yet — the bytes are Lifeboat's own live
   * dump, whose manifest is written afterwards from `sha256` and `size` (live-dump.ts).
   */
  constructor(
    private readonly fileName: string,
    private readonly lookup: ManifestLookup | null,
  ) {
    this.pass.on('error', (error) => {
      this.streamError = error;
    });
    this.reading = readPgDumpToc(this.pass, { scanData: true, label: fileName }).catch((error: unknown) => {
      // A bad dump is a failed check, not an exception; anything else is a real fault.
      if (error instanceof LifeboatError && error.code === 'ARCHIVE_INVALID') return error;
      throw error;
    });
  }

  /** Total bytes seen so far. */
  get size(): number {
    return this.bytes;
  }

  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    // The reader stops (and destroys its input) at the first fault; the size still counts every byte.
    if (!this.pass.destroyed) this.pass.write(chunk);
  }

  async finish(whole: WholeArchive): Promise<IntegrityCheck[]> {
    if (!this.pass.destroyed) this.pass.end();
    const outcome = await this.reading;
    if (this.streamError && !(outcome instanceof LifeboatError)) throw this.streamError;
    if (whole.size !== this.bytes) {
      throw new LifeboatError('INTERNAL', `The verifier of ${this.fileName} saw ${this.bytes} bytes, but ${whole.size} were hashed.`);
    }
    this.sha256 = whole.sha256;
    this.archive = outcome instanceof LifeboatError ? null : outcome;
    return dumpChecks({
      fileName: this.fileName,
      lookup: this.lookup,
      size: this.bytes,
      sha256: this.sha256,
      archive: this.archive,
      failure: outcome instanceof LifeboatError ? outcome : null,
    });
  }
}

/** The integrity checks of a dump, from what one pass over its bytes found. */
export function dumpChecks(input: {
  fileName: string;
  /** Null: no manifest to compare with (see the verifier's constructor); only the format is checked. */
  lookup: ManifestLookup | null;
  size: number;
  sha256: string;
  archive: PgDumpArchive | null;
  failure: LifeboatError | null;
}): IntegrityCheck[] {
  if (input.lookup === null) return formatChecks(input.archive, input.failure);
  const { manifest, problem } = input.lookup;
  const checks: IntegrityCheck[] = [];
  if (!manifest) {
    checks.push({ id: 'manifest', kind: 'integrity', name: 'Manifest', ok: false, detail: `${problem ?? 'no manifest'}; size and SHA-256 cannot be checked` });
  } else {
    checks.push({ id: 'manifest', kind: 'integrity', name: 'Manifest', ok: true, detail: `Weavestream ${manifest.weavestreamVersion} manifest, generated ${manifest.generatedAt}` });
    checks.push(manifest.filename === input.fileName
      ? { id: 'filename', kind: 'integrity', name: 'File name', ok: true, detail: `${input.fileName} is the file the manifest describes` }
      : { id: 'filename', kind: 'integrity', name: 'File name', ok: false, detail: `the manifest describes ${manifest.filename}, not ${input.fileName}` });
    checks.push(input.size === manifest.sizeBytes
      ? { id: 'size', kind: 'integrity', name: 'Size', ok: true, detail: `${input.size} bytes, as the manifest says` }
      : { id: 'size', kind: 'integrity', name: 'Size', ok: false, detail: `the dump has ${input.size} bytes, the manifest says ${manifest.sizeBytes}` });
    checks.push(input.sha256 === manifest.sha256
      ? { id: 'sha256', kind: 'integrity', name: 'SHA-256', ok: true, detail: 'SHA-256 matches the manifest' }
      : { id: 'sha256', kind: 'integrity', name: 'SHA-256', ok: false, detail: `SHA-256 is ${input.sha256}, the manifest says ${manifest.sha256}` });
  }
  checks.push(...formatChecks(input.archive, input.failure));
  return checks;
}

function formatChecks(archive: PgDumpArchive | null, failure: LifeboatError | null): IntegrityCheck[] {
  if (archive) {
    const { header } = archive;
    return [
      { id: 'header', kind: 'integrity', name: 'pg_dump header', ok: true, detail: `PGDMP custom archive, compression ${header.compression.algorithm}, pg_dump ${header.pgDumpVersion ?? '(unknown)'}, database ${header.dbname ?? '(unknown)'}` },
      { id: 'archive-version', kind: 'integrity', name: 'Archive version', ok: true, detail: `archive version ${header.version} (Weavestream's pg_dump 16 writes 1.${WEAVESTREAM_ARCHIVE_MINOR})` },
      { id: 'toc', kind: 'integrity', name: 'Table of contents', ok: true, detail: `${archive.tocCount} TOC entries, ${archive.tables.length} tables` },
      { id: 'data', kind: 'integrity', name: 'Data blocks', ok: true, detail: `${archive.entries.filter((e) => e.block).length} data blocks run exactly to byte ${archive.fileSize ?? '?'}` },
    ];
  }
  const message = failure?.message ?? 'not read';
  const phase = failure?.details?.phase;
  const failedAt = phase === 'header' ? 0 : phase === 'toc' ? 1 : 2;
  const steps = [['header', 'pg_dump header'], ['toc', 'Table of contents'], ['data', 'Data blocks']] as const;
  return steps.map(([id, name], i): IntegrityCheck => {
    const base = { id, kind: 'integrity' as const, name };
    if (i < failedAt) return { ...base, ok: true, detail: i === 0 ? 'PGDMP custom archive' : 'TOC parsed' };
    if (i === failedAt) return { ...base, ok: false, detail: message };
    return { ...base, ok: false, detail: `not checked (${steps[failedAt]![0]} failed)` };
  });
}
