// Fixtures for the inspection tests, made by the real tools the issue names: LibreOffice (one
// headless session over UNO for every document), zip, 7z, qpdf, tar, msoffcrypto-tool to check
// the encrypted OOXML. Made once into a temp directory keyed by the content of the recipe, so a
// second test file (or a second run) reuses them. A missing tool is an error, never a skip.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const makeOfficeScript = join(here, '..', 'fixtures', 'inspect', 'make_office.py');
const makeEmbeddedScript = join(here, '..', 'fixtures', 'inspect', 'make_embedded.py');

/** Text that every document fixture contains, so a test can check it was found. */
export const PUPIL_NAME = 'Jasmine Okafor';
export const PUPIL_REF = 'PUPILREF-7731';
export const SECOND_PUPIL = 'Tobias Lindqvist';
export const PASSWORD = 's3cret-Pa55';

const docHtml = `<html><head><title>Report</title></head><body><h1>Pupil report</h1><p>${PUPIL_NAME} is in Year 5.</p>
<table><tr><td>Name</td><td>Ref</td></tr><tr><td>${SECOND_PUPIL}</td><td>PUPILREF-7732</td></tr></table>
<p>Reference ${PUPIL_REF}</p></body></html>\n`;
const sheetCsv = `Name,Date of birth,Ref\n${PUPIL_NAME},2014-03-17,${PUPIL_REF}\n${SECOND_PUPIL},2013-11-02,PUPILREF-7732\n`;
const slideText = `Slide about ${PUPIL_NAME} ${PUPIL_REF}`;
/** A comment and a text box whose pupils are nowhere else in their document. */
export const NOTE = `${PUPIL_NAME} carries an EpiPen (nut allergy)`;
export const TEXT_BOX = `${SECOND_PUPIL} PUPILREF-7732 leaves at 2pm`;

const writer = { source: 'doc.html', load_filter: 'HTML (StarWriter)' };
const calc = { source: 'sheet.csv', load_filter: 'Text - txt - csv (StarCalc)', load_options: '44,34,76,1,,1033,false,true' };
const impress = { source: 'impress:' + slideText };
const embedded = { source: 'embedded-source.odt', load_filter: 'writer8' };

const officeJobs = [
  { ...writer, out: 'doc.docx', filter: 'MS Word 2007 XML' },
  { ...writer, out: 'encrypted.docx', filter: 'MS Word 2007 XML', ooxml_password: PASSWORD },
  { ...writer, out: 'doc.doc', filter: 'MS Word 97' },
  { ...writer, out: 'encrypted.doc', filter: 'MS Word 97', password: PASSWORD },
  { ...writer, out: 'doc.odt', filter: 'writer8' },
  { ...writer, out: 'encrypted.odt', filter: 'writer8', password: PASSWORD },
  { ...writer, out: 'doc.pdf', filter: 'writer_pdf_Export' },
  { ...writer, out: 'doc.rtf', filter: 'Rich Text Format' },
  { ...calc, out: 'sheet.xlsx', filter: 'Calc MS Excel 2007 XML' },
  { ...calc, out: 'encrypted.xlsx', filter: 'Calc MS Excel 2007 XML', ooxml_password: PASSWORD },
  { ...calc, out: 'sheet.xls', filter: 'MS Excel 97' },
  { ...calc, out: 'encrypted.xls', filter: 'MS Excel 97', password: PASSWORD },
  { ...calc, out: 'velvet.xls', filter: 'MS Excel 97', password: 'VelvetSweatshop' },
  { ...calc, out: 'velvet.xlsx', filter: 'Calc MS Excel 2007 XML', ooxml_password: 'VelvetSweatshop' },
  { ...calc, out: 'sheet.ods', filter: 'calc8' },
  { ...calc, out: 'encrypted.ods', filter: 'calc8', password: PASSWORD },
  { ...impress, out: 'slides.pptx', filter: 'Impress MS PowerPoint 2007 XML' },
  { ...impress, out: 'slides.ppt', filter: 'MS PowerPoint 97' },
  { ...impress, out: 'slides.odp', filter: 'impress8' },
  // Pupil data only in a comment (and a spreadsheet's text box), where staff jot it down.
  ...['MS Excel 97', 'Calc MS Excel 2007 XML', 'calc8'].map((filter, k) => ({ ...calc, source: 'trip.csv', out: `notes.${['xls', 'xlsx', 'ods'][k]}`, filter, note: NOTE, textbox: TEXT_BOX })),
  ...['MS PowerPoint 97', 'Impress MS PowerPoint 2007 XML', 'impress8'].map((filter, k) => ({ source: 'impress:Trip briefing', out: `comment.${['ppt', 'pptx', 'odp'][k]}`, filter, comment: NOTE })),
  // A letter whose only pupil data is a spreadsheet embedded in it (make_embedded.py), as Word
  // and LibreOffice store one: word/embeddings/oleObject1.xlsx, an ObjectPool storage, Object 1/.
  { ...embedded, out: 'embedded.docx', filter: 'MS Word 2007 XML' },
  { ...embedded, out: 'embedded.doc', filter: 'MS Word 97' },
  { ...embedded, out: 'embedded.odt', filter: 'writer8' },
];

