// End to end, as `hallmonitor check` runs it: one 20 MB plain-text email examined with a
// 50,000-pupil roster: MIME parsing, every detector, the personal-data model and every rule.
// Two bodies from the detector corpus: prose (letters, reports, newsletters) and the full mix
// with class lists pasted in (a finding every hundred bytes). Beside the scan-only figures of
// bench/detectors: this is what a large body costs in the relay.
//
//   node bench/check/run.ts                    measure this checkout, print, write RESULTS.md
//   node bench/check/run.ts --baseline DIR     … and a second checkout (another commit's tree
//                                              with its node_modules), each in a process of its
//                                              own, alternating, so both see the same machine
//   node bench/check/run.ts --quick            fewer repeats, nothing written
//   node bench/check/run.ts --only 'BODY'      one body of those below, nothing written
//
// Refuses to write RESULTS.md when the machine was busy (load average above 1.5 per core at the
// start); --force writes anyway, with the load printed beside the figures.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const value = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const quick = flag('--quick');
const BYTES = 20e6;
const PUPILS = 50_000;
const REPEATS = quick ? 3 : 7;
const ROUNDS = quick ? 1 : 3;

type Body = 'prose' | 'mixed' | 'prose, quoted-printable' | 'prose, base64' | 'prose, as Outlook sends it' | 'prose, attached in base64' | 'prose, attached as HTML';
const BODIES: Body[] = ['prose', 'mixed', 'prose, quoted-printable', 'prose, base64', 'prose, as Outlook sends it', 'prose, attached in base64', 'prose, attached as HTML'];

interface Row {
  body: Body;
  /** Set when the examination failed (the checkout could not examine this body at all). */
  error?: string;
  root: string;
  commit: string;
  bytes: number;
  compileMs: number;
  /** One examination each, after a warm-up. */
  ms: number[];
  /** Fresh memory each examination touched: its minor page faults, in MB (4 KB pages). */
  faultMb: number[];
  /** What touching fresh memory costs on this machine, ms a MB (a new 64 MB buffer written once, less the same written again). */
  freshMsPerMb: number;
  action: string;
  rules: string[];
}

