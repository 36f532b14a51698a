// Plain pg_dump scripts altered the ways tests need.

/** The dump with the data lines of every COPY block left out: every table emptied. */
export function emptiedDump(sql: string): string {
  let inCopy = false;
  return sql.split('\n').filter((line) => {
    if (inCopy) {
      if (line === '\\.') inCopy = false;
      return line === '\\.';
    }
    if (line.startsWith('COPY ')) inCopy = true;
    return true;
  }).join('\n');
}
