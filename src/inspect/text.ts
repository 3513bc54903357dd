// Text helpers that run on untrusted bytes: charset decoding, sniffing what kind of text a file
// holds, HTML and RTF to plain text. Byte-level and linear: no JavaScript RegExp touches message
// text here (developers' guide), and nesting is tracked with counters, never recursion.
import { isUtf8 } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import iconv from 'iconv-lite';
import { Tokenizer } from 'htmlparser2';
import { DataLinkSink } from './data-links.ts';
import { BYTES_TEXT_FROM } from './text-parts.ts';
import { hexValue } from './transfer.ts';

/**
 * Collects text up to a character cap; remembers whether anything was cut off. How the text is
 * kept is the subclass's: TextSink keeps its pieces as strings, Utf8Sink writes them as UTF-8.
 */
export abstract class CappedText {
  protected length = 0;
  truncated = false;
  readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  push(s: string): void {
    if (this.truncated || s.length === 0) return;
    const room = this.max - this.length;
    if (s.length > room) {
      s = s.slice(0, room);
      this.truncated = true;
    }
    this.keep(s);
    this.length += s.length;
  }
  get full(): boolean {
    return this.truncated;
  }
  get size(): number {
    return this.length;
  }
  /** Ends the current line unless the text is empty or already ends with one. */
  newline(): void {
    if (this.length > 0 && !this.endsWithLineEnd()) this.push('\n');
  }
  protected abstract keep(s: string): void;
  protected abstract endsWithLineEnd(): boolean;
}

export class TextSink extends CappedText {
  private readonly parts: string[] = [];
  protected keep(s: string): void {
    this.parts.push(s);
  }
  protected endsWithLineEnd(): boolean {
    const last = this.parts[this.parts.length - 1];
    return last.charCodeAt(last.length - 1) === 10;
  }
  toString(): string {
    return this.parts.join('');
  }
}

/**
 * Writes the text as UTF-8 bytes as it comes and keeps no strings: a large HTML body is read in
 * pieces, and the slices a TextSink keeps would hold every piece until the end (V8 copied them all
 * through its young generation, ~120 ms for a 50 MB body). `wellFormed`: no pushed string held
 * half a surrogate pair (as bytes it would read as U+FFFD).
 */
export class Utf8Sink extends CappedText {
  private out: Buffer;
  private at = 0;
  wellFormed = true;
  /** `capacity`: bytes set aside at first (only pages written to are ever used); it grows if need be. */
  constructor(max: number, capacity: number) {
    super(max);
    this.out = Buffer.allocUnsafeSlow(Math.max(1024, capacity));
  }
  protected keep(s: string): void {
    if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) this.wellFormed = false;
    if (this.at + s.length * 3 > this.out.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.out.length * 2, this.at + s.length * 3));
      this.out.copy(grown, 0, 0, this.at);
      this.out = grown;
    }
    this.at += this.out.write(s, this.at, 'utf8');
  }
  /** A byte 10 is only ever a line end in UTF-8. */
  protected endsWithLineEnd(): boolean {
    return this.out[this.at - 1] === 10;
  }
  /** The text so far (a view of the sink's own buffer, which starts there). */
  bytes(): Buffer {
    return this.out.subarray(0, this.at);
  }
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });
const utf8Lenient = new TextDecoder('utf-8');

/** Labels read as UTF-8 here, never through iconv. */
const PLAIN_LABELS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

/**
 * A text file labelled with a charset that is not read (EBCDIC, an unknown name), whose bytes are
 * not UTF-8 and hold 16 or more pairs of bytes above 127 side by side: decoded as Windows-1252 it
 * would be garbage the detectors read nothing in. Latin-1 text has its accents one at a time.
 */
export function unreadCharset(bytes: Uint8Array, declaredCharset: string | undefined): boolean {
  if (!declaredCharset || iconvName(declaredCharset)) return false;
  const name = declaredCharset.trim().toLowerCase();
  if (PLAIN_LABELS.has(name) || isWideCharset(name)) return false;
  let pairs = 0;
  for (let i = 1; i < bytes.length && pairs < 16; i++) if (bytes[i] >= 0x80 && bytes[i - 1] >= 0x80) pairs++, i++;
  return pairs >= 16 && !isUtf8(bytes);
}

