// Reads one e-mail message (the message itself, or one attached to it) with mailparser's
// streaming MailParser: headers decoded, text bodies collected, attachments read one at a time as
// they arrive, analysed, then released. Embedded messages are never merged into the body
// (ignoreEmbedded): each is read as its own message with its own `where`.
//
// A subclass watches the MIME structure as mailsplit emits it, to find what mailparser decodes
// silently: base64 with characters outside the alphabet, multiparts that never close (a cut-off
// message), and multipart/encrypted (PGP/MIME). Its text parts in UTF-8 or ASCII are taken from
// their decoders as bytes (text-parts.ts), not as mailparser's strings, and the bodies of parts
// pass its splitter a stretch at a time (long-bodies.ts).
import libmime from 'libmime';
import { MailParser } from 'mailparser';
import type { AddressObject, AttachmentStream, EmailAddress, HeaderLines, MessageText } from 'mailparser';
import { isUtf8 } from 'node:buffer';
import type { Readable, Transform } from 'node:stream';
import { analyseFile, MAIN_THREAD_TEXT_BYTES } from './analyse.ts';
import type { MessageSummary } from './types.ts';
export type { MessageSummary } from './types.ts';
import { formatBytes } from './context.ts';
import type { InspectionContext } from './context.ts';
import { TaskMemoryError, TaskTimeoutError } from './pool.ts';
import { passLongBodies } from './long-bodies.ts';
import { imageType } from './sniff.ts';
import { armorAlone, htmlToText } from './text.ts';
import { dataLinkName, DataLinkSink, type DataLinks } from './data-links.ts';
import { decodeCleanBase64, decodeQuotedPrintable, QuotedPrintableDecoder } from './transfer.ts';
import { crlfToLf, TextPartCaptures } from './text-parts.ts';
import type { TextPartCapture } from './text-parts.ts';
import { Utf8Text } from './utf8-text.ts';
import type { Address, AttachmentReport } from './types.ts';


interface PartStats {
  base64: boolean;
  invalid: number;
  chars: number;
}

interface SplitterNode {
  headers?: { get(key: string): string[] } | false;
  contentType?: string | false;
  charset?: string | false;
  multipart?: string | false;
  _boundary?: Buffer | false;
  encoding?: string | false;
  partNr?: Array<number | string> | false;
  _parentBoundary?: unknown;
  root?: boolean;
  parentNode?: SplitterNode | false;
}

interface SplitterChunk {
  type: 'node' | 'body' | 'data';
  node?: SplitterNode;
  value?: Buffer;
}

// Bytes allowed in base64 content: the alphabet, padding and whitespace.
const base64Allowed = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=') base64Allowed[c.charCodeAt(0)] = 1;
for (const c of [9, 10, 13, 32]) base64Allowed[c] = 2;

/**
 * Adds a base64 part's bytes outside the alphabet, and its characters, to its count. A function of
 * its own, without branches (k is 0, 1 or 2): V8 optimises the loop on its own, and a 20 MB
 * attachment costs about half what the loop inside see() with if/else did.
 */
function countBase64(v: Buffer, s: PartStats): void {
  let invalid = 0;
  let chars = 0;
  for (let i = 0; i < v.length; i++) {
    const k = base64Allowed[v[i]];
    invalid += k === 0 ? 1 : 0;
    chars += k & 1;
  }
  s.invalid += invalid;
  s.chars += chars;
}

function partKey(node: SplitterNode & { _parentBoundary?: unknown }): string {
  if (!node._parentBoundary) return 'root';
  return (node.partNr || []).filter((n) => typeof n === 'number').join('.') || 'root';
}

/** The transfer encodings mailparser decodes (any other it passes on as the bytes of the message). */
const READ_ENCODINGS = new Set(['7bit', '8bit', 'binary', 'quoted-printable', 'base64']);

/**
 * Transfer encodings a reason may name. Any other value is the sender's own words (it could be a
 * pupil's name) and is not repeated in a reason, which reaches notices and the register.
 */
const NAMED_ENCODINGS = new Set(['x-uuencode', 'uuencode', 'x-uue', 'uue', 'x-binhex40', 'binhex40', 'x-gzip64']);

/** Header values that are not all the same (two Content-Type fields that disagree). */
function differs(values: string[]): boolean {
  return new Set(values.map((v) => v.replace(/\s+/g, ' ').trim().toLowerCase())).size > 1;
}

/**
 * A Content-Type that gives its boundary or charset twice, differently ("boundary=a; boundary=b",
 * or "boundary=a; boundary*=utf-8''b" in RFC 2231's form): mailparser takes one, other mail
 * programs another, so they split or decode it differently. Parameters are split at semicolons
 * outside quotes; charset names compare without case; a header too long to look at is ambiguous.
 */
