// Text recognition of scanned documents and photographed pages (issue 20), with the real
// Tesseract, pdftoppm and djpeg, on pages made by real tools (test/helpers/ocr-fixtures.ts:
// LibreOffice → PDF → pdftoppm → cjpeg → an image-only PDF), through the relay's own examination.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, validateConfig } from '../src/config/index.ts';
import { createExaminer, type Examination, type Examiner } from '../src/examine.ts';
import { startGateway } from '../src/gateway.ts';
import { inspect, OCR_OFF, ocrAsAvailable, ocrStats, shutdownInspection, type OcrLimits } from '../src/inspect/index.ts';
import { judgePicture } from '../src/inspect/ocr.ts';
import { ExtractionPool } from '../src/inspect/pool.ts';
import { toolHelper } from '../src/inspect/tool-runner.ts';
import { imageSize, looksLikeText, shrink, type GateResult, type GreyImage } from '../src/inspect/ocr-image.ts';
import { parsePnm, pngThumbnail } from '../src/inspect/thumbnail.ts';
import { deflateSync } from 'node:zlib';
import CFB from 'cfb';
import { storedPictures } from '../src/inspect/legacy-office.ts';
import type { Envelope } from '../src/types.ts';
import { corpusPolicy } from './corpus/evaluate.ts';
import { ROSTER_PATH } from './corpus/roster.ts';
import { mailWithAttachment } from './helpers/fixtures-tools.ts';
import { allergyNote, imageOnlyPdf, jpegDims, mailWithFiles, ocrFixtures, photographedNote, photographPage, rasterise, REMINDER_NOTE, scanInDocx, syntheticPhoto, toJpeg, type OcrFixtures } from './helpers/ocr-fixtures.ts';
import { rng } from '../bench/detectors/names.ts';
import { startSink, type Sink } from './helpers/smtp.ts';
import { sendRaw } from './quarantine-helpers.ts';

const ON: OcrLimits = { ...OCR_OFF, enabled: true };
const OUTSIDE: Envelope = { mailFrom: 'office@oakfield.sch.uk', mailFromParams: {}, rcptTo: [{ address: 'trips@adventure-centre.example' }] };
const INSIDE: Envelope = { mailFrom: 'office@oakfield.sch.uk', mailFromParams: {}, rcptTo: [{ address: 'head@oakfield.sch.uk' }] };

let fx: OcrFixtures;
let dir: string;
let examiner: Examiner;

beforeAll(async () => {
  fx = ocrFixtures();
  dir = mkdtempSync(path.join(tmpdir(), 'hm-ocr-'));
  examiner = await createExaminer({ policy: corpusPolicy(), limits: { ocr: ON } });
}, 600_000);

