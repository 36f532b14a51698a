/**
 * The identities Nojoin's restore matches records by (specs/nojoin.md §3.3–§3.5), read from an
 * archive: users by username, recordings by meeting_uid / public_id (else the audio file's stem),
 * tags, people and speakers by name within their owner, calendar provider configs by provider.
 * Read from the archive to restore and from a fresh export of the live server (the only complete
 * view of it Nojoin's API gives), they tell before a restore what each mode adds, keeps, replaces
 * or deletes, and after it whether the records arrived.
 */
import type { PlannedChange } from '../../../shared/apps';
import { readTableRows, RECORDING_CHILD_TABLES, type NojoinTable, type NojoinZip } from './format';
import type { ConflictMode } from './api';

/** Tables matched by (name, owner's username). */
const NAMED_OWNED = ['tags', 'p_tags', 'global_speakers'] as const;
/** Tables every restore inserts again (no match key): repeated restores duplicate them. */
const ALWAYS_INSERTED: readonly NojoinTable[] = ['notes_templates', 'user_tasks'];
/** Link tables de-duplicated by their two mapped ids: what they add depends on the mapping. */
const LINK_TABLES: readonly NojoinTable[] = ['people_tag_links', 'user_task_tags'];
/** Calendar tables merged field by field under their own rules. */
const CALENDAR_TABLES: readonly NojoinTable[] = ['calendar_connections', 'calendar_sources', 'calendar_events'];

/** One recording's match keys and title. */
export interface RecordingIdentity {
  id: number | null;
  name: string;
  keys: string[];
}