function paramTwice(values: string[]): boolean {
  if (!values.length) return false;
  const header = values[0];
  if (header.length > 64 * 1024) return true;
  const seen = new Map<string, string>();
  const continued = new Set<string>();
  let i = header.indexOf(';');
  while (i >= 0 && i < header.length) {
    // One parameter: from after this semicolon to the next one outside quotes.
    let j = i + 1;
    let quoted = false;
    for (; j < header.length; j++) {
      const c = header[j];
      if (c === '\\' && quoted) j++;
      else if (c === '"') quoted = !quoted;
      else if (c === ';' && !quoted) break;
    }
    const param = header.slice(i + 1, j);
    i = j;
    const eq = param.indexOf('=');
    if (eq <= 0) continue;
    const name = param.slice(0, eq).trim().toLowerCase();
    const base = name.replace(/\*(\d+\*?)?$/, '');
    if (base !== 'boundary' && base !== 'charset') continue;
    // RFC 2231's continuations (name*0, name*1…) make one value together: beside a value given
    // whole, they are a second one.
    if (name !== base && name !== `${base}*`) {
      continued.add(base);
      if (seen.has(base)) return true;
      continue;
    }
    let value = param.slice(eq + 1).trim().replace(/^"|"$/g, '');
    // name*=charset'language'value, percent-encoded.
    if (name !== base) value = value.replace(/^[^']*'[^']*'/, '').replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    if (base === 'charset') value = value.toLowerCase();
    const before = seen.get(base);
    if ((before !== undefined && before !== value) || continued.has(base)) return true;
    seen.set(base, value);
  }
  return false;
}

/** UTF-7 by any of its names: mailparser will not decode it (a guard against script smuggled in HTML). */
function isUtf7(charset: string): boolean {
  return /^(x-)?(unicode-[0-9-]+-)?utf-?7$/i.test(charset.trim());
}

const knownCharsets = new Map<string, boolean>();
/** Whether mailparser (libmime) decodes this charset; one it does not is read as UTF-8. */
function charsetKnown(charset: string): boolean {
  const name = charset.trim().toLowerCase().slice(0, 64);
  let known = knownCharsets.get(name);
  if (known === undefined) {
    known = (libmime.createDecodeStream(name) as { supported?: boolean }).supported !== false;
    if (knownCharsets.size < 256) knownCharsets.set(name, known);
  }
  return known;
}

/**
 * Text decoded from a charset nobody here knows that came out as garbage: 16 or more places where
 * two replacement characters stand together. EBCDIC read as UTF-8 is runs of them, whatever else
 * the message says beside it; Latin-1 labelled "unknown-8bit" has its accents one at a time
 * ("d\ufffdj\ufffd"), and is read.
 */
function garbled(text: string): boolean {
  let pairs = 0;
  for (let i = text.indexOf('\ufffd\ufffd'); i >= 0; i = text.indexOf('\ufffd\ufffd', i + 2)) if (++pairs >= 16) return true;
  return false;
}

/** A header line with an encoded word in UTF-7 (=?utf-7?B?…?=), which mailparser leaves encoded. */
const UTF7_WORD = /=\?(x-)?(unicode-[0-9-]+-)?utf-?7(\*[^?]*)?\?[bq]\?/i;

/**
 * A carriage return not followed by a line feed in the header block (which ends at the first empty
 * line, or within the first megabyte): a message whose lines end so is one header line here, its
 * body nowhere, while a program that breaks lines at CR shows it all. Linear; looks at the header
 * block only (a CR alone in a body is read as the space it is).
 */
function bareCarriageReturn(raw: Buffer): boolean {
  const head = raw.subarray(0, 1024 * 1024);
  // The first empty line, CRLF or bare LF: a bare "\n\n" is looked for only before the first
  // "\r\n\r\n" (otherwise a CRLF message's whole first megabyte would be searched for it).
  const crlf = head.indexOf('\r\n\r\n');
  const lf = (crlf >= 0 ? head.subarray(0, crlf) : head).indexOf('\n\n');
  const end = lf >= 0 ? lf : crlf >= 0 ? crlf : head.length;
  for (let i = head.indexOf(13); i >= 0 && i < end; i = head.indexOf(13, i + 1)) if (head[i + 1] !== 10) return true;
  return false;
}

/** Bytes of a digest part's start looked at for its attached message's header block. */
const DIGEST_HEAD_BYTES = 16 * 1024;

/** Bytes of preamble and epilogue text kept for scanning (data can hide there too). */
const MAX_STRUCTURE_TEXT = 1024 * 1024;

/** Observes the MIME structure while mailparser parses. */
class StructureWatcher {
  readonly stats = new Map<string, PartStats>();
  private readonly statsByNode = new Map<SplitterNode, PartStats>();
  /** Multiparts whose closing delimiter has not been seen, by boundary string. */
  readonly openMultiparts = new Map<string, number>();
  private readonly boundaries = new Set<string>();
  /** Boundary parameters on parts that are not multipart (mailsplit splits on them anyway). */
  private readonly singleBoundaries = new Set<string>();
  /** Text between parts (preamble, epilogue), boundary lines included. */
  private readonly structure: Buffer[] = [];
  private structureBytes = 0;
  pgp = false;
  /** A part that is not multipart had boundary lines split out of it: readers will disagree. */
  ambiguous = false;
  nodes = 0;
  /** Transfer encodings mailparser does not decode (x-uuencode…): it passes such a part on still encoded. */
  readonly unreadEncodings = new Set<string>();
  /** A part written in UTF-7, which mailparser refuses (and reads as UTF-8, leaving it encoded). */
  utf7 = false;
  /** A part in a charset libmime does not know (EBCDIC, "unknown-8bit"…), which it reads as UTF-8. */
  unknownCharset = false;
  /**
   * Parts that are not read as what they are: a fragment of a message split in several
   * (message/partial), and a part of a multipart/digest without a Content-Type, which is an
   * attached message (RFC 2046 5.1.5) but which mailparser reads as plain text, its own
   * attachments still encoded.
   */
  partial = false;
  /** The first bytes of each such digest part, its attached message's own header block among them. */
  private readonly digestHeads = new Map<SplitterNode, Buffer[]>();
  /**
   * A part that gives its type or transfer encoding twice, differently: mailparser takes the first,
   * other mail programs the last, so they show different contents.
   */
  twoShapes = false;

  see(chunk: SplitterChunk): void {
    const node = chunk.node ?? (chunk as unknown as SplitterNode);
    if (chunk.type === 'node') {
      this.nodes++;
      const n = chunk as unknown as SplitterNode;
      if (n.contentType === 'multipart/encrypted') this.pgp = true;
      if (n._boundary) {
        const b = n._boundary.toString('latin1');
        this.boundaries.add(b);
        if (n.multipart) this.openMultiparts.set(b, (this.openMultiparts.get(b) ?? 0) + 1);
        else this.singleBoundaries.add(b);
      }
      if (n.encoding && !n.multipart && !READ_ENCODINGS.has(n.encoding)) this.unreadEncodings.add(NAMED_ENCODINGS.has(n.encoding) ? n.encoding : 'one it does not know');
      if (n.headers && (differs(n.headers.get('content-type')) || differs(n.headers.get('content-transfer-encoding')) || paramTwice(n.headers.get('content-type')))) this.twoShapes = true;
      if (n.charset && isUtf7(n.charset)) this.utf7 = true;
      else if (n.charset && !n.multipart && !this.unknownCharset && !charsetKnown(n.charset)) this.unknownCharset = true;
      if (n.contentType === 'message/partial') this.partial = true;
      if (n.parentNode && n.parentNode.contentType === 'multipart/digest' && n.headers && !n.headers.get('content-type').length && this.digestHeads.size < 1000) this.digestHeads.set(n, []);
      const s: PartStats = { base64: n.encoding === 'base64', invalid: 0, chars: 0 };
      this.stats.set(partKey(n), s);
      this.statsByNode.set(n, s);
      return;
    }
    if (chunk.type === 'data' && chunk.value) {
      this.seeStructure(chunk.value);
      return;
    }
    if (chunk.type === 'body' && chunk.value && node) {
      const head = this.digestHeads.get(node);
      if (head && head.reduce((n, b) => n + b.length, 0) < DIGEST_HEAD_BYTES) head.push(Buffer.from(chunk.value.subarray(0, DIGEST_HEAD_BYTES)));
      const s = this.statsByNode.get(node);
      if (s && s.base64) countBase64(chunk.value, s);
    }
  }

  /**
   * A digest part without a Content-Type (an attached message, which mailparser reads as plain text)
   * whose message is not plain text itself: encoded (base64, quoted-printable), or of another type
   * (a multipart with attachments). Plain text messages, as a mailing list's digest holds, are read
   * whole as they stand, headers and all.
   */
  digestMessageUnread(): boolean {
    for (const chunks of this.digestHeads.values()) {
      const text = Buffer.concat(chunks).subarray(0, DIGEST_HEAD_BYTES).toString('latin1');
      const end = text.search(/\r?\n\r?\n/);
      const headers = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
      if (end < 0 && text.length >= DIGEST_HEAD_BYTES) return true;
      if (/^content-transfer-encoding[ \t]*:[ \t]*(?!\s*(7bit|8bit|binary)\b)\S/im.test(headers)) return true;
      const type = /^content-type[ \t]*:(.*)$/im.exec(headers);
      if (type && !/^\s*text\/plain\b/i.test(type[1])) return true;
      // Plain text in a charset mailparser does not read as it is (UTF-7, one it does not know).
      const charset = type && /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type[1]);
      if (charset && (isUtf7(charset[1]) || !charsetKnown(charset[1]))) return true;
    }
    return false;
  }

  /** Finds closing delimiters (a line "--boundary--") and keeps the text for preambleText(). */
  private seeStructure(value: Buffer): void {
    if (this.structureBytes < MAX_STRUCTURE_TEXT) {
      const keep = value.subarray(0, MAX_STRUCTURE_TEXT - this.structureBytes);
      this.structure.push(Buffer.from(keep));
      this.structureBytes += keep.length;
    }
    let pos = 0;
    while (pos < value.length) {
      let end = value.indexOf(10, pos);
      if (end < 0) end = value.length;
      let stop = end;
      while (stop > pos && (value[stop - 1] === 13 || value[stop - 1] === 32 || value[stop - 1] === 9)) stop--;
      if (stop - pos > 2 && value[pos] === 45 && value[pos + 1] === 45) {
        const line = value.toString('latin1', pos + 2, stop);
        if (this.singleBoundaries.has(line) || (line.endsWith('--') && this.singleBoundaries.has(line.slice(0, -2)))) this.ambiguous = true;
        if (line.length > 2 && line.endsWith('--')) {
          const b = line.slice(0, -2);
          const open = this.openMultiparts.get(b);
          if (open !== undefined) {
            if (open <= 1) this.openMultiparts.delete(b);
            else this.openMultiparts.set(b, open - 1);
          }
        }
      }
      pos = end + 1;
    }
  }

  /** Preamble and epilogue text, without boundary lines and the usual "This is a multi-part message" line. */
  preambleText(): string {
    if (!this.structure.length) return '';
    const text = Buffer.concat(this.structure).toString('utf8');
    const kept: string[] = [];
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      if (line.startsWith('--')) {
        let b = line.slice(2);
        if (b.endsWith('--') && !this.boundaries.has(b)) b = b.slice(0, -2);
        if (this.boundaries.has(b)) continue;
      }
      if (line.length < 100 && line.toLowerCase().includes('mime format')) continue;
      kept.push(line);
    }
    return kept.join('\n');
  }

  /** Is this part's base64 damaged: bytes outside the alphabet, or a length no encoder writes? */
  badBase64(key: string): boolean {
    const s = this.stats.get(key);
    return !!s && s.base64 && (s.invalid > 0 || s.chars % 4 === 1);
  }
}

