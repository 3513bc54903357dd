// One layer of one file: what it really is, whether it is encrypted, its text, and the files
// inside it (archive entries, attachments of an Outlook message). Pure and synchronous-ish; it
// runs inside an extraction worker (worker.ts) so that a hostile file cannot stall the SMTP loop.
// Nested files are returned as children; the caller (analyse.ts) recurses, counting depth and
// the message's budget.
import { fileTypeFromBuffer } from 'file-type';
import MsgReaderModule from '@kenjiuno/msgreader';
import type { FieldsData } from '@kenjiuno/msgreader/lib/MsgReader.js';

interface MsgReaderClass {
  getFileData(): FieldsData;
  getAttachment(attach: number | FieldsData): { fileName: string; content: Uint8Array };
}
import type { ZipFile } from 'yauzl';
import { analyseCfb, embeddedObjects, isMsg, MIME, oleObjectFile, readCfb, storedPictures, type CfbContainer } from './legacy-office.ts';
import { dataLinkName, DataLinkSink, type DataLinks } from './data-links.ts';
import { decryptWithDefaultPassword } from './ooxml-crypto.ts';
import { docxText, odfManifestEncrypted, odfText, otherPartsText, pptxText, xlsxText } from './office-xml.ts';
import type { LayerBudget, XmlTextResult } from './office-xml.ts';
import type { ImageFormat } from './ocr-image.ts';
import { cmsContentType, imageType, looksLikeBinaryPgp, quickSniff } from './sniff.ts';
import { armorAlone, decodeTextBytes, htmlBytesToText, htmlToText, readAsUtf8, rtfToText, sniffTextKind, unreadCharset } from './text.ts';
import { BYTES_TEXT_FROM } from './text-parts.ts';
import { Utf8Text } from './utf8-text.ts';
import type { Encryption } from './types.ts';
import { everyEntryEncrypted, firstLocalHeaderEncryption, listZip, openZip, readZipEntry, ZipLimitError } from './zip.ts';
import type { ZipEntryInfo, ZipProblem } from './zip.ts';

// The package is CommonJS with `exports.default`; under Node's ESM loader the class may sit one level down.
const MsgReader = ((MsgReaderModule as unknown as { default?: unknown }).default ?? MsgReaderModule) as unknown as new (data: ArrayBuffer) => MsgReaderClass;

export interface LayerInput {
  bytes: Buffer;
  name: string;
  declaredType: string;
  charset?: string;
  budget: LayerBudget;
}

export interface ChildFile {
  name: string;
  size: number;
  bytes?: Buffer;
  declaredType?: string;
  encryption?: Encryption;
  encryptionDetail?: string;
  /** Why this entry was not read (plain English). */
  problem?: string;
  /** Already analysed (an Outlook message embedded in an Outlook message). */
  layer?: LayerOutput;
}

export interface LayerOutput {
  format: string;
  mime: string;
  isImage: boolean;
  isMessage: boolean;
  encryption: Encryption;
  encryptionDetail?: string;
  /** A Utf8Text from textLayer on the main thread (keepBytes), or made by the pool from `utf8`; what a worker sends is a string. */
  text?: string | Utf8Text;
  /** A large HTML file's text as its UTF-8 bytes, sent by a worker (moved, not copied): the pool makes it `text`. */
  utf8?: Uint8Array;
  truncated?: boolean;
  /** Texts of a message-like file, each appended to the file's `where`: 'headers', 'body', 'body:html'. */
  extraTexts?: Array<{ suffix: string; text: string; truncated?: boolean }>;
  children?: ChildFile[];
  problems: string[];
  bytesUsed: number;
  partsUsed: number;
  /** The file must be handled by the caller itself (PDF reader, 7-Zip, MIME parser). */
  route?: 'pdf' | 'sevenzip' | 'message';
  /** Pictures inside an Office document (budget.ocrImages): text recognition reads them into its text. */
  images?: EmbeddedImage[];
}

export interface EmbeddedImage {
  name: string;
  format: ImageFormat;
  bytes: Buffer;
}

/** Pictures an Office document may hand back for text recognition. */
const MAX_EMBEDDED_IMAGES = 50;

