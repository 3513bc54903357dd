// Text recognition (issue 20): quality on a labelled set of scanned and photographed pages, the
// gate's precision and recall, recognition accuracy on roster names, pages a second per core, and
// the cost the gate adds to a message with five ordinary photos (target: under 100 ms in all).
//   node bench/ocr/run.ts            (writes bench/ocr/RESULTS.md)
// Waits (up to 15 minutes) for the 1-minute load average to fall below 2 on this 2-core machine
// before timing anything; the load is printed beside every timed figure.
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { createExaminer, type Examiner } from '../../src/examine.ts';
import { inspect, OCR_OFF, ocrStats, shutdownInspection, type OcrLimits } from '../../src/inspect/index.ts';
import { judgePicture } from '../../src/inspect/ocr.ts';
import { toolHelper } from '../../src/inspect/tool-runner.ts';
import { imageSize } from '../../src/inspect/ocr-image.ts';
import { realPictures } from './real-pictures.ts';
import type { Envelope } from '../../src/types.ts';
import { corpusPolicy } from '../../test/corpus/evaluate.ts';
import { mailWithAttachment } from '../../test/helpers/fixtures-tools.ts';
import { labelledPages, mailWithFiles, ocrFixtures, syntheticPhoto, toJpeg, type PhotoKind } from '../../test/helpers/ocr-fixtures.ts';
import { execFileSync } from 'node:child_process';

const ON: OcrLimits = { ...OCR_OFF, enabled: true };
const OUTSIDE: Envelope = { mailFrom: 'office@oakfield.sch.uk', mailFromParams: {}, rcptTo: [{ address: 'trips@adventure-centre.example' }] };
const out: string[] = [];
const say = (line = '') => {
  console.log(line);
  out.push(line);
};
const load = () => loadavg()[0].toFixed(2);
const fmt = (n: number, d = 0) => n.toLocaleString('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });
const pct = (a: number, b: number) => (b ? `${fmt((100 * a) / b, 0)}%` : '–');

/**
 * CPU seconds used by the finished children (Tesseract, pdftoppm, djpeg) of this process and of
 * the tools' helper process that starts them for inspection (tool-runner.ts).
 */
function childCpu(): number {
  const finished = (pid: number | 'self') => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[13]) + Number(f[14])) / 100;
  };
  const helper = toolHelper().pid;
  return finished('self') + (helper ? finished(helper) : 0);
}

