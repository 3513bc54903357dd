// What inspection's tools cost the relay: the message's inspection time, and how long the event
// loop (every connection the gateway serves) is held at once, in a process the size of a running
// gateway (400 MB held besides: starting a tool forks the process that starts it, and the fork
// grows with its memory). Two messages: five 12 MP photos through text recognition's gate (OCR
// on), and three archives 7-Zip reads (a .7z, a .tar.gz and a .csv.gz: eight 7-Zip runs). Each
// inspected 7 times; each tree in a fresh process, this checkout and, with --baseline DIR,
// another commit's tree (with its node_modules), in the same minutes.
//
//   node bench/ocr/event-loop.ts                    this checkout, print, write RESULTS-event-loop.md
//   node bench/ocr/event-loop.ts --baseline DIR     … and the checkout in DIR beside it
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { mailWithFiles, ocrFixtures } from '../../test/helpers/ocr-fixtures.ts';
import { recordLoad } from '../load.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ROUNDS = 7;
const argv = process.argv.slice(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (argv[0] === '--case') {
  // One tree, in a process of its own: --case ROOT MESSAGE_FILE photos|archives
  const [, root, file, kind] = argv;
  const message = readFileSync(file);
  // A running gateway's memory: buffers and many small objects (about 400 MB resident).
  const held: unknown[] = [];
  for (let i = 0; i < 200; i++) held.push(Buffer.alloc(1 << 20, 1));
  held.push(Array.from({ length: 600_000 }, (_, i) => ({ i, s: `x${i}` })));
  const at = (p: string) => pathToFileURL(path.join(root, p)).href;
  const inspection = (await import(at('src/inspect/index.ts'))) as typeof import('../../src/inspect/index.ts');
  const ocr = { ...inspection.OCR_OFF, enabled: kind === 'photos' };
  await inspection.warmUpInspection({ ocr });
  await inspection.inspect(message, { ocr });
  const wall: number[] = [];
  const max: number[] = [];
  const p99: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const t = performance.now();
    const r = await inspection.inspect(message, { ocr });
    wall.push(performance.now() - t);
    delay.disable();
    max.push(delay.max / 1e6);
    p99.push(delay.percentile(99) / 1e6);
    if (kind === 'photos' && r.attachments.some((a) => a.ocr?.skippedByGate !== 1)) throw new Error('a photo went past the gate');
    if (kind === 'archives' && (r.uninspectable.length || r.texts.filter((t) => t.text.includes('Thornbury')).length !== 3)) throw new Error('an archive was not read');
  }
  console.log(JSON.stringify({ rss: process.memoryUsage().rss, wall: median(wall), max: median(max), p99: median(p99), worst: Math.max(...max), held: held.length }));
  await inspection.shutdownInspection();
  process.exit(0);
}

const load = recordLoad();
const baseline = argv.includes('--baseline') ? path.resolve(argv[argv.indexOf('--baseline') + 1]) : undefined;
const roots = [ROOT, ...(baseline ? [baseline] : [])];
const commit = (root: string) => execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD']).toString().trim();
const dir = mkdtempSync(path.join(tmpdir(), 'hm-bench-event-loop-'));
const fx = ocrFixtures();
const messages = { photos: path.join(dir, 'five-photos.eml'), archives: path.join(dir, 'three-archives.eml') };
writeFileSync(messages.photos, mailWithFiles(fx.photos.map((p) => ({ name: `IMG_${p.kind}.jpg`, bytes: p.jpeg }))));
// Three archives made by the tools a school's staff use (7-Zip, tar, gzip) of a class list and a note.
const work = path.join(dir, 'work');
mkdirSync(work);
writeFileSync(path.join(work, 'list.csv'), Array.from({ length: 30 }, (_, i) => `Pupil ${i},Thornbury,5B,12/03/2015`).join('\n') + '\n');
writeFileSync(path.join(work, 'notes.txt'), 'Trip to the farm on Friday; packed lunches please.\n');
execFileSync('7z', ['a', '-bd', '-y', path.join(dir, 'lists.7z'), 'list.csv', 'notes.txt'], { cwd: work, stdio: 'ignore' });
execFileSync('tar', ['czf', path.join(dir, 'lists.tar.gz'), 'list.csv', 'notes.txt'], { cwd: work });
writeFileSync(path.join(dir, 'list.csv.gz'), execFileSync('gzip', ['-c', path.join(work, 'list.csv')]));
writeFileSync(messages.archives, mailWithFiles(['lists.7z', 'lists.tar.gz', 'list.csv.gz'].map((name) => ({ name, bytes: readFileSync(path.join(dir, name)) }))));
const rows: Record<keyof typeof messages, string[]> = { photos: [], archives: [] };
// Twice each, alternating, so neither tree has the quieter minutes to itself.
for (let pass = 0; pass < 2; pass++) {
  for (const kind of ['photos', 'archives'] as const) {
    for (const root of roots) {
      const r = JSON.parse(execFileSync(process.execPath, [import.meta.filename, '--case', root, messages[kind], kind], { encoding: 'utf8' }).trim().split('\n').pop()!) as { rss: number; wall: number; max: number; p99: number; worst: number };
      const row = `| ${root === ROOT ? 'this checkout' : 'baseline'} | ${commit(root)} | ${Math.round(r.rss / 1e6)} MB | ${Math.round(r.wall)} ms | ${r.max.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${r.worst.toFixed(1)} ms |`;
      console.log(`${kind} ${row}`);
      rows[kind].push(row);
    }
  }
}
rmSync(dir, { recursive: true, force: true });
const head = ['| tree | commit | resident | inspection | event loop held, longest (median) | event loop delay p99 (median) | longest of all |', '|---|---|---:|---:|---:|---:|---:|'];
const out = [
  '## The relay\'s event loop while inspection\'s tools run (`node bench/ocr/event-loop.ts`)',
  '',
  `Measured ${new Date().toISOString().slice(0, 10)}, Node ${process.version}; ${load.describe()}. Each message inspected ${ROUNDS} times in a process that also holds 400 MB of buffers and small objects, as a running gateway does (starting a tool forks the process that starts it, and the fork grows with its memory); medians over the ${ROUNDS}, two passes a tree, alternating.`,
  '',
  `### Five 12-megapixel JPEG photos through text recognition's gate (field, crowd, portrait, shapes, gradient; ${fx.photos.length} attachments; OCR on)`,
  '',
  ...head,
  ...rows.photos,
  '',
  '### Three archives read by 7-Zip (a .7z, a .tar.gz and a .csv.gz of a 30-pupil class list and a note: eight 7-Zip runs; OCR off)',
  '',
  ...head,
  ...rows.archives,
  '',
];
if (load.mayWrite('bench/ocr/RESULTS-event-loop.md')) writeFileSync(path.join(import.meta.dirname, 'RESULTS-event-loop.md'), out.join('\n'));
