// The byte-level helpers inspection is built on: text decoding and sniffing, HTML and RTF to text,
// spreadsheet dates, Office RC4 keys, 7-Zip listing, and how containers combine encryption.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { combineEncryption } from '../src/inspect/analyse.ts';
import { rc4CryptoApiKey, rc4StandardKey } from '../src/inspect/legacy-office.ts';
import { excelSerialToDate, isDateFormatCode } from '../src/inspect/office-xml.ts';
import { parseSlt, safeFileName } from '../src/inspect/sevenzip.ts';
import { cmsContentType, quickSniff } from '../src/inspect/sniff.ts';
import { decodeTextBytes, htmlBytesToText, htmlToText, looksLikeText, rtfToText, sniffTextKind } from '../src/inspect/text.ts';
import { everyMailFile } from './corpus/debian.ts';
import type { AttachmentReport } from '../src/inspect/index.ts';
import { firstLocalHeaderEncryption } from '../src/inspect/zip.ts';
import { stretchLevels } from '../src/inspect/ocr.ts';

describe('text decoding and sniffing', () => {
  it('decodes UTF-8 (with or without BOM), falls back to Windows-1252 for invalid UTF-8', () => {
    expect(decodeTextBytes(Buffer.from('\ufeffZoë', 'utf8'))).toBe('Zoë');
    expect(decodeTextBytes(Buffer.from('Zoë', 'utf8'))).toBe('Zoë');
    expect(decodeTextBytes(iconv.encode('Zoë “quoted”', 'windows-1252'))).toBe('Zoë “quoted”');
    expect(decodeTextBytes(Buffer.from('Zoë Smith, Year 5', 'utf16le'))).toBe('Zoë Smith, Year 5');
  });

  it('tells text from binary', () => {
    expect(looksLikeText(Buffer.from('Name,Ref\r\nJo,1\r\n'))).toBe(true);
    expect(looksLikeText(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]))).toBe(false);
  });

  it('recognises CSV (comma or semicolon), TSV, HTML, RTF, e-mail and plain text from content, not names', () => {
    expect(sniffTextKind('Name,DOB,Ref\nJo,1/2/2010,A1\nAl,3/4/2011,A2\n', 'data.bin')).toBe('csv');
    expect(sniffTextKind('Name;DOB\nJo;1/2/2010\nAl;3/4/2011\n')).toBe('csv');
    expect(sniffTextKind('"Smith, Jo",12\n"Jones, Al",13\n')).toBe('csv');
    expect(sniffTextKind('Name\tDOB\nJo\t1/2/2010\n')).toBe('tsv');
    expect(sniffTextKind('  <!DOCTYPE html><html><body>x</body></html>')).toBe('html');
    expect(sniffTextKind('{\\rtf1\\ansi hello}')).toBe('rtf');
    expect(sniffTextKind('Received: from x\r\nFrom: a@b.example\r\nSubject: s\r\n\r\nbody')).toBe('eml');
    expect(sniffTextKind('Dear parent,\nThe trip is on Friday.\n')).toBe('txt');
    expect(sniffTextKind('From: someone\nSubject only\n')).toBe('txt');
  });

  it('routes files by magic numbers', () => {
    expect(quickSniff(Buffer.from('PK\x03\x04rest', 'latin1')).route).toBe('zip');
    expect(quickSniff(Buffer.from('junk%PDF-1.7', 'latin1')).route).toBe('pdf');
    expect(quickSniff(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])).route).toBe('cfb');
    expect(quickSniff(Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1'))).toMatchObject({ route: 'sevenzip', format: 'rar' });
    expect(quickSniff(Buffer.alloc(0)).route).toBe('empty');
  });

  it('knows a HEIF picture by its ftyp brands, and an MP4 video is not one', () => {
    const ftyp = (major: string, compatible: string[]) => {
      const box = Buffer.alloc(16 + 4 * compatible.length);
      box.writeUInt32BE(box.length);
      box.write(`ftyp${major}`, 4, 'latin1');
      compatible.forEach((c, i) => box.write(c, 16 + 4 * i, 'latin1'));
      return Buffer.concat([box, Buffer.alloc(64)]);
    };
    expect(quickSniff(ftyp('heic', ['mif1', 'heic']))).toMatchObject({ route: 'image', format: 'heic', mime: 'image/heic' });
    expect(quickSniff(ftyp('avif', ['mif1']))).toMatchObject({ route: 'image', format: 'heic' });
    expect(quickSniff(ftyp('miaf', ['mif1', 'miaf']))).toMatchObject({ route: 'image', format: 'heic' });
    expect(quickSniff(ftyp('isom', ['isom', 'iso2', 'mp41'])).route).not.toBe('image');
    expect(quickSniff(ftyp('qt  ', ['qt  '])).route).not.toBe('image');
  });

  it('reads the CMS content type of S/MIME parts', () => {
    const oid = (last: number): Buffer => Buffer.from([0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, last, 0xa0, 0x80, 0, 0, 0]);
    expect(cmsContentType(oid(3))).toBe('enveloped');
    expect(cmsContentType(oid(2))).toBe('signed');
    expect(cmsContentType(Buffer.from('not der at all..'))).toBeUndefined();
  });
});