/** Child: examine the email REPEATS times with the examiner of the checkout at `root`. */
async function measure(root: string, kind: Body): Promise<Row> {
  const { syntheticPupils, syntheticCorpus, toRoster } = (await import(pathToFileURL(path.join(ROOT, 'bench/detectors/corpus.ts')).href)) as typeof import('../detectors/corpus.ts');
  const { createExaminer } = (await import(pathToFileURL(path.join(root, 'src/examine.ts')).href)) as typeof import('../../src/examine.ts');
  const { loadPolicy } = (await import(pathToFileURL(path.join(root, 'src/decide/index.ts')).href)) as typeof import('../../src/decide/index.ts');
  const pupils = syntheticPupils(PUPILS);
  const docs = syntheticCorpus(kind === 'mixed' ? BYTES : BYTES * 1.4, pupils).filter((d) => kind === 'mixed' || d.kind !== 'class-list');
  const text = Buffer.concat(docs.flatMap((d) => [d.text, Buffer.from('\r\n\r\n')])).subarray(0, BYTES);
  // The same text as Outlook and Gmail send a long body: quoted-printable or base64, lines of 76.
  const encoding = kind.endsWith('quoted-printable') ? 'quoted-printable' : kind.endsWith('base64') ? 'base64' : '8bit';
  // (Outlook's shape is built below, from the same text.)
  const { default: libqp } = await import('libqp');
  const body =
    encoding === 'quoted-printable' ? Buffer.from(libqp.wrap(libqp.encode(text), 76)) : encoding === 'base64' ? Buffer.from(text.toString('base64').replace(/.{76}/g, '$&\r\n')) : text;
  const fields =
    'From: Office <office@school.example.org>\r\nTo: Parent <someone.personal@gmail.com>\r\nSubject: Reports and lists\r\n' +
    'Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <bench-check@school.example.org>\r\nMIME-Version: 1.0\r\n';
  const head = Buffer.from(fields + `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`);
  // Outlook: multipart/alternative, the text and the same text in HTML (a paragraph a line), both
  // quoted-printable; the 20 MB is the plain text's, so the message is about 2.5 times that.
  // The text as Word or Outlook writes it in HTML: a paragraph a line.
  const asHtml = () =>
    Buffer.from(
      '<html><body lang=EN-GB>\r\n' +
        text
          .toString('utf8')
          .split('\r\n')
          .map((line) => `<p class=MsoNormal><span style='font-size:11.0pt'>${line.replace(/&/g, '&amp;').replace(/</g, '&lt;') || '&nbsp;'}</span></p>`)
          .join('\r\n') +
        '\r\n</body></html>\r\n',
    );
  const outlook = () => {
    const qp = (b: Buffer) => Buffer.from(libqp.wrap(libqp.encode(b), 76));
    const html = asHtml();
    const part = (type: string) => `--alt\r\nContent-Type: ${type}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`;
    return Buffer.concat([Buffer.from(fields + 'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n' + part('text/plain')), qp(text), Buffer.from('\r\n' + part('text/html')), qp(html), Buffer.from('\r\n--alt--\r\n')]);
  };
  // A short note with the text attached as a file (report.txt, base64, lines of 76), as any mail program sends a document.
  const attached = () =>
    Buffer.concat([
      Buffer.from(
        fields +
          'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n--mix\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\nPlease find the reports attached.\r\n' +
          '--mix\r\nContent-Type: text/plain; charset="utf-8"; name="report.txt"\r\nContent-Disposition: attachment; filename="report.txt"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
      ),
      body, // the text in base64, lines of 76 ('attached in base64' ends with base64)
      Buffer.from('\r\n--mix--\r\n'),
    ]);
  // The same note with the text attached as a web page (report.html, the HTML above, base64).
  const attachedHtml = () =>
    Buffer.concat([
      Buffer.from(
        fields +
          'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n--mix\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\nPlease find the reports attached.\r\n' +
          '--mix\r\nContent-Type: text/html; charset="utf-8"; name="report.html"\r\nContent-Disposition: attachment; filename="report.html"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
      ),
      Buffer.from(asHtml().toString('base64').replace(/.{76}/g, '$&\r\n')),
      Buffer.from('\r\n--mix--\r\n'),
    ]);
  const raw =
    kind === 'prose, as Outlook sends it' ? outlook() : kind === 'prose, attached in base64' ? attached() : kind === 'prose, attached as HTML' ? attachedHtml() : Buffer.concat([head, body]);
  const t0 = performance.now();
  const policy = loadPolicy({ source: 'bench', school: { domains: ['school.example.org'] }, policy: {} });
  const examiner = await createExaminer({ policy, roster: toRoster(pupils) });
  const compileMs = performance.now() - t0;
  const envelope = { mailFrom: 'office@school.example.org', mailFromParams: {}, rcptTo: [{ address: 'someone.personal@gmail.com' }] };
  let first;
  try {
    first = await examiner.examine(raw, envelope); // warm-up
  } catch (err) {
    await examiner.close();
    return { body: kind, error: String((err as Error).message).slice(0, 120), root, commit: commitOf(root), bytes: raw.length, compileMs, ms: [], faultMb: [], freshMsPerMb: 0, action: '', rules: [] };
  }
  const ms: number[] = [];
  const faultMb: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const f = minorFaults();
    const s = performance.now();
    await examiner.examine(raw, envelope);
    ms.push(performance.now() - s);
    faultMb.push(((minorFaults() - f) * 4096) / 1e6);
  }
  await examiner.close();
  return { body: kind, root, commit: commitOf(root), bytes: raw.length, compileMs, ms, faultMb, freshMsPerMb: freshMemoryCost(), action: first.verdict.action, rules: first.verdict.rules };
}

/** This process's minor page faults so far (first touches of memory), from /proc (0 where there is none). */
function minorFaults(): number {
  try {
    return Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
  } catch {
    return 0;
  }
}

/** ms a MB to touch memory the process has never written, beyond writing memory it has: a new 64 MB buffer filled, then filled again. */
function freshMemoryCost(): number {
  const mb = 64;
  const t0 = performance.now();
  const b = Buffer.allocUnsafeSlow(mb << 20);
  b.fill(1);
  const t1 = performance.now();
  b.fill(2);
  const t2 = performance.now();
  return (t1 - t0 - (t2 - t1)) / mb;
}

