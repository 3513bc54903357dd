// Issue 15/19: a large plain single-part body is read from the message's bytes instead of through
// mailparser (src/inspect/message.ts plainBody), at a fraction of the memory. It must give exactly
// the text mailparser gives, on hand-made edge cases and on every message of Debian's mail
// corpora it takes, and leave every other shape to mailparser. Every other quoted-printable part is
// decoded by the same code inside mailparser, and must give mailparser's own text too.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MailParser } from 'mailparser';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { inspect, shutdownInspection } from '../src/inspect/index.ts';
import { PLAIN_BODY_BYTES, plainBody, wideBytesUndone } from '../src/inspect/message.ts';
import { decodeCleanBase64, decodeQuotedPrintable } from '../src/inspect/transfer.ts';
import { decodeTextBytes, htmlToText } from '../src/inspect/text.ts';
import { Utf8Text } from '../src/inspect/utf8-text.ts';
import { everyMailFile } from './corpus/debian.ts';

afterAll(async () => {
  await shutdownInspection();
});

/** libqp as mailparser's splitter (mailsplit) loads it: the decoder decodeQuotedPrintable must match. */
const libqp = createRequire(createRequire(import.meta.url).resolve('@zone-eu/mailsplit'))('libqp') as typeof import('libqp').default;

/** mailparser's own text for a message, read with the options the inspection uses. */
function mailparserText(raw: Buffer): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const p = new MailParser({ skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true, checksumAlgo: false, ignoreEmbedded: true });
    let text: string | undefined;
    p.on('data', (d: { type: string; text?: string; content?: NodeJS.ReadableStream; release?: () => void }) => {
      if (d.type === 'text') text = d.text;
      else { d.content?.resume(); d.release?.(); }
    });
    p.once('end', () => resolve(text));
    p.once('error', reject);
    p.end(raw);
  });
}

const message = (headers: string[], body: Buffer | string, eol = '\r\n') =>
  Buffer.concat([Buffer.from(['From: office@school.example.org', 'To: parent@home.example', 'Subject: Letter', ...headers].join(eol) + eol + eol), Buffer.from(body)]);

/**
 * Random inputs of bytes from `alphabet` (latin1), chosen to hit every quoted-printable rule:
 * blanks before line ends, soft breaks, escapes and near-escapes. Each call gives a length below `most`.
 */
function randomQuotedPrintable(alphabet: string, seed: number): (most: number) => Buffer {
  const bytes = Buffer.from(alphabet, 'latin1');
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  return (most) => {
    const out = Buffer.alloc(Math.floor(random() * most));
    for (let i = 0; i < out.length; i++) out[i] = bytes[Math.floor(random() * bytes.length)];
    return out;
  };
}

const big = (unit: string | Buffer) => {
  const u = Buffer.from(unit);
  return Buffer.concat(Array(Math.ceil((PLAIN_BODY_BYTES + 1000) / u.length)).fill(u));
};