async function waitForQuiet(): Promise<boolean> {
  const until = Date.now() + 15 * 60_000;
  while (loadavg()[0] >= 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10_000));
  return loadavg()[0] < 2;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const started = Date.now();
  const fx = ocrFixtures();
  const pages = labelledPages();
  say('## Text recognition of scanned and photographed pages (`node bench/ocr/run.ts`)');
  say();
  say(`Measured ${new Date().toISOString().slice(0, 10)} on ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, ${execFileSync('tesseract', ['--version']).toString().split('\n')[0]} (Debian, English data), OMP_THREAD_LIMIT=1. Pages made by LibreOffice → PDF → pdftoppm (→ cjpeg; phone photos simulated: turned, unevenly lit, noisy, 12 MP); photos synthetic (test/helpers/ocr-fixtures.ts); names from test/corpus/roster.csv.`);
  say();

  // 1. Quality on the labelled set, through the relay's examination, sent outside the school.
  const quiet = await waitForQuiet();
  say(`Load average (1 min) when timing started: ${load()}${quiet ? '' : ' — it did not fall below 2 within 15 minutes (other sessions on this machine); timed figures below are pessimistic'}.`);
  say();
  const examiner: Examiner = await createExaminer({ policy: corpusPolicy(), limits: { ocr: ON } });
  say('### Labelled set: sent outside the school, shipped rules');
  say();
  say('| file | what | expected | fired | pages read | gate skipped | names recognised | time | load |');
  say('|---|---|---|---|---:|---:|---:|---:|---:|');
  const perRule = new Map<string, { labelled: number; tp: number; fp: number; fn: number }>();
  let falseHolds = 0;
  let ordinary = 0;
  let namesSeen = 0;
  let namesFound = 0;
  for (const page of pages) {
    const t = performance.now();
    const r = await examiner.examine(mailWithAttachment(page.name, page.bytes), OUTSIDE);
    const ms = performance.now() - t;
    const fired = [...new Set(r.verdict.rules)].sort();
    for (const rule of new Set([...fired, ...page.expect])) {
      const s = perRule.get(rule) ?? { labelled: 0, tp: 0, fp: 0, fn: 0 };
      const want = page.expect.includes(rule);
      const got = fired.includes(rule);
      if (want) s.labelled++;
      if (want && got) s.tp++;
      else if (got) s.fp++;
      else s.fn++;
      perRule.set(rule, s);
    }
    if (!page.expect.length) {
      ordinary++;
      if (r.verdict.action !== 'deliver') falseHolds++;
    }
    const text = r.inspection.texts.filter((x) => x.where.startsWith('attachment:')).map((x) => x.text).join('\n');
    const found = page.names.filter((n) => text.includes(n)).length;
    namesSeen += page.names.length;
    namesFound += found;
    const ocr = r.inspection.attachments[0].ocr;
    say(`| ${page.name} | ${page.what} | ${page.expect.join(', ') || 'deliver'} | ${fired.join(', ') || 'deliver'} | ${ocr?.pagesRead ?? 0} | ${ocr?.skippedByGate ?? 0} | ${page.names.length ? `${found}/${page.names.length}` : '–'} | ${fmt(ms)} ms | ${load()} |`);
  }
  await examiner.close();
  say();
  say('| rule | labelled | fired correctly | fired wrongly | missed | recall |');
  say('|---|---:|---:|---:|---:|---:|');
  for (const [rule, s] of perRule) say(`| \`${rule}\` | ${s.labelled} | ${s.tp} | ${s.fp} | ${s.fn} | ${pct(s.tp, s.labelled)} |`);
  say();
  say(`- **False holds** on pages that must be delivered: ${falseHolds} of ${ordinary}.`);
  say(`- **Recognition accuracy on names**: ${namesFound} of ${namesSeen} roster names printed on the pages appear exactly in the recognised text (${pct(namesFound, namesSeen)}).`);
  say();

  // 2. The gate alone: precision and recall on pages of text and on pictures that are not.
  say('### The gate: does it look like a page of text?');
  say();
  const positives: Array<{ what: string; bytes: Buffer }> = [];
  const negatives: Array<{ what: string; bytes: Buffer }> = [];
  for (const page of pages) {
    if (!page.name.endsWith('.jpg') && !page.name.endsWith('.png')) continue;
    (page.what.includes('photo, no text') ? negatives : positives).push({ what: page.what, bytes: page.bytes });
  }
  const kinds: PhotoKind[] = ['field', 'crowd', 'portrait', 'shapes', 'gradient', 'noise'];
  // Seeds 0–3 were seen while the gate's thresholds were set; 4–7 were not (held out).
  for (let seed = 0; seed < 8; seed++) for (const k of kinds) negatives.push({ what: `synthetic ${k} (3000×2250)`, bytes: toJpeg(syntheticPhoto(k, 3000, 2250, 900 + seed * 10 + kinds.indexOf(k))) });
  negatives.push({ what: 'logo', bytes: fx.logoPng });
  const gateSays = async (bytes: Buffer): Promise<boolean> => (await judgePicture(bytes, bytes[0] === 0x89 ? 'png' : 'jpg')).looksText;
  let tp = 0;
  let fp = 0;
  const missed: string[] = [];
  const passed: string[] = [];
  for (const p of positives) if (await gateSays(p.bytes)) tp++; else missed.push(p.what);
  for (const n of negatives) if (await gateSays(n.bytes)) { fp++; passed.push(n.what); }
  say(`Pictures through the gate as the gateway runs it (header size; JPEG: djpeg scaled thumbnail, PNG: decoded here; then looksLikeText): ${positives.length} pages of text (scans, a PNG and phone photos of class lists, forms, a letter) and ${negatives.length} pictures without text (sports-day and synthetic photos: fields, crowds, portraits, shapes, gradients, noise; a logo). Synthetic photos are a weak stand-in for real ones: no public-domain photo set is installed here.`);
  say();
  say(`- Pages of text passed: ${tp} of ${positives.length} (recall ${pct(tp, positives.length)})${missed.length ? `; missed: ${missed.join('; ')}` : ''}.`);
  say(`- Pictures without text passed: ${fp} of ${negatives.length}${passed.length ? ` (${passed.join('; ')})` : ''}; precision ${pct(tp, tp + fp)}.`);
  say();

  // 2b. Real photographs and pictures from Debian's packages.
  const real = realPictures();
  if ('missing' in real) say(`Real pictures: not measured, ${real.missing}.`);
  else {
    const passedReal: string[] = [];
    const ms: number[] = [];
    const pictureCount = real.pictures.length;
    let judgedBySize = 0;
    for (const p of real.pictures) {
      const t = performance.now();
      const j = await judgePicture(p.bytes, p.format);
      ms.push(performance.now() - t);
      if (j.by === 'size') judgedBySize++;
      if (j.looksText) passedReal.push(`${p.name} (${j.by}${j.lines !== undefined ? `, ${j.lines} lines, ${j.glyphs} glyphs` : ''})`);
    }
    const small = [];
    for (const p of real.textPictures) small.push(`${path.basename(p.name)}: ${(await judgePicture(p.bytes, p.format)).by === 'size' ? 'ruled out by its size' : 'judged'}`);
    say(`**Real pictures** (${pictureCount}: photographs and desktop backgrounds from Debian's mate-backgrounds, ukui-wallpapers and lomiri-wallpapers, and scikit-image's sample pictures; JPEG and PNG, up to ${fmt(Math.max(...real.pictures.map((p) => { const z = imageSize(p.bytes, p.format); return z ? (z.width * z.height) / 1e6 : 0; })), 1)} megapixels; none is a page of text): ${passedReal.length} passed the gate (${pct(pictureCount - passedReal.length, pictureCount)} turned away)${passedReal.length ? `: ${passedReal.join('; ')}` : ''}; ${judgedBySize} by size alone. A picture that passes costs one Tesseract run, never a hold by itself. The gate's time a picture: median ${fmt(median(ms))} ms, slowest ${fmt(Math.max(...ms))} ms (${real.pictures[ms.indexOf(Math.max(...ms))].name}). scikit-image's two small pictures of text (${small.join(', ')}) are below a page's size. Load average ${load()}.`);
  }
  say();

  // 3. Cost of the gate on a message with five ordinary photos.
  say('### Cost added to a message with five ordinary photos (target: under 100 ms in all)');
  say();
  const five = mailWithFiles(fx.photos.map((p) => ({ name: `IMG_${p.kind}.jpg`, bytes: p.jpeg })));
  const offMs: number[] = [];
  const onMs: number[] = [];
  const gateMs: number[] = [];
  for (let i = 0; i < 7; i++) {
    let t = performance.now();
    await inspect(five);
    offMs.push(performance.now() - t);
    const g = ocrStats().gateSeconds;
    const read = ocrStats().pagesRead;
    t = performance.now();
    const r = await inspect(five, { ocr: ON });
    onMs.push(performance.now() - t);
    gateMs.push((ocrStats().gateSeconds - g) * 1000);
    if (ocrStats().pagesRead !== read || r.attachments.some((a) => a.ocr?.skippedByGate !== 1)) throw new Error('a photo went past the gate');
  }
  // The floor: libjpeg's scaled decoding still entropy-decodes every coefficient of the photo.
  // Timed from a small shell: started from this large process, each djpeg's fork would be timed too.
  const djpegMs: number[] = [];
  const photoFiles = fx.photos.map((p) => path.join(fx.dir, `photo-${p.kind}.jpg`));
  for (let i = 0; i < 7; i++) {
    const ms = execFileSync('sh', ['-c', 'start=$(date +%s%N); for f in "$@"; do djpeg -scale 1/8 -grayscale -pnm "$f" > /dev/null; done; echo $(( ($(date +%s%N) - start) / 1000000 ))', 'sh', ...photoFiles]).toString();
    djpegMs.push(Number(ms.trim()));
  }
  say(`Five 12-megapixel JPEG photos (${fmt(five.length / 1e6, 1)} MB message), inspected 7 times each way, medians: ocr off ${fmt(median(offMs))} ms, ocr on ${fmt(median(onMs))} ms, so **${fmt(median(onMs) - median(offMs))} ms added**. The gate's own time, summed over the five (thumbnail and judgement; two run at once, each beside the reading of the next attachment, their tools started by the small helper process): ${fmt(median(gateMs))} ms. \`djpeg -scale 1/8\` alone, the five one after another from a small shell, takes ${fmt(median(djpegMs))} ms (two at once on two cores, about half): libjpeg must entropy-decode every coefficient of a photo to give even its eighth, so that is the floor of looking at the pictures at all. Target (under 100 ms): **${median(onMs) - median(offMs) < 100 ? 'met' : 'not met'}**. Load average ${load()}.`);
  say();

  // 4. Throughput: pages a second per core (Tesseract's CPU time, one page at a time).
  say('### Throughput');
  say();
  const rows: string[] = [];
  for (const [what, name, bytes] of [
    ['class list, 300 dpi JPEG scan', 'scan.jpg', fx.scanJpeg],
    ['class list, image-only PDF (pdftoppm + Tesseract)', 'scan.pdf', fx.scanPdf],
    ['class list, 12 MP phone photo', 'IMG_4032.jpg', pages.find((p) => p.name === 'IMG_4032.jpg')!.bytes],
  ] as const) {
    const cpu0 = childCpu();
    const t = performance.now();
    const n = 3;
    for (let i = 0; i < n; i++) await inspect(mailWithAttachment(name, bytes), { ocr: ON });
    const wall = (performance.now() - t) / 1000 / n;
    const cpu = (childCpu() - cpu0) / n;
    rows.push(`| ${what} | ${fmt(wall, 2)} s | ${fmt(cpu, 2)} s | ${fmt(1 / cpu, 2)} | ${load()} |`);
  }
  say('| page | wall time a page | CPU time a page (subprocesses) | pages a second per core | load |');
  say('|---|---:|---:|---:|---:|');
  for (const r of rows) say(r);
  say();
  say(`With \`workers\` = ${Math.min(2, availableParallelism())} Tesseract processes at once, a many-page scan is read about that many times faster on an idle machine. Whole run: ${fmt((Date.now() - started) / 1000)} s.`);
  say();
  say('### Reading these figures');
  say();
  say('- The gate\'s thresholds (8 lines of 4 or more glyph-sized components, 100 glyphs on them) were set while looking at this labelled set and synthetic seeds 0–3; seeds 4–7 (24 pictures) were not looked at. Its second way through, for a short note (3 lines of 10 glyphs or more whose widths vary as letters\' do), was set later with every picture here in view, held-out seeds and Debian\'s pictures included: the two four-line typed notes (IMG_4060–4061) have 4 such lines at the gate\'s eighth, no photograph more than 2 (texture chains four or five blobs, not ten; a regular row of windows or pegs has blobs of one width, and every line of text measured has a width spread of 0.33 or more, where the rule asks 0.25). The pages of text are few (18 pictures, plus the PDF pages; two are colour photos of the class list printed on pale-yellow and canary-yellow paper, IMG_4037–4038); two are phone photos taken in a dim room (light at 30–40%, heavy grain: IMG_4034, IMG_4041), which Tesseract read as nothing until photos were stretched to full contrast before reading. Forms with little text are not in the set. A page with fewer than about 8 lines of text and fewer than 3 long ones (a newsletter page that is mostly photos, a note of one or two lines, a short note in small type far from the camera) does not pass the gate and is not read; a page photographed from further away (IMG_4036, a third of the frame\'s height) has glyphs too small for a camera photo\'s eighth and passes only the second look at a quarter (inspection.ocr_distant_pages).');
  say('- **Tried and not kept: judging a phone photo by the preview its camera stores inside it** (EXIF\'s 160-pixel thumbnail, decoded in a millisecond or two, to skip libjpeg\'s entropy decode of the whole photo). Measured 2026-12-07 (load average 0.5–1.6): with every photo carrying a phone-made preview, five photos added 230 ms instead of 491 (two of the five still needed the gate; both figures before the tools\' helper, which later brought the figure without previews to 168–226 ms), so the target was not met either way; of Debian\'s 24 real JPEGs the preview ruled out 1 of the 10 that carry their own, and 1 of the other 14 given one. A second review then found pages it would have ruled out: a page on a white table or beside a larger smooth wall (only the largest paper region was measured), and text dark enough to leave the paper region (bold headings, table rules); before paper of any colour among the picture\'s brightest counted, a class list on canary-yellow paper was delivered unread. A shortcut that can wave a page of pupil data through, for a saving real photos hardly showed, is not worth it; the gate decodes every large photo.');
  say('- Handwriting (IMG_4050–4053) is a handwriting font (Debian\'s femkeklaver, DkgHandwriting and the capitals of Because We Learn) photographed, not a person\'s hand: real handwriting varies more. Tesseract reads printed headings well and handwriting badly: the two forms\' handwritten names were read wrongly or without their accent, and 2 of the 8 names on the handwritten list exactly. The pages are still held for what is read around them (a medical condition beside a date read as one, the names it did read, the condition words), and the handwritten note with nothing personal in it is delivered; a school should not count on a handwritten name alone being recognised.');
  say('- Names are counted exactly as printed: one wrong letter is a miss. The rules need only part of a list to hold it (a list counts from 5 pupils), so a few misses do not change a verdict.');
  say('- Tesseract runs one thread per process (OMP_THREAD_LIMIT=1); its default threading took 8 s of wall time for a 1 s page on these 2 cores (the issue\'s measurement).');
  await shutdownInspection();
  writeFileSync(path.join(import.meta.dirname, 'RESULTS.md'), out.join('\n') + '\n');
}

await main();
