/**
 * The checks of a stored DBackup file that need no key: its sidecar, its size, and SHA-256 and
 * MD5 against the sidecar's `checksum` / `checksumMd5` (computed by DBackup on the final,
 * compressed and encrypted file). A pull runs them before the snapshot exists; a preview runs the
 * same ones. Config backups carry no checksum: only their size and, with the key, the GCM tag.
 */
import type { IntegrityCheck } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { Sidecar, StreamVerifier, WholeArchive } from '../adapter';
import { findSidecar, type SidecarLookup } from './sidecar';

/** Size and hashes of the stored bytes. */
export interface StoredFacts extends WholeArchive {
  md5: string;
}

/** Whether a file name says the file is encrypted (DBackup appends `.enc`). */
export const namedEncrypted = (fileName: string): boolean => fileName.endsWith('.enc');

/** The checks of one stored file against its sidecar; `listedSize` is what the source listed, if anything. */
export function storedFileChecks(fileName: string, lookup: SidecarLookup, facts: StoredFacts, listedSize: number | null): IntegrityCheck[] {
  const checks: IntegrityCheck[] = [];
  if (listedSize !== null) {
    checks.push({
      id: 'size-listed', kind: 'integrity', name: 'Size as listed',
      ok: facts.size === listedSize,
      detail: facts.size === listedSize ? `${facts.size} bytes, as listed` : `${facts.size} bytes arrived, the destination listed ${listedSize}: the file changed while it was read`,
    });
  }
  const { sidecar } = lookup;
  if (!sidecar) {
    const missing = lookup.file === null;
    // An encrypted file without its sidecar can never be decrypted: its IV and tag are only there.
    const fatal = !missing || namedEncrypted(fileName);
    checks.push({
      id: 'sidecar', kind: 'integrity', name: 'DBackup sidecar',
      ok: !fatal,
      detail: missing
        ? (namedEncrypted(fileName) ? `no .meta.json came with ${fileName}: its IV and tag are lost, so it can never be decrypted, and its checksum is unknown` : `no .meta.json came with ${fileName}: nothing to check it against`)
        : lookup.problem?.message ?? 'the sidecar does not parse',
      ...(fatal ? {} : { skipped: 'no sidecar' }),
    });
    return checks;
  }
  checks.push({ id: 'sidecar', kind: 'integrity', name: 'DBackup sidecar', ok: true, detail: `${sidecar.name}: ${sidecar.kind === 'config' ? 'config backup' : `${sidecar.sourceType} backup`}${sidecar.shape === 'legacy-flat' ? ' (legacy flat sidecar)' : ''}` });
  if (sidecar.size !== null) {
    checks.push({
      id: 'size', kind: 'integrity', name: 'Size as the sidecar says',
      ok: facts.size === sidecar.size,
      detail: facts.size === sidecar.size ? `${facts.size} bytes, as ${sidecar.name} says` : `the file has ${facts.size} bytes, ${sidecar.name} says ${sidecar.size}`,
    });
  }
  checks.push(hashCheck('sha256', 'SHA-256', facts.sha256, sidecar.sha256, sidecar.name, sidecar.kind === 'config'));
  checks.push(hashCheck('md5', 'MD5', facts.md5, sidecar.md5, sidecar.name, sidecar.kind === 'config'));
  return checks;
}

function hashCheck(id: string, name: string, actual: string, expected: string | null, sidecarName: string, config: boolean): IntegrityCheck {
  if (expected === null) {
    const why = config ? 'DBackup writes no checksum for config backups; only the GCM tag (with the key) proves them intact' : `${sidecarName} records no ${name}`;
    return { id, kind: 'integrity', name: `${name} matches the sidecar`, ok: true, detail: why, skipped: 'no checksum in the sidecar' };
  }
  return {
    id, kind: 'integrity', name: `${name} matches the sidecar`,
    ok: actual === expected,
    detail: actual === expected ? `${name} ${actual} matches ${sidecarName}` : `${name} is ${actual}, ${sidecarName} says ${expected}`,
  };
}

/**
 * A pull's verifier: everything from the vault's digests in `finish` (SHA-256 and MD5, both hashed
 * on its seal worker, so the thread that reads the download hashes nothing).
 */
export class DbackupVerifier implements StreamVerifier {
  readonly wantsMd5 = true;

  constructor(
    private readonly fileName: string,
    private readonly sidecars: () => Sidecar[],
    private readonly listedSize: number | null,
  ) {}

  write(_chunk: Buffer): void {
    // Nothing to do per chunk: see finish.
  }

  async finish(whole: WholeArchive): Promise<IntegrityCheck[]> {
    if (whole.md5 === undefined) throw new LifeboatError('INTERNAL', `The MD5 of ${this.fileName} was not computed; it cannot be checked against its sidecar.`);
    const lookup = findSidecar(this.fileName, this.sidecars());
    return storedFileChecks(this.fileName, lookup, { ...whole, md5: whole.md5 }, this.listedSize);
  }
}
