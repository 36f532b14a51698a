/** Plain pg_dump scripts: the streaming reader, the line filter, and the COPY text helpers. */
export { PlainSqlReader, TRANSACTION_LINE, type PlainSqlObject, type PlainSqlReaderOptions, type PlainSqlSummary, type PlainSqlTable } from './script-reader';
export { plainSqlLineFilter, type LineFilterOptions } from './line-filter';
export { copyColumns, parseCopyText } from './copy-text';