function iconvName(charset: string | undefined): string | undefined {
  if (!charset) return undefined;
  const name = charset.trim().toLowerCase();
  if (!name || PLAIN_LABELS.has(name)) return undefined;
  // Names iconv-lite takes that turn text into something else (libmime refuses them for bodies).
  if (name === 'base64' || name === 'hex' || name === 'binary' || name === 'utf7' || name === 'utf-7' || name === 'utf7imap' || name === 'utf-7-imap') return undefined;
  return iconv.encodingExists(name) ? name : undefined;
}

/**
 * Decodes the bytes of a text file: a BOM wins, then a declared charset (Content-Type), then UTF-8
 * when the bytes are valid UTF-8, else Windows-1252 (what Excel and Notepad on school PCs write).
 */
export function decodeTextBytes(bytes: Uint8Array, declaredCharset?: string): string {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return utf8Lenient.decode(bytes.subarray(3));
  }
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset + 2, bytes.length - 2), 'utf-16le');
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset + 2, bytes.length - 2), 'utf-16be');
  const utf16 = looksUtf16(bytes);
  if (utf16) return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), utf16);
  const declared = iconvName(declaredCharset);
  // A two- or four-byte charset declared over bytes that are not (no NULs between ASCII letters,
  // checked above): the label is wrong, and taking it would turn a plain class list into CJK
  // characters no detector reads. Excel and Notepad open the file as the bytes it is.
  if (declared && !(isWideCharset(declared) && !looksWide(bytes))) return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), declared);
  try {
    return utf8Fatal.decode(bytes);
  } catch {
    return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 'windows-1252');
  }
}

/**
 * Whether decodeTextBytes reads these bytes as plain UTF-8 (no BOM, not UTF-16, no other charset
 * declared, valid UTF-8): then the text is the bytes, and a large file can be kept as them.
 */
export function readAsUtf8(bytes: Buffer, declaredCharset?: string): boolean {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return false;
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) return false;
  return !looksUtf16(bytes) && !iconvName(declaredCharset) && isUtf8(bytes);
}

/** UTF-16, UTF-32, UCS-2 and UCS-4 by any of their names (iconvName's: lower case). */
function isWideCharset(name: string): boolean {
  return ['utf16', 'utf-16', 'utf32', 'utf-32', 'ucs2', 'ucs-2', 'ucs4', 'ucs-4'].some((p) => name.startsWith(p));
}

/** Whether the bytes could be a two- or four-byte encoding at all: some NUL among the first 8 KB (any ASCII in them, a space or a line end, has one). */
function looksWide(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8192);
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return true;
  return n < 2;
}

/** UTF-16 without a BOM: most of the first bytes alternate with NUL. */
function looksUtf16(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  const n = Math.min(bytes.length, 1024) & ~1;
  if (n < 8) return undefined;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenNul++;
    if (bytes[i + 1] === 0) oddNul++;
  }
  const pairs = n / 2;
  if (oddNul > pairs * 0.6 && evenNul < pairs * 0.05) return 'utf-16le';
  if (evenNul > pairs * 0.6 && oddNul < pairs * 0.05) return 'utf-16be';
  return undefined;
}

/**
 * Is this text rather than binary? Looks at the first 8 KB: no NUL bytes (unless UTF-16) and few
 * control characters other than tab, CR, LF, FF, ESC (ISO-2022-JP).
 */
export function looksLikeText(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return true;
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) return true;
  if (looksUtf16(bytes)) return true;
  const n = Math.min(bytes.length, 8192);
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0) return false;
    if (b < 32 && b !== 9 && b !== 10 && b !== 13 && b !== 12 && b !== 27) control++;
  }
  return control <= n * 0.01;
}

export type TextKind = 'txt' | 'csv' | 'tsv' | 'html' | 'rtf' | 'eml' | 'pgp' | 'vcard' | 'calendar';

/** ASCII-case-insensitive "does s start with prefix (after leading whitespace)". */
function startsWithFolded(s: string, prefix: string, from = 0): boolean {
  if (s.length - from < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    let c = s.charCodeAt(from + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== prefix.charCodeAt(i)) return false;
  }
  return true;
}

