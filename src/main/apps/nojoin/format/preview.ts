/**
 * The preview of a Nojoin archive: one verification pass (scan.ts) that also collects what the
 * operator must know before trusting or restoring it — versions, counts, recordings with or without
 * audio, documents, the secrets inside (counted, never shown), what Nojoin redacted, and the
 * restore's surprises (specs/nojoin.md §1.8–§1.10, §3.5–§3.9).
 */
import type { ContentsTable, IntegrityCheck, PreviewReport } from '../../../../shared/apps';
import { LifeboatError } from '../../../../shared/errors';
import { formatBytes } from '../../../../shared/format-bytes';
import type { ArchiveAccess, StepContext } from '../../adapter';
import { compareAppVersions, type NojoinBackupInfo } from './backup-info';
import { CONFIG_SELECTION } from './repack';
import { describeRowProblem, type RowProblem } from './rows';
import { BACKUP_INFO_MEMBER, CONFIG_MEMBER, scanNojoinArchive, type ArchiveScan, type TableScan } from './scan';
import { unreadableArchiveCheck } from './stream-verifier';
import { NOJOIN_FORMAT_VERSION, RECORDING_CHILD_TABLES, NOJOIN_TABLES, type NojoinTable } from './tables';
import { fileByteSource, NojoinZip, spoolArchive, type ZipLimits } from './zip';

/** One recording as the preview lists it. */
export interface NojoinRecordingSummary {
  id: number | null;
  /** `recording:<id>`, the selection item. */
  item: string | null;
  title: string;
  createdAt: string | null;
  durationSeconds: number | null;
  status: string | null;
  owner: string | null;
  isDeleted: boolean;
  isArchived: boolean;
  /** The member `audio_path` names (present or not). */
  audioMember: string;
  hasAudio: boolean;
  audioBytes: number | null;
  /** What the member holds (sniffed from its first bytes; the extension when absent). */
  audioFormat: string;
  /** No meeting_uid and no public_id: Nojoin cannot match it, so a restore inserts it again. */
  withoutIdentity: boolean;
}

/** One attached document. */
export interface NojoinDocumentSummary {
  id: number | null;
  recordingId: number | null;
  title: string;
  fileType: string | null;
  member: string;
  hasFile: boolean;
  bytes: number | null;
}

/** Secrets in plaintext inside the archive, counted; values are never read out. */
export interface NojoinSecretsInside {
  argon2PasswordHashes: number;
  otherPasswordHashes: number;
  calendarClientSecrets: number;
  calendarAccessTokens: number;
  calendarRefreshTokens: number;
  /** People with a voiceprint (global_speakers.embedding) and per-recording speaker embeddings. */
  voiceprints: number;
}

/** Keys Nojoin replaced with "REDACTED" on export. */
export interface NojoinRedactions {
  /** Per user-settings key, the users whose value was redacted. */
  userSettings: { key: string; users: string[] }[];
  config: string[];
}

/** Everything the preview found, typed, for Nojoin-aware code (the restore planner, the UI). */
export interface NojoinPreview {
  info: NojoinBackupInfo | null;
  formatVersion: number;
  tables: TableScan[];
  users: { id: number | null; username: string; isSuperuser: boolean; role: string | null }[];
  recordings: NojoinRecordingSummary[];
  documents: NojoinDocumentSummary[];
  secrets: NojoinSecretsInside;
  redacted: NojoinRedactions;
  /** Settings keys the target must already have (or get re-entered): restore nulls them for users it creates. */
  keysTargetMustHave: string[];
  firstBadRow: RowProblem | null;
  hasConfig: boolean;
  warnings: string[];
}

/** The generic report and the Nojoin-specific facts. */
export interface NojoinPreviewResult {
  report: Omit<PreviewReport, 'source'>;
  nojoin: NojoinPreview;
}

/** Where an archive to preview is: a local file read in place, or spooled into `stagingDir` first. */
export type PreviewLocation = { localPath: string } | { stagingDir: string };