describe('HTML to text', () => {
  it('keeps text, alt and title, decodes entities, drops script and style, breaks blocks', () => {
    const { text } = htmlToText('<div>Dear&nbsp;parent</div><script>var x = "secret";</script><style>.a{}</style><p>Jo &amp; Al</p><img alt="photo of Jo"><table><tr><td>A</td><td>B</td></tr></table>', 1000);
    expect(text).toContain('Dear parent\nJo & Al');
    expect(text).toContain('photo of Jo');
    expect(text).toContain('A\tB\t');
    expect(text).not.toContain('secret');
    expect(text).not.toContain('.a{}');
  });

  it('200,000 nested elements do not overflow the stack (the tokenizer is linear)', () => {
    const deep = '<div>'.repeat(200_000) + 'needle' + '</div>'.repeat(200_000);
    expect(htmlToText(deep, 1000).text.trim()).toBe('needle');
  });

  it('stops at the character cap and says so', () => {
    const r = htmlToText('<p>' + 'x'.repeat(5000) + '</p>', 100);
    expect(r.text.length).toBe(100);
    expect(r.truncated).toBe(true);
  });

  // A large HTML body is read from its bytes a piece at a time (htmlBytesToText): whatever falls
  // across a piece's edge (an entity, a tag, a comment, a script's end, a character of 2-4 bytes),
  // the text must be the one read from the whole string.
  const sameAsWhole = (html: string, pieceBytes: number, maxChars = 1e9): void => {
    const whole = htmlToText(html, maxChars);
    const pieces = htmlBytesToText(Buffer.from(html), maxChars, pieceBytes);
    expect({ text: pieces.text.toString(), truncated: pieces.truncated }, `pieces of ${pieceBytes}: ${JSON.stringify(html.slice(0, 200))}`).toEqual(whole);
  };

  it('reads an HTML body from its bytes in pieces exactly as from the whole string: hand-made edges', () => {
    const tricky = [
      '<p>Tom &amp; Jerry &nbsp; caf&eacute; &#x1F600; &#128512; &notanentity; &amp</p><script>var a = "</p>";</script><style>p{}</style>after',
      '<!--[if mso]><p>Outlook only: Tyler Brennan</p><![endif]--><div title="Amelia Hughes" alt=x>Body ✓ 😀 日本語</div><input type=hidden value=secret><input value=shown type=text>',
      '<table><tr><td>a</td><td>b</td></tr></table><br><hr><![CDATA[ cdata text ]]><?pi x?><!DOCTYPE html><!-- plain comment -->',
      '<p>unterminated <b attr="x &lt; y',
      '<P CLASS=MsoNormal>Ünïcödé ﬁ 𝔘 <SPAN STYLE="x">mixed</SPAN></P><TEXTAREA>raw &amp; <b>text</b></TEXTAREA><title>T &amp; T</title>',
      // Cut off inside a tag: the tokenizer asks for text from position -1 (the string's last character).
      '<p>Dear parent,</p><p>Amelia Hughes asthma</p><br /',
      '<p>Dear parent,</p></html ',
      '<p>Dear parent,</p></p',
      '<p>Dear parent,</p><!-- unterminated',
      '<p>Dear parent, &am',
    ];
    for (const html of tricky) for (let piece = 1; piece <= Buffer.byteLength(html) + 1; piece++) sameAsWhole(html, piece);
  });

  it('reads an HTML body from its bytes in pieces exactly as from the whole string: random documents and Debian\'s mail', () => {
    const tokens = ['<', '>', '/', '&', 'amp;', '&#x', '41;', '&#', '128512;', '&nbsp;', '<!--', '-->', '<!--[if mso]>', '<![endif]-->', '<script>', '</script>', '<style>', '</style>',
      '<![CDATA[', ']]>', '<p>', '</p>', '<td>', '<br>', '<input type=hidden value=', '<img alt="', '"', "'", '=', ' ', '\n', 'a', 'Brennan', 'é', '😀', '日', 'ﬁ', '<textarea>', '</textarea>'];
    let seed = 20261207;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let doc = 0; doc < 3000; doc++) {
      let html = '';
      for (let k = random(120); k > 0; k--) html += tokens[random(tokens.length)];
      sameAsWhole(html, 1 + random(40));
      sameAsWhole(html, 1 + random(40), 1 + random(200));
    }
    const { files } = everyMailFile();
    expect(files.length).toBeGreaterThan(200);
    for (const file of files) {
      // Each message's bytes read as HTML: tags, entities and text of every shape mail has.
      const html = readFileSync(file).toString('utf8');
      for (const piece of [7, 1000, 64 * 1024]) sameAsWhole(html, piece);
    }
  });

  it('reads a large body cut off inside a closing tag as the whole string reads it (not every piece again)', () => {
    const html = '<p>' + 'Dear parent, '.repeat(30_000) + '</p><p>Amelia Hughes asthma</p><br /';
    const { text } = htmlBytesToText(Buffer.from(html), 1e9);
    expect(text.toString()).toBe(htmlToText(html, 1e9).text);
    expect(text.toString().endsWith('asthma\n\n/')).toBe(true);
  });

  it('gives a large text back as its UTF-8 bytes, a small or cut-short one as the string', () => {
    const para = '<p>Dear parent, Jo &amp; Al did well this term ✓.</p>';
    const large = htmlBytesToText(Buffer.from(para.repeat(10_000)), 1e9);
    expect(Buffer.isBuffer(large.text)).toBe(true);
    expect(large.text.toString()).toBe(htmlToText(para.repeat(10_000), 1e9).text);
    expect(typeof htmlBytesToText(Buffer.from(para.repeat(10)), 1e9).text).toBe('string');
    // Entities whose text is longer than they are (&nGt; is 5 bytes, its two characters 6): the bytes outgrow the room first set aside.
    const longer = '<p>' + '&nGt;'.repeat(150_000) + '</p>';
    const grown = htmlBytesToText(Buffer.from(longer), 1e9);
    expect(Buffer.isBuffer(grown.text)).toBe(true);
    expect(grown.text.length).toBeGreaterThan(Buffer.byteLength(longer) + 64 * 1024);
    expect(grown.text.toString()).toBe(htmlToText(longer, 1e9).text);
    const cut = htmlBytesToText(Buffer.from(para.repeat(10_000)), 300_000);
    expect(cut.truncated).toBe(true);
    expect(cut.text).toBe(htmlToText(para.repeat(10_000), 300_000).text);
  });
});

