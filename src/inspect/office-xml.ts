// Text from the XML-in-ZIP office formats: docx, xlsx, pptx (Office Open XML) and odt, ods, odp
// (OpenDocument). yauzl streams each part into saxes; only the parts that hold text are read, and
// every byte read is counted against the message's budget (extraction.md §2).
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import type { ZipFile } from 'yauzl';
import { TextSink } from './text.ts';
import { naturalCompare, streamZipEntry, ZipLimitError } from './zip.ts';
import type { ZipEntryInfo } from './zip.ts';

/** What a layer may still spend; shared by every read inside one worker task. */
export interface LayerBudget {
  bytesLeft: number;
  partsLeft: number;
  maxEntryBytes: number;
  maxRatio: number;
  maxTextChars: number;
  /** How many more levels of nesting may be opened below the file being read. */
  depthLeft: number;
  /** Hand back the pictures inside Office documents (word/media, Pictures/) for text recognition. */
  ocrImages?: boolean;
}

export interface XmlHandlers {
  open(name: string, attrs: Record<string, string>): void;
  close(name: string): void;
  text(t: string): void;
}

/** Streams one zip entry through saxes. Counts its bytes against the budget. */
export async function parseXmlEntry(zip: ZipFile, info: ZipEntryInfo, budget: LayerBudget, handlers: XmlHandlers): Promise<void> {
  const parser = new SaxesParser({ position: false });
  let xmlError: Error | undefined;
  parser.on('error', (e) => {
    xmlError ??= e;
  });
  parser.on('opentag', (tag) => handlers.open(tag.name, tag.attributes as Record<string, string>));
  parser.on('closetag', (tag) => handlers.close(tag.name));
  parser.on('text', (t: string) => handlers.text(t));
  parser.on('cdata', (t: string) => handlers.text(t));
  const decoder = new StringDecoder('utf8');
  const maxBytes = Math.min(budget.maxEntryBytes, budget.bytesLeft);
  if (info.uncompressedSize > budget.bytesLeft && info.uncompressedSize <= budget.maxEntryBytes) {
    throw new ZipLimitError('budget', 'message byte budget spent');
  }
  const read = await streamZipEntry(zip, info, { maxBytes, maxRatio: budget.maxRatio }, (chunk) => {
    if (xmlError) throw new ZipLimitError('damaged', 'xml error');
    parser.write(decoder.write(chunk));
  });
  budget.bytesLeft -= read;
  parser.write(decoder.end());
  parser.close();
  if (xmlError) throw new ZipLimitError('damaged', 'xml error');
}

function local(name: string): string {
  const colon = name.indexOf(':');
  return colon >= 0 ? name.slice(colon + 1) : name;
}

export function pick(entries: Map<string, ZipEntryInfo>, startsWith: string, endsWith = '.xml'): ZipEntryInfo[] {
  const out: ZipEntryInfo[] = [];
  for (const [name, info] of entries) {
    if (name.startsWith(startsWith) && name.endsWith(endsWith) && name.indexOf('/', startsWith.length) < 0) out.push(info);
  }
  return out.sort((a, b) => naturalCompare(a.name, b.name));
}

export interface XmlTextResult {
  text: string;
  truncated: boolean;
  /** The parts read for that text (otherPartsText reads the rest). */
  read?: string[];
  /** Parts that could not be read, with the reason. */
  problems: ZipLimitError[];
}

async function readParts(zip: ZipFile, parts: ZipEntryInfo[], budget: LayerBudget, sink: TextSink, makeHandlers: (info: ZipEntryInfo) => XmlHandlers): Promise<ZipLimitError[]> {
  const problems: ZipLimitError[] = [];
  for (const info of parts) {
    if (sink.full) break;
    try {
      await parseXmlEntry(zip, info, budget, makeHandlers(info));
    } catch (e) {
      problems.push(e instanceof ZipLimitError ? e : new ZipLimitError('damaged', 'damaged'));
      if ((e as ZipLimitError).problem === 'budget') break;
    }
    sink.newline();
  }
  return problems;
}

