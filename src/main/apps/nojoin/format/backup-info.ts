/**
 * `backup_info.json`, the only manifest a Nojoin archive has (specs/nojoin.md §1.3): format and app
 * version, time, audio options and four warning counters. No counts, no member list, no hashes.
 */

/** Nojoin's own counts of what it could not put into the archive. */
export interface NojoinExportWarnings {
  recordingsWithoutAudio: number;
  recordingsAudioFailed: number;
  documentsWithoutFiles: number;
  documentsFailed: number;
}

/** What Lifeboat wrote into the manifest of a subset it repacked. */
export interface LifeboatSubsetNote {
  selection: string[];
  madeAt: string;
}

/** The manifest as read; fields a format-1 archive lacks are null. */
export interface NojoinBackupInfo {
  /** 1 when absent or not an integer, as Nojoin's restore reads it (§3.2). */
  formatVersion: number;
  /** Whether `format_version` was written at all (format 2 writers always write it). */
  formatVersionDeclared: boolean;
  appVersion: string | null;
  timestamp: string | null;
  includeAudio: boolean | null;
  archiveQuality: 'compressed' | 'original' | null;
  containsCalendarCredentials: boolean | null;
  warnings: NojoinExportWarnings | null;
  /** Present when Lifeboat made this archive as a subset of another. */
  lifeboatSubset: LifeboatSubsetNote | null;
}

/** The key Lifeboat adds to `backup_info.json` of a repacked subset; Nojoin reads only its own keys. */
export const LIFEBOAT_SUBSET_KEY = 'lifeboat_subset';

function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0;
}

/** Reads a parsed `backup_info.json` object the way Nojoin's restore does (lenient: unknown keys ignored). */
export function readBackupInfo(value: unknown): NojoinBackupInfo {
  const raw = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const declared = typeof raw.format_version === 'number' && Number.isInteger(raw.format_version);
  const warnings = typeof raw.warnings === 'object' && raw.warnings !== null ? (raw.warnings as Record<string, unknown>) : null;
  const subset = typeof raw[LIFEBOAT_SUBSET_KEY] === 'object' && raw[LIFEBOAT_SUBSET_KEY] !== null ? (raw[LIFEBOAT_SUBSET_KEY] as Record<string, unknown>) : null;
  return {
    formatVersion: declared ? (raw.format_version as number) : 1,
    formatVersionDeclared: declared,
    appVersion: typeof raw.version === 'string' ? raw.version : null,
    timestamp: typeof raw.timestamp === 'string' ? raw.timestamp : null,
    includeAudio: typeof raw.include_audio === 'boolean' ? raw.include_audio : null,
    archiveQuality: raw.archive_quality === 'compressed' || raw.archive_quality === 'original' ? raw.archive_quality : null,
    containsCalendarCredentials: typeof raw.contains_restorable_calendar_credentials === 'boolean' ? raw.contains_restorable_calendar_credentials : null,
    warnings: warnings
      ? {
          recordingsWithoutAudio: count(warnings.recordings_without_audio),
          recordingsAudioFailed: count(warnings.recordings_audio_failed),
          documentsWithoutFiles: count(warnings.documents_without_files),
          documentsFailed: count(warnings.documents_failed),
        }
      : null,
    lifeboatSubset: subset
      ? {
          selection: Array.isArray(subset.selection) ? subset.selection.filter((s): s is string => typeof s === 'string') : [],
          madeAt: typeof subset.made_at === 'string' ? subset.made_at : '',
        }
      : null,
  };
}

/** Compares dotted app versions numerically (`0.10.0` > `0.9.0`, as Nojoin does); missing parts are 0. */
export function compareAppVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[.+-]/).map((p) => (/^\d+$/.test(p) ? Number(p) : 0));
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}