afterAll(async () => {
  await examiner?.close();
  await shutdownInspection();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function examine(ex: Examiner, name: string, bytes: Buffer, envelope = OUTSIDE, body?: string): Promise<Examination> {
  return ex.examine(mailWithAttachment(name, bytes, 'application/octet-stream', body), envelope);
}

/** The attachment's text as the detectors saw it. */
function attachmentText(result: Examination, where: string): { text: string; ocr?: true } | undefined {
  return result.inspection.texts.find((t) => t.where === where);
}

describe('a scanned class list', () => {
  it('an image-only PDF is read and held when it goes outside the school', async () => {
    const result = await examine(examiner, 'Scan_0042.pdf', fx.scanPdf);
    expect(result.inspection.attachments[0].ocr).toEqual({ pagesRead: 1, skippedByGate: 0, skippedByBudget: 0 });
    const text = attachmentText(result, 'attachment:Scan_0042.pdf');
    expect(text?.ocr).toBe(true);
    // Names from the roster, as typed on the page (recognition accuracy is measured in bench/ocr).
    for (const row of fx.rows.slice(0, 5)) expect(text?.text).toContain(row.name);
    expect(result.verdict.action).toBe('quarantine');
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
    expect(result.verdict.rules).not.toContain('uninspectable-attachment');
  });

  it('a scan under a line of text (a scanner\'s stamp) is read too, not taken for a typed page', async () => {
    const stamped = imageOnlyPdf([{ jpeg: fx.scanJpeg, ...jpegDims(fx.scanJpeg), dpi: 300, footer: 'Scanned on the office copier, 07/12/2026 10:32, page 1 of 1' }]);
    const result = await examine(examiner, 'Scan_0043.pdf', stamped);
    expect(result.inspection.attachments[0].ocr?.pagesRead).toBe(1);
    expect(attachmentText(result, 'attachment:Scan_0043.pdf')?.text).toContain(fx.rows[0].name);
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
  });

  // A typed note above a pasted scan (Word's "Save as PDF"), or invisible text over a scan: the page
  // has a text layer of its own, 200 characters and more, and was left to it, the scan unread.
  it('a page with text of its own over a scan that covers it is read as a picture too; a newsletter photo is not', async () => {
    const note = ['Dear Mrs Patel, please find below the signed consent form for the residential trip,', 'as discussed at Tuesday\'s meeting. The originals are kept in the office.', 'Kind regards, Mr J Hargreaves, Year 5 teacher, Oakfield Primary School.', 'Please ring the office if anything is missing.'].join('\n');
    const covered = imageOnlyPdf([{ jpeg: fx.scanJpeg, ...jpegDims(fx.scanJpeg), dpi: 300, footer: note }]);
    const result = await examine(examiner, 'consent.pdf', covered);
    expect(result.inspection.attachments[0].ocr).toMatchObject({ pagesRead: 1 });
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
    // The same note beside a photo drawn over a quarter of the page: left to the text layer, the gate not even asked.
    const photo = fx.photos[0];
    const newsletter = imageOnlyPdf([{ jpeg: photo.jpeg, ...jpegDims(photo.jpeg), dpi: 300, footer: note, drawn: 0.5 }]);
    const plain = await examine(examiner, 'newsletter.pdf', newsletter);
    expect(plain.inspection.attachments[0].ocr, JSON.stringify(plain.inspection.attachments[0].ocr)).toBeUndefined();
    expect(attachmentText(plain, 'attachment:newsletter.pdf')?.text).toContain('signed consent form');
    // A letter on headed paper: the letterhead (a crest band, a footer band) drawn over the whole of
    // every page under its text. The picture itself is judged, not the page: no Tesseract run.
    const W = 620;
    const H = 877;
    const px = Buffer.alloc(W * H * 3, 255);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (y < 90 || y > H - 40) px.fill(y < 90 ? 60 : 215, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const letterhead = execFileSync('cjpeg', [], { input: Buffer.concat([Buffer.from(`P6\n${W} ${H}\n255\n`), px]) });
    const headed = imageOnlyPdf([1, 2, 3].map(() => ({ jpeg: letterhead, width: W, height: H, dpi: 75, footer: note })));
    const letter = await examine(examiner, 'letter.pdf', headed);
    expect(letter.inspection.attachments[0].ocr, JSON.stringify(letter.inspection.attachments[0].ocr)).toBeUndefined();
    expect(letter.verdict.action).toBe('deliver');
  });

  it('with text recognition off, a scan under a page number is held as unread; a typed page is not', async () => {
    const numbered = imageOnlyPdf([{ jpeg: fx.scanJpeg, ...jpegDims(fx.scanJpeg), dpi: 300, footer: 'Page 1' }]);
    const off = await inspect(mailWithAttachment('Scan_0044.pdf', numbered));
    expect(off.uninspectable).toContainEqual({ where: 'attachment:Scan_0044.pdf', reason: expect.stringMatching(/^Page 1 of the PDF is a picture with little or no text layer/) });
    expect((await inspect(mailWithAttachment('trip list.pdf', fx.textPdf))).uninspectable).toEqual([]);
  });

  // The gate's line finding follows rows of glyphs; a page on its side still passes it (its
  // columns of short lines count), and Tesseract reads it: a second review's worry, measured.
  // Upside down (fed into the scanner that way) or on its other side (a phone photo stored
  // sideways, its EXIF orientation unapplied): Tesseract finds the orientation (--psm 1); with
  // --psm 3 both read as mirrored nonsense and were delivered.
  it('a page lying on its side or upside down (turned by jpegtran) is recognised as a page, read the right way up and held', async () => {
    for (const degrees of ['90', '180', '270']) {
      const turned = execFileSync('jpegtran', ['-rotate', degrees], { input: fx.scanJpeg });
      const result = await examine(examiner, 'IMG_4033.jpg', turned);
      expect(result.inspection.attachments[0].ocr, degrees).toMatchObject({ pagesRead: 1, skippedByGate: 0 });
      const text = attachmentText(result, 'attachment:IMG_4033.jpg');
      expect(fx.rows.slice(0, 5).filter((row) => text?.text.includes(row.name)).length, degrees).toBeGreaterThanOrEqual(3);
      expect(result.verdict.rules, degrees).toContain('unencrypted-sensitive-attachment');
    }
  });

  // The gate's ink is what is darker than the paper around it: light text on a dark picture (a
  // dark-mode screenshot, a negative) was turned away unread.
  it('the page in light text on black (netpbm\'s pnminvert) is looked at inverted, read and held', async () => {
    const grey = execFileSync('djpeg', ['-grayscale', '-pnm'], { input: fx.scanJpeg, maxBuffer: 1 << 28 });
    const negative = execFileSync('cjpeg', ['-quality', '85'], { input: execFileSync('pnminvert', [], { input: grey, maxBuffer: 1 << 28 }), maxBuffer: 1 << 28 });
    const result = await examine(examiner, 'screenshot.jpg', negative);
    expect(result.inspection.attachments[0].ocr).toMatchObject({ pagesRead: 1, skippedByGate: 0 });
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
  });

  it('a JPEG photo of the page and a PNG of it are held the same way', async () => {
    for (const [name, bytes] of [['IMG_4032.jpg', fx.scanJpeg], ['class list.png', fx.scanPng]] as const) {
      const result = await examine(examiner, name, bytes);
      expect(result.inspection.attachments[0]).toMatchObject({ isImage: true, ocr: { pagesRead: 1, skippedByGate: 0 } });
      expect(attachmentText(result, `attachment:${name}`)?.ocr).toBe(true);
      expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
      const finding = result.verdict.findings.find((f) => f.rule === 'unencrypted-sensitive-attachment' && f.detector === 'attachment-sensitivity');
      expect(finding?.reason).toMatch(/list of \d+ pupils/);
    }
  });

  it('a phone photo of the page taken in a dim room (light at 40%, heavy grain) is read and held', async () => {
    // A human reads it easily; Tesseract given the photo as it is read nothing, so it was delivered.
    const pgm = readFileSync(rasterise(path.join(fx.dir, 'classlist.pdf'), path.join(dir, 'classlist'), 300, 'pgm'));
    const photo = toJpeg(photographPage(pgm, 1.5, 10, 3024, 4032, { dim: 0.4, noise: 40 }), 85);
    // The gate measures its text tall enough (in the photo's pixels) to be read at half size.
    const judged = await judgePicture(photo, 'jpg');
    expect(judged.looksText).toBe(true);
    expect(judged.textHeight).toBeGreaterThanOrEqual(20);
    expect(judged.textHeight).toBeLessThanOrEqual(60);
    const result = await examine(examiner, 'IMG_4034.jpg', photo);
    expect(result.inspection.attachments[0].ocr).toMatchObject({ pagesRead: 1, skippedByGate: 0 });
    const text = attachmentText(result, 'attachment:IMG_4034.jpg');
    expect(fx.rows.filter((row) => text?.text.includes(row.name)).length).toBeGreaterThanOrEqual(fx.rows.length / 2);
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
  });

  it('a photo of the page taken from further off (the page a third of the frame) gets a second look, and is read and held; without it, it passes unread', async () => {
    const pgm = readFileSync(rasterise(path.join(fx.dir, 'classlist.pdf'), path.join(dir, 'classlist'), 300, 'pgm'));
    const photo = toJpeg(photographPage(pgm, 1, 12, 3024, 4032, { fill: 0.35 }), 85);
    expect(await judgePicture(photo, 'jpg')).toMatchObject({ looksText: true, by: 'second look' });
    const result = await examine(examiner, 'IMG_4035.jpg', photo);
    expect(result.inspection.attachments[0].ocr).toMatchObject({ pagesRead: 1, skippedByGate: 0 });
    const text = attachmentText(result, 'attachment:IMG_4035.jpg');
    expect(fx.rows.filter((row) => text?.text.includes(row.name)).length).toBeGreaterThanOrEqual(fx.rows.length / 2);
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
    // ocr_distant_pages: off: the first look alone, which turns it away.
    expect(await judgePicture(photo, 'jpg', 768, 10_000, false)).toMatchObject({ looksText: false, by: 'gate' });
    const firstLookOnly = await createExaminer({ policy: corpusPolicy(), limits: { ocr: { ...ON, distantPages: false } } });
    try {
      const once = await examine(firstLookOnly, 'IMG_4035.jpg', photo);
      expect(once.inspection.attachments[0].ocr).toMatchObject({ pagesRead: 0, skippedByGate: 1 });
      expect(once.verdict.action).toBe('deliver');
    } finally {
      await firstLookOnly.close();
    }
  });

  it('is read inside a zip too, and delivered when it stays inside the school', async () => {
    const zipDir = path.join(dir, 'plain');
    execFileSync('mkdir', ['-p', zipDir]);
    writeFileSync(path.join(zipDir, 'scan.jpg'), fx.scanJpeg);
    const zip = path.join(dir, 'plain.zip');
    execFileSync('zip', ['-q', '-j', zip, path.join(zipDir, 'scan.jpg')]);
    const outside = await examine(examiner, 'trip.zip', readFileSync(zip));
    expect(attachmentText(outside, 'attachment:trip.zip/scan.jpg')?.ocr).toBe(true);
    expect(outside.verdict.rules).toContain('unencrypted-sensitive-attachment');
    const inside = await examine(examiner, 'trip.zip', readFileSync(zip), INSIDE);
    expect(inside.verdict.action).toBe('deliver');
  });

  it('is read as a picture inside a Word document, its text joining the document\'s', async () => {
    const result = await examine(examiner, 'form.docx', scanInDocx());
    expect(result.inspection.attachments[0]).toMatchObject({ format: 'docx', ocr: { pagesRead: 1, skippedByGate: 0, skippedByBudget: 0 } });
    const text = attachmentText(result, 'attachment:form.docx');
    expect(text?.ocr).toBe(true);
    expect(text?.text).toContain('Signed form attached below.');
    expect(text?.text).toContain(fx.rows[0].name);
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
  });

  // Word 97 keeps a pasted picture whole in its Data stream: it was not handed to recognition.
  it('is read as a picture inside a Word 97 document (.doc) too', async () => {
    const result = await examine(examiner, 'form.doc', scanInDocx('doc'));
    expect(result.inspection.attachments[0]).toMatchObject({ ocr: { pagesRead: 1, skippedByGate: 0, skippedByBudget: 0 } });
    const text = attachmentText(result, 'attachment:form.doc');
    expect(text?.text).toContain('Signed form attached below.');
    expect(text?.text).toContain(fx.rows[0].name);
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
  });

  it('finds pictures stored whole in an Office 97 file\'s streams exactly, and gives up on streams built to make that slow', () => {
    const container = (data: Buffer) => {
      const c = CFB.utils.cfb_new();
      CFB.utils.cfb_add(c, '/WordDocument', Buffer.alloc(600));
      CFB.utils.cfb_add(c, '/Data', data);
      return CFB.read(Buffer.from(CFB.write(c, { type: 'buffer' }) as Uint8Array), { type: 'buffer' });
    };
    const junk = Buffer.from([0xff, 0xd8, 0x00, 0x89, 0x50, 0x4e, 0x47, 0x01]);
    const found = storedPictures(container(Buffer.concat([junk, fx.scanJpeg, junk, fx.scanPng, junk])), 50);
    expect(found.complete).toBe(true);
    expect(found.pictures.map((p) => [p.format, p.bytes.length])).toEqual([['jpg', fx.scanJpeg.length], ['png', fx.scanPng.length]]);
    expect(Buffer.compare(found.pictures[0].bytes, fx.scanJpeg)).toBe(0);
    // A stream of nothing but JPEG starts, and one of PNG signatures each followed by a chain of
    // empty chunks: the search stops (it took minutes, quadratic), and says it did not finish.
    const starts = Buffer.alloc(4 << 20);
    for (let i = 0; i < starts.length; i += 2) starts.writeUInt16BE(0xffd8, i);
    // (Each signature, read as a chunk of 4 bytes, chains into the next one's, and so to the end.)
    const chained = Buffer.concat(Array.from({ length: 20_000 }, () => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from([0, 0, 0, 4]), Buffer.from('abcd')])));
    for (const data of [starts, chained]) expect(storedPictures(container(data), 50)).toMatchObject({ pictures: [], complete: false });
  });

  it('encrypted in a zip (zip -e) with the password given elsewhere is delivered', async () => {
    const src = path.join(dir, 'scan.pdf');
    writeFileSync(src, fx.scanPdf);
    const zip = path.join(dir, 'locked.zip');
    execFileSync('zip', ['-q', '-j', '-P', 'Trip-2027-Oak', zip, src]);
    const before = ocrStats().pagesRead;
    const result = await examine(examiner, 'trip list.zip', readFileSync(zip), OUTSIDE, 'The trip list is attached; I will phone you with the password.');
    expect(result.inspection.attachments[0].encryption).toBe('encrypted');
    expect(result.verdict.action).toBe('deliver');
    expect(ocrStats().pagesRead).toBe(before);
  });
});

describe('a picture written into the HTML of a message (a data: link)', () => {
  // A screenshot pasted into a message some mail programs and report generators send as
  // <img src="data:image/png;base64,…">: shown to the reader, and no attachment in MIME.
  const htmlMail = (body: string) =>
    Buffer.from(['From: office@oakfield.sch.uk', 'To: trips@adventure-centre.example', 'Subject: Trip', 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '', `<html><body><p>Please see the list below.</p>${body}</body></html>`, ''].join('\r\n'));

  it('the screenshot of a class list is read and held; a logo beside it costs only the gate', async () => {
    const result = await examiner.examine(htmlMail(`<img src="data:image/png;base64,${fx.scanPng.toString('base64')}" alt="list">`), OUTSIDE);
    const picture = result.inspection.attachments.find((a) => a.where === 'attachment:inline-picture-1.png');
    expect(picture?.ocr).toEqual({ pagesRead: 1, skippedByGate: 0, skippedByBudget: 0 });
    const text = attachmentText(result, 'attachment:inline-picture-1.png');
    expect(fx.rows.slice(0, 5).filter((row) => text?.text.includes(row.name)).length).toBeGreaterThanOrEqual(3);
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
    const logo = await examiner.examine(htmlMail(`<p>Oakfield Primary</p><img src="data:image/png;base64,${fx.logoPng.toString('base64')}">`), OUTSIDE);
    expect(logo.inspection.attachments.map((a) => a.where)).toEqual(['attachment:inline-picture-1.png']);
    expect(logo.inspection.attachments[0].ocr?.pagesRead ?? 0).toBe(0);
    expect(logo.verdict.action).toBe('deliver');
  });
});

describe('the gate', () => {
  it('sends ordinary photos on without running Tesseract', async () => {
    const before = ocrStats();
    for (const photo of fx.photos) {
      const result = await examine(examiner, `IMG_${photo.kind}.jpg`, photo.jpeg);
      expect(result.inspection.attachments[0].ocr).toEqual({ pagesRead: 0, skippedByGate: 1, skippedByBudget: 0 });
      expect(result.inspection.texts.filter((t) => t.where.startsWith('attachment:'))).toEqual([]);
      expect(result.verdict.action).toBe('deliver');
    }
    const after = ocrStats();
    expect(after.pagesRead).toBe(before.pagesRead);
    expect(after.skippedByGate - before.skippedByGate).toBe(fx.photos.length);
  });

  it("judges a photo's thumbnail in an extraction worker, off the event loop, exactly as it would be judged on it", async () => {
    // The gateway's inspection hands djpeg's thumbnail to a worker (the relay's event loop only starts djpeg).
    const toWorker = vi.spyOn(ExtractionPool.prototype, 'runGate');
    try {
      const result = await examine(examiner, 'IMG_field.jpg', fx.photos[0].jpeg);
      expect(result.inspection.attachments[0].ocr).toEqual({ pagesRead: 0, skippedByGate: 1, skippedByBudget: 0 });
      expect(toWorker).toHaveBeenCalledTimes(1);
    } finally {
      toWorker.mockRestore();
    }
    // The same judgement there as here: photos turned away, the scan passed, a distant page on its second look.
    const pgm = readFileSync(rasterise(path.join(fx.dir, 'classlist.pdf'), path.join(dir, 'classlist'), 300, 'pgm'));
    const distant = toJpeg(photographPage(pgm, 1, 12, 3024, 4032, { fill: 0.35 }), 85);
    const pool = new ExtractionPool(1, 256);
    try {
      const inWorker = (pnm: Buffer, size: { width: number; height: number }, twoLooks: boolean, deadline: number) => pool.runGate(pnm, size, twoLooks, deadline);
      for (const picture of [...fx.photos.map((p) => p.jpeg), fx.scanJpeg, fx.letterJpeg, distant]) {
        const here = await judgePicture(picture, 'jpg');
        expect(await judgePicture(picture, 'jpg', 768, 10_000, true, inWorker)).toEqual(here);
      }
      expect((await judgePicture(distant, 'jpg', 768, 10_000, true, inWorker)).by).toBe('second look');
    } finally {
      await pool.close();
    }
    // A worker that cannot answer (stopped): the picture is not judged, so it is read, never waved
    // through, and its size stays known (a picture past the pixel limit is not given to Tesseract).
    expect(await judgePicture(fx.photos[0].jpeg, 'jpg', 768, 10_000, true, (pnm, size, twoLooks, deadline) => pool.runGate(pnm, size, twoLooks, deadline))).toEqual({
      looksText: true,
      by: 'unjudged',
      size: jpegDims(fx.photos[0].jpeg),
    });
  });

  it("judges a photo's thumbnail on the event loop, as before, when every extraction worker is busy (rather than wait behind other messages' documents)", async () => {
    const free = vi.spyOn(ExtractionPool.prototype, 'free', 'get').mockReturnValue(false);
    const toWorker = vi.spyOn(ExtractionPool.prototype, 'runGate');
    try {
      const result = await examine(examiner, 'IMG_crowd.jpg', fx.photos[1].jpeg);
      expect(result.inspection.attachments[0].ocr).toEqual({ pagesRead: 0, skippedByGate: 1, skippedByBudget: 0 });
      expect(free).toHaveBeenCalled();
      expect(toWorker).not.toHaveBeenCalled();
    } finally {
      free.mockRestore();
      toWorker.mockRestore();
    }
  });

  // A screen snip of a few rows of the admin system's list is wider than 4:1 (or under 300 px
  // high): it was ruled out by its size as a banner, and sent on unread.
  it('reads a screen snip of a few rows of the class list (1241 x 290) and holds it', async () => {
    const half = execFileSync('djpeg', ['-grayscale', '-pnm', '-scale', '1/2'], { input: fx.scanJpeg, maxBuffer: 1 << 28 });
    const snip = execFileSync('pnmtopng', [], { input: execFileSync('pnmcut', ['-top', '150', '-height', '290'], { input: half, maxBuffer: 1 << 28 }), maxBuffer: 1 << 28 });
    const result = await examine(examiner, 'Screenshot 2026-12-07 101500.png', snip);
    expect(result.inspection.attachments[0].ocr).toMatchObject({ pagesRead: 1, skippedByGate: 0 });
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
  });

  it('skips a logo by its size alone, and reads a typed letter (no personal data) and delivers it', async () => {
    const logo = await examine(examiner, 'crest.png', fx.logoPng);
    expect(logo.inspection.attachments[0].ocr).toEqual({ pagesRead: 0, skippedByGate: 1, skippedByBudget: 0 });
    const letter = await examine(examiner, 'letter.jpg', fx.letterJpeg);
    expect(letter.inspection.attachments[0].ocr?.pagesRead).toBe(1);
    expect(attachmentText(letter, 'attachment:letter.jpg')?.text).toContain('Sports day');
    expect(letter.verdict.action).toBe('deliver');
  });

  it('passes a class list printed on coloured paper and photographed in colour on a wooden desk, and reads and holds it', async () => {
    const pgm = readFileSync(rasterise(path.join(fx.dir, 'classlist.pdf'), path.join(dir, 'classlist'), 300, 'pgm'));
    const canary = toJpeg(photographPage(pgm, -1, 18, 3024, 4032, { paper: [255, 235, 110], desk: [150, 100, 60] }), 85);
    const pale = toJpeg(photographPage(pgm, 1, 17, 3024, 4032, { paper: [250, 240, 175], desk: [150, 100, 60] }), 85);
    expect(await judgePicture(pale, 'jpg')).toMatchObject({ looksText: true, by: 'gate' });
    expect(await judgePicture(canary, 'jpg')).toMatchObject({ looksText: true, by: 'gate' });
    const result = await examine(examiner, 'IMG_4038.jpg', canary);
    expect(result.inspection.attachments[0].ocr).toMatchObject({ pagesRead: 1 });
    expect(fx.rows.filter((row) => attachmentText(result, 'attachment:IMG_4038.jpg')?.text.includes(row.name)).length).toBeGreaterThanOrEqual(fx.rows.length / 2);
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
  });

  it('passes a short typed note (four lines on a photographed page): about a pupil\u2019s allergy it is read and held, a reminder with nothing personal is read and delivered', async () => {
    const pupil = fx.rows[4];
    const note = photographedNote(dir, 'note', allergyNote(pupil.name), 1, 19);
    const reminder = photographedNote(dir, 'reminder', REMINDER_NOTE, -1, 20);
    for (const page of [note, reminder]) {
      const judged = await judgePicture(page, 'jpg');
      expect(judged).toMatchObject({ looksText: true, by: 'gate' });
      // Too few lines for a page: the note's few long lines pass it.
      expect(judged.lines).toBeLessThan(8);
      expect(judged.longLines).toBeGreaterThanOrEqual(3);
    }
    const held = await examine(examiner, 'IMG_4060.jpg', note);
    expect(held.inspection.attachments[0].ocr).toMatchObject({ pagesRead: 1 });
    expect(attachmentText(held, 'attachment:IMG_4060.jpg')?.text).toContain('nut allergy');
    expect(held.verdict.rules).toContain('unencrypted-sensitive-attachment');
    const delivered = await examine(examiner, 'IMG_4061.jpg', reminder);
    expect(delivered.inspection.attachments[0].ocr).toMatchObject({ pagesRead: 1 });
    expect(attachmentText(delivered, 'attachment:IMG_4061.jpg')?.text).toContain('PE kit');
    expect(delivered.verdict.action).toBe('deliver');
  });

  it('leaves a PDF with a real text layer to the text layer', async () => {
    const result = await examine(examiner, 'list.pdf', fx.textPdf);
    expect(result.inspection.attachments[0].ocr).toBeUndefined();
    expect(attachmentText(result, 'attachment:list.pdf')?.ocr).toBeUndefined();
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
  });
});

describe('the gate\'s judgement of one thumbnail (looksLikeText)', () => {
  /** Rows of glyph-sized marks on paper: a typed page as a thumbnail shows it. */
  function typedPage(width: number, height: number, seed: number): GreyImage {
    const rand = rng(seed);
    const pixels = new Uint8Array(width * height).fill(235);
    for (let y = 40; y + 14 < height - 40; y += 24) {
      for (let x = 30; x < width - 40; ) {
        const gw = 5 + Math.floor(rand() * 6);
        const gh = 9 + Math.floor(rand() * 4);
        for (let dy = 0; dy < gh; dy++) for (let dx = 0; dx < gw; dx++) if ((dx + dy) % 3 !== 0) pixels[(y + 12 - gh + dy) * width + x + dx] = 30 + Math.floor(rand() * 40);
        x += gw + 3 + (rand() < 0.15 ? 9 : 0);
      }
    }
    return { width, height, pixels };
  }

  it('counts exactly what it counted with picture-sized arrays, now that it keeps only a few rows', () => {
    // Figures from the earlier implementation (an integral image and a label for every pixel),
    // which bench/ocr's thresholds were set with; the same on 192 thumbnails of the labelled set,
    // the photos and Debian's pictures when it was rewritten. These inputs are raw synthetic
    // pictures at thumbnail size, not what the gateway shows it (a 12 MP photo's eighth).
    const expected: Array<[string, GreyImage, GateResult]> = [
      ['field 1', parsePnm(syntheticPhoto('field', 1000, 750, 1))!, { text: true, lines: 394, glyphs: 2383, glyphHeight: 6 }],
      ['crowd 2', parsePnm(syntheticPhoto('crowd', 1000, 750, 2))!, { text: true, lines: 41, glyphs: 244, glyphHeight: 6 }],
      ['portrait 1', parsePnm(syntheticPhoto('portrait', 1000, 750, 1))!, { text: false, lines: 0, glyphs: 0 }],
      ['shapes 1', parsePnm(syntheticPhoto('shapes', 1000, 750, 1))!, { text: false, lines: 0, glyphs: 23 }],
      ['noise 1', parsePnm(syntheticPhoto('noise', 1000, 750, 1))!, { text: true, lines: 21, glyphs: 101, glyphHeight: 8 }],
      ['noise 2', parsePnm(syntheticPhoto('noise', 1000, 750, 2))!, { text: false, lines: 20, glyphs: 86, glyphHeight: 7 }],
      ['typed page', typedPage(700, 990, 3), { text: true, lines: 38, glyphs: 2037, glyphHeight: 10 }],
      ['typed page, small', typedPage(420, 600, 4), { text: true, lines: 22, glyphs: 661, glyphHeight: 11 }],
    ];
    // (longLines came later: it only adds the short note's way through.)
    for (const [name, img, result] of expected) expect({ ...looksLikeText(shrink(img)), longLines: undefined }, name).toEqual(result);
  });

  /**
   * `rows` lines, each one chain of `perLine` glyph-sized marks on paper, 40 pixels apart: a short
   * note (marks as wide as letters are, 3 to 14 pixels), a texture's short chains, or (`even`) a
   * regular row of windows or pegs, every mark 8 pixels wide.
   */
  function marks(rows: number, perLine: number, seed: number, even = false): GreyImage {
    const rand = rng(seed);
    const width = 500;
    const height = 660;
    const pixels = new Uint8Array(width * height).fill(235);
    for (let r = 0; r < rows; r++) {
      const y = 40 + r * 40;
      for (let x = 30, k = 0; k < perLine && x < width - 40; k++) {
        const gw = even ? 8 : 3 + Math.floor(rand() * 12);
        for (let dy = 0; dy < 11; dy++) for (let dx = 0; dx < gw; dx++) if ((dx + dy) % 3 !== 0) pixels[(y + dy) * width + x + dx] = 40;
        x += gw + 3;
      }
    }
    return { width, height, pixels };
  }

  it('passes a short note by its few long lines of varied marks; short chains, however many lines of them, and rows of even marks do not pass that way', () => {
    const note = looksLikeText(marks(3, 24, 5));
    expect(note).toMatchObject({ text: true, lines: 3, longLines: 3 });
    expect(looksLikeText(marks(2, 24, 5))).toMatchObject({ text: false, lines: 2, longLines: 2 });
    // Seven chains of five (a fence, a crowd's heads): neither a page nor a note.
    expect(looksLikeText(marks(7, 5, 6))).toMatchObject({ text: false, lines: 7, longLines: 0 });
    // Three long rows of marks all of one width (a building's windows, a row of pegs): not a note.
    expect(looksLikeText(marks(3, 24, 5, true))).toMatchObject({ text: false, lines: 3, longLines: 0 });
  });
});

describe('every picture format', () => {
  // The same scanned page and the same photo, turned into each format by its own real tool
  // (Netpbm, libwebp, libtiff), through the gate as the gateway runs it: the page passes and is
  // read, the photo is turned away without Tesseract, and a damaged file is never "not text".
  const formats = ['gif', 'bmp', 'tif', 'webp', 'png'] as const;
  const pnm = (jpeg: Buffer) => execFileSync('djpeg', ['-pnm'], { input: jpeg, maxBuffer: 1 << 28 });
  const convert = (jpeg: Buffer, format: (typeof formats)[number], grey: boolean): Buffer => {
    const picture = pnm(jpeg);
    const tool = (cmd: string, args: string[], input: Buffer) => execFileSync(cmd, args, { input, maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'ignore'] });
    switch (format) {
      case 'gif':
        return tool('ppmtogif', [], grey ? picture : tool('pnmquant', ['256'], picture));
      case 'bmp':
        return tool('ppmtobmp', [], picture);
      case 'tif':
        // A photocopier's scan-to-email TIFF is one bit a pixel, CCITT group 4; the photo stays in colour (LZW).
        return grey ? tool('pnmtotiff', ['-g4'], tool('pamditherbw', ['-threshold'], picture)) : tool('pnmtotiff', ['-lzw'], picture);
      case 'webp':
        return tool('cwebp', ['-quiet', '-q', '80', '-o', '-', '--', '-'], jpeg);
      case 'png':
        return tool('pnmtopng', [], picture);
    }
  };

  it.each(formats)('%s: the scanned page passes the gate, a 12 MP photo does not, a damaged page is never waved through', async (format) => {
    const page = convert(fx.scanJpeg, format, true);
    const photo = convert(fx.photos[0].jpeg, format, false);
    expect(await judgePicture(page, format)).toMatchObject({ looksText: true, by: 'gate' });
    expect(await judgePicture(photo, format)).toMatchObject({ looksText: false, by: 'gate' });
    // Cut short: unjudged (so read), or for GIF, whose decoder keeps what it got, judged on the rows it has.
    expect((await judgePicture(page.subarray(0, Math.floor(page.length / 3)), format)).looksText).toBe(true);
  });

  it('HEIF (an iPhone\'s photos): the class list is converted by libheif, read and held; a photo is turned away; a damaged one is held unread', async () => {
    const heif = (jpeg: Buffer, name: string): Buffer => {
      writeFileSync(path.join(dir, `${name}.jpg`), jpeg);
      execFileSync('heif-enc', ['-q', '60', path.join(dir, `${name}.jpg`), '-o', path.join(dir, `${name}.heic`)], { stdio: 'ignore' });
      return readFileSync(path.join(dir, `${name}.heic`));
    };
    const page = heif(fx.scanJpeg, 'page');
    // Its size from the header's image extents (the encoder rounds the width to an even number).
    expect(imageSize(page, 'heic')).toEqual({ width: 2482, height: 3508 });
    const held = await examine(examiner, 'IMG_4101.HEIC', page);
    expect(held.inspection.attachments[0]).toMatchObject({ isImage: true, realType: 'image/heic', ocr: { pagesRead: 1, skippedByGate: 0 } });
    expect(attachmentText(held, 'attachment:IMG_4101.HEIC')?.ocr).toBe(true);
    expect(held.verdict.rules).toContain('unencrypted-sensitive-attachment');
    // A phone-sized photo (halved, to keep the encoder quick).
    const photo = heif(toJpeg(execFileSync('djpeg', ['-scale', '1/2', '-pnm'], { input: fx.photos[2].jpeg, maxBuffer: 1 << 28 })), 'photo');
    const before = ocrStats().pagesRead;
    const delivered = await examine(examiner, 'IMG_4102.HEIC', photo);
    expect(delivered.inspection.attachments[0].ocr).toEqual({ pagesRead: 0, skippedByGate: 1, skippedByBudget: 0 });
    expect(delivered.verdict.action).toBe('deliver');
    expect(ocrStats().pagesRead).toBe(before);
    const broken = await examine(examiner, 'IMG_4103.HEIC', page.subarray(0, 4096));
    expect(broken.verdict.rules).toContain('uninspectable-attachment');
    expect(broken.verdict.findings.find((f) => f.rule === 'uninspectable-attachment')?.reason).toContain('not read');
  });

  it('a TIFF of several pages is not judged by its first: a photo, then the class list, is read and held', async () => {
    const photoPage = execFileSync('ppmtopgm', [], { input: execFileSync('djpeg', ['-scale', '1/4', '-pnm'], { input: fx.photos[0].jpeg, maxBuffer: 1 << 28 }), maxBuffer: 1 << 28 });
    const listPage = execFileSync('djpeg', ['-grayscale', '-pnm'], { input: fx.scanJpeg, maxBuffer: 1 << 28 });
    // Netpbm writes one TIFF page for each image in its input.
    const tiff = execFileSync('pamtotiff', ['-lzw'], { input: Buffer.concat([photoPage, listPage]), maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'ignore'] });
    expect(await judgePicture(tiff, 'tif')).toMatchObject({ looksText: true, by: 'unjudged' });
    const result = await examine(examiner, 'Scan_0044.tif', tiff);
    expect(result.inspection.attachments[0].ocr?.pagesRead).toBe(1);
    expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
  });

  it('a WebP whose thumbnail has an odd width is judged (dwebp pads its rows to an even width)', async () => {
    const odd = execFileSync('pamcut', ['-width', '2473'], { input: execFileSync('djpeg', ['-grayscale', '-pnm'], { input: fx.scanJpeg, maxBuffer: 1 << 28 }), maxBuffer: 1 << 28 });
    writeFileSync(path.join(dir, 'odd.pgm'), odd);
    execFileSync('cwebp', ['-quiet', path.join(dir, 'odd.pgm'), '-o', path.join(dir, 'odd.webp')]);
    // 2473 / 8 = 309 columns: an odd width.
    expect(await judgePicture(readFileSync(path.join(dir, 'odd.webp')), 'webp')).toMatchObject({ looksText: true, by: 'gate' });
  });

  it('a PNG whose size gives no thumbnail (50,000,000 × 2, 16-bit: rows of 400 MB) is not decoded', async () => {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(50_000_000, 0);
    ihdr.writeUInt32BE(2, 4);
    ihdr[8] = 16;
    ihdr[9] = 6;
    const chunk = (type: string, data: Buffer) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      return Buffer.concat([len, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
    };
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(1 << 20))), chunk('IEND', Buffer.alloc(0))]);
    const before = process.memoryUsage().arrayBuffers;
    expect(await pngThumbnail(png, Date.now() + 5_000)).toBeUndefined();
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    // The gateway never gets that far: a strip two pixels high is not a page, by its header alone.
    expect(await judgePicture(png, 'png')).toEqual({ looksText: false, by: 'size', size: { width: 50_000_000, height: 2 } });
  });

  it('a scan-to-email TIFF of the class list is read and held; the same photo as WebP is delivered without Tesseract', async () => {
    const tiff = await examine(examiner, 'Scan_0043.tif', convert(fx.scanJpeg, 'tif', true));
    expect(tiff.inspection.attachments[0]).toMatchObject({ isImage: true, ocr: { pagesRead: 1, skippedByGate: 0 } });
    expect(tiff.verdict.rules).toContain('unencrypted-sensitive-attachment');
    const before = ocrStats().pagesRead;
    const webp = await examine(examiner, 'IMG_5100.webp', convert(fx.photos[1].jpeg, 'webp', false));
    expect(webp.inspection.attachments[0].ocr).toEqual({ pagesRead: 0, skippedByGate: 1, skippedByBudget: 0 });
    expect(webp.verdict.action).toBe('deliver');
    expect(ocrStats().pagesRead).toBe(before);
  });
});

