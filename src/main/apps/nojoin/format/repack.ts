/**
 * Writes a subset of a Nojoin archive as a new archive Nojoin's restore accepts: chosen tables
 * and/or recordings, with every link kept consistent and audio only for the chosen recordings.
 *
 * What a selection brings (mirroring restore's own rules, specs/nojoin.md §3.3):
 * - a table name: all its rows; `recording:<id>`: that recording with everything it owns
 *   (transcript, speakers, tag and task links, chat, documents and their pages) and its audio;
 *   `recordings`: every recording so; `config`: config.json (used only by Clear-all restores);
 * - rows a kept row cannot restore without (its *ownership* links: the user of a recording, the
 *   connection of a calendar, the tag of a tag link…) come along;
 * - link rows between two kept rows (people ↔ tags, tasks ↔ tags) come along;
 * - an *enrichment* link to a row left out (a recording's calendar event, a speaker's person) is
 *   set to null — what restore would do with a link it cannot resolve;
 * - recording-owned rows never pull their recording in: they follow the recording selection.
 * The archive is read twice (an index of ids and links, then the copy), one row at a time.
 */
import { once } from 'node:events';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ZipArchive } from 'archiver';
import { LifeboatError } from '../../../../shared/errors';
import { LIFEBOAT_SUBSET_KEY } from './backup-info';
import type { RowProblem } from './rows';
import { BACKUP_INFO_MEMBER, CONFIG_MEMBER, readManifest, readTableRows, rowFailure } from './scan';
import { NOJOIN_TABLE_SPECS, NOJOIN_TABLES, RECORDING_CHILD_TABLES, isNojoinTable, tableMember, type NojoinTable } from './tables';
import type { NojoinZip } from './zip';

/** The `config` selection item (config.json). */
export const CONFIG_SELECTION = 'config';
const RECORDING_ITEM = /^recording:(\d+)$/;
/** Link tables kept automatically when both ends are kept (the recording ones follow their recording). */
const JOIN_TABLES: readonly NojoinTable[] = ['people_tag_links', 'user_task_tags'];
/** Owners that never come along with their children: choosing them is the selection itself. */
const GATING_OWNERS: ReadonlySet<NojoinTable> = new Set(['recordings', 'documents']);

/** What a repack wrote. */
export interface RepackResult {
  /** Rows written per table file (tables absent from the source are absent here too). */
  rows: Partial<Record<NojoinTable, number>>;
  recordingIds: number[];
  audioMembers: string[];
  documentMembers: string[];
  /** Links set to null because their target was left out, per `table.column`. */
  nulledLinks: Record<string, number>;
  /** Rows brought in only because a chosen row needs them, per table. */
  broughtAlong: Partial<Record<NojoinTable, number>>;
  bytes: number;
}

/** Options of a repack. */
export interface RepackOptions {
  signal?: AbortSignal;
  /** DEFLATE level for the new archive (Nojoin writes the zlib default, 6). */
  level?: number;
  now?: () => Date;
}

/** One row as the index knows it: its id and the ids it links to. */
interface IndexedRow {
  id: number | null;
  links: Record<string, number | null>;
  file: string | null;
}

type Index = Map<NojoinTable, IndexedRow[]>;

function intOrNull(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  return null;
}

function linkColumns(table: NojoinTable): string[] {
  const spec = NOJOIN_TABLE_SPECS[table];
  return [...Object.keys(spec.ownership), ...Object.keys(spec.enrichment)];
}