/** The pictures under `folder` (word/media/, Pictures/ …), within the budget; others are left unread. */
async function embeddedImages(zip: ZipFile, entries: ZipEntryInfo[], folder: string, budget: LayerBudget): Promise<EmbeddedImage[]> {
  const out: EmbeddedImage[] = [];
  for (const info of entries) {
    if (out.length >= MAX_EMBEDDED_IMAGES || budget.partsLeft <= 0) break;
    if (!info.name.startsWith(folder) || info.isDirectory || info.encrypted || info.unsupportedMethod) continue;
    if (info.uncompressedSize > Math.min(budget.maxEntryBytes, budget.bytesLeft)) continue;
    let data: Buffer;
    try {
      data = await readZipEntry(zip, info, { maxBytes: Math.min(budget.maxEntryBytes, budget.bytesLeft), maxRatio: budget.maxRatio });
    } catch {
      continue;
    }
    const format = imageType(data);
    if (!format) continue;
    budget.bytesLeft -= data.length;
    budget.partsLeft--;
    out.push({ name: info.name, format, bytes: data });
  }
  return out;
}

const zipProblemText: Record<ZipProblem, string> = {
  'too-big': 'It is larger than the size limit for one file, so it was not read',
  ratio: 'It expands far more than ordinary files do (a possible zip bomb), so it was not read',
  'sizes-lie': "The archive's recorded sizes do not match its contents (a damaged or malicious archive)",
  damaged: 'It is damaged and could not be read',
  budget: 'The message holds more data than the inspection limit, so the rest was not read',
};

export function zipProblem(e: unknown): string {
  return zipProblemText[e instanceof ZipLimitError ? e.problem : 'damaged'];
}

function output(format: string, mime: string, extra: Partial<LayerOutput> = {}): LayerOutput {
  return { format, mime, isImage: false, isMessage: false, encryption: 'not-encrypted', problems: [], bytesUsed: 0, partsUsed: 0, ...extra };
}

const TEXT_MIME: Record<string, string> = {
  txt: 'text/plain',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  html: 'text/html',
  rtf: 'application/rtf',
  eml: 'message/rfc822',
  pgp: 'application/pgp-encrypted',
  vcard: 'text/vcard',
  calendar: 'text/calendar',
};

/**
 * Text files: decode, decide txt/csv/tsv/html/rtf/eml, and extract. Cheap enough for small files on
 * the main thread. There (`keepBytes`), a large plain file in UTF-8 stays its bytes (Utf8Text), as
 * a long body does: never made a 40 MB string for detectors that read bytes.
 */
export function textLayer(bytes: Buffer, name: string, charset: string | undefined, maxChars: number, keepBytes = false, budget?: Pick<LayerBudget, 'partsLeft' | 'bytesLeft'>): LayerOutput {
  const head = decodeTextBytes(bytes.subarray(0, 8192), charset);
  let kind = sniffTextKind(head, name);
  // Encrypted only when the file is the armored message alone: text after its END line (a class
  // list under a short PGP block) is plain, and read as a text file.
  if (kind === 'pgp') {
    if (armorAlone(decodeTextBytes(bytes, charset))) return output('pgp', TEXT_MIME.pgp, { encryption: 'encrypted', encryptionDetail: 'pgp' });
    kind = 'txt';
  }
  // An SVG picture is markup, read as HTML is (its text, and the pictures written into it as
  // data: links: a screenshot inside an SVG).
  const lowerName = name.toLowerCase();
  if (kind === 'txt' && lowerName.endsWith('.svg') && head.trimStart().startsWith('<')) kind = 'html';
  const mime = TEXT_MIME[kind];
  if (kind === 'eml') return output('eml', mime, { isMessage: true, route: 'message' });
  if (kind === 'rtf') {
    const { text, truncated } = rtfToText(bytes, maxChars);
    return output('rtf', mime, { text, truncated });
  }
  if (keepBytes && kind !== 'html' && bytes.length >= BYTES_TEXT_FROM && readAsUtf8(bytes, charset)) {
    const text = new Utf8Text(bytes);
    if (text.length <= maxChars) return output(kind, mime, { text });
  }
  if (kind === 'html' && bytes.length >= BYTES_TEXT_FROM && readAsUtf8(bytes, charset)) {
    // A large HTML file in UTF-8: read a piece at a time, never made a string of the whole; its
    // text stays its bytes when it is large and whole (from a worker, sent back moved), as a body's does.
    const links = linkSink(budget);
    const { text, truncated } = htmlBytesToText(bytes, maxChars, undefined, true, links);
    return withDataLinks(links, budget, output('html', mime, typeof text === 'string' ? { text, truncated } : keepBytes ? { text: new Utf8Text(text), truncated } : { utf8: text, truncated }));
  }
  const decoded = decodeTextBytes(bytes, charset);
  const problems = unreadCharset(bytes, charset) ? ['It is written in a character set that is not read, so what it says was not checked'] : [];
  if (kind === 'html') {
    const links = linkSink(budget);
    const { text, truncated } = htmlToText(decoded, maxChars, 0, true, links);
    return withDataLinks(links, budget, output('html', mime, { text, truncated, problems }));
  }
  const truncated = decoded.length > maxChars;
  const out = output(kind, mime, { text: truncated ? decoded.slice(0, maxChars) : decoded, truncated, problems });
  // A style sheet (one written into HTML as a data: link, @import): the links in it too.
  if (lowerName.endsWith('.css')) {
    const links = linkSink(budget);
    links.css(decoded);
    return withDataLinks(links, budget, out);
  }
  return out;
}

