// The pupil roster: imported from the CSV a school's MIS (SIMS, Arbor, Bromcom) exports, held in
// memory only, reloaded when the file changes. The roster is personal data itself: nothing here
// logs or copies a pupil's details; messages name lines and columns, never values.

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { decodeRosterBytes, parseCsv, sniffDelimiter } from './csv.ts';
import { mapColumns, displayHeader, fieldOf, FIELD_LABEL, type ColumnMap } from './columns.ts';
import { isValidUpn, isTemporaryUpn, compact, parseUkDate, isPlausibleBirthDate } from '../../detectors/library/checksums.ts';
import { buildNameIndex } from './name-index.ts';
import { RosterError, type Pupil, type Roster, type RosterProblem, type StaffList, type StaffMember } from './types.ts';

export { RosterError } from './types.ts';
export type { Pupil, Roster, RosterProblem, StaffList, StaffMember } from './types.ts';

export interface RosterReadDetails {
  encoding: string;
  delimiter: string;
  rows: number;
  columns: ColumnMap;
}

const DELIMITER_NAME: Record<string, string> = { ',': 'comma', '\t': 'tab', ';': 'semicolon', '|': 'pipe' };

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
function splitFullName(full: string): { forename?: string; surname?: string } {
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
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    throw new RosterError('The roster file is a spreadsheet workbook (xlsx), not CSV: export it from the MIS as CSV.');
  }
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0xd0cf11e0) {
    throw new RosterError('The roster file is an Excel 97-2003 workbook (xls), not CSV: export it from the MIS as CSV.');
  }
  const decoded = decodeRosterBytes(bytes);
  const delimiter = sniffDelimiter(decoded.text);
  const { records, unclosedQuoteLine } = parseCsv(decoded.text, delimiter);
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
    details: { encoding: decoded.encoding, delimiter, rows: records.length - 1, columns: map },
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

/** The human output of `hallmonitor roster check FILE`. Counts and line numbers only, never values. */
export async function rosterCheckReport(path: string): Promise<{ text: string; ok: boolean }> {
  let result: Awaited<ReturnType<typeof readRoster>>;
  try {
    result = await readRoster(path);
  } catch (e) {
    if (e instanceof RosterError) return { text: `Roster file: ${path}\nNOT USABLE. ${e.message}\n`, ok: false };
    throw e;
  }
  const { roster, problems, details } = result;
  const pupils = roster.pupils;
  const index = buildNameIndex({
    pupils: pupils.map((p) => ({
      forenames: [p.legalForename, p.preferredForename].filter((x): x is string => !!x),
      surnames: [p.legalSurname, p.preferredSurname].filter((x): x is string => !!x),
      middleNames: p.middleNames ? [p.middleNames] : undefined,
    })),
  });
  const withPreferredForename = pupils.filter((p) => p.preferredForename).length;
  const withPreferredSurname = pupils.filter((p) => p.preferredSurname).length;
  const upns = pupils.filter((p) => p.upn).length;
  const temporary = pupils.filter((p) => p.upn && isTemporaryUpn(p.upn)).length;
  const dobs = pupils.filter((p) => p.dob).length;
  const contactSet = new Set<string>();
  for (const p of pupils) for (const c of p.contacts) contactSet.add(c);
  const pupilsWithContacts = pupils.filter((p) => p.contacts.length).length;
  const n = (x: number) => x.toLocaleString('en-GB');
  const lines: string[] = [];
  lines.push(`Roster file: ${path}`);
  lines.push(`Read as: ${details.encoding}, ${DELIMITER_NAME[details.delimiter] ?? 'delimited'}-separated, ${n(details.rows)} data rows`);
  lines.push(`Columns used: ${details.columns.used.map((u) => `${displayHeader(u.header)} → ${FIELD_LABEL[u.field]}`).join(', ')}`);
  if (details.columns.ignored.length) {
    lines.push(`Columns not used: ${details.columns.ignored.map((c) => displayHeader(c.header)).join(', ')}`);
  }
  lines.push(`Pupils: ${n(pupils.length)}`);
  lines.push(
    `Names: ${n(pupils.length)} pupils with forename and surname (${n(withPreferredForename)} with a different preferred forename, ` +
      `${n(withPreferredSurname)} with a different preferred surname); ${n(index.stats.pupilVariants)} name forms will be matched`,
  );
  lines.push(`UPNs: ${n(upns)}${temporary ? ` (${n(temporary)} temporary)` : ''}${upns < pupils.length ? `; ${n(pupils.length - upns)} pupils without one` : ''}`);
  lines.push(`Dates of birth: ${n(dobs)}`);
  lines.push(`Contacts: ${n(contactSet.size)} parent/carer email addresses for ${n(pupilsWithContacts)} pupils`);
  if (problems.length) {
    lines.push(`Problems (${n(problems.length)}):`);
    for (const p of problems) lines.push(`  line ${p.line}: ${p.message}`);
  } else lines.push('Problems: none');
  const ok = pupils.length > 0 && problems.length === 0;
  if (pupils.length === 0) lines.push('NOT USABLE: no pupil could be read from this file.');
  return { text: lines.join('\n') + '\n', ok };
}