/** Checks a selection against what the archive holds; throws INVALID_INPUT naming the first unknown item. */
function parseSelection(selection: readonly string[], index: Index, hasConfig: boolean): { tables: Set<NojoinTable>; recordings: Set<number>; config: boolean } {
  const tables = new Set<NojoinTable>();
  const recordings = new Set<number>();
  let config = false;
  const recordingIds = new Set((index.get('recordings') ?? []).map((r) => r.id));
  for (const item of selection) {
    const match = RECORDING_ITEM.exec(item);
    if (match) {
      const id = Number(match[1]);
      if (!recordingIds.has(id)) throw new LifeboatError('INVALID_INPUT', `The archive has no recording with id ${id} (selection item "${item}").`, { details: { item } });
      recordings.add(id);
    } else if (item === CONFIG_SELECTION) {
      if (!hasConfig) throw new LifeboatError('INVALID_INPUT', 'The archive has no config.json to select.', { details: { item } });
      config = true;
    } else if (isNojoinTable(item)) {
      if (!index.has(item)) throw new LifeboatError('INVALID_INPUT', `The archive has no ${item}.json to select.`, { details: { item } });
      tables.add(item);
    } else {
      throw new LifeboatError('INVALID_INPUT', `"${item.slice(0, 80)}" is neither a Nojoin table, "config", nor recording:<id>.`, { details: { item: item.slice(0, 80) } });
    }
  }
  if (tables.size + recordings.size === 0 && !config) throw new LifeboatError('INVALID_INPUT', 'The selection is empty: choose tables or recordings to repack.');
  return { tables, recordings, config };
}

/** The rows of each table to keep (by position in the file), after the rules in the file comment. */
function resolveSelection(index: Index, selection: { tables: Set<NojoinTable>; recordings: Set<number> }): { kept: Map<NojoinTable, Set<number>>; broughtAlong: Partial<Record<NojoinTable, number>> } {
  const kept = new Map<NojoinTable, Set<number>>(NOJOIN_TABLES.map((t) => [t, new Set<number>()]));
  const byId = new Map<NojoinTable, Map<number, number>>();
  for (const [table, rows] of index) byId.set(table, new Map(rows.flatMap((r, i) => (r.id === null ? [] : [[r.id, i] as [number, number]]))));
  const keptIds = (table: NojoinTable) => new Set([...kept.get(table)!].map((i) => index.get(table)![i]!.id));
  const seeded = new Map<NojoinTable, number>();

  for (const table of selection.tables) {
    if (RECORDING_CHILD_TABLES.includes(table)) continue; // they follow their recordings
    index.get(table)!.forEach((_, i) => kept.get(table)!.add(i));
  }
  const recordingRows = index.get('recordings') ?? [];
  recordingRows.forEach((row, i) => {
    if (selection.tables.has('recordings') || (row.id !== null && selection.recordings.has(row.id))) kept.get('recordings')!.add(i);
  });
  // Recording-owned rows of kept recordings, documents before their pages.
  for (const child of RECORDING_CHILD_TABLES) {
    const gate = child === 'document_pages' ? 'documents' : 'recordings';
    const column = child === 'document_pages' ? 'document_id' : 'recording_id';
    const open = keptIds(gate);
    (index.get(child) ?? []).forEach((row, i) => {
      const owner = row.links[column];
      if (owner !== null && owner !== undefined && open.has(owner)) kept.get(child)!.add(i);
    });
  }
  for (const [table, rows] of kept) seeded.set(table, rows.size);

  // Ownership closure to a fixpoint (owners are few and shallow: users ← connections ← sources…).
  for (let changed = true; changed; ) {
    changed = false;
    for (const table of NOJOIN_TABLES) {
      const rows = index.get(table);
      if (!rows) continue;
      for (const i of kept.get(table)!) {
        for (const [column, owner] of Object.entries(NOJOIN_TABLE_SPECS[table].ownership)) {
          if (GATING_OWNERS.has(owner)) continue;
          const target = rows[i]!.links[column];
          const position = target === null || target === undefined ? undefined : byId.get(owner)?.get(target);
          if (position !== undefined && !kept.get(owner)!.has(position)) {
            kept.get(owner)!.add(position);
            changed = true;
          }
        }
      }
    }
  }
  for (const table of JOIN_TABLES) {
    const owners = Object.entries(NOJOIN_TABLE_SPECS[table].ownership);
    const ids = new Map(owners.map(([, owner]) => [owner, keptIds(owner)]));
    (index.get(table) ?? []).forEach((row, i) => {
      if (owners.every(([column, owner]) => row.links[column] !== null && ids.get(owner)!.has(row.links[column] ?? null))) kept.get(table)!.add(i);
    });
  }
  const broughtAlong: Partial<Record<NojoinTable, number>> = {};
  for (const [table, rows] of kept) {
    const extra = rows.size - (seeded.get(table) ?? 0);
    if (extra > 0) broughtAlong[table] = extra;
  }
  return { kept, broughtAlong };
}