/** Where an HTML document's data: links go, counted against `budget` (without one, as many as it holds). */
function linkSink(budget: Pick<LayerBudget, 'partsLeft' | 'bytesLeft'> | undefined): DataLinkSink {
  return new DataLinkSink(budget ? Math.max(0, budget.partsLeft) : Infinity, budget ? Math.max(0, budget.bytesLeft) : Infinity);
}

/** An HTML document's pictures and files written into it as data: links (data-links.ts), as its children, counted in its use of the budget. */
function withDataLinks(found: DataLinks, budget: Pick<LayerBudget, 'partsLeft' | 'bytesLeft'> | undefined, out: LayerOutput): LayerOutput {
  if (found.more) out.problems.push('It holds more pictures or files written into it (data: links) than the inspection limit, so the rest were not read');
  if (!found.links.length) return out;
  out.children = [...(out.children ?? []), ...found.links.map((link, k) => ({ name: dataLinkName(k + 1, link.type), size: link.bytes.length, bytes: link.bytes, declaredType: link.type }))];
  out.partsUsed += found.links.length;
  for (const link of found.links) out.bytesUsed += link.bytes.length;
  if (budget) {
    budget.partsLeft -= found.links.length;
    for (const link of found.links) budget.bytesLeft -= link.bytes.length;
  }
  return out;
}

/**
 * Analyses one file, and inside the worker also the archive entries and message attachments
 * that the worker can read itself (zip in zip, docx in zip, …), to save a round trip per file.
 * bytesUsed and partsUsed count everything done in this call, nested layers included.
 */
export async function analyseLayer(input: LayerInput): Promise<LayerOutput> {
  const startBytes = input.budget.bytesLeft;
  const startParts = input.budget.partsLeft;
  const out = await analyseOne(input);
  out.bytesUsed = startBytes - input.budget.bytesLeft;
  out.partsUsed = startParts - input.budget.partsLeft;
  return out;
}

/**
 * A file embedded in an Office document: an OLE object is unwrapped first (the file it packages,
 * or the Office document it is), and an equation or picture object is neither read nor held, as
 * the document's pictures are not when text recognition is off (a maths worksheet full of
 * Equation Editor objects is ordinary school mail); any other object is held as not read.
 */
async function embeddedChild(name: string, data: Buffer, declaredType: string, budget: LayerBudget): Promise<ChildFile> {
  if (quickSniff(data).route !== 'cfb') return childFile(name, data, declaredType, budget);
  let inside: ReturnType<typeof oleObjectFile>;
  try {
    inside = oleObjectFile(readCfb(data));
  } catch {
    return childFile(name, data, declaredType, budget);
  }
  if (inside === 'office' || inside === 'unknown') return childFile(name, data, declaredType, budget);
  if (inside === 'other') return { name, size: data.length, layer: output('ole-object', MIME.cfb) };
  return childFile(inside.name ? `${name}/${inside.name}` : name, inside.bytes, '', budget);
}