const REDACTED = 'REDACTED';
/** What Nojoin never puts in an archive (§1.5), in words. */
const NOT_INCLUDED = [
  'Playback proxy MP3s (Nojoin regenerates them after a restore)',
  'LLM API keys and the Hugging Face token (redacted to "REDACTED")',
  "The JWT keyring and DATA_ENCRYPTION_KEY: calendar secrets are re-encrypted with the target's key",
  'Search index (context_chunks, rebuilt), invitations, OAuth clients and tokens, revoked JWTs, CLI credentials',
  'Canonical-pipeline tables (processing runs, ASR/diarization windows, utterances): rebuilt from transcripts',
];

/** Collects facts row by row during the scan; keeps small summaries only. */
class PreviewCollector {
  readonly users = new Map<number, { username: string; isSuperuser: boolean; role: string | null }>();
  readonly userList: NojoinPreview['users'] = [];
  readonly recordings: (Omit<NojoinRecordingSummary, 'owner' | 'hasAudio' | 'audioBytes' | 'audioFormat'> & { userId: number | null })[] = [];
  readonly documents: Omit<NojoinDocumentSummary, 'hasFile' | 'bytes'>[] = [];
  readonly secrets: NojoinSecretsInside = { argon2PasswordHashes: 0, otherPasswordHashes: 0, calendarClientSecrets: 0, calendarAccessTokens: 0, calendarRefreshTokens: 0, voiceprints: 0 };
  readonly redactedSettings = new Map<string, string[]>();
  inFlight = 0;
  ownerless = 0;

  visit(table: NojoinTable, row: Record<string, unknown>): void {
    const id = typeof row.id === 'number' ? row.id : null;
    switch (table) {
      case 'users': {
        const username = text(row.username) ?? '(no name)';
        const user = { username, isSuperuser: row.is_superuser === true, role: text(row.role) };
        if (id !== null) this.users.set(id, user);
        this.userList.push({ id, ...user });
        const hash = text(row.hashed_password);
        if (hash?.startsWith('$argon2')) this.secrets.argon2PasswordHashes++;
        else if (hash) this.secrets.otherPasswordHashes++;
        for (const key of redactedKeys(row.settings)) this.redactedSettings.set(key, [...(this.redactedSettings.get(key) ?? []), username]);
        break;
      }
      case 'calendar_provider_configs':
        if (text(row.client_secret)) this.secrets.calendarClientSecrets++;
        break;
      case 'calendar_connections':
        if (text(row.access_token)) this.secrets.calendarAccessTokens++;
        if (text(row.refresh_token)) this.secrets.calendarRefreshTokens++;
        break;
      case 'global_speakers':
      case 'recording_speakers':
        if (Array.isArray(row.embedding) && row.embedding.length > 0) this.secrets.voiceprints++;
        break;
      case 'recordings': {
        const status = text(row.status);
        if (status !== null && ['UPLOADING', 'QUEUED', 'PROCESSING', 'PAUSED'].includes(status)) this.inFlight++;
        const userId = typeof row.user_id === 'number' ? row.user_id : null;
        if (userId === null) this.ownerless++;
        this.recordings.push({
          id,
          item: id === null ? null : `recording:${id}`,
          title: text(row.name) ?? '(untitled)',
          createdAt: text(row.created_at),
          durationSeconds: typeof row.duration_seconds === 'number' ? row.duration_seconds : null,
          status,
          userId,
          isDeleted: row.is_deleted === true,
          isArchived: row.is_archived === true,
          audioMember: text(row.audio_path) ?? '',
          withoutIdentity: !text(row.meeting_uid) && !text(row.public_id),
        });
        break;
      }
      case 'documents':
        this.documents.push({
          id,
          recordingId: typeof row.recording_id === 'number' ? row.recording_id : null,
          title: text(row.title) ?? '(untitled)',
          fileType: text(row.file_type),
          member: text(row.file_path) ?? '',
        });
        break;
      default:
        break;
    }
  }
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** Dotted paths of every value equal to "REDACTED" inside a settings/config object (dicts only, as Nojoin walks). */
function redactedKeys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) =>
    inner === REDACTED ? [`${prefix}${key}`] : redactedKeys(inner, `${prefix}${key}.`),
  );
}

