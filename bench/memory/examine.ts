// Memory of one large letter's examination, in-process: the kernel's high-water mark (VmHWM)
// grown while one 30 MB plain-text letter is inspected, then inspected and scanned and decided,
// beyond the letter's own bytes (already held). Two letters: plain ASCII, and the same with one
// curly apostrophe a line (V8 stores a string holding one in two bytes a character). Each case in
// a fresh process, for this checkout and, with --baseline DIR, another commit's tree (with its
// node_modules), so both are measured in the same minutes.
//
//   node bench/memory/examine.ts                    this checkout, print, write RESULTS-examine.md
//   node bench/memory/examine.ts --baseline DIR     … and the checkout in DIR beside it
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { recordLoad } from '../load.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SIZE = 30 << 20;
const argv = process.argv.slice(2);

if (argv[0] === '--case') {
  // One measurement, in a process of its own: --case ROOT inspect|examine ascii|apostrophe
  const [, root, mode, letter] = argv;
  const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
  const line =
    letter === 'apostrophe'
      ? 'Dear parents, the trip to the museum is on Thursday; children’s packed lunch and a coat.\r\n'
      : 'Dear parents, the trip to the museum is on Thursday; children need a packed lunch and a coat.\r\n';
  const body = Buffer.from(line.repeat(Math.ceil(SIZE / Buffer.byteLength(line)))).subarray(0, SIZE);
  const raw = Buffer.concat([Buffer.from('From: office@school.example.org\r\nTo: parent@home.example\r\nSubject: Big letter\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'), body]);
  const at = (p: string) => pathToFileURL(path.join(root, p)).href;
  const { inspect, shutdownInspection } = (await import(at('src/inspect/index.ts'))) as typeof import('../../src/inspect/index.ts');
  const { createExaminer } = (await import(at('src/examine.ts'))) as typeof import('../../src/examine.ts');
  const { loadPolicy } = (await import(at('src/decide/index.ts'))) as typeof import('../../src/decide/index.ts');
  const examiner = mode === 'examine' ? await createExaminer({ policy: loadPolicy({ source: 'bench', school: { domains: ['school.example.org'] }, policy: {} }) }) : undefined;
  await inspect(Buffer.from('From: a@b\r\n\r\nwarm-up\r\n'));
  const before = hwm();
  const envelope = { mailFrom: 'office@school.example.org', mailFromParams: {}, rcptTo: [{ address: 'parent@home.example' }] };
  if (examiner) await examiner.examine(raw, envelope);
  else await inspect(raw);
  console.log(JSON.stringify({ growth: (hwm() - before) / raw.length }));
  await examiner?.close();
  await shutdownInspection();
  process.exit(0);
}

const load = recordLoad();
const baseline = argv.includes('--baseline') ? path.resolve(argv[argv.indexOf('--baseline') + 1]) : undefined;
const roots = [ROOT, ...(baseline ? [baseline] : [])];
const commit = (root: string) => execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD']).toString().trim();
const rows: string[] = [];
for (const letter of ['ascii', 'apostrophe'] as const) {
  for (const root of roots) {
    const growth = (mode: string) =>
      (JSON.parse(execFileSync(process.execPath, [import.meta.filename, '--case', root, mode, letter], { encoding: 'utf8' }).trim().split('\n').pop()!) as { growth: number }).growth;
    const row = `| ${letter === 'ascii' ? 'plain ASCII' : 'a curly apostrophe a line'} | ${root === ROOT ? 'this checkout' : 'baseline'} | ${commit(root)} | ${growth('inspect').toFixed(2)}× | ${growth('examine').toFixed(2)}× |`;
    console.log(row);
    rows.push(row);
  }
}
const out = [
  '## Memory: one 30 MB letter examined in-process (`node bench/memory/examine.ts`)',
  '',
  `How much the kernel's high-water mark (VmHWM) grows while one 30 MB text/plain letter is inspected (MIME, the body read), and inspected, scanned by every detector and decided, as a multiple of the letter's size, beyond the letter's own bytes (already held when measuring starts). Each case in a fresh process. ${load.describe()}.`,
  '',
  '| letter | checkout | commit | inspection | inspection and detection |',
  '|---|---|---|---:|---:|',
  ...rows,
  '',
  'A large single-part plain body is kept as its UTF-8 bytes and read by string index (src/inspect/utf8-text.ts); a commit before that built its string as well: 30 MB, or 60 MB with one curly apostrophe in it. The detectors read the bytes, and their word tables cost up to the body\'s size again.',
];
if (load.mayWrite('bench/memory/RESULTS-examine.md')) {
  writeFileSync(path.join(ROOT, 'bench/memory/RESULTS-examine.md'), out.join('\n') + '\n');
  console.log('written to bench/memory/RESULTS-examine.md');
}