/**
 * A child file: analysed here when the worker can read it and the depth allows, otherwise handed
 * back with its bytes (PDF, 7z, e-mail, or too deep) for the caller to route.
 */
async function childFile(name: string, data: Buffer, declaredType: string, budget: LayerBudget): Promise<ChildFile> {
  const route = quickSniff(data).route;
  // Pictures go back too: text recognition runs outside the worker, as subprocesses.
  if (budget.depthLeft < 1 || route === 'pdf' || route === 'sevenzip' || route === 'image' || (route === 'text' && data.length > 256 * 1024)) {
    return { name, size: data.length, bytes: data, declaredType };
  }
  budget.depthLeft--;
  try {
    const layer = await analyseOne({ bytes: data, name, declaredType, budget });
    if (layer.route) return { name, size: data.length, bytes: data, declaredType };
    return { name, size: data.length, layer, declaredType };
  } finally {
    budget.depthLeft++;
  }
}

async function analyseOne(input: LayerInput): Promise<LayerOutput> {
  const { bytes, budget } = input;
  const quick = quickSniff(bytes);
  switch (quick.route) {
    case 'empty':
      return output('empty', 'application/x-empty');
    case 'pdf':
      return output('pdf', 'application/pdf', { route: 'pdf' });
    case 'sevenzip':
      return output(quick.format as string, quick.mime as string, { route: 'sevenzip' });
    case 'zip':
      return zipLayer(input);
    case 'cfb':
      return cfbLayer(input);
    case 'text':
      return textLayer(bytes, input.name, input.charset, budget.maxTextChars, false, budget);
    default:
      return binaryLayer(input);
  }
}

async function binaryLayer(input: LayerInput): Promise<LayerOutput> {
  const { bytes } = input;
  const declared = input.declaredType.toLowerCase();
  const lowerName = input.name.toLowerCase();
  const cms = cmsContentType(bytes);
  if (cms) {
    if (cms === 'enveloped') return output('pkcs7', 'application/pkcs7-mime', { encryption: 'encrypted', encryptionDetail: 'smime-enveloped' });
    if (declared.includes('pkcs7-signature') || lowerName.endsWith('.p7s')) return output('pkcs7-signature', 'application/pkcs7-signature');
    if (cms === 'signed') {
      return output('pkcs7', 'application/pkcs7-mime', { problems: ['It is a digitally signed message in a form (S/MIME opaque signing) whose contents are not read'] });
    }
    return output('pkcs7', 'application/pkcs7-mime', { encryption: 'unknown', problems: ['It is a cryptographic container of a kind that is not read'] });
  }
  if (looksLikeBinaryPgp(bytes) && (declared.includes('pgp') || declared === 'application/octet-stream' || lowerName.endsWith('.gpg') || lowerName.endsWith('.pgp'))) {
    return output('pgp', 'application/pgp-encrypted', { encryption: 'encrypted', encryptionDetail: 'pgp' });
  }
  let type: { ext: string; mime: string } | undefined;
  try {
    type = await fileTypeFromBuffer(bytes);
  } catch {
    type = undefined;
  }
  if (!type) {
    return output('unknown', 'application/octet-stream', { encryption: 'unknown', problems: ['Its file type could not be recognised, so its contents were not read'] });
  }
  if (type.mime.startsWith('image/')) return output(type.ext, type.mime, { isImage: true });
  if (type.ext === 'pdf') return output('pdf', type.mime, { route: 'pdf' });
  return output(type.ext, type.mime, { problems: [`It is a file of a type (${type.mime}) whose contents are not read`] });
}

// ---------------------------------------------------------------------------------------------

const OOXML_MIME = {
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
};

const ODF_FORMATS: Record<string, string> = {
  'application/vnd.oasis.opendocument.text': 'odt',
  'application/vnd.oasis.opendocument.text-template': 'ott',
  'application/vnd.oasis.opendocument.spreadsheet': 'ods',
  'application/vnd.oasis.opendocument.spreadsheet-template': 'ots',
  'application/vnd.oasis.opendocument.presentation': 'odp',
  'application/vnd.oasis.opendocument.presentation-template': 'otp',
  'application/vnd.oasis.opendocument.graphics': 'odg',
};