const RECIPE_VERSION = '4';

/** Python lines that write the objects in `objs` as a PDF file (header, xref, trailer). */
export function writePdfPython(file: string): string[] {
  return [
    'out = bytearray(b"%PDF-1.4\\n")',
    'offsets = []',
    'for i, o in enumerate(objs):',
    '    offsets.append(len(out))',
    '    out += b"%d 0 obj\\n" % (i + 1) + o + b"\\nendobj\\n"',
    'xref = len(out)',
    'out += b"xref\\n0 %d\\n0000000000 65535 f \\n" % (len(objs) + 1)',
    'for off in offsets: out += b"%010d 00000 n \\n" % off',
    'out += b"trailer\\n<< /Size %d /Root 1 0 R >>\\nstartxref\\n%d\\n%%%%EOF\\n" % (len(objs) + 1, xref)',
    `open("${file}", "wb").write(out)`,
  ];
}

export interface InspectFixtures {
  dir: string;
  path(name: string): string;
  read(name: string): Buffer;
}

function tool(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer; timeout?: number } = {}): string {
  try {
    return execFileSync(cmd, args, { cwd: opts.cwd, input: opts.input, timeout: opts.timeout ?? 120_000, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }).toString();
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer; status?: number };
    if (err.code === 'ENOENT') throw new Error(`fixture tool '${cmd}' is missing (Debian: see .ci/run's apt-get line)`);
    throw new Error(`fixture tool '${cmd} ${args.join(' ')}' failed (${err.status}): ${err.stderr?.toString().slice(0, 500)}`);
  }
}

function sh(script: string, cwd: string): void {
  tool('/bin/sh', ['-ec', script], { cwd });
}

/** A zip whose one entry claims, in both headers, to be 1,000 bytes but inflates to 1 MB. */
function makeLyingZip(dir: string): void {
  writeFileSync(join(dir, 'zeros.bin'), Buffer.alloc(1024 * 1024));
  sh('rm -f lie.zip && zip -q -X lie.zip zeros.bin', dir);
  const zip = readFileSync(join(dir, 'lie.zip'));
  // local file header: uncompressed size at offset 22
  if (zip.readUInt32LE(0) !== 0x04034b50) throw new Error('zip did not start with a local header');
  zip.writeUInt32LE(1000, 22);
  const cd = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  zip.writeUInt32LE(1000, cd + 24);
  writeFileSync(join(dir, 'lie.zip'), zip);
}

/** One entry of 300 MB of zeros (about 300 KB compressed): a ratio near 1000:1. */
function makeRatioBomb(dir: string): void {
  sh('rm -f bomb.zip && head -c 314572800 /dev/zero > zeros300 && zip -q -9 -X bomb.zip zeros300 && rm zeros300', dir);
}

/**
 * Nested bomb in the 42.zip style: 10 MB of zeros, then 5 levels of 16 copies of the level below
 * (16^5 × 10 MB ≈ 10 TB if fully unpacked).
 */
function makeNestedBomb(dir: string): void {
  sh(
    [
      'rm -rf nest && mkdir nest && cd nest',
      'head -c 10485760 /dev/zero > leaf.bin && zip -q -9 -X l0.zip leaf.bin && rm leaf.bin',
      'for level in 1 2 3 4 5; do prev=$((level-1)); mkdir d; for i in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do cp l$prev.zip d/$i.zip; done; (cd d && zip -q -9 -n .none -X ../l$level.zip *.zip); rm -rf d l$prev.zip; done',
      'mv l5.zip ../nested-bomb.zip && cd .. && rm -rf nest',
    ].join('\n'),
    dir,
  );
}

