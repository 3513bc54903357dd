// The PDF reader process. pdfjs-dist inflates content streams fully and its memory lives outside
// the V8 heap, so worker resourceLimits do not bound it (extraction.md §4): it runs here, in a
// child process started under an OS data-segment limit (ulimit -d) and killed on a deadline.
// Protocol (IPC, advanced serialization): in PdfRequest, out PdfReply. A large PDF comes as the
// path of a private temp file rather than inline, so the gateway does not hold a serialized copy.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { getDocument, OPS } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { judgeThumbnails } from './ocr-image.ts';
import { Thumbnailer, type GreyImage } from './thumbnail.ts';

export interface PdfRequest {
  id: number;
  /** The PDF itself, or… */
  bytes?: Uint8Array;
  /** …the file holding it. */
  path?: string;
  maxChars: number;
  /** Embedded files: how many, and how many bytes in all, may be handed back. */
  maxFiles: number;
  maxFileBytes: number;
  /**
   * Text recognition is on: pages with a text layer of their own are looked at too, for a
   * scan-sized picture covering much of the page (a typed note above a pasted form).
   */
  scansUnderText?: boolean;
}

/** A file embedded in the PDF (a PDF "attachment"): its bytes, or why they were not handed back. */
export interface PdfEmbeddedFile {
  name: string;
  size: number;
  bytes?: Uint8Array;
  problem?: 'too-big' | 'too-many' | 'damaged';
}

export type PdfReply =
  | { id: number; ok: true; userPassword: true }
  | {
      id: number;
      ok: true;
      userPassword: false;
      ownerPasswordOnly: boolean;
      /** The text, or '' when it was written to textPath (large text from a PDF that came as a file). */
      text: string;
      textPath?: string;
      truncated: boolean;
      pages: number;
      failedPages: number;
      /** Pages (1-based) without a usable text layer: scanned pages, for text recognition. */
      textless: number[];
      /**
       * Pages with little or no text that show a picture the size of a scan (a scanned page under
       * a footer or a page number), and, with scansUnderText, pages with text of their own whose
       * scan-sized picture covers much of the page.
       */
      pictured: number[];
      embedded: PdfEmbeddedFile[];
    }
  | { id: number; ok: false; error: string };

/** The text of an XFA form as pdfjs lays it out (its captions and what was filled in), up to `max` characters. */
export function xfaText(root: unknown, max: number): string {
  const out: string[] = [];
  let size = 0;
  const stack: unknown[] = [root];
  while (stack.length && size < max) {
    const node = stack.pop() as { value?: unknown; attributes?: { value?: unknown; textContent?: unknown }; children?: unknown[] } | null;
    if (!node || typeof node !== 'object') continue;
    // Text is a node's value (captions, text), or what was filled in: an input's value, a multi-line box's textContent.
    for (const v of [node.value, node.attributes?.value, node.attributes?.textContent]) {
      if (typeof v !== 'string' || !v.trim()) continue;
      out.push(v);
      size += v.length + 1;
    }
    if (Array.isArray(node.children)) for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]);
  }
  return out.join('\n').slice(0, max);
}

/** What pdfjs tells of an annotation, as far as its text goes. */
interface AnnotationData {
  annotationType: number;
  contentsObj?: { str?: string };
  richText?: { str?: string };
  fieldValue?: string | string[];
  textContent?: string[];
  alternativeText?: string;
  fileId?: string;
  file?: { filename?: string; rawFilename?: string };
}

/** pdfjs's AnnotationType.FILEATTACHMENT: a file attached to a point on a page, shown as a paper clip. */
const FILE_ATTACHMENT = 17;

/** The text an annotation shows: a comment, a text box, a form field's value, its appearance's text; each once. */
export function annotationTexts(a: AnnotationData): string[] {
  const field = Array.isArray(a.fieldValue) ? a.fieldValue.join('\n') : a.fieldValue;
  const all = [a.contentsObj?.str, a.richText?.str, field, a.textContent?.join(' '), a.alternativeText];
  const seen = new Set<string>();
  for (const t of all) if (typeof t === 'string' && t.trim()) seen.add(t.trim());
  return [...seen];
}