/** What the first bytes of an audio member are. */
export function audioFormatOf(head: Buffer | undefined, member: string): string {
  if (head && head.length >= 12) {
    const ascii = (start: number, end: number) => head.subarray(start, end).toString('latin1');
    if (ascii(0, 4) === 'OggS') {
      if (ascii(28, 36) === 'OpusHead') return 'Opus (Ogg)';
      if (ascii(29, 35) === 'vorbis') return 'Vorbis (Ogg)';
      return 'Ogg';
    }
    if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'WAV';
    if (ascii(0, 4) === 'fLaC') return 'FLAC';
    if (ascii(4, 8) === 'ftyp') return 'MP4 audio (M4A)';
    if (ascii(0, 3) === 'ID3' || (head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0)) return 'MP3';
    if (head.readUInt32BE(0) === 0x1a45dfa3) return 'WebM/Matroska';
  }
  const extension = /\.([a-z0-9]+)$/i.exec(member)?.[1]?.toLowerCase();
  return extension ? `.${extension} (not in the archive)` : 'unknown';
}


function formatDuration(seconds: number | null): string {
  if (seconds === null) return 'unknown length';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Previews an archive that is already open. */
export async function previewNojoinZip(zip: NojoinZip, input: { fileName: string; sizeBytes: number; signal?: AbortSignal; onProgress?: (bytes: number, total: number) => void }): Promise<NojoinPreviewResult> {
  const collector = new PreviewCollector();
  const scan = await scanNojoinArchive(zip, {
    onRow: (table, _index, row) => collector.visit(table, row),
    ...(input.signal ? { signal: input.signal } : {}),
    ...(input.onProgress ? { onProgress: input.onProgress } : {}),
  });
  const nojoin = buildPreview(zip, scan, collector);
  return { nojoin, report: buildReport(input, scan, nojoin) };
}

/**
 * Previews an archive from wherever it is: read in place when it is a local file, else spooled
 * once into the staging dir (the central directory is at the end and every member's CRC is
 * checked, so the whole archive is read in any case). Never throws for a bad archive.
 */
export async function previewNojoinArchive(
  archive: ArchiveAccess,
  ctx: StepContext,
  location: PreviewLocation,
  limits?: Partial<ZipLimits>,
): Promise<NojoinPreviewResult> {
  ctx.progress({ phase: 'read', bytes: 0, total: archive.size });
  const spooled = 'localPath' in location ? null : await spoolArchive(archive, location.stagingDir, ctx);
  const file = 'localPath' in location ? location.localPath : spooled!.file;
  try {
    const source = await fileByteSource(file);
    let zip: NojoinZip;
    try {
      zip = await NojoinZip.open(source, { label: archive.fileName, ...(limits ? { limits } : {}) });
    } catch (error) {
      if (error instanceof LifeboatError && error.code === 'ARCHIVE_INVALID') return unreadablePreview(archive, source.size, error);
      throw error;
    }
    try {
      ctx.progress({ phase: 'verify', bytes: 0, total: source.size });
      return await previewNojoinZip(zip, { fileName: archive.fileName, sizeBytes: source.size, signal: ctx.signal, onProgress: (bytes, total) => ctx.progress({ bytes, total }) });
    } finally {
      await zip.close();
    }
  } finally {
    await spooled?.remove();
  }
}

function buildPreview(zip: NojoinZip, scan: ArchiveScan, c: PreviewCollector): NojoinPreview {
  const recordings: NojoinRecordingSummary[] = c.recordings.map(({ userId, ...r }) => {
    const member = r.audioMember ? zip.member(r.audioMember) : undefined;
    return {
      ...r,
      owner: userId === null ? null : (c.users.get(userId)?.username ?? `user id ${userId} (not in the archive)`),
      hasAudio: member !== undefined,
      audioBytes: member?.uncompressedSize ?? null,
      audioFormat: audioFormatOf(scan.audioHeads.get(r.audioMember), r.audioMember),
    };
  });
  const documents: NojoinDocumentSummary[] = c.documents.map((d) => {
    const member = d.member ? zip.member(d.member) : undefined;
    return { ...d, hasFile: member !== undefined, bytes: member?.uncompressedSize ?? null };
  });
  const userSettings = [...c.redactedSettings].map(([key, users]) => ({ key, users })).sort((a, b) => a.key.localeCompare(b.key));
  const redacted: NojoinRedactions = { userSettings, config: redactedKeys(scan.config) };
  const preview: NojoinPreview = {
    info: scan.info,
    formatVersion: scan.formatVersion,
    tables: scan.tables,
    users: c.userList,
    recordings,
    documents,
    secrets: c.secrets,
    redacted,
    keysTargetMustHave: userSettings.map((s) => s.key),
    firstBadRow: scan.firstBadRow,
    hasConfig: zip.member(CONFIG_MEMBER) !== undefined,
    warnings: [],
  };
  preview.warnings = restoreWarnings(preview, scan, c);
  return preview;
}

function rowsOf(tables: TableScan[], table: NojoinTable): number {
  return tables.find((t) => t.table === table)?.rows ?? 0;
}

/** The restore's surprises for this archive, in plain words. */
function restoreWarnings(p: NojoinPreview, scan: ArchiveScan, c: PreviewCollector): string[] {
  const warnings: string[] = [];
  if (!scan.ok) warnings.push(`This archive failed verification: ${scan.checks.filter((ch) => !ch.ok).map((ch) => `${ch.name}: ${ch.detail}`).join('; ')}.`);
  if (p.firstBadRow) {
    warnings.push(`Nojoin would abort the whole restore on ${describeRowProblem(p.firstBadRow)} — and report only "Restore failed. Check server logs for details."`);
  }
  const anonymous = p.recordings.filter((r) => r.withoutIdentity).length;
  if (p.formatVersion < 2) {
    warnings.push(
      'Format 1 archive (Nojoin 1.6.0 or older): recordings are matched on restore by their ids, and rows without them only by audio file name against recordings that lack ids too — which no current Nojoin has. ' +
        (anonymous > 0 ? `The ${plural(anonymous, 'recording')} here without ids will each be inserted again as a duplicate.` : 'Restoring it twice, or over the same data, can duplicate recordings.'),
    );
  } else if (anonymous > 0) {
    warnings.push(`${plural(anonymous, 'recording')} have neither meeting_uid nor public_id: a restore cannot match them with existing recordings and inserts them as duplicates.`);
  }
  if (p.users.length > 0) {
    warnings.push(
      `Users are matched by user name and never overwritten (${p.users.map((u) => u.username).join(', ')}): an account that exists on the target keeps its password, role and settings; ` +
        "one that does not is created with the archive's password hash, so its old password works there.",
    );
  }
  const tasks = rowsOf(p.tables, 'user_tasks');
  const templates = rowsOf(p.tables, 'notes_templates');
  if (tasks + templates > 0) {
    warnings.push(`Tasks (${tasks}) and notes templates (${templates}) have no identity in Nojoin: every restore inserts them again, so restoring this archive twice duplicates them.`);
  }
  const withoutAudio = p.recordings.filter((r) => !r.hasAudio).length;
  if (withoutAudio > 0) warnings.push(`${plural(withoutAudio, 'recording')} restore without playable audio (no audio member in the archive).`);
  if (c.inFlight > 0) {
    warnings.push(`${plural(c.inFlight, 'recording was', 'recordings were')} still being processed at export: restored as PROCESSED when the transcript was complete, otherwise as ERROR to be reprocessed.`);
  }
  if (c.ownerless > 0) warnings.push(`${plural(c.ownerless, 'recording has', 'recordings have')} no owner (user_id null): Nojoin skips them and their transcripts (completed with warnings).`);
  const deleted = p.recordings.filter((r) => r.isDeleted).length;
  if (deleted > 0) warnings.push(`${plural(deleted, 'recording is', 'recordings are')} in Nojoin's bin (soft-deleted) and come back there.`);
  if (p.recordings.length > 0) {
    warnings.push(
      'Skip (the default) keeps a recording that already exists on the target and drops everything the archive has for it (transcript, speakers, chat, documents); ' +
        'Overwrite deletes the existing one with all of that first; Clear all empties every table except users and deletes the recordings folder.',
    );
  }
  if (p.hasConfig) {
    warnings.push(
      "config.json is used only by a Clear-all restore, merged over the target's configuration (archive keys win)" +
        (p.redacted.config.length > 0 ? `, including the literal text "REDACTED" for ${p.redacted.config.join(', ')}.` : '.'),
    );
  }
  return warnings;
}

function secretLines(p: NojoinPreview): string[] {
  const s = p.secrets;
  const lines: string[] = [];
  if (s.argon2PasswordHashes + s.otherPasswordHashes > 0) {
    lines.push(`Password hashes of ${plural(s.argon2PasswordHashes + s.otherPasswordHashes, 'user')} (${s.argon2PasswordHashes} argon2id), in plaintext: anyone with the archive can try to crack them.`);
  }
  if (s.calendarClientSecrets > 0) lines.push(`${plural(s.calendarClientSecrets, 'calendar OAuth client secret')} in plaintext (calendar_provider_configs.json).`);
  if (s.calendarAccessTokens + s.calendarRefreshTokens > 0) {
    lines.push(`${plural(s.calendarAccessTokens, 'calendar access token')} and ${plural(s.calendarRefreshTokens, 'refresh token')} in plaintext (calendar_connections.json): they read the users' calendars.`);
  }
  if (s.voiceprints > 0) lines.push(`${plural(s.voiceprints, 'voiceprint')} (speaker embeddings): biometric data.`);
  if (p.redacted.userSettings.length > 0) {
    lines.push(
      `Redacted by Nojoin (not in the archive): ${p.redacted.userSettings.map((r) => `${r.key} (${r.users.join(', ')})`).join(', ')}. ` +
        'A restore sets them to null for users it creates, so the target must already hold these keys, or they must be entered again.',
    );
  }
  if (p.redacted.config.length > 0) lines.push(`Redacted in config.json: ${p.redacted.config.join(', ')}.`);
  return lines;
}

function contentsOf(p: NojoinPreview): ContentsTable {
  const tableRows = p.tables.map((t) => ({ item: t.table, what: t.member, rows: t.rows, detail: formatBytes(t.bytes) }));
  const recordingRows = p.recordings.map((r) => ({
    item: r.item,
    what: r.title,
    rows: null,
    detail: [
      r.createdAt ?? 'no date',
      formatDuration(r.durationSeconds),
      r.hasAudio ? `${r.audioFormat}, ${formatBytes(r.audioBytes ?? 0)} (${r.audioMember})` : `no audio (${r.audioMember} is not in the archive)`,
      r.owner ? `owner ${r.owner}` : 'no owner',
      ...(r.isDeleted ? ['in the bin'] : []),
    ].join(' · '),
  }));
  const documentRows = p.documents.map((d) => ({
    item: null,
    what: `Document: ${d.title}`,
    rows: null,
    detail: `${d.fileType ?? 'unknown type'} · ${d.hasFile ? formatBytes(d.bytes ?? 0) : 'file not in the archive'} · recording ${d.recordingId ?? '?'}`,
  }));
  return {
    title: 'Tables, recordings and documents',
    columns: [
      { key: 'item', label: 'Item' },
      { key: 'what', label: 'What' },
      { key: 'rows', label: 'Rows', numeric: true },
      { key: 'detail', label: 'Detail' },
    ],
    rows: [...tableRows, ...recordingRows, ...documentRows],
  };
}

/** The items a selective restore can choose: owner-level tables, `config`, and each recording. */
export function selectableItems(p: Pick<NojoinPreview, 'tables' | 'recordings' | 'hasConfig'>): string[] {
  const present = new Set(p.tables.map((t) => t.table));
  const tables = NOJOIN_TABLES.filter((t) => present.has(t) && !RECORDING_CHILD_TABLES.includes(t));
  return [...tables, ...(p.hasConfig ? [CONFIG_SELECTION] : []), ...p.recordings.flatMap((r) => (r.item ? [r.item] : []))];
}

function buildReport(input: { fileName: string; sizeBytes: number }, scan: ArchiveScan, p: NojoinPreview): Omit<PreviewReport, 'source'> {
  const info = p.info;
  const withAudio = p.recordings.filter((r) => r.hasAudio).length;
  const w = info?.warnings;
  const hasPages = rowsOf(p.tables, 'document_pages') > 0;
  return {
    app: 'nojoin',
    fileName: input.fileName,
    sizeBytes: input.sizeBytes,
    appVersion: info?.appVersion ?? null,
    createdAt: info?.timestamp ?? null,
    integrity: { ok: scan.ok, checks: scan.checks },
    summary: [
      { label: 'Nojoin version', value: info?.appVersion ?? 'unknown' },
      { label: 'Exported (UTC)', value: info?.timestamp ?? 'unknown' },
      { label: 'Archive format', value: String(p.formatVersion) },
      { label: 'Audio', value: info?.includeAudio === false ? 'not included' : `included${info?.archiveQuality ? `, ${info.archiveQuality}` : ''}` },
      { label: 'Recordings', value: `${p.recordings.length} (${withAudio} with audio)` },
      { label: 'Documents', value: String(p.documents.length) },
      { label: 'Users', value: p.users.map((u) => `${u.username}${u.isSuperuser ? ' (superuser)' : ''}`).join(', ') || 'none' },
      { label: 'Rows', value: String(p.tables.reduce((sum, t) => sum + t.rows, 0)) },
      {
        label: "Nojoin's export warnings",
        value: w
          ? `recordings without audio ${w.recordingsWithoutAudio}, audio failed ${w.recordingsAudioFailed}, documents without files ${w.documentsWithoutFiles}, documents failed ${w.documentsFailed}`
          : 'none recorded (format 1)',
      },
      ...(info?.lifeboatSubset ? [{ label: 'Made by Lifeboat', value: `subset of ${info.lifeboatSubset.selection.join(', ')} at ${info.lifeboatSubset.madeAt}` }] : []),
    ],
    contents: contentsOf(p),
    notIncluded: NOT_INCLUDED,
    secrets: secretLines(p),
    warnings: p.warnings,
    compatibility: [
      { label: 'Archive format', value: `${p.formatVersion} (Nojoin 2.4.0 restores ≤ ${NOJOIN_FORMAT_VERSION})`, ok: p.formatVersion <= NOJOIN_FORMAT_VERSION },
      {
        label: 'Nojoin server needed',
        value: p.formatVersion >= 2 ? `1.7.0 or newer${hasPages ? '; 2.3.0 or newer keeps document pages' : ''}` : 'any (servers ≥ 1.7.0 read format 1 too)',
        ok: null,
        check: 'server-version',
      },
      ...(info?.appVersion && compareAppVersions(info.appVersion, '2.4.0') > 0
        ? [{ label: 'Written by a newer Nojoin', value: `${info.appVersion} > 2.4.0: an older server restores it with a warning in its log`, ok: null }]
        : []),
    ],
    sidecars: scan.infoText === null ? [] : [{ name: BACKUP_INFO_MEMBER, text: scan.infoText }],
    selectable: selectableItems(p),
  };
}

function unreadablePreview(archive: ArchiveAccess, size: number, error: LifeboatError): NojoinPreviewResult {
  const check: IntegrityCheck = unreadableArchiveCheck(error);
  const nojoin: NojoinPreview = {
    info: null, formatVersion: 1, tables: [], users: [], recordings: [], documents: [],
    secrets: { argon2PasswordHashes: 0, otherPasswordHashes: 0, calendarClientSecrets: 0, calendarAccessTokens: 0, calendarRefreshTokens: 0, voiceprints: 0 },
    redacted: { userSettings: [], config: [] }, keysTargetMustHave: [], firstBadRow: null, hasConfig: false,
    warnings: [`This archive cannot be read as a ZIP: ${error.message}`],
  };
  return {
    nojoin,
    report: {
      app: 'nojoin', fileName: archive.fileName, sizeBytes: size, appVersion: null, createdAt: null,
      integrity: { ok: false, checks: [check] },
      summary: [{ label: 'Archive', value: 'unreadable' }],
      contents: { title: 'Tables, recordings and documents', columns: [{ key: 'item', label: 'Item' }], rows: [] },
      notIncluded: NOT_INCLUDED, secrets: [], warnings: nojoin.warnings, compatibility: [], sidecars: [], selectable: [],
    },
  };
}