async function zipLayer(input: LayerInput): Promise<LayerOutput> {
  const { bytes, budget } = input;
  let zip: ZipFile;
  try {
    zip = await openZip(bytes);
  } catch {
    // Unreadable: encrypted only when its list of files is itself encrypted (the one shape no
    // reader can list), or every file in it is (SecureZIP's strong encryption, which the library
    // refuses); an encrypted first file says nothing of the others (a plain list may follow
    // under a name the library refuses, which unzip extracts).
    const enc = firstLocalHeaderEncryption(bytes) === 'zip-encrypted-directory' ? 'zip-encrypted-directory' : everyEntryEncrypted(bytes);
    if (enc) return output('zip', 'application/zip', { encryption: 'encrypted', encryptionDetail: enc });
    return output('zip', 'application/zip', { encryption: 'unknown', problems: ['The zip file is damaged and could not be opened'] });
  }
  try {
    let entries: ZipEntryInfo[];
    try {
      entries = await listZip(zip, Math.max(0, budget.partsLeft) + 16, bytes);
    } catch (e) {
      if (e instanceof ZipLimitError && e.problem === 'budget') {
        return output('zip', 'application/zip', { encryption: 'unknown', problems: ['The archive holds more files than the inspection limit, so it was not read'] });
      }
      const enc = firstLocalHeaderEncryption(bytes) === 'zip-encrypted-directory' ? 'zip-encrypted-directory' : everyEntryEncrypted(bytes);
    if (enc) return output('zip', 'application/zip', { encryption: 'encrypted', encryptionDetail: enc });
      return output('zip', 'application/zip', { encryption: 'unknown', problems: ['The zip file is damaged and its list of files could not be read'] });
    }
    const byName = new Map(entries.map((e) => [e.name, e]));
    const startBytes = budget.bytesLeft;
    const used = (out: LayerOutput): LayerOutput => {
      out.bytesUsed = startBytes - budget.bytesLeft;
      return out;
    };
    const encryptedEntries = entries.filter((e) => e.encrypted);
    if (byName.has('[Content_Types].xml') && !encryptedEntries.length) {
      let kind: 'docx' | 'xlsx' | 'pptx' | undefined;
      if (byName.has('word/document.xml')) kind = 'docx';
      else if (byName.has('xl/workbook.xml')) kind = 'xlsx';
      else if (byName.has('ppt/presentation.xml')) kind = 'pptx';
      if (kind) {
        const extract = kind === 'docx' ? docxText : kind === 'xlsx' ? xlsxText : pptxText;
        const result = await extract(zip, byName, budget);
        const other = await otherPartsText(zip, entries, result.read ?? [], OOXML_EMBEDDED, budget);
        if (other.text.trim()) result.text += (result.text ? '\n' : '') + other.text;
        result.truncated ||= other.truncated;
        result.problems.push(...other.problems);
        const out = fromXml(kind, OOXML_MIME[kind], result);
        if (hasTwins(entries)) out.problems.push(TWINS);
        await readChildren(zip, entries.filter((e) => OOXML_EMBEDDED.test(e.name) || !OOXML_KNOWN.test(e.name)), budget, out, true);
        if (budget.ocrImages) out.images = await embeddedImages(zip, entries, kind === 'docx' ? 'word/media/' : kind === 'xlsx' ? 'xl/media/' : 'ppt/media/', budget);
        return used(out);
      }
    }
    const mimetypeEntry = byName.get('mimetype');
    if (mimetypeEntry && !mimetypeEntry.encrypted && mimetypeEntry.uncompressedSize < 200) {
      let declared = '';
      try {
        declared = (await readZipEntry(zip, mimetypeEntry, { maxBytes: 200, maxRatio: budget.maxRatio })).toString('latin1').trim();
      } catch {
        declared = '';
      }
      const odf = ODF_FORMATS[declared];
      if (odf) {
        try {
          if (await odfManifestEncrypted(zip, byName, budget)) {
            return used(output(odf, declared, { encryption: 'encrypted', encryptionDetail: 'odf' }));
          }
        } catch (e) {
          return used(output(odf, declared, { encryption: 'unknown', problems: [zipProblem(e)] }));
        }
        // The document's own parts: its body, page headers and footers (a spreadsheet's too: a
        // title typed there prints on every page), and the properties someone wrote.
        const result = await odfText(zip, byName, budget, true);
        for (const part of entries.filter((e) => ODF_OBJECT_CONTENT.test(e.name))) {
          const object = await odfText(zip, new Map([['content.xml', part]]), budget, false);
          if (object.text) result.text += (result.text ? '\n' : '') + object.text;
          result.truncated ||= object.truncated;
          result.problems.push(...object.problems);
        }
        const out = fromXml(odf, declared, result);
        if (hasTwins(entries)) out.problems.push(TWINS);
        await readChildren(zip, entries.filter((e) => ODF_FOREIGN_OBJECT.test(e.name)), budget, out, true);
        if (budget.ocrImages) out.images = await embeddedImages(zip, entries, 'Pictures/', budget);
        return used(out);
      }
    }
    return used(await archiveLayer(zip, entries, budget));
  } finally {
    zip.close();
  }
}