function commitOf(root: string): string {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

if (argv[0] === '--child') {
  const row = await measure(argv[1], argv[2] as Body);
  process.stdout.write(JSON.stringify(row) + '\n');
  process.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

const only = value('--only') as Body | undefined;
if (only && !BODIES.includes(only)) throw new Error(`--only takes one of: ${BODIES.join('; ')}`);
const roots: Array<[string, string]> = [['this checkout', ROOT]];
const baseline = value('--baseline');
if (baseline) roots.push(['baseline', path.resolve(baseline)]);
const loadBefore = loadavg()[0];
console.log(`load average at start: ${load()} (${cpus().length} cores)`);
const results = new Map<string, Row[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const body of BODIES) {
    if (only && body !== only) continue;
    for (const [label, root] of roots) {
      const out = execFileSync(process.execPath, ['--max-old-space-size=4096', fileURLToPath(import.meta.url), '--child', root, body], { encoding: 'utf8', maxBuffer: 1 << 20 });
      const row = JSON.parse(out.trim().split('\n').at(-1)!) as Row;
      const key = `${body}\t${label}`;
      results.set(key, [...(results.get(key) ?? []), row]);
      const said = row.error ? `could not examine it: ${row.error}` : `median ${rate(row.bytes, median(row.ms)).toFixed(1)} MB/s, best ${rate(row.bytes, Math.min(...row.ms)).toFixed(1)} MB/s`;
      console.log(`${body}, ${label} (${row.commit}) round ${round + 1}: ${said}; load ${load()}`);
    }
  }
}
const loadAfter = load();

const lines: string[] = [];
lines.push('## End to end: `check` of one email with 20 MB of text, 50,000-pupil roster (`node bench/check/run.ts`)');
lines.push('');
lines.push(
  `One email with ${(BYTES / 1e6).toFixed(0)} MB of text to a personal Gmail address (prose: the detector corpus's letters, reports and newsletters; mixed: the same with its class lists, a finding every ~120 bytes; the prose again in quoted-printable and in base64, lines of 76, as Outlook sends a long letter: multipart/alternative, the text and the same text in HTML, both quoted-printable, and attached to a short note as a file, base64: the text, and the text as a web page (the HTML above); MB/s counted on the whole encoded message), examined by \`createExaminer\` exactly as \`hallmonitor check\` and the relay do: MIME parsing, every detector, the personal-data model and every rule. ` +
    `Each checkout runs in a process of its own, ${ROUNDS} round${ROUNDS > 1 ? 's' : ''} alternating, ${REPEATS} examinations each after a warm-up.`,
);
lines.push('');
lines.push(`Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}; load average ${loadBefore.toFixed(2)} at the start, ${loadAfter} at the end.`);
lines.push('');
lines.push('| body | checkout | commit | median MB/s | best MB/s | median ms | fresh memory touched a run (median) | roster compile | verdict |');
lines.push('|---|---|---|---:|---:|---:|---:|---:|---|');
for (const [key, rows] of results) {
  const [body, label] = key.split('\t');
  const r0 = rows[0];
  if (r0.error) {
    lines.push(`| ${body} | ${label} | ${r0.commit} | – | – | – | – | ${(r0.compileMs / 1000).toFixed(2)} s | could not examine it: \`${r0.error}\` |`);
    continue;
  }
  const all = rows.flatMap((r) => r.ms);
  lines.push(`| ${body} | ${label} | ${r0.commit} | ${rate(r0.bytes, median(all)).toFixed(1)} | ${rate(r0.bytes, Math.min(...all)).toFixed(1)} | ${median(all).toFixed(0)} | ${median(rows.flatMap((r) => r.faultMb)).toFixed(0)} MB | ${(median(rows.map((r) => r.compileMs)) / 1000).toFixed(2)} s | ${r0.action} (${r0.rules.join(', ') || 'no rule'}) |`);
}
lines.push('');
const fresh = [...results.values()].flat().map((r) => r.freshMsPerMb).filter((x) => x > 0);
if (fresh.length) {
  const perMb = median(fresh);
  // (No prose row when --only names another body: then no figure for it.)
  const proseFresh = [...results.entries()].filter(([k]) => k.startsWith('prose\t')).flatMap(([, rs]) => rs.flatMap((r) => r.faultMb));
  lines.push(
    `**Fresh memory.** Writing memory this process had never touched cost ${perMb.toFixed(2)} ms a MB here beyond writing it again (median of ${fresh.length} processes, a new 64 MB buffer each), so every MB an examination touches for the first time costs about that${proseFresh.length ? `: at the median fresh memory of the prose rows above, ${(perMb * median(proseFresh)).toFixed(0)} ms of the examination` : ''}. ` +
      'On this virtual machine (Firecracker, whose guest gives freed memory back to the host) a first touch is a fault in the host too; on a server whose memory stays with it, the same faults cost a small fraction of that. The figure varies from run to run with how much freed memory the allocator kept, which is much of why the same code measures differently from one process to the next.',
  );
  lines.push('');
}
const text = lines.join('\n');
console.log(`\n${text}`);
if (quick || only) process.exit(0);
if (loadBefore > 1.5 * cpus().length && !flag('--force')) {
  console.error(`not written: load average ${loadBefore.toFixed(2)} at the start is above 1.5 per core (--force writes it anyway)`);
  process.exit(1);
}
writeFileSync(path.join(HERE, 'RESULTS.md'), text);
console.log('written to bench/check/RESULTS.md');
