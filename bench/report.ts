// Builds BENCHMARKS.md from the summary below and each harness's latest RESULTS.md.
//   node bench/report.ts
// Each harness (bench/<area>/run.ts) writes its own bench/<area>/RESULTS.md with the machine, the
// command and the figures; this only gathers them, so BENCHMARKS.md never drifts from them.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
/** [area, title, harness (default run.ts), results file (default RESULTS.md)] */
const AREAS: Array<[string, string, string?, string?]> = [
  ['relay', 'The relay: receive → next hop'],
  ['relay', 'Added latency through the whole gateway', 'latency.ts', 'RESULTS-latency.md'],
  ['relay', 'Against Haraka and Rspamd, in the same run', 'peers.ts', 'RESULTS-peers.md'],
  ['workers', 'Every core: `serve --workers`'],
  ['detectors', 'Detectors: roster names and UK personal data'],
  ['check', 'End to end: one large email through `check`'],
  ['inspect', 'Inspection: every part of a message'],
  ['mime', 'The MIME layer: mailparser against postal-mime'],
  ['ocr', 'Text recognition (OCR): scanned and photographed pages'],
  ['ocr', "The relay's event loop while inspection's tools run (photos through the gate, archives through 7-Zip)", 'event-loop.ts', 'RESULTS-event-loop.md'],
  ['memory', 'Memory: large messages at once'],
  ['memory', 'Memory: one large letter examined', 'examine.ts', 'RESULTS-examine.md'],
  ['policy', 'Policy quality on the labelled school-mail corpus'],
  ['quarantine', 'Quarantine: holding a message durably'],
  ['console', "The business manager's console"],
  ['trust', 'A trust: many schools, two instances'],
  ['config', 'Configuration: the schema'],
];

const SUMMARY = readFileSync(path.join(ROOT, 'bench/SUMMARY.md'), 'utf8').trim();

const sections = AREAS.filter(([area, , , file = 'RESULTS.md']) => existsSync(path.join(ROOT, 'bench', area, file))).map(([area, title, harness = 'run.ts', file = 'RESULTS.md']) => {
  const body = readFileSync(path.join(ROOT, 'bench', area, file), 'utf8')
    .trim()
    .split('\n')
    // Each harness titles its own file; here every section sits under one "##" heading.
    .map((line) => {
      const level = /^#+ /.exec(line)?.[0].length ?? 0; // '# ' is 2 characters: level + 1
      if (!level) return line;
      const depth = level - 1;
      return `${'#'.repeat(depth <= 2 ? 3 : depth + 1)} ${line.slice(level)}`;
    })
    .join('\n');
  return `## ${title}\n\nCommand: \`node bench/${area}/${harness}\` (full output: \`bench/${area}/${file}\`).\n\n${body}\n`;
});

writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), `${SUMMARY}\n\n${sections.join('\n')}`);
console.log(`BENCHMARKS.md: ${sections.length} sections`);