async function embeddedFiles(doc: Awaited<ReturnType<typeof getDocument>['promise']>, req: PdfRequest, annotationFiles: Array<{ name: string; fileId: string }>): Promise<PdfEmbeddedFile[]> {
  const out: PdfEmbeddedFile[] = [];
  let attachments;
  try {
    attachments = await doc.getAttachments();
  } catch {
    return [{ name: 'embedded file', size: 0, problem: 'damaged' }];
  }
  // Files attached to the document, then files attached to a point on a page (a paper clip).
  const files: Array<[string, { filename?: string; rawFilename?: string; content?: Uint8Array }]> = [
    ...((attachments instanceof Map ? [...attachments] : Object.entries(attachments ?? {})) as Array<[string, { filename?: string; rawFilename?: string; content?: Uint8Array }]>),
    ...annotationFiles.map((f): [string, { filename: string }] => [f.fileId, { filename: f.name }]),
  ];
  let total = 0;
  for (const [id, a] of files) {
    const name = a.filename || a.rawFilename || 'embedded file';
    if (out.length >= req.maxFiles) {
      out.push({ name, size: 0, problem: 'too-many' });
      break;
    }
    let content: Uint8Array | null | undefined = a.content;
    try {
      content ??= await doc.getAttachmentContent(id);
    } catch {
      content = null;
    }
    if (!content) {
      out.push({ name, size: 0, problem: 'damaged' });
      continue;
    }
    if (total + content.length > req.maxFileBytes) {
      out.push({ name, size: content.length, problem: 'too-big' });
      continue;
    }
    total += content.length;
    out.push({ name, size: content.length, bytes: content });
  }
  return out;
}

/**
 * A page's text layer is usable with at least this many visible characters, of which less than
 * a third are garbage (U+FFFD, private-use code points, control characters: fonts without a
 * Unicode map). Pages below it go to text recognition, after the gate. Measured on the OCR
 * fixtures (test/helpers/ocr-fixtures.ts): an image-only scan 0; a typed letter 510; a class list
 * of 20 rows 944, of 25 rows 1,140; a heading or a page number alone has a few dozen at most.
 */
const USABLE_PAGE_CHARS = 40;

function countChars(s: string, into: { chars: number; garbage: number }): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0xa0) continue;
    into.chars++;
    if (c < 0x20 || c === 0xfffd || (c >= 0xe000 && c <= 0xf8ff)) into.garbage++;
  }
}

function usableTextLayer(layer: { chars: number; garbage: number }): boolean {
  return layer.chars >= USABLE_PAGE_CHARS && layer.garbage * 3 < layer.chars;
}

/**
 * A picture this many pixels on its shorter side or more could be a scanned page (an A4 page
 * scanned at 100 dpi is 827 × 1169); logos and icons are smaller.
 */
const SCAN_PICTURE_SIDE = 500;
/** Fewer visible characters than this beside a scan-sized picture: the page is read as a picture too (a typed letter has about 500). */
const LITTLE_TEXT_CHARS = 200;
/** Pages of one PDF looked at for pictures (their images are decoded to be listed). */
const MAX_PICTURED_LOOKS = 50;

/** Pages with a text layer of their own looked at for a scan under it (one PDF). */
const MAX_UNDER_TEXT_LOOKS = 50;
/** Of a page's area, the share a scan-sized picture must cover to be read under the page's own text (newsletter photos cover less). */
const SCAN_COVERS = 0.4;

type Matrix = [number, number, number, number, number, number];
const multiply = (m: Matrix, n: Matrix): Matrix => [
  n[0] * m[0] + n[1] * m[2], n[0] * m[1] + n[1] * m[3],
  n[2] * m[0] + n[3] * m[2], n[2] * m[1] + n[3] * m[3],
  n[4] * m[0] + n[5] * m[2] + m[4], n[4] * m[1] + n[5] * m[3] + m[5],
];

/** A picture a page paints: its size, how much of the page it covers, and its decoded pixels when pdf.js has them. */
interface PaintedPicture {
  width: number;
  height: number;
  covers: number;
  /** The picture's object id (an XObject), or the inline picture itself. */
  id?: string;
  image?: { width?: number; height?: number; kind?: number; data?: Uint8Array | Uint8ClampedArray };
}

type Objects = { has(id: string): boolean; get(id: string, callback?: (data: unknown) => void): unknown };
type PageLike = {
  view: number[];
  objs: Objects;
  commonObjs: Objects;
  getOperatorList(): Promise<{ fnArray: number[]; argsArray: unknown[] }>;
};

/** A decoded picture pdf.js resolves (some only after the operator list), or undefined within a few seconds. */
function resolvedPicture(page: PageLike, id: string): Promise<unknown> {
  const objs = id.startsWith('g_') ? page.commonObjs : page.objs;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 5_000);
    try {
      objs.get(id, (data) => {
        clearTimeout(timer);
        resolve(data);
      });
    } catch {
      clearTimeout(timer);
      resolve(undefined);
    }
  });
}

/**
 * The scan-sized pictures a page paints (the shorter side SCAN_PICTURE_SIDE or more), each with
 * the share of the page it covers: its unit square under the transformation in force (save and
 * restore, cm, form XObjects), over the page's area.
 */
