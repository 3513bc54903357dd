// Scanned pages and ordinary photos for the OCR tests and bench/ocr, made by real tools: a class
// list typed into an HTML table, printed to PDF by LibreOffice, rasterised by poppler's pdftoppm
// (as a photocopier's scan-to-email or a phone photo would give), compressed by libjpeg's cjpeg,
// and wrapped back into an image-only PDF. Photos are synthetic (gradients, noise, shapes, a
// textured field): no picture of a real person. Made once per recipe into a temp directory.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from '../../bench/detectors/names.ts';
import { imageSize } from '../../src/inspect/ocr-image.ts';
import { parsePnm } from '../../src/inspect/thumbnail.ts';
import { corpusPupils } from '../corpus/roster.ts';

export interface ClassRow {
  name: string;
  dob: string;
  upn: string;
  note: string;
}

/** The first `n` pupils of the corpus roster (test/corpus/roster.csv) as the rows of a class list. */
export function classRows(n = 25, offset = 0): ClassRow[] {
  const notes = ['asthma inhaler / EHCP', 'nut allergy (EpiPen)', 'EHCP', 'diabetes', 'SEN support', ''];
  return corpusPupils()
    .slice(offset, offset + n)
    .map((p, i) => ({ name: `${p.preferredForename || p.legalForename} ${p.legalSurname}`, dob: p.dob, upn: p.upn, note: notes[i % notes.length] }));
}

function pageHtml(title: string, rows: ClassRow[]): string {
  const body = rows.map((r) => `<tr><td>${r.name}</td><td>${r.dob}</td><td>${r.upn}</td><td>${r.note}</td></tr>`).join('\n');
  return `<html><body style="font-family: 'DejaVu Sans'; font-size: 11pt"><h2>${title}</h2>
<table border="1" cellpadding="3"><tr><th>Name</th><th>Date of birth</th><th>UPN</th><th>Medical / SEN</th></tr>
${body}</table></body></html>\n`;
}

const letterHtml = `<html><body style="font-family: 'DejaVu Serif'; font-size: 12pt"><p>Dear Parents and Carers,</p>
<p>Thank you for your support during the summer term. Sports day will be held on the school field on Friday
afternoon, weather permitting. Children should come to school in their PE kit with a named water bottle and a sun hat.</p>
<p>The Year 6 leavers' assembly takes place the following Wednesday at 2pm in the main hall. Families are warmly
invited; please arrive by 1.45pm as seating is limited.</p>
<p>The school office will be closed on the last day of term from 1pm. We wish everyone a restful and happy holiday
and look forward to welcoming the children back in September.</p><p>Yours sincerely,</p><p>Headteacher</p></body></html>\n`;

/** LibreOffice: HTML to PDF, in a private profile so it never meets another session's. */
function htmlToPdf(dir: string, name: string, html: string): string {
  const src = join(dir, `${name}.html`);
  writeFileSync(src, html);
  const profile = join(dir, 'lo-profile');
  execFileSync('soffice', [`-env:UserInstallation=file://${profile}`, '--headless', '--infilter=HTML (StarWriter)', '--convert-to', 'pdf:writer_pdf_Export', '--outdir', dir, src], { stdio: 'ignore', timeout: 180_000 });
  return join(dir, `${name}.pdf`);
}

/** pdftoppm: the first page of a PDF as a grey picture at `dpi` ('png', 'jpeg' or 'pgm'). */
export function rasterise(pdf: string, out: string, dpi: number, format: 'png' | 'jpeg' | 'pgm'): string {
  const args = ['-r', String(dpi), '-gray', '-f', '1', '-l', '1', '-singlefile'];
  if (format !== 'pgm') args.push(`-${format}`);
  execFileSync('pdftoppm', [...args, pdf, out]);
  return `${out}.${format === 'jpeg' ? 'jpg' : format}`;
}

/**
 * A PDF whose only content is one JPEG per page (DCTDecode), as a scanner writes it: no text layer;
 * with `footer`, a line of real text under the picture (a page number, a scanner's stamp).
 */
