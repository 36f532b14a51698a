// A child process for memory checks of the pg_dump reader: reads one dump's header, TOC, data walk
// and COPY data pass (as a Weavestream preview does) and prints one JSON line: the outcome (error
// code and details, or the row counts) and the process's peak RSS in MB.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { readPgDumpToc } from '../../src/main/formats/pgdump';
import { readCopyData } from '../../src/main/formats/pgdump/copy-data';
import { LifeboatError } from '../../src/shared/errors';

const file = process.argv[2] as string;
let outcome: Record<string, unknown>;
try {
  const archive = await readPgDumpToc(file, { scanData: true });
  const facts = await readCopyData(createReadStream(file), archive, { label: path.basename(file) });
  outcome = { rows: [...facts.values()].map((f) => f.rows) };
} catch (error) {
  outcome = error instanceof LifeboatError ? { code: error.code, message: error.message, details: error.details } : { code: 'UNTYPED', message: String(error) };
}
process.stdout.write(`${JSON.stringify({ ...outcome, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
