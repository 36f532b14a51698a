// The fake Nojoin's data: the 20 archived tables as rows with the server's own ids, the files
// under data/recordings and data/documents, and config.json. Its restore follows
// specs/nojoin.md §3 — validation first, one transaction (a deep copy swapped in on success),
// identity rules per table (§3.4–§3.6), Skip / Overwrite / Clear all (§3.5), skipped-row counts —
// and its export writes real ZIPs with archiver in Nojoin's layout (§1), re-encoding audio to
// Opus with the real ffmpeg in "compressed" quality (§4).
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { ZipArchive } from 'archiver';
import yauzl from 'yauzl';
import { compressToOpus } from './audio';
import { MODELS, RECORDING_CASCADE, modelError, modelOf, type Row } from './models';

/** The conflict mode of a restore, as the two query booleans give it. */
export interface RestoreMode {
  clearExisting: boolean;
  overwriteExisting: boolean;
}

/** What a restore that ran to its end reports (`warnings.skipped`). */
export type Skipped = Record<string, Record<string, number>>;

/** Why a restore refused the archive; the API shows only the generic message, the log this. */
export class RestoreRefused extends Error {}

/** Export options, as the query gives them. */
export interface ExportRequest {
  includeAudio: boolean;
  archiveQuality: 'compressed' | 'original';
}

/** The four counters Nojoin writes into backup_info.json and the job result. */
export type ExportWarnings = Record<'recordings_without_audio' | 'recordings_audio_failed' | 'documents_without_files' | 'documents_failed', number>;

interface State {
  tables: Map<string, Row[]>;
  nextId: Map<string, number>;
  files: Map<string, Buffer>;
  config: Record<string, unknown> | null;
}

const ARCHIVABLE_AUDIO = new Set(['.wav', '.mp3', '.m4a', '.ogg', '.flac', '.opus']);
const IN_FLIGHT = new Set(['UPLOADING', 'QUEUED', 'PROCESSING', 'PAUSED']);
const STILL_PROCESSING =
  'This recording was still being processed when the backup was taken, so it was restored without a completed transcript. Reprocess it to finish.';
/** The Nojoin version the fake is (docs/VERSION at the spec's commit). */
export const APP_VERSION = '2.4.0';
/** BACKUP_FORMAT_VERSION of that version. */
export const FORMAT_VERSION = 2;

function extensionOf(file: string): string {
  const match = /(\.[^./]+)$/.exec(file);
  return match ? match[1]! : '';
}

/** The part of a path after its last component named `folder` (case-insensitive, `\` as `/`), else the file name. */
function subpathAfter(file: string, folder: string): string {
  const parts = file.replace(/\\/g, '/').split('/');
  const at = parts.map((p) => p.toLowerCase()).lastIndexOf(folder);
  return at >= 0 ? parts.slice(at + 1).join('/') : parts[parts.length - 1]!;
}

function stripExtension(file: string): string {
  const extension = extensionOf(file);
  return extension ? file.slice(0, -extension.length) : file;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** `_get_recording_match_keys`: meeting_uid and public_id, the audio stem only when both are absent. */
function recordingKeys(row: Row): string[] {
  const keys: string[] = [];
  const uid = text(row.meeting_uid);
  const pid = text(row.public_id);
  if (uid) keys.push(`meeting_uid:${uid.toLowerCase()}`);
  if (pid) keys.push(`public_id:${pid.toLowerCase()}`);
  if (keys.length === 0 && text(row.audio_path)) keys.push(`audio_path:${stripExtension(subpathAfter(String(row.audio_path), 'recordings')).toLowerCase()}`);
  return keys;
}

/** `_redact_sensitive_data`: truthy values of *_key, *_token, *password* keys in dicts (not lists). */
function redact(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value as Row).map(([key, inner]) => {
      if ((key.endsWith('_key') || key.endsWith('_token') || key.includes('password')) && Boolean(inner)) return [key, 'REDACTED'];
      return [key, redact(inner)];
    }),
  );
}

/** `_restore_redacted_sensitive_data`: "REDACTED" anywhere (dicts and lists) becomes null. */
function unredact(value: unknown): unknown {
  if (value === 'REDACTED') return null;
  if (Array.isArray(value)) return value.map(unredact);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value as Row).map(([k, v]) => [k, unredact(v)]));
  return value;
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0);
}