describe('a large plain body read from the bytes', () => {
  const cases: Array<[string, Buffer]> = [
    ['ASCII with CRLF', message([], big('Dear parents, the trip is on Thursday.\r\n'))],
    ['no Content-Type at all, LF line ends', message([], big('Packed lunch and a coat.\n'), '\n')],
    ['UTF-8 with accents and emoji', message(['Content-Type: text/plain; charset="UTF-8"', 'Content-Transfer-Encoding: 8bit'], big('Zoë and Siân’s café trip 🚌\r\n'))],
    ['us-ascii, 7bit', message(['Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit'], big('Plain words.\r\n'))],
    ['invalid UTF-8 bytes', message(['Content-Type: text/plain; charset=utf-8'], big(Buffer.from([0x41, 0xff, 0xfe, 0x42, 0xc3, 0x0d, 0x0a])))],
    ['lone CRs, CRCRLF and NUL', message([], big(Buffer.from('a\rb\r\r\nc\u0000d\n\r')))],
    ['no line end at all', message([], 'x'.repeat(PLAIN_BODY_BYTES + 10))],
    ['a body that is only line ends', message([], '\r\n'.repeat(PLAIN_BODY_BYTES))],
    ['quoted-printable as Outlook writes it', message(['Content-Type: text/plain; charset="utf-8"', 'Content-Transfer-Encoding: quoted-printable'], big(libqp.wrap(libqp.encode(Buffer.from('Zoë and Siân’s café trip =, tabs\tand spaces   \r\n')), 76) + '\r\n'))],
    ['quoted-printable with soft breaks, trailing blanks, lower-case and broken escapes', message(['Content-Transfer-Encoding: Quoted-Printable'], big('caf=c3=a9 =\r\nsoft= \t\r\nline  \r\n=4=\r\n1 =ZZ =\n=3D=\r\n=A'))],
    ['quoted-printable ending in a bare =', message(['Content-Transfer-Encoding: quoted-printable'], Buffer.concat([big('row =E2=80=93 text\r\n'), Buffer.from('end=')]))],
    ['base64 with CRLF every 76', message(['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64'], big(Buffer.from('Zoë and Siân’s café trip to the farm on Friday.\r\n'.repeat(57)).toString('base64').replace(/.{76}/g, '$&\r\n') + '\r\n'))],
    // Lengths that leave one and two bytes in the last group: 2 and 3 characters, padding removed.
    ['base64, unpadded (2 characters in the last group), no line ends', message(['Content-Transfer-Encoding: base64'], Buffer.from('x'.repeat(3 * 90_000 + 1)).toString('base64').replace(/=+$/, ''))],
    ['base64, unpadded (3 characters in the last group), CRLF every 76', message(['Content-Transfer-Encoding: base64'], Buffer.from('y'.repeat(3 * 90_000 + 2)).toString('base64').replace(/=+$/, '').replace(/.{76}/g, '$&\r\n'))],
  ];
  for (const [name, raw] of cases) {
    it(`gives mailparser's text: ${name}`, async () => {
      const fast = await plainBody(raw);
      expect(fast).toBeDefined();
      expect(String(fast!.text)).toBe(await mailparserText(raw));
      const inspection = await inspect(raw);
      const body = inspection.texts.find((t) => t.where === 'body');
      expect(body?.text).toBe(String(fast!.text));
      // Valid UTF-8 stays its bytes, read by string index; the string is built only when asked for.
      if (typeof fast!.text !== 'string') expect(body?.utf8?.length).toBe(body?.text.length);
      expect(inspection.subject).toBe('Letter');
    });
  }

  it('leaves every other shape to mailparser', async () => {
    const body = big('word ');
    for (const headers of [
      ['Content-Type: text/plain; charset=iso-8859-1'],
      ['Content-Type: text/plain; format=flowed'],
      ['Content-Type: text/html'],
      ['Content-Transfer-Encoding: x-uuencode'],
      ['Content-Disposition: attachment; filename="list.txt"'],
      ['Content-Type: text/plain; boundary="x"'],
      ['Content-Type: multipart/mixed; boundary="x"'],
    ]) expect(await plainBody(message(headers, body)), headers.join()).toBeUndefined();
    expect(await plainBody(Buffer.from('no blank line at all'))).toBeUndefined();
    // A shape field twice, or empty: mailparser's header map and its decoder could disagree.
    for (const headers of [
      ['Content-Transfer-Encoding:', 'Content-Transfer-Encoding: base64'],
      ['Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: 8bit'],
      ['Content-Type: text/plain', 'Content-Type: text/html'],
      ['Content-Type:', 'Content-Transfer-Encoding: 7bit'],
    ]) expect(await plainBody(message(headers, body)), headers.join()).toBeUndefined();
    // A message that starts with a blank line has no header block: the lines after it are body,
    // and must all be read (a fast path taking the next blank line as the end would hide them).
    const hidden = Buffer.concat([Buffer.from('\r\nUPN,Forename,Surname\r\nA123456789012,Amelia,Thornbury\r\n\r\n'), big('filler words\r\n')]);
    expect(await plainBody(hidden)).toBeUndefined();
    const inspection = await inspect(hidden);
    expect(inspection.texts.map((t) => t.text).join('\n')).toContain('A123456789012,Amelia,Thornbury');
  });

  it('a list under an empty Content-Transfer-Encoding and then a base64 one is read as mailparser shows it, not decoded away', async () => {
    // The body is plain text that happens to be all base64 letters: decoded as base64 it would be
    // noise, and the pupils' identifiers in it would pass every detector.
    const list = big('A100000000000\r\n');
    const raw = message(['Content-Transfer-Encoding:', 'Content-Transfer-Encoding: base64'], list);
    expect(await plainBody(raw)).toBeUndefined();
    const body = (await inspect(raw)).texts.find((t) => t.where === 'body');
    expect(body?.text).toBe(await mailparserText(raw));
    expect(body?.text).toContain('A100000000000');
  });

  // Not a speed target: one pass takes ~0.1 s, a search from each line to the colon took 9 s
  // for half as many lines, so the limit only tells a hang from an answer.
  it('a header block of two million lines without a colon is looked at in one pass (a colon far below does not make it quadratic)', { timeout: 10_000 }, async () => {
    const raw = Buffer.concat([Buffer.from('x\n'.repeat(2_000_000)), Buffer.from('Content-Type: text/plain\n\n'), big('word ')]);
    expect(await plainBody(raw)).toBeUndefined(); // past mailparser's header limit: mailparser's to report
  });

  it('however Content-Transfer-Encoding is written, the fast path gives mailparser\'s text or leaves the body to it', async () => {
    // A plain list that is all base64 letters, and the same list base64-encoded: decoding the one
    // that mailparser shows as it is would hide the UPNs.
    const list = 'A100000000000\r\n'.repeat(20_000);
    const encoded = Buffer.from(list).toString('base64').replace(/.{76}/g, '$&\r\n');
    for (const field of ['Content-Transfer-Encoding : base64', 'content-transfer-encoding:base64', 'Content-Transfer-Encoding:\tbase64', 'Content-Transfer-Encoding:\r\n base64', 'Content-Transfer-Encoding: "base64"', 'Content-Transfer-Encoding: base64 (x)', ' Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: BASE64', 'Content-transfer-encoding: base64\r\nX-Note: y']) {
      for (const body of [list, encoded]) {
        const raw = Buffer.from(`From: office@school.example.org\r\nSubject: List\r\nContent-Type: text/plain; charset=utf-8\r\n${field}\r\n\r\n${body}`);
        const fast = await plainBody(raw);
        if (fast) expect(String(fast.text), field).toBe(await mailparserText(raw));
      }
    }
  });

  it('base64 that decoders could read differently is left to mailparser, and reported as damaged', async () => {
    const clean = Buffer.from('The class list is attached.\r\n'.repeat(12_000)).toString('base64');
    for (const damaged of [`${clean.slice(0, 1000)}!${clean.slice(1000)}`, `${clean.slice(0, 1000)}==${clean.slice(1000)}`, `${clean}A`, `${clean.slice(0, 1000)} ${clean.slice(1000)}`]) {
      const raw = message(['Content-Transfer-Encoding: base64'], damaged);
      expect(await plainBody(raw)).toBeUndefined();
      expect(decodeCleanBase64(Buffer.from(damaged))).toBeUndefined();
    }
    const junk = message(['Content-Transfer-Encoding: base64'], `${clean.slice(0, 1000)}!${clean.slice(1000)}`);
    expect((await inspect(junk)).uninspectable.map((u) => u.reason)).toContain('The body\u2019s base64 encoding is invalid, so what it says cannot be known for sure');
  });

  it("decodes quoted-printable exactly as libqp (mailparser's decoder) on random input", () => {
    const next = randomQuotedPrintable(' \t=\r\n=0Aa9fFgG=\xff\xc3', 19);
    for (let round = 0; round < 20_000; round++) {
      const input = next(round % 10 ? 40 : 400);
      expect(decodeQuotedPrintable(input).equals(libqp.decode(input)), JSON.stringify(input.toString('latin1'))).toBe(true);
    }
  });

  it('finds a pupil identifier in the body exactly as before, spans included', async () => {
    const line = 'Attendance note for the register, nothing personal here at all.\r\n';
    const raw = message([], Buffer.concat([big(line), Buffer.from('UPN A123456789012 for the transfer\r\n')]));
    const inspection = await inspect(raw);
    const body = inspection.texts.find((t) => t.where === 'body')!;
    expect(body.utf8).toBeDefined();
    expect(body.text.endsWith('UPN A123456789012 for the transfer\n')).toBe(true);
  });

  it('past the text limit, keeps only the first part of a body kept as bytes, and says so', async () => {
    const raw = message(['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'], big('Zoë’s form 🚌 is in.\r\n'));
    const built = vi.spyOn(Utf8Text.prototype, 'toString');
    const inspection = await inspect(raw, { maxTotalTextChars: 100_001 });
    expect(built).not.toHaveBeenCalled(); // only the part kept was made a string
    built.mockRestore();
    const body = inspection.texts.find((t) => t.where === 'body')!;
    const whole = String((await plainBody(raw))!.text);
    expect(body.text).toBe(whole.slice(0, 100_001));
    expect(body.utf8).toBeUndefined();
    expect(inspection.uninspectable).toContainEqual({ where: 'body', reason: 'The text is longer than the inspection limit; only the first part was read' });
  });
});

