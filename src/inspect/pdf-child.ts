// The PDF reader process. pdfjs-dist inflates content streams fully and its memory lives outside
// the V8 heap, so worker resourceLimits do not bound it (extraction.md §4): it runs here, in a
// child process started under an OS data-segment limit (ulimit -d) and killed on a deadline.
// Protocol (IPC, advanced serialization): in PdfRequest, out PdfReply. A large PDF comes as the
// path of a private temp file rather than inline, so the gateway does not hold a serialized copy.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

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
      embedded: PdfEmbeddedFile[];
    }
  | { id: number; ok: false; error: string };

async function embeddedFiles(doc: Awaited<ReturnType<typeof getDocument>['promise']>, req: PdfRequest): Promise<PdfEmbeddedFile[]> {
  const out: PdfEmbeddedFile[] = [];
  let attachments;
  try {
    attachments = await doc.getAttachments();
  } catch {
    return [{ name: 'embedded file', size: 0, problem: 'damaged' }];
  }
  if (!attachments) return out;
  let total = 0;
  for (const [id, a] of attachments) {
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

async function read(req: PdfRequest): Promise<PdfReply> {
  // pdfjs refuses a Buffer: hand it a plain Uint8Array view of the same memory.
  const src = req.path ? readFileSync(req.path) : (req.bytes ?? new Uint8Array(0));
  const data = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  const task = getDocument({
    data,
    disableFontFace: true,
    useSystemFonts: false,
    stopAtErrors: false,
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
    for (let n = 1; n <= doc.numPages; n++) {
      if (chars >= req.maxChars) {
        truncated = true;
        break;
      }
      try {
        const page = await doc.getPage(n);
        const content = await page.getTextContent();
        for (const item of content.items) {
          if (!('str' in item)) continue;
          parts.push(item.str);
          chars += item.str.length;
          if (item.hasEOL) {
            parts.push('\n');
            chars++;
          }
        }
        parts.push('\n');
        chars++;
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
    const embedded = await embeddedFiles(doc, req);
    let textPath: string | undefined;
    if (req.path && text.length > 1024 * 1024) {
      // Large text goes back the way the PDF came, sparing the gateway a serialized copy.
      textPath = join(dirname(req.path), 'text.txt');
      writeFileSync(textPath, text, { mode: 0o600 });
      text = '';
    }
    return { id: req.id, ok: true, userPassword: false, ownerPasswordOnly: permissions !== null, text, textPath, truncated, pages: doc.numPages, failedPages, embedded };
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
