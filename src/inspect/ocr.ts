// Text recognition of scanned documents and photographed pages (issue 20).
//
// A picture (PNG, JPEG, TIFF, GIF, BMP, WebP, HEIF) or a PDF page without a usable text layer is
// first shrunk to a thumbnail and put through the gate (ocr-image.ts: does it look like a page of
// text?); only pages that pass are read by Tesseract. Tesseract, pdftoppm (PDF pages to pictures),
// djpeg (libjpeg's scaled decoding: a 12-megapixel photo's eighth in a few milliseconds), dwebp
// and tifftopnm (WebP and TIFF thumbnails; where they are not installed those pictures go to
// Tesseract unjudged, which costs time but lets nothing through) and heif-convert (HEIF to JPEG;
// without it a HEIF picture is unread, and held when it leaves the school) run as subprocesses
// under an OS data-segment limit and a deadline, one thread each (OMP_THREAD_LIMIT=1:
// Tesseract's own threading cost 8 s of wall time for a 1 s page on two cores), at most
// `workers` at once. The budget is per message: pages and seconds; a page that looks like text
// but is past the budget becomes an uninspectable finding that counts only for mail leaving the
// school (Uninspectable.outsideOnly).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageSize, judgeJpegThumbnail, judgeThumbnails, looksLikeText, shrink, tooSmallForPage, type PictureJudgement } from './ocr-image.ts';
import { inspectionTools, type ToolResult } from './tool-runner.ts';
import type { ImageFormat } from './ocr-image.ts';
import { decodeBmp, decodeGif, parsePnm, pngThumbnail, THUMBNAIL_SIDE, type GreyImage } from './thumbnail.ts';

export type { PictureJudgement } from './ocr-image.ts';

/** How text recognition runs; part of InspectionLimits (`ocr`). */
export interface OcrLimits {
  enabled: boolean;
  /** Tesseract language codes joined with '+': ['eng'] by default. */
  languages: string[];
  /** Pages read by Tesseract for one message in all. */
  maxPages: number;
  /** Time one page may take (rasterising and recognition). */
  pageTimeoutMs: number;
  /** Time all the pages of one message may take together. */
  messageTimeoutMs: number;
  /** Resolution PDF pages are rasterised at. */
  dpi: number;
  /** The Tesseract program (a name on PATH or a path). */
  tesseract: string;
  /** A second, finer look at a large JPEG the gate turned away (a page photographed from further off). */
  distantPages: boolean;
}

export const OCR_OFF: OcrLimits = Object.freeze({ enabled: false, languages: ['eng'], maxPages: 20, pageTimeoutMs: 30_000, messageTimeoutMs: 90_000, dpi: 300, tesseract: 'tesseract', distantPages: true });

/** What text recognition did for one attachment (AttachmentReport.ocr). */
export interface OcrReport {
  /** Pages read by Tesseract. */
  pagesRead: number;
  /** Pages (or pictures) the gate judged not to be text: photos, logos, blank pages. */
  skippedByGate: number;
  /** Pages that looked like text but were past the message's page or time budget. */
  skippedByBudget: number;
}

/** Counters since the process started, for /metrics. */
export interface OcrStats {
  pagesRead: number;
  secondsSpent: number;
  skippedByGate: number;
  skippedByBudget: number;
  gateSeconds: number;
}

const stats: OcrStats = { pagesRead: 0, secondsSpent: 0, skippedByGate: 0, skippedByBudget: 0, gateSeconds: 0 };

export function ocrStats(): OcrStats {
  return { ...stats };
}

// ---------------------------------------------------------------------------------------------
// Subprocesses: bounded in number, memory and time.

