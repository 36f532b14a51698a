/**
 * An import is verified as a pull is: the archive's module (the installation's, else the one that
 * recognises the content) reads it whole and every integrity check must pass before it may enter
 * the vault. A check that could not run (no checksum came with a plain file) is not a pass: such
 * a file enters only when the operator asks for it, and is tagged unverified.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IntegrityCheck } from '../../shared/apps';
import { LifeboatError } from '../../shared/errors';
import type { Installation } from '../../shared/installations';
import type { Core } from '../core';
import type { ArchiveAccess, StepContext } from './adapter';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createKeyResolver } from './keys';
import { describeFailedChecks } from './quarantine';
import type { ImportVerdict as VaultImportVerdict } from '../vault-service/vault-service';

/** What verifying an import found: the app it is, its checks, and why it is not verified (null: it is). */
export interface ImportVerdict extends VaultImportVerdict {
  checks: IntegrityCheck[];
}

/** A detection this weak is the folder module's "a file no app module recognises". */
const UNRECOGNISED = 0.1;

/** Reads a local archive (with its sidecars) with its module, as a pull's verifier would. */
export async function verifyImport(core: Core, file: { file: string; name: string }, sidecarFiles: { file: string; name: string }[], installation: Installation | null, ctx: StepContext): Promise<ImportVerdict> {
  const info = await stat(file.file);
  const sidecars = await Promise.all(sidecarFiles.map(async (s) => ({ name: s.name, content: await readFile(s.file) })));
  const access: ArchiveAccess = { fileName: path.basename(file.name), size: info.size, mtime: info.mtime, sidecars, localPath: file.file, open: async () => createReadStream(file.file) };
  const found = installation ? { module: core.apps.get(installation.app), detection: null } : await core.apps.detect(access);
  // Only the catch-all claims it (below 0.1): no app's rules apply, so there is nothing to read it for.
  if (found.detection && found.detection.confidence < UNRECOGNISED) return { app: null, checks: [], unverified: `no app module recognises ${file.name}` };
  const { module } = found;
  ctx.progress({ phase: `verifying as a ${module.label} backup`, bytes: 0, total: info.size });
  const keys = createKeyResolver(installation, (slot) => core.registry.secret(installation!.id, slot), core.sessionKeys);
  const report = await module.format.preview(access, { ...ctx, keys, installation, stagingDir: core.home.stagingDir });
  if (report.app !== module.kind) throw new LifeboatError('ARCHIVE_INVALID', `${file.name} is not a ${module.label} backup.`);
  const failed = report.integrity.checks.filter((c) => !c.ok && !c.skipped);
  if (!report.integrity.ok || failed.length > 0) {
    throw new LifeboatError('ARCHIVE_VERIFY_FAILED', `${file.name} failed verification as a ${module.label} backup: ${describeFailedChecks(report.integrity.checks)}. Nothing entered the vault.`, {
      details: { checks: report.integrity.checks, app: module.kind },
    });
  }
  const skipped = report.integrity.checks.filter((c) => c.skipped);
  const unverified = skipped.length > 0 ? `${module.label}: ${skipped.map((c) => `${c.name} could not be checked (${c.skipped})`).join('; ')}` : report.integrity.checks.length === 0 ? `${module.label} has no check for it` : null;
  return { app: module.kind, checks: report.integrity.checks, unverified };
}