describe('RTF to text', () => {
  it('decodes \\u and \\\'hh escapes, skips font tables, pictures and optional destinations', () => {
    const rtf = Buffer.from(
      "{\\rtf1\\ansi\\ansicpg1252{\\fonttbl{\\f0 Arial;}}{\\*\\generator Hidden;}{\\pict 89504e47}\\uc1 Zo\\u235?e D\\'e9sir\\'e9e\\par Year\\tab 5\\par{\\field{\\*\\fldinst HYPERLINK x}{\\fldrslt link}}}",
      'latin1',
    );
    const { text } = rtfToText(rtf, 1000);
    expect(text).toContain('Zoëe Désirée\nYear\t5\n');
    expect(text).toContain('link');
    expect(text).not.toContain('Arial');
    expect(text).not.toContain('Hidden');
    expect(text).not.toContain('89504e47');
    expect(text).not.toContain('HYPERLINK');
  });
});

describe('spreadsheet dates', () => {
  it('recognises date number formats', () => {
    expect(isDateFormatCode('dd/mm/yyyy')).toBe(true);
    expect(isDateFormatCode('[$-809]dd mmmm yyyy')).toBe(true);
    expect(isDateFormatCode('0.00')).toBe(false);
    expect(isDateFormatCode('"day "0')).toBe(false);
    expect(isDateFormatCode('#,##0')).toBe(false);
  });

  it('turns Excel serials into UK dates, including the 1900 leap-year quirk and the 1904 system', () => {
    expect(excelSerialToDate(41715)).toBe('17/03/2014');
    expect(excelSerialToDate(59)).toBe('28/02/1900');
    expect(excelSerialToDate(61)).toBe('01/03/1900');
    expect(excelSerialToDate(40253, true)).toBe('17/03/2014');
    expect(excelSerialToDate(-5)).toBeUndefined();
  });
});

