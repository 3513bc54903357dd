// Hostile input: every case must end as an explicit uninspectable finding, within the limits,
// without crashing and with the gateway process's memory bounded (the PDF reader is a separate,
// memory-limited process; extraction workers are heap-limited threads).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import CFB from 'cfb';
import { inspect, shutdownInspection } from '../src/inspect/index.ts';
import { toolHelper } from '../src/inspect/tool-runner.ts';
import type { Inspection } from '../src/inspect/index.ts';
import { inspectFixtures, mailWithAttachment, PUPIL_NAME, writePdfPython } from './helpers/fixtures-tools.ts';
import type { InspectFixtures } from './helpers/fixtures-tools.ts';

let fx: InspectFixtures;
let baseline = 0;
let peak = 0;
let sampler: NodeJS.Timeout;

beforeAll(() => {
  fx = inspectFixtures();
  baseline = process.memoryUsage().rss;
  sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
}, 600_000);

afterAll(async () => {
  clearInterval(sampler);
  await shutdownInspection();
});

const reasons = (r: Inspection): string[] => r.uninspectable.map((u) => u.reason);

function header(extra: string[] = []): string[] {
  return ['From: Office <office@school.example>', 'To: Parent <parent@home.example>', 'Subject: Hostile', 'MIME-Version: 1.0', ...extra];
}