describe('lines among the header fields that are not header fields', () => {
  it('are scanned as the start of the body, under a name of their own: findings are placed in the text they were found in', async () => {
    const raw = Buffer.from('From: a@school.example.org\r\nTo: b@gmail.com\r\nSubject: x\r\nHafsa Ahmed UPN Y919204126157\r\nContent-Type: text/plain\r\n\r\nDear parents, the trip is on Friday.\r\n');
    const inspection = await inspect(raw);
    expect(inspection.texts.map((t) => [t.where, t.kind, t.text])).toEqual([
      ['body:header-lines', 'body', 'Hafsa Ahmed UPN Y919204126157'],
      ['body', 'body', 'Dear parents, the trip is on Friday.\n'],
    ]);
  });
});

/** Every message file of the corpora (each corpus must be there: npm test installs them). */
function corpusMessages(): string[] {
  const { files, missing } = everyMailFile();
  expect(missing, 'missing corpora (npm test installs them: test/prepare.sh)').toEqual([]);
  return files;
}

describe("Debian's mail corpora", () => {
  it('every message plainBody takes gives exactly mailparser’s text', async () => {
    let taken = 0;
    let seen = 0;
    for (const file of corpusMessages()) {
      const raw = readFileSync(file);
      seen++;
      const fast = await plainBody(raw);
      if (!fast) continue;
      taken++;
      expect(String(fast.text), file).toBe(await mailparserText(raw));
    }
    expect(seen).toBeGreaterThan(200);
    // Plain single-part messages are common: the comparison covers many real ones.
    expect(taken).toBeGreaterThan(40);
  });
});