/** Word: body, headers, footers, footnotes, endnotes, comments; deleted tracked changes included. */
export async function docxText(zip: ZipFile, entries: Map<string, ZipEntryInfo>, budget: LayerBudget): Promise<XmlTextResult> {
  const sink = new TextSink(budget.maxTextChars);
  const parts = [
    ...pick(entries, 'word/document'),
    ...pick(entries, 'word/header'),
    ...pick(entries, 'word/footer'),
    ...pick(entries, 'word/footnotes'),
    ...pick(entries, 'word/endnotes'),
    ...pick(entries, 'word/comments'),
  ];
  const handlers = () => paragraphHandlers(sink, { text: ['t', 'delText'], breaks: ['br', 'cr'], tabs: true });
  const problems = await readParts(zip, parts, budget, sink, handlers);
  return { text: sink.toString(), truncated: sink.truncated, problems, read: parts.map((p) => p.name) };
}

/**
 * The parts of an Office file that hold no text anyone wrote: formatting, layout and
 * bookkeeping. Every other XML part not read for the document's own text is read by
 * otherPartsText.
 */
const PARTS_WITHOUT_TEXT = /(^\[Content_Types\]\.xml$|\/_rels\/|(^|\/)(styles|stylesWithEffects|settings|webSettings|fontTable|numbering|presProps|viewProps|tableStyles|calcChain|app)\.xml$|\/theme\/|^customXml\/itemProps\d*\.xml$)/;

/** Of a document's core properties, the ones someone wrote. */
const CORE_WRITTEN = new Set(['title', 'subject', 'keywords', 'description', 'category']);

/**
 * Text in the other XML parts of an Office file: the document's own reader knows the parts Word,
 * Excel and PowerPoint keep the text in, but not every part a document can carry (a chart's cached
 * labels, a pivot table's cache, SmartArt, an Excel text box, building blocks, document
 * properties). Read generically, so nothing there goes unread: text nodes, and `v` attributes (a
 * pivot cache's values), a line each; runs within a paragraph stay joined.
 */
export async function otherPartsText(zip: ZipFile, entries: ZipEntryInfo[], read: string[], skip: RegExp, budget: LayerBudget): Promise<XmlTextResult> {
  const sink = new TextSink(budget.maxTextChars);
  const done = new Set(read);
  // VML too: the legacy drawings Excel keeps its notes' boxes in.
  const parts = entries.filter((e) => /\.[xv]ml$/i.test(e.name) && !done.has(e.name) && !PARTS_WITHOUT_TEXT.test(e.name) && !skip.test(e.name));
  const joined = new Set(['t', 'r', 'delText', 'rPr', 'pPr']);
  const problems = await readParts(zip, parts, budget, sink, (info) => {
    let pending = false;
    // Of the document's core properties, only what someone wrote (not its dates, language or revision).
    const core = info.name === 'docProps/core.xml';
    let written = 0;
    return {
      open(name, attrs) {
        if (core && CORE_WRITTEN.has(local(name))) written++;
        if (attrs.v) {
          sink.push(attrs.v);
          sink.push('\n');
        }
      },
      close(name) {
        if (core && CORE_WRITTEN.has(local(name))) written = Math.max(0, written - 1);
        if (pending && !joined.has(local(name))) {
          sink.push('\n');
          pending = false;
        }
      },
      text(t) {
        if (!t.trim() || (core && !written)) return;
        sink.push(t);
        pending = true;
      },
    };
  });
  return { text: sink.toString(), truncated: sink.truncated, problems, read: parts.map((p) => p.name) };
}

/**
 * Word and PowerPoint text: the text elements' content, paragraphs on their own lines, and a
 * table row kept on one line (paragraphs in a cell joined by spaces, cells by tabs).
 */