async function scanSizedPictures(page: PageLike): Promise<PaintedPicture[]> {
  const ops = await page.getOperatorList();
  const [x0, y0, x1, y1] = page.view;
  const pageArea = Math.abs((x1 - x0) * (y1 - y0)) || 1;
  let ctm: Matrix = [1, 0, 0, 1, 0, 0];
  const saved: Matrix[] = [];
  const out: PaintedPicture[] = [];
  for (let i = 0; i < ops.fnArray.length; i++) {
    const fn = ops.fnArray[i];
    const args = ops.argsArray[i] as unknown[] | null;
    if (fn === OPS.save) saved.push(ctm);
    else if (fn === OPS.restore) ctm = saved.pop() ?? ctm;
    else if (fn === OPS.transform && args?.length === 6) ctm = multiply(ctm, args.map(Number) as Matrix);
    else if (fn === OPS.paintFormXObjectBegin) {
      saved.push(ctm);
      const m = args?.[0] as number[] | null | undefined;
      if (m?.length === 6) ctm = multiply(ctm, m.map(Number) as Matrix);
    } else if (fn === OPS.paintFormXObjectEnd) ctm = saved.pop() ?? ctm;
    let w = 0;
    let h = 0;
    let image: PaintedPicture['image'];
    let id: string | undefined;
    if (fn === OPS.paintImageXObject || fn === OPS.paintImageXObjectRepeat) {
      w = Number(args?.[1]) || 0;
      h = Number(args?.[2]) || 0;
      id = String(args?.[0] ?? '');
    } else if (fn === OPS.paintInlineImageXObject || fn === OPS.paintImageMaskXObject) {
      image = args?.[0] as PaintedPicture['image'];
      w = image?.width ?? 0;
      h = image?.height ?? 0;
    }
    if (Math.min(w, h) >= SCAN_PICTURE_SIDE) {
      const drawn = Math.abs(ctm[0] * ctm[3] - ctm[1] * ctm[2]);
      out.push({ width: w, height: h, covers: Number.isFinite(drawn) ? Math.min(1, drawn / pageArea) : 1, id, image });
    }
  }
  return out;
}

/** Does the page paint a picture large enough to be a scanned page? */
async function showsScan(page: PageLike): Promise<boolean> {
  return (await scanSizedPictures(page)).length > 0;
}

/**
 * A grey thumbnail of a picture pdf.js decoded (1-bit grey, RGB or RGBA rows), or undefined when
 * its pixels are not there in a form read here.
 */
function pictureThumbnail(image: PaintedPicture['image']): GreyImage | undefined {
  const { width = 0, height = 0, kind = 0, data } = image ?? {};
  if (!data || !width || !height) return undefined;
  const stride = kind === 1 ? (width + 7) >> 3 : kind === 2 ? width * 3 : kind === 3 ? width * 4 : 0;
  if (!stride || data.length < stride * height) return undefined;
  const thumb = new Thumbnailer(width, height);
  const row = new Uint8Array(width);
  for (let y = 0; y < height; y++) {
    const at = y * stride;
    if (kind === 1) for (let x = 0; x < width; x++) row[x] = data[at + (x >> 3)] & (0x80 >> (x & 7)) ? 255 : 0;
    else {
      const step = kind === 2 ? 3 : 4;
      for (let x = 0, i = at; x < width; x++, i += step) row[x] = (data[i] * 77 + data[i + 1] * 150 + data[i + 2] * 29) >> 8;
    }
    thumb.addRow(row);
  }
  return thumb.result();
}

/**
 * A page with text of its own that paints a scan over much of it (Word's "Save as PDF" of a typed
 * note above a pasted form; invisible text over a scan): does that picture itself look like a page
 * of text? Judged by the gate on the picture, not the rendered page (whose own text would always
 * pass it): a letterhead's crest and footer, or a newsletter's photo, are turned away here and
 * cost nothing more. A picture whose pixels cannot be looked at counts as one that may be text.
 */
async function scanUnderText(page: PageLike): Promise<boolean> {
  for (const p of await scanSizedPictures(page)) {
    if (p.covers < SCAN_COVERS) continue;
    const image = p.image ?? (p.id ? ((await resolvedPicture(page, p.id)) as PaintedPicture['image']) : undefined);
    const thumb = pictureThumbnail(image);
    if (!thumb || judgeThumbnails(thumb, { width: p.width, height: p.height }, false).looksText) return true;
  }
  return false;
}