/** At most `limit` tasks at once, the rest waiting in order. */
class Lanes {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  async run<T>(limit: number, fn: () => Promise<T>): Promise<T> {
    while (this.running >= Math.max(1, limit)) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/** Tesseract and pdftoppm (seconds a page). */
const readers = new Lanes();
/** Thumbnails for the gate (milliseconds a picture), apart so a photo never waits behind a page being read. */
const gates = new Lanes();

function slot<T>(limit: number, fn: () => Promise<T>): Promise<T> {
  return readers.run(limit, fn);
}

/** `dataMb`: the data segment the subprocess may use (ulimit -d), as the PDF reader's. The tools run from a small helper process (tool-runner.ts): a fork of the gateway stalls its event loop. */
function run(program: string, args: string[], timeoutMs: number, dataMb: number, input?: Buffer): Promise<ToolResult> {
  return inspectionTools().run(program, args, timeoutMs, dataMb, input);
}

/**
 * Whether Tesseract (with the languages asked for), pdftoppm and djpeg can be run. Checked once at
 * start-up: undefined when all is well, or why text recognition is off (plain English).
 */
export function ocrUnavailable(limits: Pick<OcrLimits, 'tesseract' | 'languages'>): string | undefined {
  const langs = spawnSync(limits.tesseract, ['--list-langs'], { encoding: 'utf8', timeout: 10_000 });
  if (langs.error || langs.status !== 0) return `Tesseract (${limits.tesseract}) was not found or does not run`;
  const installed = new Set(`${langs.stdout}`.split('\n').map((l) => l.trim()));
  const missing = limits.languages.filter((l) => !installed.has(l));
  if (missing.length) return `Tesseract has no language data for ${missing.join(', ')} (Debian: tesseract-ocr-${missing[0]})`;
  for (const [program, pkg] of [['pdftoppm', 'poppler-utils'], ['djpeg', 'libjpeg-turbo-progs']]) {
    const r = spawnSync(program, ['-v'], { timeout: 10_000, stdio: 'ignore' });
    if (r.error) return `${program} was not found (Debian: ${pkg})`;
  }
  return undefined;
}

/**
 * The settings as they will run: unchanged, or turned off with the reason when Tesseract or a
 * helper is missing (the gateway says the reason once at start-up).
 */
export function ocrAsAvailable(limits: OcrLimits): { limits: OcrLimits; off?: string } {
  if (!limits.enabled) return { limits };
  const off = ocrUnavailable(limits);
  return off ? { limits: { ...limits, enabled: false }, off } : { limits };
}

// ---------------------------------------------------------------------------------------------
// One message's budget.

/** The OCR budget of one message; lives in the InspectionContext. */
export class OcrBudget {
  readonly limits: OcrLimits;
  readonly workers: number;
  /** Data segment of each subprocess: the inspection memory limit plus room for the program (Tesseract needs ~150 MB for an A4 page at 300 dpi). */
  readonly dataMb: number;
  pagesLeft: number;
  private readonly deadline: number;

  /** Where a JPEG's thumbnail is judged (ThumbnailJudge); here when not given. */
  private readonly thumbnailJudge: ThumbnailJudge | undefined;

  constructor(limits: OcrLimits, workers: number, messageDeadline: number, memoryMb = 512, thumbnailJudge?: ThumbnailJudge) {
    this.limits = limits;
    this.workers = workers;
    this.thumbnailJudge = thumbnailJudge;
    this.dataMb = memoryMb + 256;
    this.pagesLeft = limits.maxPages;
    this.deadline = Math.min(messageDeadline, Date.now() + limits.messageTimeoutMs);
  }

  /** Time a page may still take: its own limit, or what is left of the message's. */
  pageTime(): number {
    return Math.min(this.limits.pageTimeoutMs, this.deadline - Date.now());
  }

  private readonly judged = new WeakMap<Uint8Array, Promise<PictureJudgement>>();

  /**
   * Starts the gate's look at a picture as soon as its bytes are read (inspection reads one
   * attachment ahead), so its thumbnail is made while the attachment before it is analysed.
   */
  prejudge(bytes: Uint8Array, format: ImageFormat): void {
    // A HEIF picture is converted first (ocrImage), and its JPEG judged then.
    if (format !== 'heic' && !this.judged.has(bytes)) this.judged.set(bytes, timedJudgement(bytes, format, this.workers, this.dataMb, this.deadline, this.limits.distantPages, this.thumbnailJudge));
  }

  /** The gate's judgement of a picture: the one started by prejudge, or a new one. */
  judge(bytes: Uint8Array, format: ImageFormat): Promise<PictureJudgement> {
    return this.judged.get(bytes) ?? timedJudgement(bytes, format, this.workers, this.dataMb, this.deadline, this.limits.distantPages, this.thumbnailJudge);
  }