function paragraphHandlers(sink: TextSink, names: { text: string[]; breaks: string[]; tabs: boolean }): XmlHandlers {
  let inText = 0;
  let inCell = 0;
  return {
    open(name, attrs) {
      const n = local(name);
      // A picture's or shape's alternative text and title (what a screen reader says of it).
      if ((n === 'docPr' || n === 'cNvPr') && (attrs.descr || attrs.title)) {
        for (const said of [attrs.title, attrs.descr]) {
          if (!said) continue;
          sink.push('\n');
          sink.push(said);
          sink.push('\n');
        }
      }
      if (names.text.includes(n)) inText++;
      else if (names.tabs && n === 'tab') sink.push('\t');
      else if (names.breaks.includes(n)) sink.push('\n');
      else if (n === 'tc') inCell++;
    },
    close(name) {
      const n = local(name);
      if (names.text.includes(n)) inText = Math.max(0, inText - 1);
      else if (n === 'p') sink.push(inCell ? ' ' : '\n');
      else if (n === 'tc') {
        inCell = Math.max(0, inCell - 1);
        sink.push('\t');
      } else if (n === 'tr') sink.push('\n');
    },
    text(t) {
      if (inText) sink.push(t);
    },
  };
}

/** PowerPoint: slides, then speaker notes, then comments. */
export async function pptxText(zip: ZipFile, entries: Map<string, ZipEntryInfo>, budget: LayerBudget): Promise<XmlTextResult> {
  const sink = new TextSink(budget.maxTextChars);
  const parts = [...pick(entries, 'ppt/slides/slide'), ...pick(entries, 'ppt/notesSlides/notesSlide'), ...pick(entries, 'ppt/comments/')];
  const handlers = () => paragraphHandlers(sink, { text: ['t', 'text'], breaks: ['br'], tabs: false });
  const problems = await readParts(zip, parts, budget, sink, handlers);
  return { text: sink.toString(), truncated: sink.truncated, problems, read: parts.map((p) => p.name) };
}

// Built-in number formats that show a date (ECMA-376 §18.8.30).
const builtInDateFormats = new Set([14, 15, 16, 17, 22, 27, 30, 36, 45, 46, 47, 50, 57]);

/** Does a number format code show a date? d, m or y outside quotes, brackets and escapes. */
export function isDateFormatCode(code: string): boolean {
  let quoted = false;
  let bracket = false;
  let hasDate = false;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (c === '\\' || c === '_' || c === '*') i++;
    else if (c === '[') bracket = true;
    else if (c === ']') bracket = false;
    else if (!bracket && (c === 'd' || c === 'D' || c === 'y' || c === 'Y')) hasDate = true;
    else if (!bracket && (c === '0' || c === '#')) return false;
  }
  return hasDate;
}

/** An Excel serial day number as a UK date, dd/mm/yyyy (times dropped). */
export function excelSerialToDate(serial: number, date1904 = false): string | undefined {
  if (!Number.isFinite(serial) || serial < 1 || serial > 2958465) return undefined;
  let days = Math.floor(serial);
  if (!date1904 && days >= 60) days -= 1; // Excel's phantom 29/02/1900
  const base = date1904 ? Date.UTC(1904, 0, 1) : Date.UTC(1899, 11, 31);
  const d = new Date(base + days * 86400000);
  const dd = String(d.getUTCDate()).padStart(2, '0');
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  return `${dd}/${mm}/${d.getUTCFullYear()}`;
}

/** What every sheet of a workbook needs to show its cells: shared strings, date styles, sheet names. */
export interface WorkbookParts {
  shared: string[];
  /** Shared strings past the text cap were dropped (cells showing them read as empty): the text is cut short. */
  sharedDropped: boolean;
  dateStyles: Set<number>;
  date1904: boolean;
  sheetNames: string[];
  problems: ZipLimitError[];
}

/** A cell as Excel shows it: shared and inline strings, TRUE/FALSE, dates as dd/mm/yyyy. */
export function cellText(parts: WorkbookParts, type: string, style: number, raw: string): string {
  if (type === 's') return parts.shared[Number(raw)] ?? '';
  if (type === 'b') return raw === '1' ? 'TRUE' : 'FALSE';
  if (type === 'n' && raw && parts.dateStyles.has(style)) return excelSerialToDate(Number(raw), parts.date1904) ?? raw;
  return raw;
}

