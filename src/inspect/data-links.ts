// Files written into HTML itself as data: links: <img src="data:image/png;base64,…">, srcset,
// <a href="data:text/csv,…">, <object data=…>, SVG <image href=…>, a CSS background
// url(data:…). A mail program shows the picture (a pasted screenshot of a class list) or offers
// the file, and nothing of it is an attachment: each is taken out and read as one (text
// recognition for a picture, the text of a CSV).
//
// The HTML reader (text.ts readHtml, htmlparser2's tokenizer) hands over the values of the
// attributes that hold a URL, entities already decoded as a browser decodes them, and the CSS of
// style attributes and <style> elements. Each value is read as the WHATWG URL parser and "data:
// URL processor" read it: leading and trailing control characters and spaces dropped, tabs and
// line breaks anywhere removed, the scheme in any case, the body percent-decoded, base64 decoded
// forgivingly (white space ignored); CSS with its escapes and comments read as CSS reads them. No
// regular expression reads the HTML.

import { hexValue } from './transfer.ts';

export interface DataLink {
  /** The media type it declares, lower case ("image/png"; "text/plain" when none). */
  type: string;
  bytes: Buffer;
}

/** What was found: the links, and whether more were there than the limits let it take. */
export interface DataLinks {
  links: DataLink[];
  /** More links (or bytes) than the limits: the rest were not taken. */
  more: boolean;
}

/** Attributes whose value is a URL a mail program or browser loads or offers. */
const URL_ATTRIBUTES = new Set(['src', 'href', 'xlink:href', 'data', 'poster', 'background', 'lowsrc', 'dynsrc', 'action', 'formaction', 'icon', 'cite', 'longdesc', 'codebase', 'archive', 'manifest']);

/** A URL attribute, or an SVG's href under any prefix it gives the XLink namespace (x:href). */
function isUrlAttribute(name: string): boolean {
  return URL_ATTRIBUTES.has(name) || name.endsWith(':href');
}

/** Collects the data: links of one HTML document, up to `maxLinks` of them and `maxBytes` decoded. */
export class DataLinkSink implements DataLinks {
  readonly links: DataLink[] = [];
  more = false;
  private total = 0;
  private readonly maxLinks: number;
  private readonly maxBytes: number;

  constructor(maxLinks: number, maxBytes: number) {
    this.maxLinks = maxLinks;
    this.maxBytes = maxBytes;
  }

  /** Whether an attribute's value is read for links (its name lower case). */
  static wants(attribute: string): boolean {
    return isUrlAttribute(attribute) || attribute === 'srcset' || attribute === 'style';
  }

  /**
   * Whether a URL attribute's value that starts with `piece` could be a data: link (as the URL
   * parser reads it): most are not, and are not kept to the end.
   */
  static couldBeLink(attribute: string, piece: string): boolean {
    return !isUrlAttribute(attribute) || couldBeLink(piece, 0); // srcset, style: read whole
  }

  /** An attribute's value (entities decoded). */
  attribute(name: string, value: string): void {
    if (name === 'style') this.css(value);
    else if (name === 'srcset') for (const url of srcsetUrls(value)) this.url(url);
    else if (isUrlAttribute(name)) this.url(value);
  }