function newer(archive: unknown, target: unknown): boolean {
  if (typeof archive !== 'string') return false;
  return typeof target !== 'string' || Date.parse(archive) >= Date.parse(target);
}

/** Reads every member of a ZIP as Python's zipfile would hand them to the restore. */
async function readArchive(zip: Buffer): Promise<Map<string, Buffer>> {
  let file: yauzl.ZipFile;
  try {
    // strictFileNames false and validation off: names are checked below, the way Nojoin's staging check does.
    file = await yauzl.fromBufferPromise(zip, { lazyEntries: true, decodeStrings: false });
  } catch (error) {
    throw new RestoreRefused(`File is not a zip file (${(error as Error).message})`);
  }
  const members = new Map<string, Buffer>();
  for await (const entry of file.eachEntry()) {
    const name = (entry.fileName as unknown as Buffer).toString('utf8');
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of await file.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
    } catch (error) {
      throw new RestoreRefused(`This backup is damaged: ${name} is not readable (${(error as Error).message})`);
    }
    members.set(name, Buffer.concat(chunks));
  }
  return members;
}

/** Nojoin's zip-slip test: a member must stay inside restore_staging/<job_id>/ once joined to it. */
function escapesStaging(name: string): boolean {
  const normalised = name.replace(/\\/g, '/');
  return normalised.startsWith('/') || /^[A-Za-z]:/.test(normalised) || normalised.split('/').includes('..');
}

/** The fake's whole database and data directory. */
export class NojoinStore {
  private state: State = { tables: new Map(MODELS.map((m) => [m.table, []])), nextId: new Map(), files: new Map(), config: null };
  /** What the worker logged (the real reasons behind "Check server logs for details"). */
  readonly log: string[] = [];

  /** Live rows of a table (for assertions; do not change them). */
  rows(table: string): Row[] {
    return this.state.tables.get(table) ?? [];
  }

  /** A file of the data directory (`data/recordings/<stem>.opus`…). */
  file(path: string): Buffer | undefined {
    return this.state.files.get(path);
  }

  /** Every path under the data directory. */
  filePaths(): string[] {
    return [...this.state.files.keys()].sort();
  }

  get config(): Record<string, unknown> | null {
    return this.state.config;
  }

  /** Inserts a row directly (test setup), with a new id; returns it. */
  insert(table: string, row: Row): Row {
    return this.insertInto(this.state, table, row);
  }

  /** Writes a file of the data directory directly (test setup). */
  putFile(path: string, bytes: Buffer): void {
    this.state.files.set(path, bytes);
  }

  private insertInto(state: State, table: string, row: Row): Row {
    const id = state.nextId.get(table) ?? 1;
    state.nextId.set(table, id + 1);
    const stored = { ...row, id, created_at: row.created_at ?? '2026-09-01T00:00:00', updated_at: row.updated_at ?? '2026-09-01T00:00:00' };
    state.tables.get(table)!.push(stored);
    return stored;
  }

  /** Deletes one recording with everything that cascades from it (test setup). */
  removeRecording(id: number): void {
    this.deleteRecordings(this.state, new Set([id]));
  }

  /** Deletes recordings with their cascade (transcripts, speakers, links, chat, documents and pages). */
  private deleteRecordings(state: State, ids: Set<number>): void {
    state.tables.set('recordings', state.tables.get('recordings')!.filter((r) => !ids.has(r.id as number)));
    const documents = new Set(state.tables.get('documents')!.filter((d) => ids.has(d.recording_id as number)).map((d) => d.id as number));
    for (const table of RECORDING_CASCADE) state.tables.set(table, state.tables.get(table)!.filter((r) => !ids.has(r.recording_id as number)));
    state.tables.set('document_pages', state.tables.get('document_pages')!.filter((p) => !documents.has(p.document_id as number)));
  }

