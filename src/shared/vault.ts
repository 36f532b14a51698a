import { z } from 'zod';
import type { AppKind } from './installations';

/** restic's retention rules; counts -1 = unlimited, durations in restic syntax ("1y2m3d4h"). */
const count = z.number().int().min(-1).max(100_000).optional();
const duration = z.string().trim().regex(/^(\d+[yhmd])+$/, 'a duration looks like 1y2m3d4h (years, months, days, hours)').optional();
export const retentionPolicySchema = z
  .object({
    keepLast: count,
    keepHourly: count,
    keepDaily: count,
    keepWeekly: count,
    keepMonthly: count,
    keepYearly: count,
    keepWithin: duration,
    keepWithinHourly: duration,
    keepWithinDaily: duration,
    keepWithinWeekly: duration,
    keepWithinMonthly: duration,
    keepWithinYearly: duration,
    keepTags: z.array(z.array(z.string())).optional(),
  })
  .strict();
export type RetentionPolicyInput = z.infer<typeof retentionPolicySchema>;

/** Where a snapshot came from, as recorded in its tags. */
export type SnapshotSource = 'pull' | 'import' | 'pre-restore' | 'other';

/** A vault snapshot as the UI shows it: one archive (plus its sidecars) from one installation. */
export interface SnapshotView {
  id: string;
  shortId: string;
  /** When the app made the backup (its manifest, metadata or file time), like `restic backup --time`. */
  time: string;
  /** When Lifeboat stored it in the vault (pull or import); `time` for snapshots restic made. */
  storedAt: string;
  /** The installation's name when it was stored (restic's hostname field). */
  hostname: string;
  installationId: string | null;
  app: AppKind | null;
  source: SnapshotSource;
  /** The app's own id of the backup (e.g. MeshMonitor's directory name). */
  remoteId: string | null;
  /** Stored although it did not pass verification, because the operator asked (tag `unverified`). */
  unverified: boolean;
  tags: string[];
  paths: string[];
  archive: { name: string; size: number } | null;
  sidecars: { name: string; size: number }[];
}

export interface VaultStatus {
  initialized: boolean;
  open: boolean;
  location: string | null;
  id: string | null;
  /** Whether the vault password is held by the keychain (or session memory). */
  passwordStored: boolean;
  recoveryKitAcknowledged: boolean;
  snapshotCount: number | null;
}

export interface VaultStats {
  snapshots: number;
  /** Sum of archive sizes (what the snapshots hold). */
  logicalBytes: number;
  /** Bytes of pack files on the backend (what the vault takes). */
  storedBytes: number;
  /** logical / stored; above 1 means deduplication saved space. */
  dedupRatio: number | null;
}

export interface CheckReportView {
  ok: boolean;
  readData: boolean;
  problems: { snapshotId?: string; message: string }[];
  stats: Record<string, number>;
}

export interface ForgetDecision {
  snapshot: SnapshotView;
  keep: boolean;
  /** Why it is kept (restic's reasons, in words), or why it goes. */
  reasons: string[];
}

export interface ForgetPreview {
  groups: { hostname: string; paths: string[] | null; decisions: ForgetDecision[] }[];
  keepCount: number;
  removeCount: number;
}

export interface VaultLockView {
  id: string;
  time: string;
  exclusive: boolean;
  hostname: string;
  username: string;
  pid: number;
  stale: boolean;
  /** Plain-words explanation of who holds it and whether removing it is safe. */
  explanation: string;
}

/** What importing a combined recovery kit did, for the vault and per installation (never the keys). */
/** What a combined recovery kit holds, read without changing anything (`vault:inspect-kit`). */
export interface KitContents {
  createdAt: string;
  /** The vault it opens (its password is inside; never shown here). */
  vault: { id: string; location: string; isThisVault: boolean } | null;
  /** This Lifeboat's vault id, when it has one. */
  thisVaultId: string | null;
  installations: { name: string; app: string; keys: string[]; existingName: string | null }[];
}

export interface KitImportReport {
  vault: { outcome: 'adopted' | 'unlocked' | 'other-vault' | 'unreachable' | 'none'; detail: string };
  installations: { name: string; app: string; installationId: string; created: boolean; keys: string[] }[];
}