/** A csv inside 20 zips inside each other: deeper than the default depth limit (17). */
function makeDeepZip(dir: string): void {
  sh(['rm -rf deep && mkdir deep && cd deep', 'cp ../list.csv x0.csv && zip -q -X z0.zip x0.csv', 'for n in $(seq 1 20); do p=$((n-1)); zip -q -X z$n.zip z$p.zip; rm z$p.zip; done', 'mv z20.zip ../deep.zip && cd .. && rm -rf deep'].join('\n'), dir);
}

/**
 * A PDF bomb: one page whose content stream (about 1 MB compressed) inflates to 1 GiB, rewritten
 * by qpdf so the file itself is a well-formed PDF.
 */
function makePdfBomb(dir: string): void {
  const py = [
    'import zlib',
    'c = zlib.compressobj(1)',
    'chunk = b"\\0" * (1 << 20)',
    'body = b"".join([c.compress(b"BT /F1 12 Tf 72 720 Td (Bomb) Tj ET\\n")] + [c.compress(chunk) for _ in range(1024)] + [c.flush()])',
    'objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",',
    '        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",',
    '        b"<< /Length %d /Filter /FlateDecode >>\\nstream\\n" % len(body) + body + b"\\nendstream",',
    '        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]',
    ...writePdfPython('pdf-bomb-raw.pdf'),
  ].join('\n');
  tool('/usr/bin/python3', ['-c', py], { cwd: dir, timeout: 300_000 });
  tool('qpdf', ['--stream-data=preserve', 'pdf-bomb-raw.pdf', 'pdf-bomb.pdf'], { cwd: dir });
  rmSync(join(dir, 'pdf-bomb-raw.pdf'));
}

function generate(dir: string): void {
  writeFileSync(join(dir, 'doc.html'), docHtml);
  writeFileSync(join(dir, 'sheet.csv'), sheetCsv);
  writeFileSync(join(dir, 'list.csv'), sheetCsv);
  writeFileSync(join(dir, 'trip.csv'), 'Trip,Leaves\nYear 5 museum,9:15\n');
  writeFileSync(join(dir, 'secret.txt'), `Safeguarding note about ${PUPIL_NAME}\n`);
  writeFileSync(join(dir, 'jobs.json'), JSON.stringify(officeJobs));
  tool('/usr/bin/python3', [makeEmbeddedScript, join(dir, 'embedded-source.odt'), PUPIL_NAME, PUPIL_REF], { cwd: dir });
  // One LibreOffice session for every document (python3-uno needs Debian's python, not a pyenv one).
  tool('/usr/bin/python3', [makeOfficeScript, join(dir, 'jobs.json'), dir], { cwd: dir, timeout: 300_000 });
  for (const job of officeJobs) if (!existsSync(join(dir, job.out))) throw new Error(`LibreOffice did not write ${job.out}`);
  // Encrypted OOXML must really be encrypted, by an independent tool's judgement.
  // msoffcrypto-tool -t exits 0 only for an encrypted file; decrypting with the password proves it.
  for (const f of ['encrypted.docx', 'encrypted.xlsx', 'encrypted.doc', 'encrypted.xls']) {
    tool('msoffcrypto-tool', ['-t', f], { cwd: dir });
    tool('msoffcrypto-tool', ['-p', PASSWORD, f, 'decrypted-' + f], { cwd: dir });
  }
  tool('msoffcrypto-tool', ['-p', 'VelvetSweatshop', 'velvet.xls', 'decrypted-velvet.xls'], { cwd: dir });
  tool('msoffcrypto-tool', ['-p', 'VelvetSweatshop', 'velvet.xlsx', 'decrypted-velvet.xlsx'], { cwd: dir });
  // PDFs: a user password, and an owner password only (opens without one).
  tool('qpdf', ['--encrypt', PASSWORD, 'owner-' + PASSWORD, '256', '--', 'doc.pdf', 'user-password.pdf'], { cwd: dir });
  tool('qpdf', ['--encrypt', '', 'owner-' + PASSWORD, '256', '--', 'doc.pdf', 'owner-only.pdf'], { cwd: dir });
  // A PDF carrying files (PDF "attachments"): a CSV and an encrypted xlsx.
  tool('qpdf', ['--add-attachment', 'list.csv', '--', '--add-attachment', 'encrypted.xlsx', '--', 'doc.pdf', 'with-attachments.pdf'], { cwd: dir });
  // Archives
  sh(
    [
      'rm -f plain.zip zipcrypto.zip partly.zip aes.zip nested.zip plain.7z aes.7z header.7z pack.tar.gz',
      'zip -q -X plain.zip list.csv doc.docx',
      `zip -q -X -P '${PASSWORD}' zipcrypto.zip list.csv secret.txt`,
      'zip -q -X partly.zip list.csv',
      `zip -q -X -P '${PASSWORD}' partly.zip secret.txt`,
      `7z a -tzip -mem=AES256 '-p${PASSWORD}' -bd -y aes.zip list.csv secret.txt >/dev/null`,
      'cp plain.zip inner.zip && zip -q -X nested.zip inner.zip sheet.xlsx && rm inner.zip',
      '7z a -bd -y plain.7z list.csv doc.docx >/dev/null',
      `7z a '-p${PASSWORD}' -bd -y aes.7z list.csv secret.txt >/dev/null`,
      `7z a '-p${PASSWORD}' -mhe=on -bd -y header.7z list.csv secret.txt >/dev/null`,
      'tar czf pack.tar.gz list.csv doc.odt',
    ].join('\n'),
    dir,
  );
  makeLyingZip(dir);
  makeRatioBomb(dir);
  makeNestedBomb(dir);
  makeDeepZip(dir);
  makePdfBomb(dir);
  writeFileSync(join(dir, 'done'), 'ok\n');
}