  /**
   * Restores an archive (restore/runner.py): throws RestoreRefused for anything that aborts the
   * whole restore (nothing changed then), else returns the skipped-row counts.
   */
  async restore(zip: Buffer, mode: RestoreMode): Promise<Skipped> {
    const members = await readArchive(zip);
    // 1. Validate.
    const info = members.get('backup_info.json');
    let formatVersion = 1;
    if (info) {
      const parsed = JSON.parse(info.toString('utf8')) as Row;
      if (Number.isInteger(parsed.format_version)) formatVersion = parsed.format_version as number;
    }
    if (formatVersion > FORMAT_VERSION) {
      throw new RestoreRefused(`This backup uses archive format version ${formatVersion}, but this installation only understands up to version ${FORMAT_VERSION}. Upgrade Nojoin on this server before restoring it.`);
    }
    const parsed = new Map<string, unknown>();
    for (const [name, bytes] of members) {
      if (!name.endsWith('.json')) continue;
      try {
        parsed.set(name, JSON.parse(bytes.toString('utf8')));
      } catch {
        throw new RestoreRefused(`This backup is damaged: ${name} is not readable`);
      }
    }
    // 2. Extract recordings/ and documents/ into staging (zip slip refuses the archive).
    const staged = new Map<string, Buffer>();
    for (const [name, bytes] of members) {
      if (!name.startsWith('recordings/') && !name.startsWith('documents/')) continue;
      if (escapesStaging(name)) throw new RestoreRefused(`Unsafe path in backup archive: ${name}`);
      staged.set(name, bytes);
    }
    // 3. One transaction: work on a copy, swap it in at the end.
    // Files are copied by reference: structuredClone would turn each Buffer into a plain Uint8Array.
    const { files, ...rest } = this.state;
    const next: State = { ...structuredClone(rest), files: new Map(files) };
    const skipped: Skipped = {};
    const skip = (table: string, reason: string) => {
      skipped[table] ??= {};
      skipped[table][reason] = (skipped[table][reason] ?? 0) + 1;
    };
    if (mode.clearExisting) {
      for (const m of MODELS) if (m.table !== 'users') next.tables.set(m.table, []);
    }
    const archiveRecordings = (parsed.get('recordings.json') as Row[] | undefined) ?? [];
    if (mode.overwriteExisting && !mode.clearExisting) {
      const keys = new Set(archiveRecordings.flatMap(recordingKeys));
      const doomed = new Set(next.tables.get('recordings')!.filter((r) => recordingKeys(r).some((k) => keys.has(k))).map((r) => r.id as number));
      this.deleteRecordings(next, doomed);
    }
    const restore = new RestoreRun(this, next, mode, skip);
    for (const m of MODELS) {
      const rows = parsed.get(`${m.table}.json`);
      if (rows === undefined) continue;
      if (!Array.isArray(rows)) throw new RestoreRefused(`${m.table}.json is not a list of records`);
      restore.table(m.table, rows as Row[]);
    }
    restore.finish();
    // 4. After commit: (Clear) recreate the recordings folder, move staged files, merge config.
    if (mode.clearExisting) for (const path of [...next.files.keys()]) if (path.startsWith('data/recordings/')) next.files.delete(path);
    for (const { member, target, recordingId } of restore.moves) {
      const bytes = staged.get(member);
      if (!bytes) continue;
      next.files.set(target, bytes);
      if (recordingId !== null) {
        const recording = next.tables.get('recordings')!.find((r) => r.id === recordingId);
        if (recording) recording.file_size_bytes = bytes.length;
      }
    }
    for (const { member, target } of restore.documentMoves) {
      const bytes = staged.get(member);
      if (bytes) next.files.set(target, bytes);
    }
    const config = parsed.get('config.json');
    if (mode.clearExisting && typeof config === 'object' && config !== null) {
      const merged = { ...(next.config ?? {}), ...(config as Row) };
      if ('install_notes_template_id' in merged) merged.install_notes_template_id = restore.mapped('notes_templates', merged.install_notes_template_id);
      next.config = merged;
    }
    this.state = next;
    return skipped;
  }

  /** Called by RestoreRun: every archived row passes here before it is inserted. */
  validate(table: string, row: Row): void {
    const error = modelError(modelOf(table), row);
    // Outside the per-row savepoint: one bad row aborts the whole restore (§3.2).
    if (error) throw new RestoreRefused(`1 validation error for ${table}: ${error}`);
  }

  /** Allocates the next id of a table in `state`. */
  nextIdIn(state: State, table: string): number {
    const id = state.nextId.get(table) ?? 1;
    state.nextId.set(table, id + 1);
    return id;
  }