async function read(req: PdfRequest): Promise<PdfReply> {
  // pdfjs refuses a Buffer: hand it a plain Uint8Array view of the same memory.
  const src = req.path ? readFileSync(req.path) : (req.bytes ?? new Uint8Array(0));
  const data = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  const task = getDocument({
    data,
    disableFontFace: true,
    useSystemFonts: false,
    stopAtErrors: false,
    // An XFA form (an Adobe LiveCycle form: its pages say only "Please wait...") is laid out from
    // its XML, so its fields' text can be read (xfaText).
    enableXfa: true,
    verbosity: 0,
    password: '',
  });
  let doc;
  try {
    doc = await task.promise;
  } catch (e) {
    const name = (e as { name?: string }).name ?? '';
    if (name === 'PasswordException') return { id: req.id, ok: true, userPassword: true };
    return { id: req.id, ok: false, error: name || 'error' };
  }
  try {
    const permissions = await doc.getPermissions();
    const parts: string[] = [];
    let chars = 0;
    let truncated = false;
    let failedPages = 0;
    const textless: number[] = [];
    const pictured: number[] = [];
    let looked = 0;
    let lookedUnderText = 0;
    let sawScan = false;
    let unreadAnnotations = 0;
    const annotationFiles: Array<{ name: string; fileId: string }> = [];
    const xfa = doc.isPureXfa ? xfaText(doc.allXfaHtml, req.maxChars) : undefined;
    if (xfa !== undefined) {
      parts.push(xfa, '\n');
      chars += xfa.length + 1;
    }
    for (let n = 1; xfa === undefined && n <= doc.numPages; n++) {
      if (chars >= req.maxChars) {
        truncated = true;
        break;
      }
      try {
        const page = await doc.getPage(n);
        const content = await page.getTextContent();
        const layer = { chars: 0, garbage: 0 };
        for (const item of content.items) {
          if (!('str' in item)) continue;
          countChars(item.str, layer);
          parts.push(item.str);
          chars += item.str.length;
          if (item.hasEOL) {
            parts.push('\n');
            chars++;
          }
        }
        parts.push('\n');
        chars++;
        // What the page's annotations show: comments, text boxes, form fields' values (not counted
        // as the page's text layer: a scan with a comment on it is still a scan).
        const annotations = await page.getAnnotations().catch(() => undefined);
        if (!annotations) unreadAnnotations++;
        for (const a of (annotations ?? []) as AnnotationData[]) {
          for (const t of annotationTexts(a)) {
            parts.push(t, '\n');
            chars += t.length + 1;
          }
          if (a.annotationType === FILE_ATTACHMENT && a.fileId) annotationFiles.push({ name: a.file?.filename || a.file?.rawFilename || 'attached file', fileId: a.fileId });
        }
        const usable = usableTextLayer(layer);
        if (!usable) textless.push(n);
        // A scan under a page number or a footer: a page with little text that shows a scan-sized
        // picture. A page that cannot be listed counts as one.
        if (!usable || layer.chars < LITTLE_TEXT_CHARS) {
          looked++;
          // Past the pages looked at, a page without text counts as a picture, and one with a little
          // text does too once a page looked at showed a scan (the gate costs only a thumbnail).
          const scan = looked > MAX_PICTURED_LOOKS ? !usable || sawScan : await showsScan(page).catch(() => true);
          if (scan) pictured.push(n);
          if (scan && looked <= MAX_PICTURED_LOOKS) sawScan = true;
        } else if (req.scansUnderText && lookedUnderText++ < MAX_UNDER_TEXT_LOOKS) {
          // A page with text of its own that paints a scan over much of it (Word's "Save as PDF" of
          // a typed note above a pasted form; or invisible text over a scan): read as a picture too.
          // A page that cannot be listed is left to its text layer.
          if (await scanUnderText(page).catch(() => false)) pictured.push(n);
        }
        page.cleanup();
      } catch {
        failedPages++;
      }
    }
    let text = parts.join('');
    if (text.length > req.maxChars) {
      text = text.slice(0, req.maxChars);
      truncated = true;
    }
    const embedded = await embeddedFiles(doc, req, annotationFiles);
    // A page whose annotations could not be listed: what they show is unknown.
    failedPages += unreadAnnotations;
    let textPath: string | undefined;
    if (req.path && text.length > 1024 * 1024) {
      // Large text goes back the way the PDF came, sparing the gateway a serialized copy.
      textPath = join(dirname(req.path), 'text.txt');
      writeFileSync(textPath, text, { mode: 0o600 });
      text = '';
    }
    return { id: req.id, ok: true, userPassword: false, ownerPasswordOnly: permissions !== null, text, textPath, truncated, pages: doc.numPages, failedPages, textless, pictured, embedded };
  } finally {
    await task.destroy();
  }
}

process.on('message', (req: PdfRequest) => {
  read(req).then(
    (reply) => process.send?.(reply),
    (e) => process.send?.({ id: req.id, ok: false, error: (e as { name?: string }).name ?? 'error' } satisfies PdfReply),
  );
});
process.on('disconnect', () => process.exit(0));
