// `npm run fuzz`: the full fuzz run (≥ 1500 cases, every bomb) with its table per format; exits 1 when a
// case crashed, hung, went over the memory cap or wrote outside staging. Options: --seed N,
// --per-sample N, --workers N, --json FILE (every result).
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { fuzzCases } from './cases';
import { fuzzFailures, fuzzTable, runFuzz } from './run';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '20261203' }, 'per-sample': { type: 'string', default: '120' }, workers: { type: 'string', default: '2' }, json: { type: 'string' } } });
const cases = await fuzzCases({ seed: Number(values.seed), perSample: Number(values['per-sample']), bombs: 'all' });
console.log(`${cases.length} cases, seed ${values.seed}`);
const results = await runFuzz(cases, {
  workers: Number(values.workers),
  onResult: (result, done, total) => {
    if (done % 100 === 0 || done === total) console.log(`  ${done}/${total}`);
    if (fuzzFailures([result]).length > 0) console.log(`  ${result.verdict.toUpperCase()}: ${result.name}${result.message ? ` — ${result.message}` : ''}`);
  },
});
console.log(`\n${fuzzTable(results)}`);
if (values.json) await writeFile(values.json, JSON.stringify(results, null, 2));
process.exitCode = fuzzFailures(results).length > 0 ? 1 : 0;
