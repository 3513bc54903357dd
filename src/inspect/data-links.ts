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
    return URL_ATTRIBUTES.has(attribute) || attribute === 'srcset' || attribute === 'style';
  }

  /**
   * Whether a URL attribute's value that starts with `piece` could be a data: link (as the URL
   * parser reads it): most are not, and are not kept to the end.
   */
  static couldBeLink(attribute: string, piece: string): boolean {
    return !URL_ATTRIBUTES.has(attribute) || couldBeLink(piece, 0); // srcset, style: read whole
  }

  /** An attribute's value (entities decoded). */
  attribute(name: string, value: string): void {
    if (name === 'style') this.css(value);
    else if (name === 'srcset') for (const url of srcsetUrls(value)) this.url(url);
    else if (URL_ATTRIBUTES.has(name)) this.url(value);
  }

  /**
   * CSS (a style attribute, a <style> element), escapes and comments read as CSS reads them: every
   * url(…), and every string that is a data: link (image-set("data:…" 1x), @import "data:…").
   * One pass: each url( or string is read once and the search goes on after it.
   */
  css(written: string): void {
    if (!written.includes('(') && !written.includes('"') && !written.includes("'")) return;
    const text = cssUnescaped(written);
    let fontFace = false;
    let i = 0;
    while (i < text.length && !this.more) {
      const c = text.charCodeAt(i);
      if (c === 0x7b) fontFace = text.slice(Math.max(0, i - 40), i).toLowerCase().includes('@font-face');
      else if (c === 0x7d) fontFace = false;
      if (c === 0x22 || c === 0x27) {
        // A string: to its closing quote (a backslash escapes the next character).
        let end = i + 1;
        while (end < text.length && text.charCodeAt(end) !== c) end += text.charCodeAt(end) === 0x5c ? 2 : 1;
        if (couldBeLink(text, i + 1)) this.url(text.slice(i + 1, Math.min(end, text.length)), fontFace);
        i = end + 1;
        continue;
      }
      if ((c | 0x20) === 0x75 && (text.charCodeAt(i + 1) | 0x20) === 0x72 && (text.charCodeAt(i + 2) | 0x20) === 0x6c && text.charCodeAt(i + 3) === 0x28) {
        // url( … ): a quoted argument is a string (read above); a bare one runs to ")".
        let j = i + 4;
        while (j < text.length && text.charCodeAt(j) <= 0x20) j++;
        if (text.charCodeAt(j) === 0x22 || text.charCodeAt(j) === 0x27) {
          i = j;
          continue;
        }
        let end = text.indexOf(')', j);
        if (end < 0) end = text.length;
        if (couldBeLink(text, j)) this.url(text.slice(j, end), fontFace);
        i = end + 1;
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

function hexDigit(c: number): number {
  return c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
}

/** CSS with its escapes decoded (\61 or \000061 is "a", \: is ":") and its comments out: url(d\61ta:…) is a data: link. */
function cssUnescaped(css: string): string {
  if (!css.includes('\\') && !css.includes('/*')) return css;
  const parts: string[] = [];
  let i = 0;
  while (i < css.length) {
    // Up to the next escape or comment, as it is.
    let next = i;
    while (next < css.length && css.charCodeAt(next) !== 0x5c && !(css.charCodeAt(next) === 0x2f && css.charCodeAt(next + 1) === 0x2a)) next++;
    parts.push(css.slice(i, next));
    i = next;
    if (i >= css.length) break;
    if (css.charCodeAt(i) === 0x2f) {
      const close = css.indexOf('*/', i + 2);
      i = close < 0 ? css.length : close + 2;
      continue;
    }
    i++; // the backslash
    let cp = 0;
    let digits = 0;
    while (digits < 6 && i < css.length && hexDigit(css.charCodeAt(i)) >= 0) {
      cp = cp * 16 + hexDigit(css.charCodeAt(i++));
      digits++;
    }
    if (digits) {
      parts.push(cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd');
      if (i < css.length && css.charCodeAt(i) <= 0x20) i++; // the white space that ends an escape
    } else if (i < css.length && css[i] !== '\n') parts.push(css[i++]);
    else i++; // an escaped line break: nothing
  }
  return parts.join('');
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

/** A font's own signature (WOFF, WOFF2, OpenType, TrueType, a collection; EOT's magic number at byte 34). */
function isFont(b: Buffer, type: string): boolean {
  if (b.length < 4) return false;
  const tag = b.toString('latin1', 0, 4);
  if (tag === 'wOFF' || tag === 'wOF2' || tag === 'OTTO' || tag === 'true' || tag === 'ttcf' || b.readUInt32BE(0) === 0x00010000) return true;
  return type === 'application/vnd.ms-fontobject' && b.length >= 36 && b[34] === 0x4c && b[35] === 0x50;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
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
