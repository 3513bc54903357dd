// Inspection of real documents and archives, made in the test setup by the tools the issue names
// (LibreOffice over UNO, zip, 7z, qpdf, tar; encrypted OOXML checked by msoffcrypto-tool).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import CFB from 'cfb';
import { inspect, shutdownInspection } from '../src/inspect/index.ts';
import type { AttachmentReport, Inspection } from '../src/inspect/index.ts';
import { encryptOoxmlAgile, inspectFixtures, mailWithAttachment, NOTE, PUPIL_NAME, PUPIL_REF, SECOND_PUPIL, TEXT_BOX } from './helpers/fixtures-tools.ts';
import type { InspectFixtures } from './helpers/fixtures-tools.ts';

let fx: InspectFixtures;

beforeAll(() => {
  fx = inspectFixtures();
}, 600_000);

afterAll(async () => {
  await shutdownInspection();
});

async function inspectFile(name: string, declared = 'application/octet-stream'): Promise<{ result: Inspection; attachment: AttachmentReport; text: string }> {
  const result = await inspect(mailWithAttachment(name, fx.read(name), declared));
  expect(result.attachments).toHaveLength(1);
  const attachment = result.attachments[0];
  const text = result.texts
    .filter((t) => t.where.startsWith(`attachment:${name}`))
    .map((t) => t.text)
    .join('\n');
  return { result, attachment, text };
}

describe('what a document carries inside it: a spreadsheet embedded by LibreOffice', () => {
  // The letter's own text has no pupil in it; the register is a Calc table embedded in it, which
  // Word keeps as word/embeddings/oleObject1.xlsx, Word 97 as an ObjectPool storage, and
  // OpenDocument as "Object 1/content.xml". Not reading them delivered the register unread.
  for (const [name, where] of [
    ['embedded.docx', 'attachment:embedded.docx/word/embeddings/oleObject1.xlsx'],
    ['embedded.doc', 'attachment:embedded.doc/object-_2147483647'],
    ['embedded.odt', 'attachment:embedded.odt'],
  ]) {
    it(`${name}: the embedded table's pupil is read`, async () => {
      const { result, attachment } = await inspectFile(name);
      expect(attachment.encryption).toBe('not-encrypted');
      expect(result.texts.find((t) => t.where === where)?.text).toContain(PUPIL_NAME);
      expect(result.texts.find((t) => t.where === `attachment:${name}`)?.text).toContain('Year 5 trip');
      expect(result.uninspectable).toEqual([]);
    });
  }
});

describe('comments and text boxes: pupil data jotted beside a sheet or a slide', () => {
  // Made by LibreOffice; the pupils are nowhere else in the file. Excel 97's comments and text
  // boxes (TxO records) and PowerPoint 97's comments (in PowerPoint 2002's binary tags) were not
  // read: the files went out as a trip timetable and a title slide.
  for (const [name, own] of [
    ['notes.xls', 'Year 5 museum'],
    ['notes.xlsx', 'Year 5 museum'],
    ['notes.ods', 'Year 5 museum'],
    ['comment.ppt', 'Trip briefing'],
    ['comment.pptx', 'Trip briefing'],
    ['comment.odp', 'Trip briefing'],
  ]) {
    it(`${name}: the comment${name.startsWith('notes') ? ' and the text box are' : ' is'} read`, async () => {
      const { result, text } = await inspectFile(name);
      expect(text).toContain(own);
      expect(text).toContain(NOTE);
      if (name.startsWith('notes')) expect(text).toContain(TEXT_BOX);
      expect(result.uninspectable).toEqual([]);
    });
  }
});