  /**
   * CSS (a style attribute, a <style> element) read as CSS Syntax tokenizes it, in one pass:
   * comments (outside strings), strings (escapes decoded, ended by their quote or a line break),
   * identifiers with escapes (\75rl is "url"), url(…) (its bare argument to ")", escapes
   * decoded). Every url(…) and every string that is a data: link (image-set("data:…" 1x),
   * @import "data:…") is taken.
   */
  css(text: string): void {
    // A link needs a function (url(, image-set( …: a literal "(") or an @import (a literal "@"):
    // most style attributes (Outlook writes one on every paragraph) have neither.
    if (!text.includes('(') && !text.includes('@')) return;
    let fontFace = false;
    let i = 0;
    const n = text.length;
    while (i < n && !this.more) {
      const c = text.charCodeAt(i);
      if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) {
        const close = text.indexOf('*/', i + 2);
        i = close < 0 ? n : close + 2;
        continue;
      }
      if (c === 0x7b) fontFace = text.slice(Math.max(0, i - 40), i).toLowerCase().includes('@font-face');
      else if (c === 0x7d) fontFace = false;
      if (c === 0x22 || c === 0x27) {
        const str = cssString(text, i);
        if (couldBeLink(str.value, 0)) this.url(str.value, fontFace);
        i = str.end;
        continue;
      }
      if (isNameChar(c) || c === 0x5c) {
        const name = cssName(text, i);
        i = name.end;
        if (name.value.toLowerCase() === 'url' && text.charCodeAt(i) === 0x28) {
          let j = i + 1;
          while (j < n && text.charCodeAt(j) <= 0x20) j++;
          if (text.charCodeAt(j) === 0x22 || text.charCodeAt(j) === 0x27) {
            i = j; // a string argument: read as a string
            continue;
          }
          const arg = cssString(text, j, 0x29);
          if (couldBeLink(arg.value, 0)) this.url(arg.value, fontFace);
          i = arg.end;
        }
        continue;
      }
      i++;
    }
  }

  /** One URL, as written in the document (`font`: in an @font-face rule). */
  url(written: string, font = false): void {
    if (this.more) return;
    const url = urlCleaned(written);
    if (url.length < 6 || url.slice(0, 5).toLowerCase() !== 'data:') return;
    const comma = url.indexOf(',');
    if (comma < 0) return; // no body: a browser loads nothing
    const header = url.slice(5, comma);
    const params = header.split(';').map((p) => p.trim().toLowerCase());
    const base64 = params.length > 1 && params[params.length - 1] === 'base64';
    const type = params[0] || 'text/plain';
    const body = url.slice(comma + 1);
    // Counted against the limits before it is decoded (a base64 body decodes to 3/4 of its
    // length; any other, at most its UTF-8).
    const estimate = base64 ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
    if (this.links.length >= this.maxLinks || this.total + estimate > this.maxBytes) {
      this.more = true;
      return;
    }
    const raw = percentDecoded(body);
    const bytes = base64 ? Buffer.from(raw.toString('latin1'), 'base64') : raw;
    // Nothing in it, or a web font (@font-face in a newsletter's styles, said so and shaped so):
    // drawn with, never shown.
    if (bytes.length === 0 || ((font || isFontType(type)) && isFont(bytes, type))) return;
    this.total += bytes.length;
    this.links.push({ type, bytes });
  }
}

/** Could the URL written from text[i] be a data: link (white space and tabs skipped)? Cheap: most are not. */
function couldBeLink(text: string, i: number): boolean {
  const want = 'data:';
  let j = 0;
  for (; i < text.length && j < want.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x09 || c === 0x0a || c === 0x0d || (j === 0 && c <= 0x20)) continue;
    if ((c | 0x20) !== want.charCodeAt(j)) return false;
    j++;
  }
  return true;
}

function isNameChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f || c >= 0x80;
}

/** A CSS escape at text[i] (the backslash): the character it stands for and where it ends. */
function cssEscape(text: string, i: number): { value: string; end: number } {
  let j = i + 1;
  let cp = 0;
  let digits = 0;
  while (digits < 6 && j < text.length && hexValue(text.charCodeAt(j)) >= 0) {
    cp = cp * 16 + hexValue(text.charCodeAt(j++));
    digits++;
  }
  if (digits) {
    if (j < text.length && text.charCodeAt(j) <= 0x20) j++; // the white space that ends it
    return { value: cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : '\ufffd', end: j };
  }
  if (j >= text.length) return { value: '\ufffd', end: j };
  return { value: text[j], end: j + 1 };
}

/**
 * A string from its quote at text[i] (decoded, to its closing quote, or a line break: a bad
 * string, or the end), or with `quote` ")" a bare url( argument from text[i] (to ")").
 */
function cssString(text: string, i: number, quote = text.charCodeAt(i)): { value: string; end: number } {
  const bare = quote === 0x29;
  const parts: string[] = [];
  let from = bare ? i : i + 1;
  let j = from;
  while (j < text.length) {
    const c = text.charCodeAt(j);
    if (c === quote) {
      parts.push(text.slice(from, j));
      return { value: parts.join(''), end: j + 1 };
    }
    if (!bare && (c === 0x0a || c === 0x0d || c === 0x0c)) {
      parts.push(text.slice(from, j));
      return { value: parts.join(''), end: j };
    }
    if (c === 0x5c) {
      parts.push(text.slice(from, j));
      const next = text.charCodeAt(j + 1);
      if (!bare && (next === 0x0a || next === 0x0d || next === 0x0c)) {
        j += 2; // an escaped line break in a string: nothing
      } else {
        const e = cssEscape(text, j);
        parts.push(e.value);
        j = e.end;
      }
      from = j;
      continue;
    }
    j++;
  }
  parts.push(text.slice(from));
  return { value: parts.join(''), end: text.length };
}