// MailParser's processChunk is internal; the subclass only observes and then defers to it.
type ProcessChunk = (this: MailParser, data: SplitterChunk, done: (err?: Error) => void) => void;
const baseProcessChunk = (MailParser.prototype as unknown as { processChunk: ProcessChunk }).processChunk;

class WatchedMailParser extends MailParser {
  watcher = new StructureWatcher();
  /** Text parts in UTF-8 or ASCII, kept as their decoded bytes (text-parts.ts). */
  textParts = new TextPartCaptures();

  constructor(options: ConstructorParameters<typeof MailParser>[0]) {
    super(options);
    // The bodies of parts pass the splitter a stretch at a time, not a line at a time (long-bodies.ts).
    passLongBodies((this as unknown as { splitter: Transform }).splitter);
  }
}

/** mailparser's own node for a part (the fields read here). */
interface ParserNode {
  node: { flowed?: boolean };
  contentType?: string | false;
  disposition?: string;
  isAttachment?: boolean;
  charset?: string;
  decoder?: Transform;
  textContent?: string;
  children?: ParserNode[];
  capture?: TextPartCapture;
}
type ParserInternals = {
  createNode(this: MailParser, data: unknown): ParserNode;
  getTextContent(this: MailParser): { type: 'text'; text?: string | Utf8Text; html?: string | Utf8Text };
  cleanup(this: MailParser, done: (err?: Error) => void): void;
  tree?: ParserNode;
};
const parserInternals = MailParser.prototype as unknown as ParserInternals;
const baseCreateNode = parserInternals.createNode;
const baseGetTextContent = parserInternals.getTextContent;
const baseCleanup = parserInternals.cleanup;

