/**
 * One pass over every member of a Nojoin archive, after its central directory has been read
 * (zip.ts): each member is inflated and its CRC-32 checked as it streams; every `*.json` member is
 * checked for syntax (Nojoin refuses the whole archive when any fails to parse, even one inside
 * documents/); table files are read row by row, each row checked (rows.ts) and handed to the
 * caller; rows' audio and document paths are matched with members. Nothing is unpacked to disk and
 * no member is held in memory whole, so a multi-GiB archive reads in bounded memory.
 */
import { TextDecoder } from 'node:util';
import type { IntegrityCheck } from '../../../../shared/apps';
import { LifeboatError } from '../../../../shared/errors';
import { readBackupInfo, type NojoinBackupInfo } from './backup-info';
import { DEFAULT_JSON_LIMITS, JsonScanError, JsonStreamScanner, type JsonScanLimits, type JsonScanMode } from './json-scan';
import { describeRowProblem, rowValidatorFor, type RowProblem } from './rows';
import { NOJOIN_FORMAT_VERSION, tableOfMember, type NojoinTable } from './tables';
import type { NojoinZip, ZipMember } from './zip';

/** The manifest member. */
export const BACKUP_INFO_MEMBER = 'backup_info.json';
/** The install-wide config member (only merged on a Clear-All restore). */
export const CONFIG_MEMBER = 'config.json';
const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_CONFIG_CHARS = 16 * 1024 * 1024;
/** Bytes kept from the start of each audio member, enough to tell Ogg Opus from WAV, MP3, MP4, FLAC. */
export const AUDIO_HEAD_BYTES = 64;

/** Rows and JSON size of one table file. */
export interface TableScan {
  table: NojoinTable;
  member: string;
  rows: number;
  /** Uncompressed size of the file. */
  bytes: number;
}

/** A row that names a member (audio or document file) that is not in the archive. */
export interface MissingFile {
  table: 'recordings' | 'documents';
  index: number;
  id: number | null;
  member: string;
}

/** What a caller sees of each row: the parsed object and, if it would abort a restore, why. */
export type RowVisitor = (table: NojoinTable, index: number, row: Record<string, unknown>, problem: RowProblem | null) => void;

/** Options of one scan. */
export interface ScanOptions {
  json?: Partial<JsonScanLimits>;
  onRow?: RowVisitor;
  signal?: AbortSignal;
  /** Compressed bytes done so far, after each member. */
  onProgress?: (bytes: number, total: number) => void;
  /** Members already inflated and CRC-checked as the archive streamed by, by local-header offset: not read again. */
  prechecked?: ReadonlyMap<number, PrecheckedMember>;
}

/** What the stream verifier found of one member as it passed (sizes and CRC from its local header's data). */
export interface PrecheckedMember {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
  /** The first uncompressed bytes (audio format sniffing). */
  head: Buffer;
  /** Why inflating failed, if it did. */
  error: string | null;
}