/**
 * Staff names to exclude from pupil matching. Either a CSV with forename/surname columns (the
 * same header names as the roster) or plain text with one name per line ("Jane Smith" or
 * "Smith, Jane"; lines starting with # are comments).
 */
export async function loadStaffList(path: string): Promise<StaffList> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new RosterError(`The staff list cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}): ${path}`);
  }
  const { text } = decodeRosterBytes(bytes);
  const problems: RosterProblem[] = [];
  const members: StaffMember[] = [];
  const { records } = parseCsv(text);
  const header = records[0]?.fields ?? [];
  const fields = header.map(fieldOf);
  const looksLikeCsv =
    fields.some((f) => f === 'legalForename' || f === 'preferredForename' || f === 'fullName') &&
    fields.some((f) => f === 'legalSurname' || f === 'preferredSurname' || f === 'fullName');
  if (looksLikeCsv) {
    const map = mapColumns(header.map((h) => h.trim()));
    const s = map.single;
    for (const { line, fields: row } of records.slice(1)) {
      const g = (i: number | undefined) => (i === undefined ? '' : (row[i] ?? '').trim());
      let forename = g(s.legalForename) || g(s.preferredForename);
      let surname = g(s.legalSurname) || g(s.preferredSurname);
      if ((!forename || !surname) && g(s.fullName)) {
        const split = splitFullName(g(s.fullName));
        forename ||= split.forename ?? '';
        surname ||= split.surname ?? '';
      }
      if (!forename || !surname) {
        problems.push({ line, message: 'no forename or no surname; row skipped' });
        continue;
      }
      const other = g(s.preferredForename);
      members.push({ forename, surname, otherForenames: other && other !== forename ? [other] : undefined });
    }
  } else {
    const lines = text.split(/\r\n|\r|\n/);
    lines.forEach((raw, i) => {
      const t = raw.trim();
      if (!t || t.startsWith('#')) return;
      const { forename, surname } = splitFullName(t);
      if (!forename || !surname) problems.push({ line: i + 1, message: 'not a forename and surname; line skipped' });
      else members.push({ forename, surname });
    });
  }
  return { members, source: path, problems };
}

export interface WatchOptions {
  /** Wait this long after the last change before reading (an export may be written in pieces). */
  debounceMs?: number;
  /** Also check the file's size and time this often (watch events are unreliable on some shares). */
  pollMs?: number;
}

/**
 * Reload the roster when its file changes. `onChange` receives a new roster only when the new
 * file was read successfully and holds at least one pupil; otherwise `onError` says why and the
 * caller keeps the detector set it has (compile the new set first, then swap it in whole).
 */
export function watchRoster(
  path: string,
  onChange: (r: Roster, problems: RosterProblem[]) => void,
  onError: (e: Error) => void,
  opts: WatchOptions = {},
): () => void {
  const debounceMs = opts.debounceMs ?? 300;
  const pollMs = opts.pollMs ?? 5000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let lastSignature: string | undefined;

  const signature = async (): Promise<string | undefined> => {
    try {
      const s = await stat(path);
      return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch {
      return undefined;
    }
  };
  // The file as it is now (read synchronously, so a change made right after this call is seen
  // as a change, not taken for the starting point).
  try {
    const s0 = statSync(path);
    lastSignature = `${s0.ino}:${s0.size}:${s0.mtimeMs}:${s0.ctimeMs}`;
  } catch {
    lastSignature = undefined;
  }

  const check = async () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const sig = await signature();
      if (sig === lastSignature) return;
      lastSignature = sig;
      if (sig === undefined) {
        onError(new RosterError(`The roster file has gone (${path}); the previous roster stays in use.`));
        return;
      }
      try {
        const { roster, problems } = await loadRoster(path);
        if (stopped) return;
        if (roster.pupils.length === 0) {
          onError(new RosterError('The new roster file holds no pupils; the previous roster stays in use.'));
          return;
        }
        onChange(roster, problems);
      } catch (e) {
        if (!stopped) onError(e instanceof Error ? e : new Error(String(e)));
      }
    } finally {
      running = false;
      if (again && !stopped) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void check(), debounceMs);
    timer.unref?.();
  };

  let watcher: FSWatcher | undefined;
  try {
    const name = basename(path);
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (!filename || filename.toString() === name) schedule();
    });
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // polling still works
  }
  const poll = setInterval(() => void check(), pollMs);
  poll.unref?.();

  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    clearInterval(poll);
    watcher?.close();
  };
}
