// Reading the roster: the CSV a school's MIS (SIMS, Arbor, Bromcom) exports, into pupils held in
// memory only. The roster is personal data itself: nothing here logs or copies a pupil's details;
// problems name lines and columns, never values.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { decodeRosterBytes, parseCsv, sniffDelimiter, type CsvRecord } from './csv.ts';
import { xlsxRecords } from './xlsx.ts';
import { mapColumns, displayHeader, fieldOf, FIELD_LABEL, type ColumnMap } from './columns.ts';
import { isValidUpn, isTemporaryUpn, compact, parseUkDate, isPlausibleBirthDate } from '../../detectors/library/checksums.ts';
import { RosterError, type Pupil, type Roster, type RosterProblem } from './types.ts';

export interface RosterReadDetails {
  encoding: string;
  delimiter: string;
  rows: number;
  columns: ColumnMap;
}

export const DELIMITER_NAME: Record<string, string> = { ',': 'comma', '\t': 'tab', ';': 'semicolon', '|': 'pipe' };

function isEmailAddress(s: string): boolean {
  const at = s.indexOf('@');
  if (at <= 0 || at !== s.lastIndexOf('@')) return false;
  const domain = s.slice(at + 1);
  if (domain.length < 3 || !domain.includes('.') || domain.startsWith('.') || domain.endsWith('.')) return false;
  for (const ch of s) if (ch === ' ' || ch === ',' || ch === ';' || ch === '<' || ch === '>' || ch === '"') return false;
  return true;
}

function splitContacts(cell: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const ch of cell) {
    if (ch === ';' || ch === ',' || ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/** "SMITH, Jane" or "Jane Smith" → forename and surname. */
export function splitFullName(full: string): { forename?: string; surname?: string } {
  const t = full.trim();
  const comma = t.indexOf(',');
  if (comma >= 0) return { surname: t.slice(0, comma).trim() || undefined, forename: t.slice(comma + 1).trim() || undefined };
  const space = t.lastIndexOf(' ');
  if (space < 0) return { forename: t || undefined };
  return { forename: t.slice(0, space).trim(), surname: t.slice(space + 1).trim() };
}

function parseDob(cell: string): string | undefined {
  let t = cell.trim();
  const space = t.indexOf(' ');
  // Excel often appends a time: "12/03/2014 00:00" or "2014-03-12 00:00:00".
  if (space > 0 && t.indexOf(':', space) > 0) t = t.slice(0, space);
  const iso = parseUkDate(t);
  return iso && isPlausibleBirthDate(iso) ? iso : undefined;
}

function describeMissing(map: ColumnMap): string[] {
  const missing: string[] = [];
  const s = map.single;
  if (s.fullName === undefined) {
    if (s.legalForename === undefined && s.preferredForename === undefined) missing.push('a forename column ("Legal Forename", "Forename" or "First Name")');
    if (s.legalSurname === undefined && s.preferredSurname === undefined) missing.push('a surname column ("Legal Surname", "Surname" or "Last Name")');
  }
  return missing;
}

/** Read and understand a roster file, with details for `roster check`. */
export async function readRoster(path: string): Promise<{ roster: Roster; problems: RosterProblem[]; details: RosterReadDetails }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new RosterError(`The roster file cannot be read (${code ?? 'error'}): ${path}`);
  }
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0xd0cf11e0) {
    throw new RosterError('The roster file is an Excel 97-2003 workbook (xls) or a password-protected workbook: open it in Excel and save it as "Excel Workbook (.xlsx)" without a password, or as "CSV UTF-8".');
  }
  let encoding: string;
  let delimiter: string;
  let records: CsvRecord[];
  let unclosedQuoteLine: number | undefined;
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    // An Excel workbook, as SIMS, Arbor and Bromcom reports are most often saved: its first sheet.
    const book = await xlsxRecords(bytes);
    records = book.records;
    encoding = `xlsx (sheet "${book.sheet}")`;
    delimiter = 'cells';
  } else {
    const decoded = decodeRosterBytes(bytes);
    delimiter = sniffDelimiter(decoded.text);
    ({ records, unclosedQuoteLine } = parseCsv(decoded.text, delimiter));
    encoding = decoded.encoding;
  }
  if (records.length === 0) throw new RosterError('The roster file is empty.', [], ['a header row']);
  const header = records[0].fields.map((h) => h.trim());
  const map = mapColumns(header);
  const missing = describeMissing(map);
  if (missing.length) {
    const found = map.used.length
      ? header.map(displayHeader)
      : [`none of the ${header.length} cells of the first line is a column name this reader knows`];
    const recognised = map.used.map((u) => `${displayHeader(u.header)} (${FIELD_LABEL[u.field]})`);
    throw new RosterError(
      `The roster file cannot be understood: it has no ${missing.join(' and no ')}.\n` +
        `Columns found: ${found.join(', ') || '(none)'}.\n` +
        (recognised.length ? `Recognised: ${recognised.join(', ')}.\n` : '') +
        `Missing: ${missing.join('; ')}.`,
      found,
      missing,
    );
  }

  const problems: RosterProblem[] = [];
  if (unclosedQuoteLine !== undefined) {
    problems.push({ line: unclosedQuoteLine, message: 'a quoted field is never closed: the rest of the file was read as one field' });
  }
  const s = map.single;
  const get = (f: string[], i: number | undefined) => (i === undefined ? '' : (f[i] ?? '').trim());
  const pupils: Pupil[] = [];
  const upnLine = new Map<string, number>();
  const lastUsedColumn = Math.max(...map.used.map((u) => u.index));
  for (let r = 1; r < records.length; r++) {
    const { line, fields } = records[r];
    if (fields.length !== header.length) {
      // Trailing cells that are empty (extra) or unused (missing) are harmless; anything else
      // means the columns have shifted (an unquoted comma in a name) and the row cannot be trusted.
      const harmless =
        fields.length > header.length
          ? fields.slice(header.length).every((x) => x.trim() === '')
          : lastUsedColumn < fields.length;
      if (!harmless) {
        problems.push({ line, message: `has ${fields.length} fields but the header has ${header.length}; row skipped` });
        continue;
      }
    }
    let legalForename = get(fields, s.legalForename);
    let legalSurname = get(fields, s.legalSurname);
    const preferredForename = get(fields, s.preferredForename);
    const preferredSurname = get(fields, s.preferredSurname);
    if ((!legalForename && !preferredForename) || (!legalSurname && !preferredSurname)) {
      const full = get(fields, s.fullName);
      if (full) {
        const split = splitFullName(full);
        legalForename ||= split.forename ?? '';
        legalSurname ||= split.surname ?? '';
      }
    }
    if (!legalForename && !preferredForename) {
      problems.push({ line, message: 'no forename; row skipped' });
      continue;
    }
    if (!legalSurname && !preferredSurname) {
      problems.push({ line, message: 'no surname; row skipped' });
      continue;
    }
    const pupil: Pupil = { id: `row-${line}`, contacts: [], line };
    if (legalForename) pupil.legalForename = legalForename;
    if (legalSurname) pupil.legalSurname = legalSurname;
    if (preferredForename && preferredForename !== legalForename) pupil.preferredForename = preferredForename;
    if (preferredSurname && preferredSurname !== legalSurname) pupil.preferredSurname = preferredSurname;
    const middle = get(fields, s.middleNames);
    if (middle) pupil.middleNames = middle;
    const upnCell = get(fields, s.upn);
    if (upnCell) {
      const upn = compact(upnCell);
      if (isValidUpn(upn)) {
        pupil.upn = upn;
        const prev = upnLine.get(upn);
        if (prev !== undefined) problems.push({ line, message: `the same UPN as line ${prev}; both rows kept` });
        else upnLine.set(upn, line);
      } else {
        problems.push({ line, message: 'the UPN is not valid (wrong length or check letter); UPN ignored' });
      }
    }
    const dobCell = get(fields, s.dob);
    if (dobCell) {
      const dob = parseDob(dobCell);
      if (dob) pupil.dob = dob;
      else problems.push({ line, message: 'the date of birth is not a real past date (expected e.g. 12/03/2014 or 2014-03-12); date ignored' });
    }
    const year = get(fields, s.year);
    if (year) pupil.year = year;
    const form = get(fields, s.form);
    if (form) pupil.form = form;
    const school = get(fields, s.school);
    if (school) pupil.school = school;
    let badContacts = 0;
    for (const ci of map.contacts) {
      for (const addr of splitContacts(get(fields, ci))) {
        const a = addr.toLowerCase();
        if (isEmailAddress(a)) {
          if (!pupil.contacts.includes(a)) pupil.contacts.push(a);
        } else badContacts++;
      }
    }
    if (badContacts) problems.push({ line, message: `${badContacts === 1 ? 'a contact email is' : `${badContacts} contact emails are`} not a valid address; ignored` });
    pupils.push(pupil);
  }

  return {
    roster: makeRoster(pupils, path),
    problems,
    details: { encoding, delimiter, rows: records.length - 1, columns: map },
  };
}

