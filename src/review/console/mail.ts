// A held message, parsed for display: the headers, the text body, the HTML body (sanitised later,
// for the sandboxed viewer), the attachments and the links. Parsed with mailparser from the held
// raw bytes; a message mailparser refuses is shown as "cannot be displayed", never as an error page.
import { createHash } from 'node:crypto';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { Parser } from 'htmlparser2';

export interface DisplayAttachment {
  index: number;
  filename: string;
  contentType: string;
  size: number;
  contentId: string | null;
  inline: boolean;
  content: Buffer;
}

export interface DisplayMessage {
  subject: string;
  from: string;
  to: string[];
  cc: string[];
  date: Date | null;
  headerLines: Array<{ key: string; line: string }>;
  text: string | null;
  html: string | null;
  attachments: DisplayAttachment[];
  /** Set when the message could not be parsed for display. */
  problem: string | null;
}

function addresses(a: AddressObject | AddressObject[] | undefined): string[] {
  if (!a) return [];
  const list = Array.isArray(a) ? a : [a];
  return list.flatMap((o) => o.value.map((v) => (v.name ? `${v.name} <${v.address ?? ''}>` : v.address ?? ''))).filter(Boolean);
}

const cache = new Map<string, Promise<DisplayMessage>>();
const CACHE_SIZE = 8;

/** Parses a held message (cached by content hash: the message view and its viewer frame share it). */
export function displayMessage(raw: Buffer): Promise<DisplayMessage> {
  const key = createHash('sha256').update(raw).digest('hex');
  let p = cache.get(key);
  if (p) {
    cache.delete(key);
    cache.set(key, p);
    return p;
  }
  p = parse(raw);
  cache.set(key, p);
  while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return p;
}

async function parse(raw: Buffer): Promise<DisplayMessage> {
  let m: ParsedMail;
  try {
    m = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true });
  } catch (err) {
    return {
      subject: '', from: '', to: [], cc: [], date: null, headerLines: [], text: null, html: null, attachments: [],
      problem: `The message could not be read for display (${(err as Error).message.split('\n')[0].slice(0, 120)}). You can still decide on it from the findings, or download the original.`,
    };
  }
  return {
    subject: m.subject ?? '',
    from: addresses(m.from).join(', '),
    to: addresses(m.to),
    cc: addresses(m.cc),
    date: m.date ?? null,
    headerLines: m.headerLines.map((h) => ({ key: h.key, line: h.line })),
    text: typeof m.text === 'string' ? m.text : null,
    html: typeof m.html === 'string' ? m.html : null,
    attachments: m.attachments.map((a, index) => ({
      index,
      filename: a.filename ?? `(unnamed ${a.contentType})`,
      contentType: a.contentType,
      size: a.size ?? a.content.length,
      contentId: a.contentId ? stripAngles(a.contentId) : null,
      inline: a.contentDisposition === 'inline' || !!a.related,
      content: a.content,
    })),
    problem: null,
  };
}

function stripAngles(id: string): string {
  const t = id.trim();
  return t.startsWith('<') && t.endsWith('>') ? t.slice(1, -1) : t;
}

/** The Subject of a message from its header block only (the queue lists many; bodies stay unread). */
export async function subjectOf(headerBytes: Buffer): Promise<string> {
  const end = headerEnd(headerBytes);
  const head = end >= 0 ? headerBytes.subarray(0, end) : headerBytes;
  try {
    const m = await simpleParser(Buffer.concat([head, Buffer.from('\r\n\r\n')]), { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true });
    return m.subject ?? '';
  } catch {
    return '';
  }
}

function headerEnd(b: Buffer): number {
  const crlf = b.indexOf('\r\n\r\n');
  const lf = b.indexOf('\n\n');
  if (crlf < 0) return lf;
  if (lf < 0) return crlf;
  return Math.min(crlf, lf);
}

export interface MessageLink { text: string; href: string }

/** Every link in the HTML body: what it says and where it really goes (shown as text, never followed). */
export function linksIn(htmlBody: string, max = 200): MessageLink[] {
  const links: MessageLink[] = [];
  let current: MessageLink | null = null;
  const parser = new Parser({
    onopentag(name, attribs) {
      if (name === 'a' && attribs.href && links.length < max) {
        current = { text: '', href: attribs.href.trim() };
        links.push(current);
      }
    },
    ontext(text) {
      if (current && current.text.length < 200) current.text += text;
    },
    onclosetag(name) {
      if (name === 'a') current = null;
    },
  }, { decodeEntities: true });
  parser.write(htmlBody);
  parser.end();
  return links.map((l) => ({ text: collapseSpace(l.text).slice(0, 200), href: l.href.slice(0, 2000) }));
}

function collapseSpace(s: string): string {
  let out = '';
  let space = false;
  for (const ch of s) {
    const isSpace = ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t' || ch === '\u00a0';
    if (isSpace) {
      space = out.length > 0;
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += ch;
  }
  return out;
}
