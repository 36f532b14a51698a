import type { CheckReportView } from './vault';

/** How much of the vault was re-read lately. */
export interface VerificationCoverage {
  /** Every pack is to be re-read within this many days. */
  windowDays: number;
  /** Runs that cover the whole vault once (one run a day: windowDays). */
  slices: number;
  packs: number;
  bytes: number;
  /** Packs (and their bytes) re-read within the window. */
  packsRead: number;
  bytesRead: number;
  /** Bytes re-read within the window, of all bytes (0–100). */
  percent: number;
  /** The pack read longest ago, or null when none has been read. */
  oldestRead: string | null;
  lastRun: string | null;
}

/** A damaged pack and the snapshots that need it. */
export interface BadPack {
  packId: string;
  snapshotIds: string[];
}

/** One rotating verification run: the check report of its slice, what it read, the coverage after it. */
export interface RotatingCheckReport {
  check: CheckReportView;
  packsReadNow: string[];
  badPacks: BadPack[];
  coverage: VerificationCoverage;
}