function fromXml(format: string, mime: string, result: XmlTextResult): LayerOutput {
  const out = output(format, mime, { text: result.text, truncated: result.truncated });
  const seen = new Set<string>();
  for (const p of result.problems) {
    const text = zipProblem(p);
    if (!seen.has(text)) out.problems.push(text);
    seen.add(text);
  }
  return out;
}

/**
 * Two parts of an Office or OpenDocument file under one name (part names ignore case): only one
 * is read here, and which one a program shows is up to the program.
 */
function hasTwins(entries: ZipEntryInfo[]): boolean {
  return new Set(entries.map((e) => e.name.toLowerCase())).size !== entries.length;
}
const TWINS = 'It holds two parts under the same name, which different programs would read differently, so what it shows cannot be known for sure';

async function archiveLayer(zip: ZipFile, entries: ZipEntryInfo[], budget: LayerBudget): Promise<LayerOutput> {
  const out = output('zip', 'application/zip', { children: [] });
  const { files, encrypted } = await readChildren(zip, entries, budget, out);
  if (encrypted && encrypted === files) {
    out.encryption = 'encrypted';
    out.encryptionDetail = entries.find((e) => e.encrypted)?.encryptionDetail;
  } else if (encrypted) {
    out.encryption = 'partly-encrypted';
    out.encryptionDetail = entries.find((e) => e.encrypted)?.encryptionDetail;
  }
  return out;
}

/**
 * Reads zip entries as files of their own (out.children, analysed by the caller): an archive's
 * files, or what an Office document carries inside it (an embedded workbook).
 */
async function readChildren(zip: ZipFile, entries: ZipEntryInfo[], budget: LayerBudget, out: LayerOutput, embedded = false): Promise<{ files: number; encrypted: number }> {
  const children = (out.children ??= []);
  let encrypted = 0;
  let files = 0;
  for (const info of entries) {
    if (info.isDirectory) continue;
    files++;
    if (budget.partsLeft <= 0) {
      out.problems.push('The archive holds more files than the inspection limit, so the rest were not read');
      break;
    }
    budget.partsLeft--;
    out.partsUsed++;
    if (info.headersDisagree) {
      children.push({ name: info.name, size: info.uncompressedSize, problem: 'Its entry in the zip’s list of files says it is encrypted, but the file itself is not, so it was not read' });
      continue;
    }
    if (info.encrypted) {
      encrypted++;
      children.push({ name: info.name, size: info.uncompressedSize, encryption: 'encrypted', encryptionDetail: info.encryptionDetail });
      continue;
    }
    if (info.unsupportedMethod) {
      children.push({ name: info.name, size: info.uncompressedSize, problem: 'It is compressed with a method that is not read' });
      continue;
    }
    if (info.uncompressedSize > budget.bytesLeft && info.uncompressedSize <= budget.maxEntryBytes) {
      children.push({ name: info.name, size: info.uncompressedSize, problem: zipProblemText.budget });
      continue;
    }
    let data: Buffer;
    try {
      data = await readZipEntry(zip, info, { maxBytes: Math.min(budget.maxEntryBytes, budget.bytesLeft), maxRatio: budget.maxRatio });
    } catch (e) {
      children.push({ name: info.name, size: info.uncompressedSize, problem: zipProblem(e) });
      continue;
    }
    budget.bytesLeft -= data.length;
    children.push(await (embedded ? embeddedChild : childFile)(info.name, data, '', budget));
  }
  return { files, encrypted };
}