export function imageOnlyPdf(pages: Array<{ jpeg: Buffer; width: number; height: number; dpi: number; footer?: string; drawn?: number }>): Buffer {
  const objs: Buffer[] = [];
  const kids: string[] = [];
  const pageObjs: Array<() => void> = [];
  objs.push(Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'));
  objs.push(Buffer.alloc(0)); // pages, filled below
  pages.forEach((p, i) => {
    const pageNo = 3 + i * 3;
    kids.push(`${pageNo} 0 R`);
    const w = (p.width * 72) / p.dpi;
    const h = (p.height * 72) / p.dpi;
    pageObjs.push(() => {
      const font = p.footer ? ' /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >>' : '';
      objs.push(Buffer.from(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w.toFixed(2)} ${h.toFixed(2)}] /Resources << /XObject << /Im0 ${pageNo + 1} 0 R >>${font} >> /Contents ${pageNo + 2} 0 R >>`));
      objs.push(Buffer.concat([Buffer.from(`<< /Type /XObject /Subtype /Image /Width ${p.width} /Height ${p.height} /ColorSpace /${jpegComponents(p.jpeg) === 1 ? 'DeviceGray' : 'DeviceRGB'} /BitsPerComponent 8 /Filter /DCTDecode /Length ${p.jpeg.length} >>\nstream\n`), p.jpeg, Buffer.from('\nendstream')]));
      // A line of text under the picture, or several (split at \n), bottom up from 12 pt.
      const lines = p.footer ? p.footer.split('\n') : [];
      const footer = lines.map((line, k) => ` BT /F1 8 Tf 36 ${12 + (lines.length - 1 - k) * 10} Td (${line.replace(/[()\\]/g, '\\$&')}) Tj ET`).join('');
      // `drawn`: the picture drawn at that fraction of the page's width and height (a photo in a newsletter).
      const k = p.drawn ?? 1;
      const content = `q ${(w * k).toFixed(2)} 0 0 ${(h * k).toFixed(2)} 0 ${(h * (1 - k)).toFixed(2)} cm /Im0 Do Q${footer}`;
      objs.push(Buffer.from(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`));
    });
  });
  objs[1] = Buffer.from(`<< /Type /Pages /Kids [${kids.join(' ')}] /Count ${pages.length} >>`);
  for (const f of pageObjs) f();
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let length = parts[0].length;
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(length);
    const b = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), o, Buffer.from('\nendobj\n')]);
    parts.push(b);
    length += b.length;
  });
  const xref = [`xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`, ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)].join('');
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`));
  return Buffer.concat(parts);
}

export type PhotoKind = 'gradient' | 'noise' | 'shapes' | 'field' | 'crowd' | 'portrait';

/** A synthetic colour photo (PPM), `width` × `height`. */
export function syntheticPhoto(kind: PhotoKind, width: number, height: number, seed: number): Buffer {
  const rand = rng(seed);
  const px = Buffer.alloc(width * height * 3);
  const set = (x: number, y: number, r: number, g: number, b: number) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (y * width + x) * 3;
    px[i] = Math.max(0, Math.min(255, r));
    px[i + 1] = Math.max(0, Math.min(255, g));
    px[i + 2] = Math.max(0, Math.min(255, b));
  };
  const disc = (cx: number, cy: number, rad: number, c: [number, number, number]) => {
    for (let y = Math.floor(cy - rad); y <= cy + rad; y++) for (let x = Math.floor(cx - rad); x <= cx + rad; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= rad * rad) set(x, y, ...c);
  };
  const sky = [90 + rand() * 80, 140 + rand() * 60, 200 + rand() * 55];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = y / height;
      const n = (rand() - 0.5) * (kind === 'noise' ? 255 : 18);
      if (kind === 'field' || kind === 'crowd') {
        // Sky above, grass below with blade-like texture.
        if (t < 0.4) set(x, y, sky[0] + n, sky[1] + n, sky[2] + n);
        else {
          const blade = Math.sin(x * 0.9 + Math.sin(y * 0.3) * 3) * 25 + (rand() - 0.5) * 60;
          set(x, y, 50 + blade * 0.5, 130 + blade, 40 + blade * 0.3);
        }
      } else if (kind === 'noise') set(x, y, 128 + n, 128 + n, 128 + n);
      else set(x, y, sky[0] * (1 - t) + 200 * t + n, sky[1] * (1 - t) + 170 * t + n, sky[2] * (1 - t) + 120 * t + n);
    }
  }
  if (kind === 'shapes' || kind === 'crowd' || kind === 'portrait') {
    const count = kind === 'crowd' ? 40 : kind === 'portrait' ? 2 : 25;
    for (let k = 0; k < count; k++) {
      const cx = rand() * width;
      const cy = kind === 'crowd' ? height * (0.45 + rand() * 0.4) : rand() * height;
      const size = kind === 'portrait' ? Math.min(width, height) * (0.2 + rand() * 0.15) : Math.min(width, height) * (0.02 + rand() * 0.08);
      const c: [number, number, number] = [rand() * 255, rand() * 255, rand() * 255];
      if (kind === 'shapes' && k % 2) {
        for (let y = Math.floor(cy); y < cy + size; y++) for (let x = Math.floor(cx); x < cx + size * 1.6; x++) set(x, y, ...c);
      } else {
        disc(cx, cy, size, [230, 190, 160]); // a head
        for (let y = Math.floor(cy + size); y < cy + size * 4; y++) for (let x = Math.floor(cx - size * 1.2); x < cx + size * 1.2; x++) set(x, y, ...c); // a body
      }
    }
  }
  return Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), px]);
}

/** cjpeg: a PPM or PGM as a JPEG at `quality`. */
export function toJpeg(pnm: Buffer, quality = 88): Buffer {
  return execFileSync('cjpeg', ['-quality', String(quality)], { input: pnm, maxBuffer: 256 * 1024 * 1024 });
}

export interface OcrFixtures {
  dir: string;
  rows: ClassRow[];
  /** The class list printed to PDF (with a text layer). */
  textPdf: Buffer;
  /** The same page scanned: 300 dpi grey JPEG, and as an image-only PDF of that JPEG. */
  scanJpeg: Buffer;
  scanPdf: Buffer;
  /** The same page as a 200 dpi PNG (a screenshot-like lossless picture). */
  scanPng: Buffer;
  /** A letter to parents (no personal data), scanned at 300 dpi (JPEG). */
  letterJpeg: Buffer;
  /** An image-only PDF of three scanned class-list pages (for the page budget). */
  threePagePdf: Buffer;
  /** Ordinary photos (12 MP-ish phone size, JPEG) of several kinds. */
  photos: Array<{ kind: PhotoKind; jpeg: Buffer }>;
  /** A small logo-sized PNG. */
  logoPng: Buffer;
}

const RECIPE = '3';
let cached: OcrFixtures | undefined;

/** Makes (or reuses) the OCR fixtures. */
export function ocrFixtures(): OcrFixtures {
  if (cached) return cached;
  const key = createHash('sha256').update(RECIPE).update(readFileSync(new URL(import.meta.url))).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `hallmonitor-ocr-fixtures-${key}`);
  const rows = classRows(25);
  if (!existsSync(join(dir, 'done'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const textPdf = htmlToPdf(dir, 'classlist', pageHtml('Class 5B: trip list', rows));
    const jpg = rasterise(textPdf, join(dir, 'scan'), 300, 'jpeg');
    rasterise(textPdf, join(dir, 'scan'), 200, 'png');
    const letter = htmlToPdf(dir, 'letter', letterHtml);
    rasterise(letter, join(dir, 'letter'), 300, 'jpeg');
    const pages: Array<{ jpeg: Buffer; width: number; height: number; dpi: number }> = [];
    const scan = readFileSync(jpg);
    const size = jpegDims(scan);
    writeFileSync(join(dir, 'scan.pdf'), imageOnlyPdf([{ jpeg: scan, ...size, dpi: 300 }]));
    for (let i = 0; i < 3; i++) {
      const page = htmlToPdf(dir, `page${i}`, pageHtml(`Class list, page ${i + 1}`, classRows(20, 40 + i * 20)));
      const pj = readFileSync(rasterise(page, join(dir, `page${i}`), 200, 'jpeg'));
      pages.push({ jpeg: pj, ...jpegDims(pj), dpi: 200 });
    }
    writeFileSync(join(dir, 'three.pdf'), imageOnlyPdf(pages));
    const kinds: PhotoKind[] = ['field', 'crowd', 'portrait', 'shapes', 'gradient'];
    kinds.forEach((k, i) => writeFileSync(join(dir, `photo-${k}.jpg`), toJpeg(syntheticPhoto(k, 4032, 3024, 100 + i))));
    writeFileSync(join(dir, 'done'), '');
  }
  const read = (f: string) => readFileSync(join(dir, f));
  const logo = readFileSync(rasterise(join(dir, 'letter.pdf'), join(dir, 'logo'), 10, 'png'));
  cached = {
    dir,
    rows,
    textPdf: read('classlist.pdf'),
    scanJpeg: read('scan.jpg'),
    scanPdf: read('scan.pdf'),
    scanPng: read('scan.png'),
    letterJpeg: read('letter.jpg'),
    threePagePdf: read('three.pdf'),
    photos: (['field', 'crowd', 'portrait', 'shapes', 'gradient'] as PhotoKind[]).map((kind) => ({ kind, jpeg: read(`photo-${kind}.jpg`) })),
    logoPng: logo,
  };
  return cached;
}

/** Colour components of a JPEG (pdftoppm -gray -jpeg still writes three). */
function jpegComponents(b: Buffer): number {
  let i = 2;
  while (i + 9 < b.length) {
    const marker = b[i + 1];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return b[i + 9];
    i += 2 + b.readUInt16BE(i + 2);
  }
  throw new Error('not a JPEG');
}

export function jpegDims(b: Buffer): { width: number; height: number } {
  const size = imageSize(b, 'jpg');
  if (!size) throw new Error('not a JPEG');
  return size;
}

/**
 * A phone photo of a printed page (grey PGM in, PGM out, `width` × `height` portrait): the page
 * turned by `degrees`, on a darker desk, lit unevenly (a shadow across one corner), with sensor
 * noise. Nearest-neighbour sampling by the inverse rotation; deterministic.
 */
export function photographPage(page: Buffer, degrees: number, seed: number, width = 3024, height = 4032, light: { dim?: number; noise?: number; fill?: number; paper?: [number, number, number]; desk?: [number, number, number] } = {}): Buffer {
  // dim: the brightest the light gets (1 by day; a dim classroom at 0.4); noise: the sensor's
  // grain in grey levels (16 by day; a phone in low light amplifies it to 40 or more); fill: the
  // page's height in the frame (0.85: held close; 0.4: taken from across a desk).
  // paper and desk: colours (a PPM out; grey without them): the page printed on coloured paper,
  // lying on a wooden desk.
  const { dim = 1, noise = 16, fill = 0.85, paper, desk } = light;
  const p = parsePnm(page);
  if (!p) throw new Error('not a PGM');
  const rand = rng(seed);
  const colour = paper ?? desk;
  const out = Buffer.alloc(width * height * (colour ? 3 : 1));
  const a = (degrees * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  const scale = p.height / (height * fill);
  const cx = width / 2;
  const cy = height / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const sx = Math.round((dx * cos + dy * sin) * scale + p.width / 2);
      const sy = Math.round((-dx * sin + dy * cos) * scale + p.height / 2);
      const onPage = sx >= 0 && sy >= 0 && sx < p.width && sy < p.height;
      const base = onPage ? p.pixels[sy * p.width + sx] : 70 + ((x >> 5) % 3) * 8;
      const lit = dim * (0.72 + 0.28 * (x / width) * (1 - 0.4 * (y / height)));
      if (!colour) {
        out[y * width + x] = Math.max(0, Math.min(255, Math.round(base * lit + (rand() - 0.5) * noise)));
        continue;
      }
      const tint = onPage ? (paper ?? [255, 255, 255]) : (desk ?? [255, 255, 255]);
      const grain = (rand() - 0.5) * noise;
      for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(((base * tint[c]) / 255) * lit + grain)));
    }
  }
  return Buffer.concat([Buffer.from(`${colour ? 'P6' : 'P5'}\n${width} ${height}\n255\n`), out]);
}

export interface LabelledPage {
  name: string;
  /** What it is, in a few words, for the report. */
  what: string;
  bytes: Buffer;
  /** Rules that must fire when it is sent outside the school (empty: must be delivered). */
  expect: string[];
  /** Roster names printed on the page (for recognition accuracy). */
  names: string[];
}

const medicalHtml = (r: ClassRow) => `<html><body style="font-family: 'DejaVu Sans'; font-size: 12pt"><h2>Administration of medicines: parental consent</h2>
<p>Name of child: ${r.name}</p><p>Date of birth: ${r.dob}</p><p>Class: 5B</p>
<p>Medical condition or illness: asthma</p><p>Medicine: salbutamol inhaler, two puffs when needed</p>
<p>The school will keep the inhaler in the classroom medical box. Please tell the office of any change.</p>
<p>Signed (parent or carer): ____________________ Date: 14/09/2026</p></body></html>\n`;

const referralHtml = (r: ClassRow) => `<html><body style="font-family: 'DejaVu Sans'; font-size: 11pt"><h2>Safeguarding concern: record of disclosure</h2>
<p>Pupil: ${r.name}</p><p>Date of birth: ${r.dob}</p><p>UPN: ${r.upn}</p>
<p>During morning break the pupil told the class teacher about an incident at home. The Designated
Safeguarding Lead was informed at once. The family has a social worker and the pupil is on a
child protection plan. A referral has been made to children's social care.</p>
<p>Recorded by: class teacher. Passed to DSL at 10.40.</p></body></html>\n`;

const newsletterHtml = (photo: string) => `<html><body style="font-family: 'DejaVu Sans'; font-size: 11pt"><h1>Oakfield News: Summer</h1>
<p>What a term it has been! Our choir sang at the town festival and the Year 4 gardening club grew
enough beans for the whole school kitchen.</p><p><img src="${photo}" width="420" height="315"></p>
<p>Sports day was a great success. Thank you to every family who came to cheer, and to the PTA for the
cakes and drinks. The winning house this year was Kestrel.</p><p><img src="${photo}" width="420" height="315"></p>
<p>Dates for your diary: the summer fair is on 11 July and term ends on 22 July at 1.30pm.</p></body></html>\n`;

/** A short note about a pupil's allergy, four typed lines. */
export const allergyNote = (name: string) => ['For Mrs Khan (class 5B):', `${name} has a severe nut allergy.`, 'The EpiPen is in the front pocket of the bag.', 'No cake at the class party, please.'];
/** A short note with nothing personal in it, four typed lines. */
export const REMINDER_NOTE = ['Reminder for Year 5 parents:', 'PE kit is needed on Thursday this week.', 'Non-uniform day is on Friday, bring 1 pound.', 'Thank you for your help!'];

/** A few typed lines at the top of an otherwise empty page, printed and photographed by a phone (12 MP JPEG). */
export function photographedNote(dir: string, name: string, lines: string[], degrees: number, seed: number): Buffer {
  const html = `<html><body style="font-family: 'DejaVu Sans'; font-size: 14pt">${lines.map((l) => `<p>${l}</p>`).join('')}</body></html>\n`;
  const pgm = readFileSync(rasterise(htmlToPdf(dir, name, html), join(dir, name), 300, 'pgm'));
  return toJpeg(photographPage(pgm, degrees, seed), 85);
}

/** Handwriting fonts from Debian (fonts-femkeklaver, fonts-dkg-handwriting, fonts-bwht): a hand's shapes, not a real hand. */
const HANDS = { joined: 'femkeklaver', rounded: 'DkgHandwriting', capitals: 'Because We Learn' } as const;
type Hand = keyof typeof HANDS;

/** Written by hand in a blank (a parent filling in a printed form): larger than the print, in a handwriting font. */
const hand = (h: Hand, words: string) => `<span style="font-family: '${HANDS[h]}'; font-size: 17pt">${h === 'capitals' ? words.toUpperCase() : words}</span>`;

/** The medical consent form, printed, with its blanks filled in by hand. */
const handFilledMedicalHtml = (r: ClassRow, h: Hand) => `<html><body style="font-family: 'DejaVu Sans'; font-size: 12pt"><h2>Administration of medicines: parental consent</h2>
<p>Name of child: ${hand(h, r.name)}</p><p>Date of birth: ${hand(h, r.dob)}</p><p>Class: ${hand(h, '4T')}</p>
<p>Medical condition or illness: ${hand(h, 'asthma and a nut allergy')}</p><p>Medicine: ${hand(h, 'blue inhaler, EpiPen in her bag')}</p>
<p>The school will keep the medicine in the classroom medical box. Please tell the office of any change.</p>
<p>Signed (parent or carer): ${hand(h, 'J. Parent')} Date: ${hand(h, '2/9/26')}</p></body></html>\n`;

/** A page written wholly by hand: a trip's medical list, or (no personal data) a reminder. */
const handwrittenPageHtml = (h: Hand, title: string, lines: string[]) =>
  `<html><body style="font-family: '${HANDS[h]}'; font-size: 19pt"><p style="font-size: 24pt">${title}</p>${lines.map((l) => `<p>${l}</p>`).join('')}</body></html>\n`;

/** Fails with the package to install when a handwriting font is missing (LibreOffice would quietly print in its default font). */
function requireHandwritingFonts(): void {
  const families = execFileSync('fc-list', [':', 'family']).toString();
  for (const [h, family] of Object.entries(HANDS)) {
    if (!families.includes(family)) throw new Error(`the ${h} handwriting font (${family}) is missing: apt-get install fonts-femkeklaver fonts-dkg-handwriting fonts-bwht (test/prepare.sh installs them)`);
  }
}

let labelled: LabelledPage[] | undefined;

/**
 * The labelled set for bench/ocr: scanned and photographed class lists, a medical consent form,
 * a safeguarding record, a signed letter, a newsletter with photos, sports-day photos. Made once.
 */
export function labelledPages(): LabelledPage[] {
  if (labelled) return labelled;
  const fx = ocrFixtures();
  const dir = join(fx.dir, 'labelled');
  const rows = classRows(25, 100);
  const medical = classRows(1, 150)[0];
  const referral = classRows(1, 160)[0];
  if (!existsSync(join(dir, 'done'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const classPdf = htmlToPdf(dir, 'class', pageHtml('Year 3 swimming list', rows));
    const pgm = readFileSync(rasterise(classPdf, join(dir, 'class'), 300, 'pgm'));
    writeFileSync(join(dir, 'class-photo.jpg'), toJpeg(photographPage(pgm, 2.5, 7), 85));
    writeFileSync(join(dir, 'class-photo-flat.jpg'), toJpeg(photographPage(pgm, 0.5, 8), 85));
    const med = htmlToPdf(dir, 'medical', medicalHtml(medical));
    writeFileSync(join(dir, 'medical.jpg'), readFileSync(rasterise(med, join(dir, 'medical'), 300, 'jpeg')));
    const medPgm = readFileSync(rasterise(med, join(dir, 'medical'), 300, 'pgm'));
    writeFileSync(join(dir, 'medical-photo.jpg'), toJpeg(photographPage(medPgm, -1.5, 9), 85));
    const ref = htmlToPdf(dir, 'referral', referralHtml(referral));
    const refJpeg = readFileSync(rasterise(ref, join(dir, 'referral'), 300, 'jpeg'));
    writeFileSync(join(dir, 'referral.pdf'), imageOnlyPdf([{ jpeg: refJpeg, ...jpegDims(refJpeg), dpi: 300 }]));
    writeFileSync(join(dir, 'photo.jpg'), toJpeg(syntheticPhoto('crowd', 800, 600, 21)));
    const news = htmlToPdf(dir, 'news', newsletterHtml(join(dir, 'photo.jpg')));
    const newsJpeg = readFileSync(rasterise(news, join(dir, 'news'), 200, 'jpeg'));
    writeFileSync(join(dir, 'news.pdf'), imageOnlyPdf([{ jpeg: newsJpeg, ...jpegDims(newsJpeg), dpi: 200 }]));
    for (const [i, kind] of (['field', 'crowd', 'portrait', 'shapes', 'gradient', 'noise'] as PhotoKind[]).entries()) {
      writeFileSync(join(dir, `sports-${i}.jpg`), toJpeg(syntheticPhoto(kind, 4032, 3024, 300 + i)));
    }
    writeFileSync(join(dir, 'done'), '');
  }
  if (!existsSync(join(dir, 'done-dim'))) {
    // Pages photographed in a dim room: darker, with the grain a phone adds in low light.
    const pgm = readFileSync(rasterise(join(dir, 'class.pdf'), join(dir, 'class'), 300, 'pgm'));
    writeFileSync(join(dir, 'class-photo-dim.jpg'), toJpeg(photographPage(pgm, 1.5, 10, 3024, 4032, { dim: 0.4, noise: 40 }), 85));
    const medPgm = readFileSync(rasterise(join(dir, 'medical.pdf'), join(dir, 'medical'), 300, 'pgm'));
    writeFileSync(join(dir, 'medical-photo-dim.jpg'), toJpeg(photographPage(medPgm, -2, 11, 3024, 4032, { dim: 0.3, noise: 48 }), 85));
    writeFileSync(join(dir, 'done-dim'), '');
  }
  if (!existsSync(join(dir, 'done-far'))) {
    // A page photographed from across a desk: a third of the frame's height.
    const pgm = readFileSync(rasterise(join(dir, 'class.pdf'), join(dir, 'class'), 300, 'pgm'));
    writeFileSync(join(dir, 'class-photo-far.jpg'), toJpeg(photographPage(pgm, 1, 12, 3024, 4032, { fill: 0.35 }), 85));
    writeFileSync(join(dir, 'done-far'), '');
  }
  if (!existsSync(join(dir, 'done-colour'))) {
    // The class list printed on coloured paper and photographed on a wooden desk (a colour photo):
    // pale yellow, and canary yellow.
    const pgm = readFileSync(rasterise(join(dir, 'class.pdf'), join(dir, 'class'), 300, 'pgm'));
    writeFileSync(join(dir, 'class-photo-yellow.jpg'), toJpeg(photographPage(pgm, 1, 17, 3024, 4032, { paper: [250, 240, 175], desk: [150, 100, 60] }), 85));
    writeFileSync(join(dir, 'class-photo-canary.jpg'), toJpeg(photographPage(pgm, -1, 18, 3024, 4032, { paper: [255, 235, 110], desk: [150, 100, 60] }), 85));
    writeFileSync(join(dir, 'done-colour'), '');
  }
  const handRows = classRows(8, 170);
  const handMedical = classRows(2, 180);
  if (!existsSync(join(dir, 'done-hand'))) {
    // Handwriting: forms filled in by hand, a list written out by hand, and a handwritten note
    // with nothing personal in it, each photographed on a desk as a phone would.
    requireHandwritingFonts();
    const photo = (name: string, html: string, degrees: number, seed: number) => {
      const pdf = htmlToPdf(dir, name, html);
      const pgm = readFileSync(rasterise(pdf, join(dir, name), 300, 'pgm'));
      writeFileSync(join(dir, `${name}.jpg`), toJpeg(photographPage(pgm, degrees, seed), 85));
    };
    photo('medical-hand-joined', handFilledMedicalHtml(handMedical[0], 'joined'), 1, 13);
    photo('medical-hand-capitals', handFilledMedicalHtml(handMedical[1], 'capitals'), -1, 14);
    photo('trip-hand', handwrittenPageHtml('rounded', 'Forest School trip: medical', handRows.map((r, i) => `${r.name} – ${['inhaler', 'EpiPen (nuts)', 'diabetes, snacks', 'EHCP, 1:1 TA'][i % 4]}`)), 0.5, 15);
    photo('note-hand', handwrittenPageHtml('rounded', 'Reminders for Friday', [
      'PE kit in bags please', 'Library books back by lunch', 'Cake sale at 3pm on the field', 'Bring a coat, it may rain', 'Spelling test moved to Monday',
      'Choir practice after school', 'Water bottles with names on', 'Thank you for your help!',
    ]), -0.5, 16);
    writeFileSync(join(dir, 'done-hand'), '');
  }
  const noteRow = classRows(1, 190)[0];
  if (!existsSync(join(dir, 'done-notes'))) {
    // Short notes: a few typed lines at the top of a page, photographed: one about a pupil's
    // allergy, one with nothing personal in it.
    writeFileSync(join(dir, 'note-allergy.jpg'), photographedNote(dir, 'note-allergy', allergyNote(noteRow.name), 1, 19));
    writeFileSync(join(dir, 'note-plain.jpg'), photographedNote(dir, 'note-plain', REMINDER_NOTE, -1, 20));
    writeFileSync(join(dir, 'done-notes'), '');
  }
  const read = (f: string) => readFileSync(join(dir, f));
  const CLASS = ['unencrypted-sensitive-attachment'];
  const rowNames = fx.rows.map((r) => r.name);
  labelled = [
    { name: 'Scan_0042.pdf', what: 'class list, scanned (image-only PDF, 300 dpi)', bytes: fx.scanPdf, expect: CLASS, names: rowNames },
    { name: 'scan.jpg', what: 'class list, scanned (JPEG, 300 dpi)', bytes: fx.scanJpeg, expect: CLASS, names: rowNames },
    { name: 'class list.png', what: 'class list, screenshot-like PNG (200 dpi)', bytes: fx.scanPng, expect: CLASS, names: rowNames },
    { name: 'IMG_4032.jpg', what: 'class list, phone photo (12 MP, turned 2.5°, shadow, noise)', bytes: read('class-photo.jpg'), expect: CLASS, names: rows.map((r) => r.name) },
    { name: 'IMG_4033.jpg', what: 'class list, phone photo (12 MP, turned 0.5°)', bytes: read('class-photo-flat.jpg'), expect: CLASS, names: rows.map((r) => r.name) },
    { name: 'registers.pdf', what: 'three class-list pages, scanned (image-only PDF, 200 dpi)', bytes: fx.threePagePdf, expect: CLASS, names: [] },
    { name: 'IMG_4034.jpg', what: 'class list, phone photo in a dim room (light at 40%, heavy grain)', bytes: read('class-photo-dim.jpg'), expect: CLASS, names: rows.map((r) => r.name) },
    { name: 'IMG_4036.jpg', what: 'class list, phone photo from across a desk (the page a third of the frame)', bytes: read('class-photo-far.jpg'), expect: CLASS, names: rows.map((r) => r.name) },
    { name: 'IMG_4037.jpg', what: 'class list on pale yellow paper, colour phone photo on a wooden desk', bytes: read('class-photo-yellow.jpg'), expect: CLASS, names: rows.map((r) => r.name) },
    { name: 'IMG_4038.jpg', what: 'class list on canary-yellow paper, colour phone photo on a wooden desk', bytes: read('class-photo-canary.jpg'), expect: CLASS, names: rows.map((r) => r.name) },
    { name: 'consent.jpg', what: 'medical consent form, one pupil (JPEG scan)', bytes: read('medical.jpg'), expect: CLASS, names: [medical.name] },
    { name: 'IMG_4040.jpg', what: 'medical consent form, phone photo', bytes: read('medical-photo.jpg'), expect: CLASS, names: [medical.name] },
    { name: 'IMG_4041.jpg', what: 'medical consent form, phone photo in a dim room (light at 30%, heavy grain)', bytes: read('medical-photo-dim.jpg'), expect: CLASS, names: [medical.name] },
    { name: 'record.pdf', what: 'safeguarding record, one pupil (image-only PDF)', bytes: read('referral.pdf'), expect: CLASS, names: [referral.name] },
    { name: 'IMG_4050.jpg', what: 'medical consent form filled in by hand (joined hand), phone photo', bytes: read('medical-hand-joined.jpg'), expect: CLASS, names: [handMedical[0].name] },
    { name: 'IMG_4051.jpg', what: 'medical consent form filled in by hand (block capitals), phone photo', bytes: read('medical-hand-capitals.jpg'), expect: CLASS, names: [handMedical[1].name.toUpperCase()] },
    { name: 'IMG_4052.jpg', what: 'trip medical list written out by hand (8 pupils), phone photo', bytes: read('trip-hand.jpg'), expect: CLASS, names: handRows.map((r) => r.name) },
    { name: 'IMG_4053.jpg', what: 'handwritten reminders with no personal data, phone photo', bytes: read('note-hand.jpg'), expect: [], names: [] },
    { name: 'IMG_4060.jpg', what: 'short typed note about a pupil\u2019s allergy (four lines), phone photo', bytes: read('note-allergy.jpg'), expect: CLASS, names: [noteRow.name] },
    { name: 'IMG_4061.jpg', what: 'short typed reminder with no personal data (four lines), phone photo', bytes: read('note-plain.jpg'), expect: [], names: [] },
    { name: 'letter.jpg', what: 'letter to parents with no personal data (JPEG scan)', bytes: fx.letterJpeg, expect: [], names: [] },
    { name: 'newsletter.pdf', what: 'newsletter with photos (image-only PDF)', bytes: read('news.pdf'), expect: [], names: [] },
    ...[0, 1, 2, 3, 4, 5].map((i) => ({ name: `IMG_51${i}0.jpg`, what: 'sports-day photo, no text (12 MP)', bytes: read(`sports-${i}.jpg`), expect: [], names: [] })),
  ];
  return labelled;
}

/** A Word document (by LibreOffice; .docx, or Word 97 .doc) holding one line of text and the scanned class list as a picture. */
export function scanInDocx(format: 'docx' | 'doc' = 'docx'): Buffer {
  const fx = ocrFixtures();
  const out = join(fx.dir, `form.${format}`);
  if (!existsSync(out)) {
    // A data: URI, so LibreOffice embeds the picture rather than linking it.
    const html = `<html><body><p>Signed form attached below.</p><p><img src="data:image/jpeg;base64,${fx.scanJpeg.toString('base64')}" width="600" height="848"></p></body></html>\n`;
    const pdfless = join(fx.dir, 'form.html');
    writeFileSync(pdfless, html);
    const filter = format === 'docx' ? 'docx:MS Word 2007 XML' : 'doc:MS Word 97';
    execFileSync('soffice', [`-env:UserInstallation=file://${join(fx.dir, 'lo-profile')}`, '--headless', '--infilter=HTML (StarWriter)', '--convert-to', filter, '--outdir', fx.dir, pdfless], { stdio: 'ignore', timeout: 180_000 });
  }
  return readFileSync(out);
}

/** A message from the school office with several JPEG attachments (base64). */
export function mailWithFiles(files: Array<{ name: string; bytes: Buffer }>): Buffer {
  const parts = files.map((f) =>
    ['--b', `Content-Type: image/jpeg; name="${f.name}"`, `Content-Disposition: attachment; filename="${f.name}"`, 'Content-Transfer-Encoding: base64', '', ...(f.bytes.toString('base64').match(/.{1,76}/g) ?? [])].join('\r\n'),
  );
  return Buffer.from(['From: office@oakfield.sch.uk', 'To: trips@adventure-centre.example', 'Subject: Photos', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '', '--b', 'Content-Type: text/plain', '', 'Photos from the trip.', ...parts, '--b--', ''].join('\r\n'));
}
