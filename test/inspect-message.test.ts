// Message-level inspection: decoded headers and addresses, charsets, attached e-mails (.eml and
// Outlook .msg), whole-message encryption made by real tools (openssl for S/MIME, gpg for
// PGP/MIME), and the cheap plain-text path that starts no worker.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect, inspectionStats, shutdownInspection } from '../src/inspect/index.ts';
import { hasUuencodedFile } from '../src/inspect/message.ts';
import { inspectFixtures, mailWithAttachment, makeOutlookMsg, PUPIL_NAME, PUPIL_REF } from './helpers/fixtures-tools.ts';
import type { InspectFixtures } from './helpers/fixtures-tools.ts';

let fx: InspectFixtures;
let work: string;

beforeAll(() => {
  fx = inspectFixtures();
  work = mkdtempSync(join(tmpdir(), 'hm-inspect-message-'));
}, 600_000);

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await shutdownInspection();
});

const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'));

describe('headers, addresses and bodies', () => {
  it('decodes RFC 2047 subjects and names, RFC 2231 file names, keeps header order with lower-case keys', async () => {
    const raw = crlf([
      'Received: from mis.school.example by relay; Tue, 1 Dec 2026 09:00:00 +0000',
      'From: =?utf-8?Q?Si=C3=A2n_Ll=C5=B7r?= <sian.llyr@school.example>',
      'To: "Parent, One" <one@home.example>, Governors: gov1@school.example, =?iso-8859-1?Q?Z=F6e?= <gov2@school.example>;',
      'Cc: head@school.example',
      'Subject: =?utf-8?B?UmVwb3J0IGZvciBKYXNtaW5lIE9rYWZvciDinJM=?=',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Caf=E9 meeting about J=F6rg.',
      '--b1',
      'Content-Type: text/csv',
      "Content-Disposition: attachment; filename*=utf-8''Z%C3%B6e%20%E2%80%93%20marks.csv",
      '',
      'Name,Mark',
      'Zöe,9',
      '--b1--',
      '',
    ]);
    const r = await inspect(raw);
    expect(r.subject).toBe('Report for Jasmine Okafor ✓');
    expect(r.headers.map((h) => h.key)).toEqual(['received', 'from', 'to', 'cc', 'subject', 'mime-version', 'content-type']);
    expect(r.headers[1].value).toBe('Siân Llŷr <sian.llyr@school.example>');
    expect(r.from).toEqual({ address: 'sian.llyr@school.example', name: 'Siân Llŷr' });
    expect(r.to.map((a) => a.address)).toEqual(['one@home.example', 'gov1@school.example', 'gov2@school.example']);
    expect(r.to[2].name).toBe('Zöe');
    expect(r.cc).toEqual([{ address: 'head@school.example', name: '' }]);
    expect(r.texts[0]).toEqual({ where: 'body', kind: 'body', text: 'Café meeting about Jörg.' });
    expect(r.attachments[0].filename).toBe('Zöe – marks.csv');
    expect(r.texts).toContainEqual({ where: 'attachment:Zöe – marks.csv', kind: 'attachment', text: 'Name,Mark\r\nZöe,9' });
  });

  it('reads an HTML-only body as text, without scripts or styles', async () => {
    const raw = crlf([
      'From: a@school.example',
      'To: b@home.example',
      'Subject: html',
      'MIME-Version: 1.0',
      'Content-Type: text/html; charset=utf-8',
      '',
      `<html><head><style>p{color:red}</style><script>var hidden = 1;</script></head><body><p>Dear parent,</p><p>${PUPIL_NAME}&nbsp;&amp; friends</p><img alt="photo of ${PUPIL_REF}"></body></html>`,
    ]);
    const r = await inspect(raw);
    const html = r.texts.find((t) => t.where === 'body:html');
    expect(html?.text).toContain(`${PUPIL_NAME} & friends`);
    expect(html?.text).toContain(PUPIL_REF);
    expect(html?.text).not.toContain('color:red');
    expect(html?.text).not.toContain('hidden');
  });

  it('decodes text attachments in UTF-16 (BOM), Windows-1252 and Shift_JIS as declared', async () => {
    const csv16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`Name\tRef\r\n${PUPIL_NAME}\t${PUPIL_REF}\r\n`, 'utf16le')]);
    const r16 = await inspect(mailWithAttachment('export.txt', csv16));
    expect(r16.attachments[0].format).toBe('tsv');
    expect(r16.texts.find((t) => t.where === 'attachment:export.txt')?.text).toContain(`${PUPIL_NAME}\t${PUPIL_REF}`);
    const cp1252 = iconv.encode('Name,Note\nRené Dupré,“late” – again\n', 'windows-1252');
    const r1252 = await inspect(mailWithAttachment('notes.csv', cp1252));
    expect(r1252.texts.find((t) => t.where === 'attachment:notes.csv')?.text).toContain('René Dupré,“late” – again');
    const sjis = iconv.encode('生徒名: 山田太郎\n', 'shift_jis');
    const rsj = await inspect(mailWithAttachment('names.txt', sjis, 'text/plain; charset=shift_jis'));
    expect(rsj.texts.find((t) => t.where === 'attachment:names.txt')?.text).toContain('山田太郎');
  });

  it('the plain-text path starts no worker and no PDF reader', async () => {
    await shutdownInspection();
    const before = inspectionStats();
    const raw = crlf(['From: a@school.example', 'To: b@home.example', 'Subject: hi', '', 'Just a plain note about the trip.', '']);
    for (let i = 0; i < 20; i++) {
      const r = await inspect(raw);
      expect(r.texts).toEqual([{ where: 'body', kind: 'body', text: 'Just a plain note about the trip.\n' }]);
    }
    expect(inspectionStats()).toEqual(before);
  });
});