/**
 * What an Office document carries inside it besides its own text: a workbook or document embedded
 * in it (an embedded table, or the data behind a chart: word/embeddings/, xl/embeddings/,
 * ppt/embeddings/), read as files of their own. Their pictures are not here (media/, read by
 * text recognition when it is on).
 */
const OOXML_EMBEDDED = /^(word|xl|ppt)\/embeddings\//i;
/**
 * The other files an Office document carries that are not text: its XML parts (read as text, by
 * otherPartsText), pictures (media/, read by text recognition when it is on), fonts, printer
 * settings, macros, ActiveX controls, a thumbnail. Anything else in it (a CSV someone slipped in)
 * is read as a file of its own.
 */
const OOXML_KNOWN = /(\.xml$|\.vml$|\.rels$|\/media\/|\/fonts\/|\/printerSettings\/|vbaProject(Signature(Agile|V3)?)?\.bin$|\/activeX\/|^docProps\/thumbnail\.|^customUI\/images\/|\/$)/i;

/**
 * An OpenDocument file's embedded objects: a folder per object ("Object 1/content.xml", the
 * object's own OpenDocument content, read as text here) or, for an object from another program, a
 * file ("Object 1", an OLE container, read as a file of its own).
 */
const ODF_OBJECT_CONTENT = /^(?!ObjectReplacements\/).+\/content\.xml$/;
const ODF_FOREIGN_OBJECT = /^Object [^/]+$/;

// ---------------------------------------------------------------------------------------------

async function cfbLayer(input: LayerInput): Promise<LayerOutput> {
  let container;
  try {
    container = readCfb(input.bytes);
  } catch {
    return output('cfb', MIME.cfb, { encryption: 'unknown', problems: ['The Office file is damaged and could not be opened'] });
  }
  if (isMsg(container)) return msgLayer(input);
  const found = analyseCfb(container, input.budget.maxTextChars);
  if (found.encryptedOoxml) {
    // Excel opens a file encrypted with its built-in password without asking: not protected.
    const plain = decryptWithDefaultPassword(found.encryptedOoxml.info, found.encryptedOoxml.pkg);
    if (plain && quickSniff(plain).route === 'zip') {
      const inner = await zipLayer({ ...input, bytes: plain });
      if (inner.encryption === 'not-encrypted') inner.encryptionDetail = 'ooxml-velvetsweatshop';
      return inner;
    }
  }
  const out = output(found.format, found.mime, {
    encryption: found.encryption,
    encryptionDetail: found.encryptionDetail,
    text: found.text,
    truncated: found.truncated,
    problems: found.problems,
  });
  if (found.encryption === 'not-encrypted') {
    await cfbChildren(container, input.budget, out);
    if (input.budget.ocrImages) {
      const images: EmbeddedImage[] = [];
      const stored = storedPictures(container, MAX_EMBEDDED_IMAGES);
      if (!stored.complete) out.problems.push('Its pictures could not all be looked at (the file is built to make that slow), so what they show was not read');
      for (const p of stored.pictures) {
        if (input.budget.partsLeft <= 0 || p.bytes.length > input.budget.bytesLeft) break;
        input.budget.partsLeft--;
        input.budget.bytesLeft -= p.bytes.length;
        images.push({ name: p.name, format: p.format, bytes: Buffer.from(p.bytes) });
      }
      if (images.length) out.images = images;
    }
  }
  return out;
}

/** An Office 97 file's embedded objects (embeddedObjects), read as files of their own. */
async function cfbChildren(container: CfbContainer, budget: LayerBudget, out: LayerOutput): Promise<void> {
  let objects: Array<{ name: string; bytes: Buffer }>;
  try {
    objects = embeddedObjects(container);
  } catch {
    out.problems.push('It holds embedded objects that could not be read');
    return;
  }
  const children = (out.children ??= []);
  for (const object of objects) {
    if (budget.partsLeft <= 0) {
      out.problems.push('It holds more embedded objects than the inspection limit, so the rest were not read');
      break;
    }
    budget.partsLeft--;
    out.partsUsed++;
    if (object.bytes.length > Math.min(budget.maxEntryBytes, budget.bytesLeft)) {
      children.push({ name: object.name, size: object.bytes.length, problem: zipProblemText['too-big'] });
      continue;
    }
    budget.bytesLeft -= object.bytes.length;
    children.push(await embeddedChild(object.name, object.bytes, '', budget));
  }
}

