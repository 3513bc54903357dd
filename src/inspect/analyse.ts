// Analyses one file (an attachment, an archive entry, an attachment of an Outlook message) and
// everything inside it: routes it by its bytes, runs the heavy parsing in the worker pool, PDFs
// in the PDF reader process, 7z/RAR/gzip/tar through 7-Zip, attached e-mails through the MIME
// parser, and recurses into children with the message's depth, parts, bytes and time budget.
import { formatBytes } from './context.ts';
import type { InspectionContext } from './context.ts';
import { textLayer, zipProblem } from './layer.ts';
import type { ChildFile, LayerOutput } from './layer.ts';
import { ocrImage, ocrImages, ocrPdfPages } from './ocr.ts';
import type { OcrOutcome } from './ocr.ts';
import type { ImageFormat } from './ocr-image.ts';
import { PdfCrashError, PdfTimeoutError, releaseBytes } from './pdf.ts';
import { TaskMemoryError, TaskTimeoutError } from './pool.ts';
import { SevenZipArchive, SevenZipLimitError } from './sevenzip.ts';
import type { SevenZipEntry } from './sevenzip.ts';
import { quickSniff } from './sniff.ts';
import { decodeTextBytes, sniffTextKind } from './text.ts';
import type { AttachmentReport, Encryption } from './types.ts';
import { RATIO_FLOOR_BYTES, ZipLimitError } from './zip.ts';

/** Text files up to this size are read on the event loop: cheaper than a worker round trip. */
export const MAIN_THREAD_TEXT_BYTES = 256 * 1024;

/** Archives up to this size (unpacked) are extracted by one 7-Zip run rather than one per entry. */
const BULK_7Z_BYTES = 32 * 1024 * 1024;

export interface FileToAnalyse {
  bytes: Buffer;
  name: string;
  declaredType: string;
  charset?: string;
}

function emptyReport(where: string, file: { name: string; declaredType: string }, size: number): AttachmentReport {
  return {
    where,
    filename: file.name,
    size,
    declaredType: file.declaredType,
    realType: 'application/octet-stream',
    format: 'unknown',
    encryption: 'unknown',
    isImage: false,
    isMessage: false,
  };
}

/** Encryption of a container from its own state and its entries'. */
export function combineEncryption(own: Encryption, entries: AttachmentReport[], bodyReadable: boolean): Encryption {
  if (own === 'encrypted' || own === 'unknown') return own;
  if (!entries.length) return own;
  const encrypted = entries.filter((e) => e.encryption === 'encrypted').length;
  const partly = entries.some((e) => e.encryption === 'partly-encrypted');
  const unknown = entries.some((e) => e.encryption === 'unknown');
  if (encrypted === entries.length && !bodyReadable) return 'encrypted';
  if (encrypted || partly || own === 'partly-encrypted') return 'partly-encrypted';
  // An entry that could not be read might be encrypted: the container cannot be called clear.
  if (unknown) return 'unknown';
  return own;
}

function firstEncryptionDetail(entries: AttachmentReport[]): string | undefined {
  for (const e of entries) {
    if (e.encryption === 'encrypted' || e.encryption === 'partly-encrypted') return e.encryptionDetail ?? firstEncryptionDetail(e.entries ?? []);
  }
  return undefined;
}