  /** Takes one page from the budget, or says there is none left. */
  take(): boolean {
    if (this.pagesLeft <= 0 || this.pageTime() <= 500) return false;
    this.pagesLeft--;
    return true;
  }
}

export interface OcrOutcome {
  report: OcrReport;
  /** The recognised text (pages in order), when any page was read. */
  text?: string;
  /** Pages that looked like text and could not be read (past the budget, or Tesseract failed). */
  unread: number;
}

function emptyOutcome(): OcrOutcome {
  return { report: { pagesRead: 0, skippedByGate: 0, skippedByBudget: 0 }, unread: 0 };
}

/** Most pixels a picture may have to be given to Tesseract (a 600 dpi A3 page has 70 million). */
const MAX_OCR_PIXELS = 80_000_000;
/** Time the gate may take to make one picture's thumbnail before it gives up and the picture counts as unjudged. */
const GATE_TIMEOUT_MS = 10_000;

async function tesseract(budget: OcrBudget, file: string): Promise<ToolResult> {
  const started = performance.now();
  // --psm 1: page segmentation with orientation detection (osd.traineddata, which Debian's
  // tesseract-ocr depends on). A page fed into the scanner upside down, or a phone photo stored
  // sideways with its EXIF orientation (which djpeg does not apply), reads as mirrored nonsense
  // under --psm 3 and was delivered.
  const result = await run(budget.limits.tesseract, [file, 'stdout', '-l', budget.limits.languages.join('+'), '--psm', '1'], budget.pageTime(), budget.dataMb);
  stats.secondsSpent += (performance.now() - started) / 1000;
  if (result.ok) stats.pagesRead++;
  return result;
}

/** libjpeg's scale (1/N) for the smallest thumbnail whose longer side keeps 400 pixels: a page's lines are still lines there. */
export function thumbnailScale(size: { width: number; height: number }): number {
  const long = Math.max(size.width, size.height);
  return [8, 4, 2].find((n) => long / n >= 400) ?? 1;
}

/**
 * A picture's grey thumbnail for the gate, never the full picture in memory where it can be
 * avoided: WebP by dwebp's scaling (its luma plane), TIFF of one page by Netpbm's tifftopnm, PNG
 * streamed through zlib, GIF's first frame and BMP decoded here (a JPEG's is libjpeg's scaled
 * decoding, 1/2 … 1/8, made and judged in judgePicture). Undefined when a decoder refuses, times
 * out or is not installed, and for a TIFF of several pages.
 */
async function thumbnailOf(bytes: Uint8Array, format: ImageFormat, size: { width: number; height: number }, dataMb: number, timeoutMs: number): Promise<GreyImage | undefined> {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (format) {
    case 'png':
      return pngThumbnail(bytes, Date.now() + timeoutMs);
    case 'gif':
      return decodeGif(bytes);
    case 'bmp':
      return decodeBmp(bytes);
    case 'webp': {
      if (!size.width || !size.height) return undefined;
      const scale = thumbnailScale(size);
      const w = Math.max(1, Math.floor(size.width / scale));
      const h = Math.max(1, Math.floor(size.height / scale));
      // -pgm writes the decoded YUV planes one under the other, rows padded to an even width: the
      // first h rows are the luma (16 to 235, which the gate's relative thresholds do not mind).
      const r = await run('dwebp', ['-pgm', '-scale', String(w), String(h), '-o', '-', '--', '-'], timeoutMs, dataMb, input);
      const planes = r.ok ? parsePnm(r.stdout) : undefined;
      const stride = (w + 1) & ~1;
      if (!planes || planes.width !== stride || planes.height < h) return undefined;
      const luma = new Uint8Array(w * h);
      for (let y = 0; y < h; y++) luma.set(planes.pixels.subarray(y * stride, y * stride + w), y * w);
      return { width: w, height: h, pixels: luma };
    }
    case 'tif': {
      // One image a page: a TIFF of several pages is not judged by its first (Tesseract reads them all).
      const r = await run('tifftopnm', [], timeoutMs, dataMb, input);
      return r.ok ? parsePnm(r.stdout, THUMBNAIL_SIDE, true) : undefined;
    }
    case 'heic':
      // Judged as the JPEG heif-convert makes of it (ocrImage); unjudged here.
      return undefined;
  }
  return undefined;
}

/**
 * Whether a picture looks like a page of text. A picture the gate cannot make a thumbnail of (a
 * decoder refused it, timed out, or it is larger than the gate decodes here) is not known to be
 * a photo: it goes on to Tesseract, or counts as unread and is held, never waved through.
 */
function gate(img: GreyImage | undefined): boolean {
  return img ? looksLikeText(shrink(img)).text : true;
}

/**
 * How a JPEG's thumbnail (djpeg's PNM) is judged: here by default, or (the gateway's) in an
 * extraction worker, off the event loop and beside it on another core.
 */
export type ThumbnailJudge = (pnm: Buffer, size: { width: number; height: number }, twoLooks: boolean, deadline: number) => Promise<PictureJudgement>;

/** The gate as the gateway runs it on one picture (ocrImage, the benchmark and the tests use this). */
export async function judgePicture(bytes: Uint8Array, format: ImageFormat, dataMb = 768, timeoutMs = GATE_TIMEOUT_MS, distantPages = true, judge?: ThumbnailJudge): Promise<PictureJudgement> {
  try {
    const size = imageSize(bytes, format) ?? { width: 0, height: 0 };
    // A size that cannot be read is not "too small": the picture goes on, like one the gate cannot judge.
    if (size.width && tooSmallForPage(size)) return { looksText: false, by: 'size', size };
    // Out of time (the message's own budget): not judged, so counted as a page that was not read.
    if (timeoutMs <= 0) return { looksText: true, by: 'unjudged', size };
    // A page photographed from further off has text too small for a camera photo's eighth: large
    // JPEGs are decoded at a quarter (libjpeg's 1/4, hardly dearer than 1/8: the cost is reading
    // every coefficient), looked at first halved, as an eighth, and again at the quarter if the
    // first look turned them away (judgeThumbnails).
    const twoLooks = distantPages && format === 'jpg' && thumbnailScale(size) === 8;
    if (format === 'jpg') {
      const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const r = await run('djpeg', ['-scale', `1/${twoLooks ? 4 : thumbnailScale(size)}`, '-grayscale', '-pnm'], timeoutMs, dataMb, input);
      if (!r.ok) return { looksText: true, by: 'unjudged', size };
      if (!judge) return judgeJpegThumbnail(r.stdout, size, twoLooks);
      try {
        return await judge(r.stdout, size, twoLooks, Date.now() + timeoutMs);
      } catch {
        // No answer in the gate's time (or the worker died): not judged, so read (or held), its
        // size kept for the page budget.
        return { looksText: true, by: 'unjudged', size };
      }
    }
    const img = await thumbnailOf(bytes, format, size, dataMb, timeoutMs);
    if (!img) return { looksText: true, by: 'unjudged', size };
    return judgeThumbnails(img, size, false);
  } catch {
    // A decoder that trips over a malformed picture: not judged, so read (or held), never waved through.
    return { looksText: true, by: 'unjudged', size: { width: 0, height: 0 } };
  }
}

/** judgePicture in the gate's lanes, its time counted for /metrics. Never rejects. */
async function timedJudgement(bytes: Uint8Array, format: ImageFormat, lanes: number, dataMb: number, deadline: number, distantPages: boolean, judge?: ThumbnailJudge): Promise<PictureJudgement> {
  return gates.run(lanes, async () => {
    const started = performance.now();
    try {
      return await judgePicture(bytes, format, dataMb, Math.min(GATE_TIMEOUT_MS, deadline - Date.now()), distantPages, judge);
    } finally {
      stats.gateSeconds += (performance.now() - started) / 1000;
    }
  });
}

/**
 * A HEIF picture (an iPhone's photo) as a JPEG, by libheif's heif-convert: neither the gate's
 * decoders nor Tesseract read HEIF. Undefined when it cannot be converted (or libheif-examples is
 * not installed): the picture then counts as unread, never as "not text".
 */
async function heifToJpeg(budget: OcrBudget, bytes: Uint8Array): Promise<Buffer | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'hallmonitor-heif-'));
  try {
    const input = join(dir, 'in.heic');
    await writeFile(input, bytes, { mode: 0o600 });
    const r = await run('heif-convert', ['-q', '92', input, join(dir, 'out.jpg')], budget.pageTime(), budget.dataMb);
    if (!r.ok) return undefined;
    // A file of several top-level pictures gives out-1.jpg, out-2.jpg…: the first is the primary's place.
    return await readFile(join(dir, 'out.jpg')).catch(() => readFile(join(dir, 'out-1.jpg'))).catch(() => undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A picture attachment: the gate, then Tesseract if it looks like a page of text and the budget allows. */
export async function ocrImage(budget: OcrBudget, bytes: Uint8Array, format: ImageFormat): Promise<OcrOutcome> {
  if (format === 'heic') {
    // Its header's size first: an icon or a banner is not worth converting.
    const size = imageSize(bytes, format);
    if (size && tooSmallForPage(size)) {
      const small = emptyOutcome();
      small.report.skippedByGate++;
      stats.skippedByGate++;
      return small;
    }
    const jpeg = await heifToJpeg(budget, bytes);
    if (jpeg) return ocrImage(budget, jpeg, 'jpg');
    const unread = emptyOutcome();
    unread.unread++;
    return unread;
  }
  const out = emptyOutcome();
  const judged = await budget.judge(bytes, format);
  if (!judged.looksText) {
    out.report.skippedByGate++;
    stats.skippedByGate++;
    return out;
  }
  const { size } = judged;
  if (size.width * size.height > MAX_OCR_PIXELS || !budget.take()) {
    out.report.skippedByBudget++;
    stats.skippedByBudget++;
    out.unread++;
    return out;
  }
  const dir = await mkdtemp(join(tmpdir(), 'hallmonitor-ocr-'));
  try {
    let file = join(dir, `page.${format}`);
    const prepared = format === 'jpg' ? await preparePhoto(budget, bytes, size, judged.textHeight ?? 0) : undefined;
    if (prepared) file = join(dir, 'page.pgm');
    await writeFile(file, prepared ?? bytes, { mode: 0o600 });
    const result = await slot(budget.workers, () => tesseract(budget, file));
    if (!result.ok) {
      out.unread++;
      if (result.timedOut) {
        out.report.skippedByBudget++;
        stats.skippedByBudget++;
      }
      return out;
    }
    out.report.pagesRead++;
    out.text = result.stdout.toString('utf8');
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** From this long side on, a photograph is read at half its size (a 12 MP phone photo: 4032)... */
const HALVE_FROM = 3600;
/** ...if its text is at least this tall (pixels, the gate's estimate), so still 10 at half. */
const HALVE_TEXT_HEIGHT = 20;

/**
 * A JPEG (a phone's photo of a page, or a scan) made ready for Tesseract: grey, halved when it is
 * a camera's full size (a 12 MP photo of an A4 page is still ~170 dpi at half, averaging halves
 * the sensor's grain, and Tesseract reads it in half the time), and its levels stretched so the
 * darkest 1% is black and the lightest 1% white. A page photographed in a dim room (paper at a
 * third of full light, heavy grain) was read as nothing before; a human reads it easily. A scan
 * at 300 dpi (A4: 3508 pixels) is not halved, nor is a picture whose text the gate measured
 * under HALVE_TEXT_HEIGHT (every photo of a page that passes the gate measured 24–40 pixels: one
 * taken from further away has glyphs too small for the gate's thumbnail). Undefined when djpeg
 * cannot read it: the original goes to Tesseract as before.
 */
async function preparePhoto(budget: OcrBudget, bytes: Uint8Array, size: { width: number; height: number }, textHeight: number): Promise<Buffer | undefined> {
  const halve = Math.max(size.width, size.height) >= HALVE_FROM && textHeight >= HALVE_TEXT_HEIGHT;
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = await slot(budget.workers, () => run('djpeg', ['-grayscale', '-pnm', ...(halve ? ['-scale', '1/2'] : [])], budget.pageTime(), budget.dataMb, input));
  const grey = r.ok ? parsePnm(r.stdout) : undefined;
  if (!grey) return undefined;
  stretchLevels(grey.pixels); // in place: a grey PNM's pixels are a view of djpeg's output
  return grey.pixels.buffer === r.stdout.buffer ? r.stdout : Buffer.concat([Buffer.from(`P5\n${grey.width} ${grey.height}\n255\n`), grey.pixels]);
}

/** Stretches grey levels in place so the darkest and the lightest 1% of pixels are black and white. */
export function stretchLevels(pixels: Uint8Array): void {
  const histogram = new Uint32Array(256);
  for (let i = 0; i < pixels.length; i++) histogram[pixels[i]]++;
  const tail = Math.floor(pixels.length / 100);
  let low = 0;
  for (let seen = 0; low < 255 && seen + histogram[low] <= tail; low++) seen += histogram[low];
  let high = 255;
  for (let seen = 0; high > 0 && seen + histogram[high] <= tail; high--) seen += histogram[high];
  if (high - low < 2) return; // one grey level: nothing to stretch
  const map = new Uint8Array(256);
  for (let v = 0; v < 256; v++) map[v] = v <= low ? 0 : v >= high ? 255 : Math.round(((v - low) * 255) / (high - low));
  for (let i = 0; i < pixels.length; i++) pixels[i] = map[pixels[i]];
}

/**
 * PDF pages without a usable text layer (1-based numbers): each rasterised by pdftoppm (grey, the
 * long side capped), gated, and read by Tesseract, up to `workers` pages at once. Pages past the
 * budget are counted as unread only if a page of the document already looked like text (or none
 * could be tried at all).
 */
export async function ocrPdfPages(budget: OcrBudget, pdf: Uint8Array, pages: number[]): Promise<OcrOutcome> {
  const out = emptyOutcome();
  if (!pages.length) return out;
  const dir = await mkdtemp(join(tmpdir(), 'hallmonitor-ocr-'));
  const texts: string[] = new Array(pages.length).fill('');
  let sawText = false;
  let pastBudget = 0;
  try {
    const file = join(dir, 'input.pdf');
    await writeFile(file, pdf, { mode: 0o600 });
    const longSide = String(Math.round(budget.limits.dpi * 11.7));
    const one = async (page: number, index: number): Promise<void> => {
      if (budget.pageTime() <= 500) {
        pastBudget++;
        return;
      }
      const gateStarted = performance.now();
      const prefix = join(dir, `p${page}`);
      const rendered = await run('pdftoppm', ['-gray', '-scale-to', longSide, '-f', String(page), '-l', String(page), '-singlefile', file, prefix], budget.pageTime(), budget.dataMb);
      const picture = rendered.ok ? await readFile(`${prefix}.pgm`).catch(() => undefined) : undefined;
      if (!picture) {
        if (rendered.timedOut) pastBudget++;
        else out.unread++;
        return;
      }
      const looksText = gate(parsePnm(picture, THUMBNAIL_SIDE));
      stats.gateSeconds += (performance.now() - gateStarted) / 1000;
      if (!looksText) {
        out.report.skippedByGate++;
        stats.skippedByGate++;
        return;
      }
      sawText = true;
      if (!budget.take()) {
        pastBudget++;
        return;
      }
      const result = await tesseract(budget, `${prefix}.pgm`);
      await rm(`${prefix}.pgm`, { force: true });
      if (!result.ok) {
        if (result.timedOut) pastBudget++;
        else out.unread++;
        return;
      }
      out.report.pagesRead++;
      texts[index] = result.stdout.toString('utf8');
    };
    let next = 0;
    const lanes = Array.from({ length: Math.max(1, Math.min(budget.workers, pages.length)) }, async () => {
      while (next < pages.length) {
        const i = next++;
        await slot(budget.workers, () => one(pages[i], i));
      }
    });
    await Promise.all(lanes);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (pastBudget && (sawText || out.report.pagesRead === 0)) {
    out.report.skippedByBudget += pastBudget;
    stats.skippedByBudget += pastBudget;
    out.unread += pastBudget;
  }
  const text = texts.filter(Boolean).join('\n');
  if (text) out.text = text;
  return out;
}

/** Several pictures of one document (an Office file's media), read in order into one outcome. */
export async function ocrImages(budget: OcrBudget, images: Array<{ format: ImageFormat; bytes: Uint8Array }>): Promise<OcrOutcome> {
  const out = emptyOutcome();
  const texts: string[] = [];
  for (const image of images) {
    const one = await ocrImage(budget, image.bytes, image.format);
    out.report.pagesRead += one.report.pagesRead;
    out.report.skippedByGate += one.report.skippedByGate;
    out.report.skippedByBudget += one.report.skippedByBudget;
    out.unread += one.unread;
    if (one.text) texts.push(one.text);
  }
  if (texts.length) out.text = texts.join('\n');
  return out;
}