/** Reads xl/sharedStrings.xml, xl/styles.xml and xl/workbook.xml (each within the budget). */
export async function workbookParts(zip: ZipFile, entries: Map<string, ZipEntryInfo>, budget: LayerBudget): Promise<WorkbookParts> {
  const problems: ZipLimitError[] = [];
  // Shared strings: one string per <si>, runs concatenated, phonetic runs (<rPh>) left out.
  const shared: string[] = [];
  let sharedChars = 0;
  let sharedDropped = false;
  const sst = entries.get('xl/sharedStrings.xml');
  if (sst) {
    let current: string[] = [];
    let inT = 0;
    let inPhonetic = 0;
    try {
      await parseXmlEntry(zip, sst, budget, {
        open(name) {
          const n = local(name);
          if (n === 'si') current = [];
          else if (n === 't') inT++;
          else if (n === 'rPh') inPhonetic++;
        },
        close(name) {
          const n = local(name);
          if (n === 'si') {
            const s = current.join('');
            sharedChars += s.length;
            // The strings only matter as far as they can be shown; past the text cap they are dropped.
            const kept = sharedChars <= budget.maxTextChars;
            if (!kept && s) sharedDropped = true;
            shared.push(kept ? s : '');
          } else if (n === 't') inT = Math.max(0, inT - 1);
          else if (n === 'rPh') inPhonetic = Math.max(0, inPhonetic - 1);
        },
        text(t) {
          if (inT && !inPhonetic) current.push(t);
        },
      });
    } catch (e) {
      problems.push(e as ZipLimitError);
    }
  }
  // Styles: which cell formats (s="n") show dates.
  const dateStyles = new Set<number>();
  const styles = entries.get('xl/styles.xml');
  if (styles) {
    const customDate = new Set<number>();
    let inCellXfs = false;
    let xfIndex = 0;
    try {
      await parseXmlEntry(zip, styles, budget, {
        open(name, attrs) {
          const n = local(name);
          if (n === 'numFmt') {
            const id = Number(attrs.numFmtId);
            if (isDateFormatCode(attrs.formatCode ?? '')) customDate.add(id);
          } else if (n === 'cellXfs') {
            inCellXfs = true;
            xfIndex = 0;
          } else if (n === 'xf' && inCellXfs) {
            const id = Number(attrs.numFmtId ?? 0);
            if (builtInDateFormats.has(id) || customDate.has(id)) dateStyles.add(xfIndex);
            xfIndex++;
          }
        },
        close(name) {
          if (local(name) === 'cellXfs') inCellXfs = false;
        },
        text() {},
      });
    } catch (e) {
      problems.push(e as ZipLimitError);
    }
  }
  let date1904 = false;
  const sheetNames: string[] = [];
  const workbook = entries.get('xl/workbook.xml');
  if (workbook) {
    try {
      await parseXmlEntry(zip, workbook, budget, {
        open(name, attrs) {
          const n = local(name);
          if (n === 'workbookPr' && (attrs.date1904 === '1' || attrs.date1904 === 'true')) date1904 = true;
          else if (n === 'sheet' && attrs.name) sheetNames.push(attrs.name);
        },
        close() {},
        text() {},
      });
    } catch (e) {
      problems.push(e as ZipLimitError);
    }
  }
  return { shared, sharedDropped, dateStyles, date1904, sheetNames, problems };
}

/**
 * Excel: every sheet as tab-separated rows (so a name and a date of birth on one row stay on one
 * line), shared strings resolved, dates shown as dd/mm/yyyy, then comments.
 */