type MsgFields = FieldsData;

async function msgLayer(input: LayerInput): Promise<LayerOutput> {
  let reader: MsgReaderClass;
  let fields: MsgFields;
  try {
    const ab = input.bytes.buffer.slice(input.bytes.byteOffset, input.bytes.byteOffset + input.bytes.length) as ArrayBuffer;
    reader = new MsgReader(ab);
    fields = reader.getFileData();
  } catch {
    return output('msg', MIME.msg, { isMessage: true, encryption: 'unknown', problems: ['The Outlook message is damaged and could not be read'] });
  }
  if (fields.error) return output('msg', MIME.msg, { isMessage: true, encryption: 'unknown', problems: ['The Outlook message is damaged and could not be read'] });
  return msgFieldsLayer(reader, fields, input.budget, 0);
}

async function msgFieldsLayer(reader: MsgReaderClass, fields: MsgFields, budget: LayerBudget, depth: number): Promise<LayerOutput> {
  const out = output('msg', MIME.msg, { isMessage: true, extraTexts: [], children: [] });
  const texts = out.extraTexts as Array<{ suffix: string; text: string; truncated?: boolean }>;
  const headerLines: string[] = [];
  if (fields.subject) headerLines.push('Subject: ' + fields.subject);
  if (fields.senderName || fields.senderEmail) headerLines.push(`From: ${fields.senderName ?? ''} <${fields.senderEmail ?? ''}>`);
  for (const r of fields.recipients ?? []) headerLines.push(`${r.recipType === 'cc' ? 'Cc' : r.recipType === 'bcc' ? 'Bcc' : 'To'}: ${r.name ?? ''} <${r.smtpAddress ?? r.email ?? ''}>`);
  if (headerLines.length) texts.push({ suffix: 'headers', text: headerLines.join('\n') });
  // Cut at the text limit: said, as for any text (the rest was not read), never cut silently.
  if (fields.body) texts.push({ suffix: 'body', text: fields.body.slice(0, budget.maxTextChars), truncated: fields.body.length > budget.maxTextChars });
  let html = fields.bodyHtml;
  if (!html && fields.html) html = decodeTextBytes(fields.html);
  if (html) {
    // Pictures and files written into its HTML as data: links are read as attachments.
    const links = linkSink(budget);
    const read = htmlToText(html, budget.maxTextChars, 0, false, links);
    texts.push({ suffix: 'body:html', text: read.text, truncated: read.truncated });
    withDataLinks(links, budget, out);
  }
  if (!fields.body && !html && fields.compressedRtf) {
    out.problems.push('The message body is stored only as compressed RTF, which is not read');
  }
  const children = (out.children ??= []);
  for (const att of fields.attachments ?? []) {
    if (budget.partsLeft <= 0) {
      out.problems.push('The message has more attachments than the inspection limit, so the rest were not read');
      break;
    }
    budget.partsLeft--;
    out.partsUsed++;
    const name = att.fileName ?? att.name ?? 'attachment';
    if (att.innerMsgContent && att.innerMsgContentFields) {
      if (depth >= 16) {
        children.push({ name, size: 0, problem: 'Messages are nested deeper than the inspection limit' });
        continue;
      }
      children.push({ name: name.toLowerCase().endsWith('.msg') ? name : name + '.msg', size: 0, layer: await msgFieldsLayer(reader, att.innerMsgContentFields, budget, depth + 1) });
      continue;
    }
    try {
      const data = reader.getAttachment(att);
      const content = Buffer.from(data.content.buffer, data.content.byteOffset, data.content.length);
      if (content.length > budget.maxEntryBytes) {
        children.push({ name, size: content.length, problem: zipProblemText['too-big'] });
        continue;
      }
      budget.bytesLeft -= content.length;
      children.push(await childFile(data.fileName || name, content, att.attachMimeTag ?? '', budget));
    } catch {
      children.push({ name, size: 0, problem: 'The attachment is damaged and could not be read' });
    }
  }
  return out;
}