  /** An export (`_create_backup_sync`): a ZIP in Nojoin's member order, with its warning counters. */
  async export(request: ExportRequest, onStage: (stage: string, current: number | null, total: number | null) => void): Promise<{ zip: Buffer; warnings: ExportWarnings }> {
    const state = this.state;
    onStage('Starting backup', null, null);
    const warnings: ExportWarnings = { recordings_without_audio: 0, recordings_audio_failed: 0, documents_without_files: 0, documents_failed: 0 };
    const tables = new Map<string, Row[]>();
    MODELS.forEach((m, i) => {
      onStage('Reading database', i + 1, MODELS.length);
      tables.set(m.table, structuredClone(state.tables.get(m.table)!));
    });
    onStage('Writing records', null, null);
    const audio: { member: string; bytes: Buffer }[] = [];
    const recordings = tables.get('recordings')!;
    for (const [i, recording] of recordings.entries()) {
      onStage(request.archiveQuality === 'compressed' ? 'Compressing audio' : 'Copying audio', i + 1, recordings.length);
      const path = String(recording.audio_path ?? '');
      const subpath = subpathAfter(path, 'recordings');
      const extension = extensionOf(subpath).toLowerCase();
      const source = state.files.get(path);
      recording.proxy_path = null;
      recording.file_size_bytes = null;
      if (!request.includeAudio || !source || !ARCHIVABLE_AUDIO.has(extension)) {
        recording.audio_path = `recordings/${stripExtension(subpath)}${extension}`;
        if (request.includeAudio) warnings.recordings_without_audio++;
        continue;
      }
      const reencode = request.archiveQuality === 'compressed' && extension !== '.opus';
      const member = `recordings/${stripExtension(subpath)}${reencode ? '.opus' : extension}`;
      recording.audio_path = member;
      if (audio.some((a) => a.member === member)) continue;
      try {
        audio.push({ member, bytes: reencode ? await compressToOpus(source, extension) : source });
      } catch {
        warnings.recordings_audio_failed++;
      }
    }
    const documentFiles: { member: string; bytes: Buffer }[] = [];
    const documents = tables.get('documents')!;
    for (const [i, document] of documents.entries()) {
      onStage('Adding documents', i + 1, documents.length);
      const path = String(document.file_path ?? '');
      const member = `documents/${subpathAfter(path, 'documents')}`;
      const bytes = state.files.get(path);
      document.file_path = member;
      if (bytes) documentFiles.push({ member, bytes });
      else warnings.documents_without_files++;
    }
    for (const user of tables.get('users')!) user.settings = redact(user.settings);
    // ORDER BY parent_id NULLS FIRST, id
    const parentKey = (row: Row) => (typeof row.parent_id === 'number' ? row.parent_id : -1);
    for (const table of ['tags', 'p_tags']) tables.set(table, [...tables.get(table)!].sort((a, b) => parentKey(a) - parentKey(b) || (a.id as number) - (b.id as number)));
    onStage('Finalising archive', null, null);
    const info = {
      format_version: FORMAT_VERSION,
      version: APP_VERSION,
      timestamp: new Date().toISOString().replace('Z', '+00:00'),
      include_audio: request.includeAudio,
      archive_quality: request.archiveQuality,
      contains_restorable_calendar_credentials: true,
      warnings,
    };
    const entries: { name: string; bytes: Buffer }[] = [
      ...MODELS.map((m) => ({ name: `${m.table}.json`, bytes: Buffer.from(JSON.stringify(tables.get(m.table), null, 2)) })),
      ...audio.map((a) => ({ name: a.member, bytes: a.bytes })),
      ...documentFiles.map((d) => ({ name: d.member, bytes: d.bytes })),
      ...(state.config ? [{ name: 'config.json', bytes: Buffer.from(JSON.stringify(redact(state.config), null, 2)) }] : []),
      { name: 'backup_info.json', bytes: Buffer.from(JSON.stringify(info, null, 2)) },
    ];
    return { zip: await zipOf(entries), warnings };
  }
}

/** Every member DEFLATE-compressed, in the given order (Python's ZipFile(..., ZIP_DEFLATED)). */
async function zipOf(entries: { name: string; bytes: Buffer }[]): Promise<Buffer> {
  const archive = new ZipArchive({ zlib: { level: 6 } });
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    out.on('end', resolve);
    archive.on('error', reject);
  });
  archive.pipe(out);
  for (const entry of entries) archive.append(entry.bytes, { name: entry.name });
  // archiver reports a bad entry as an 'error' event and its finalize() never settles then.
  await Promise.all([archive.finalize(), done]);
  return Buffer.concat(chunks);
}

