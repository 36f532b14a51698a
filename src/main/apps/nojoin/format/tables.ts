/**
 * The 20 table files of a Nojoin archive (specs/nojoin.md §1.4, §1.11, §3.3): restore order, the
 * fields a row must carry for Nojoin's models to accept it, enum values, date columns, and which
 * foreign keys a row cannot live without (ownership) or merely points through (enrichment).
 */

/** Table file names without `.json`, in `runtime.MODELS` order (the order restore uses). */
export const NOJOIN_TABLES = [
  'users',
  'notes_templates',
  'calendar_provider_configs',
  'calendar_connections',
  'calendar_sources',
  'calendar_events',
  'user_tasks',
  'p_tags',
  'global_speakers',
  'people_tag_links',
  'tags',
  'user_task_tags',
  'recordings',
  'user_task_recordings',
  'recording_speakers',
  'recording_tags',
  'transcripts',
  'chat_messages',
  'documents',
  'document_pages',
] as const;

/** One table file name without `.json`. */
export type NojoinTable = (typeof NOJOIN_TABLES)[number];

/** The newest archive format this code understands (`BACKUP_FORMAT_VERSION` at Nojoin 2.4.0). */
export const NOJOIN_FORMAT_VERSION = 2;

/** What restore needs of one table's rows. */
export interface NojoinTableSpec {
  /** First archive format that writes the file (format 1 = Nojoin ≤ 1.6.0 wrote 17 tables). */
  since: 1 | 2;
  /** Fields without a model default: a row lacking one (or holding null) aborts the whole restore. */
  required: readonly string[];
  /** Enum columns and their values; `null` in the list means the column is nullable. */
  enums: Readonly<Record<string, readonly (string | null)[]>>;
  /** Datetime columns besides created_at/updated_at (naive UTC ISO-8601). */
  datetimes: readonly string[];
  /** `YYYY-MM-DD` columns. */
  dates: readonly string[];
  /** FKs without which restore drops the row (`unresolved_owner`). */
  ownership: Readonly<Record<string, NojoinTable>>;
  /** FKs that restore nulls when unresolved; `null` target: a table never archived. */
  enrichment: Readonly<Record<string, NojoinTable | null>>;
}

const RECORDING_STATUSES = ['UPLOADING', 'PAUSED', 'RECORDED', 'QUEUED', 'PROCESSING', 'PROCESSED', 'ERROR', 'CANCELLED'] as const;

const none = {} as const;