/** Builds the id/link index of every table file (one streamed pass over the table members). */
async function buildIndex(zip: NojoinZip, formatVersion: number, signal: AbortSignal | undefined): Promise<{ index: Index; problems: Map<NojoinTable, Map<number, RowProblem>> }> {
  const index: Index = new Map();
  const problems = new Map<NojoinTable, Map<number, RowProblem>>();
  for (const table of NOJOIN_TABLES) {
    if (!zip.member(tableMember(table))) continue;
    const rows: IndexedRow[] = [];
    const columns = linkColumns(table);
    await readTableRows(zip, table, formatVersion, (i, row, problem) => {
      const record = typeof row === 'object' && row !== null ? (row as Record<string, unknown>) : {};
      if (problem) {
        if (!problems.has(table)) problems.set(table, new Map());
        problems.get(table)!.set(i, problem);
      }
      const file = table === 'recordings' ? record.audio_path : table === 'documents' ? record.file_path : null;
      rows.push({ id: intOrNull(record.id), links: Object.fromEntries(columns.map((c) => [c, intOrNull(record[c])])), file: typeof file === 'string' ? file : null });
    }, signal ? { signal } : {});
    index.set(table, rows);
  }
  return { index, problems };
}

/** Python's json.dumps(indent=2) look, ASCII-escaped like Nojoin's writer. */
function serialiseRow(row: unknown): string {
  const text = JSON.stringify(row, null, 2).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return text.replace(/^/gm, '  ');
}

/** Appends one entry and waits until archiver has written it (entries go one at a time, so one source is open). */
async function appendEntry(archive: ZipArchive, source: Readable | Buffer, name: string, date: Date): Promise<void> {
  const added = once(archive, 'entry');
  archive.append(source, { name, date });
  if (Buffer.isBuffer(source)) {
    await added;
    return;
  }
  // A damaged member fails its stream (CRC-32); archiver would otherwise wait for it for ever.
  await Promise.race([added, once(source, 'error').then(([error]) => Promise.reject(error as Error))]);
}

/** Writes `write(push)`'s rows as one JSON array entry, with backpressure from archiver. */
async function appendRows(archive: ZipArchive, name: string, date: Date, write: (push: (rowText: string) => Promise<void>) => Promise<void>): Promise<void> {
  const body = new PassThrough();
  const added = appendEntry(archive, body, name, date);
  let count = 0;
  const push = async (rowText: string): Promise<void> => {
    if (!body.write(`${count++ === 0 ? '[\n' : ',\n'}${rowText}`)) await once(body, 'drain');
  };
  try {
    await write(push);
    body.end(count === 0 ? '[]' : '\n]');
  } catch (error) {
    body.destroy(error as Error);
  }
  await added;
}

/** What a selection would put into the subset, worked out without writing it (for a restore plan). */
export interface SubsetPlan {
  /** Rows per table file the subset would hold. */
  rows: Partial<Record<NojoinTable, number>>;
  /** Rows that come only because chosen rows need them, per table. */
  broughtAlong: Partial<Record<NojoinTable, number>>;
  recordingIds: number[];
  /** Audio members the subset would carry. */
  audioMembers: string[];
}

/** Everything a repack needs: the manifest, the id/link index, and the rows kept. */
interface ResolvedSubset {
  manifestObject: Record<string, unknown>;
  formatVersion: number;
  index: Index;
  chosen: ReturnType<typeof parseSelection>;
  kept: Map<NojoinTable, Set<number>>;
  broughtAlong: Partial<Record<NojoinTable, number>>;
}