export async function analyseFile(ctx: InspectionContext, file: FileToAnalyse, where: string, depth: number): Promise<AttachmentReport> {
  const size = file.bytes.length;
  const report = emptyReport(where, file, size);
  if (depth > ctx.limits.maxDepth) {
    ctx.problem(where, `It is nested more than ${ctx.limits.maxDepth} levels deep, so it was not read`);
    return report;
  }
  if (ctx.timedOut) {
    ctx.timeout(where);
    return report;
  }
  const quick = quickSniff(file.bytes);
  if (quick.format) report.format = quick.format;
  if (quick.mime) report.realType = quick.mime;
  switch (quick.route) {
    case 'empty':
      report.encryption = 'not-encrypted';
      return report;
    case 'pdf':
      await analysePdf(ctx, file, report, depth);
      return report;
    case 'sevenzip':
      await analyseSevenZip(ctx, file, report, depth);
      return report;
    case 'image':
      await analyseImage(ctx, file, report, quick.format as ImageFormat);
      return report;
    case 'text': {
      const head = decodeTextBytes(file.bytes.subarray(0, 8192), file.charset);
      const kind = sniffTextKind(head, file.name);
      if (kind === 'eml' || file.declaredType.toLowerCase() === 'message/rfc822') {
        await analyseAttachedMessage(ctx, file, report, depth);
        return report;
      }
      // Plain, CSV and TSV text is only decoded (native, linear): cheaper here than a copy to a
      // worker and back, whatever the size. HTML and RTF need a JS pass: large ones go to a worker.
      if (size <= MAIN_THREAD_TEXT_BYTES || (kind !== 'html' && kind !== 'rtf')) {
        // (Pictures written into an HTML file as data: links are its children, within this budget.)
        const budget = { partsLeft: ctx.partsLeft, bytesLeft: Math.min(ctx.bytesLeft, ctx.limits.maxAttachmentBytes) };
        await applyLayer(ctx, report, textLayer(file.bytes, file.name, file.charset, ctx.limits.maxTextChars, true, budget), depth);
        return report;
      }
      break;
    }
    default:
      break;
  }
  let layer: LayerOutput;
  try {
    layer = await ctx.pool.runLayer(
      {
        bytes: file.bytes,
        name: file.name,
        declaredType: file.declaredType,
        charset: file.charset,
        budget: {
          bytesLeft: ctx.bytesLeft,
          partsLeft: ctx.partsLeft,
          maxEntryBytes: ctx.limits.maxAttachmentBytes,
          maxRatio: ctx.limits.maxRatio,
          maxTextChars: ctx.limits.maxTextChars,
          depthLeft: ctx.limits.maxDepth - depth,
          ocrImages: !!ctx.ocr,
        },
      },
      ctx.deadline,
    );
  } catch (e) {
    if (e instanceof TaskTimeoutError) ctx.timeout(where);
    else if (e instanceof TaskMemoryError) ctx.problem(where, 'Reading it needed more memory than the inspection limit allows (a possible decompression bomb)');
    else ctx.problem(where, 'It could not be read: the reader failed on it (a damaged or malicious file)');
    return report;
  }
  await applyLayer(ctx, report, layer, depth);
  return report;
}

/** `nested`: the layer came inside another layer's result, whose usage already counted it. */
async function applyLayer(ctx: InspectionContext, report: AttachmentReport, layer: LayerOutput, depth: number, nested = false): Promise<void> {
  const where = report.where;
  report.realType = layer.mime;
  report.format = layer.format;
  report.isImage = layer.isImage;
  report.isMessage = layer.isMessage;
  report.encryption = layer.encryption;
  if (layer.encryptionDetail) report.encryptionDetail = layer.encryptionDetail;
  if (!nested) {
    ctx.bytesLeft -= layer.bytesUsed;
    ctx.partsLeft -= layer.partsUsed;
  }
  if (layer.route === 'message') {
    ctx.problem(where, 'It could not be read: it was not recognised in time as an e-mail message');
  }
  if (ctx.ocr && layer.images?.length) {
    // Pictures in an Office document (a photographed form pasted into Word): their text joins the document's.
    applyOcr(ctx, report, await ocrImages(ctx.ocr, layer.images), layer.text?.toString(), layer.truncated);
  } else if (layer.text !== undefined) ctx.addText(where, 'attachment', layer.text, layer.truncated);
  for (const extra of layer.extraTexts ?? []) ctx.addText(`${where}/${extra.suffix}`, 'attachment', extra.text, extra.truncated);
  for (const p of layer.problems) ctx.problem(where, p);
  if (layer.encryption === 'unknown' && !layer.problems.length) ctx.problem(where, 'Whether it is encrypted could not be decided');
  if (!layer.children) return;
  const entries: AttachmentReport[] = [];
  for (const child of layer.children) {
    entries.push(await analyseChild(ctx, child, `${where}/${child.name}`, depth + 1));
  }
  report.entries = entries;
  report.encryption = combineEncryption(layer.encryption, entries, layer.isMessage);
  if (!report.encryptionDetail && report.encryption !== 'not-encrypted') {
    const detail = firstEncryptionDetail(entries);
    if (detail) report.encryptionDetail = detail;
  }
}

async function analyseChild(ctx: InspectionContext, child: ChildFile, where: string, depth: number): Promise<AttachmentReport> {
  const report = emptyReport(where, { name: child.name, declaredType: child.declaredType ?? '' }, child.size);
  if (child.layer) {
    await applyLayer(ctx, report, child.layer, depth, true);
    return report;
  }
  if (child.encryption) {
    report.encryption = child.encryption;
    if (child.encryptionDetail) report.encryptionDetail = child.encryptionDetail;
    return report;
  }
  if (child.problem || !child.bytes) {
    ctx.problem(where, child.problem ?? 'It could not be read');
    return report;
  }
  return analyseFile(ctx, { bytes: child.bytes, name: child.name, declaredType: child.declaredType ?? '' }, where, depth);
}