/** A text part mailparser reads inline without converting a charset or reflowing: its bytes are its text. */
function capturable(node: ParserNode): boolean {
  if (node.isAttachment || node.disposition !== 'inline' || !node.decoder || node.node.flowed) return false;
  if (node.contentType !== 'text/plain' && node.contentType !== 'text/html') return false;
  return ['ascii', 'usascii', 'utf8'].includes((node.charset || 'utf-8').toLowerCase().replace(/[^a-z0-9]+/g, ''));
}

const watched = WatchedMailParser.prototype as unknown as ParserInternals;
watched.createNode = function (this: MailParser, data) {
  const node = baseCreateNode.call(this, data);
  if (capturable(node)) {
    node.capture = (this as WatchedMailParser).textParts.capture(node.decoder!);
    node.decoder = node.capture;
  }
  return node;
};
// Every part that has ended has its text before mailparser puts the texts together.
watched.cleanup = function (this: MailParser, done) {
  void (this as WatchedMailParser).textParts.settled().then(() => baseCleanup.call(this, done));
};
watched.getTextContent = function (this: MailParser) {
  const parts = (this as WatchedMailParser).textParts;
  if (!parts.size) return baseGetTextContent.call(this);
  const visit = (node: ParserNode | undefined): void => {
    if (!node) return;
    const capture = node.capture;
    if (capture && capture.text === undefined) {
      // A part never ended has no text, as with mailparser; one ended and still unread would be lost: the message is not read.
      if (capture.writableEnded) throw new Error('a text part was not read to its end');
      node.textContent = '';
    } else if (capture) {
      // mailparser leaves an empty part out of the join.
      node.textContent = capture.text!.length ? capture.placeholder : '';
    }
    for (const child of node.children ?? []) visit(child);
  };
  visit((this as unknown as ParserInternals).tree);
  const result = baseGetTextContent.call(this);
  return { ...result, text: parts.restore(result.text as string | undefined), html: parts.restore(result.html as string | undefined) };
};
(WatchedMailParser.prototype as unknown as { processChunk: ProcessChunk }).processChunk = function (this: MailParser, data, done) {
  (this as WatchedMailParser).watcher.see(data);
  // A quoted-printable part is decoded by transfer.ts, with libqp's results at many times its
  // speed (mailparser takes the decoder from the part's getDecoder() when the part begins).
  if (data.type === 'node' && (data as unknown as SplitterNode).encoding === 'quoted-printable') {
    (data as unknown as { getDecoder(): Transform }).getDecoder = () => new QuotedPrintableDecoder();
  }
  return baseProcessChunk.call(this, data, done);
};

function unfold(line: string): string {
  // Header lines are untrusted: unfold with indexOf, not RegExp.
  const colon = line.indexOf(':');
  let v = colon >= 0 ? line.slice(colon + 1) : line;
  let out = '';
  let pos = 0;
  while (pos < v.length) {
    const nl = v.indexOf('\n', pos);
    if (nl < 0) {
      out += v.slice(pos);
      break;
    }
    let end = nl;
    if (end > pos && v.charCodeAt(end - 1) === 13) end--;
    out += v.slice(pos, end);
    pos = nl + 1;
  }
  v = out.trim();
  return v;
}

function decodeHeaders(lines: HeaderLines): Array<{ key: string; value: string }> {
  return lines.map(({ key, line }) => {
    const raw = unfold(line);
    let value = raw;
    try {
      value = libmime.decodeWords(raw);
    } catch {
      value = raw;
    }
    return { key: key.toLowerCase(), value };
  });
}

function flattenAddresses(header: AddressObject | AddressObject[] | undefined): Address[] {
  if (!header) return [];
  const out: Address[] = [];
  const visit = (a: EmailAddress): void => {
    if (a.group) a.group.forEach(visit);
    else if (a.address !== undefined) out.push({ address: a.address ?? '', name: a.name ?? '' });
  };
  for (const h of Array.isArray(header) ? header : [header]) h.value.forEach(visit);
  return out;
}

function mapParserError(err: Error): string {
  const m = err.message ?? '';
  if (m.includes('Max allowed child nodes exceeded')) return 'The message has more MIME parts than the parser allows (more than 1,000), so it was not read';
  if (m.includes('Max header size')) return 'A header block of the message is larger than the parser allows (1 MB), so the message was not read';
  return 'The message is malformed and could not be parsed completely';
}

/**
 * Reads a content stream into one buffer, up to `max` bytes (the rest is drained, not kept), each chunk also taken from `budget.bytesLeft` as
 * it arrives (and given back if the attachment is capped): the message's total stays bounded even
 * while an attached message before this one is still being read (inspection reads one ahead).
 */
function collect(stream: Readable, max: number, hint: number, budget: { bytesLeft: number }): Promise<{ bytes: Buffer; size: number; capped: boolean }> {
  return new Promise((resolve, reject) => {
    const small: Buffer[] = [];
    let big: Buffer | undefined;
    let kept = 0;
    let size = 0;
    let capped = false;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (capped) return;
      if (kept + chunk.length > max || chunk.length > budget.bytesLeft) {
        capped = true;
        budget.bytesLeft += kept;
        return;
      }
      budget.bytesLeft -= chunk.length;
      if (!big && kept + chunk.length > 1024 * 1024) {
        // Large: one buffer sized to the most the content can be (pages are only committed as written).
        big = Buffer.allocUnsafeSlow(Math.max(kept + chunk.length, Math.min(max, hint)));
        let p = 0;
        for (const c of small) p += c.copy(big, p);
        small.length = 0;
      }
      if (big) {
        if (kept + chunk.length > big.length) {
          const grown = Buffer.allocUnsafeSlow(Math.min(max, Math.max(big.length * 2, kept + chunk.length)));
          big.copy(grown, 0, 0, kept);
          big = grown;
        }
        chunk.copy(big, kept);
      } else small.push(Buffer.from(chunk));
      kept += chunk.length;
    });
    stream.once('end', () => resolve({ bytes: big ? big.subarray(0, kept) : Buffer.concat(small, kept), size, capped }));
    stream.once('error', reject);
    stream.once('close', () => resolve({ bytes: big ? big.subarray(0, kept) : Buffer.concat(small, kept), size, capped }));
  });
}