/** Reads the table files once and applies the selection rules; refuses a kept row Nojoin would abort on. */
async function resolveSubset(zip: NojoinZip, selection: readonly string[], signal: AbortSignal | undefined): Promise<ResolvedSubset> {
  const manifest = await readManifest(zip);
  if (manifest.kind === 'damaged' || manifest.kind === 'invalid') throw manifest.error;
  const manifestObject = manifest.kind === 'read' ? (JSON.parse(manifest.text) as Record<string, unknown>) : {};
  const formatVersion = manifest.kind === 'read' ? manifest.info.formatVersion : 1;
  const { index, problems } = await buildIndex(zip, formatVersion, signal);
  const chosen = parseSelection(selection, index, zip.member(CONFIG_MEMBER) !== undefined);
  const { kept, broughtAlong } = resolveSelection(index, chosen);
  for (const [table, rows] of problems) {
    for (const [i, problem] of rows) if (kept.get(table)!.has(i)) throw rowFailure(problem);
  }
  return { manifestObject, formatVersion, index, chosen, kept, broughtAlong };
}

/** The recordings kept, in file order, and the audio members they point at that the archive holds. */
function keptAudio(zip: NojoinZip, subset: ResolvedSubset): { recordingIds: number[]; audioMembers: string[] } {
  const recordingIds: number[] = [];
  const audioMembers: string[] = [];
  for (const i of [...subset.kept.get('recordings')!].sort((a, b) => a - b)) {
    const row = subset.index.get('recordings')![i]!;
    if (row.id !== null) recordingIds.push(row.id);
    // Two rows may share one member (§1.6); it is carried once.
    if (row.file !== null && zip.member(row.file) && !audioMembers.includes(row.file)) audioMembers.push(row.file);
  }
  return { recordingIds, audioMembers };
}

/** What `repackNojoinSubset` would write for `selection`, without writing it. */
export async function planNojoinSubset(zip: NojoinZip, selection: readonly string[], signal?: AbortSignal): Promise<SubsetPlan> {
  const subset = await resolveSubset(zip, selection, signal);
  const rows = Object.fromEntries([...subset.index.keys()].map((table) => [table, subset.kept.get(table)!.size]));
  return { rows, broughtAlong: subset.broughtAlong, ...keptAudio(zip, subset) };
}

/**
 * Writes the subset of `zip` chosen by `selection` to `output` as a new Nojoin archive, and says
 * what it wrote. Refuses (ARCHIVE_INVALID) when a kept row would abort Nojoin's restore.
 */