describe('documents made by LibreOffice: real type and text', () => {
  const documents: Array<[string, string, string]> = [
    ['doc.docx', 'docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    ['doc.doc', 'doc', 'application/msword'],
    ['doc.odt', 'odt', 'application/vnd.oasis.opendocument.text'],
    ['doc.rtf', 'rtf', 'application/rtf'],
    ['doc.pdf', 'pdf', 'application/pdf'],
    ['sheet.xlsx', 'xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
    ['sheet.xls', 'xls', 'application/vnd.ms-excel'],
    ['sheet.ods', 'ods', 'application/vnd.oasis.opendocument.spreadsheet'],
    ['slides.pptx', 'pptx', 'application/vnd.openxmlformats-officedocument.presentationml.presentation'],
    ['slides.ppt', 'ppt', 'application/vnd.ms-powerpoint'],
    ['slides.odp', 'odp', 'application/vnd.oasis.opendocument.presentation'],
    ['doc.html', 'html', 'text/html'],
    ['list.csv', 'csv', 'text/csv'],
  ];
  for (const [name, format, mime] of documents) {
    it(`${name}: ${format}, not encrypted, pupil's name and reference found`, async () => {
      const { result, attachment, text } = await inspectFile(name);
      expect(attachment.format).toBe(format);
      expect(attachment.realType).toBe(mime);
      expect(attachment.declaredType).toBe('application/octet-stream');
      expect(attachment.encryption).toBe('not-encrypted');
      expect(text).toContain(PUPIL_NAME);
      expect(text).toContain(PUPIL_REF);
      expect(result.uninspectable).toEqual([]);
    });
  }

  it('spreadsheet rows stay on one line, dates shown as UK dates (xlsx and xls)', async () => {
    for (const name of ['sheet.xlsx', 'sheet.xls']) {
      const { text } = await inspectFile(name);
      expect(text).toContain(`${PUPIL_NAME}\t17/03/2014\t${PUPIL_REF}`);
      expect(text).toContain(`${SECOND_PUPIL}\t02/11/2013\tPUPILREF-7732`);
    }
  });

  it('a Word table row stays on one line', async () => {
    const { text } = await inspectFile('doc.docx');
    const line = text.split('\n').find((l) => l.includes(SECOND_PUPIL));
    expect(line).toContain('PUPILREF-7732');
  });

  it('a CSV sent as application/octet-stream is still a CSV', async () => {
    const { attachment } = await inspectFile('list.csv', 'application/octet-stream');
    expect(attachment.declaredType).toBe('application/octet-stream');
    expect(attachment.realType).toBe('text/csv');
  });

  it('a Word document named .pdf and declared as PDF is found to be a docx', async () => {
    const result = await inspect(mailWithAttachment('report.pdf', fx.read('doc.docx'), 'application/pdf'));
    expect(result.attachments[0].declaredType).toBe('application/pdf');
    expect(result.attachments[0].format).toBe('docx');
    expect(result.texts.some((t) => t.text.includes(PUPIL_NAME))).toBe(true);
  });
});

describe('encryption', () => {
  const cases: Array<[string, AttachmentReport['encryption'], string | undefined]> = [
    ['encrypted.docx', 'encrypted', 'ooxml-standard'],
    ['encrypted.xlsx', 'encrypted', 'ooxml-standard'],
    ['encrypted.doc', 'encrypted', 'doc-rc4'],
    ['encrypted.xls', 'encrypted', 'xls-rc4'],
    ['encrypted.odt', 'encrypted', 'odf'],
    ['encrypted.ods', 'encrypted', 'odf'],
    ['user-password.pdf', 'encrypted', 'pdf-user-password'],
    ['zipcrypto.zip', 'encrypted', 'zipcrypto'],
    ['aes.zip', 'encrypted', 'winzip-aes'],
    ['aes.7z', 'encrypted', '7z-aes'],
    ['header.7z', 'encrypted', '7z-header'],
  ];
  for (const [name, encryption, detail] of cases) {
    it(`${name} is ${encryption} (${detail}) and no text leaks out`, async () => {
      const { attachment, text, result } = await inspectFile(name);
      expect(attachment.encryption).toBe(encryption);
      expect(attachment.encryptionDetail).toBe(detail);
      expect(text).not.toContain(PUPIL_NAME);
      expect(result.uninspectable).toEqual([]);
    });
  }

  it('an owner-password-only PDF opens without a password: not encrypted, and read', async () => {
    const { attachment, text } = await inspectFile('owner-only.pdf');
    expect(attachment.encryption).toBe('not-encrypted');
    expect(attachment.encryptionDetail).toBe('pdf-owner-password-only');
    expect(text).toContain(PUPIL_NAME);
  });

  it("an .xls protected with Excel's default password VelvetSweatshop is not encrypted, and is read", async () => {
    const { attachment, text } = await inspectFile('velvet.xls');
    expect(attachment.encryption).toBe('not-encrypted');
    expect(attachment.encryptionDetail).toBe('xls-velvetsweatshop');
    expect(text).toContain(`${PUPIL_NAME}\t17/03/2014\t${PUPIL_REF}`);
  });

  it("an .xlsx encrypted with VelvetSweatshop (ECMA-376 Standard, by LibreOffice) is not encrypted, and is read", async () => {
    const { attachment, text } = await inspectFile('velvet.xlsx');
    expect(attachment.format).toBe('xlsx');
    expect(attachment.encryption).toBe('not-encrypted');
    expect(attachment.encryptionDetail).toBe('ooxml-velvetsweatshop');
    expect(text).toContain(`${PUPIL_NAME}\t17/03/2014\t${PUPIL_REF}`);
  });

  it('Agile-encrypted OOXML (as Excel writes it): a real password is encrypted, VelvetSweatshop is read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-inspect-agile-'));
    try {
      const plain = fx.read('sheet.xlsx');
      for (const [password, encryption, detail] of [
        ['VelvetSweatshop', 'not-encrypted', 'ooxml-velvetsweatshop'],
        ['Staff-only-2026', 'encrypted', 'ooxml-agile'],
      ]) {
        const agile = await encryptOoxmlAgile(plain, password);
        // msoffcrypto-tool, an independent implementation, must decrypt it back to the original.
        writeFileSync(join(dir, 'agile.xlsx'), agile);
        execFileSync('msoffcrypto-tool', ['-p', password, 'agile.xlsx', 'plain.xlsx'], { cwd: dir });
        expect(readFileSync(join(dir, 'plain.xlsx')).equals(plain)).toBe(true);
        const result = await inspect(mailWithAttachment('book.xlsx', agile));
        expect(result.attachments[0].encryption).toBe(encryption);
        expect(result.attachments[0].encryptionDetail).toBe(detail);
        expect(result.texts.some((t) => t.text.includes(PUPIL_REF))).toBe(encryption === 'not-encrypted');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a zip with one clear and one encrypted entry is partly encrypted; the clear entry is read', async () => {
    const { attachment, text } = await inspectFile('partly.zip');
    expect(attachment.encryption).toBe('partly-encrypted');
    const entries = attachment.entries ?? [];
    expect(entries.map((e) => [e.filename, e.encryption])).toEqual([
      ['list.csv', 'not-encrypted'],
      ['secret.txt', 'encrypted'],
    ]);
    expect(text).toContain(PUPIL_REF);
    expect(text).not.toContain('Safeguarding note');
  });

  it('an encrypted .ppt (CurrentUser header token 0xF3D1C4DF) is encrypted', async () => {
    // LibreOffice cannot write an encrypted .ppt, so a real .ppt gets the token an encrypted one carries.
    const ppt = CFB.read(fx.read('slides.ppt'), { type: 'buffer' });
    const user = CFB.find(ppt, 'Current User');
    expect(user).toBeTruthy();
    const content = Buffer.from(user!.content as Buffer);
    expect(content.readUInt32LE(12)).toBe(0xe391c05f);
    content.writeUInt32LE(0xf3d1c4df, 12);
    user!.content = content;
    const bytes = CFB.write(ppt, { type: 'buffer' }) as Buffer;
    const result = await inspect(mailWithAttachment('deck.ppt', bytes));
    expect(result.attachments[0].format).toBe('ppt');
    expect(result.attachments[0].encryption).toBe('encrypted');
  });
});

describe('files embedded in other files', () => {
  it('files attached inside a PDF are read as its entries', async () => {
    const { attachment, result } = await inspectFile('with-attachments.pdf');
    expect(attachment.format).toBe('pdf');
    expect(attachment.entries?.map((e) => [e.where, e.format, e.encryption]).sort()).toEqual([
      ['attachment:with-attachments.pdf/encrypted.xlsx', 'ooxml', 'encrypted'],
      ['attachment:with-attachments.pdf/list.csv', 'csv', 'not-encrypted'],
    ]);
    expect(attachment.encryption).toBe('partly-encrypted');
    expect(result.texts.find((t) => t.where === 'attachment:with-attachments.pdf/list.csv')?.text).toContain(PUPIL_NAME);
    expect(result.texts.find((t) => t.where === 'attachment:with-attachments.pdf')?.text).toContain(PUPIL_NAME);
  });
});

describe('archives', () => {
  it('a zip: each entry reported with its real type, and read', async () => {
    const { attachment, result } = await inspectFile('plain.zip');
    expect(attachment.format).toBe('zip');
    expect(attachment.encryption).toBe('not-encrypted');
    expect(attachment.entries?.map((e) => [e.where, e.format])).toEqual([
      ['attachment:plain.zip/list.csv', 'csv'],
      ['attachment:plain.zip/doc.docx', 'docx'],
    ]);
    const wheres = result.texts.map((t) => t.where);
    expect(wheres).toContain('attachment:plain.zip/list.csv');
    expect(wheres).toContain('attachment:plain.zip/doc.docx');
  });

  it('a zip inside a zip is walked', async () => {
    const { result } = await inspectFile('nested.zip');
    const csv = result.texts.find((t) => t.where === 'attachment:nested.zip/inner.zip/list.csv');
    expect(csv?.text).toContain(PUPIL_NAME);
    expect(result.texts.find((t) => t.where === 'attachment:nested.zip/sheet.xlsx')?.text).toContain(PUPIL_REF);
  });

  it('a 7z archive is listed and read through 7-Zip', async () => {
    const { attachment, result } = await inspectFile('plain.7z');
    expect(attachment.format).toBe('7z');
    expect(attachment.encryption).toBe('not-encrypted');
    expect(result.texts.find((t) => t.where === 'attachment:plain.7z/list.csv')?.text).toContain(PUPIL_NAME);
    expect(result.texts.find((t) => t.where === 'attachment:plain.7z/doc.docx')?.text).toContain(PUPIL_NAME);
  });

  it('a tar.gz is unpacked layer by layer', async () => {
    const { result } = await inspectFile('pack.tar.gz');
    expect(result.texts.find((t) => t.where === 'attachment:pack.tar.gz/pack.tar/list.csv')?.text).toContain(PUPIL_NAME);
    expect(result.texts.find((t) => t.where === 'attachment:pack.tar.gz/pack.tar/doc.odt')?.text).toContain(PUPIL_NAME);
  });
});