/** The verdict on a member checked while streaming, against what the central directory says of it. */
function precheckedOutcome(zip: NojoinZip, member: ZipMember, pre: PrecheckedMember): MemberOutcome {
  const damaged = (why: string) => ({
    damaged: new LifeboatError('ARCHIVE_INVALID', `Member "${member.name}" of ${zip.label} is damaged: ${why}.`, { details: { member: member.name } }),
    jsonError: null,
  });
  if (pre.error !== null) return damaged(pre.error);
  if (pre.method !== member.method || pre.compressedSize !== member.compressedSize || pre.uncompressedSize !== member.uncompressedSize) {
    return damaged(`its local header says method ${pre.method}, ${pre.compressedSize} bytes from ${pre.uncompressedSize}; the central directory says method ${member.method}, ${member.compressedSize} from ${member.uncompressedSize}`);
  }
  if (pre.crc32 !== member.crc32) return damaged(`its CRC-32 is ${hex(pre.crc32)}, the archive says ${hex(member.crc32)}`);
  return { damaged: null, jsonError: null };
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** Everything one pass found. `failures` are typed errors, each naming its member (and row). */
export interface ArchiveScan {
  checks: IntegrityCheck[];
  ok: boolean;
  info: NojoinBackupInfo | null;
  /** The exact text of backup_info.json, for a sidecar. */
  infoText: string | null;
  formatVersion: number;
  tables: TableScan[];
  firstBadRow: RowProblem | null;
  badRows: number;
  config: Record<string, unknown> | null;
  missingAudio: MissingFile[];
  missingDocuments: MissingFile[];
  /** Audio members no recording row points at (format 1 archives have these; restore discards them). */
  unreferencedAudio: string[];
  /** First bytes of each member under recordings/. */
  audioHeads: Map<string, Buffer>;
  failures: LifeboatError[];
}

interface MemberOutcome {
  damaged: LifeboatError | null;
  jsonError: LifeboatError | null;
}

function isJsonMember(name: string): boolean {
  return name.toLowerCase().endsWith('.json');
}

/** How reading the manifest went: absent, read, or refused for damaged bytes or bad JSON. */
export type ManifestRead =
  | { kind: 'absent' }
  | { kind: 'read'; info: NojoinBackupInfo; text: string }
  | { kind: 'damaged'; error: LifeboatError }
  | { kind: 'invalid'; error: LifeboatError };

/** Reads backup_info.json whole (it is small; capped at 1 MiB). */
export async function readManifest(zip: NojoinZip, limits: JsonScanLimits = DEFAULT_JSON_LIMITS): Promise<ManifestRead> {
  if (!zip.member(BACKUP_INFO_MEMBER)) return { kind: 'absent' };
  let bytes: Buffer;
  try {
    bytes = await zip.readMember(BACKUP_INFO_MEMBER, MAX_MANIFEST_BYTES);
  } catch (error) {
    if (error instanceof LifeboatError && error.code === 'ARCHIVE_INVALID') return { kind: 'damaged', error };
    throw error;
  }
  try {
    const text = decodeUtf8(bytes, BACKUP_INFO_MEMBER);
    const scanner = new JsonStreamScanner('document', { ...limits, maxCapturedChars: MAX_MANIFEST_BYTES });
    const whole = jsonStep(() => [...scanner.write(text), ...scanner.end()], BACKUP_INFO_MEMBER, null);
    return { kind: 'read', info: readBackupInfo(JSON.parse(whole[0] ?? 'null') as unknown), text };
  } catch (error) {
    if (error instanceof LifeboatError) return { kind: 'invalid', error };
    throw error;
  }
}

function decodeUtf8(bytes: Buffer, member: string): string {
  // ignoreBOM keeps a BOM in the text, where the scanner refuses it, as Python's json.loads does.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return decodeUtf8Chunk(decoder, bytes, member) + decodeUtf8Chunk(decoder, undefined, member);
}

/** Runs a scanner step, turning its error into a typed one that names the member (and row). */
function jsonStep<T>(step: () => T, member: string, rowIndex: number | null): T {
  try {
    return step();
  } catch (error) {
    if (!(error instanceof JsonScanError)) throw error;
    const where = rowIndex === null ? member : `${member} (near row ${rowIndex + 1})`;
    const message = error.cap
      ? `${where} is refused: ${error.reason} (at line ${error.line}), over Lifeboat's cap.`
      : `${where} is not valid JSON: ${error.reason} at line ${error.line}, column ${error.column}. Nojoin refuses the whole archive when a .json member does not parse.`;
    throw new LifeboatError('ARCHIVE_INVALID', message, { details: { member, line: error.line, column: error.column, ...(rowIndex === null ? {} : { row: rowIndex }), ...(error.cap ? { cap: error.cap } : {}) }, cause: error });
  }
}

/** A check and, when it failed, the typed error behind it. */
interface Verdict {
  check: IntegrityCheck;
  failures: LifeboatError[];
}

/** Scans every member once; never throws for a bad archive (see `failures`), only for cancellation. */
export async function scanNojoinArchive(zip: NojoinZip, options: ScanOptions = {}): Promise<ArchiveScan> {
  const limits = { ...DEFAULT_JSON_LIMITS, ...options.json };
  const damaged: LifeboatError[] = [];
  const jsonErrors: LifeboatError[] = [];
  const structure: LifeboatError[] = [];
  const manifest = await readManifest(zip, limits);
  if (manifest.kind === 'damaged') damaged.push(manifest.error);
  if (manifest.kind === 'invalid') jsonErrors.push(manifest.error);
  const info = manifest.kind === 'read' ? manifest.info : null;
  const formatVersion = info?.formatVersion ?? 1;
  const validate = rowValidatorFor(formatVersion);
  const tables: TableScan[] = [];
  let firstBadRow: RowProblem | null = null;
  let badRows = 0;
  let config: Record<string, unknown> | null = null;
  const audioPaths: FileReference[] = [];
  const documentPaths: FileReference[] = [];
  const audioHeads = new Map<string, Buffer>();
  const total = zip.members.reduce((sum, m) => sum + m.compressedSize, 0);
  let done = 0;

  for (const member of zip.members) {
    throwIfCancelled(options.signal);
    if (member.isDirectory) continue;
    const mismatch = await localHeaderMismatch(zip, member.name);
    if (mismatch) structure.push(mismatch);
    const table = tableOfMember(member.name);
    let outcome: MemberOutcome = { damaged: null, jsonError: null };
    if (table !== null) {
      let rows = 0;
      outcome = await streamMember(zip, member.name, 'rows', limits, options.signal, (rowText, index) => {
        rows = index + 1;
        const row = JSON.parse(rowText) as unknown;
        const problem = validate(table, row, index);
        if (problem !== null) {
          badRows++;
          firstBadRow ??= problem;
        }
        if (typeof row !== 'object' || row === null || Array.isArray(row)) return;
        const record = row as Record<string, unknown>;
        collectFileReference(table, index, record, audioPaths, documentPaths);
        options.onRow?.(table, index, record, problem);
      });
      tables.push({ table, member: member.name, rows, bytes: member.uncompressedSize });
    } else if (member.name === CONFIG_MEMBER) {
      outcome = await streamMember(zip, member.name, 'document', { ...limits, maxCapturedChars: MAX_CONFIG_CHARS }, options.signal, (text) => {
        const parsed = JSON.parse(text) as unknown;
        config = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
      });
    } else if (member.name !== BACKUP_INFO_MEMBER && options.prechecked?.has(member.localHeaderOffset)) {
      const pre = options.prechecked.get(member.localHeaderOffset)!;
      outcome = precheckedOutcome(zip, member, pre);
      if (member.name.startsWith('recordings/')) audioHeads.set(member.name, pre.head);
    } else if (member.name !== BACKUP_INFO_MEMBER) {
      // backup_info.json was read whole (and CRC-checked) by readManifest.
      const keepHead = member.name.startsWith('recordings/') ? (bytes: Buffer) => audioHeads.set(member.name, bytes) : null;
      outcome = await streamMember(zip, member.name, isJsonMember(member.name) ? 'check' : null, limits, options.signal, () => undefined, keepHead);
    }
    if (outcome.damaged) damaged.push(outcome.damaged);
    if (outcome.jsonError) jsonErrors.push(outcome.jsonError);
    done += member.compressedSize;
    options.onProgress?.(done, total);
  }

  const missingAudio = missingFiles(zip, 'recordings', audioPaths);
  const missingDocuments = missingFiles(zip, 'documents', documentPaths);
  const referenced = new Set(audioPaths.map((p) => p.path));
  const unreferencedAudio = zip.members.filter((m) => m.name.startsWith('recordings/') && !m.isDirectory && !referenced.has(m.name)).map((m) => m.name);

  const verdicts: Verdict[] = [
    listVerdict(structureCheck(zip, structure), structure),
    listVerdict(damageCheck(zip, damaged), damaged),
    manifestVerdict(manifest),
    formatVerdict(info),
    listVerdict(jsonCheck(zip, jsonErrors), jsonErrors),
    rowsVerdict(tables, firstBadRow, badRows),
    filesVerdict({ id: 'audio-members', name: "Recordings' audio members", table: 'recordings', referenced: audioPaths.length, missing: missingAudio, info, formatVersion }),
    filesVerdict({ id: 'document-members', name: "Documents' file members", table: 'documents', referenced: documentPaths.length, missing: missingDocuments, info, formatVersion }),
  ];
  const checks = verdicts.map((v) => v.check);
  if (unreferencedAudio.length > 0) {
    checks.push({
      id: 'unreferenced-audio', kind: 'integrity', name: 'Audio no recording uses', ok: true,
      detail: `${unreferencedAudio.length} member(s) under recordings/ belong to no row (e.g. ${unreferencedAudio[0]}); Nojoin's restore discards them`,
    });
  }
  return {
    checks,
    ok: checks.every((c) => c.ok),
    info,
    infoText: manifest.kind === 'read' ? manifest.text : null,
    formatVersion,
    tables,
    firstBadRow,
    badRows,
    config,
    missingAudio,
    missingDocuments,
    unreferencedAudio,
    audioHeads,
    // A damaged manifest appears under the CRC check; its error is listed once.
    failures: [...new Set(verdicts.flatMap((v) => v.failures))],
  };
}

/**
 * Streams the rows of one table file (absent file: no rows), each checked with the archive's
 * format rules. Throws ARCHIVE_INVALID when the member is damaged or not JSON.
 */
export async function readTableRows(
  zip: NojoinZip,
  table: NojoinTable,
  formatVersion: number,
  onRow: (index: number, row: unknown, problem: RowProblem | null) => void | Promise<void>,
  options: { json?: Partial<JsonScanLimits>; signal?: AbortSignal } = {},
): Promise<void> {
  const member = zip.member(`${table}.json`);
  if (!member) return;
  const validate = rowValidatorFor(formatVersion);
  const outcome = await streamMember(zip, member.name, 'rows', { ...DEFAULT_JSON_LIMITS, ...options.json }, options.signal, (rowText, index) => {
    const row = JSON.parse(rowText) as unknown;
    return onRow(index, row, validate(table, row, index));
  });
  const failure = outcome.damaged ?? outcome.jsonError;
  if (failure) throw failure;
}

/** A row's pointer to a file member. */
interface FileReference {
  index: number;
  id: number | null;
  path: string;
}

function collectFileReference(table: NojoinTable, index: number, record: Record<string, unknown>, audio: FileReference[], documents: FileReference[]): void {
  const id = typeof record.id === 'number' ? record.id : null;
  if (table === 'recordings' && typeof record.audio_path === 'string') audio.push({ index, id, path: record.audio_path });
  if (table === 'documents' && typeof record.file_path === 'string') documents.push({ index, id, path: record.file_path });
}

function missingFiles(zip: NojoinZip, table: 'recordings' | 'documents', references: FileReference[]): MissingFile[] {
  return references.filter((r) => !zip.member(r.path)).map((r) => ({ table, index: r.index, id: r.id, member: r.path }));
}

async function localHeaderMismatch(zip: NojoinZip, name: string): Promise<LifeboatError | null> {
  let localName: string;
  try {
    localName = await zip.localHeaderName(name);
  } catch (error) {
    if (error instanceof LifeboatError) return error;
    throw error;
  }
  if (localName === name) return null;
  return new LifeboatError('ARCHIVE_INVALID', `The local header of "${name}" names it "${localName.slice(0, 200)}"; tools that read local headers would see another file.`, {
    details: { member: name },
  });
}

/**
 * The check before a restore is uploaded: scans the archive and throws its most useful failure
 * (a bad row first: it names member, row and field) as a typed ARCHIVE_INVALID; returns the scan.
 */
export async function assertNojoinWillRestore(zip: NojoinZip, options: ScanOptions = {}): Promise<ArchiveScan> {
  const scan = await scanNojoinArchive(zip, options);
  const failure = scan.firstBadRow ? rowFailure(scan.firstBadRow) : scan.failures[0];
  if (failure) throw failure;
  return scan;
}

/** The typed error of a bad row: ARCHIVE_INVALID with member, row index, field and reason. */
export function rowFailure(problem: RowProblem): LifeboatError {
  return new LifeboatError('ARCHIVE_INVALID', `${describeRowProblem(problem)}. Nojoin would abort the whole restore on this row.`, {
    details: { member: problem.member, row: problem.index, id: problem.id, field: problem.field, why: problem.why },
  });
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new LifeboatError('CANCELLED', 'Reading the Nojoin archive was cancelled.');
}

/**
 * Streams one member to its end (so its CRC-32 is checked), through the JSON scanner when `mode`
 * is set. A damaged member and a JSON error are reported apart: a restore refuses both, but the
 * first means the bytes changed, the second that Nojoin wrote (or someone edited) bad JSON.
 */
async function streamMember(
  zip: NojoinZip,
  name: string,
  mode: JsonScanMode | null,
  limits: JsonScanLimits,
  signal: AbortSignal | undefined,
  onPiece: (text: string, index: number) => void | Promise<void>,
  onHead: ((bytes: Buffer) => void) | null = null,
): Promise<MemberOutcome> {
  const scanner = mode === null ? null : new JsonStreamScanner(mode, limits);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let jsonError: LifeboatError | null = null;
  let pieces = 0;
  const head: Buffer[] = [];
  let headBytes = 0;
  /** Decodes and scans the next bytes (undefined: the end); the first JSON error stops scanning. */
  const feed = async (chunk: Buffer | undefined): Promise<void> => {
    if (scanner === null || jsonError !== null) return;
    let out: string[];
    try {
      const text = decodeUtf8Chunk(decoder, chunk, name);
      out = jsonStep(() => (chunk === undefined ? [...scanner.write(text), ...scanner.end()] : scanner.write(text)), name, mode === 'rows' ? pieces : null);
    } catch (error) {
      if (!(error instanceof LifeboatError)) throw error;
      jsonError = error;
      return;
    }
    // Awaited one by one, so a consumer that writes rows elsewhere can hold the reading back.
    for (const piece of out) await onPiece(piece, pieces++);
  };
  try {
    const stream = await zip.openMember(name);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) {
        stream.destroy();
        throwIfCancelled(signal);
      }
      if (onHead !== null && headBytes < AUDIO_HEAD_BYTES) {
        const piece = chunk.subarray(0, AUDIO_HEAD_BYTES - headBytes);
        head.push(piece);
        headBytes += piece.length;
      }
      await feed(chunk);
    }
    await feed(undefined);
  } catch (error) {
    if (error instanceof LifeboatError && error.code !== 'CANCELLED') return { damaged: error, jsonError };
    throw error;
  }
  onHead?.(Buffer.concat(head));
  return { damaged: null, jsonError };
}