describe('the budget', () => {
  it('holds a page past the page budget as uninspectable when it goes outside, and delivers it inside', async () => {
    const small = await createExaminer({ policy: corpusPolicy(), limits: { ocr: { ...ON, maxPages: 1 } } });
    try {
      const outside = await examine(small, 'registers.pdf', fx.threePagePdf);
      expect(outside.inspection.attachments[0].ocr).toMatchObject({ pagesRead: 1, skippedByBudget: 2 });
      expect(outside.verdict.rules).toContain('uninspectable-attachment');
      const why = outside.verdict.findings.find((f) => f.rule === 'uninspectable-attachment');
      expect(why?.reason).toContain('text-recognition limit');
      const inside = await examine(small, 'registers.pdf', fx.threePagePdf, INSIDE);
      expect(inside.verdict.rules).not.toContain('uninspectable-attachment');
      expect(inside.verdict.action).toBe('deliver');
    } finally {
      await small.close();
    }
  });

  it('holds a page that takes longer than its time limit (Tesseract stopped), and a document past the message\'s time', async () => {
    const slowPage = await createExaminer({ policy: corpusPolicy(), limits: { ocr: { ...ON, pageTimeoutMs: 600 } } });
    try {
      const started = Date.now();
      const result = await examine(slowPage, 'Scan_0042.pdf', fx.scanPdf);
      expect(result.inspection.attachments[0].ocr).toMatchObject({ pagesRead: 0, skippedByBudget: 1 });
      expect(result.verdict.rules).toContain('uninspectable-attachment');
      // Stopped at its limit, not left to finish (a page takes about two seconds here).
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await slowPage.close();
    }
    const shortMessage = await createExaminer({ policy: corpusPolicy(), limits: { ocr: { ...ON, messageTimeoutMs: 1_500 } } });
    try {
      const result = await examine(shortMessage, 'registers.pdf', fx.threePagePdf);
      const ocr = result.inspection.attachments[0].ocr;
      expect(ocr?.skippedByBudget).toBeGreaterThanOrEqual(1);
      expect((ocr?.pagesRead ?? 0) + (ocr?.skippedByBudget ?? 0)).toBe(3);
      expect(result.verdict.rules).toContain('uninspectable-attachment');
      const inside = await examine(shortMessage, 'registers.pdf', fx.threePagePdf, INSIDE);
      expect(inside.verdict.rules).not.toContain('uninspectable-attachment');
    } finally {
      await shortMessage.close();
    }
  });

  it('never spends the budget on a photo: a scan and five photos in one message with a one-page budget', async () => {
    const one = await createExaminer({ policy: corpusPolicy(), limits: { ocr: { ...ON, maxPages: 1 } } });
    try {
      const files = [{ name: 'IMG_4032.jpg', bytes: fx.scanJpeg }, ...fx.photos.map((p) => ({ name: `IMG_${p.kind}.jpg`, bytes: p.jpeg }))];
      const result = await one.examine(mailWithFiles(files), OUTSIDE);
      expect(result.inspection.attachments.map((a) => a.ocr)).toEqual([
        { pagesRead: 1, skippedByGate: 0, skippedByBudget: 0 },
        ...fx.photos.map(() => ({ pagesRead: 0, skippedByGate: 1, skippedByBudget: 0 })),
      ]);
      expect(result.verdict.rules).toContain('unencrypted-sensitive-attachment');
      expect(result.verdict.rules).not.toContain('uninspectable-attachment');
    } finally {
      await one.close();
    }
  });
});