/**
 * Parses a message and analyses everything in it. `where` is '' for the message itself and the
 * attachment's `where` for an attached message; texts and findings are added to the context.
 */
export async function readMessage(ctx: InspectionContext, raw: Buffer, where: string, depth: number): Promise<MessageSummary> {
  const nested = where !== '';
  const at = (suffix: string): string => (nested ? `${where}/${suffix}` : suffix);
  const messageWhere = nested ? where : 'message';
  const summary: MessageSummary = { subject: '', headers: [], to: [], cc: [], attachments: [] };
  const parser = new WatchedMailParser({
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
    checksumAlgo: false,
    ignoreEmbedded: true,
  });
  const watcher = parser.watcher;
  let text: MessageText | undefined;
  let failed: Error | undefined;
  let current: Readable | undefined;
  let attachmentNo = 0;
  const attachmentParts = new Set<string>();
  const textsStart = ctx.texts.length;
  let work: Promise<void> = Promise.resolve();

  let utf7Headers = false;
  parser.on('headerLines', (lines: HeaderLines) => {
    summary.headers = decodeHeaders(lines);
    utf7Headers = lines.some((l) => UTF7_WORD.test(l.line));
  });

  // Attachments are read from the parser one at a time and analysed in order on one chain. The
  // parser may read ahead of the analysis by `readAhead` attachments (their bytes held meanwhile),
  // so a picture's thumbnail for the text-recognition gate is made while the attachment before it
  // is still being analysed: five photos cost about half as long on two cores.
  const readAhead = Math.max(1, ctx.limits.workers);
  let analysing = 0;
  const analysed: Array<() => void> = [];
  let analysis: Promise<void> = Promise.resolve();
  const slots = new Array<AttachmentReport | undefined>();
  /** Attachments waiting for their turn to be read: ended at once if the parser fails meanwhile. */
  const waitingTurn = new Set<Readable>();

  const handleAttachment = async (att: AttachmentStream): Promise<void> => {
    attachmentNo++;
    const name = att.filename || (att.contentType === 'message/rfc822' ? `message-${attachmentNo}.eml` : `part-${att.partId ?? attachmentNo}`);
    const whereOf = nested ? `${where}/${name}` : `attachment:${name}`;
    attachmentParts.add(att.partId ?? 'root');
    // What the message claimed (mailparser replaces application/octet-stream with a guess from the name).
    const declaredType = (att.headers.get('content-type') as { value?: string } | undefined)?.value ?? att.contentType ?? '';
    const charset = (att.headers.get('content-type') as { params?: Record<string, string> } | undefined)?.params?.charset;
    const slot = slots.push(undefined) - 1;
    waitingTurn.add(att.content);
    while (analysing >= readAhead && !failed) await new Promise<void>((resolve) => analysed.push(resolve));
    waitingTurn.delete(att.content);
    if (failed) {
      // The parser gave up while this attachment waited its turn: its stream will never end.
      att.content.destroy();
      att.release?.();
      return;
    }
    current = att.content;
    let got: Awaited<ReturnType<typeof collect>>;
    try {
      if (ctx.partsLeft <= 0) {
        att.content.resume();
        ctx.problem(messageWhere, 'The message has more parts than the inspection limit, so the rest were not read');
        return;
      }
      ctx.partsLeft--;
      got = await collect(att.content, ctx.limits.maxAttachmentBytes, raw.length, ctx);
    } catch {
      ctx.problem(whereOf, 'It could not be read from the message');
      return;
    } finally {
      current = undefined;
      att.release?.();
    }
    if (watcher.badBase64(att.partId ?? 'root')) {
      ctx.problem(whereOf, 'Its base64 encoding is invalid, so what it contains cannot be known for sure');
    }
    if (got.capped) {
      slots[slot] = {
        where: whereOf,
        filename: name,
        size: got.size,
        declaredType,
        realType: 'application/octet-stream',
        format: 'unknown',
        encryption: 'unknown',
        isImage: false,
        isMessage: false,
      };
      ctx.problem(
        whereOf,
        got.size > ctx.limits.maxAttachmentBytes
          ? `It is larger than the ${formatBytes(ctx.limits.maxAttachmentBytes)} limit for one attachment, so it was not read`
          : 'The message holds more data than the inspection limit, so the rest was not read',
      );
      return;
    }
    const bytes = got.bytes;
    const picture = ctx.ocr && !ctx.timedOut ? imageType(bytes) : undefined;
    if (picture) ctx.ocr?.prejudge(bytes, picture);
    analysing++;
    analysis = analysis.then(async () => {
      try {
        const report = await analyseFile(ctx, { bytes, name, declaredType, charset }, whereOf, depth + 1);
        report.size = got.size;
        if (report.encryptionDetail === 'smime-enveloped' && declaredType.includes('pkcs7-mime')) summary.messageEncryption = 'smime';
        slots[slot] = report;
      } catch {
        ctx.problem(whereOf, 'It could not be read from the message');
      } finally {
        analysing--;
        analysed.shift()?.();
      }
    });
  };

  const finished = new Promise<void>((resolve) => {
    parser.on('data', (data: AttachmentStream | MessageText) => {
      if (data.type === 'attachment') work = work.then(() => handleAttachment(data));
      else text = data;
    });
    parser.once('end', () => resolve());
    parser.once('error', (err: Error) => {
      failed = err;
      current?.destroy();
      for (const waiting of waitingTurn) waiting.destroy();
      for (const wake of analysed.splice(0)) wake();
      resolve();
    });
  });
  // A large single-part plain-text body (a long letter, a pasted table) is read straight from the
  // message's bytes: mailparser would hold it four times over (its chunks, their join, the string
  // and the string with its line ends changed). The parser still reads the header block.
  const plain = raw.length >= PLAIN_BODY_BYTES ? await plainBody(raw) : undefined;
  await feed(parser, plain ? raw.subarray(0, plain.bodyStart) : raw);
  await finished;
  await work;
  // Parsed: attachments still being read by workers leave this thread free meanwhile.
  await (analysing > 0 ? ctx.waitFor(analysis) : analysis);
  for (const report of slots) if (report) summary.attachments.push(report);

  // Headers, subject and addresses
  summary.subject = typeof parser.subject === 'string' ? parser.subject : '';
  const from = flattenAddresses(parser.from);
  if (from.length) summary.from = from[0];
  summary.to = flattenAddresses(parser.to);
  summary.cc = flattenAddresses(parser.cc);
  if (watcher.pgp) summary.messageEncryption = 'pgp';

  if (failed) ctx.problem(messageWhere, mapParserError(failed));

  // Bodies, placed before this message's attachment texts.
  const attachmentTexts = ctx.texts.splice(textsStart);
  // Lines in the header block that are not header fields (no name and colon): a reader that
  // stops the headers there shows them as the start of the body, so they are scanned as body,
  // under a name of their own (findings are placed in the text they were found in, by where).
  const stray = summary.headers.filter((h) => h.key === '').map((h) => h.value);
  summary.headers = summary.headers.filter((h) => h.key !== '');
  if (stray.length) ctx.addText(at('body:header-lines'), nested ? 'attachment' : 'body', stray.join('\n'));
  const bodyText = wideBytesUndone(plain ? plain.text : text?.text);
  if (bodyText !== undefined) {
    ctx.addText(at('body'), nested ? 'attachment' : 'body', bodyText);
    if (!summary.messageEncryption && startsWithPgpArmor(bodyText)) summary.messageEncryption = 'pgp';
  }
  if (text?.html !== undefined) {
    const html = wideBytesUndone(text.html);
    // Pictures and files written into the HTML as data: links are read as attachments are.
    const linkLimits = { maxLinks: Math.max(0, ctx.partsLeft), maxBytes: Math.max(0, Math.min(ctx.bytesLeft, ctx.limits.maxAttachmentBytes)) };
    let inline: DataLinks | undefined;
    let htmlText: { text: string | Utf8Text; truncated: boolean } | undefined;
    if (html.length <= MAIN_THREAD_TEXT_BYTES) {
      const links = new DataLinkSink(linkLimits.maxLinks, linkLimits.maxBytes);
      htmlText = htmlToText(html.toString(), ctx.limits.maxTextChars, 0, false, links);
      inline = links;
    } else {
      try {
        // The body's text, already found, is scanned while a worker reads the HTML. A large HTML
        // body kept as its bytes is moved to the worker (nothing here reads it afterwards), and
        // its text comes back as bytes.
        const read = await ctx.waitFor(ctx.pool.runHtml(html, ctx.limits.maxTextChars, ctx.deadline, linkLimits));
        htmlText = read;
        inline = read.links;
      } catch (e) {
        if (e instanceof TaskTimeoutError) ctx.timeout(at('body:html'));
        else if (e instanceof TaskMemoryError) ctx.problem(at('body:html'), 'The HTML body needed more memory than the inspection limit allows, so it was not read');
        else ctx.problem(at('body:html'), 'The HTML body could not be read');
      }
    }
    if (htmlText) ctx.addText(at('body:html'), nested ? 'attachment' : 'body', htmlText.text, htmlText.truncated);
    if (inline) await readDataLinks(ctx, inline, nested ? where : '', depth, summary.attachments, at('body:html'));
  }
  const preamble = watcher.preambleText();
  if (preamble) ctx.addText(at('body:preamble'), nested ? 'attachment' : 'body', preamble);
  ctx.texts.push(...attachmentTexts);
  // What mailparser hands on still encoded is not read: held, never taken as the text it hides.
  for (const encoding of watcher.unreadEncodings) {
    ctx.problem(messageWhere, `A part of the message is in a transfer encoding (${encoding}) that is not read, so what it says was not checked`);
  }
  if (watcher.twoShapes) {
    ctx.problem(messageWhere, 'A part of the message gives its type or encoding twice, differently, so different mail programs would show different contents');
  }
  if (watcher.utf7 || utf7Headers) {
    ctx.problem(messageWhere, 'Part of the message is written in UTF-7, an old encoding that is not read, so what it says was not checked');
  }
  if (bareCarriageReturn(raw)) {
    ctx.problem(messageWhere, 'The message\'s header lines end in a carriage return alone, which mail programs read differently, so what it says was not checked');
  }
  if (watcher.partial) {
    ctx.problem(messageWhere, 'The message is one piece of a message split into several (message/partial), which cannot be read whole, so what it says was not checked');
  }
  if (watcher.digestMessageUnread()) {
    ctx.problem(messageWhere, 'A digest in the message holds attached messages that are not read, so what they say was not checked');
  }
  if (watcher.unknownCharset && [bodyText, text?.html].some((t) => t !== undefined && garbled(t.toString()))) {
    // The label is the sender's own words: not quoted.
    ctx.problem(messageWhere, 'Part of the message is written in a character set that is not read, so what it says was not checked');
  }
  if (bodyText !== undefined && hasUuencodedFile(bodyText)) {
    ctx.problem(at('body'), 'The body carries a uuencoded file (a "begin 644 …" block), which is not read');
  }
  if (watcher.ambiguous) {
    ctx.problem(messageWhere, 'A part of the message that is not multipart contains part boundaries, so different mail programs would show different contents');
  }
  for (const [key] of watcher.stats) {
    // Base64 damage in a text body (attachments were checked as they were read).
    if (!attachmentParts.has(key) && watcher.badBase64(key)) ctx.problem(at('body'), 'The body\u2019s base64 encoding is invalid, so what it says cannot be known for sure');
  }
  if (!failed && watcher.openMultiparts.size > 0) {
    ctx.problem(messageWhere, 'The message ends before its last part is complete (it may have been cut off)');
  }
  // Encrypted whole (S/MIME, PGP) only when nothing beside the encrypted payload can be read: a
  // plain attachment or body beside an encrypted part, or a class list under a short PGP block,
  // is a message with readable data in it, and an attached email like that is not protected.
  if (summary.messageEncryption && !nothingElseReadable(summary.attachments, bodyText, text?.html)) delete summary.messageEncryption;
  if (nested) {
    const lines: string[] = [];
    if (summary.subject) lines.push('Subject: ' + summary.subject);
    for (const h of summary.headers) {
      if (h.key === 'from' || h.key === 'to' || h.key === 'cc' || h.key === 'reply-to' || h.key === 'date') lines.push(`${h.key}: ${h.value}`);
    }
    if (lines.length) ctx.addText(at('headers'), 'attachment', lines.join('\n'));
  }
  return summary;
}

