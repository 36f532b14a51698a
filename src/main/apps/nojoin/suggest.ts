/**
 * Which Nojoin installation a dropped or local export most likely came from, from the facts its
 * preview read (backup_info.json: export time, audio and quality) against each configured
 * installation: the same file already in the vault, an export of the same moment in the vault,
 * then the only installation that exports audio the way this archive was made. Nojoin's
 * backup_info.json names no host or instance, so nothing stronger can be matched.
 */
import type { InstallationCandidate, InstallationSuggestion } from '../module';
import type { PreviewReport } from '../../../shared/apps';
import { nojoinSettings } from './settings';

type Report = Omit<PreviewReport, 'source'>;

/** `included, compressed` / `not included` (the preview's Audio fact) as export settings; null when unknown. */
function audioOf(report: Report): { includeAudio: boolean; archiveQuality: string | null } | null {
  const value = report.summary.find((f) => f.label === 'Audio')?.value;
  if (!value) return null;
  if (value === 'not included') return { includeAudio: false, archiveQuality: null };
  const match = /^included(?:, (\w+))?$/.exec(value);
  return match ? { includeAudio: true, archiveQuality: match[1] ?? null } : null;
}

const sameMoment = (a: string | null, b: string): boolean => {
  if (!a) return false;
  const left = Date.parse(a);
  return Number.isFinite(left) && Math.floor(left / 1000) === Math.floor(Date.parse(b) / 1000);
};

/** The suggestion, or null when nothing points to one installation. */
export function suggestNojoinInstallation(report: Report, candidates: readonly InstallationCandidate[]): InstallationSuggestion | null {
  const one = (matches: readonly InstallationCandidate[], reason: (c: InstallationCandidate) => string): InstallationSuggestion | null =>
    matches.length === 1 ? { installationId: matches[0]!.installation.id, reason: reason(matches[0]!) } : null;
  const sameFile = candidates.filter((c) => c.snapshots.some((s) => s.archive?.name === report.fileName && s.archive.size === report.sizeBytes));
  const byFile = one(sameFile, (c) => `the vault already holds this very file (same name and size) as a backup of ${c.installation.name}`);
  if (byFile) return byFile;
  const sameTime = candidates.filter((c) => c.snapshots.some((s) => sameMoment(report.createdAt, s.time)));
  const byTime = one(sameTime, (c) => `the vault holds an export of ${c.installation.name} made at the same moment (${report.createdAt})`);
  if (byTime) return byTime;
  const audio = audioOf(report);
  if (audio) {
    const alike = candidates.filter((c) => {
      const settings = nojoinSettings(c.installation).export;
      return settings.includeAudio === audio.includeAudio && (!audio.includeAudio || audio.archiveQuality === null || settings.archiveQuality === audio.archiveQuality);
    });
    const how = audio.includeAudio ? `with audio${audio.archiveQuality ? ` (${audio.archiveQuality})` : ''}` : 'without audio';
    const bySettings = candidates.length > 1 ? one(alike, (c) => `${c.installation.name} is the only Nojoin installation that exports ${how}, as this archive was made${report.appVersion ? ` (by Nojoin ${report.appVersion})` : ''}`) : null;
    if (bySettings) return bySettings;
  }
  return one(candidates, (c) => `${c.installation.name} is the only Nojoin installation configured`);
}
