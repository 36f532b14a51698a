import { LifeboatError } from '../../shared/errors';
import type { ArchiveSourceRef, PreviewReport } from '../../shared/apps';
import type { Installation } from '../../shared/installations';
import type { Core } from '../core';
import type { StepContext } from './adapter';
import { openArchive, type OpenedArchive } from './archive-access';
import { createKeyResolver } from './keys';
import type { AppModule, InstallationSuggestion, KeyResolver } from './module';

/** What a preview is asked for: the archive, and optionally its app and the installation whose keys it uses. */
export interface PreviewRequest {
  source: ArchiveSourceRef;
  app?: string | undefined;
  installationId?: string | undefined;
  /** The keys that open it, when not the installation's (a restore of another installation's archive). */
  keys?: KeyResolver | undefined;
}

/** The module named, else the one the snapshot was tagged with, else the one that recognises the content. */
export async function moduleOfArchive(core: Core, opened: OpenedArchive, app: string | undefined, log: (line: string) => void): Promise<AppModule> {
  if (app) return core.apps.get(app);
  const tagged = opened.snapshotId ? ((await core.vault.snapshots()).find((s) => s.id === opened.snapshotId)?.app ?? null) : null;
  if (tagged && core.apps.has(tagged)) return core.apps.get(tagged);
  const { module, detection } = await core.apps.detect(opened.access);
  log(`${opened.access.fileName}: ${module.label} (${detection.reason})`);
  return module;
}

/**
 * Reads an archive (vault snapshot or local file) and says what is inside. The module is the one
 * named, else the one the snapshot was tagged with, else the one that recognises the content.
 * Keys come from the installation the archive belongs to, else from what the operator typed.
 */
/** The module's suggestion among the installations of its app, with what the vault holds of each (nothing when the vault is closed). */
async function suggestInstallation(core: Core, module: AppModule, report: Omit<PreviewReport, 'source'>): Promise<InstallationSuggestion | null> {
  const installations = (await core.registry.list()).filter((i) => i.app === module.kind);
  if (installations.length === 0) return null;
  const snapshots = await core.vault.snapshots().catch(() => []);
  const candidates = installations.map((installation) => ({ installation, snapshots: snapshots.filter((s) => s.installationId === installation.id) }));
  const suggestion = module.format.suggestInstallation!(report, candidates);
  return suggestion && installations.some((i) => i.id === suggestion.installationId) ? suggestion : null;
}

export async function previewArchive(core: Core, request: PreviewRequest, ctx: StepContext): Promise<PreviewReport & { installationId: string | null }> {
  const opened = await openArchive(core, request.source);
  const module = await moduleOfArchive(core, opened, request.app, ctx.log);
  const installationId = request.installationId ?? opened.installationId;
  const installation: Installation | null = installationId ? await core.registry.get(installationId).catch(() => null) : null;
  const keys = request.keys ?? createKeyResolver(installation, (slot) => core.registry.secret(installation!.id, slot), core.sessionKeys);
  ctx.progress({ phase: 'reading archive', bytes: 0, total: opened.access.size });
  const report = await module.format.preview(opened.access, { ...ctx, keys, installation, stagingDir: core.home.stagingDir });
  if (report.app !== module.kind) throw new LifeboatError('ARCHIVE_INVALID', `${opened.label} is not a ${module.label} backup.`);
  const suggestion = !opened.snapshotId && !installationId && module.format.suggestInstallation ? await suggestInstallation(core, module, report) : null;
  return {
    ...report,
    ...(suggestion ? { suggestedInstallation: suggestion } : {}),
    source: opened.snapshotId ? { kind: 'snapshot', snapshotId: opened.snapshotId } : { kind: 'file', name: opened.access.fileName },
    installationId: opened.installationId,
  };
}