/**
 * The data: links of an HTML body (findDataLinks), each analysed as an attachment named for what
 * it is (inline-picture-1.png, inline-file-1.csv) under `where` (the attached message's, or ''
 * for the message itself); more than the limits allow is a problem of `htmlWhere`.
 */
async function readDataLinks(ctx: InspectionContext, inline: DataLinks, where: string, depth: number, into: AttachmentReport[], htmlWhere: string): Promise<void> {
  if (inline.more) ctx.problem(htmlWhere, 'The HTML body holds more pictures or files written into it (data: links) than the inspection limit, so the rest were not read');
  let n = 0;
  for (const link of inline.links) {
    n++;
    const name = dataLinkName(n, link.type);
    const whereOf = where ? `${where}/${name}` : `attachment:${name}`;
    // (Its size now: its bytes may be moved to a worker.)
    const size = link.bytes.length;
    ctx.partsLeft--;
    ctx.bytesLeft -= size;
    const picture = ctx.ocr && !ctx.timedOut ? imageType(link.bytes) : undefined;
    if (picture) ctx.ocr?.prejudge(link.bytes, picture);
    try {
      const report = await analyseFile(ctx, { bytes: link.bytes, name, declaredType: link.type }, whereOf, depth + 1);
      report.size = size;
      into.push(report);
    } catch {
      ctx.problem(whereOf, 'It could not be read from the message');
    }
  }
}