function decodeUtf8Chunk(decoder: TextDecoder, chunk: Buffer | undefined, member: string): string {
  try {
    return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
  } catch (error) {
    throw new LifeboatError('ARCHIVE_INVALID', `${member} is not valid UTF-8, so Nojoin cannot read it.`, { details: { member }, cause: error });
  }
}

function listFailures(failures: LifeboatError[]): string {
  const shown = failures.slice(0, 3).map((f) => f.message);
  return failures.length > 3 ? `${shown.join(' ')} …and ${failures.length - 3} more.` : shown.join(' ');
}

function listVerdict(check: IntegrityCheck, failures: LifeboatError[]): Verdict {
  return { check, failures };
}

function checkFailure(check: IntegrityCheck, details: Record<string, unknown>): LifeboatError {
  return new LifeboatError('ARCHIVE_INVALID', check.detail, { details: { check: check.id, ...details } });
}

function structureCheck(zip: NojoinZip, problems: LifeboatError[]): IntegrityCheck {
  return {
    id: 'zip-structure', kind: 'integrity', name: 'ZIP structure',
    ok: problems.length === 0,
    detail: problems.length === 0
      ? `${zip.members.length} members; names safe (no "..", absolute or backslash paths), no links, no overlaps, local headers agree with the central directory`
      : listFailures(problems),
  };
}

