/**
 * The row check Nojoin does not do for its operator: its restore validates each row against its
 * models outside the per-row savepoint, so one bad row (a missing required field, an enum value it
 * does not know, an unparsable date) aborts the whole restore with only "Check server logs for
 * details" (specs/nojoin.md §3.2). This names the first such row: member, index, field and why.
 */
import { NOJOIN_TABLE_SPECS, tableMember, tablesOfFormat, type NojoinTable, type NojoinTableSpec } from './tables';

/** The first row a restore would choke on, named precisely. */
export interface RowProblem {
  member: string;
  table: NojoinTable;
  /** 0-based position of the row in the table file. */
  index: number;
  /** The row's `id`, when it has a usable one. */
  id: number | null;
  /** The field at fault; null when the row itself is not an object. */
  field: string | null;
  why: string;
}

/** Checks one row of one table; null when Nojoin's models would accept it. */
export type RowValidator = (table: NojoinTable, row: unknown, index: number) => RowProblem | null;

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INTEGER_TEXT = /^[+-]?\d+$/;
/** Row fields that name a file inside the archive and, after restore, on the server's disk. */
const PATH_FIELDS: Partial<Record<NojoinTable, string>> = { recordings: 'audio_path', documents: 'file_path' };

/** True when the numbers form a real calendar date and clock time (2026-02-30 is not one). */
function realDateTime(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60;
}

/** Whether pydantic would read `value` as a datetime: null, a unix time, or an ISO-8601 string. */
export function isAcceptedDatetime(value: unknown): boolean {
  if (value === null || (typeof value === 'number' && Number.isFinite(value))) return true;
  if (typeof value !== 'string') return false;
  const m = DATETIME.exec(value.trim());
  return m !== null && realDateTime(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
}

function isAcceptedDate(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value !== 'string') return false;
  const m = DATE.exec(value);
  return m !== null && realDateTime(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** pydantic's lax int: an integral number or a string of digits (never a fraction, never a bool). */
function isAcceptedInteger(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value);
  return typeof value === 'string' && INTEGER_TEXT.test(value.trim());
}

function integerFields(spec: NojoinTableSpec): Set<string> {
  return new Set(['id', 'page_number', ...Object.keys(spec.ownership), ...Object.keys(spec.enrichment)]);
}

/** A path that, taken after its last `recordings`/`documents` folder as Nojoin does, climbs out with "..". */
function climbsOut(path: string): boolean {
  return path.replace(/\\/g, '/').split('/').includes('..');
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function checkField(table: NojoinTable, spec: NojoinTableSpec, ints: Set<string>, row: Record<string, unknown>, field: string): string | null {
  const value = row[field];
  const required = spec.required.includes(field);
  if (required && (value === undefined || value === null)) return value === undefined ? 'is missing (Nojoin has no default for it)' : 'is null (Nojoin requires a value)';
  if (value === undefined) return null;
  const allowed = spec.enums[field];
  if (allowed && !allowed.includes(value as string | null)) {
    return `is ${describe(value)}, not one of ${allowed.map((v) => (v === null ? 'null' : v)).join(', ')}`;
  }
  if (ints.has(field) && value !== null && !isAcceptedInteger(value)) return `is ${describe(value)}, not an integer id`;
  if ((field === 'created_at' || field === 'updated_at' || spec.datetimes.includes(field)) && !isAcceptedDatetime(value)) {
    return `is ${describe(value)}, not a date and time Nojoin can read`;
  }
  if (spec.dates.includes(field) && !isAcceptedDate(value)) return `is ${describe(value)}, not a YYYY-MM-DD date`;
  // Every required field that is not an id is text in Nojoin's models (provider_*_id included).
  if (required && !ints.has(field) && typeof value !== 'string') return `is ${describe(value)}, not text`;
  if (PATH_FIELDS[table] === field && typeof value === 'string' && climbsOut(value)) {
    return `is ${describe(value)}: restored, that file would land outside Nojoin's ${table === 'recordings' ? 'recordings' : 'documents'} folder`;
  }
  return null;
}

/**
 * The row checker of one archive format. Format 1 (Nojoin ≤ 1.6.0) and 2 rows are checked against
 * the same current models, because Nojoin validates every row against the *target's* models
 * whatever format it came in; a table the format did not write is checked all the same, since
 * restore reads any table file it finds.
 */
export function rowValidatorFor(formatVersion: number): RowValidator {
  const known = new Set<NojoinTable>(tablesOfFormat(formatVersion));
  const intsByTable = new Map<NojoinTable, Set<string>>();
  return (table, row, index) => {
    const spec = NOJOIN_TABLE_SPECS[table];
    const member = tableMember(table);
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      return { member, table, index, id: null, field: null, why: `is ${describe(row)}, not an object` };
    }
    const record = row as Record<string, unknown>;
    const id = typeof record.id === 'number' && Number.isInteger(record.id) ? record.id : null;
    let ints = intsByTable.get(table);
    if (!ints) {
      ints = integerFields(spec);
      intsByTable.set(table, ints);
    }
    // Required fields first (the commonest fault), then every field present, in row order.
    const fields = [...spec.required, ...Object.keys(record).filter((key) => !spec.required.includes(key))];
    for (const field of fields) {
      const why = checkField(table, spec, ints, record, field);
      if (why !== null) return { member, table, index, id, field, why: known.has(table) ? why : `${why} (a table format ${formatVersion} did not write, read by restore all the same)` };
    }
    return null;
  };
}

/** The problem in words: `recordings.json row 2 (id 103): "name" is missing …`. */
export function describeRowProblem(problem: RowProblem): string {
  const where = `${problem.member} row ${problem.index + 1}${problem.id === null ? '' : ` (id ${problem.id})`}`;
  return problem.field === null ? `${where} ${problem.why}` : `${where}: "${problem.field}" ${problem.why}`;
}
