// The integrity checks of a plain archive: its size as listed and the SHA-256 of its sidecar.
import type { IntegrityCheck } from '../../../shared/apps';
import type { Sidecar, WholeArchive } from '../adapter';
import { checksumSidecarName, sha256FromSidecar } from './checksum-sidecar';

/** Size (when one was listed) and SHA-256 (when a sidecar came with the file). */
export function archiveChecks(fileName: string, whole: WholeArchive, listedSize: number | null, sidecars: Sidecar[]): IntegrityCheck[] {
  const checks: IntegrityCheck[] = [];
  if (listedSize !== null) {
    checks.push({
      id: 'size',
      kind: 'integrity',
      name: 'Size as listed',
      ok: whole.size === listedSize,
      detail: whole.size === listedSize ? `${whole.size} bytes, as listed` : `${whole.size} bytes arrived, the server listed ${listedSize}: the file changed while it was read`,
    });
  }
  const sidecar = sidecars.find((s) => s.name === checksumSidecarName(fileName));
  if (!sidecar) {
    checks.push({ id: 'sha256', kind: 'integrity', name: 'SHA-256', ok: true, detail: `no ${checksumSidecarName(fileName)} beside the file: the content cannot be checked, only stored`, skipped: 'no checksum sidecar' });
    return checks;
  }
  const expected = sha256FromSidecar(sidecar.content.toString('utf8'), fileName);
  if (expected === null) {
    checks.push({ id: 'sha256', kind: 'integrity', name: 'SHA-256', ok: false, detail: `${sidecar.name} names no SHA-256 for ${fileName}` });
    return checks;
  }
  checks.push({
    id: 'sha256',
    kind: 'integrity',
    name: 'SHA-256 matches the sidecar',
    ok: expected === whole.sha256,
    detail: expected === whole.sha256 ? `SHA-256 ${whole.sha256} matches ${sidecar.name}` : `SHA-256 is ${whole.sha256}, ${sidecar.name} says ${expected}`,
  });
  return checks;
}