export async function repackNojoinSubset(zip: NojoinZip, selection: readonly string[], output: Writable, options: RepackOptions = {}): Promise<RepackResult> {
  const subset = await resolveSubset(zip, selection, options.signal);
  const { manifestObject, formatVersion, index, chosen, kept, broughtAlong } = subset;
  const archive = new ZipArchive({ zlib: { level: options.level ?? 6 } });
  const archiveError = new Promise<never>((_, reject) => archive.on('error', reject));
  archiveError.catch(() => undefined);
  archive.pipe(output);
  const result: RepackResult = { rows: {}, recordingIds: [], audioMembers: [], documentMembers: [], nulledLinks: {}, broughtAlong, bytes: 0 };
  const keptIdsOf = (table: NojoinTable) => new Set([...kept.get(table)!].map((i) => index.get(table)![i]!.id));
  const date = (name: string) => zip.member(name)?.modified ?? new Date();

  const work = (async () => {
    for (const table of NOJOIN_TABLES) {
      const rows = index.get(table);
      if (!rows) continue;
      const keep = kept.get(table)!;
      result.rows[table] = keep.size;
      const enrichment = Object.entries(NOJOIN_TABLE_SPECS[table].enrichment).filter((e): e is [string, NojoinTable] => e[1] !== null);
      const targets = new Map(enrichment.map(([column, target]) => [column, { inArchive: new Set((index.get(target) ?? []).map((r) => r.id)), kept: keptIdsOf(target) }]));
      const nulls = (row: IndexedRow) => enrichment.filter(([column]) => {
        const id = row.links[column];
        const target = targets.get(column)!;
        return id !== null && id !== undefined && target.inArchive.has(id) && !target.kept.has(id);
      }).map(([column]) => column);
      const member = tableMember(table);
      if (keep.size === rows.length && rows.every((row) => nulls(row).length === 0)) {
        // Unchanged table: the original bytes, exactly as Nojoin wrote them.
        await appendEntry(archive, await zip.openMember(member), member, date(member));
        continue;
      }
      await appendRows(archive, member, date(member), (push) =>
        readTableRows(zip, table, formatVersion, async (i, row) => {
          if (!keep.has(i)) return;
          const record = { ...(row as Record<string, unknown>) };
          for (const column of nulls(rows[i]!)) {
            record[column] = null;
            result.nulledLinks[`${table}.${column}`] = (result.nulledLinks[`${table}.${column}`] ?? 0) + 1;
          }
          await push(serialiseRow(record));
        }, options.signal ? { signal: options.signal } : {}),
      );
    }
    const copy = async (member: string, into: string[]): Promise<void> => {
      if (options.signal?.aborted) throw new LifeboatError('CANCELLED', 'The repack was cancelled.');
      await appendEntry(archive, await zip.openMember(member), member, date(member));
      into.push(member);
    };
    const audio = keptAudio(zip, subset);
    result.recordingIds.push(...audio.recordingIds);
    for (const member of audio.audioMembers) await copy(member, result.audioMembers);
    const documentFiles = new Set([...kept.get('documents')!].sort((a, b) => a - b).map((i) => index.get('documents')![i]!.file));
    for (const member of documentFiles) if (member !== null && zip.member(member)) await copy(member, result.documentMembers);
    if (chosen.config) await appendEntry(archive, await zip.openMember(CONFIG_MEMBER), CONFIG_MEMBER, date(CONFIG_MEMBER));
    const info = subsetManifest(manifestObject, index, kept, zip, selection, options.now?.() ?? new Date());
    await appendEntry(archive, Buffer.from(JSON.stringify(info, null, 2)), BACKUP_INFO_MEMBER, date(BACKUP_INFO_MEMBER));
    await archive.finalize();
  })();
  try {
    await Promise.race([work, archiveError]);
  } catch (error) {
    archive.abort();
    throw error;
  }
  await finished(output);
  result.bytes = archive.pointer();
  return result;
}

/**
 * The subset's backup_info.json: the source's fields, its warning counters recounted for the
 * rows kept (a missing audio member is counted as Nojoin would: failed when it was meant to be
 * Opus and the source counted failures, else "without audio"), and a note of the selection.
 */
function subsetManifest(source: Record<string, unknown>, index: Index, kept: Map<NojoinTable, Set<number>>, zip: NojoinZip, selection: readonly string[], now: Date): Record<string, unknown> {
  const info: Record<string, unknown> = { ...source };
  const sourceWarnings = typeof source.warnings === 'object' && source.warnings !== null ? (source.warnings as Record<string, unknown>) : null;
  if (sourceWarnings) {
    const missing = (table: 'recordings' | 'documents') => [...kept.get(table)!].map((i) => index.get(table)![i]!).filter((r) => r.file !== null && !zip.member(r.file));
    const audio = source.include_audio === false ? [] : missing('recordings');
    const failedBefore = typeof sourceWarnings.recordings_audio_failed === 'number' ? sourceWarnings.recordings_audio_failed : 0;
    const failed = Math.min(failedBefore, audio.filter((r) => r.file?.endsWith('.opus')).length);
    const documentsFailedBefore = typeof sourceWarnings.documents_failed === 'number' ? sourceWarnings.documents_failed : 0;
    const documents = missing('documents');
    const documentsFailed = Math.min(documentsFailedBefore, documents.length);
    info.warnings = {
      ...sourceWarnings,
      recordings_without_audio: audio.length - failed,
      recordings_audio_failed: failed,
      documents_without_files: documents.length - documentsFailed,
      documents_failed: documentsFailed,
    };
  }
  info[LIFEBOAT_SUBSET_KEY] = { selection: [...selection], made_at: now.toISOString() };
  return info;
}