function skipSpace(s: string): number {
  let i = 0;
  if (s.charCodeAt(0) === 0xfeff) i = 1;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    i++;
  }
  return i;
}

/**
 * Whether a text that starts with PGP armor is that armor and nothing else: its BEGIN line,
 * header lines ("Version: …") up to a blank line, lines of radix-64 (and the "=" checksum), its
 * END line, then whitespace at most; the markers in any case. A class list under, between or
 * without the markers is not armor.
 */
export function armorAlone(text: string | { toString(): string }): boolean {
  const lines = text.toString().split('\n');
  let i = 0;
  while (i < lines.length && lines[i].trim() === '') i++;
  if ((lines[i] ?? '').trim().toLowerCase() !== '-----begin pgp message-----') return false;
  i++;
  while (i < lines.length && lines[i].trim() !== '' && lines[i].includes(':')) i++; // armor headers
  let body = 0;
  for (; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    if (line.toLowerCase() === '-----end pgp message-----') {
      for (let k = i + 1; k < lines.length; k++) if (lines[k].trim() !== '') return false;
      return body > 0;
    }
    for (let k = line[0] === '=' ? 1 : 0; k < line.length; k++) {
      const c = line.charCodeAt(k);
      const radix64 = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 61;
      if (!radix64) return false;
    }
    body++;
  }
  return false; // no END line: not the armor alone
}

const headerNamesThatStartMail = ['from:', 'received:', 'return-path:', 'mime-version:', 'message-id:', 'date:', 'subject:', 'to:', 'delivered-to:', 'x-', 'dkim-signature:', 'arc-', 'authentication-results:', 'content-type:', 'reply-to:', 'sender:'];

/** Decides what kind of text a text file is from its first few KB (already decoded). */
export function sniffTextKind(head: string, filename = ''): TextKind {
  const i = skipSpace(head);
  if (startsWithFolded(head, '{\\rtf', i)) return 'rtf';
  if (startsWithFolded(head, '-----begin pgp message-----', i)) return 'pgp';
  if (startsWithFolded(head, 'begin:vcard', i)) return 'vcard';
  if (startsWithFolded(head, 'begin:vcalendar', i)) return 'calendar';
  if (startsWithFolded(head, '<!doctype html', i) || startsWithFolded(head, '<html', i) || startsWithFolded(head, '<head', i) || startsWithFolded(head, '<body', i) || startsWithFolded(head, '<meta', i) || startsWithFolded(head, '<div', i) || startsWithFolded(head, '<p>', i) || startsWithFolded(head, '<table', i)) return 'html';
  if (looksLikeMailHeaders(head)) return 'eml';
  const lower = filename.toLowerCase();
  if (startsWithFolded(head, '<', i) && (lower.endsWith('.html') || lower.endsWith('.htm'))) return 'html';
  const delimited = sniffDelimited(head);
  if (delimited) return delimited;
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.tsv') || lower.endsWith('.tab')) return 'tsv';
  return 'txt';
}