export function makeRoster(pupils: Pupil[], source?: string): Roster {
  const byContact = new Map<string, Pupil[]>();
  const byId = new Map<string, Pupil>();
  const byUpn = new Map<string, Pupil[]>();
  const digest = createHash('sha256');
  for (const p of pupils) {
    byId.set(p.id, p);
    for (const c of p.contacts) {
      const list = byContact.get(c);
      if (list) list.push(p);
      else byContact.set(c, [p]);
    }
    if (p.upn) {
      const list = byUpn.get(p.upn);
      if (list) list.push(p);
      else byUpn.set(p.upn, [p]);
    }
    digest.update(
      [p.id, p.legalForename, p.legalSurname, p.preferredForename, p.preferredSurname, p.middleNames, p.upn, p.dob, p.year, p.form, p.contacts.join(';')].join('\u0001') + '\n',
    );
  }
  return {
    pupils,
    pupilsByContact: (email: string) => byContact.get(email.trim().toLowerCase()) ?? [],
    pupilById: (id: string) => byId.get(id),
    pupilsByUpn: (upn: string) => byUpn.get(compact(upn)) ?? [],
    digest: digest.digest('hex'),
    loadedAt: new Date(),
    source,
  };
}

/**
 * Load the roster. Throws RosterError (naming the columns found and missing) when the file
 * cannot be understood; bad rows are skipped and returned as problems with their line numbers.
 */
export async function loadRoster(path: string): Promise<{ roster: Roster; problems: RosterProblem[] }> {
  const { roster, problems } = await readRoster(path);
  return { roster, problems };
}
