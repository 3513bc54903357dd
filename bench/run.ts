// Every benchmark harness in turn, then BENCHMARKS.md rebuilt from their RESULTS.md files.
//   npm run bench                 all of them (tens of minutes; run it on a quiet machine)
//   npm run bench -- policy check only the named ones
// Each harness prints the load average beside its figures; see each bench/<area>/run.ts.
import { execFileSync } from 'node:child_process';
import { loadavg, cpus } from 'node:os';
import path from 'node:path';

const HERE = import.meta.dirname;
const ALL = ['relay', 'detectors', 'check', 'inspect', 'ocr', 'memory', 'policy', 'quarantine', 'console', 'trust'];
const FLAGS: Record<string, string[]> = { detectors: ['--write'] };
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const areas = wanted.length ? ALL.filter((a) => wanted.includes(a)) : ALL;
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} cores`);
for (const area of areas) {
  console.log(`\n=== bench/${area} ===`);
  execFileSync(process.execPath, [path.join(HERE, area, 'run.ts'), ...(FLAGS[area] ?? [])], { stdio: 'inherit' });
}
execFileSync(process.execPath, [path.join(HERE, 'report.ts')], { stdio: 'inherit' });