export async function xlsxText(zip: ZipFile, entries: Map<string, ZipEntryInfo>, budget: LayerBudget): Promise<XmlTextResult> {
  const sink = new TextSink(budget.maxTextChars);
  const parts = await workbookParts(zip, entries, budget);
  const { sheetNames, problems } = parts;
  // Every worksheet part, whatever it is called (Excel finds them through the workbook's
  // relationships; a sheet named data.xml was not read when only sheetN.xml was looked for).
  const sheets = pick(entries, 'xl/worksheets/');
  // A cell showing a shared string that is not there (the strings kept under another name): what
  // it shows is unknown, so the workbook counts as damaged rather than as read.
  let missingShared = false;
  // Which shared strings some cell shows: the others are read after the sheets (a workbook written
  // by a tool that keeps the strings of deleted cells still carries them, for anyone to open).
  const shownShared = new Uint8Array(parts.shared.length);
  let sheetNo = 0;
  for (const sheet of sheets) {
    if (sink.full) break;
    if (sheetNames[sheetNo]) {
      sink.push(sheetNames[sheetNo]);
      sink.push('\n');
    }
    sheetNo++;
    let cellType = '';
    let cellStyle = 0;
    let inV = false;
    let inIs = 0;
    let inT = false;
    let value: string[] = [];
    let firstInRow = true;
    try {
      await parseXmlEntry(zip, sheet, budget, {
        open(name, attrs) {
          const n = local(name);
          if (n === 'row') firstInRow = true;
          else if (n === 'c') {
            cellType = attrs.t ?? 'n';
            cellStyle = Number(attrs.s ?? 0);
            value = [];
          } else if (n === 'v') inV = true;
          else if (n === 'is') inIs++;
          else if (n === 't' && inIs) inT = true;
        },
        close(name) {
          const n = local(name);
          if (n === 'v') inV = false;
          else if (n === 'is') inIs = Math.max(0, inIs - 1);
          else if (n === 't') inT = false;
          else if (n === 'c') {
            if (cellType === 's' && value.length) {
              const index = Number(value.join(''));
              if (parts.shared[index] === undefined) missingShared = true;
              else shownShared[index] = 1;
            }
            const shown = cellText(parts, cellType, cellStyle, value.join(''));
            if (shown) {
              if (!firstInRow) sink.push('\t');
              sink.push(shown);
              firstInRow = false;
            }
          } else if (n === 'row') {
            if (!firstInRow) sink.push('\n');
          }
        },
        text(t) {
          if (inV || inT) value.push(t);
        },
      });
    } catch (e) {
      problems.push(e as ZipLimitError);
      if ((e as ZipLimitError).problem === 'budget') break;
    }
    sink.newline();
  }
  // Shared strings no cell shows, a line each.
  for (let k = 0; k < parts.shared.length && !sink.full; k++) {
    if (shownShared[k] || !parts.shared[k]) continue;
    sink.push(parts.shared[k]);
    sink.push('\n');
  }
  // Cell comments and threaded comments.
  const commentParts = [...pick(entries, 'xl/comments'), ...pick(entries, 'xl/threadedComments/')];
  problems.push(
    ...(await readParts(zip, commentParts, budget, sink, () => {
      let inText = 0;
      return {
        open(name) {
          const n = local(name);
          if (n === 't' || n === 'text') inText++;
        },
        close(name) {
          const n = local(name);
          if (n === 't' || n === 'text') inText = Math.max(0, inText - 1);
          else if (n === 'comment' || n === 'threadedComment') sink.push('\n');
        },
        text(t) {
          if (inText) sink.push(t);
        },
      };
    })),
  );
  if (missingShared) problems.push(new ZipLimitError('damaged', 'cells refer to shared strings that are not in the workbook'));
  const read = [...sheets, ...commentParts].map((p) => p.name).concat('xl/sharedStrings.xml', 'xl/styles.xml', 'xl/workbook.xml');
  return { text: sink.toString(), truncated: sink.truncated || parts.sharedDropped, problems, read };
}

/**
 * Does an ODF manifest say the document's content is encrypted (the file needs a password)? Only
 * when content.xml itself has encryption data: a password-protected document encrypts it with
 * every other part, and encryption data on some other entry (a thumbnail) says nothing of the
 * text, which is then read as any document's is.
 */