async function analyseAttachedMessage(ctx: InspectionContext, file: FileToAnalyse, report: AttachmentReport, depth: number): Promise<void> {
  report.format = 'eml';
  report.realType = 'message/rfc822';
  report.isMessage = true;
  const summary = await ctx.readMessage(ctx, file.bytes, report.where, depth);
  report.entries = summary.attachments;
  if (summary.messageEncryption) {
    report.encryption = 'encrypted';
    report.encryptionDetail = summary.messageEncryption === 'smime' ? 'smime-enveloped' : 'pgp';
  } else {
    report.encryption = combineEncryption('not-encrypted', summary.attachments, true);
    if (report.encryption !== 'not-encrypted') report.encryptionDetail = firstEncryptionDetail(summary.attachments);
  }
}

/** A picture: text recognition reads it when it looks like a page of text (issue 20). */
async function analyseImage(ctx: InspectionContext, file: FileToAnalyse, report: AttachmentReport, format: ImageFormat): Promise<void> {
  report.isImage = true;
  report.encryption = 'not-encrypted';
  // A picture with a zip joined to its end opens as the picture and extracts as the archive
  // (7-Zip, unzip, Windows): what the archive holds was not read, so it is held as such.
  if (endsWithZip(file.bytes)) ctx.problem(report.where, 'It is a picture with a zip archive joined to its end, which was not read');
  if (!ctx.ocr) return;
  const outcome = await ocrImage(ctx.ocr, file.bytes, format);
  applyOcr(ctx, report, outcome, undefined);
}

/**
 * Whether the bytes end with a zip's end-of-directory record (PK 5 6) that fits exactly: its
 * comment runs to the last byte and its directory lies before it. A photo's compressed data would
 * have to hold all of that by chance.
 */
export function endsWithZip(bytes: Uint8Array): boolean {
  const from = Math.max(0, bytes.length - 22 - 0xffff);
  for (let at = bytes.length - 22; at >= from; at--) {
    if (bytes[at] !== 0x50 || bytes[at + 1] !== 0x4b || bytes[at + 2] !== 0x05 || bytes[at + 3] !== 0x06) continue;
    const commentLength = bytes[at + 20] | (bytes[at + 21] << 8);
    const directorySize = (bytes[at + 12] | (bytes[at + 13] << 8) | (bytes[at + 14] << 16) | (bytes[at + 15] << 24)) >>> 0;
    if (at + 22 + commentLength === bytes.length && directorySize > 0 && directorySize <= at) return true;
  }
  return false;
}

/** Adds recognised text to the attachment's own text (so every detector and rule reads it), and says what was not read. */
function applyOcr(ctx: InspectionContext, report: AttachmentReport, outcome: OcrOutcome, layerText: string | undefined, truncated = false): void {
  report.ocr = outcome.report;
  const joined = outcome.text === undefined ? layerText : layerText?.trim() ? `${layerText}\n${outcome.text}` : outcome.text;
  ctx.addText(report.where, 'attachment', joined, truncated, { ocr: outcome.text !== undefined });
  if (outcome.unread) {
    const l = ctx.limits.ocr;
    ctx.problem(
      report.where,
      `${outcome.unread} page(s) look like scanned or photographed text but were not read: past the text-recognition limit for one message (${l.maxPages} pages, ${Math.round(l.messageTimeoutMs / 1000)} seconds, ${Math.round(l.pageTimeoutMs / 1000)} seconds a page) or unreadable`,
      true,
    );
  }
}

/** "Page 3", "Pages 2, 3 and 5", "Pages 1, 2, 3 and 17 more". */
function pagesWord(pages: number[]): string {
  if (pages.length === 1) return `Page ${pages[0]}`;
  const shown = pages.slice(0, pages.length > 5 ? 3 : pages.length - 1);
  const rest = pages.length > 5 ? `${pages.length - 3} more` : String(pages.at(-1));
  return `Pages ${shown.join(', ')} and ${rest}`;
}