describe('the tools\' helper process (tool-runner.ts)', () => {
  /** Processes whose parent is `pid`, by name (from /proc). */
  function childrenOf(pid: number): string[] {
    const names: string[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        if (Number(stat.slice(close + 2).split(' ')[1]) === pid) names.push(stat.slice(stat.indexOf('(') + 1, close));
      } catch {
        // gone meanwhile
      }
    }
    return names;
  }

  it('starts Tesseract, not the gateway; if it dies mid-page the page is unread and held, and the next message gets a new helper', async () => {
    // Tesseract's parent is the helper (a fork of the gateway would stall the relay's event loop).
    const reading = examine(examiner, 'Scan_0042.pdf', fx.scanPdf);
    let seen: string[] = [];
    for (let i = 0; i < 200 && !seen.includes('tesseract'); i++) {
      await new Promise((r) => setTimeout(r, 20));
      const helper = toolHelper().pid;
      if (helper) seen = childrenOf(helper);
    }
    expect(seen).toContain('tesseract');
    expect((await reading).verdict.rules).toContain('unencrypted-sensitive-attachment');

    // Killed while Tesseract reads: the page counts as unread, so the message is held, not delivered.
    const first = toolHelper().pid;
    expect(first).toBeGreaterThan(0);
    const interrupted = examine(examiner, 'Scan_0042.pdf', fx.scanPdf);
    for (let i = 0; i < 200 && !childrenOf(first!).includes('tesseract'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(childrenOf(first!)).toContain('tesseract');
    process.kill(first!, 'SIGKILL');
    const held = await interrupted;
    expect(held.verdict.action).toBe('quarantine');
    expect(held.verdict.rules).toContain('uninspectable-attachment');

    const again = await examine(examiner, 'Scan_0042.pdf', fx.scanPdf);
    expect(again.verdict.rules).toContain('unencrypted-sensitive-attachment');
    expect(toolHelper().pid).toBeGreaterThan(0);
    expect(toolHelper().pid).not.toBe(first);
  });

  it('is stopped with inspection, its folder removed; the next picture starts it again', async () => {
    await examine(examiner, 'IMG_field.jpg', fx.photos[0].jpeg);
    const { pid, dir: folder } = toolHelper();
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(folder!)).toBe(true);
    expect(statSync(folder!).mode & 0o777).toBe(0o700);
    await shutdownInspection();
    expect(() => process.kill(pid!, 0)).toThrow();
    expect(existsSync(folder!)).toBe(false);
    const result = await examine(examiner, 'IMG_field.jpg', fx.photos[0].jpeg);
    expect(result.inspection.attachments[0].ocr).toEqual({ pagesRead: 0, skippedByGate: 1, skippedByBudget: 0 });
    expect(toolHelper().pid).not.toBe(pid);
  });
});