describe('quoted-printable parts of any message: mailparser with transfer.ts decoding them', () => {
  /** The inspection's text of the message body. */
  const bodyText = async (raw: Buffer) => (await inspect(raw)).texts.find((t) => t.where === 'body')?.text;

  it('gives mailparser\u2019s own text for random quoted-printable in a multipart message, split across its chunks', async () => {
    const next = randomQuotedPrintable(' \t=\r\n=0Aa9fFgG=\xc3\xa9Zz', 7);
    for (let round = 0; round < 300; round++) {
      // Some parts longer than the 64 KB pieces the message is fed in, so escapes and soft breaks
      // fall across them.
      const body = next(round % 20 ? 300 : 150_000);
      const raw = Buffer.concat([
        message(['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"'], '--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'),
        body,
        Buffer.from('\r\n--b\r\nContent-Type: text/csv; name="list.csv"\r\nContent-Disposition: attachment; filename="list.csv"\r\n\r\nName\r\n--b--\r\n'),
      ]);
      expect(await bodyText(raw), JSON.stringify(body.subarray(0, 200).toString('latin1'))).toBe(await mailparserText(raw));
    }
  });

  it('reads a quoted-printable attachment as libqp decodes it', async () => {
    const csv = 'Name,Date of birth\r\nJasmine Okafor,17/03/2014 =\r\n(Year 5)\r\nTobias =4Cindqvist,02/11/2013   \r\n';
    const raw = message(
      ['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"'],
      `--b\r\nContent-Type: text/plain\r\n\r\nSee the list.\r\n--b\r\nContent-Type: text/csv; name="list.csv"\r\nContent-Disposition: attachment; filename="list.csv"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${csv}\r\n--b--\r\n`,
    );
    const text = (await inspect(raw)).texts.find((t) => t.where === 'attachment:list.csv')?.text;
    expect(text).toContain('Jasmine Okafor,17/03/2014 (Year 5)');
    expect(text).toContain('Tobias Lindqvist,02/11/2013');
    expect(libqp.decode(Buffer.from(csv)).toString()).toContain('Tobias Lindqvist,02/11/2013\r\n');
  });

  it("gives mailparser's own body text for every message of Debian's corpora with a quoted-printable part", async () => {
    let withQp = 0;
    for (const file of corpusMessages()) {
      const raw = readFileSync(file);
      if (!/content-transfer-encoding:\s*quoted-printable/i.test(raw.toString('latin1'))) continue;
      withQp++;
      expect(await bodyText(raw), file).toBe(await mailparserText(raw));
    }
    expect(withQp).toBeGreaterThan(15);
  });
});

