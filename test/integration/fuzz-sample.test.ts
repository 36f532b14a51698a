// The fixed-seed sample of the fuzz suite inside `npm test` (the full run is `npm run fuzz`): about
// 250 mutations of every app's real samples, each previewed in a child process like the CLI, under a
// 300 MB memory cap, with a hang cap and nothing left outside staging. Every case must end as a typed
// error or a valid preview; the table per format is printed.
import { describe, expect, it } from 'vitest';
import { fuzzCases } from '../fuzz/cases';
import { fuzzFailures, fuzzTable, runFuzz } from '../fuzz/run';

describe('fuzz sample (fixed seed)', () => {
  it('every case ends as a typed error or a valid preview, under the caps', async () => {
    const cases = await fuzzCases({ seed: 20261203, perSample: 14, bombs: 'small' });
    expect(cases.length).toBeGreaterThanOrEqual(200);
    expect(new Set(cases.map((c) => c.format)).size).toBe(6);
    const results = await runFuzz(cases, { workers: 1 });
    console.log(fuzzTable(results));
    expect(fuzzFailures(results).map((r) => `${r.verdict}: ${r.name} — ${r.message ?? ''}`)).toEqual([]);
    // The untouched samples preview intact, and broken input is recognised as broken, not waved through.
    const samples = cases.flatMap((c, i) => (c.sampleIntact === undefined ? [] : [{ name: c.name, expected: c.sampleIntact, result: results[i]! }]));
    expect(samples.map((s) => [s.name, s.result.verdict, s.result.intact])).toEqual(samples.map((s) => [s.name, 'valid', s.expected]));
    const refused = results.filter((r) => r.verdict === 'typed' || r.intact === false).length;
    expect(refused).toBeGreaterThan(results.length / 2);
  }, 600_000);
});
