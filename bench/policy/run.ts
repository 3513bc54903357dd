// Policy quality on Hallmonitor's own labelled corpus (test/corpus): builds every message with
// the real tools, runs the relay's exact examination (src/examine.ts) on each with the envelope
// from its label, and reports precision and recall per rule, false holds on ordinary mail and
// positives held. Writes bench/policy/RESULTS.md (folded into BENCHMARKS.md).
//
//   node bench/policy/run.ts            build, examine, print and write RESULTS.md
//   node bench/policy/run.ts --keep     also keep the built .eml files (path printed)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCorpus } from '../../test/corpus/build.ts';
import { corpusExaminer, examineCorpus, scoreCorpus, type CorpusResult, type CorpusScore } from '../../test/corpus/evaluate.ts';

const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));

const pct = (x: number | undefined) => (x === undefined ? 'n/a' : `${(x * 100).toFixed(0)}%`);
const rules = (list: string[]) => (list.length ? list.map((r) => `\`${r}\``).join(', ') : 'deliver');

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];
}

function report(score: CorpusScore, results: CorpusResult[], buildMs: number, load: { start: string; end: string }): string {
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const lines: string[] = [];
  lines.push('## Policy quality on the labelled corpus (`node bench/policy/run.ts`)');
  lines.push('');
  lines.push(
    `${score.messages} synthetic school emails (test/corpus/build.ts: class lists, SEN paperwork, safeguarding referrals, newsletters, trip letters, forwards, names in subjects and file names, encrypted files with and without their password, misdirected letters, corrupt files, ordinary business mail), ` +
      `attachments made by LibreOffice, zip, 7-Zip and qpdf; roster of 314 fictional pupils (test/corpus/roster.csv); shipped rule defaults, school domain oakfield.sch.uk, partner county.gov.uk. ` +
      `Each message is examined by \`createExaminer\` (the relay's code path) with the envelope from its label.`,
  );
  lines.push('');
  lines.push(`Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}; load average ${load.start} when the examination started, ${load.end} when it ended (the times below are only indicative).`);
  lines.push('');
  lines.push('| rule | labelled | fired correctly | fired wrongly | missed | precision | recall |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of score.perRule) {
    lines.push(`| \`${r.rule}\` | ${r.labelled} | ${r.truePositives} | ${r.falsePositives} | ${r.falseNegatives} | ${pct(r.precision)} | ${pct(r.recall)} |`);
  }
  lines.push('');
  lines.push(`- **False holds on ordinary mail: ${score.falseHolds.length} of ${score.ordinary}** messages that must be delivered were quarantined or blocked (target 0).`);
  lines.push(`- **Positives held: ${score.positivesHeld} of ${score.positives}** (target all).`);
  lines.push(`- Messages whose fired rules match the label exactly: ${score.messages - score.mismatches.length} of ${score.messages}.`);
  const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 3).map((r) => `${r.label.file} ${r.ms} ms`).join(', ');
  lines.push(`- Examination time per message (one examiner, messages in label order, first message pays the workers' start-up): median ${percentile(ms, 0.5)} ms, p90 ${percentile(ms, 0.9)} ms, max ${ms[ms.length - 1] ?? 0} ms (slowest: ${slowest}); building the corpus took ${(buildMs / 1000).toFixed(1)} s.`);
  if (score.mismatches.length) {
    lines.push('');
    lines.push('### Messages where the rules differ from the label');
    lines.push('');
    lines.push('| message | expected | fired | action | what it is |');
    lines.push('|---|---|---|---|---|');
    for (const r of score.mismatches) {
      lines.push(`| ${r.label.file} | ${rules(r.label.expect)} | ${rules(r.rules)} | ${r.action} | ${r.label.note.replace(/\|/g, '\\|')} |`);
    }
  }
  lines.push('');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const dir = mkdtempSync(path.join(tmpdir(), 'hallmonitor-policy-corpus-'));
  try {
    const t0 = performance.now();
    const labels = await buildCorpus(dir);
    const buildMs = performance.now() - t0;
    const examiner = await corpusExaminer();
    const loadNow = () => loadavg().map((l) => l.toFixed(2)).join(' ');
    const start = loadNow();
    let results: CorpusResult[];
    try {
      results = await examineCorpus(examiner, dir, labels);
    } finally {
      await examiner.close();
    }
    const score = scoreCorpus(results);
    const text = report(score, results, buildMs, { start, end: loadNow() });
    writeFileSync(RESULTS, text);
    process.stdout.write(text + `\nwritten to ${path.relative(process.cwd(), RESULTS)}\n`);
    if (keep) process.stdout.write(`corpus kept in ${dir}\n`);
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