function damageCheck(zip: NojoinZip, damaged: LifeboatError[]): IntegrityCheck {
  return {
    id: 'member-crc', kind: 'integrity', name: 'CRC-32 of every member',
    ok: damaged.length === 0,
    detail: damaged.length === 0
      ? `all ${zip.members.filter((m) => !m.isDirectory).length} members inflate to their recorded size and CRC-32 (the only checksum a Nojoin archive has)`
      : listFailures(damaged),
  };
}

function manifestVerdict(manifest: ManifestRead): Verdict {
  const base = { id: 'backup-info', kind: 'integrity' as const, name: BACKUP_INFO_MEMBER };
  if (manifest.kind === 'damaged' || manifest.kind === 'invalid') return { check: { ...base, ok: false, detail: manifest.error.message }, failures: [manifest.error] };
  if (manifest.kind === 'absent') {
    const check = { ...base, ok: false, detail: 'backup_info.json is missing: every Nojoin export writes it, so this is not an untouched Nojoin backup (Nojoin would restore it as format 1)' };
    return { check, failures: [checkFailure(check, { member: BACKUP_INFO_MEMBER })] };
  }
  const { info } = manifest;
  return { check: { ...base, ok: true, detail: `written by Nojoin ${info.appVersion ?? '(version not stated)'} at ${info.timestamp ?? '(time not stated)'}` }, failures: [] };
}

