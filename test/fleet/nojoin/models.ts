// The fake Nojoin's view of its 20 archived models, transcribed from specs/nojoin.md §1.4 (columns,
// required fields, enums) and §3.3 (RESTORE_FOREIGN_KEYS: ownership and enrichment links).
// Kept apart from Lifeboat's own table list on purpose: the fake is the server, written from the
// spec, and must not share the client's code.

/** A table row as the fake stores it. */
export type Row = Record<string, unknown>;

/** One model: its file name, fields without default, enums, datetime columns and restore links. */
export interface Model {
  table: string;
  required: string[];
  enums: Record<string, (string | null)[]>;
  datetimes: string[];
  /** Column → table; unresolved ⇒ the row is skipped (`unresolved_owner`). */
  owners: Record<string, string>;
  /** Column → table (or '' for a table never archived); unresolved ⇒ null. */
  enrich: Record<string, string>;
}

function parseLinks(spec: string): Record<string, string> {
  return Object.fromEntries(spec.split(' ').filter(Boolean).map((pair) => pair.split(':') as [string, string]));
}

function model(table: string, required: string, links: { own?: string; enrich?: string } = {}, enums: Record<string, string> = {}, datetimes = ''): Model {
  return {
    table,
    required: required.split(' ').filter(Boolean),
    enums: Object.fromEntries(Object.entries(enums).map(([column, values]) => [column, values.split('|').map((v) => (v === 'null' ? null : v))])),
    datetimes: ['created_at', 'updated_at', ...datetimes.split(' ').filter(Boolean)],
    owners: parseLinks(links.own ?? ''),
    enrich: parseLinks(links.enrich ?? ''),
  };
}

/** `runtime.MODELS` in order: the export writes, and the restore reads, the tables in this order. */
export const MODELS: Model[] = [
  model('users', 'username hashed_password', { enrich: 'invitation_id:' }),
  model('notes_templates', 'name sections', { enrich: 'user_id:users' }, { scope: 'install|personal' }),
  model('calendar_provider_configs', 'provider'),
  model('calendar_connections', 'user_id provider provider_account_id', { own: 'user_id:users' }, { sync_status: 'idle|syncing|success|error|reauthorisation_required' }, 'token_expires_at last_sync_started_at last_sync_completed_at last_synced_at'),
  model('calendar_sources', 'connection_id provider_calendar_id name', { own: 'connection_id:calendar_connections' }, {}, 'last_synced_at sync_window_start sync_window_end'),
  model('calendar_events', 'calendar_id provider_event_id title', { own: 'calendar_id:calendar_sources' }, {}, 'starts_at ends_at external_updated_at'),
  model('user_tasks', 'title user_id', { own: 'user_id:users' }, {}, 'due_at completed_at archived_at'),
  model('p_tags', 'name', { own: 'user_id:users', enrich: 'parent_id:p_tags' }),
  model('global_speakers', 'name', { own: 'user_id:users' }),
  model('people_tag_links', 'global_speaker_id tag_id', { own: 'global_speaker_id:global_speakers tag_id:p_tags' }),
  model('tags', 'name', { own: 'user_id:users', enrich: 'parent_id:tags' }),
  model('user_task_tags', 'task_id tag_id', { own: 'task_id:user_tasks tag_id:tags' }),
  model(
    'recordings',
    'name audio_path',
    { own: 'user_id:users', enrich: 'calendar_event_id:calendar_events' },
    {
      status: 'UPLOADING|PAUSED|RECORDED|QUEUED|PROCESSING|PROCESSED|ERROR|CANCELLED',
      client_status: 'RECORDING|PAUSED|UPLOADING|IDLE|null',
      pipeline_generation: 'unified|legacy_backfilled|legacy_reprocess_required|null',
    },
    'processing_started_at processing_completed_at last_activity_at',
  ),
  model('user_task_recordings', 'task_id recording_id', { own: 'task_id:user_tasks recording_id:recordings' }),
  model('recording_speakers', 'recording_id diarization_label', {
    own: 'recording_id:recordings',
    enrich: 'global_speaker_id:global_speakers processing_run_id: last_speaker_correction_event_id: last_diarization_window_result_id:',
  }),
  model('recording_tags', 'recording_id tag_id', { own: 'recording_id:recordings tag_id:tags' }),
  model('transcripts', 'recording_id', { own: 'recording_id:recordings', enrich: 'notes_template_id:notes_templates' }, { transcript_status: 'pending|processing|completed|error' }),
  model('chat_messages', 'recording_id user_id role content', { own: 'recording_id:recordings user_id:users' }, { role: 'user|assistant' }),
  model('documents', 'recording_id title file_path', { own: 'recording_id:recordings' }, { status: 'PENDING|PROCESSING|READY|ERROR', parse_mode: 'VISUAL|STRUCTURAL' }),
  model('document_pages', 'document_id page_number', { own: 'document_id:documents' }, { parse_mode: 'STRUCTURAL|OCR|VISUAL' }),
];

/** The model of `table`. */
export function modelOf(table: string): Model {
  const found = MODELS.find((m) => m.table === table);
  if (!found) throw new Error(`unknown Nojoin table ${table}`);
  return found;
}

/** Tables that cascade from a recording (ON DELETE CASCADE), documents before their pages. */
export const RECORDING_CASCADE = ['transcripts', 'recording_speakers', 'recording_tags', 'chat_messages', 'documents', 'user_task_recordings'];

/** What model validation says of a row, or null: pydantic's view, as far as the spec tells it. */
export function modelError(m: Model, row: Row): string | null {
  for (const field of m.required) {
    if (row[field] === undefined || row[field] === null) return `${m.table}.${field}: Field required`;
  }
  for (const [field, values] of Object.entries(m.enums)) {
    if (field in row && !values.includes(row[field] as string | null)) return `${m.table}.${field}: Input should be ${values.filter(Boolean).map((v) => `'${v}'`).join(', ')}`;
  }
  for (const field of m.datetimes) {
    const value = row[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(Date.parse(value))) {
      return `${m.table}.${field}: Input should be a valid datetime`;
    }
  }
  return null;
}