/** An identifier at text[i] (escapes decoded): "url", "u\72l". */
function cssName(text: string, i: number): { value: string; end: number } {
  let value = '';
  let j = i;
  while (j < text.length) {
    const c = text.charCodeAt(j);
    if (c === 0x5c && text.charCodeAt(j + 1) !== 0x0a) {
      const e = cssEscape(text, j);
      value += e.value;
      j = e.end;
    } else if (isNameChar(c)) {
      value += text[j++];
    } else break;
    if (value.length > 8) {
      // Long names are not "url": skip the rest of it without building it.
      while (j < text.length && (isNameChar(text.charCodeAt(j)) || text.charCodeAt(j) === 0x5c)) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      break;
    }
  }
  return { value, end: Math.max(j, i + 1) };
}

/** As the URL parser reads an attribute's value: control characters and spaces off its ends, tabs and line breaks out. */
function urlCleaned(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) <= 0x20) a++;
  while (b > a && s.charCodeAt(b - 1) <= 0x20) b--;
  let out = '';
  let from = a;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x09 || c === 0x0a || c === 0x0d) {
      out += s.slice(from, i);
      from = i + 1;
    }
  }
  return from === a ? s.slice(a, b) : out + s.slice(from, b);
}

function isSrcsetSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

/**
 * The URLs of a srcset ("a.png 1x, data:image/png;base64,… 2x"), as the HTML standard parses
 * one: commas and spaces before a URL skipped, the URL up to white space (trailing commas off),
 * then its descriptors up to a comma.
 */
function srcsetUrls(v: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < v.length) {
    while (i < v.length && (isSrcsetSpace(v.charCodeAt(i)) || v[i] === ',')) i++;
    if (i >= v.length) break;
    const start = i;
    while (i < v.length && !isSrcsetSpace(v.charCodeAt(i))) i++;
    let end = i;
    let commaEnded = false;
    while (end > start && v[end - 1] === ',') {
      end--;
      commaEnded = true;
    }
    if (end > start) out.push(v.slice(start, end));
    if (commaEnded) continue;
    // Descriptors ("2x", "480w") up to the comma that ends the candidate.
    while (i < v.length && v[i] !== ',') i++;
  }
  return out;
}

function isFontType(type: string): boolean {
  return type.startsWith('font/') || type.startsWith('application/font-') || type.startsWith('application/x-font') || type === 'application/vnd.ms-fontobject';
}

/**
 * A font, by its own structure, not a few bytes a text could start with: WOFF and WOFF2 give
 * their length at byte 8; an OpenType or TrueType font (or a collection) a table directory that
 * fits the file; EOT its length at byte 0 (little-endian) and its magic number at byte 34.
 */
function isFont(b: Buffer, type: string): boolean {
  if (b.length < 12) return false;
  const tag = b.toString('latin1', 0, 4);
  if (tag === 'wOFF' || tag === 'wOF2') return b.readUInt32BE(8) === b.length;
  if (tag === 'OTTO' || tag === 'true' || b.readUInt32BE(0) === 0x00010000) {
    const tables = b.readUInt16BE(4);
    if (tables === 0 || tables > 200 || 12 + 16 * tables > b.length) return false;
    for (let t = 0; t < tables; t++) {
      const at = 12 + 16 * t;
      const offset = b.readUInt32BE(at + 8);
      const length = b.readUInt32BE(at + 12);
      if (offset + length > b.length) return false;
    }
    return true;
  }
  if (tag === 'ttcf') {
    const fonts = b.readUInt32BE(8);
    return fonts > 0 && fonts <= 64 && 12 + 4 * fonts <= b.length;
  }
  return type === 'application/vnd.ms-fontobject' && b.length >= 36 && b.readUInt32LE(0) === b.length && b[34] === 0x4c && b[35] === 0x50;
}

/** %2B → +, as the data: URL processor decodes the body before base64; characters past Latin-1 as their UTF-8. */
function percentDecoded(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.indexOf(0x25) < 0) return b;
  const out = Buffer.allocUnsafe(b.length);
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x25 && i + 2 < b.length) {
      const h = hexValue(b[i + 1]);
      const l = hexValue(b[i + 2]);
      if (h >= 0 && l >= 0) {
        out[n++] = h * 16 + l;
        i += 2;
        continue;
      }
    }
    out[n++] = b[i];
  }
  return out.subarray(0, n);
}

/** A file name for a data: link, from its type (inline-picture-1.png, inline-file-2.csv). */
export function dataLinkName(n: number, type: string): string {
  const ext = EXTENSIONS[type] ?? (type.startsWith('text/') ? 'txt' : type.startsWith('image/') ? 'img' : 'bin');
  return `inline-${type.startsWith('image/') ? 'picture' : 'file'}-${n}.${ext}`;
}

const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/jpg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/bmp': 'bmp',
  'image/tiff': 'tif',
  'image/svg+xml': 'svg',
  'text/csv': 'csv',
  'text/html': 'html',
  'text/css': 'css',
  'text/plain': 'txt',
  'application/pdf': 'pdf',
  'application/zip': 'zip',
};