/** What an archive holds, as Nojoin's restore would match it. */
export interface ArchiveIdentities {
  counts: Map<NojoinTable, number>;
  usernames: Set<string>;
  recordings: RecordingIdentity[];
  named: Map<(typeof NAMED_OWNED)[number], Set<string>>;
  providers: Set<string>;
  /** Per recording child table, the recording id of each row. */
  childRecordingIds: Map<NojoinTable, (number | null)[]>;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** `_get_recording_match_keys`: meeting_uid and public_id, or only when neither is there the audio stem. */
export function recordingMatchKeys(row: Record<string, unknown>): string[] {
  const keys: string[] = [];
  const meetingUid = text(row.meeting_uid);
  const publicId = text(row.public_id);
  if (meetingUid) keys.push(`meeting_uid:${meetingUid.toLowerCase()}`);
  if (publicId) keys.push(`public_id:${publicId.toLowerCase()}`);
  if (keys.length === 0 && typeof row.audio_path === 'string' && row.audio_path !== '') {
    const parts = row.audio_path.split(/[\\/]/);
    const last = parts.lastIndexOf('recordings');
    const sub = (last >= 0 ? parts.slice(last + 1) : parts.slice(-1)).join('/');
    keys.push(`audio_path:${sub.replace(/\.[^./]*$/, '')}`);
  }
  return keys;
}

/** Reads the identities of every table the restore matches, and every table's row count. */
export async function readIdentities(zip: NojoinZip, formatVersion: number, tables: readonly NojoinTable[], signal?: AbortSignal): Promise<ArchiveIdentities> {
  const counts = new Map<NojoinTable, number>();
  const userById = new Map<number, string>();
  const result: ArchiveIdentities = { counts, usernames: new Set(), recordings: [], named: new Map(NAMED_OWNED.map((t) => [t, new Set<string>()])), providers: new Set(), childRecordingIds: new Map() };
  const owned: { table: (typeof NAMED_OWNED)[number]; name: string; userId: unknown }[] = [];
  for (const table of tables) {
    let count = 0;
    await readTableRows(
      zip,
      table,
      formatVersion,
      (_index, value) => {
        count += 1;
        if (typeof value !== 'object' || value === null) return;
        const row = value as Record<string, unknown>;
        if (table === 'users' && typeof row.username === 'string') {
          result.usernames.add(row.username);
          if (typeof row.id === 'number') userById.set(row.id, row.username);
        } else if (table === 'recordings') {
          result.recordings.push({ id: typeof row.id === 'number' ? row.id : null, name: typeof row.name === 'string' ? row.name : '', keys: recordingMatchKeys(row) });
        } else if ((NAMED_OWNED as readonly string[]).includes(table) && typeof row.name === 'string') {
          owned.push({ table: table as (typeof NAMED_OWNED)[number], name: row.name, userId: row.user_id });
        } else if (table === 'calendar_provider_configs' && typeof row.provider === 'string') {
          result.providers.add(row.provider);
        }
        if (RECORDING_CHILD_TABLES.includes(table)) {
          const list = result.childRecordingIds.get(table) ?? [];
          list.push(typeof row.recording_id === 'number' ? row.recording_id : null);
          result.childRecordingIds.set(table, list);
        }
      },
      signal ? { signal } : {},
    );
    if (zip.member(`${table}.json`)) counts.set(table, count);
  }
  for (const row of owned) {
    const owner = typeof row.userId === 'number' ? userById.get(row.userId) : undefined;
    if (owner !== undefined) result.named.get(row.table)!.add(`${row.name}\u0000${owner}`);
  }
  return result;
}

/** The live recording each archive recording matches (by any shared key), or null. */
export function matchRecordings(archive: RecordingIdentity[], live: RecordingIdentity[]): Map<RecordingIdentity, RecordingIdentity | null> {
  const byKey = new Map<string, RecordingIdentity>();
  for (const recording of live) for (const key of recording.keys) byKey.set(key, recording);
  return new Map(archive.map((r) => [r, r.keys.map((k) => byKey.get(k)).find((m) => m !== undefined) ?? null]));
}

function change(item: string, action: PlannedChange['action'], archive: number | null, live: number | null): PlannedChange {
  return { item, action, archive, live };
}

/**
 * What a restore in `mode` would do to each table, from the archive's identities against the
 * live server's. Where the outcome depends on Nojoin's field-by-field merges or on ids mapped
 * during the restore, the row says "not knowable before restore".
 */
export function plannedChanges(archive: ArchiveIdentities, live: ArchiveIdentities, mode: ConflictMode): PlannedChange[] {
  const changes: PlannedChange[] = [];
  const liveCount = (table: NojoinTable) => live.counts.get(table) ?? 0;
  const existingUsers = [...archive.usernames].filter((u) => live.usernames.has(u)).length;
  if (archive.counts.has('users')) {
    changes.push(change(`users: ${existingUsers} already there (matched by username, never overwritten)`, 'keep', existingUsers, liveCount('users')));
    changes.push(change('users: added (with their archived password hashes)', 'add', archive.usernames.size - existingUsers, null));
  }
  if (mode === 'clear-all') {
    for (const [table, rows] of archive.counts) {
      if (table === 'users') continue;
      changes.push(change(`${table}: every live row deleted, then the archive's inserted`, 'replace', rows, liveCount(table)));
    }
    changes.push(change('recordings folder on the server: deleted and recreated (documents folder kept)', 'remove', null, null));
    return changes;
  }
  const matches = matchRecordings(archive.recordings, live.recordings);
  const matched = new Set([...matches].filter(([, m]) => m !== null).map(([r]) => r.id));
  const withoutKey = archive.recordings.filter((r) => r.keys.length === 0).length;
  if (archive.counts.has('recordings')) {
    const existing = matched.size;
    const added = archive.recordings.length - existing - withoutKey;
    if (mode === 'skip') changes.push(change(`recordings: ${existing} already there, kept with their transcripts (the archive's copies and everything they own are dropped)`, 'keep', existing, liveCount('recordings')));
    else changes.push(change(`recordings: ${existing} already there, deleted with everything they own and inserted from the archive`, 'replace', existing, liveCount('recordings')));
    changes.push(change('recordings: added', 'add', added, null));
    if (withoutKey > 0) changes.push(change('recordings without meeting_uid, public_id or audio: skipped by Nojoin (no_identity)', 'keep', withoutKey, null));
  }
  for (const table of RECORDING_CHILD_TABLES) {
    const ids = archive.childRecordingIds.get(table);
    if (!archive.counts.has(table)) continue;
    if (!ids || table === 'document_pages') {
      changes.push(change(`${table}: follow their recordings (not knowable before restore)`, 'unknown', archive.counts.get(table) ?? null, liveCount(table)));
      continue;
    }
    const added = mode === 'skip' ? ids.filter((id) => !matched.has(id)).length : ids.length;
    changes.push(change(`${table}: inserted for the recordings ${mode === 'skip' ? 'added' : 'inserted'}`, 'add', added, liveCount(table)));
  }
  for (const table of ALWAYS_INSERTED) {
    if (archive.counts.has(table)) changes.push(change(`${table}: always inserted (a repeated restore duplicates them)`, 'add', archive.counts.get(table)!, liveCount(table)));
  }
  for (const table of NAMED_OWNED) {
    if (!archive.counts.has(table)) continue;
    const names = archive.named.get(table)!;
    const existing = [...names].filter((n) => live.named.get(table)!.has(n)).length;
    const what = table === 'global_speakers' ? (mode === 'skip' ? 'empty fields filled in' : 'CRM fields and colour set from the archive') : 'mapped onto them';
    changes.push(change(`${table}: ${existing} already there by name and owner, ${what}`, mode === 'overwrite' && table === 'global_speakers' ? 'replace' : 'keep', existing, liveCount(table)));
    changes.push(change(`${table}: added`, 'add', names.size - existing, null));
  }
  if (archive.counts.has('calendar_provider_configs')) {
    const existing = [...archive.providers].filter((p) => live.providers.has(p)).length;
    changes.push(change(`calendar_provider_configs: ${existing} provider(s) already configured, ${mode === 'skip' ? 'only empty client id and secret filled in' : 'client id, secret and tenant replaced'}`, mode === 'skip' ? 'keep' : 'replace', existing, liveCount('calendar_provider_configs')));
    changes.push(change('calendar_provider_configs: added', 'add', archive.providers.size - existing, null));
  }
  for (const table of [...CALENDAR_TABLES, ...LINK_TABLES]) {
    if (archive.counts.has(table)) changes.push(change(`${table}: merged by their own keys (not knowable before restore)`, 'unknown', archive.counts.get(table)!, liveCount(table)));
  }
  return changes;
}