async function analysePdf(ctx: InspectionContext, file: FileToAnalyse, report: AttachmentReport, depth: number): Promise<void> {
  const where = report.where;
  report.format = 'pdf';
  report.realType = 'application/pdf';
  try {
    const reply = await ctx.pdf.read(
      file.bytes,
      { maxChars: ctx.limits.maxTextChars, maxFiles: Math.max(0, ctx.partsLeft), maxFileBytes: Math.max(0, Math.min(ctx.limits.maxAttachmentBytes, ctx.bytesLeft)), scansUnderText: !!ctx.ocr },
      ctx.deadline,
      !!ctx.ocr,
    );
    if (!reply.ok) {
      report.encryption = 'unknown';
      ctx.problem(where, 'The PDF is damaged and could not be read');
      return;
    }
    if (reply.userPassword) {
      report.encryption = 'encrypted';
      report.encryptionDetail = 'pdf-user-password';
      return;
    }
    report.encryption = 'not-encrypted';
    if (reply.ownerPasswordOnly) report.encryptionDetail = 'pdf-owner-password-only';
    if (ctx.ocr && (reply.textless.length || reply.pictured.length)) {
      // Scanned pages, and scans under a footer: through the gate, recognised, and their text joins
      // the text layer's. (A PDF of photos with captions costs the gate, not Tesseract.)
      const pages = [...new Set([...reply.textless, ...reply.pictured])].sort((a, b) => a - b);
      applyOcr(ctx, report, await ocrPdfPages(ctx.ocr, file.bytes, pages), reply.text, reply.truncated);
    } else {
      ctx.addText(where, 'attachment', reply.text, reply.truncated);
      if (reply.text.trim().length === 0 && reply.pages > 0) {
        ctx.problem(where, 'The PDF has no text layer (it may be a scan or images of text), so its contents were not read');
      } else {
        // A scan under a page number has a few characters of text: the rest of the page is a picture.
        // (One under a longer footer is read when text recognition is on.)
        const scans = reply.pictured.filter((p) => reply.textless.includes(p));
        if (scans.length) ctx.problem(where, `${pagesWord(scans)} of the PDF ${scans.length === 1 ? 'is a picture' : 'are pictures'} with little or no text layer (scanned pages, perhaps), so what ${scans.length === 1 ? 'it shows' : 'they show'} was not read`);
      }
    }
    if (reply.failedPages) ctx.problem(where, `${reply.failedPages} page(s) of the PDF are damaged and could not be read`);
    // Files embedded in the PDF are attachments too.
    if (reply.embedded.length) {
      const entries: AttachmentReport[] = [];
      for (const e of reply.embedded) {
        const entryWhere = `${where}/${e.name}`;
        if (!e.bytes) {
          const entry = emptyReport(entryWhere, { name: e.name, declaredType: '' }, e.size);
          ctx.problem(
            entryWhere,
            e.problem === 'too-many' ? 'The PDF embeds more files than the inspection limit, so the rest were not read' : e.problem === 'too-big' ? sevenZipProblems['too-big'] : 'The file embedded in the PDF is damaged and could not be read',
          );
          entries.push(entry);
          continue;
        }
        ctx.partsLeft--;
        ctx.bytesLeft -= e.bytes.length;
        const bytes = Buffer.from(e.bytes.buffer, e.bytes.byteOffset, e.bytes.byteLength);
        entries.push(await analyseFile(ctx, { bytes, name: e.name, declaredType: '' }, entryWhere, depth + 1));
      }
      report.entries = entries;
      report.encryption = combineEncryption('not-encrypted', entries, true);
      if (report.encryption === 'partly-encrypted') report.encryptionDetail = firstEncryptionDetail(entries);
    }
  } catch (e) {
    report.encryption = 'unknown';
    if (e instanceof PdfTimeoutError) ctx.timeout(where);
    else if (e instanceof PdfCrashError) ctx.problem(where, 'Reading the PDF needed more memory than the inspection limit allows, or the reader failed on it (a damaged or malicious PDF)');
    else ctx.problem(where, 'The PDF could not be read');
  }
}

const sevenZipProblems = {
  'too-big': 'It is larger than the size limit for one file, so it was not read',
  ratio: 'It expands far more than ordinary files do (a possible decompression bomb), so it was not read',
  timeout: '',
  failed: 'It could not be extracted from the archive (damaged, or a compression method that is not read)',
};