/** From this size on, a plain single-part body is read from the message's bytes (plainBody). */
export const PLAIN_BODY_BYTES = 256 * 1024;

/**
 * The body of a message that is one text/plain part in UTF-8 or ASCII, 7bit, 8bit, binary,
 * quoted-printable or clean base64 (src/inspect/transfer.ts), or undefined for any other shape,
 * which mailparser reads: the text exactly as mailparser gives it (line ends as \n, invalid UTF-8
 * as U+FFFD). When the body is valid UTF-8 (nearly always) the text stays its bytes, read by
 * string index (Utf8Text): the decoded body's size once beside the message (its bytes without
 * CRs), where mailparser's copies cost four to seven times and the string alone twice.
 */
export async function plainBody(raw: Buffer): Promise<{ bodyStart: number; text: string | Utf8Text } | undefined> {
  const lf = raw.indexOf('\n\n');
  const crlf = raw.indexOf('\n\r\n');
  const end = lf < 0 ? crlf : crlf < 0 ? lf : Math.min(lf, crlf);
  // A message starting with a blank line (or with no header fields) is mailparser's to read.
  if (end <= 0 || raw[0] === 13 || raw[0] === 10) return undefined;
  const bodyStart = end + (end === crlf ? 3 : 2);
  if (bodyStart >= raw.length) return undefined; // no body: mailparser gives no text at all
  // mailparser's header map keeps the first non-empty value of a field, but the body is decoded
  // by the first field as written, empty or not: with a field twice (an empty CTE, then base64)
  // the two would disagree, and a list of pupils could be decoded into nothing. Such a message is
  // mailparser's to read whole.
  if (!singleShapeFields(raw.subarray(0, end))) return undefined;
  // The header block read as mailparser reads it, to know the body's shape.
  const headers = await new Promise<Map<string, unknown> | undefined>((resolve) => {
    const p = new MailParser({ skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true, checksumAlgo: false });
    p.once('headers', (h: Map<string, unknown>) => resolve(h));
    p.once('error', () => resolve(undefined));
    p.once('end', () => resolve(undefined));
    p.on('data', (d: { type: string; release?: () => void; content?: Readable }) => { d.content?.resume(); d.release?.(); });
    p.end(raw.subarray(0, bodyStart));
  });
  if (!headers || headers.size === 0) return undefined;
  const type = headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  if (type && (type.value !== 'text/plain' || Object.keys(type.params ?? {}).some((k) => k !== 'charset'))) return undefined;
  const charset = (type?.params?.charset ?? 'utf-8').toLowerCase().replace(/[^a-z0-9]/g, '');
  if (!['utf8', 'usascii', 'ascii'].includes(charset)) return undefined;
  const encoding = String(headers.get('content-transfer-encoding') ?? '7bit').trim().toLowerCase();
  if (headers.has('content-disposition')) return undefined;
  let body: Buffer | undefined = raw.subarray(bodyStart);
  if (encoding === 'quoted-printable') body = decodeQuotedPrintable(body);
  else if (encoding === 'base64') body = decodeCleanBase64(body);
  else if (!['7bit', '8bit', 'binary'].includes(encoding)) return undefined;
  if (!body) return undefined; // base64 that decoders could read differently: mailparser's, and reported
  // CR LF → LF, as mailparser does; a lone CR stays.
  const bytes = crlfToLf(body, encoding === 'quoted-printable' || encoding === 'base64' ? body : Buffer.allocUnsafe(body.length)); // decoded: our own copy, done in place
  return { bodyStart, text: isUtf8(bytes) ? new Utf8Text(bytes) : bytes.toString('utf8') };
}