function formatVerdict(info: NojoinBackupInfo | null): Verdict {
  const version = info?.formatVersion ?? 1;
  const ok = version <= NOJOIN_FORMAT_VERSION;
  const declared = info?.formatVersionDeclared ? String(version) : '1 (no format_version: Nojoin ≤ 1.6.0)';
  const check: IntegrityCheck = {
    id: 'format-version', kind: 'compatibility', name: 'Archive format version',
    ok,
    detail: ok
      ? `${declared}; Nojoin 1.7.0 to 2.4.0 restore formats 1 and 2`
      : `${BACKUP_INFO_MEMBER} claims format ${version}, newer than ${NOJOIN_FORMAT_VERSION}: Nojoin 2.4.0 refuses it ("upgrade Nojoin on this server before restoring it")`,
  };
  return { check, failures: ok ? [] : [checkFailure(check, { member: BACKUP_INFO_MEMBER, formatVersion: version })] };
}

function jsonCheck(zip: NojoinZip, errors: LifeboatError[]): IntegrityCheck {
  const count = zip.members.filter((m) => isJsonMember(m.name)).length;
  return {
    id: 'json-members', kind: 'integrity', name: 'Every .json member parses',
    ok: errors.length === 0,
    detail: errors.length === 0 ? `${count} JSON members are well-formed` : listFailures(errors),
  };
}