/** The first lines are RFC 5322 header fields, at least two of the usual ones, then a blank line. */
function looksLikeMailHeaders(head: string): boolean {
  let pos = 0;
  let known = 0;
  let lines = 0;
  let sawFrom = false;
  while (pos < head.length && lines < 200) {
    let end = head.indexOf('\n', pos);
    if (end < 0) end = head.length;
    let line = head.slice(pos, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    pos = end + 1;
    lines++;
    if (line.length === 0) return known >= 2 && sawFrom;
    const c = line.charCodeAt(0);
    if (c === 32 || c === 9) {
      if (lines === 1) return false;
      continue; // folded continuation
    }
    if (lines === 1 && line.startsWith('From ')) continue; // mbox separator
    const colon = line.indexOf(':');
    if (colon <= 0) return false;
    for (let k = 0; k < colon; k++) {
      const ch = line.charCodeAt(k);
      if (ch <= 32 || ch >= 127) return false;
    }
    for (const name of headerNamesThatStartMail) {
      if (startsWithFolded(line, name)) {
        known++;
        if (name === 'from:' || name === 'received:' || name === 'return-path:' || name === 'message-id:' || name === 'mime-version:') sawFrom = true;
        break;
      }
    }
  }
  return pos >= head.length && known >= 2 && sawFrom;
}

/** CSV or TSV when the first lines have the same number (≥ 1) of tabs, commas or semicolons. */
function sniffDelimited(head: string): 'csv' | 'tsv' | undefined {
  const lines: string[] = [];
  let pos = 0;
  while (pos < head.length && lines.length < 20) {
    const end = head.indexOf('\n', pos);
    if (end < 0) break; // the last, possibly cut, line is not counted
    const line = head.slice(pos, end);
    pos = end + 1;
    if (line.trim().length) lines.push(line);
  }
  if (lines.length < 2) return undefined;
  const consistent = (ch: number): boolean => {
    let first = -1;
    for (const line of lines) {
      let count = 0;
      let quoted = false;
      for (let k = 0; k < line.length; k++) {
        const c = line.charCodeAt(k);
        if (c === 34) quoted = !quoted;
        else if (c === ch && !quoted) count++;
      }
      if (count === 0) return false;
      if (first < 0) first = count;
      else if (count !== first) return false;
    }
    return true;
  };
  if (consistent(9)) return 'tsv';
  if (consistent(44) || consistent(59)) return 'csv';
  return undefined;
}

const blockTags = new Set(['p', 'div', 'br', 'tr', 'li', 'ul', 'ol', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'blockquote', 'pre', 'hr', 'section', 'article', 'header', 'footer', 'address', 'dd', 'dt', 'dl', 'title', 'caption', 'form', 'fieldset', 'legend', 'option']);
const cellTags = new Set(['td', 'th']);
// Contents no mail program shows. Not noscript (mail programs run no script, so they show it),
// object (its contents are what is shown when the object is not) or svg (its <text> is shown).
const hiddenTags = new Set(['script', 'style', 'template', 'head-style']);
/**
 * In an HTML file (an attachment), a browser runs its scripts and fills its templates when it is
 * opened: a page can hold a class list as data in a <script> and draw the table from it. Only
 * styles are skipped there, and of a script only its string literals are read (the data), never
 * its code, whose numbers (2147483647, a timestamp) would pass for identifiers. (In a mail body no
 * mail program runs a script, so it stays hidden.)
 */
const hiddenInFiles = new Set(['style', 'head-style']);

/** The contents of a script's string literals ('…', "…", `…`), one a line; escapes kept as written. Linear. */
export function stringLiterals(js: string): string {
  const out: string[] = [];
  for (let i = 0; i < js.length; i++) {
    const q = js.charCodeAt(i);
    if (q === 0x2f && js.charCodeAt(i + 1) === 0x2f) {
      // A line comment ("// don't") holds no string.
      const nl = js.indexOf('\n', i);
      if (nl < 0) break;
      i = nl;
      continue;
    }
    if (q !== 0x22 && q !== 0x27 && q !== 0x60) continue;
    let j = i + 1;
    while (j < js.length) {
      const c = js.charCodeAt(j);
      if (c === q) break;
      if (c === 0x5c) j++;
      else if (c === 0x0a && q !== 0x60) break;
      j++;
    }
    if (j > i + 1) out.push(js.slice(i + 1, Math.min(j, js.length)));
    i = j;
  }
  return out.join('\n');
}
/** iframes' srcdoc documents inside srcdoc documents read as HTML; deeper, as written (each level is read again). */
const MAX_SRCDOC_DEPTH = 8;

/** Attributes whose values people read: a picture's alt text, a tooltip, a form field's value or hint. */
const readAttributes = new Set(['alt', 'title', 'value', 'placeholder']);

/**
 * HTML to plain text with htmlparser2's Tokenizer alone (linear; the full Parser is quadratic on
 * deep nesting). Script and style contents are skipped, block elements become line breaks, table
 * cells tabs, and attribute values that carry text people read (alt, title, value, placeholder)
 * are kept, as is what Outlook shows inside a conditional comment (read once: `depth`). For an
 * HTML file (`file`), scripts and templates are read too (hiddenInFiles).
 */
export function htmlToText(html: string, maxChars: number, depth = 0, file = false, links?: DataLinkSink): { text: string; truncated: boolean } {
  const sink = new TextSink(maxChars);
  readHtml([html], sink, depth, file ? hiddenInFiles : hiddenTags, links);
  return { text: sink.toString(), truncated: sink.truncated };
}

/** Pieces of a large HTML body decoded at a time (a string of the whole would be as large as the body, in memory never touched before). */
const HTML_PIECE_BYTES = 64 * 1024;

/**
 * htmlToText for an HTML body given as its UTF-8 bytes (valid UTF-8: Utf8Text's), decoded and
 * read a piece at a time; the text comes back as its UTF-8 bytes when it is large and whole
 * (Utf8Sink), else as the string. Gives what htmlToText gives for the bytes' string.
 */
export function htmlBytesToText(bytes: Buffer, maxChars: number, pieceBytes = HTML_PIECE_BYTES, file = false, links?: DataLinkSink): { text: string | Buffer; truncated: boolean } {
  const decoder = new StringDecoder('utf8');
  function* pieces(): Generator<string> {
    for (let at = 0; at < bytes.length; at += pieceBytes) yield decoder.write(bytes.subarray(at, at + pieceBytes));
    yield decoder.end();
  }
  // The text is seldom longer than the HTML it comes from (the sink grows if it is).
  const sink = new Utf8Sink(maxChars, bytes.length + HTML_PIECE_BYTES);
  readHtml(pieces(), sink, 0, file ? hiddenInFiles : hiddenTags, links);
  // Holding half a surrogate pair (never seen in mail; the cut at the cap could make one): read
  // as the string is. Cut short: the string of the bytes kept, as addText cuts a long text.
  if (!sink.wellFormed) return htmlToText(bytes.toString('utf8'), maxChars, 0, file);
  if (sink.truncated) return { text: sink.bytes().toString('utf8'), truncated: true };
  return { text: sink.size < BYTES_TEXT_FROM ? sink.bytes().toString('utf8') : sink.bytes(), truncated: false };
}

/**
 * Pieces of a document as the tokenizer has them, sliced by its positions (which count from the
 * start of the document): as htmlparser2's own Parser does, a piece is let go once the tokenizer
 * asks for nothing before its end (it asks in order).
 */
class HtmlPieces {
  private readonly pieces: string[] = [];
  private offset = 0;
  /** Characters pushed so far. */
  private length = 0;
  push(piece: string): void {
    this.pieces.push(piece);
    this.length += piece.length;
  }
  /** String.prototype.slice on the document so far: a negative position counts from its end (the tokenizer asks for (-1, end) when a document stops inside a closing tag). */
  slice(start: number, end: number): string {
    if (start < 0) start = Math.max(0, this.length + start);
    if (end < 0) end = Math.max(0, this.length + end);
    end = Math.min(end, this.length);
    if (start >= end) return '';
    while (start - this.offset >= this.pieces[0].length) this.offset += this.pieces.shift()!.length;
    let out = this.pieces[0].slice(start - this.offset, end - this.offset);
    for (let k = 1, from = this.offset + this.pieces[0].length; from < end; from += this.pieces[k++].length) out += this.pieces[k].slice(0, end - from);
    return out;
  }
}

/**
 * `links`: where the document's data: links go (data-links.ts): the values of its URL attributes
 * and its CSS, read whether shown or hidden.
 */
function readHtml(pieces: Iterable<string>, sink: CappedText, depth: number, hiddenHere: ReadonlySet<string>, links?: DataLinkSink): void {
  const maxChars = sink.max;
  const inFile = hiddenHere === hiddenInFiles;
  /** In an HTML file, the text of the script being read (its string literals go to the sink at its end). */
  let script: string[] | undefined;
  const endScript = (): void => {
    if (!script) return;
    const literals = stringLiterals(script.join(''));
    script = undefined;
    if (literals) {
      sink.newline();
      sink.push(literals);
      sink.newline();
    }
  };
  const html = new HtmlPieces();
  let hidden = 0;
  let hiddenName = '';
  let tagName = '';
  let attrName = '';
  let attrValue: string[] = [];
  /** Whether the attribute being read is read for data: links; its value's pieces so far (one array, reused). */
  let linkReading = false;
  const linkValue: string[] = [];
  /** Whether the value so far could hold a link: a style attribute needs "(" or "@" (DataLinkSink.css). */
  let linkMaybe = false;
  /** The text of a <style> element, read for data: links. */
  let styleText: string[] | undefined;
  let closing = false;
  let hiddenField = false;
  let typeSeen = false;
  let shownValues: string[] = [];
  const flushValues = (): void => {
    if (!hiddenField) for (const v of shownValues) sink.push(` ${v} `);
    shownValues = [];
    hiddenField = false;
    typeSeen = false;
  };
  const cbs = {
    onattribdata(start: number, end: number) {
      if (readAttributes.has(attrName) || attrName === 'type') attrValue.push(html.slice(start, end));
      if (linkReading) {
        const piece = html.slice(start, end);
        if (linkValue.length === 0 && !DataLinkSink.couldBeLink(attrName, piece)) linkReading = false;
        else {
          linkValue.push(piece);
          if (!linkMaybe) linkMaybe = attrName !== 'style' || piece.includes('(') || piece.includes('@');
        }
      }
    },
    onattribentity(cp: number) {
      if (readAttributes.has(attrName) || attrName === 'type') attrValue.push(String.fromCodePoint(cp));
      if (linkReading) {
        linkValue.push(String.fromCodePoint(cp));
        if (!linkMaybe) linkMaybe = attrName !== 'style' || cp === 0x28 || cp === 0x40;
      }
    },
    onattribend() {
      if (linkReading) {
        const value = linkMaybe ? linkValue.join('') : '';
        linkReading = false;
        if (attrName !== 'srcdoc') links!.attribute(attrName, value);
        else if (depth < MAX_SRCDOC_DEPTH) {
          // An iframe's own document, written into the attribute: its text and its links.
          const inner = htmlToText(value, maxChars, depth + 1, inFile, links).text;
          if (!hidden) sink.push(` ${inner} `);
        } else if (!hidden) sink.push(` ${value} `); // nested deeper still: read as it is written
      }
      // Kept until the tag ends: a hidden form field's value is not shown (type may come after it).
      // (Only an input's type hides it, the first type attribute counts, and " hidden" is not hidden.)
      if (attrName === 'type') {
        if (tagName === 'input' && !typeSeen) hiddenField = attrValue.join('').toLowerCase() === 'hidden';
        typeSeen = true;
      } else if (!hidden && attrValue.length) shownValues.push(attrValue.join(''));
      attrValue = [];
      attrName = '';
    },
    onattribname(start: number, end: number) {
      attrName = html.slice(start, end).toLowerCase();
      attrValue = [];
      // (One array, reused from attribute to attribute: Outlook writes a style on every paragraph.)
      linkReading = !!links && (DataLinkSink.wants(attrName) || attrName === 'srcdoc');
      linkValue.length = 0;
      linkMaybe = false;
    },
    oncdata(start: number, end: number) {
      if (!hidden) sink.push(html.slice(start, end));
    },
    onclosetag(start: number, end: number) {
      const name = html.slice(start, end).toLowerCase();
      if (script && name === 'script') endScript();
      if (styleText && name === 'style') {
        links!.css(styleText.join(''));
        styleText = undefined;
      }
      if (hidden && name === hiddenName) {
        hidden = 0;
        hiddenName = '';
      }
      if (blockTags.has(name)) sink.newline();
      else if (cellTags.has(name)) sink.push('\t');
    },
    oncomment(start: number, end: number, offset: number) {
      // Outlook for Windows shows what is inside a conditional comment (<!--[if mso]>…<![endif]-->).
      if (hidden || depth > 0) return;
      const inner = html.slice(start, end - offset);
      if (!inner.trimStart().startsWith('[if')) return;
      const close = inner.indexOf(']>');
      if (close < 0) return;
      sink.push(' ');
      sink.push(htmlToText(inner.slice(close + 2), maxChars, depth + 1, hiddenHere === hiddenInFiles, links).text);
      sink.push(' ');
    },
    ondeclaration() {},
    onend() {
      flushValues();
      endScript();
      if (styleText) links!.css(styleText.join(''));
    },
    onopentagend() {
      flushValues();
      if (closing) return;
      if (inFile && tagName === 'script' && !hidden) script = [];
      if (links && tagName === 'style') styleText = [];
      if (hiddenHere.has(tagName) && !hidden) {
        hidden = 1;
        hiddenName = tagName;
      }
    },
    onopentagname(start: number, end: number) {
      flushValues();
      closing = false;
      tagName = html.slice(start, end).toLowerCase();
      if (tagName === 'br' || tagName === 'hr') sink.push('\n');
      else if (blockTags.has(tagName)) sink.newline();
    },
    onprocessinginstruction() {},
    onselfclosingtag() {
      flushValues();
      closing = true;
      // <style/>: a browser ignores the slash and reads what follows as CSS; the tokenizer reads
      // it as text, which is kept for the links in it as well.
      if (links && tagName === 'style') styleText = [];
    },
    ontext(start: number, end: number) {
      if (styleText) styleText.push(html.slice(start, end));
      if (script) script.push(html.slice(start, end));
      else if (!hidden) sink.push(html.slice(start, end));
    },
    ontextentity(cp: number) {
      if (script) script.push(String.fromCodePoint(cp));
      else if (!hidden) sink.push(cp === 0xa0 ? ' ' : String.fromCodePoint(cp));
    },
  };
  const tokenizer = new Tokenizer({ decodeEntities: true }, cbs);
  for (const piece of pieces) {
    // Past the cap nothing more is kept: the rest is not read.
    if (sink.truncated) break;
    if (!piece) continue;
    html.push(piece);
    tokenizer.write(piece);
  }
  tokenizer.end();
}

// RTF destinations whose text is not document content.
const rtfSkipDestinations = new Set(['fonttbl', 'colortbl', 'stylesheet', 'info', 'pict', 'object', 'objdata', 'themedata', 'colorschememapping', 'latentstyles', 'datastore', 'xmlnstbl', 'listtable', 'listoverridetable', 'rsidtbl', 'generator', 'filetbl', 'revtbl', 'pgdsctbl', 'bkmkstart', 'bkmkend', 'fldinst', 'datafield', 'shppict', 'nonshppict', 'blipuid', 'mmathPr', 'wgrffmtfilter', 'passwordhash', 'protusertbl', 'operator', 'author', 'xe', 'tc', 'pn', 'pntext', 'listtext', 'fontemb', 'falt', 'panose', 'template', 'docvar']);

/**
 * RTF to plain text: a single pass over the bytes with an explicit group stack. Handles \'hh
 * escapes in the document's ANSI code page, \uN with \ucN fallback skipping, and skips the
 * destinations that are not content (font tables, pictures, field instructions, …).
 */
export function rtfToText(bytes: Uint8Array, maxChars: number): { text: string; truncated: boolean } {
  const sink = new TextSink(maxChars);
  let codepage = 'windows-1252';
  // Per-group state kept in parallel arrays: skip flag and \uc value.
  const skipStack: number[] = [];
  const ucStack: number[] = [];
  let skip = 0;
  let uc = 1;
  let pendingSkip = 0; // fallback characters still to skip after \uN
  let hexRun: number[] = [];
  const flushHex = (): void => {
    if (!hexRun.length) return;
    if (!skip) sink.push(iconv.decode(Buffer.from(hexRun), codepage));
    hexRun = [];
  };
  let destinationNext = false; // after '{' the first control word may name a destination
  const n = bytes.length;
  let i = 0;
  while (i < n && !sink.full) {
    const b = bytes[i];
    if (b === 0x7b /* { */) {
      flushHex();
      skipStack.push(skip);
      ucStack.push(uc);
      destinationNext = true;
      i++;
      continue;
    }
    if (b === 0x7d /* } */) {
      flushHex();
      skip = skipStack.length ? (skipStack.pop() as number) : 0;
      uc = ucStack.length ? (ucStack.pop() as number) : 1;
      destinationNext = false;
      pendingSkip = 0;
      i++;
      continue;
    }
    if (b === 0x5c /* \ */) {
      const next = i + 1 < n ? bytes[i + 1] : 0;
      if (next === 0x27 /* ' */) {
        const hi = hexValue(bytes[i + 2]);
        const lo = hexValue(bytes[i + 3]);
        i += 4;
        destinationNext = false;
        if (hi < 0 || lo < 0) continue;
        if (pendingSkip > 0) {
          pendingSkip--;
          continue;
        }
        hexRun.push(hi * 16 + lo);
        continue;
      }
      flushHex();
      if (next === 0x2a /* * */) {
        // \* marks an optional destination: skip it unless we know it (we know none worth reading).
        skip = 1;
        i += 2;
        continue;
      }
      if ((next >= 0x61 && next <= 0x7a) || (next >= 0x41 && next <= 0x5a)) {
        let j = i + 1;
        while (j < n && j - i < 40 && ((bytes[j] >= 0x61 && bytes[j] <= 0x7a) || (bytes[j] >= 0x41 && bytes[j] <= 0x5a))) j++;
        const word = String.fromCharCode(...bytes.subarray(i + 1, j));
        let param: number | undefined;
        let k = j;
        let negative = false;
        if (k < n && bytes[k] === 0x2d) {
          negative = true;
          k++;
        }
        const digitsStart = k;
        while (k < n && k - digitsStart < 10 && bytes[k] >= 0x30 && bytes[k] <= 0x39) k++;
        if (k > digitsStart) {
          param = Number(String.fromCharCode(...bytes.subarray(digitsStart, k)));
          if (negative) param = -param;
        } else if (negative) {
          k = j;
        }
        if (k < n && bytes[k] === 0x20) k++; // the delimiting space belongs to the control word
        i = k;
        const wasDestination = destinationNext;
        destinationNext = false;
        if (wasDestination && rtfSkipDestinations.has(word)) {
          skip = 1;
          continue;
        }
        switch (word) {
          case 'ansicpg':
            if (param !== undefined && iconv.encodingExists('cp' + param)) codepage = 'cp' + param;
            break;
          case 'uc':
            if (param !== undefined && param >= 0 && param < 10) uc = param;
            break;
          case 'u':
            if (param !== undefined) {
              const cp = param < 0 ? param + 65536 : param;
              if (!skip) sink.push(String.fromCharCode(cp));
              pendingSkip = uc;
            }
            break;
          case 'par':
          case 'line':
          case 'row':
          case 'sect':
          case 'page':
            if (!skip) sink.push('\n');
            break;
          case 'tab':
          case 'cell':
            if (!skip) sink.push('\t');
            break;
          case 'emdash':
            if (!skip) sink.push('\u2014');
            break;
          case 'endash':
            if (!skip) sink.push('\u2013');
            break;
          case 'lquote':
            if (!skip) sink.push('\u2018');
            break;
          case 'rquote':
            if (!skip) sink.push('\u2019');
            break;
          case 'ldblquote':
            if (!skip) sink.push('\u201c');
            break;
          case 'rdblquote':
            if (!skip) sink.push('\u201d');
            break;
          case 'bullet':
            if (!skip) sink.push('\u2022');
            break;
          case 'bin':
            // binary data follows: skip it whole
            if (param !== undefined && param > 0) i += param;
            break;
          default:
            break;
        }
        continue;
      }
      // control symbol: \\ \{ \} \~ \- \_ and others
      i += 2;
      destinationNext = false;
      if (pendingSkip > 0) {
        pendingSkip--;
        continue;
      }
      if (skip) continue;
      if (next === 0x5c || next === 0x7b || next === 0x7d) sink.push(String.fromCharCode(next));
      else if (next === 0x7e) sink.push(' ');
      else if (next === 0x5f) sink.push('-');
      else if (next === 0x0a || next === 0x0d) sink.push('\n');
      continue;
    }
    destinationNext = false;
    if (b === 0x0d || b === 0x0a) {
      i++;
      continue;
    }
    if (pendingSkip > 0) {
      pendingSkip--;
      i++;
      continue;
    }
    // plain run of text
    let j = i;
    while (j < n && bytes[j] !== 0x5c && bytes[j] !== 0x7b && bytes[j] !== 0x7d && bytes[j] !== 0x0d && bytes[j] !== 0x0a) j++;
    if (!skip) {
      flushHex();
      sink.push(iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset + i, j - i), codepage));
    }
    i = j;
  }
  flushHex();
  return { text: sink.toString(), truncated: sink.truncated };
}

/** Finds an ASCII needle in bytes (case-sensitive), from `from`, up to `limit`. */
export function indexOfAscii(bytes: Uint8Array, needle: string, from = 0, limit = bytes.length): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(limit, bytes.length));
  return buf.indexOf(needle, from, 'latin1');
}