describe('text parts of multipart messages kept as the bytes they decode to (src/inspect/text-parts.ts)', () => {
  /** mailparser's own text and HTML for a message, read with the options the inspection uses. */
  function mailparserTexts(raw: Buffer): Promise<{ text?: string; html?: string }> {
    return new Promise((resolve, reject) => {
      const p = new MailParser({ skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true, checksumAlgo: false, ignoreEmbedded: true });
      let got: { text?: string; html?: string } = {};
      p.on('data', (d: { type: string; text?: string; html?: string | false; content?: NodeJS.ReadableStream; release?: () => void }) => {
        if (d.type === 'text') got = { text: d.text, html: d.html || undefined };
        else { d.content?.resume(); d.release?.(); }
      });
      p.once('end', () => resolve(got));
      p.once('error', reject);
      p.end(raw);
    });
  }
  const texts = async (raw: Buffer) => {
    const found = (await inspect(raw)).texts;
    const body = found.find((t) => t.where === 'body');
    return { body: body?.text, bytes: body?.utf8 !== undefined, html: found.find((t) => t.where === 'body:html')?.text };
  };
  /** What the inspection must give: mailparser's text, and its HTML read by the inspection's HTML reader (UTF-16 read as UTF-8 undone in both). */
  const expected = async (raw: Buffer) => {
    const mp = await mailparserTexts(raw);
    return { body: wideBytesUndone(mp.text), html: mp.html === undefined ? undefined : htmlToText(wideBytesUndone(mp.html), 50_000_000).text };
  };
  const part = (type: string, body: Buffer | string, extra = '') => Buffer.concat([Buffer.from(`--b\r\nContent-Type: ${type}\r\n${extra}\r\n`), Buffer.from(body), Buffer.from('\r\n')]);
  const multipart = (kind: string, ...parts: Buffer[]) => message(['MIME-Version: 1.0', `Content-Type: multipart/${kind}; boundary="b"`], Buffer.concat([...parts, Buffer.from('--b--\r\n')]));

  it('a large letter with its HTML twin, as Outlook sends it: the text is its bytes, exactly mailparser’s text; the HTML reads as before', async () => {
    const line = 'Jasmine Okafor (UPN A123456789012) has settled well in Year 5. Ça va très bien.\r\n';
    const letter = line.repeat(Math.ceil((PLAIN_BODY_BYTES + 5000) / line.length)) + 'a lone CR\rstays\r\n';
    const html = `<html><body>${letter.split('\r\n').map((l) => `<p class=MsoNormal>${l}</p>`).join('\r\n')}</body></html>`;
    const raw = multipart('alternative', part('text/plain; charset="utf-8"', libqp.wrap(libqp.encode(Buffer.from(letter)), 76), 'Content-Transfer-Encoding: quoted-printable\r\n'), part('text/html; charset="utf-8"', libqp.wrap(libqp.encode(Buffer.from(html)), 76), 'Content-Transfer-Encoding: quoted-printable\r\n'));
    const got = await texts(raw);
    expect(got.bytes).toBe(true);
    const want = await expected(raw);
    expect(String(got.body)).toBe(want.body);
    expect(String(got.body)).toContain('a lone CR\rstays\n');
    expect(String(got.body)).not.toContain('\r\n');
    expect(got.html).toBe(want.html);
    expect(String(got.html)).toContain('Jasmine Okafor (UPN A123456789012)');
  });

  it('every shape of text part gives mailparser’s text and HTML: small and large, CRLF and LF, invalid UTF-8, other charsets, flowed, empty, several, cut off', async () => {
    const large = (s: string) => s.repeat(Math.ceil((PLAIN_BODY_BYTES + 1000) / s.length));
    const shapes: Array<[string, Buffer]> = [
      ['small text with attachment', multipart('mixed', part('text/plain', 'Dear Mrs Okafor,\r\nJasmine\r\n'), part('text/csv; name="l.csv"', 'Name\r\n', 'Content-Disposition: attachment; filename="l.csv"\r\n'))],
      ['large text, bare LFs', multipart('mixed', part('text/plain; charset=utf-8', large('Tobias Lindqvist\nYear 4\n')))],
      ['large text, invalid UTF-8', multipart('mixed', part('text/plain; charset=utf-8', Buffer.concat([Buffer.from(large('Amelia Brown\r\n')), Buffer.from([0xe2, 0x28, 0xa1, 0x0d, 0x0a, 0xff])])))],
      ['large text, base64', multipart('mixed', part('text/plain; charset=utf-8', Buffer.from(large('Noah Évans, 12/03/2015\r\n')).toString('base64').replace(/.{76}/g, '$&\r\n'), 'Content-Transfer-Encoding: base64\r\n'))],
      ['large text in latin-1', multipart('mixed', part('text/plain; charset=iso-8859-1', Buffer.from(large('Zoë Müller\r\n'), 'latin1')))],
      ['large text in US-ASCII', multipart('mixed', part('text/plain; charset=us-ascii', large('Oliver Smith\r\n')))],
      ['format=flowed', multipart('mixed', part('text/plain; charset=utf-8; format=flowed', 'A line that \r\nflows on\r\n'))],
      ['an empty text part between two', multipart('mixed', part('text/plain', 'first\r\n'), part('text/plain', ''), part('text/plain', 'third'))],
      ['two text parts and an HTML one, mixed', multipart('mixed', part('text/plain', large('Ava Jones\r\n')), part('text/html', '<p>Ava &amp; Ben</p>'), part('text/plain', 'Ben Carter\r\n'))],
      ['an inline part with a file name', multipart('mixed', part('text/plain; name="notes.txt"', 'Harry Potter\r\n', 'Content-Disposition: inline; filename="notes.txt"\r\n'))],
      ['text as an attachment', multipart('mixed', part('text/plain', 'hello\r\n'), part('text/plain', 'Ron Weasley\r\n', 'Content-Disposition: attachment; filename="r.txt"\r\n'))],
      ['nested alternative in mixed', multipart('mixed', Buffer.from('--b\r\nContent-Type: multipart/alternative; boundary="c"\r\n\r\n--c\r\nContent-Type: text/plain\r\n\r\nplain Lily\r\n--c\r\nContent-Type: text/html\r\n\r\n<b>html Lily</b>\r\n--c--\r\n'))],
      ['cut off in the middle of a large text part', message(['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"'], Buffer.concat([part('text/plain', 'before\r\n'), Buffer.from('--b\r\nContent-Type: text/plain\r\n\r\n' + large('Isla Grant\r\n'))]))],
    ];
    for (const [name, raw] of shapes) {
      const got = await texts(raw);
      const want = await expected(raw);
      expect(got.body === undefined ? undefined : String(got.body), name).toBe(want.body);
      expect(got.html, name).toBe(want.html);
    }
  });

  it('a large attached CSV in UTF-8 is kept as its bytes, reading as the decoded file; one in another charset, with a BOM or in UTF-16 is decoded as before', async () => {
    const rows = 'Name,Date of birth,UPN,Needs\r\n' + 'Zoë Okafor,17/03/2014,A123456789012,asthma inhaler\r\n'.repeat(6000);
    const attach = (bytes: Buffer, type: string) =>
      multipart('mixed', part('text/plain', 'List attached.'), part(type, bytes.toString('base64').replace(/.{76}/g, '$&\r\n'), 'Content-Disposition: attachment; filename="list.csv"\r\nContent-Transfer-Encoding: base64\r\n'));
    const listOf = async (raw: Buffer) => (await inspect(raw)).texts.find((t) => t.where === 'attachment:list.csv');
    const utf8 = Buffer.from(rows);
    expect(utf8.length).toBeGreaterThan(256 * 1024);
    const kept = await listOf(attach(utf8, 'text/csv; charset=utf-8; name="list.csv"'));
    expect(kept?.utf8).toBeDefined();
    expect(kept?.text).toBe(decodeTextBytes(utf8, 'utf-8'));
    for (const [bytes, type] of [
      [Buffer.from(rows, 'latin1'), 'text/csv; charset=iso-8859-1; name="list.csv"'],
      [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8]), 'text/csv; name="list.csv"'],
      [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(rows, 'utf16le')]), 'text/csv; name="list.csv"'],
    ] as const) {
      const read = await listOf(attach(bytes, type));
      expect(read?.utf8, type).toBeUndefined();
      expect(read?.text, type).toBe(decodeTextBytes(bytes, type.includes('8859') ? 'iso-8859-1' : undefined));
      expect(read?.text).toContain('Zoë Okafor,17/03/2014');
    }
  });

  it('a large attached HTML file in UTF-8 is read a piece at a time and its text kept as its bytes, in a worker, inside a zip and at the main thread’s largest; one in another charset is read as before', async () => {
    const rowsOf = (n: number) => '<tr><td>Zoë Okafor</td><td>17/03/2014</td><td>A123456789012</td><td>asthma &amp; EpiPen</td></tr>\r\n'.repeat(n);
    const page = (rows: string) => `<html><head><style>td { color: red }</style></head><body><table>\r\n${rows}</table></body></html>\r\n`;
    const attach = (bytes: Buffer, type: string, name: string) =>
      multipart('mixed', part('text/plain', 'List attached.'), part(`${type}; name="${name}"`, bytes.toString('base64').replace(/.{76}/g, '$&\r\n'), `Content-Disposition: attachment; filename="${name}"\r\nContent-Transfer-Encoding: base64\r\n`));
    const read = async (raw: Buffer, where: string) => {
      const found = (await inspect(raw)).texts;
      const t = found.find((x) => x.where === where);
      expect(t, `${where} among ${found.map((x) => x.where).join(', ')}`).toBeDefined();
      return t!;
    };
    // In a worker: its text comes back as bytes, as htmlToText reads the decoded file.
    const large = Buffer.from(page(rowsOf(8000)));
    expect(large.length).toBeGreaterThan(600 * 1024);
    const inWorker = await read(attach(large, 'text/html; charset=utf-8', 'list.html'), 'attachment:list.html');
    expect(inWorker.utf8).toBeDefined();
    expect(String(inWorker.text)).toBe(htmlToText(large.toString('utf8'), 50_000_000).text);
    expect(String(inWorker.text)).toContain('Zoë Okafor\t17/03/2014\tA123456789012\tasthma & EpiPen');
    expect(String(inWorker.text)).not.toContain('color: red');
    // Read by a worker as an entry of a zip (the entry's layer comes back inside the zip's).
    const work = mkdtempSync(path.join(tmpdir(), 'hm-html-zip-'));
    try {
      writeFileSync(path.join(work, 'list.html'), large);
      execFileSync('zip', ['-q', '-X', '-j', path.join(work, 'lists.zip'), path.join(work, 'list.html')]);
      const zipped = await read(attach(readFileSync(path.join(work, 'lists.zip')), 'application/zip', 'lists.zip'), 'attachment:lists.zip/list.html');
      expect(zipped.utf8).toBeDefined();
      expect(String(zipped.text)).toBe(String(inWorker.text));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    // The largest file read on the main thread (256 KB exactly): the same text (shorter than its
    // HTML, so a string).
    let edge = page(rowsOf(2500));
    edge = edge.slice(0, 256 * 1024 - 20) + '</table></body>';
    edge += ' '.repeat(256 * 1024 - Buffer.byteLength(edge));
    expect(Buffer.byteLength(edge)).toBe(256 * 1024);
    const onMain = await read(attach(Buffer.from(edge), 'text/html; charset=utf-8', 'edge.html'), 'attachment:edge.html');
    expect(String(onMain.text)).toBe(htmlToText(edge, 50_000_000).text);
    expect(onMain.utf8).toBeUndefined();
    // In Windows-1252 (declared): decoded as before, a string.
    const latin = Buffer.from(page(rowsOf(8000)), 'latin1');
    const other = await read(attach(latin, 'text/html; charset=windows-1252', 'list.html'), 'attachment:list.html');
    expect(other.utf8).toBeUndefined();
    expect(other.text).toBe(htmlToText(decodeTextBytes(latin, 'windows-1252'), 50_000_000).text);
  });

  it("gives mailparser's text and HTML for every message of Debian's corpora", async () => {
    let seen = 0;
    let multipartText = 0;
    for (const file of corpusMessages()) {
      const raw = readFileSync(file);
      seen++;
      if (/content-type:\s*multipart\//i.test(raw.toString('latin1'))) multipartText++;
      const got = await texts(raw);
      const want = await expected(raw);
      expect(got.body === undefined ? undefined : String(got.body), file).toBe(want.body);
      expect(got.html, file).toBe(want.html);
    }
    expect(seen).toBeGreaterThan(200);
    expect(multipartText).toBeGreaterThan(100);
  });
});