/** The specs of all 20 tables. */
export const NOJOIN_TABLE_SPECS: Readonly<Record<NojoinTable, NojoinTableSpec>> = {
  users: { since: 1, required: ['username', 'hashed_password'], enums: none, datetimes: [], dates: [], ownership: none, enrichment: { invitation_id: null } },
  notes_templates: {
    since: 2, required: ['name', 'sections'], enums: { scope: ['install', 'personal'] }, datetimes: [], dates: [], ownership: none, enrichment: { user_id: 'users' },
  },
  calendar_provider_configs: { since: 1, required: ['provider'], enums: none, datetimes: [], dates: [], ownership: none, enrichment: none },
  calendar_connections: {
    since: 1,
    required: ['user_id', 'provider', 'provider_account_id'],
    enums: { sync_status: ['idle', 'syncing', 'success', 'error', 'reauthorisation_required'] },
    datetimes: ['token_expires_at', 'last_sync_started_at', 'last_sync_completed_at', 'last_synced_at'],
    dates: [],
    ownership: { user_id: 'users' },
    enrichment: none,
  },
  calendar_sources: {
    since: 1,
    required: ['connection_id', 'provider_calendar_id', 'name'],
    enums: none,
    datetimes: ['last_synced_at', 'sync_window_start', 'sync_window_end'],
    dates: [],
    ownership: { connection_id: 'calendar_connections' },
    enrichment: none,
  },
  calendar_events: {
    since: 1,
    required: ['calendar_id', 'provider_event_id', 'title'],
    enums: none,
    datetimes: ['starts_at', 'ends_at', 'external_updated_at'],
    dates: ['start_date', 'end_date'],
    ownership: { calendar_id: 'calendar_sources' },
    enrichment: none,
  },
  user_tasks: {
    since: 1, required: ['title', 'user_id'], enums: none, datetimes: ['due_at', 'completed_at', 'archived_at'], dates: [], ownership: { user_id: 'users' }, enrichment: none,
  },
  p_tags: { since: 1, required: ['name'], enums: none, datetimes: [], dates: [], ownership: { user_id: 'users' }, enrichment: { parent_id: 'p_tags' } },
  global_speakers: { since: 1, required: ['name'], enums: none, datetimes: [], dates: [], ownership: { user_id: 'users' }, enrichment: none },
  people_tag_links: {
    since: 1, required: ['global_speaker_id', 'tag_id'], enums: none, datetimes: [], dates: [], ownership: { global_speaker_id: 'global_speakers', tag_id: 'p_tags' }, enrichment: none,
  },
  tags: { since: 1, required: ['name'], enums: none, datetimes: [], dates: [], ownership: { user_id: 'users' }, enrichment: { parent_id: 'tags' } },
  user_task_tags: { since: 1, required: ['task_id', 'tag_id'], enums: none, datetimes: [], dates: [], ownership: { task_id: 'user_tasks', tag_id: 'tags' }, enrichment: none },
  recordings: {
    since: 1,
    required: ['name', 'audio_path'],
    enums: {
      status: RECORDING_STATUSES,
      client_status: ['RECORDING', 'PAUSED', 'UPLOADING', 'IDLE', null],
      pipeline_generation: ['unified', 'legacy_backfilled', 'legacy_reprocess_required', null],
    },
    datetimes: ['processing_started_at', 'processing_completed_at', 'last_activity_at'],
    dates: [],
    ownership: { user_id: 'users' },
    enrichment: { calendar_event_id: 'calendar_events' },
  },
  user_task_recordings: {
    since: 1, required: ['task_id', 'recording_id'], enums: none, datetimes: [], dates: [], ownership: { task_id: 'user_tasks', recording_id: 'recordings' }, enrichment: none,
  },
  recording_speakers: {
    since: 1,
    required: ['recording_id', 'diarization_label'],
    enums: none,
    datetimes: [],
    dates: [],
    ownership: { recording_id: 'recordings' },
    enrichment: {
      global_speaker_id: 'global_speakers',
      merged_into_id: 'recording_speakers',
      processing_run_id: null,
      last_speaker_correction_event_id: null,
      last_diarization_window_result_id: null,
    },
  },
  recording_tags: { since: 1, required: ['recording_id', 'tag_id'], enums: none, datetimes: [], dates: [], ownership: { recording_id: 'recordings', tag_id: 'tags' }, enrichment: none },
  transcripts: {
    since: 1,
    required: ['recording_id'],
    enums: { transcript_status: ['pending', 'processing', 'completed', 'error'] },
    datetimes: [],
    dates: [],
    ownership: { recording_id: 'recordings' },
    enrichment: { notes_template_id: 'notes_templates' },
  },
  chat_messages: {
    since: 1, required: ['recording_id', 'user_id', 'role', 'content'], enums: { role: ['user', 'assistant'] }, datetimes: [], dates: [], ownership: { recording_id: 'recordings', user_id: 'users' }, enrichment: none,
  },
  documents: {
    since: 2,
    required: ['recording_id', 'title', 'file_path'],
    enums: { status: ['PENDING', 'PROCESSING', 'READY', 'ERROR'], parse_mode: ['VISUAL', 'STRUCTURAL'] },
    datetimes: [],
    dates: [],
    ownership: { recording_id: 'recordings' },
    enrichment: none,
  },
  document_pages: {
    since: 2, required: ['document_id', 'page_number'], enums: { parse_mode: ['STRUCTURAL', 'OCR', 'VISUAL'] }, datetimes: [], dates: [], ownership: { document_id: 'documents' }, enrichment: none,
  },
};

/** Whether `name` is one of the 20 table names. */
export function isNojoinTable(name: string): name is NojoinTable {
  return (NOJOIN_TABLES as readonly string[]).includes(name);
}

/** The tables an archive of `formatVersion` may hold (format 1: the 17 tables of Nojoin ≤ 1.6.0). */
export function tablesOfFormat(formatVersion: number): NojoinTable[] {
  return NOJOIN_TABLES.filter((table) => NOJOIN_TABLE_SPECS[table].since <= formatVersion);
}

/** The archive member of a table: `<table>.json` at the top level. */
export function tableMember(table: NojoinTable): string {
  return `${table}.json`;
}

/** The table a member holds, or null when it is not a table file. */
export function tableOfMember(member: string): NojoinTable | null {
  if (!member.endsWith('.json') || member.includes('/')) return null;
  const name = member.slice(0, -'.json'.length);
  return isNojoinTable(name) ? name : null;
}

/** Tables whose rows belong to one recording (directly, or through a document for its pages). */
export const RECORDING_CHILD_TABLES: readonly NojoinTable[] = [
  'user_task_recordings', 'recording_speakers', 'recording_tags', 'transcripts', 'chat_messages', 'documents', 'document_pages',
];