describe('without Tesseract', () => {
  it('is off, with the reason', () => {
    const missing = ocrAsAvailable({ ...ON, tesseract: path.join(dir, 'no-such-tesseract') });
    expect(missing.limits.enabled).toBe(false);
    expect(missing.off).toMatch(/Tesseract .* was not found/);
    expect(ocrAsAvailable({ ...ON, languages: ['xyz'] }).off).toMatch(/no language data for xyz/);
    expect(ocrAsAvailable(ON)).toEqual({ limits: ON });
  });

  it('behaves as ocr: off (an image-only PDF is uninspectable, a picture is not read)', async () => {
    const off = await createExaminer({ policy: corpusPolicy(), limits: { ocr: ocrAsAvailable({ ...ON, tesseract: path.join(dir, 'no-such-tesseract') }).limits } });
    try {
      const pdf = await examine(off, 'Scan_0042.pdf', fx.scanPdf);
      expect(pdf.inspection.attachments[0].ocr).toBeUndefined();
      expect(pdf.verdict.rules).toEqual(['uninspectable-attachment']);
      const jpg = await examine(off, 'IMG_4032.jpg', fx.scanJpeg);
      expect(jpg.inspection.attachments[0]).toMatchObject({ isImage: true, format: 'jpg', realType: 'image/jpeg' });
      expect(jpg.inspection.attachments[0].ocr).toBeUndefined();
      expect(jpg.verdict.action).toBe('deliver');
    } finally {
      await off.close();
    }
  });

  it('the gateway says so once at start-up; with Tesseract, /metrics has the OCR counters', async () => {
    const lines: string[] = [];
    const stream = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const sink: Sink = await startSink();
    const base = {
      hostname: 'hallmonitor.test', listen: '127.0.0.1:0', log: { level: 'info' }, health: { listen: '127.0.0.1:0' },
      next_hop: { host: '127.0.0.1', port: sink.port, starttls: 'off', timeout_seconds: 5 },
      school: { domains: ['oakfield.sch.uk'], roster: ROSTER_PATH, business_manager: 'bm@oakfield.sch.uk' },
    };
    try {
      const config = validateConfig({ ...base, data_dir: path.join(dir, 'gw-off'), inspection: { ocr: 'on', ocr_tesseract: path.join(dir, 'no-such-tesseract') } }, '(test)', {}, {}, dir);
      const g = await startGateway(config, { logger: pino({ level: 'info' }, stream) });
      try {
        const notices = lines.filter((l) => l.includes('"event":"ocr-off"'));
        expect(notices).toHaveLength(1);
        expect(notices[0]).toContain('text recognition (OCR) of scanned documents is off');
        // Sent outside, the scan is held as uninspectable, exactly as with ocr: off.
        const reply = await sendRaw(g.receiver.address().port, 'office@oakfield.sch.uk', ['trips@adventure-centre.example'], mailWithAttachment('Scan_0042.pdf', fx.scanPdf));
        expect(reply.code).toBe(250);
        expect(sink.messages).toHaveLength(0);
      } finally {
        await g.stop();
      }
      const on = validateConfig({ ...base, data_dir: path.join(dir, 'gw-on') }, '(test)', {}, {}, dir);
      lines.length = 0;
      const g2 = await startGateway(on, { logger: pino({ level: 'info' }, stream) });
      try {
        expect(lines.filter((l) => l.includes('"event":"ocr-off"'))).toEqual([]);
        const a = g2.health!.address();
        const metrics = await (await fetch(`http://${a.host}:${a.port}/metrics`)).text();
        expect(metrics).toMatch(/^# TYPE hallmonitor_ocr_pages_total counter$/m);
        expect(metrics).toMatch(/^hallmonitor_ocr_pages_skipped_total\{reason="gate"\} \d+$/m);
        expect(metrics).toMatch(/^hallmonitor_ocr_pages_skipped_total\{reason="budget"\} \d+$/m);
        expect(metrics).toMatch(/^hallmonitor_ocr_seconds_total [\d.]+$/m);
      } finally {
        await g2.stop();
      }
    } finally {
      await sink.close();
    }
  });
});

describe('a school of a trust that turns text recognition off', () => {
  it('Oakfield keeps OCR and holds the photographed class list; Elmwood turned it off and the same picture goes through unread', async () => {
    const sink: Sink = await startSink();
    const config = validateConfig({
      hostname: 'hallmonitor.test', listen: '127.0.0.1:0', log: { level: 'silent' }, health: { listen: null }, data_dir: path.join(dir, 'gw-trust'),
      next_hop: { host: '127.0.0.1', port: sink.port, starttls: 'off', timeout_seconds: 5 },
      school: { business_manager: 'dpo@trust.example.org' },
      tenants: [
        { id: 'oakfield', domains: ['oakfield.sch.uk'], school: { roster: ROSTER_PATH } },
        { id: 'elmwood', domains: ['elmwood.sch.uk'], school: { roster: ROSTER_PATH }, inspection: { ocr: 'off' } },
      ],
    }, '(test)', {}, {}, dir);
    const g = await startGateway(config, { logger: pino({ level: 'silent' }) });
    try {
      const port = g.receiver.address().port;
      const photo = (from: string) => Buffer.from(mailWithAttachment('IMG_4032.jpg', fx.scanJpeg, 'image/jpeg').toString('latin1').replace(/^From: .*$/m, `From: ${from}`), 'latin1');
      expect((await sendRaw(port, 'office@oakfield.sch.uk', ['trips@adventure-centre.example'], photo('office@oakfield.sch.uk'))).code).toBe(250);
      expect((await sendRaw(port, 'office@elmwood.sch.uk', ['trips@adventure-centre.example'], photo('office@elmwood.sch.uk'))).code).toBe(250);
      // Only Elmwood's reached the recipient: Oakfield's was read and held (its notices go out from '').
      expect(sink.messages.filter((m) => m.rcptTo.includes('trips@adventure-centre.example')).map((m) => m.mailFrom)).toEqual(['office@elmwood.sch.uk']);
    } finally {
      await g.stop();
      await sink.close();
    }
  });
});

describe('inspection: in the configuration', () => {
  it('is on by default, and takes off, budgets and languages', () => {
    const base = { listen: '127.0.0.1:2525' };
    expect(validateConfig(base, '(test)', {}, {}, '.').ocr).toMatchObject({ enabled: true, languages: ['eng'], maxPages: 20, distantPages: true });
    const set = validateConfig({ ...base, inspection: { ocr: 'off', ocr_languages: ['eng', 'cym'], ocr_max_pages: 5, ocr_page_seconds: 10, ocr_message_seconds: 40, ocr_distant_pages: 'off' } }, '(test)', {}, {}, '.').ocr;
    expect(set).toMatchObject({ enabled: false, languages: ['eng', 'cym'], maxPages: 5, pageTimeoutMs: 10_000, messageTimeoutMs: 40_000, distantPages: false });
  });

  it('refuses a bad value, naming the key', () => {
    const bad = () => validateConfig({ listen: '127.0.0.1:2525', inspection: { ocr: 'sometimes', ocr_max_pages: 0, ocr_pages: 3 } }, '(test)', {}, {}, '.');
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        'inspection.ocr: expected on or off, got "sometimes"',
        'inspection.ocr_max_pages: 0 is out of range (1 to 1000)',
        'inspection.ocr_pages: unknown key (known keys here: ocr, ocr_languages, ocr_max_pages, ocr_page_seconds, ocr_message_seconds, ocr_tesseract, ocr_distant_pages)',
      ]);
    }
  });
});