export async function odfManifestEncrypted(zip: ZipFile, entries: Map<string, ZipEntryInfo>, budget: LayerBudget): Promise<boolean> {
  const manifest = entries.get('META-INF/manifest.xml');
  if (!manifest) return false;
  let path = '';
  let encrypted = false;
  await parseXmlEntry(zip, manifest, budget, {
    open(name, attrs) {
      const tag = local(name);
      if (tag === 'file-entry') {
        path = '';
        for (const [k, v] of Object.entries(attrs)) if (local(k) === 'full-path') path = v;
      } else if (tag === 'encryption-data' && path === 'content.xml') encrypted = true;
    },
    close(name) {
      if (local(name) === 'file-entry') path = '';
    },
    text() {},
  });
  return encrypted;
}

/** Of an OpenDocument's meta.xml, the properties someone wrote. */
const ODF_META_WRITTEN = new Set(['title', 'subject', 'description', 'keyword', 'user-defined']);

/**
 * OpenDocument text, spreadsheet and presentation: content.xml and, for the document itself (not
 * an object embedded in it), styles.xml's page headers and footers and meta.xml's written
 * properties.
 */
export async function odfText(zip: ZipFile, entries: Map<string, ZipEntryInfo>, budget: LayerBudget, whole: boolean): Promise<XmlTextResult> {
  const sink = new TextSink(budget.maxTextChars);
  const parts = [entries.get('content.xml'), whole ? entries.get('styles.xml') : undefined, whole ? entries.get('meta.xml') : undefined].filter((p): p is ZipEntryInfo => !!p);
  const handlers = (info: ZipEntryInfo): XmlHandlers => {
    // The document's properties: only what someone wrote (title, subject, description, keywords,
    // custom properties), not its dates, generator or statistics.
    if (info.name === 'meta.xml') {
      let written = 0;
      return {
        open(name) {
          if (ODF_META_WRITTEN.has(local(name))) written++;
        },
        close(name) {
          if (ODF_META_WRITTEN.has(local(name))) {
            written = Math.max(0, written - 1);
            sink.push('\n');
          }
        },
        text(t) {
          if (written) sink.push(t);
        },
      };
    }
    // In styles.xml only the header/footer contents are text people wrote.
    const stylesPart = info.name === 'styles.xml';
    // In content.xml only office:body holds text (automatic styles carry date separators etc.).
    let inBody = 0;
    let inHeaderFooter = 0;
    let inCell = 0;
    let cellHasText = false;
    return {
      open(name, attrs) {
        const n = local(name);
        if (stylesPart && (n === 'header' || n === 'footer' || n === 'header-left' || n === 'footer-left' || n === 'header-first' || n === 'footer-first')) inHeaderFooter++;
        if (!stylesPart && n === 'body') inBody++;
        if (stylesPart ? !inHeaderFooter : !inBody) return;
        if (n === 'tab') sink.push('\t');
        else if (n === 's') {
          const c = Math.min(Number(attrs['text:c'] ?? 1) || 1, 64);
          sink.push(' '.repeat(c));
        } else if (n === 'line-break') sink.push('\n');
        else if (n === 'table-cell' || n === 'covered-table-cell') {
          inCell++;
          cellHasText = false;
        }
      },
      close(name) {
        const n = local(name);
        if (stylesPart && (n === 'header' || n === 'footer' || n === 'header-left' || n === 'footer-left' || n === 'header-first' || n === 'footer-first')) {
          inHeaderFooter = Math.max(0, inHeaderFooter - 1);
          sink.newline();
          return;
        }
        if (!stylesPart && n === 'body') inBody = Math.max(0, inBody - 1);
        if (stylesPart ? !inHeaderFooter : !inBody) return;
        if (n === 'p' || n === 'h') {
          if (inCell) cellHasText = true;
          else sink.push('\n');
        } else if (n === 'table-cell' || n === 'covered-table-cell') {
          inCell = Math.max(0, inCell - 1);
          // Empty cells repeat by the thousand in spreadsheets: only cells with text get a tab.
          if (cellHasText) sink.push('\t');
        } else if (n === 'table-row') sink.newline();
      },
      text(t) {
        if (stylesPart ? !inHeaderFooter : !inBody) return;
        sink.push(t);
      },
    };
  };
  const problems = await readParts(zip, parts, budget, sink, handlers);
  return { text: sink.toString(), truncated: sink.truncated, problems };
}