/** One restore's table loop: id maps, identity and conflict resolvers, skip counts (§3.3–§3.7). */
class RestoreRun {
  private readonly ids = new Map<string, Map<number, number>>();
  /** Archive ids of recordings kept under Skip: their archive children are dropped. */
  private readonly keptRecordings = new Set<number>();
  private readonly inserted = new Set<number>();
  private readonly targetIndex = new Map<string, number>();
  private readonly mergedInto: { speaker: number; archiveTarget: number }[] = [];
  readonly moves: { member: string; target: string; recordingId: number | null }[] = [];
  readonly documentMoves: { member: string; target: string }[] = [];

  constructor(
    private readonly store: NojoinStore,
    private readonly state: State,
    private readonly mode: RestoreMode,
    private readonly skip: (table: string, reason: string) => void,
  ) {
    for (const recording of state.tables.get('recordings')!) for (const key of recordingKeys(recording)) this.targetIndex.set(key, recording.id as number);
  }

  private rows(table: string): Row[] {
    return this.state.tables.get(table)!;
  }

  private map(table: string, archiveId: unknown, targetId: number): void {
    if (typeof archiveId !== 'number') return;
    if (!this.ids.has(table)) this.ids.set(table, new Map());
    this.ids.get(table)!.set(archiveId, targetId);
  }

  /** The target id an archive id of `table` was restored as (or matched to); null when none. */
  mapped(table: string, archiveId: unknown): number | null {
    return typeof archiveId === 'number' ? (this.ids.get(table)?.get(archiveId) ?? null) : null;
  }

  private insertRow(table: string, row: Row): Row {
    const { id: _archiveId, ...fields } = row;
    this.store.validate(table, fields);
    const stored = { ...fields, id: this.store.nextIdIn(this.state, table) };
    this.rows(table).push(stored);
    return stored;
  }

  /** Restores one table's rows in file order (tags and p_tags parents first). */
  table(table: string, archiveRows: Row[]): void {
    const model = modelOf(table);
    const rows = table === 'tags' || table === 'p_tags' ? parentsFirst(archiveRows) : archiveRows;
    for (const original of rows) {
      if (typeof original !== 'object' || original === null) throw new RestoreRefused(`${table}: Input should be a valid dictionary`);
      if (typeof original.recording_id === 'number' && this.keptRecordings.has(original.recording_id)) continue;
      const row: Row = { ...original };
      let unresolved = false;
      for (const [column, target] of Object.entries(model.owners)) {
        const id = this.mapped(target, row[column]);
        if (id === null) unresolved = true;
        else row[column] = id;
      }
      if (unresolved) {
        this.skip(table, 'unresolved_owner');
        continue;
      }
      for (const [column, target] of Object.entries(model.enrich)) {
        if (column === 'merged_into_id') continue;
        if (row[column] !== undefined && row[column] !== null) row[column] = target === '' ? null : this.mapped(target, row[column]);
      }
      if (table === 'recording_speakers' && typeof original.merged_into_id === 'number') row.merged_into_id = null;
      this.restoreRow(table, original, row);
    }
  }