async function analyseSevenZip(ctx: InspectionContext, file: FileToAnalyse, report: AttachmentReport, depth: number): Promise<void> {
  const where = report.where;
  let archive: SevenZipArchive | undefined;
  try {
    archive = await SevenZipArchive.open(file.bytes, file.name);
    if (file.bytes.length >= 1024 * 1024) releaseBytes(file.bytes); // on disk now; the size is kept
    const archiveBytes = report.size;
    const listing = await archive.list(ctx.deadline);
    if (listing.headerEncrypted) {
      report.encryption = 'encrypted';
      report.encryptionDetail = report.format === 'rar' ? 'rar-header' : '7z-header';
      return;
    }
    if (listing.failed) {
      report.encryption = 'unknown';
      ctx.problem(where, 'The archive is damaged or of a kind that could not be opened');
      return;
    }
    const files = listing.entries.filter((e) => !e.isDirectory);
    const entries: AttachmentReport[] = [];
    const ratioCap = Math.max(RATIO_FLOOR_BYTES, archiveBytes * ctx.limits.maxRatio);
    let extracted = 0;
    let encrypted = 0;
    // One 7-Zip run for the whole archive when nothing is encrypted and everything fits the limits.
    let bulk: Map<SevenZipEntry, Buffer> | undefined;
    const totalSize = files.reduce((n, e) => n + e.size, 0);
    if (
      files.length > 1 &&
      files.length <= ctx.partsLeft &&
      !files.some((e) => e.encrypted || e.size > ctx.limits.maxAttachmentBytes) &&
      totalSize <= Math.min(ctx.bytesLeft, ratioCap, BULK_7Z_BYTES)
    ) {
      try {
        const all = await archive.extractAll(
          files.map((e) => e.size),
          ctx.deadline,
        );
        bulk = new Map(files.map((e, i) => [e, all[i]]));
      } catch {
        bulk = undefined; // fall back to one entry at a time, which says which entry failed
      }
    }
    const detailFor = (method: string): string => (report.format === 'rar' ? 'rar' : method.includes('AES') && report.format === 'zip' ? 'winzip-aes' : '7z-aes');
    for (const entry of files) {
      const entryWhere = `${where}/${entry.path}`;
      if (ctx.partsLeft <= 0) {
        ctx.problem(where, 'The archive holds more files than the inspection limit, so the rest were not read');
        break;
      }
      if (ctx.timedOut) {
        ctx.timeout(entryWhere);
        break;
      }
      ctx.partsLeft--;
      const entryReport = emptyReport(entryWhere, { name: entry.path, declaredType: '' }, entry.size);
      if (entry.encrypted) {
        encrypted++;
        entryReport.encryption = 'encrypted';
        entryReport.encryptionDetail = detailFor(entry.method);
        entries.push(entryReport);
        continue;
      }
      const limit = Math.min(ctx.limits.maxAttachmentBytes, ctx.bytesLeft, ratioCap - extracted);
      if (entry.size > limit) {
        const why = entry.size > ratioCap - extracted ? sevenZipProblems.ratio : entry.size > ctx.bytesLeft ? zipProblem(new ZipLimitError('budget', 'budget')) : sevenZipProblems['too-big'];
        ctx.problem(entryWhere, why);
        entries.push(entryReport);
        continue;
      }
      let bytes: Buffer;
      try {
        bytes = bulk?.get(entry) ?? (await archive.extract(entry, !['gz', 'bz2', 'xz'].includes(report.format ?? ''), limit, ctx.deadline));
      } catch (e) {
        const problem = e instanceof SevenZipLimitError ? e.problem : 'failed';
        if (problem === 'timeout') ctx.timeout(entryWhere);
        else if (problem === 'too-big' && limit === ratioCap - extracted) ctx.problem(entryWhere, sevenZipProblems.ratio);
        else ctx.problem(entryWhere, sevenZipProblems[problem]);
        entries.push(entryReport);
        continue;
      }
      extracted += bytes.length;
      ctx.bytesLeft -= bytes.length;
      entries.push(await analyseFile(ctx, { bytes, name: entry.path, declaredType: '' }, entryWhere, depth + 1));
    }
    report.entries = entries;
    const own: Encryption = encrypted && encrypted === files.length ? 'encrypted' : encrypted ? 'partly-encrypted' : 'not-encrypted';
    report.encryption = combineEncryption(own, entries, false);
    if (report.encryption !== 'not-encrypted') report.encryptionDetail = firstEncryptionDetail(entries);
  } catch (e) {
    report.encryption = 'unknown';
    if (e instanceof SevenZipLimitError && e.problem === 'timeout') ctx.timeout(where);
    else ctx.problem(where, 'The archive could not be opened (the archive tool is missing or failed)');
  } finally {
    await archive?.close();
  }
}

export { formatBytes };