/** The fields that decide a body's shape: each present at most once, and never empty. */
const SHAPE_FIELDS = ['content-type', 'content-transfer-encoding', 'content-disposition'];

function singleShapeFields(head: Buffer): boolean {
  const seen = new Set<string>();
  let pos = 0;
  while (pos < head.length) {
    let eol = head.indexOf(10, pos);
    if (eol < 0) eol = head.length;
    // Continuation lines (starting with a space or tab) belong to the field before them.
    if (head[pos] !== 32 && head[pos] !== 9) {
      // The colon is looked for in this line only: a block of lines without one stays linear.
      const at = head.subarray(pos, eol).indexOf(58);
      const colon = at < 0 ? -1 : pos + at;
      if (colon > pos) {
        const name = head.toString('latin1', pos, colon).trim().toLowerCase();
        if (SHAPE_FIELDS.includes(name)) {
          if (seen.has(name)) return false;
          seen.add(name);
          let value = head.toString('latin1', colon + 1, eol).trim();
          for (let next = eol + 1; next < head.length && (head[next] === 32 || head[next] === 9); ) {
            let e = head.indexOf(10, next);
            if (e < 0) e = head.length;
            value += head.toString('latin1', next, e).trim();
            next = e + 1;
          }
          if (!value) return false;
        }
      }
    }
    pos = eol + 1;
  }
  return true;
}

/**
 * Writes the message into the parser in 64 KB views of `raw` (no copies), honouring
 * backpressure. One big write would make mailsplit hand a whole attachment to the base64 decoder
 * as one chunk, which turns it into strings several times its size.
 */
const FEED_BYTES = 64 * 1024;
async function feed(parser: MailParser, raw: Buffer): Promise<void> {
  let failed = false;
  parser.once('error', () => {
    failed = true;
  });
  for (let pos = 0; pos < raw.length && !failed; pos += FEED_BYTES) {
    const piece = raw.subarray(pos, Math.min(raw.length, pos + FEED_BYTES));
    if (!parser.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          parser.off('drain', done);
          parser.off('error', done);
          parser.off('close', done);
          resolve();
        };
        parser.on('drain', done);
        parser.on('error', done);
        parser.on('close', done);
      });
    }
  }
  if (!failed) parser.end();
}

/**
 * A body in UTF-16 read as UTF-8 (a BOM the declared charset overrides, or a charset name nobody
 * knows): every other character is a NUL, and no detector matches "J\0a\0s\0m\0i\0n\0e". Mail
 * programs that follow the BOM show the text; without its NULs it is read as they show it
 * (characters beyond ASCII come out as U+FFFD).
 */
export function wideBytesUndone<T extends string | Utf8Text | undefined>(text: T): T | string {
  if (text === undefined || text.length < 2) return text;
  const head = text.slice(0, 4096);
  let nuls = 0;
  for (let i = 0; i < head.length; i++) if (head.charCodeAt(i) === 0) nuls++;
  if (nuls < head.length / 5) return text;
  const out = text.toString().split('\u0000').join('');
  // The BOM (FF FE), read as UTF-8, is two U+FFFD.
  return out.startsWith('\ufffd\ufffd') ? out.slice(2) : out;
}

/**
 * A uuencoded file in a body: a line "begin", an octal mode and a name, then a line of uuencoded
 * data (its first character its length: "M" and 60 more characters, or a shorter last line), and
 * later a line "end". Mail programs show it as an attachment; its text is not read here. Linear:
 * each "begin" is looked at once, and the last "end" is found once.
 */
export function hasUuencodedFile(text: string | Utf8Text): boolean {
  const lastEnd = text.lastIndexOf('\nend');
  if (lastEnd < 0) return false;
  for (let at = text.indexOf('begin '); at >= 0 && at < lastEnd; at = text.indexOf('begin ', at + 6)) {
    if (at > 0 && text.slice(at - 1, at) !== '\n') continue;
    const head = text.slice(at + 6, at + 300);
    let digits = 0;
    while (digits < 5 && head.charCodeAt(digits) >= 48 && head.charCodeAt(digits) <= 55) digits++;
    if (digits < 3 || head.charCodeAt(digits) !== 32 || !(head.charCodeAt(digits + 1) > 32)) continue;
    // The next line: uuencoded data, its first character giving its length (M: 45 bytes, 60 characters).
    const eol = head.indexOf('\n');
    if (eol < 0) continue;
    const next = head.slice(eol + 1).split('\n', 1)[0].replace(/\r$/, '');
    const length = next.charCodeAt(0) - 32;
    // (Its trailing spaces may have been trimmed on the way: the length is not required in full.)
    if (length > 0 && length <= 45 && next.length >= 2 && next.length <= 1 + Math.ceil(length / 3) * 4 && isUuLine(next)) return true;
  }
  return false;
}

/** Characters a uuencoded line is made of (space to underscore, and backquote). */
function isUuLine(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 32 || c > 96) return false;
  }
  return true;
}

/** Beside an encrypted payload: attachments all encrypted (or PGP/MIME's "Version: 1" part), no body but armor alone, no HTML text. */
function nothingElseReadable(attachments: AttachmentReport[], body: string | Utf8Text | undefined, html: string | undefined): boolean {
  for (const a of attachments) if (a.encryption !== 'encrypted' && a.declaredType.toLowerCase() !== 'application/pgp-encrypted') return false;
  if (body !== undefined) {
    const text = body.toString();
    if (text.trim() !== '' && !armorAlone(text)) return false;
  }
  return html === undefined || html.trim() === '';
}

function startsWithPgpArmor(text: string | Utf8Text): boolean {
  const s = text.slice(0, 4096 + 27);
  let i = 0;
  while (i < s.length && i < 4096 && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 10 || s.charCodeAt(i) === 13 || s.charCodeAt(i) === 9)) i++;
  return s.startsWith('-----BEGIN PGP MESSAGE-----', i);
}