describe('what mail programs show but a parser could leave unread', () => {
  const head = (type: string, extra: string[] = []) => ['From: a@school.example', 'To: b@home.example', 'Subject: Trip', 'MIME-Version: 1.0', `Content-Type: ${type}`, ...extra, ''];
  /** uuencoded lines of `data`, by Python's binascii (45 bytes a line). */
  const uu = (data: string): string =>
    execFileSync('/usr/bin/python3', ['-c', 'import binascii,sys;d=sys.stdin.buffer.read();sys.stdout.write("".join(binascii.b2a_uu(d[i:i+45]).decode() for i in range(0,len(d),45)))'], { input: data }).toString();
  const secret = `${PUPIL_NAME}, ${PUPIL_REF}, asthma\n`;

  it('a part in a transfer encoding mailparser passes on still encoded (x-uuencode) is held as unread', async () => {
    const r = await inspect(crlf([...head('text/plain; charset=utf-8', ['Content-Transfer-Encoding: x-uuencode']), 'begin 644 note.txt', ...uu(secret).trimEnd().split('\n'), '`', 'end', '']));
    expect(r.texts.some((t) => String(t.text).includes(PUPIL_NAME))).toBe(false);
    expect(r.uninspectable).toContainEqual({ where: 'message', reason: expect.stringContaining('transfer encoding (x-uuencode) that is not read') });
    // A value of the sender's own is not repeated in the reason (notices and the register show it).
    const odd = await inspect(crlf([...head('text/plain; charset=utf-8', ['Content-Transfer-Encoding: Amelia-Thornbury']), 'Hello', '']));
    expect(odd.uninspectable).toEqual([{ where: 'message', reason: expect.stringContaining('transfer encoding (one it does not know)') }]);
    expect(JSON.stringify(odd.uninspectable)).not.toMatch(/amelia|thornbury/i);
  });

  it('a uuencoded file in a plain body is held as unread; the word "begin" in a letter is not', async () => {
    const r = await inspect(crlf([...head('text/plain; charset=utf-8'), 'Please see the list.', 'begin 644 pupils.csv', ...uu(secret).trimEnd().split('\n'), '`', 'end', '']));
    expect(r.uninspectable).toContainEqual({ where: 'body', reason: expect.stringContaining('uuencoded file') });
    const letter = await inspect(crlf([...head('text/plain; charset=utf-8'), 'Lessons begin 9 March and end on Friday.', 'begin at 644 Park Road', 'The end', 'for the', 'begin 2025 intake', 'end of term', '']));
    expect(letter.uninspectable).toEqual([]);
    // A body of nothing but "begin" lines is looked at once, not once a line (it took 23 s for 1 MB).
    expect(hasUuencodedFile('begin 644 a\r\n'.repeat(200_000) + 'end\r\n')).toBe(false);
    // Nor is a body of uuencoded-looking blocks that never end (each would have been scanned to the end).
    expect(hasUuencodedFile(`begin 644 a\r\nM${'A'.repeat(60)}\r\n`.repeat(100_000))).toBe(false);
  });

  it('a body or subject in UTF-7 (which mailparser will not decode) is held as unread', async () => {
    const body = await inspect(crlf([...head('text/plain; charset=utf-7', ['Content-Transfer-Encoding: 7bit']), iconv.encode(secret, 'utf7').toString('latin1'), '']));
    expect(body.uninspectable).toContainEqual({ where: 'message', reason: expect.stringContaining('UTF-7') });
    const subject = iconv.encode(PUPIL_NAME, 'utf7').toString('base64');
    const r = await inspect(crlf(['From: a@school.example', 'To: b@home.example', `Subject: =?utf-7?B?${subject}?=`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', 'Hello', '']));
    expect(r.uninspectable).toContainEqual({ where: 'message', reason: expect.stringContaining('UTF-7') });
    // A letter that only mentions the name of the encoding is not held.
    expect((await inspect(crlf([...head('text/plain; charset=utf-8'), 'Our system sends charset=utf-7 mail.', '']))).uninspectable).toEqual([]);
  });

  it('a body in a character set that is not read (EBCDIC) is held as unread; Latin-1 labelled "unknown-8bit" is read', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => `${PUPIL_NAME},${PUPIL_REF},asthma ${i}`).join('\n');
    // glibc's iconv writes IBM037 (EBCDIC), which mailparser and iconv-lite do not know.
    const ebcdic = execFileSync('iconv', ['-f', 'UTF-8', '-t', 'IBM037'], { input: rows }).toString('base64');
    const r = await inspect(crlf([...head('text/plain; charset=IBM037', ['Content-Transfer-Encoding: base64']), ebcdic, '']));
    expect(r.uninspectable).toContainEqual({ where: 'message', reason: 'Part of the message is written in a character set that is not read, so what it says was not checked' });
    // Beside a long letter in UTF-8 (the garble is not diluted by it), and as an attached text file.
    const prose = 'The coach leaves at nine and returns at four. '.repeat(300);
    const diluted = await inspect(crlf([...head('multipart/mixed; boundary=m'), '--m', 'Content-Type: text/plain; charset=utf-8', '', prose, '--m', 'Content-Type: text/plain; charset=IBM037', 'Content-Transfer-Encoding: base64', '', ebcdic, '--m--', '']));
    expect(diluted.uninspectable).toContainEqual({ where: 'message', reason: expect.stringContaining('character set that is not read') });
    const attached = await inspect(mailWithAttachment('list.txt', execFileSync('iconv', ['-f', 'UTF-8', '-t', 'IBM037'], { input: rows }), 'text/plain; charset=IBM037'));
    expect(attached.uninspectable).toContainEqual({ where: 'attachment:list.txt', reason: expect.stringContaining('character set that is not read') });
    // French with an accent in every other word, labelled "unknown-8bit": read.
    const french = iconv.encode("Très bien! À bientôt, élèves: déjà été à l'école; fête à Noël, ça va? Clément, Éloïse, Maëlle, Hélène.\n", 'latin1').toString('base64');
    expect((await inspect(crlf([...head('text/plain; charset=unknown-8bit', ['Content-Transfer-Encoding: base64']), french, '']))).uninspectable).toEqual([]);
    const latin = iconv.encode('Dear Mrs Müller,\nthe café trip is on Friday. Thank you, Zoë\n', 'latin1').toString('base64');
    const read = await inspect(crlf([...head('text/plain; charset=unknown-8bit', ['Content-Transfer-Encoding: base64']), latin, '']));
    expect(read.uninspectable).toEqual([]);
    expect(read.texts.find((t) => t.where === 'body')?.text).toContain('trip is on Friday');
  });

  it('a fragment of a split message (message/partial) and a digest\'s untyped attached message are held as unread; a typed one is read', async () => {
    const csv = ['Content-Type: text/csv', 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment; filename=list.csv', '', Buffer.from(secret).toString('base64')];
    const partial = await inspect(crlf([...head('message/partial; id="abc@school.example"; number=1; total=2'), ...csv, '']));
    expect(partial.uninspectable).toContainEqual({ where: 'message', reason: expect.stringContaining('message/partial') });
    // RFC 2046 5.1.5: in a digest, a part without a Content-Type is a message (mailparser reads it as text).
    const digest = (typed: boolean) => crlf([...head('multipart/digest; boundary=d'), '--d', ...(typed ? ['Content-Type: message/rfc822'] : []), '', 'Subject: list', 'MIME-Version: 1.0', ...csv, '--d--', '']);
    expect((await inspect(digest(false))).uninspectable).toContainEqual({ where: 'message', reason: expect.stringContaining('A digest in the message holds attached messages that are not read') });
    // The same with a space before the header's colon, and plain text in UTF-7.
    const odd = (lines: string[]) => crlf([...head('multipart/digest; boundary=d'), '--d', '', 'Subject: list', ...lines, '--d--', '']);
    for (const lines of [['Content-Type : text/csv', 'Content-Transfer-Encoding : base64', '', Buffer.from(secret).toString('base64')], ['Content-Type: text/plain; charset=utf-7', '', iconv.encode(secret, 'utf7').toString('latin1')]]) {
      expect((await inspect(odd(lines))).uninspectable, lines[0]).toContainEqual({ where: 'message', reason: expect.stringContaining('A digest in the message holds attached messages that are not read') });
    }
    // A mailing list's digest of plain text messages is read as it stands, their text and all.
    const list = await inspect(crlf([...head('multipart/digest; boundary=d'), '--d', '', 'From: a@list.example', 'Subject: Minutes', '', `Attendees: ${PUPIL_NAME}`, '--d', '', 'Subject: Re: Minutes', 'Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit', '', 'Thanks', '--d--', '']));
    expect(list.uninspectable).toEqual([]);
    expect(list.texts.some((t) => t.text.includes(PUPIL_NAME))).toBe(true);
    const typed = await inspect(digest(true));
    expect(typed.uninspectable).toEqual([]);
    expect(typed.texts.some((t) => t.text.includes(PUPIL_NAME))).toBe(true);
  });

  it('header lines ending in a carriage return alone are held as unread: the whole message is one header line here', async () => {
    const lines = ['From: a@school.example', 'To: b@home.example', 'Subject: Trip', 'MIME-Version: 1.0', 'Content-Type: text/plain', '', `${PUPIL_NAME}, ${PUPIL_REF}, asthma`, ''];
    const r = await inspect(Buffer.from(lines.join('\r')));
    expect(r.uninspectable).toContainEqual({ where: 'message', reason: expect.stringContaining('carriage return alone') });
    // A carriage return alone in a body (old Mac text) is read as it is.
    const body = await inspect(Buffer.from([...lines.slice(0, 6).join('\r\n'), '\r\n', `${PUPIL_NAME}\rasthma\r\n`].join('')));
    expect(body.uninspectable).toEqual([]);
  });

  it('a part that gives its encoding twice, differently, is held; the same field twice alike is not', async () => {
    const twice = ['From: a@school.example', 'To: b@home.example', 'Subject: Trip', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit', 'Content-Transfer-Encoding: base64', '', Buffer.from(secret).toString('base64'), ''];
    expect((await inspect(crlf(twice))).uninspectable).toContainEqual({ where: 'message', reason: expect.stringContaining('gives its type or encoding twice') });
    const alike = ['From: a@school.example', 'To: b@home.example', 'Subject: Trip', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Type: text/plain;  charset=UTF-8', '', 'The coach leaves at nine.', ''];
    expect((await inspect(crlf(alike))).uninspectable).toEqual([]);
    // One Content-Type giving two boundaries: mailparser splits by the first, other programs by
    // the last, where a CSV of pupils waits unread.
    const hidden = ['From: a@school.example', 'To: b@home.example', 'Subject: Trip', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="aa"; boundary="bb"', '',
      '--aa', 'Content-Type: text/plain', '', 'See you Friday.', '--aa--', '--bb', 'Content-Type: text/csv', 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment; filename=list.csv', '', Buffer.from(secret).toString('base64'), '--bb--', ''];
    expect((await inspect(crlf(hidden))).uninspectable).toContainEqual({ where: 'message', reason: expect.stringContaining('gives its type or encoding twice') });
    const withType = (type: string) => ['From: a@school.example', 'To: b@home.example', 'Subject: Trip', 'MIME-Version: 1.0', `Content-Type: ${type}`, ...hidden.slice(5)];
    // RFC 2231's form of the second boundary, and the second one far along a long header.
    for (const type of [`multipart/mixed; boundary="aa"; boundary*=utf-8''bb`, `multipart/mixed; boundary="aa"; x-pad="${'x'.repeat(5000)}"; boundary="bb"`]) {
      expect((await inspect(crlf(withType(type)))).uninspectable, type.slice(0, 60)).toContainEqual({ where: 'message', reason: expect.stringContaining('gives its type or encoding twice') });
    }
    // The same charset twice (any case), a charset inside a quoted file name, a boundary in continuations: read.
    for (const type of ['text/plain; charset=utf-8; charset="UTF-8"', 'text/plain; charset=utf-8; name="notes; charset=latin1.txt"']) {
      expect((await inspect(crlf(['From: a@school.example', 'To: b@home.example', 'Subject: Trip', 'MIME-Version: 1.0', `Content-Type: ${type}`, '', 'The coach leaves at nine.', '']))).uninspectable, type).toEqual([]);
    }
    const continued = await inspect(crlf(['From: a@school.example', 'To: b@home.example', 'Subject: Trip', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary*0="a"; boundary*1="a"', '', '--aa', 'Content-Type: text/plain', '', `Coach list: ${PUPIL_NAME}`, '--aa--', '']));
    expect(continued.uninspectable).toEqual([]);
    expect(continued.texts.some((t) => t.text.includes(PUPIL_NAME))).toBe(true);
  });

  it('HTML that mail programs show is read: noscript, object fallback, inline SVG text, Outlook\'s conditional comments, form values', async () => {
    const html = [
      `<p>Dear parent,</p><noscript>noscript ${PUPIL_NAME}</noscript>`,
      `<object data="cid:none"><p>object ${PUPIL_REF}</p></object>`,
      '<svg><text>svg Tobias Lindqvist</text></svg>',
      '<!--[if mso]><p>Outlook UPN A123456789012</p><![endif]-->',
      '<!-- an ordinary comment: Kept Out -->',
      '<input value="value Priya Shah" placeholder="placeholder Ben Ode">',
      // A hidden form field is not shown (a newsletter's tracking number); only an input's type hides.
      '<input type="hidden" value="9434765919">',
      '<img type="hidden" alt="img Amara Patel">',
    ].join('');
    const r = await inspect(crlf([...head('text/html; charset=utf-8'), html, '']));
    const text = String(r.texts.find((t) => t.where === 'body:html')?.text);
    for (const shown of [PUPIL_NAME, PUPIL_REF, 'Tobias Lindqvist', 'A123456789012', 'Priya Shah', 'Ben Ode', 'Amara Patel']) expect(text).toContain(shown);
    expect(text).not.toContain('Kept Out');
    expect(text).not.toContain('9434765919');
  });

  it('a body in UTF-16 with a BOM that its charset does not declare is read as mail programs show it', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(`<p>Dear parent, ${PUPIL_NAME} ${PUPIL_REF}</p>`, 'utf16le')]);
    const r = await inspect(crlf([...head('text/html; charset=utf-8', ['Content-Transfer-Encoding: base64']), bytes.toString('base64'), '']));
    expect(String(r.texts.find((t) => t.where === 'body:html')?.text)).toContain(`${PUPIL_NAME} ${PUPIL_REF}`);
    const plain = Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(`Dear parent, ${PUPIL_NAME}\r\n`, 'utf16le')]);
    const p = await inspect(crlf([...head('text/plain; charset=x-unknown-charset', ['Content-Transfer-Encoding: base64']), plain.toString('base64'), '']));
    expect(String(p.texts.find((t) => t.where === 'body')?.text)).toContain(PUPIL_NAME);
  });
});

describe('pictures and files written into HTML as data: links', () => {
  const html = (body: string): Buffer =>
    crlf(['From: a@school.example', 'To: b@home.example', 'Subject: Trip', 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '', `<html><body><p>Please see below.</p>${body}</body></html>`, '']);
  const list = `Name,Reference,Medical\n${PUPIL_NAME},${PUPIL_REF},asthma\n`;
  const textOf = (r: Awaited<ReturnType<typeof inspect>>, where: string) => r.texts.find((t) => t.where === where)?.text.toString();
  /** Web fonts as small as they can be and still be shaped as fonts: WOFF2 giving its length, a TrueType font with one table. */
  const woff2 = (n: number) => {
    const b = Buffer.alloc(n);
    b.write('wOF2');
    b.writeUInt32BE(n, 8);
    return b;
  };
  const ttf = () => {
    const b = Buffer.alloc(64);
    b.writeUInt32BE(0x00010000, 0);
    b.writeUInt16BE(1, 4);
    b.writeUInt32BE(28, 20);
    b.writeUInt32BE(16, 24);
    return b;
  };

  // A mail program offers the link as a file, or shows the picture: nothing of it is an attachment
  // in MIME, and it was not read at all.
  it('a CSV linked as data: in the HTML body is read as an attachment (base64, or percent-encoded)', async () => {
    const r = await inspect(html(`<a href="data:text/csv;base64,${Buffer.from(list).toString('base64')}">the list</a>`));
    expect(r.attachments.map((a) => a.where)).toEqual(['attachment:inline-file-1.csv']);
    expect(textOf(r, 'attachment:inline-file-1.csv')).toContain(`${PUPIL_NAME},${PUPIL_REF},asthma`);
    const percent = await inspect(html(`<a href='data:text/csv,${encodeURIComponent(list)}'>the list</a>`));
    expect(textOf(percent, 'attachment:inline-file-1.csv')).toContain(PUPIL_NAME);
  });

  it('as a browser reads them: the scheme in any case or written with entities, tabs in it, white space in base64, srcset, CSS', async () => {
    const b64 = Buffer.from(list + '?>~~~').toString('base64'); // '+' and '/' in its base64
    expect(b64).toMatch(/[+/]/);
    const spaced = b64.replace(/(.{20})/g, '$1\n ');
    const entities = b64.replace(/\+/g, '&#43;').replace(/\//g, '&sol;');
    for (const link of [
      `<a href="DaTa:Text/CSV;BASE64,${spaced}">x</a>`,
      `<a href="data&colon;text/csv;base64,${entities}">x</a>`,
      `<a href="data&#x3A;text/csv;base64,${b64}">x</a>`,
      `<a href="&#100;ata&#58text/csv;base64,${b64}">x</a>`,
      `<a href="\u0001 da\tta\n:text/csv;charset=utf-8;base64,${b64}">x</a>`,
      `<div style="background-image: url(data:text/csv;base64,${b64})">x</div>`,
      `<style>td { background: URL( 'data:text/csv;base64,${b64}' ) }</style>`,
      `<style>td { /* x */ background: u\\72l("d\\61 ta\\:text/csv;base64,${b64}") }</style>`,
      `<a href = data:text/csv;base64,${b64} title=x>x</a>`,
      `<img srcset="logo.png 1x, data:text/csv;base64,${b64} 2x">`,
      `<object data="data:text/csv;${'x=1;'.repeat(80)}base64,${b64}"></object>`,
      `<svg><image xlink:href="data:text/csv;base64,${b64}"/></svg>`,
    ]) {
      const r = await inspect(html(link));
      expect(textOf(r, 'attachment:inline-file-1.csv'), link).toContain(`${PUPIL_NAME},${PUPIL_REF},asthma`);
    }
  });

  it('an HTML attachment\'s data: links are its entries; "data:" in the text and web fonts are not taken', async () => {
    const page = Buffer.from(`<html><body><h1>Trip</h1><a href="data:text/csv;base64,${Buffer.from(list).toString('base64')}">list</a></body></html>`);
    const r = await inspect(mailWithAttachment('trip.html', page, 'text/html'));
    expect(r.attachments[0].entries?.map((e) => e.where)).toEqual(['attachment:trip.html/inline-file-1.csv']);
    expect(textOf(r, 'attachment:trip.html/inline-file-1.csv')).toContain(PUPIL_NAME);
    // Words, not links: nothing taken out, nothing held.
    // Nor is a newsletter's web font (CSS @font-face), which is drawn with and never shown.
    const font = `<style>@font-face { font-family: Brand; src: url(data:font/woff2;base64,${woff2(48).toString('base64')}) format('woff2'), url("data:application/x-font-ttf;base64,${ttf().toString('base64')}"); }</style>`;
    const prose = await inspect(html(`${font}<p>Attendance data: 96.2%, 14 late marks.</p><p title="data: 1, 2" alt="Data: attendance, autumn">Metadata:none, x=data:1</p>`));
    expect(prose.attachments).toEqual([]);
    expect(prose.uninspectable).toEqual([]);
  });

  it('in an Outlook message (.msg) attached, its HTML body\'s data: links are its entries', async () => {
    const msg = await makeOutlookMsg({ subject: 'Trip', body: 'Please see below.', html: `<html><body><img src="data:text/csv;base64,${Buffer.from(list).toString('base64')}"></body></html>`, to: 'x@y.example', attachments: [] });
    const r = await inspect(mailWithAttachment('fwd.msg', msg, 'application/vnd.ms-outlook'));
    expect(r.attachments[0].entries?.map((e) => e.where)).toEqual(['attachment:fwd.msg/inline-file-1.csv']);
    expect(textOf(r, 'attachment:fwd.msg/inline-file-1.csv')).toContain(PUPIL_NAME);
  });

  it('a picture labelled as a font is still read; a 20 MB link with an entity in it costs no more than its size', async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from(list)]);
    const r = await inspect(html(`<img src="data:font/woff;base64,${png.toString('base64')}">`));
    expect(r.attachments.map((a) => a.where)).toEqual(['attachment:inline-file-1.bin']);
    const big = 'A'.repeat(20_000_000);
    const before = process.memoryUsage().rss;
    const huge = await inspect(html(`<img src="data:image/png;base64,&amp;${big}">`));
    expect(huge.attachments.map((a) => a.size)).toEqual([15_000_000]);
    expect(process.memoryUsage().rss - before).toBeLessThan(400e6);
  });

  // A second review of the reader's second version.
  it('CSS as a browser reads it: <style/>, image-set() and @import strings, escapes; an SVG\'s and a style sheet\'s own links; an iframe\'s srcdoc', async () => {
    const b64 = Buffer.from(list).toString('base64');
    for (const link of [
      `<style/>p { background: url(data:text/csv;base64,${b64}) }</style>`,
      `<div style='background-image: image-set("data:text/csv;base64,${b64}" 1x)'>x</div>`,
      `<style>@import "data:text/csv;base64,${b64}";</style>`,
      `<style>p { background: url(data\\:text/csv;base64,${b64}) } q { background: url("data\\3a text/csv;base64,${b64}") }</style>`,
      // A third review's: an escaped quote or a "/*" inside a string, a string broken by a line
      // break (a browser drops that one declaration), an escaped function name.
      `<div style='content:"\\"";background:url(data:text/csv;base64,${b64})'>x</div>`,
      `<div style='content:"\\22";background:url(data:text/csv;base64,${b64})'>x</div>`,
      `<div style='content:"/*";background:url(data:text/csv;base64,${b64})'>x</div>`,
      `<style>p { font-family: 'x\n; background: url(data:text/csv;base64,${b64}) }</style>`,
      `<style>p { background: \\75 rl(data:text/csv;base64,${b64}) }</style>`,
      `<div style="background: url&#40;data:text/csv;base64,${b64})">x</div>`,
    ]) {
      const r = await inspect(html(link));
      expect(textOf(r, 'attachment:inline-file-1.csv'), link).toContain(PUPIL_NAME);
    }
    for (const svg of [
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="data:text/csv;base64,${b64}"/></svg>`,
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink"><image x:href="data:text/csv;base64,${b64}"/></svg>`,
    ]) {
      const inSvg = await inspect(html(`<img src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}">`));
      expect(textOf(inSvg, 'attachment:inline-picture-1.svg/inline-file-1.csv'), svg).toContain(PUPIL_NAME);
    }
    const sheet = `p { background: url(data:text/csv;base64,${b64}) }`;
    const inSheet = await inspect(html(`<style>@import url(data:text/css;base64,${Buffer.from(sheet).toString('base64')});</style>`));
    expect(textOf(inSheet, 'attachment:inline-file-1.css/inline-file-1.csv')).toContain(PUPIL_NAME);
    const framed = await inspect(html(`<iframe srcdoc="<p>Medical list</p><a href='data:text/csv;base64,${b64}'>list</a>"></iframe>`));
    expect(textOf(framed, 'attachment:inline-file-1.csv')).toContain(PUPIL_NAME);
    expect(textOf(framed, 'body:html')).toContain('Medical list');
    // Nested ten deep (each level escaping the one inside): read, as HTML to eight, then as written.
    let nested = `<p>${PUPIL_NAME} ${PUPIL_REF}</p>`;
    for (let k = 0; k < 10; k++) nested = `<iframe srcdoc="${nested.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"></iframe>`;
    expect(textOf(await inspect(html(nested)), 'body:html')).toContain(PUPIL_NAME);
  });

  it('a font is skipped only when it is one: a CSV starting "true" or "wOFF" is read, an EOT web font is not held', async () => {
    const r = await inspect(html(`<a href="data:text/csv,true%2C${encodeURIComponent(PUPIL_NAME)}%2C${PUPIL_REF}">list</a>`));
    expect(textOf(r, 'attachment:inline-file-1.csv')).toContain(PUPIL_NAME);
    // Said to be a font, starting like one, and a list all the same (a third review's case).
    for (const head of ['wOFF', 'true']) {
      const disguised = await inspect(html(`<a href="data:font/woff,${head}%0A${encodeURIComponent(list)}">list</a>`));
      expect(disguised.attachments.length, head).toBe(1);
      expect(disguised.texts.some((t) => t.text.toString().includes(PUPIL_NAME)) || disguised.uninspectable.length > 0, head).toBe(true);
    }
    const eot = Buffer.alloc(64);
    eot.writeUInt32LE(64, 0);
    eot[34] = 0x4c;
    eot[35] = 0x50;
    const font = await inspect(html(`<style>@font-face { font-family: Brand; src: url(data:application/vnd.ms-fontobject;base64,${eot.toString('base64')}); }</style><p>Hello</p>`));
    expect(font.attachments).toEqual([]);
    expect(font.uninspectable).toEqual([]);
  });

  it('a style of a megabyte of "url(" is read once, not once for each', async () => {
    const r = await inspect(html(`<style>${'url('.repeat(250_000)}</style><p>Hello</p>`));
    expect(r.uninspectable).toEqual([]);
    expect(r.attachments).toEqual([]);
    const quotes = await inspect(html(`<div style='${'"'.repeat(500_000)}'>x</div>`));
    expect(quotes.uninspectable).toEqual([]);
  });

  it('more links than the inspection reads: held as not all read', async () => {
    const links = Array.from({ length: 30 }, (_, i) => `<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="${i}">`).join('');
    const r = await inspect(html(links), { maxParts: 10 });
    expect(r.attachments.length).toBeLessThanOrEqual(10);
    expect(r.uninspectable).toContainEqual({ where: 'body:html', reason: expect.stringContaining('data: links') });
  });
});

describe('attached messages', () => {
  const inner = crlf([
    'From: Teacher <teacher@school.example>',
    'To: Senco <senco@school.example>',
    'Subject: Concern about Jasmine',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="in"',
    '',
    '--in',
    'Content-Type: text/plain',
    '',
    `Notes on ${PUPIL_NAME}.`,
    '--in',
    'Content-Type: text/csv; name="list.csv"',
    'Content-Disposition: attachment; filename="list.csv"',
    '',
    `Name,Ref`,
    `${PUPIL_NAME},${PUPIL_REF}`,
    '--in--',
    '',
  ]);

  it('a forwarded message/rfc822 is read as its own message: headers, body and attachments', async () => {
    const raw = crlf([
      'From: senco@school.example',
      'To: outside@agency.example',
      'Subject: Fwd',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="out"',
      '',
      '--out',
      'Content-Type: text/plain',
      '',
      'Forwarding as discussed.',
      '--out',
      'Content-Type: message/rfc822',
      'Content-Disposition: attachment; filename="fwd.eml"',
      '',
      inner.toString(),
      '--out--',
      '',
    ]);
    const r = await inspect(raw);
    const wheres = r.texts.map((t) => t.where);
    expect(wheres).toEqual(['body', 'attachment:fwd.eml/body', 'attachment:fwd.eml/list.csv', 'attachment:fwd.eml/headers']);
    expect(r.texts.find((t) => t.where === 'attachment:fwd.eml/body')?.text).toContain(PUPIL_NAME);
    expect(r.texts.find((t) => t.where === 'attachment:fwd.eml/headers')?.text).toContain('Subject: Concern about Jasmine');
    const fwd = r.attachments[0];
    expect(fwd).toMatchObject({ where: 'attachment:fwd.eml', format: 'eml', isMessage: true, encryption: 'not-encrypted' });
    expect(fwd.entries?.[0]).toMatchObject({ where: 'attachment:fwd.eml/list.csv', format: 'csv' });
  });

  it('an .eml sent as application/octet-stream is recognised from its bytes', async () => {
    const r = await inspect(mailWithAttachment('saved.eml', inner));
    expect(r.attachments[0].isMessage).toBe(true);
    expect(r.texts.find((t) => t.where === 'attachment:saved.eml/list.csv')?.text).toContain(PUPIL_REF);
  });

  it('an Outlook .msg: subject, recipients, body and attachments', async () => {
    const msg = await makeOutlookMsg({
      subject: 'Report for Jasmine',
      body: `Please find ${PUPIL_NAME}'s report attached.`,
      to: 'parent@home.example',
      attachments: [
        { name: 'list.csv', content: fx.read('list.csv') },
        { name: 'report.docx', content: fx.read('doc.docx') },
      ],
    });
    const r = await inspect(mailWithAttachment('report.msg', msg, 'application/vnd.ms-outlook'));
    const a = r.attachments[0];
    expect(a).toMatchObject({ format: 'msg', isMessage: true, encryption: 'not-encrypted' });
    expect(a.entries?.map((e) => [e.where, e.format])).toEqual([
      ['attachment:report.msg/list.csv', 'csv'],
      ['attachment:report.msg/report.docx', 'docx'],
    ]);
    expect(r.texts.find((t) => t.where === 'attachment:report.msg/headers')?.text).toContain('Subject: Report for Jasmine');
    expect(r.texts.find((t) => t.where === 'attachment:report.msg/headers')?.text).toContain('parent@home.example');
    expect(r.texts.find((t) => t.where === 'attachment:report.msg/body')?.text).toContain(PUPIL_NAME);
    expect(r.texts.find((t) => t.where === 'attachment:report.msg/report.docx')?.text).toContain(PUPIL_REF);
  });

  it('an Outlook .msg whose body is longer than the text limit says so (the rest was not read), as any text does', async () => {
    const body = `Dear parents,\n${'The trip is on Friday. '.repeat(200)}\n${PUPIL_NAME}`;
    const msg = await makeOutlookMsg({ subject: 'Trip', body, to: 'x@y.example', attachments: [] });
    const r = await inspect(mailWithAttachment('letter.msg', msg), { maxTextChars: 2_000 });
    expect(r.uninspectable.map((u) => `${u.where}: ${u.reason}`).join('\n')).toMatch(/letter\.msg\/body: The text is longer than the inspection limit/);
  });

  it('an Outlook .msg with an encrypted attachment is partly encrypted', async () => {
    const msg = await makeOutlookMsg({ subject: 's', body: 'b', to: 'x@y.example', attachments: [{ name: 'locked.xlsx', content: fx.read('encrypted.xlsx') }] });
    const r = await inspect(mailWithAttachment('locked.msg', msg));
    expect(r.attachments[0].encryption).toBe('partly-encrypted');
    expect(r.attachments[0].entries?.[0]).toMatchObject({ format: 'ooxml', encryption: 'encrypted', encryptionDetail: 'ooxml-standard' });
  });
});

describe('whole-message encryption, made by openssl and gpg', () => {
  function openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  it('S/MIME enveloped data: messageEncryption smime, the part encrypted, nothing read', async () => {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-subj', '/CN=Parent', '-days', '2']);
    writeFileSync(join(work, 'plain.txt'), `Safeguarding referral for ${PUPIL_NAME}\n`);
    openssl(['smime', '-encrypt', '-aes256', '-text', '-in', 'plain.txt', '-out', 'sealed.eml', '-from', 'senco@school.example', '-to', 'parent@home.example', '-subject', 'Sealed', 'cert.pem']);
    const r = await inspect(readFileSync(join(work, 'sealed.eml')));
    expect(r.messageEncryption).toBe('smime');
    expect(r.subject).toBe('Sealed');
    expect(r.attachments[0]).toMatchObject({ encryption: 'encrypted', encryptionDetail: 'smime-enveloped' });
    expect(r.texts.some((t) => t.text.includes(PUPIL_NAME))).toBe(false);
    expect(r.uninspectable).toEqual([]);
  });

  it('S/MIME signed (detached): readable, not encrypted, the signature is not a finding', async () => {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'skey.pem', '-out', 'scert.pem', '-subj', '/CN=Office', '-days', '2']);
    writeFileSync(join(work, 'signed-body.txt'), `Trip list: ${PUPIL_NAME}\n`);
    openssl(['smime', '-sign', '-text', '-in', 'signed-body.txt', '-signer', 'scert.pem', '-inkey', 'skey.pem', '-out', 'signed.eml', '-from', 'office@school.example', '-to', 'parent@home.example', '-subject', 'Signed']);
    const r = await inspect(readFileSync(join(work, 'signed.eml')));
    expect(r.messageEncryption).toBeUndefined();
    expect(r.texts.some((t) => t.text.includes(PUPIL_NAME))).toBe(true);
    expect(r.attachments.find((a) => a.format === 'pkcs7-signature')?.encryption).toBe('not-encrypted');
    expect(r.uninspectable).toEqual([]);
  });

  it('PGP/MIME (multipart/encrypted): messageEncryption pgp, the payload encrypted', async () => {
    const home = join(work, 'gnupg');
    execFileSync('mkdir', ['-m', '700', '-p', home]);
    const env = { ...process.env, GNUPGHOME: home };
    execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Parent <parent@home.example>', 'future-default', 'default', 'never'], { env, stdio: 'ignore' });
    const armored = execFileSync('gpg', ['--batch', '--armor', '--trust-model', 'always', '--encrypt', '-r', 'parent@home.example'], { env, input: `Content-Type: text/plain\r\n\r\nReferral for ${PUPIL_NAME}\r\n` }).toString();
    try {
      execFileSync('gpgconf', ['--kill', 'all'], { env, stdio: 'ignore' });
    } catch {
      // gpg-agent already gone
    }
    const raw = crlf([
      'From: senco@school.example',
      'To: parent@home.example',
      'Subject: Encrypted',
      'MIME-Version: 1.0',
      'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="pgp"',
      '',
      '--pgp',
      'Content-Type: application/pgp-encrypted',
      '',
      'Version: 1',
      '--pgp',
      'Content-Type: application/octet-stream; name="encrypted.asc"',
      '',
      armored.trimEnd(),
      '--pgp--',
      '',
    ]);
    const r = await inspect(raw);
    expect(r.messageEncryption).toBe('pgp');
    expect(r.attachments.find((a) => a.filename === 'encrypted.asc')).toMatchObject({ encryption: 'encrypted', encryptionDetail: 'pgp' });
    expect(r.texts.some((t) => t.text.includes(PUPIL_NAME))).toBe(false);
  });

  it('an encrypted part beside readable ones is not whole-message encryption: an S/MIME attachment beside a plain list, a short PGP block over a plain list', async () => {
    // A review found each of these marked encrypted whole, which turned the rules off for the
    // plain list beside it.
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key2.pem', '-out', 'cert2.pem', '-subj', '/CN=Parent', '-days', '2']);
    writeFileSync(join(work, 'note.txt'), 'nothing\n');
    openssl(['smime', '-encrypt', '-aes256', '-binary', '-outform', 'DER', '-in', 'note.txt', '-out', 'note.p7m', 'cert2.pem']);
    const list = `Name,UPN\r\n${PUPIL_NAME},${PUPIL_REF}\r\n`;
    const b64 = (b: Buffer) => b.toString('base64').replace(/.{76}/g, '$&\r\n');
    const beside = crlf([
      'From: senco@school.example', 'To: parent@home.example', 'Subject: Lists', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '',
      '--b', 'Content-Type: text/plain', '', 'Two files.',
      '--b', 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"', 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment; filename="smime.p7m"', '', b64(readFileSync(join(work, 'note.p7m'))),
      '--b', 'Content-Type: text/csv; name="register.csv"', 'Content-Disposition: attachment; filename="register.csv"', '', list,
      '--b--', '',
    ]);
    const r = await inspect(beside);
    expect(r.messageEncryption).toBeUndefined();
    expect(r.attachments.find((a) => a.filename === 'smime.p7m')).toMatchObject({ encryption: 'encrypted' });
    expect(r.texts.find((t) => t.where === 'attachment:register.csv')?.text).toContain(PUPIL_NAME);
    const armor = ['-----BEGIN PGP MESSAGE-----', '', 'hQEMA1234567890ABCDEF', '=abcd', '-----END PGP MESSAGE-----'];
    const under = await inspect(crlf(['From: a@school.example', 'To: b@home.example', 'Subject: inline', '', ...armor, '', list, '']));
    expect(under.messageEncryption).toBeUndefined();
    expect(under.texts.find((t) => t.where === 'body')?.text).toContain(PUPIL_NAME);
    // A file that opens with a PGP block and goes on in plain text is not encrypted either; one that is the block alone is.
    const file = await inspect(mailWithAttachment('register.csv', Buffer.from([...armor, list].join('\r\n')), 'text/csv'));
    expect(file.attachments[0].encryption).toBe('not-encrypted');
    expect(file.texts.find((t) => t.where === 'attachment:register.csv')?.text).toContain(PUPIL_NAME);
    const sealed = await inspect(mailWithAttachment('register.csv.asc', Buffer.from(armor.join('\r\n') + '\r\n'), 'text/plain'));
    expect(sealed.attachments[0]).toMatchObject({ encryption: 'encrypted', encryptionDetail: 'pgp' });
    // Nor the shapes a second review found still taken for armor: no END line, the list between
    // the markers, the markers in lower case with the list after them.
    for (const [shape, lines] of [
      ['no END line', [armor[0], '', list]],
      ['the list between the markers', [armor[0], '', list, armor[4]]],
      ['lower-case markers, the list after', [...armor.map((l) => l.toLowerCase()), list]],
    ] as const) {
      const r = await inspect(mailWithAttachment('register.csv', Buffer.from(lines.join('\r\n')), 'text/csv'));
      expect(r.attachments[0].encryption, shape).toBe('not-encrypted');
      expect(r.texts.find((t) => t.where === 'attachment:register.csv')?.text, shape).toContain(PUPIL_NAME);
    }
    // A charset label that is no charset (iconv-lite would turn the list into base64 or hex).
    for (const label of ['base64', 'hex', 'utf-7']) {
      const r = await inspect(mailWithAttachment('register.csv', Buffer.from(list), `text/csv; charset=${label}`));
      expect(r.texts.find((t) => t.where === 'attachment:register.csv')?.text, label).toContain(PUPIL_NAME);
    }
  });

  it('an inline PGP message body is PGP-encrypted', async () => {
    const raw = crlf(['From: a@school.example', 'To: b@home.example', 'Subject: inline', '', '-----BEGIN PGP MESSAGE-----', '', 'hQEMA1234567890ABCDEF', '=abcd', '-----END PGP MESSAGE-----', '']);
    const r = await inspect(raw);
    expect(r.messageEncryption).toBe('pgp');
  });
});

describe('RAR', () => {
  it('a RAR5 archive with encrypted headers is encrypted (hand-built: no free tool writes RAR)', async () => {
    // Signature, then the archive encryption header (type 4) with its CRC32, then ciphertext.
    const vint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, n >> 7]);
    const body = Buffer.from([...vint(4), ...vint(0), ...vint(0), ...vint(1), 15, ...Buffer.alloc(16, 7), ...Buffer.alloc(12, 9)]);
    const header = Buffer.concat([Buffer.from(vint(body.length)), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32(header));
    const rar = Buffer.concat([Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1'), crc, header, Buffer.alloc(64, 0x5a)]);
    const r = await inspect(mailWithAttachment('pupils.rar', rar));
    expect(r.attachments[0]).toMatchObject({ format: 'rar', encryption: 'encrypted', encryptionDetail: 'rar-header' });
  });
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
