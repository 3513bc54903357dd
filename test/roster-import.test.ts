// Importing the roster from MIS exports (fixtures in test/fixtures/roster, synthetic pupils):
// SIMS, Arbor and Bromcom header styles; BOM, quoted fields, CRLF, Windows-1252; bad rows by
// line; a file that cannot be understood is refused naming the columns found and missing.
import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRoster, loadStaffList, rosterCheckReport, RosterError } from '../src/roster/index.ts';
import { fieldOf } from '../src/roster/columns.ts';
import { parseCsv, decodeRosterBytes } from '../src/roster/csv.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/roster/${name}`, import.meta.url));

describe('SIMS-style export (UTF-8 with BOM, CRLF)', async () => {
  const { roster, problems } = await loadRoster(fixture('sims-export.csv'));
  it('reads every pupil with names, UPN, DOB, year, form and contacts', () => {
    expect(problems).toEqual([]);
    expect(roster.pupils).toHaveLength(4);
    expect(roster.pupils[0]).toEqual({
      id: 'row-2', line: 2, legalForename: 'Zoë', legalSurname: 'Okafor', upn: 'E873400112001', dob: '2014-03-12',
      year: 'Year 6', form: '6B', contacts: ['adaeze.okafor@example.org'],
    });
    expect(roster.pupils[1]).toMatchObject({ legalForename: 'Jack', middleNames: 'Thomas', contacts: ['parent.hill@example.net', 'gran.hill@example.com'] });
    expect(roster.pupils[2]).toMatchObject({ legalForename: 'Siobhán', preferredForename: 'Shiv', legalSurname: "O'Neill", dob: '2012-02-29' });
    expect(roster.pupils[3]).toMatchObject({ dob: '2013-11-30', contacts: ['smithjones@example.org', 'dad.sj@example.org'] });
  });
  it('looks pupils up by contact, id and UPN', () => {
    expect(roster.pupilsByContact(' PARENT.HILL@example.net ').map((p) => p.id)).toEqual(['row-3']);
    expect(roster.pupilsByContact('nobody@example.org')).toEqual([]);
    expect(roster.pupilById('row-5')?.legalSurname).toBe('Smith-Jones');
    expect(roster.pupilsByUpn('h873400112003').map((p) => p.id)).toEqual(['row-4']);
    expect(roster.digest).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('Arbor-style export (quoted fields, "Student First Name")', async () => {
  const { roster, problems } = await loadRoster(fixture('arbor-export.csv'));
  it('reads quoted names with commas and doubled quotes, preferred names, a temporary UPN', () => {
    expect(problems).toEqual([]);
    expect(roster.pupils.map((p) => [p.legalForename, p.legalSurname, p.preferredForename])).toEqual([
      ['William', 'Young', 'Will'],
      ['Grace', 'Hope', undefined],
      ['Łukasz', 'Wiśniewski', undefined],
      ['Amira "Mimi"', 'Khan, Ahmed', 'Mimi'],
    ]);
    expect(roster.pupils[3]).toMatchObject({ upn: 'P87340012100A', year: 'Year 4', form: '4K', dob: '2015-05-05' });
    expect(roster.pupils[2].contacts).toEqual(['lukasz.parent@example.org', 'second@example.net']);
  });
});

describe('Bromcom-style export (Windows-1252, semicolons)', async () => {
  const { roster, problems } = await loadRoster(fixture('bromcom-export.csv'));
  it('decodes Latin-1 letters and curly apostrophes', () => {
    expect(problems).toEqual([]);
    expect(roster.pupils.map((p) => `${p.legalForename} ${p.legalSurname}`)).toEqual(['Zoë Müller', 'Noël O’Brien', 'Renée Lefèvre']);
    expect(roster.pupils[2].preferredForename).toBe('René');
    expect(roster.pupils[0]).toMatchObject({ form: '8M', year: 'Year 8', upn: 'E873400112001', contacts: ['mueller@example.org'] });
  });
});

describe('bad rows', async () => {
  const { roster, problems } = await loadRoster(fixture('bad-rows.csv'));
  it('are reported by line number and skipped, never silently', () => {
    expect(roster.pupils.map((p) => [p.line, p.legalSurname])).toEqual([
      [2, 'Okafor'],
      [4, 'Hill'],
      [5, 'Smith'],
      [7, 'Brown'],
      [10, 'Patel'],
    ]);
    expect(roster.pupils[3].legalForename).toBe('Lily\nRose'); // a quoted line break stays in its field
    const byLine = problems.map((p) => `${p.line}: ${p.message}`);
    expect(byLine).toEqual([
      '3: no surname; row skipped',
      '4: the UPN is not valid (wrong length or check letter); UPN ignored',
      '5: the date of birth is not a real past date (expected e.g. 12/03/2014 or 2014-03-12); date ignored',
      '5: a contact email is not a valid address; ignored',
      '6: has 6 fields but the header has 5; row skipped',
      '9: no forename; row skipped',
      '10: the same UPN as line 2; both rows kept',
    ]);
  });
  it('never put the bad values in the messages', () => {
    const all = problems.map((p) => p.message).join('\n');
    for (const value of ['U873400112003', '31/02/2014', 'not-an-email', 'Jones', 'Green', 'surplus']) expect(all).not.toContain(value);
  });
});

describe('a file that cannot be understood', () => {
  it('is refused, naming the columns found and missing', async () => {
    const err = await loadRoster(fixture('no-name-columns.csv')).catch((e) => e);
    expect(err).toBeInstanceOf(RosterError);
    expect(err.message).toMatch(/Columns found: "Adno", "Gender", "Year", "Reg Group"/);
    expect(err.message).toMatch(/Missing: a forename column .*; a surname column/);
    expect(err.found).toEqual(['"Adno"', '"Gender"', '"Year"', '"Reg Group"']);
    expect(err.missing).toHaveLength(2);
  });
  it('does not echo a data row mistaken for a header', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-roster-'));
    try {
      const path = join(dir, 'headerless.csv');
      writeFileSync(path, 'Okafor,Zoë,E873400112001,zoe.parent@example.org\nHill,Jack,U873400112002,x@example.org\n');
      const err = await loadRoster(path).catch((e) => e);
      expect(err).toBeInstanceOf(RosterError);
      expect(err.message).not.toMatch(/Okafor|Zoë|E873400112001|example\.org/);
      expect(err.message).toMatch(/none of the 4 cells of the first line is a column name/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('is refused when missing, empty, or a damaged or old-format workbook, with what to do', async () => {
    await expect(loadRoster(fixture('does-not-exist.csv'))).rejects.toThrow(/cannot be read \(ENOENT\)/);
    const dir = mkdtempSync(join(tmpdir(), 'hm-roster-'));
    try {
      writeFileSync(join(dir, 'empty.csv'), '');
      await expect(loadRoster(join(dir, 'empty.csv'))).rejects.toThrow(/empty/);
      writeFileSync(join(dir, 'book.csv'), Buffer.from('PK\x03\x04rest-of-a-zip'));
      await expect(loadRoster(join(dir, 'book.csv'))).rejects.toThrow(/The roster workbook \(xlsx\) is damaged and cannot be opened: save it again from Excel, or export the roster as CSV/);
      writeFileSync(join(dir, 'old.xls'), Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(504)]));
      await expect(loadRoster(join(dir, 'old.xls'))).rejects.toThrow(/Excel 97-2003 workbook \(xls\) or a password-protected workbook: .*save it as "Excel Workbook \(\.xlsx\)"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The same three exports saved as Excel workbooks by LibreOffice Calc (dates recognised as dates
// in the en-GB locale, trailing empty cells left out, as Excel does): each reads to exactly the
// pupils its CSV gives, and roster check reports the same.
describe('xlsx exports (made by LibreOffice from the CSV fixtures)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hm-roster-xlsx-'));
    const convert = (filter: string, files: string[]) => {
      const r = spawnSync('soffice', ['--headless', `-env:UserInstallation=file://${dir}/profile`, `--infilter=${filter}`, '--convert-to', 'xlsx', '--outdir', dir, ...files.map(fixture)], { encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) throw new Error(`soffice: ${r.stderr}`);
    };
    // CSV filter options: separator, quote, character set (76 UTF-8, 1 Windows-1252), first line, column formats, language 2057 (en-GB)
    convert('CSV:44,34,76,1,,2057', ['sims-export.csv', 'arbor-export.csv']);
    convert('CSV:59,34,1,1,,2057', ['bromcom-export.csv']);
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['sims-export', 'arbor-export', 'bromcom-export'])('%s: the .xlsx gives the same pupils as the .csv', async (name) => {
    const csv = await loadRoster(fixture(`${name}.csv`));
    const xlsx = await loadRoster(join(dir, `${name}.xlsx`));
    expect(xlsx.problems).toEqual([]);
    expect(xlsx.roster.pupils).toEqual(csv.roster.pupils);
    expect(xlsx.roster.pupils.length).toBeGreaterThan(2);
  });

  it('roster check reads the workbook\'s first sheet and reports as for CSV', async () => {
    const { text, ok } = await rosterCheckReport(join(dir, 'sims-export.xlsx'));
    expect(ok).toBe(true);
    expect(text).toMatch(/Read as: xlsx \(sheet "sims-export"\), 4 data rows/);
    expect(text).toMatch(/Dates of birth: 4/);
    expect(text).toMatch(/Problems: none/);
    expect(text).not.toMatch(/Okafor|Zoë|E873400112001|example\.org/);
  });

  it('a workbook that inflates past any roster size is refused with a sentence, not a crash', async () => {
    // A real workbook whose sheet entry claims to be tiny but is 300 MB of zeros when inflated.
    const bomb = join(dir, 'bomb.xlsx');
    const work = join(dir, 'bomb');
    mkdirSync(join(work, 'xl', 'worksheets'), { recursive: true });
    writeFileSync(join(work, '[Content_Types].xml'), '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>');
    writeFileSync(join(work, 'xl', 'worksheets', 'sheet1.xml'), Buffer.alloc(300 * 1024 * 1024, 0x20));
    const r = spawnSync('zip', ['-q', '-r', '-9', bomb, '.'], { cwd: work });
    expect(r.status).toBe(0);
    rmSync(work, { recursive: true, force: true });
    await expect(loadRoster(bomb)).rejects.toThrow(/The roster workbook \(xlsx\) is larger than a roster can be and cannot be read/);
  });
});

describe('column names', () => {
  it.each([
    ['Legal Surname', 'legalSurname'],
    ['legal_surname', 'legalSurname'],
    ['SURNAME', 'legalSurname'],
    ['Last Name', 'legalSurname'],
    ['Student Last Name', 'legalSurname'],
    ['Forename', 'legalForename'],
    ['First Name', 'legalForename'],
    ['Preferred Forename', 'preferredForename'],
    ['Preferred First Name', 'preferredForename'],
    ['Preferred Surname', 'preferredSurname'],
    ['UPN', 'upn'],
    ['DOB', 'dob'],
    ['Date of Birth', 'dob'],
    ['Year', 'year'],
    ['Year Group', 'year'],
    ['Reg Group', 'form'],
    ['Registration Group', 'form'],
    ['Form', 'form'],
    ['Primary Contact Email', 'contact'],
    ['Contact 1 Email', 'contact'],
    ['Contact 2 Email', 'contact'],
    ['Parent/Carer E-mail', 'contact'],
    ['Gender', undefined],
    ['Email', undefined], // the pupil's own address is not a parent contact
  ])('%j → %s', (header, field) => {
    expect(fieldOf(header)).toBe(field);
  });
});

describe('CSV reading', () => {
  it('handles CR-only line ends, blank lines and a trailing record without newline', () => {
    const { records } = parseCsv('a,b\r1,2\r\r3,"x\r\ny"');
    expect(records.map((r) => [r.line, r.fields])).toEqual([
      [1, ['a', 'b']],
      [2, ['1', '2']],
      [4, ['3', 'x\r\ny']],
    ]);
  });
  it('reports an unclosed quote', () => {
    expect(parseCsv('a,b\n1,"never closed\n2,3\n').unclosedQuoteLine).toBe(2);
  });
  it('decodes UTF-16 exports from Excel', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Surname\tForename\nOkafor\tZoë\n', 'utf16le')]);
    expect(decodeRosterBytes(bytes)).toEqual({ text: 'Surname\tForename\nOkafor\tZoë\n', encoding: 'utf-16le' });
  });
});

describe('hallmonitor roster check', () => {
  it('prints counts of pupils, names, UPNs and contacts', async () => {
    const { text, ok } = await rosterCheckReport(fixture('sims-export.csv'));
    expect(ok).toBe(true);
    expect(text).toMatch(/Read as: utf-8 with BOM, comma-separated, 4 data rows/);
    expect(text).toMatch(/Pupils: 4/);
    expect(text).toMatch(/Names: 4 pupils with forename and surname \(1 with a different preferred forename, 0 with a different preferred surname\); 14 name forms will be matched/);
    expect(text).toMatch(/UPNs: 4/);
    expect(text).toMatch(/Dates of birth: 4/);
    expect(text).toMatch(/Contacts: 6 parent\/carer email addresses for 4 pupils/);
    expect(text).toMatch(/Columns not used: "Adno", "Gender"/);
    expect(text).toMatch(/Problems: none/);
    expect(text).not.toMatch(/Okafor|Zoë|E873400112001|example\.org/);
  });
  it('lists problems with line numbers and fails', async () => {
    const { text, ok } = await rosterCheckReport(fixture('bad-rows.csv'));
    expect(ok).toBe(false);
    expect(text).toMatch(/Problems \(7\):\n {2}line 3: no surname; row skipped/);
    expect(text).toMatch(/Pupils: 5/);
  });
  it('says why a file is not usable', async () => {
    const { text, ok } = await rosterCheckReport(fixture('no-name-columns.csv'));
    expect(ok).toBe(false);
    expect(text).toMatch(/NOT USABLE\. The roster file cannot be understood/);
  });
});

describe('staff list', () => {
  it('reads plain text, one name per line', async () => {
    const staff = await loadStaffList(fixture('staff.txt'));
    expect(staff.members).toEqual([
      { forename: 'Helen', surname: 'Brennan' },
      { forename: 'David', surname: 'Okoro' },
    ]);
    expect(staff.problems).toEqual([{ line: 5, message: 'not a forename and surname; line skipped' }]);
  });
  it('reads a CSV with the roster’s column names', async () => {
    const staff = await loadStaffList(fixture('staff.csv'));
    expect(staff.members).toEqual([
      { forename: 'Helen', surname: 'Brennan', otherForenames: ['Nell'] },
      { forename: 'David', surname: 'Okoro', otherForenames: undefined },
    ]);
  });
});