describe('zips that say encrypted where the file is not (a review delivered both)', () => {
  /** A zip made by the zip tool from these files (in order), each encrypted or not. */
  function zipOf(files: Array<{ name: string; text: string; password?: string }>): Buffer {
    const work = mkdtempSync(join(tmpdir(), 'hm-zip-lie-'));
    try {
      for (const f of files) {
        writeFileSync(join(work, f.name), f.text);
        execFileSync('zip', ['-q', '-X', ...(f.password ? ['-P', f.password] : []), 'out.zip', f.name], { cwd: work });
      }
      return readFileSync(join(work, 'out.zip'));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  // Long enough to be deflated (a stored file's sizes give the lie away to the zip library).
  const list = `Name,DOB\n${`${PUPIL_NAME},14/03/2015\n`.repeat(60)}`;

  it('its list of files says encrypted, the file\'s own header not (unzip reads it without a password): not read, held, never encrypted', async () => {
    const zip = zipOf([{ name: 'register.csv', text: list }]);
    const cd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip[cd + 8] |= 0x01; // the central directory's general-purpose flag: "encrypted"
    const r = await inspect(mailWithAttachment('register.zip', zip, 'application/zip'));
    const a = r.attachments[0];
    expect(a.encryption).not.toBe('encrypted');
    expect(a.entries?.[0].encryption).not.toBe('encrypted');
    expect(reasons(r).join('\n')).toMatch(/says it is encrypted, but the file itself is not/);
  });

  it('a SecureZIP-style zip (PKWARE strong encryption, every file and header saying so), which the zip library refuses: still encrypted', async () => {
    const zip = zipOf([{ name: 'a.csv', text: list, password: 'Falcon2291' }, { name: 'b.csv', text: list, password: 'Falcon2291' }]);
    for (const sig of [[0x50, 0x4b, 0x03, 0x04, 6], [0x50, 0x4b, 0x01, 0x02, 8]] as const) {
      for (let at = zip.indexOf(Buffer.from(sig.slice(0, 4))); at >= 0; at = zip.indexOf(Buffer.from(sig.slice(0, 4)), at + 1)) zip[at + sig[4]] |= 0x40;
    }
    const r = await inspect(mailWithAttachment('register.zip', zip, 'application/zip'));
    expect(r.attachments[0]).toMatchObject({ encryption: 'encrypted', encryptionDetail: 'pkware-strong' });
    expect(r.uninspectable).toEqual([]);
  });

  it('a zip no reader here can list, whose first file is encrypted: unknown and held, not encrypted', async () => {
    // The second file's name made "../register.csv" after zipping: the zip library refuses the
    // archive, and only the first file's header was looked at. unzip extracts the list.
    const zip = zipOf([{ name: 'readme.txt', text: 'hello', password: 'Falcon2291' }, { name: 'xxregister.csv', text: list }]);
    for (let at = zip.indexOf('xxregister.csv'); at >= 0; at = zip.indexOf('xxregister.csv', at + 1)) zip.write('../', at, 'latin1');
    const r = await inspect(mailWithAttachment('register.zip', zip, 'application/zip'));
    expect(r.attachments[0].encryption).toBe('unknown');
    expect(reasons(r).join('\n')).toMatch(/damaged/);
  });
});

describe('a picture with a zip joined to its end (a review delivered one)', () => {
  it('is held as not read; a photo alone is not', async () => {
    const work = mkdtempSync(join(tmpdir(), 'hm-polyglot-'));
    try {
      const ppm = Buffer.concat([Buffer.from('P6\n64 64\n255\n'), Buffer.alloc(64 * 64 * 3, 0x9c)]);
      writeFileSync(join(work, 'pic.jpg'), execFileSync('cjpeg', [], { input: ppm }));
      writeFileSync(join(work, 'register.csv'), `Name,DOB\n${PUPIL_NAME},14/03/2015\n`);
      execFileSync('zip', ['-q', '-X', '-j', join(work, 'list.zip'), join(work, 'register.csv')]);
      const picture = readFileSync(join(work, 'pic.jpg'));
      writeFileSync(join(work, 'joined.jpg'), Buffer.concat([picture, readFileSync(join(work, 'list.zip'))]));
      execFileSync('zip', ['-q', '-A', join(work, 'joined.jpg')]); // offsets fixed, as the review did: unzip extracts it
      const joined = await inspect(mailWithAttachment('register.jpg', readFileSync(join(work, 'joined.jpg')), 'image/jpeg'));
      expect(reasons(joined).join('\n')).toMatch(/picture with a zip archive joined to its end/);
      const alone = await inspect(mailWithAttachment('photo.jpg', picture, 'image/jpeg'));
      expect(alone.uninspectable).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('an HTML file that draws its table from a script (a review delivered one)', () => {
  it('is read with its script, as a browser opening it shows the data; a mail body\'s script stays unread', async () => {
    const page = `<html><head><style>td{color:red}</style></head><body><h1>Class 5S</h1><table id="t"></table><script>const pupils = [{"name":"${PUPIL_NAME}","dob":"14/03/2015"}]; for (const p of pupils) t.insertRow().insertCell().textContent = p.name;</script></body></html>`;
    const file = await inspect(mailWithAttachment('register.html', Buffer.from(page), 'text/html'));
    const text = String(file.texts.find((t) => t.where === 'attachment:register.html')?.text);
    expect(text).toContain(PUPIL_NAME);
    expect(text).not.toContain('color:red');
    // Only its strings: its code's numbers (a 32-bit range check fits a ULN's and an NHS number's
    // check digits) would hold every saved web page sent outside.
    const code = await inspect(mailWithAttachment('fair.html', Buffer.from('<html><body><p>Every pupil is invited to the summer fair.</p><script>function f(t){if(t>2147483647||t<-2147483648)throw 1; return "Saturday, don\'t be late"} // it\'s fine\nvar at = 1733500000;</script></body></html>'), 'text/html'));
    const fair = String(code.texts.find((t) => t.where === 'attachment:fair.html')?.text);
    expect(fair).toContain("Saturday, don't be late");
    expect(fair).not.toMatch(/2147483647|2147483648|1733500000/);
    // Big enough for a worker, read a piece at a time: the same.
    const big = page.replace('<h1>', `<p>${'Notes for the term. '.repeat(20_000)}</p><h1>`);
    const inWorker = await inspect(mailWithAttachment('register.html', Buffer.from(big), 'text/html'));
    expect(String(inWorker.texts.find((t) => t.where === 'attachment:register.html')?.text)).toContain(PUPIL_NAME);
    const body = await inspect(Buffer.from([...header(['Content-Type: text/html; charset=utf-8']), '', page, ''].join('\r\n')));
    expect(body.texts.map((t) => String(t.text)).join('\n')).not.toContain(PUPIL_NAME);
  });
});

describe('an OpenDocument file whose manifest marks only a thumbnail encrypted (a review delivered one)', () => {
  it('is read, not called encrypted; a document saved with a password still is', async () => {
    const work = mkdtempSync(join(tmpdir(), 'hm-odf-'));
    try {
      writeFileSync(join(work, 'doc.odt'), fx.read('doc.odt'));
      // The manifest's thumbnail entry gains encryption data; content.xml stays plain.
      const script = [
        'import sys, zipfile',
        'src, out = sys.argv[1], sys.argv[2]',
        'zin = zipfile.ZipFile(src)',
        'zout = zipfile.ZipFile(out, "w")',
        'for item in zin.infolist():',
        '    data = zin.read(item.filename)',
        '    if item.filename == "META-INF/manifest.xml":',
        '        text = data.decode()',
        '        entry = \'manifest:full-path="Thumbnails/thumbnail.png"\'',
        '        at = text.index(entry)',
        '        end = text.index("/>", at)',
        '        text = text[:end] + \'><manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="AAAA"/></manifest:file-entry>\' + text[end + 2:]',
        '        data = text.encode()',
        '    zout.writestr(item, data)',
        'zout.close()',
      ].join('\n');
      writeFileSync(join(work, 'edit.py'), script);
      execFileSync('python3', [join(work, 'edit.py'), join(work, 'doc.odt'), join(work, 'marked.odt')]);
      const r = await inspect(mailWithAttachment('register.odt', readFileSync(join(work, 'marked.odt'))));
      expect(r.attachments[0].encryption).toBe('not-encrypted');
      expect(r.texts.find((t) => t.where === 'attachment:register.odt')?.text).toContain(PUPIL_NAME);
      const sealed = await inspect(mailWithAttachment('register.odt', fx.read('encrypted.odt')));
      expect(sealed.attachments[0]).toMatchObject({ encryption: 'encrypted', encryptionDetail: 'odf' });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('a charset label that does not fit the bytes', () => {
  it('a plain CSV declared UTF-16 is read as the bytes it is (the label would make it CJK characters), a real UTF-16 one as UTF-16', async () => {
    const csv = `Name,DOB\r\n${PUPIL_NAME},14/03/2015\r\n`;
    const wrong = await inspect(mailWithAttachment('register.csv', Buffer.from(csv), 'text/csv; charset=utf-16le'));
    expect(wrong.texts.find((t) => t.where === 'attachment:register.csv')?.text).toContain(PUPIL_NAME);
    const right = await inspect(mailWithAttachment('register.csv', Buffer.from(csv, 'utf16le'), 'text/csv; charset=utf-16le'));
    expect(right.texts.find((t) => t.where === 'attachment:register.csv')?.text).toContain(PUPIL_NAME);
  });
});

describe('zip bombs and lying archives', () => {
  it('a gzip whose trailer understates its size is stopped at the cap for one file: uninspectable', async () => {
    // gzip's last four bytes give the unpacked size, and 7-Zip lists what they say: 1,000 bytes
    // here, where 2 MB come out. Its output past the cap is not read (and the helper's ulimit -f
    // stops it there: test/tool-runner.test.ts).
    const honest = gzipSync(Buffer.alloc(2 * 1024 * 1024, 'Amelia Thornbury 12/03/2015\n'));
    const lying = Buffer.from(honest);
    lying.writeUInt32LE(1_000, lying.length - 4);
    const r = await inspect(mailWithAttachment('register.gz', lying), { maxAttachmentBytes: 100_000 });
    expect(r.uninspectable).toContainEqual({ where: 'attachment:register.gz/register', reason: expect.stringContaining('larger than the size limit for one file') });
    expect(r.texts.some((t) => t.text.includes('Amelia'))).toBe(false);
    // Read by the tools' helper, whose folder keeps nothing afterwards (the archive was in it).
    const { pid, dir } = toolHelper();
    expect(pid).toBeGreaterThan(0);
    expect(readdirSync(dir!)).toEqual([]);
  });

  it('a tar entry whose name 7-Zip lists differently from how it is stored is not read as an empty file: uninspectable', async () => {
    // A newline in a name is listed as _, a Latin-1 byte as U+FFFD; asked for the listed name,
    // 7-Zip extracts nothing and exits 0.
    const dir = mkdtempSync(join(tmpdir(), 'hm-tar-'));
    try {
      for (const name of [Buffer.from('register\n.csv'), Buffer.from('caf\xe9 list.csv', 'latin1')]) {
        const work = join(dir, 'work');
        rmSync(work, { recursive: true, force: true });
        mkdirSync(work);
        // The name as bytes (a string path would be written as UTF-8).
        writeFileSync(Buffer.concat([Buffer.from(`${work}/`), name]), 'Amelia Thornbury,12/03/2015,asthma\n');
        const tar = join(dir, 'list.tar');
        rmSync(tar, { force: true });
        execFileSync('tar', ['cf', tar, '-C', work, '.'], { env: { ...process.env, LC_ALL: 'C' } });
        const r = await inspect(mailWithAttachment('list.tar', readFileSync(tar)));
        expect(r.texts.some((t) => t.text.includes('Amelia'))).toBe(false);
        expect(reasons(r)).toContainEqual(expect.stringContaining('could not be extracted from the archive'));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a zip bomb (one entry, ratio near 1000:1) is not inflated: uninspectable', async () => {
    const r = await inspect(mailWithAttachment('bomb.zip', fx.read('bomb.zip')));
    expect(r.uninspectable).toContainEqual({ where: 'attachment:bomb.zip/zeros300', reason: expect.stringContaining('possible zip bomb') });
    expect(r.attachments[0].encryption).toBe('unknown');
  });

  it('a nested zip bomb (16^5 zips of 10 MB) stops at the limits: uninspectable', async () => {
    const r = await inspect(mailWithAttachment('nested-bomb.zip', fx.read('nested-bomb.zip')), { maxParts: 2_000 });
    expect(r.uninspectable.length).toBeGreaterThan(0);
    expect(reasons(r).some((x) => x.includes('more files than the inspection limit'))).toBe(true);
    expect(reasons(r).some((x) => x.includes('possible zip bomb'))).toBe(true);
    // Findings are listed up to a cap and then summarised, not one per leaf.
    expect(r.uninspectable.length).toBeLessThanOrEqual(101);
  });

  it('zips nested deeper than maxDepth: uninspectable at the limit', async () => {
    const r = await inspect(mailWithAttachment('deep.zip', fx.read('deep.zip')));
    expect(reasons(r)).toContain('It is nested more than 17 levels deep, so it was not read');
    expect(r.texts.some((t) => t.text.includes(PUPIL_NAME))).toBe(false);
  });

  it('a zip whose declared sizes lie is caught, not silently cut', async () => {
    const r = await inspect(mailWithAttachment('lie.zip', fx.read('lie.zip')));
    expect(r.uninspectable).toEqual([{ where: 'attachment:lie.zip/zeros.bin', reason: "The archive's recorded sizes do not match its contents (a damaged or malicious archive)" }]);
    expect(r.attachments[0].encryption).toBe('unknown');
  });

  it('the total decompressed budget is enforced across entries', async () => {
    const r = await inspect(mailWithAttachment('plain.zip', fx.read('plain.zip')), { maxTotalBytes: 5_000 });
    expect(reasons(r).some((x) => x.includes('more data than the inspection limit'))).toBe(true);
  });

  it('an attachment over maxAttachmentBytes is not read: uninspectable', async () => {
    const r = await inspect(mailWithAttachment('doc.docx', fx.read('doc.docx')), { maxAttachmentBytes: 1_000 });
    expect(r.uninspectable).toEqual([{ where: 'attachment:doc.docx', reason: expect.stringContaining('limit for one attachment') }]);
    expect(r.attachments[0].encryption).toBe('unknown');
  });
});

describe('Office files and archives that hide their text', () => {
  /** Rewrites a zip with Python's zipfile: `script` gets zin (the original) and zout, and may add or rename entries. */
  function rezip(from: Buffer, script: string): Buffer {
    const dir = mkdtempSync(join(tmpdir(), 'hm-rezip-'));
    try {
      writeFileSync(join(dir, 'in.zip'), from);
      const body = ['import zipfile, warnings', 'warnings.simplefilter("ignore")', 'zin = zipfile.ZipFile("in.zip")', 'zout = zipfile.ZipFile("out.zip", "w", zipfile.ZIP_DEFLATED)', ...script.split('\n'), 'zout.close()'];
      execFileSync('/usr/bin/python3', ['-c', body.join('\n')], { cwd: dir });
      return readFileSync(join(dir, 'out.zip'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const copyAll = (rename = 'lambda n: n') => `rn = ${rename}\nfor i in zin.infolist(): zout.writestr(rn(i.filename), zin.read(i.filename))`;
  const texts = (r: Inspection) => r.texts.map((t) => String(t.text)).join('\n');

  it('a zip entry named like a folder but holding bytes is read as a file', async () => {
    const zip = rezip(fx.read('plain.zip'), 'zout.writestr("register.csv/", "Jasmine Okafor,12/03/2015,asthma\\n")');
    const r = await inspect(mailWithAttachment('lists.zip', zip));
    expect(texts(r)).toContain(PUPIL_NAME);
    expect(r.texts.find((t) => t.where === 'attachment:lists.zip/register.csv/')?.text).toContain('asthma');
  });

  it('an xlsx whose worksheet part is not called sheetN.xml is read', async () => {
    const xlsx = rezip(fx.read('sheet.xlsx'), copyAll('lambda n: n.replace("worksheets/sheet1.xml", "worksheets/data.xml")'));
    const r = await inspect(mailWithAttachment('register.xlsx', xlsx));
    expect(texts(r)).toContain(PUPIL_NAME);
  });

  it('an xlsx whose cells point at shared strings kept under another name is held as unread', async () => {
    const xlsx = rezip(fx.read('sheet.xlsx'), copyAll('lambda n: n.replace("sharedStrings.xml", "strings.xml")'));
    const r = await inspect(mailWithAttachment('register.xlsx', xlsx));
    expect(r.uninspectable).toContainEqual({ where: 'attachment:register.xlsx', reason: expect.stringContaining('damaged') });
    // The strings themselves are still read, as one of the workbook's other parts.
    expect(texts(r)).toContain(PUPIL_NAME);
  });

  it('shared strings dropped at the text cap make the text count as cut short', async () => {
    // Twenty long strings no cell shows come first, so the ones the cells show fall past the cap.
    const script = String.raw`import re
for i in zin.infolist():
    d = zin.read(i.filename)
    if i.filename == "xl/sharedStrings.xml":
        d = re.sub(rb"(<sst[^>]*>)", lambda m: m.group(1) + (b"<si><t>" + b"y" * 100 + b"</t></si>") * 20, d, count=1)
    if i.filename.startswith("xl/worksheets/sheet"):
        d = re.sub(rb'(<c [^>]*t="s"[^>]*><v>)(\d+)(</v>)', lambda m: m.group(1) + str(int(m.group(2)) + 20).encode() + m.group(3), d)
    zout.writestr(i.filename, d)`;
    const xlsx = rezip(fx.read('sheet.xlsx'), script);
    const r = await inspect(mailWithAttachment('register.xlsx', xlsx), { maxTextChars: 1_000 });
    expect(texts(r)).not.toContain(PUPIL_NAME);
    expect(r.uninspectable).toContainEqual({ where: 'attachment:register.xlsx', reason: expect.stringContaining('longer than the inspection limit') });
    // The same workbook within the cap is read whole.
    expect(texts(await inspect(mailWithAttachment('register.xlsx', xlsx)))).toContain(PUPIL_NAME);
  });

  it('text an Office file keeps outside its usual parts is read: a slipped-in CSV, building blocks, a pivot cache, an Excel text box', async () => {
    const add = (name: string, body: string) => `${copyAll()}\nzout.writestr("${name}", ${JSON.stringify(body)})`;
    const cases: Array<[string, Buffer]> = [
      ['letter.docx', rezip(fx.read('doc.docx'), add('word/pupils.csv', 'Priya Shah,12/03/2015,asthma\n'))],
      ['letter.docx', rezip(fx.read('doc.docx'), add('word/glossary/document.xml', '<w:glossaryDocument xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:docParts><w:docPart><w:docPartBody><w:p><w:r><w:t>Priya </w:t></w:r><w:r><w:t>Shah</w:t></w:r></w:p></w:docPartBody></w:docPart></w:docParts></w:glossaryDocument>'))],
      ['register.xlsx', rezip(fx.read('sheet.xlsx'), add('xl/pivotCache/pivotCacheDefinition1.xml', '<pivotCacheDefinition xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cacheFields count="1"><cacheField name="Pupil"><sharedItems><s v="Priya Shah"/></sharedItems></cacheField></cacheFields></pivotCacheDefinition>'))],
      // A shared string no cell shows (a deleted cell's, kept by the tool that wrote the workbook).
      ['register.xlsx', rezip(fx.read('sheet.xlsx'), String.raw`for i in zin.infolist():
    d = zin.read(i.filename)
    if i.filename == "xl/sharedStrings.xml":
        d = d.replace(b"</sst>", b"<si><t>Priya Shah, 12/03/2015, asthma</t></si></sst>")
    zout.writestr(i.filename, d)`)],
      // A picture's alternative text in a letter.
      ['letter.docx', rezip(fx.read('doc.docx'), String.raw`for i in zin.infolist():
    d = zin.read(i.filename)
    if i.filename == "word/document.xml":
        d = d.replace(b"</w:body>", b'<w:p><w:r><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"><wp:docPr id="9" name="Picture 9" descr="Priya Shah in the sensory room"/></wp:inline></w:drawing></w:r></w:p></w:body>', 1)
    zout.writestr(i.filename, d)`)],
      ['register.xlsx', rezip(fx.read('sheet.xlsx'), add('xl/drawings/drawing1.xml', '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:sp><xdr:txBody><a:p><a:r><a:t>Priya Shah has a nut allergy</a:t></a:r></a:p></xdr:txBody></xdr:sp></xdr:wsDr>'))],
    ];
    // An OpenDocument spreadsheet's page header (a title typed there prints on every page) and a
    // document's written properties.
    const odf = (part: string, from: string, to: string) => String.raw`for i in zin.infolist():
    d = zin.read(i.filename)
    if i.filename == "${part}":
        assert ${JSON.stringify(from)}.encode() in d
        d = d.replace(${JSON.stringify(from)}.encode(), ${JSON.stringify(to)}.encode(), 1)
    zout.writestr(i, d)`;
    cases.push(['register.ods', rezip(fx.read('sheet.ods'), odf('styles.xml', '<text:sheet-name>???</text:sheet-name>', 'Priya Shah medical list'))]);
    cases.push(['register.ods', rezip(fx.read('sheet.ods'), odf('meta.xml', '</office:meta>', '<dc:description>Priya Shah, asthma</dc:description></office:meta>'))]);
    cases.push(['letter.odt', rezip(fx.read('doc.odt'), odf('meta.xml', '</office:meta>', '<meta:user-defined meta:name="Pupil">Priya Shah</meta:user-defined></office:meta>'))]);
    for (const [name, file] of cases) {
      const r = await inspect(mailWithAttachment(name, file));
      expect(texts(r)).toContain('Priya Shah');
      expect(r.uninspectable).toEqual([]);
    }
    // The document's dates, language and revision are not read as its text; its title is.
    const own = String((await inspect(mailWithAttachment('letter.docx', fx.read('doc.docx')))).texts.find((t) => t.where === 'attachment:letter.docx')?.text);
    expect(own).toContain('Report');
    expect(own).not.toMatch(/\d{4}-\d\d-\d\dT/);
  });

  it('OLE objects in a document: an equation is neither read nor held, a packaged file is read, a macro signature is not held', async () => {
    const ole = (streams: Record<string, Buffer>): Buffer => {
      const c = CFB.utils.cfb_new();
      for (const [name, content] of Object.entries(streams)) CFB.utils.cfb_add(c, `/${name}`, content);
      return Buffer.from(CFB.write(c, { type: 'buffer' }) as Uint8Array);
    };
    const compObj = Buffer.from('\x01\x00\xfe\xff\x03\x0a\x00\x00', 'latin1');
    const equation = ole({ '\x01CompObj': compObj, 'Equation Native': Buffer.from('\x1c\x00\x00\x00\x02\x00x^2+1', 'latin1') });
    // Windows' Object Packager: size, flag, name, source path, two numbers, temp path, size, data.
    const csv = Buffer.from('Priya Shah,12/03/2015,asthma\n');
    const z = (s: string) => Buffer.from(`${s}\0`, 'latin1');
    const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
    const body = Buffer.concat([Buffer.from([2, 0]), z('pupils.csv'), z('C:\\Users\\office\\pupils.csv'), u32(0x00030000), u32(30), z('C:\\Temp\\pupils.csv'), u32(csv.length), csv]);
    const packaged = ole({ '\x01CompObj': compObj, '\x01Ole10Native': Buffer.concat([u32(body.length), body]) });
    const add = (entries: Record<string, Buffer>) => `${copyAll()}\nimport base64\n${Object.entries(entries).map(([n, b]) => `zout.writestr("${n}", base64.b64decode("${b.toString('base64')}"))`).join('\n')}`;
    const withEquation = await inspect(mailWithAttachment('worksheet.docx', rezip(fx.read('doc.docx'), add({ 'word/embeddings/oleObject1.bin': equation }))));
    expect(withEquation.uninspectable).toEqual([]);
    expect(texts(withEquation)).toContain(PUPIL_NAME);
    const withPackage = await inspect(mailWithAttachment('letter.docx', rezip(fx.read('doc.docx'), add({ 'word/embeddings/oleObject1.bin': packaged }))));
    expect(withPackage.texts.find((t) => t.where === 'attachment:letter.docx/word/embeddings/oleObject1.bin/pupils.csv')?.text).toContain('Priya Shah');
    const signed = await inspect(mailWithAttachment('macro.docm', rezip(fx.read('doc.docx'), add({ 'word/vbaProjectSignature.bin': Buffer.from([1, 2, 3, 4, 0, 0, 9]) }))));
    expect(signed.uninspectable).toEqual([]);
    // An object of a kind not known to hold no text (a Visio drawing), or one whose stream names
    // are written in capitals, is not passed as an equation.
    const visio = ole({ '\x01CompObj': compObj, VisioDocument: Buffer.from('drawing with Priya Shah') });
    const drawn = await inspect(mailWithAttachment('plan.docx', rezip(fx.read('doc.docx'), add({ 'word/embeddings/oleObject1.bin': visio }))));
    expect(drawn.uninspectable).toContainEqual({ where: 'attachment:plan.docx/word/embeddings/oleObject1.bin', reason: expect.stringContaining('not read') });
    const shouting = ole({ '\x01COMPOBJ': compObj, '\x01OLE10NATIVE': Buffer.concat([u32(body.length), body]) });
    const loud = await inspect(mailWithAttachment('letter.docx', rezip(fx.read('doc.docx'), add({ 'word/embeddings/oleObject1.bin': shouting }))));
    expect(texts(loud)).toContain('Priya Shah');
  });

  it('a docx holding two parts of one name (a decoy document.xml) is held as unread', async () => {
    const docx = rezip(fx.read('doc.docx'), `${copyAll()}\nzout.writestr("word/document.xml", zin.read("word/document.xml").replace(b"${PUPIL_NAME}", b"Nobody at all"))`);
    const r = await inspect(mailWithAttachment('letter.docx', docx));
    expect(r.uninspectable).toContainEqual({ where: 'attachment:letter.docx', reason: expect.stringContaining('two parts under the same name') });
  });
});

describe('PDFs that show more than their text layer', () => {
  /** A PDF written object by object (Python `objs`), then rewritten by qpdf as any PDF tool would save it (offsets, lengths). */
  function pdfOf(objects: string[]): Buffer {
    const dir = mkdtempSync(join(tmpdir(), 'hm-pdf-'));
    try {
      execFileSync('/usr/bin/python3', ['-c', [...objects, ...writePdfPython('raw.pdf')].join('\n')], { cwd: dir });
      execFileSync('qpdf', ['raw.pdf', 'out.pdf'], { cwd: dir });
      return readFileSync(join(dir, 'out.pdf'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('an XFA form (its pages say only "Please wait...") is read from its form data', async () => {
    const xdp =
      '<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template xmlns="http://www.xfa.org/schema/xfa-template/3.3/"><subform name="form1" layout="tb"><pageSet><pageArea name="P1"><contentArea x="0.25in" y="0.25in" w="8in" h="10.5in"/><medium stock="a4" short="210mm" long="297mm"/></pageArea></pageSet>' +
      '<subform name="s" w="8in" h="10in"><field name="pupil" w="6in" h="0.4in"><ui><textEdit/></ui></field>' +
      '<field name="concern" w="6in" h="2in"><ui><textEdit multiLine="1"/></ui></field></subform></subform></template>' +
      '<xfa:datasets xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/"><xfa:data><form1><s><pupil>Priya Shah, referral for CAMHS</pupil>' +
      '<concern>Disclosed at break time\nZara Khan, safeguarding lead informed</concern></s></form1></xfa:data></xfa:datasets></xdp:xdp>';
    const wait = 'BT /F1 12 Tf 72 700 Td (Please wait... If this message is not eventually replaced by the proper contents of the document, your PDF viewer may not be able to display this type of document.) Tj ET';
    const py = [
      `xdp = ${JSON.stringify(xdp)}.encode()`,
      `wait = ${JSON.stringify(wait)}.encode()`,
      'objs = [b"<< /Type /Catalog /Pages 2 0 R /NeedsRendering true /AcroForm << /Fields [] /XFA 6 0 R >> >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",',
      '        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",',
      '        b"<< /Length %d >>\\nstream\\n" % len(wait) + wait + b"\\nendstream",',
      '        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",',
      '        b"<< /Length %d >>\\nstream\\n" % len(xdp) + xdp + b"\\nendstream"]',
    ];
    const r = await inspect(mailWithAttachment('referral.pdf', pdfOf(py)));
    const form = String(r.texts.find((t) => t.where === 'attachment:referral.pdf')?.text);
    expect(form).toContain('Priya Shah, referral for CAMHS');
    // A multi-line box (the details of the concern) keeps its text elsewhere in pdfjs's layout.
    expect(form).toContain('Zara Khan, safeguarding lead informed');
    expect(r.uninspectable).toEqual([]);
  });

  it('comments, form fields and a file attached to a page are read', async () => {
    const py = [
      'csv = b"Ben Ode,12/03/2015,asthma\\n"',
      'objs = [b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] >> >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",',
      '        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R 7 0 R 8 0 R] >>",',
      '        b"<< /Length 44 >>\\nstream\\nBT /F1 12 Tf 72 720 Td (Trip letter) Tj ET\\n\\nendstream",',
      '        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",',
      '        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (pupil) /V (Priya Shah, Year 5) /Rect [72 600 400 620] /P 3 0 R >>",',
      '        b"<< /Type /Annot /Subtype /Text /Rect [72 560 90 578] /Contents (Zara Khan has a nut allergy) >>",',
      '        b"<< /Type /Annot /Subtype /FileAttachment /Rect [72 520 90 538] /Contents (list) /FS 9 0 R >>",',
      '        b"<< /Type /Filespec /F (pupils.csv) /UF (pupils.csv) /EF << /F 10 0 R >> >>",',
      '        b"<< /Type /EmbeddedFile /Length %d >>\\nstream\\n" % len(csv) + csv + b"\\nendstream"]',
    ];
    const r = await inspect(mailWithAttachment('letter.pdf', pdfOf(py)));
    const own = String(r.texts.find((t) => t.where === 'attachment:letter.pdf')?.text);
    expect(own).toContain('Trip letter');
    expect(own).toContain('Priya Shah, Year 5');
    expect(own).toContain('Zara Khan has a nut allergy');
    expect(r.texts.find((t) => t.where === 'attachment:letter.pdf/pupils.csv')?.text).toContain('Ben Ode');
    expect(r.uninspectable).toEqual([]);
  });
});

describe('memory and time limits of the extractors', () => {
  it('a worker that runs out of heap dies alone: uninspectable, and the next message is read', async () => {
    // A docx whose document.xml is one 96 MB text run: valid XML that saxes must buffer.
    const dir = mkdtempSync(join(tmpdir(), 'hm-inspect-oom-'));
    try {
      writeFileSync(join(dir, '[Content_Types].xml'), '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>');
      execFileSync('/bin/sh', ['-ec', `mkdir word && { printf '<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>'; head -c 100663296 /dev/zero | tr '\\0' 'a'; printf '</w:t></w:r></w:p></w:body></w:document>'; } > word/document.xml && zip -q -X big.docx '[Content_Types].xml' word/document.xml && rm word/document.xml`], { cwd: dir });
      const docx = readFileSync(join(dir, 'big.docx'));
      const r = await inspect(mailWithAttachment('big.docx', docx), { memoryMb: 64, maxRatio: 100_000 });
      expect(r.uninspectable).toEqual([{ where: 'attachment:big.docx', reason: expect.stringContaining('more memory than the inspection limit') }]);
      const next = await inspect(mailWithAttachment('doc.docx', fx.read('doc.docx')), { memoryMb: 64 });
      expect(next.texts.some((t) => t.text.includes(PUPIL_NAME))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a PDF bomb (1 GiB content stream) kills only the PDF reader process: uninspectable', async () => {
    const r = await inspect(mailWithAttachment('report.pdf', fx.read('pdf-bomb.pdf')), { memoryMb: 64 });
    expect(r.uninspectable).toHaveLength(1);
    expect(r.uninspectable[0].where).toBe('attachment:report.pdf');
    expect(r.uninspectable[0].reason).toMatch(/more memory than the inspection limit|took longer than/);
    // The reader comes back for the next PDF.
    const next = await inspect(mailWithAttachment('doc.pdf', fx.read('doc.pdf')), { memoryMb: 64 });
    expect(next.texts.some((t) => t.text.includes(PUPIL_NAME))).toBe(true);
  });

  it('the message deadline turns a slow PDF into an uninspectable finding', async () => {
    const r = await inspect(mailWithAttachment('report.pdf', fx.read('pdf-bomb.pdf')), { timeoutMs: 1_500 });
    expect(r.uninspectable).toEqual([{ where: 'attachment:report.pdf', reason: 'Inspection took longer than the 2 second limit, so the rest was not read' }]);
    expect(r.ms).toBeLessThan(10_000);
  });
});

describe('malformed MIME', () => {
  it('1,001 nested multiparts: uninspectable (parser limit), not a crash', async () => {
    const lines = header(['Content-Type: multipart/mixed; boundary="b0"', '']);
    for (let i = 1; i <= 1001; i++) lines.push(`--b${i - 1}`, `Content-Type: multipart/mixed; boundary="b${i}"`, '');
    lines.push('--b1001', 'Content-Type: text/plain', '', `Deep inside: ${PUPIL_NAME}`);
    for (let i = 1001; i >= 0; i--) lines.push(`--b${i}--`);
    const r = await inspect(Buffer.from(lines.join('\r\n')));
    expect(r.uninspectable).toContainEqual({ where: 'message', reason: 'The message has more MIME parts than the parser allows (more than 1,000), so it was not read' });
    expect(r.subject).toBe('Hostile');
  });

  it('a 2 MB header: uninspectable (parser limit), not a crash', async () => {
    const filler: string[] = [];
    for (let i = 0; i < 2 * 1024; i++) filler.push(' ' + 'x'.repeat(1022));
    const raw = Buffer.from([...header(['X-Filler: start', ...filler, 'Content-Type: text/plain']), '', 'Body'].join('\r\n'));
    expect(raw.length).toBeGreaterThan(2 * 1024 * 1024);
    const r = await inspect(raw);
    expect(r.uninspectable).toContainEqual({ where: 'message', reason: 'A header block of the message is larger than the parser allows (1 MB), so the message was not read' });
  });

  // A second review found this hang: the parser failing while an attachment waits its turn
  // (inspection reads one attachment ahead of the analysis) left that attachment's stream open.
  it('a part with a 2 MB header after two attachments, one inspection worker: uninspectable, and the inspection ends', async () => {
    const work = mkdtempSync(join(tmpdir(), 'hm-hostile-'));
    try {
      writeFileSync(join(work, 'd0.txt'), 'hello world '.repeat(150_000));
      execFileSync('zip', ['-q', '-0', '-j', join(work, 'a.zip'), join(work, 'd0.txt')]);
      const b64 = (b: Buffer) => b.toString('base64').replace(/.{76}/g, '$&\r\n');
      const filler: string[] = [];
      for (let i = 0; i < 2 * 1024; i++) filler.push(' ' + 'x'.repeat(1022));
      const raw = Buffer.from([
        ...header(['Content-Type: multipart/mixed; boundary="BB"']), '',
        '--BB', 'Content-Type: text/plain', '', 'hi',
        '--BB', 'Content-Type: application/zip', 'Content-Disposition: attachment; filename="a.zip"', 'Content-Transfer-Encoding: base64', '', b64(readFileSync(join(work, 'a.zip'))),
        '--BB', 'Content-Type: application/octet-stream', 'Content-Disposition: attachment; filename="b.bin"', 'Content-Transfer-Encoding: base64', '', b64(Buffer.alloc(300 * 1024, 7)),
        '--BB', 'Content-Type: text/plain', 'X-Filler: start', ...filler, '', 'after',
        '--BB--', '',
      ].join('\r\n'));
      const r = await inspect(raw, { workers: 1 });
      expect(r.uninspectable).toContainEqual({ where: 'message', reason: 'A header block of the message is larger than the parser allows (1 MB), so the message was not read' });
      expect(r.attachments[0]?.filename).toBe('a.zip');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 30_000);

  it('invalid base64 in an attachment: uninspectable', async () => {
    const raw = [
      ...header(['Content-Type: multipart/mixed; boundary="B"']),
      '',
      '--B',
      'Content-Type: text/plain',
      '',
      'See attached.',
      '--B',
      'Content-Type: text/csv; name="list.csv"',
      'Content-Disposition: attachment; filename="list.csv"',
      'Content-Transfer-Encoding: base64',
      '',
      'TmFtZSxEYXRlIG9m!!IGJpcnRo*&^%$#@~not-base64~',
      '--B--',
      '',
    ].join('\r\n');
    const r = await inspect(Buffer.from(raw));
    expect(r.uninspectable).toContainEqual({ where: 'attachment:list.csv', reason: 'Its base64 encoding is invalid, so what it contains cannot be known for sure' });
  });

  it('base64 of a length no encoder writes (one character past a group of four) in an attachment: uninspectable; the same list whole is not', async () => {
    const attach = (b64: string) =>
      [...header(['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="B"']), '', '--B', 'Content-Type: text/plain', '', 'See attached.', '--B',
        'Content-Type: text/csv; name="list.csv"', 'Content-Disposition: attachment; filename="list.csv"', 'Content-Transfer-Encoding: base64', '', b64, '--B--', ''].join('\r\n');
    const whole = Buffer.from('Name,Date of birth\r\nJasmine Okafor,17/03/2014\r\n'.repeat(39)).toString('base64').replace(/.{76}/g, '$&\r\n');
    const damaged = await inspect(Buffer.from(attach(whole + 'Q')));
    expect(damaged.uninspectable).toContainEqual({ where: 'attachment:list.csv', reason: 'Its base64 encoding is invalid, so what it contains cannot be known for sure' });
    const fine = await inspect(Buffer.from(attach(whole)));
    expect(fine.uninspectable).toEqual([]);
    expect(fine.texts.find((t) => t.where === 'attachment:list.csv')?.text).toContain('Jasmine Okafor,17/03/2014');
  });

  it('invalid base64 in a text body: uninspectable', async () => {
    const raw = [...header(['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64']), '', 'SGVsbG8gd29ybGQ=%%%%', ''].join('\r\n');
    const r = await inspect(Buffer.from(raw));
    expect(r.uninspectable).toContainEqual({ where: 'body', reason: expect.stringContaining('base64 encoding is invalid') });
  });

  it('a message cut off in the middle of an attachment: uninspectable', async () => {
    const whole = mailWithAttachment('doc.docx', fx.read('doc.docx')).toString('latin1');
    const cut = Buffer.from(whole.slice(0, Math.floor(whole.length * 0.6)), 'latin1');
    const r = await inspect(cut);
    expect(r.uninspectable).toContainEqual({ where: 'message', reason: 'The message ends before its last part is complete (it may have been cut off)' });
    // The cut docx itself cannot be opened either, and says so.
    expect(r.uninspectable.some((u) => u.where === 'attachment:doc.docx')).toBe(true);
  });

  it('garbage bytes as a message: no crash, the body is still reported', async () => {
    const bytes = Buffer.alloc(64 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) & 0xff;
    const r = await inspect(bytes);
    expect(Array.isArray(r.texts)).toBe(true);
    expect(r.bytes).toBe(bytes.length);
  });

  it("the gateway process's memory stayed bounded through all of this", () => {
    // Workers share this process's RSS; the PDF reader is a separate process with its own limit.
    expect(peak - baseline).toBeLessThan(700 * 1024 * 1024);
  });
});
