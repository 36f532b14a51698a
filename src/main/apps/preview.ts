import { LifeboatError } from '../../shared/errors';
import type { ArchiveSourceRef, PreviewReport } from '../../shared/apps';
import type { AppKind } from '../../shared/installations';
import type { Core } from '../core';
import type { StepContext } from './adapter';
import { openArchive } from './archive-access';
import { detectApp } from './detect';
import { adapterFor } from './index';

/** Reads an archive (vault snapshot or local file) and says what is inside. */
export async function previewArchive(core: Core, source: ArchiveSourceRef, app: string | undefined, ctx: StepContext): Promise<PreviewReport & { installationId: string | null }> {
  const opened = await openArchive(core, source);
  const tagged = opened.snapshotId ? ((await core.vault.snapshots()).find((s) => s.id === opened.snapshotId)?.app ?? null) : null;
  const kind: AppKind = detectApp(opened.access.fileName, { given: app, tagged });
  ctx.progress({ phase: 'reading archive', bytes: 0, total: opened.access.size });
  const report = await adapterFor(kind).preview(opened.access, ctx);
  if (report.app !== kind) throw new LifeboatError('ARCHIVE_INVALID', `${opened.label} is not a ${kind} backup.`);
  return {
    ...report,
    source: opened.snapshotId ? { kind: 'snapshot', snapshotId: opened.snapshotId } : { kind: 'file', name: opened.access.fileName },
    installationId: opened.installationId,
  };
}