// ---- end of recipe: the fixtures are keyed by the text of this file above this line ----

let cached: InspectFixtures | undefined;

/** Makes (or reuses) every inspection fixture. Safe to call from several test files at once. */
export function inspectFixtures(): InspectFixtures {
  if (cached) return cached;
  const key = createHash('sha256')
    .update(RECIPE_VERSION)
    .update(readFileSync(makeOfficeScript))
    .update(readFileSync(makeEmbeddedScript))
    .update(JSON.stringify(officeJobs))
    .update(docHtml + sheetCsv)
    .update(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('// ---- end of recipe')[0])
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), `hallmonitor-inspect-fixtures-${key}`);
  const lock = dir + '.lock';
  const deadline = Date.now() + 600_000;
  while (!existsSync(join(dir, 'done'))) {
    try {
      mkdirSync(lock);
    } catch {
      // Another test process is making them: wait, and take over a lock left by a dead one.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // gone already
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for another process to make the inspection fixtures');
      execFileSync('sleep', ['1']);
      continue;
    }
    try {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      generate(dir);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  cached = { dir, path: (name) => join(dir, name), read: (name) => readFileSync(join(dir, name)) };
  return cached;
}

/** Wraps a file as the attachment of a small message (base64, 76-character lines). */
export function mailWithAttachment(filename: string, content: Buffer, contentType = 'application/octet-stream', body = 'Please see the attached file.'): Buffer {
  const b64 = content.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return Buffer.from(
    [
      'From: Office <office@school.example>',
      'To: Parent <parent@home.example>',
      'Subject: Attached',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="=_hm_boundary"',
      '',
      '--=_hm_boundary',
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
      '--=_hm_boundary',
      `Content-Type: ${contentType}; name="${filename}"`,
      `Content-Disposition: attachment; filename="${filename}"`,
      'Content-Transfer-Encoding: base64',
      '',
      ...lines,
      '--=_hm_boundary--',
      '',
    ].join('\r\n'),
  );
}

/**
 * An Outlook .msg (MS-OXMSG compound file) with a subject, a body (and an HTML body), one
 * recipient and file attachments. No free tool writes .msg, so it is assembled with cfb from the specification's
 * stream names; @kenjiuno/msgreader and Outlook read this layout.
 */
export async function makeOutlookMsg(m: { subject: string; body: string; html?: string; to: string; attachments: Array<{ name: string; content: Buffer }> }): Promise<Buffer> {
  const CFB = (await import('cfb')).default;
  const u16 = (s: string): Buffer => Buffer.from(s, 'utf16le');
  const c = CFB.utils.cfb_new();
  CFB.utils.cfb_add(c, '/__properties_version1.0', Buffer.alloc(32));
  CFB.utils.cfb_add(c, '/__nameid_version1.0/__substg1.0_00020102', Buffer.alloc(0));
  CFB.utils.cfb_add(c, '/__substg1.0_0037001F', u16(m.subject));
  CFB.utils.cfb_add(c, '/__substg1.0_1000001F', u16(m.body));
  if (m.html) CFB.utils.cfb_add(c, '/__substg1.0_10130102', Buffer.from(m.html, 'utf8')); // PR_HTML
  CFB.utils.cfb_add(c, '/__substg1.0_0C1A001F', u16('School Office'));
  CFB.utils.cfb_add(c, '/__recip_version1.0_#00000000/__properties_version1.0', Buffer.alloc(8));
  CFB.utils.cfb_add(c, '/__recip_version1.0_#00000000/__substg1.0_3001001F', u16(m.to));
  CFB.utils.cfb_add(c, '/__recip_version1.0_#00000000/__substg1.0_39FE001F', u16(m.to));
  m.attachments.forEach((a, i) => {
    const dir = `/__attach_version1.0_#${i.toString(16).toUpperCase().padStart(8, '0')}`;
    CFB.utils.cfb_add(c, `${dir}/__properties_version1.0`, Buffer.alloc(8));
    CFB.utils.cfb_add(c, `${dir}/__substg1.0_3707001F`, u16(a.name));
    CFB.utils.cfb_add(c, `${dir}/__substg1.0_37010102`, a.content);
  });
  return CFB.write(c, { type: 'buffer' }) as Buffer;
}

/**
 * Encrypts an OOXML package with ECMA-376 Agile encryption (AES-256-CBC, SHA-512, 100,000 spins),
 * as Excel 2010+ writes it. LibreOffice here writes only Standard encryption, so tests build Agile
 * files with this and check them with msoffcrypto-tool, an independent implementation.
 */
export async function encryptOoxmlAgile(plain: Buffer, password: string): Promise<Buffer> {
  const { createCipheriv, createHash, randomBytes } = await import('node:crypto');
  const CFB = (await import('cfb')).default;
  const le32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const fit = (b: Buffer, n: number): Buffer => (b.length >= n ? b.subarray(0, n) : Buffer.concat([b, Buffer.alloc(n - b.length, 0x36)]));
  const enc = (key: Buffer, iv: Buffer, data: Buffer): Buffer => {
    const c = createCipheriv(`aes-${key.length * 8}-cbc`, key, iv);
    c.setAutoPadding(false);
    const padded = data.length % 16 ? Buffer.concat([data, Buffer.alloc(16 - (data.length % 16))]) : data;
    return Buffer.concat([c.update(padded), c.final()]);
  };
  const keySalt = randomBytes(16);
  const secret = randomBytes(32);
  const pwSalt = randomBytes(16);
  const spin = 100_000;
  let h = createHash('sha512').update(pwSalt).update(Buffer.from(password, 'utf16le')).digest();
  for (let i = 0; i < spin; i++) h = createHash('sha512').update(le32(i)).update(h).digest();
  const keyFor = (block: number[]): Buffer => fit(createHash('sha512').update(h).update(Buffer.from(block)).digest(), 32);
  const verifierInput = randomBytes(16);
  const encInput = enc(keyFor([0xfe, 0xa7, 0xd2, 0x76, 0x3b, 0x4b, 0x9e, 0x79]), pwSalt, verifierInput);
  const encValue = enc(keyFor([0xd7, 0xaa, 0x0f, 0x6d, 0x30, 0x61, 0x34, 0x4e]), pwSalt, createHash('sha512').update(verifierInput).digest());
  const encKey = enc(keyFor([0x14, 0x6e, 0x0b, 0xe7, 0xab, 0xac, 0xd0, 0xd6]), pwSalt, secret);
  const segments: Buffer[] = [];
  for (let i = 0, pos = 0; pos < plain.length; i++, pos += 4096) {
    const iv = fit(createHash('sha512').update(keySalt).update(le32(i)).digest(), 16);
    segments.push(enc(secret, iv, plain.subarray(pos, pos + 4096)));
  }
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(plain.length));
  const pkg = Buffer.concat([size, ...segments]);
  const b64 = (b: Buffer): string => b.toString('base64');
  const xml =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' +
    '<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password">' +
    `<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="${b64(keySalt)}"/>` +
    `<dataIntegrity encryptedHmacKey="${b64(randomBytes(64))}" encryptedHmacValue="${b64(randomBytes(64))}"/>` +
    '<keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password">' +
    `<p:encryptedKey spinCount="${spin}" saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="${b64(pwSalt)}" encryptedVerifierHashInput="${b64(encInput)}" encryptedVerifierHashValue="${b64(encValue)}" encryptedKeyValue="${b64(encKey)}"/>` +
    '</keyEncryptor></keyEncryptors></encryption>';
  const info = Buffer.concat([Buffer.from([4, 0, 4, 0, 0x40, 0, 0, 0]), Buffer.from(xml, 'utf8')]);
  const c = CFB.utils.cfb_new();
  CFB.utils.cfb_add(c, '/EncryptionInfo', info);
  CFB.utils.cfb_add(c, '/EncryptedPackage', pkg);
  return CFB.write(c, { type: 'buffer' }) as Buffer;
}
