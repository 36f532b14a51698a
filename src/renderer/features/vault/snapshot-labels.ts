import type { AppModuleInfo } from '../../../shared/apps';
import type { AppKind } from '../../../shared/installations';
import type { SnapshotSource, SnapshotView } from '../../../shared/vault';
import type { PillTone } from '../../components/pill';

/** How each source reads on a badge, and its colour. */
export const SOURCE_LOOK: Record<SnapshotSource, { label: string; tone: PillTone; title: string }> = {
  pull: { label: 'pull', tone: 'info', title: 'Pulled from the installation by Lifeboat' },
  import: { label: 'import', tone: 'neutral', title: 'Added from a local file' },
  'pre-restore': { label: 'pre-restore', tone: 'warn', title: 'Safety copy taken just before a restore' },
  other: { label: 'other', tone: 'neutral', title: 'Made outside Lifeboat (e.g. by restic)' },
};

/** "MeshMonitor", or "app not recorded" for snapshots with no app tag (e.g. a local import). */
export const appLabel = (app: AppKind | null, modules: AppModuleInfo[]): string => (app ? (modules.find((m) => m.kind === app)?.label ?? app) : 'app not recorded');

/** One line naming a snapshot for people: archive name, or its short id when it has none. */
export const snapshotName = (snapshot: SnapshotView): string => snapshot.archive?.name ?? `snapshot ${snapshot.shortId}`;
