/** Public surface of the pg_dump custom-format reader: import from here. */
export { readPgDumpToc, minPgRestoreMajor, MAX_ARCHIVE_MINOR, MIN_ARCHIVE_MINOR } from './reader';
export type { ReadPgDumpOptions } from './reader';
export { renderPgRestoreList, formatTocLine, isListedByPgRestore, buildSelectiveRestoreList } from './listing';
export type { PgRestoreListOptions, SelectiveRestoreList, SelectiveRestoreOptions, TableRef } from './listing';
export { describeEntry } from './data-walk';
export type * from './types';