function rowsVerdict(tables: TableScan[], first: RowProblem | null, badRows: number): Verdict {
  const rows = tables.reduce((sum, t) => sum + t.rows, 0);
  const check: IntegrityCheck = {
    id: 'table-rows', kind: 'integrity', name: 'Rows Nojoin will accept',
    ok: first === null,
    detail: first === null
      ? `${rows} rows in ${tables.length} table files carry every required field, known enum values and readable dates`
      : `${describeRowProblem(first)}${badRows > 1 ? ` (and ${badRows - 1} more bad rows)` : ''}; Nojoin aborts the whole restore on such a row, saying only "Check server logs"`,
  };
  return { check, failures: first === null ? [] : [rowFailure(first)] };
}

/**
 * Rows may point at files that are legitimately absent: Nojoin keeps the row and counts it in
 * backup_info's warnings (file missing on the server, non-archivable format, or audio left out).
 * More absent files than those counters explain means members were lost after the export.
 */
/** What the audio and document checks look at. */
interface FilesInput {
  id: string;
  name: string;
  table: 'recordings' | 'documents';
  /** Rows that point at a file. */
  referenced: number;
  missing: MissingFile[];
  info: NojoinBackupInfo | null;
  formatVersion: number;
}

function filesVerdict(input: FilesInput): Verdict {
  const check = filesCheck(input);
  const first = input.missing[0];
  return { check, failures: check.ok || !first ? [] : [checkFailure(check, { member: first.member, table: `${input.table}.json`, row: first.index, id: first.id })] };
}

function filesCheck({ id, name, table, referenced, missing, info, formatVersion }: FilesInput): IntegrityCheck {
  const base = { id, kind: 'integrity' as const, name };
  const first = missing[0];
  if (!first) return { ...base, ok: true, detail: referenced === 0 ? `no ${table} row points at a file` : `all ${referenced} ${table} rows with a file have their member` };
  const example = `${table}.json row ${first.index + 1}${first.id === null ? '' : ` (id ${first.id})`} points at "${first.member}"`;
  if (table === 'recordings' && info?.includeAudio === false) {
    return { ...base, ok: true, detail: `audio was left out of this export (include_audio=false): all ${missing.length} recordings restore without playable audio` };
  }
  const warnings = info?.warnings ?? null;
  if (warnings === null || formatVersion < 2) {
    return {
      ...base, ok: true,
      detail: `${missing.length} of ${referenced} rows have no member (${example}); a format-1 archive does not count files it could not include, so a lost member cannot be told from one never written`,
    };
  }
  const explained = table === 'recordings' ? warnings.recordingsWithoutAudio + warnings.recordingsAudioFailed : warnings.documentsWithoutFiles + warnings.documentsFailed;
  if (missing.length <= explained) {
    return { ...base, ok: true, detail: `${missing.length} of ${referenced} rows have no member, as backup_info.json's warnings say (${explained}); they restore without ${table === 'recordings' ? 'playable audio' : 'their file'}` };
  }
  return {
    ...base, ok: false,
    detail: `${example}, which is not in the archive: ${missing.length} ${table} rows lack their member but backup_info.json accounts for only ${explained}, so member(s) were lost after the export`,
  };
}