  private restoreRow(table: string, original: Row, row: Row): void {
    switch (table) {
      case 'users':
        return this.user(original, row);
      case 'recordings':
        return this.recording(original, row);
      case 'tags':
      case 'p_tags':
        return this.byMatch(table, original, row, (t) => t.name === row.name && t.user_id === row.user_id, () => undefined);
      case 'global_speakers':
        return this.byMatch(table, original, row, (t) => t.name === row.name && t.user_id === row.user_id, (t) => this.mergePerson(t, row));
      case 'people_tag_links':
      case 'user_task_tags':
      case 'user_task_recordings':
      case 'recording_tags': {
        const [a, b] = Object.keys(modelOf(table).owners) as [string, string];
        return this.byMatch(table, original, row, (t) => t[a] === row[a] && t[b] === row[b], () => undefined);
      }
      case 'transcripts':
        return this.byMatch(table, original, row, (t) => t.recording_id === row.recording_id, () => undefined);
      case 'calendar_provider_configs':
        return this.byMatch(table, original, row, (t) => t.provider === row.provider, (t) => this.mergeProvider(t, row));
      case 'calendar_connections':
        return this.byMatch(table, original, row, (t) => t.user_id === row.user_id && t.provider === row.provider && t.provider_account_id === row.provider_account_id, (t) => this.mergeFields(t, row, ['email', 'display_name', 'access_token', 'refresh_token', 'token_expires_at', 'granted_scopes'], newer(row.last_synced_at, t.last_synced_at) ? ['sync_status', 'sync_error', 'last_sync_started_at', 'last_sync_completed_at', 'last_synced_at'] : []));
      case 'calendar_sources':
        return this.byMatch(table, original, row, (t) => t.connection_id === row.connection_id && t.provider_calendar_id === row.provider_calendar_id, (t) => this.mergeFields(t, row, ['user_colour'], ['name', 'description', 'time_zone', 'colour', ...(newer(row.last_synced_at, t.last_synced_at) ? ['sync_cursor', 'last_synced_at', 'sync_window_start', 'sync_window_end'] : [])]));
      case 'calendar_events':
        return this.byMatch(table, original, row, (t) => t.calendar_id === row.calendar_id && t.provider_event_id === row.provider_event_id, (t) => {
          const core = ['title', 'status', 'is_all_day', 'starts_at', 'ends_at', 'start_date', 'end_date', 'location_text', 'meeting_url', 'source_url', 'external_updated_at'];
          if (this.mode.overwriteExisting || newer(row.external_updated_at, t.external_updated_at)) this.mergeFields(t, row, [], core, true);
          else this.mergeFields(t, row, ['location_text', 'meeting_url', 'source_url'], []);
        });
      case 'documents':
        return this.document(original, row);
      case 'recording_speakers': {
        const stored = this.insertRow(table, row);
        this.map(table, original.id, stored.id as number);
        if (typeof original.merged_into_id === 'number') this.mergedInto.push({ speaker: stored.id as number, archiveTarget: original.merged_into_id });
        return;
      }
      default: {
        // notes_templates, user_tasks, chat_messages, document_pages: no identity, always inserted.
        const stored = this.insertRow(table, row);
        this.map(table, original.id, stored.id as number);
      }
    }
  }

  /** A row that may match an existing one: mapped (and merged) when it does, inserted otherwise. */
  private byMatch(table: string, original: Row, row: Row, matches: (target: Row) => boolean, merge: (target: Row) => void): void {
    const existing = this.rows(table).find(matches);
    if (existing) {
      merge(existing);
      this.map(table, original.id, existing.id as number);
      return;
    }
    const stored = this.insertRow(table, row);
    this.map(table, original.id, stored.id as number);
  }

  /** Skip fills `fill` when empty; Overwrite (or `always`) replaces `replace` and `fill`. */
  private mergeFields(target: Row, row: Row, fill: string[], replace: string[], always = false): void {
    const overwrite = this.mode.overwriteExisting || always;
    for (const field of fill) if (field in row && (overwrite || isEmpty(target[field]))) target[field] = row[field];
    for (const field of replace) if (field in row && (overwrite || !isEmpty(row[field]))) target[field] = row[field];
  }

  private mergeProvider(target: Row, row: Row): void {
    const fields = ['client_id', 'client_secret', 'tenant_id'];
    for (const field of fields) {
      const value = isEmpty(row[field]) ? null : row[field];
      if (this.mode.overwriteExisting || isEmpty(target[field])) target[field] = value;
    }
    if (this.mode.overwriteExisting && 'enabled' in row) target.enabled = row.enabled;
    if (target.provider === 'google') target.tenant_id = null;
  }

  private mergePerson(target: Row, row: Row): void {
    const crm = ['title', 'company', 'email', 'phone_number', 'notes', 'color'];
    if (this.mode.overwriteExisting) {
      for (const field of crm) target[field] = row[field] ?? null;
      if (Array.isArray(row.embedding) && row.embedding.length > 0) target.embedding = row.embedding;
      return;
    }
    for (const field of crm) if (isEmpty(target[field]) && !isEmpty(row[field])) target[field] = row[field];
    if (isEmpty(target.embedding) && !isEmpty(row.embedding)) target.embedding = row.embedding;
  }

  /** Users match by username and are never overwritten (§3.6). */
  private user(original: Row, row: Row): void {
    const existing = this.rows('users').find((u) => u.username === row.username);
    if (existing) {
      this.map('users', original.id, existing.id as number);
      return;
    }
    const stored = this.insertRow('users', { ...row, settings: unredact(row.settings), invitation_id: null });
    this.map('users', original.id, stored.id as number);
  }

