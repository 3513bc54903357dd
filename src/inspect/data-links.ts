// Files written into HTML itself as data: links: <img src="data:image/png;base64,…">, a CSS
// background url(data:…), <a href="data:text/csv;base64,…">. A mail program shows the picture
// (a pasted screenshot of a class list) or offers the file, and nothing of it is an attachment:
// each is taken out here and read as one (text recognition for a picture, the text of a CSV).
//
// As a browser reads them (WHATWG fetch, "data: URL processor"): the scheme in any case, entities
// (and its colon) decoded in an attribute (&#43; for +), the body percent-decoded, then base64 decoded
// forgivingly (white space ignored). The link ends where its attribute's quote or CSS url() ends.
// No regular expression reads the HTML: byte loops only.

export interface DataLink {
  /** The media type it declares, lower case ("image/png"; "text/plain" when none). */
  type: string;
  bytes: Buffer;
}

/** What findDataLinks gives: the links, and whether more were there than it was allowed to take. */
export interface DataLinks {
  links: DataLink[];
  /** More links (or bytes) than the limits: the rest were not taken. */
  more: boolean;
}

const COLON = 0x3a;
const COMMA = 0x2c;

/** Lower-case ASCII letter (or the byte as it is). */
function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

function isSchemeChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2b || c === 0x2d || c === 0x2e;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

/**
 * Every data: link in `html` (its bytes; a string is read as UTF-8), at most `maxLinks` of them
 * and `maxBytes` decoded in all.
 */
export function findDataLinks(html: string | Uint8Array, maxLinks: number, maxBytes: number): DataLinks {
  const b = colonEntitiesDecoded(typeof html === 'string' ? Buffer.from(html, 'utf8') : Buffer.from(html.buffer, html.byteOffset, html.byteLength));
  const links: DataLink[] = [];
  let total = 0;
  let more = false;
  let from = 0;
  for (;;) {
    const colon = b.indexOf(COLON, from);
    if (colon < 0) break;
    from = colon + 1;
    const start = colon - 4;
    if (start < 0 || lower(b[start]) !== 0x64 || lower(b[start + 1]) !== 0x61 || lower(b[start + 2]) !== 0x74 || lower(b[start + 3]) !== 0x61) continue;
    if (start > 0 && isSchemeChar(b[start - 1])) continue; // "metadata:", not a link
    // A link is an attribute's value (after its quote, or bare after "=") or in CSS url(); "data:"
    // in the text ("Attendance data: 96%") is not. What ends it: the quote, the parenthesis, or
    // for a bare value white space or the end of the tag.
    let k = start - 1;
    while (k >= 0 && isSpace(b[k])) k--;
    const before = k >= 0 ? b[k] : 0;
    if (before !== 0x22 && before !== 0x27 && before !== 0x28 && before !== 0x3d) continue;
    const quote = before === 0x22 || before === 0x27 ? before : 0;
    const inCss = before === 0x28;
    const comma = b.indexOf(COMMA, colon + 1);
    if (comma < 0 || comma - colon > 256) continue;
    const header = b.toString('latin1', colon + 1, comma);
    let end = comma + 1;
    while (end < b.length) {
      const c = b[end];
      if (quote ? c === quote : inCss ? c === 0x29 || c === 0x22 || c === 0x27 : isSpace(c) || c === 0x3e) break;
      end++;
    }
    from = end;
    if (links.length >= maxLinks) {
      more = true;
      break;
    }
    // A web font (CSS @font-face in a newsletter's styles) is drawn with, never shown or offered.
    if (isFont(header)) continue;
    const link = decodeLink(header, b.subarray(comma + 1, end));
    if (link.bytes.length === 0) continue;
    if (total + link.bytes.length > maxBytes) {
      more = true;
      break;
    }
    total += link.bytes.length;
    links.push(link);
  }
  return { links, more };
}

/** The HTML with &colon; &#58; &#x3a; as ":" (a browser decodes them in an attribute: "data&colon;image/png…"). */
function colonEntitiesDecoded(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let from = 0;
  for (let amp = b.indexOf(0x26); amp >= 0; amp = b.indexOf(0x26, amp + 1)) {
    const semi = b.indexOf(0x3b, amp);
    if (semi < 0) break;
    if (semi - amp > 16) continue;
    const name = b.toString('latin1', amp + 1, semi).toLowerCase();
    const cp = name === 'colon' ? COLON : name.startsWith('#x') ? parseHex(name.slice(2)) : name.startsWith('#') ? parseDecimal(name.slice(1)) : -1;
    if (cp !== COLON) continue;
    out.push(b.subarray(from, amp), Buffer.from(':'));
    from = semi + 1;
  }
  if (!out.length) return b;
  out.push(b.subarray(from));
  return Buffer.concat(out);
}

function isFont(header: string): boolean {
  const type = header.split(';')[0].trim().toLowerCase();
  return type.startsWith('font/') || type.startsWith('application/font-') || type.startsWith('application/x-font') || type === 'application/vnd.ms-fontobject';
}

function decodeLink(header: string, body: Uint8Array): DataLink {
  const parts = header.split(';').map((p) => p.trim().toLowerCase());
  const base64 = parts.length > 1 && parts[parts.length - 1] === 'base64';
  const type = parts[0] || 'text/plain';
  const raw = percentDecoded(entitiesDecoded(body));
  return { type, bytes: base64 ? Buffer.from(raw.toString('latin1'), 'base64') : raw };
}

/** &#43; &#x2B; &plus; &sol; &equals; &amp; (what may stand for a base64 character in an attribute). */
function entitiesDecoded(body: Uint8Array): Buffer {
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (b.indexOf(0x26) < 0) return b;
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    if (b[i] !== 0x26) {
      out.push(b[i]);
      continue;
    }
    const semi = b.indexOf(0x3b, i);
    const name = semi > i && semi - i <= 10 ? b.toString('latin1', i + 1, semi).toLowerCase() : '';
    let cp = -1;
    if (name.startsWith('#x')) cp = parseHex(name.slice(2));
    else if (name.startsWith('#')) cp = parseDecimal(name.slice(1));
    else cp = NAMED[name] ?? -1;
    if (cp >= 0 && cp < 0x80) {
      out.push(cp);
      i = semi;
    } else out.push(b[i]);
  }
  return Buffer.from(out);
}

const NAMED: Record<string, number> = { plus: 0x2b, sol: 0x2f, equals: 0x3d, amp: 0x26, percnt: 0x25, comma: 0x2c, colon: 0x3a, semi: 0x3b };

function parseHex(s: string): number {
  if (s.length === 0 || s.length > 12) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

function parseDecimal(s: string): number {
  if (s.length === 0 || s.length > 12) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c = lower(c);
  return c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
}

/** %2B → +, as the data: URL processor decodes the body before base64. */
function percentDecoded(b: Buffer): Buffer {
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
  'text/plain': 'txt',
  'application/pdf': 'pdf',
  'application/zip': 'zip',
};