describe('Office RC4 keys (checked against msoffcrypto-tool)', () => {
  const salt = Buffer.from('e8772c1d91c56a37964761b280183217', 'hex');
  it('RC4 (version 1.1) block keys', () => {
    // The value msoffcrypto-tool's own documentation gives for password1 and this salt.
    expect(rc4StandardKey('password1', salt)(0).toString('hex')).toBe('20bf32ddf540858c513744af0f24e03c');
  });
  it('RC4 CryptoAPI block keys, 128-bit and 40-bit (padded)', () => {
    expect(rc4CryptoApiKey('password1', salt, 128)(0).toString('hex')).toBe('0bbfe179dab7da57a55ffda55f3c2cfc');
    expect(rc4CryptoApiKey('password1', salt, 40)(3).toString('hex')).toBe('1c492ea95f0000000000000000000000');
  });
});

describe('archives', () => {
  it("parses 7-Zip's technical listing", () => {
    const out = ['7-Zip [64] 26.02', '', 'Listing archive: a.7z', '', '--', 'Path = a.7z', 'Type = 7z', '', '----------', 'Path = dir', 'Folder = +', 'Size = 0', '', 'Path = dir/list.csv', 'Folder = -', 'Size = 105', 'Packed Size = 96', 'Encrypted = +', 'Method = LZMA2:12 7zAES:19', ''].join('\n');
    const r = parseSlt(out);
    expect(r.type).toBe('7z');
    expect(r.entries).toEqual([
      { path: 'dir', size: 0, packedSize: 0, encrypted: false, isDirectory: true, method: '' },
      { path: 'dir/list.csv', size: 105, packedSize: 96, encrypted: true, isDirectory: false, method: 'LZMA2:12 7zAES:19' },
    ]);
  });

  it('makes safe temp file names from hostile ones', () => {
    expect(safeFileName('../../etc/passwd')).toBe('passwd');
    expect(safeFileName('-rf pack.tar.gz')).toBe('rf_pack.tar.gz');
    expect(safeFileName('....')).toBe('archive');
  });

  it('reads encryption from the first local header when the central directory cannot be read', () => {
    const header = (flag: number, method: number): Buffer => {
      const b = Buffer.alloc(30);
      b.writeUInt32LE(0x04034b50, 0);
      b.writeUInt16LE(flag, 6);
      b.writeUInt16LE(method, 8);
      return b;
    };
    expect(firstLocalHeaderEncryption(header(0x2001, 8))).toBe('zip-encrypted-directory');
    expect(firstLocalHeaderEncryption(header(0x0001, 99))).toBe('winzip-aes');
    expect(firstLocalHeaderEncryption(header(0x0001, 8))).toBe('zipcrypto');
    expect(firstLocalHeaderEncryption(header(0x0000, 8))).toBeUndefined();
  });

  it('combines entry encryption into the container verdict', () => {
    const e = (encryption: AttachmentReport['encryption']): AttachmentReport => ({ where: 'x', filename: 'x', size: 1, declaredType: '', realType: '', encryption, isImage: false, isMessage: false });
    expect(combineEncryption('not-encrypted', [e('encrypted'), e('encrypted')], false)).toBe('encrypted');
    expect(combineEncryption('not-encrypted', [e('encrypted'), e('encrypted')], true)).toBe('partly-encrypted');
    expect(combineEncryption('not-encrypted', [e('encrypted'), e('not-encrypted')], false)).toBe('partly-encrypted');
    expect(combineEncryption('not-encrypted', [e('partly-encrypted')], false)).toBe('partly-encrypted');
    expect(combineEncryption('not-encrypted', [e('unknown'), e('not-encrypted')], false)).toBe('unknown');
    expect(combineEncryption('not-encrypted', [e('not-encrypted')], false)).toBe('not-encrypted');
    expect(combineEncryption('encrypted', [], false)).toBe('encrypted');
  });
});

describe('a photograph made ready for Tesseract', () => {
  it('has its grey levels stretched: the darkest 1% black, the lightest 1% white, the rest in between in order', () => {
    // A dim page: ink around 10, paper around 90 (a third of full light), a few outliers.
    const pixels = new Uint8Array(10_000);
    for (let i = 0; i < pixels.length; i++) pixels[i] = i % 10 === 0 ? 8 + (i % 7) : 85 + (i % 11);
    pixels[0] = 0;
    pixels[1] = 255;
    stretchLevels(pixels);
    const counts = (test: (v: number) => boolean) => pixels.filter(test).length;
    expect(counts((v) => v === 0)).toBeGreaterThanOrEqual(100);
    expect(counts((v) => v === 255)).toBeGreaterThanOrEqual(100);
    expect(counts((v) => v > 200)).toBeGreaterThan(8000); // the paper is white now
    expect(counts((v) => v < 60)).toBeGreaterThanOrEqual(1000); // and the ink still dark
    const flat = new Uint8Array(100).fill(77);
    stretchLevels(flat);
    expect([...new Set(flat)]).toEqual([77]); // one grey level: left alone
  });
});