  private recording(original: Row, row: Row): void {
    const keys = recordingKeys(row);
    if (keys.length === 0) {
      this.skip('recordings', 'no_identity');
      return;
    }
    const match = keys.map((k) => this.targetIndex.get(k)).find((id) => id !== undefined);
    if (match !== undefined) {
      this.map('recordings', original.id, match);
      // A row matched in this run was inserted by it: a duplicate inside the archive, nothing more.
      if (!this.inserted.has(match) && typeof original.id === 'number') this.keptRecordings.add(original.id);
      return;
    }
    const recordings = this.rows('recordings');
    const uid = text(row.meeting_uid)?.toLowerCase() ?? randomUUID();
    let pid = text(row.public_id)?.toLowerCase() ?? randomUUID();
    if (recordings.some((r) => r.public_id === pid)) pid = randomUUID();
    const subpath = subpathAfter(String(row.audio_path), 'recordings');
    let target = `data/recordings/${subpath}`;
    if (recordings.some((r) => r.audio_path === target)) target = `data/recordings/${stripExtension(subpath)}__${uid}${extensionOf(subpath)}`;
    const status = String(row.status ?? 'UPLOADING');
    const stored = this.insertRow('recordings', {
      ...row,
      meeting_uid: uid,
      public_id: pid,
      audio_path: target,
      proxy_path: null,
      celery_task_id: null,
      client_status: null,
      processing_step: null,
      processing_progress: 0,
      upload_progress: 0,
      pipeline_generation: null,
      file_size_bytes: null,
      status,
    });
    this.inserted.add(stored.id as number);
    for (const key of recordingKeys(stored)) this.targetIndex.set(key, stored.id as number);
    this.map('recordings', original.id, stored.id as number);
    this.moves.push({ member: String(original.audio_path), target, recordingId: stored.id as number });
  }

  private document(original: Row, row: Row): void {
    const subpath = subpathAfter(String(row.file_path), 'documents');
    let target = `/app/data/documents/${subpath}`;
    if (this.rows('documents').some((d) => d.file_path === target)) target = `/app/data/documents/${stripExtension(subpath)}__${randomUUID()}${extensionOf(subpath)}`;
    const stored = this.insertRow('documents', { ...row, file_path: target });
    this.map('documents', original.id, stored.id as number);
    this.documentMoves.push({ member: String(original.file_path), target });
  }

  /** Second passes: merged speakers, users' template ids, in-flight recordings (§3.1 step 3, §3.7). */
  finish(): void {
    for (const { speaker, archiveTarget } of this.mergedInto) {
      const row = this.rows('recording_speakers').find((s) => s.id === speaker);
      if (row) row.merged_into_id = this.mapped('recording_speakers', archiveTarget);
    }
    for (const user of this.rows('users')) {
      const settings = user.settings as Row | null | undefined;
      if (settings && 'notes_template_id' in settings) {
        const mapped = this.mapped('notes_templates', settings.notes_template_id);
        if (mapped === null) delete settings.notes_template_id;
        else settings.notes_template_id = mapped;
      }
    }
    for (const recording of this.rows('recordings')) {
      if (!this.inserted.has(recording.id as number) || !IN_FLIGHT.has(String(recording.status))) continue;
      const transcript = this.rows('transcripts').find((t) => t.recording_id === recording.id);
      if (transcript?.transcript_status === 'completed') {
        recording.status = 'PROCESSED';
      } else {
        recording.status = 'ERROR';
        if (transcript) transcript.error_message = STILL_PROCESSING;
      }
    }
  }
}

/** Tags/p_tags in an order where every parent comes before its children. */
function parentsFirst(rows: Row[]): Row[] {
  const ordered: Row[] = [];
  const placed = new Set<unknown>();
  let remaining = [...rows];
  while (remaining.length > 0) {
    const ready = remaining.filter((r) => r.parent_id === null || r.parent_id === undefined || placed.has(r.parent_id) || !rows.some((p) => p.id === r.parent_id));
    if (ready.length === 0) return [...ordered, ...remaining];
    for (const row of ready) placed.add(row.id);
    ordered.push(...ready);
    remaining = remaining.filter((r) => !ready.includes(r));
  }
  return ordered;
}
