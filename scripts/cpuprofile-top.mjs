// Summarises V8 .cpuprofile files (node --cpu-prof writes one per thread) by self time per
// function: `node scripts/cpuprofile-top.mjs DIR/*.cpuprofile` (TOP=N rows, default 25).
import { readFileSync } from 'node:fs';

const self = new Map();
let total = 0;
for (const file of process.argv.slice(2)) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id).callFrame;
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    const micros = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + micros);
    total += micros;
  });
}
console.log(`${(total / 1e6).toFixed(2)} s sampled`);
for (const [key, micros] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 25))) {
  console.log(`${(micros / 1e6).toFixed(2).padStart(7)} s ${((100 * micros) / total).toFixed(1).padStart(5)} %  ${key}`);
}
