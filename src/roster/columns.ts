// Column names that SIMS, Arbor and Bromcom exports use, matched case-, space- and
// punctuation-insensitively ("Legal Surname", "legal_surname", "LEGAL-SURNAME" are one name).

export type Field =
  | 'legalSurname'
  | 'legalForename'
  | 'preferredSurname'
  | 'preferredForename'
  | 'middleNames'
  | 'fullName'
  | 'upn'
  | 'dob'
  | 'year'
  | 'form'
  | 'school'
  | 'contact';

export const FIELD_LABEL: Record<Field, string> = {
  legalSurname: 'legal surname',
  legalForename: 'legal forename',
  preferredSurname: 'preferred surname',
  preferredForename: 'preferred forename',
  middleNames: 'middle names',
  fullName: 'full name',
  upn: 'UPN',
  dob: 'date of birth',
  year: 'year group',
  form: 'registration group',
  school: 'school (trust-wide exports)',
  contact: 'parent/carer email',
};

// Most specific first: "Legal Surname" is the legal surname even when "Surname" is also present.
const ALIASES: Array<[Field, string[]]> = [
  ['legalSurname', ['legalsurname', 'legallastname', 'legalfamilyname']],
  ['legalForename', ['legalforename', 'legalfirstname', 'legalgivenname']],
  ['preferredSurname', ['preferredsurname', 'preferredlastname', 'knownassurname', 'chosensurname', 'preferredfamilyname']],
  ['preferredForename', ['preferredforename', 'preferredfirstname', 'preferredname', 'knownas', 'knownasforename', 'chosenname', 'chosenforename', 'preferredgivenname']],
  ['legalSurname', ['surname', 'lastname', 'familyname']],
  ['legalForename', ['forename', 'forenames', 'firstname', 'firstnames', 'givenname', 'givennames']],
  ['middleNames', ['middlename', 'middlenames', 'othernames', 'otherforenames']],
  ['fullName', ['name', 'fullname', 'displayname', 'legalname', 'legalfullname']],
  ['upn', ['upn', 'uniquepupilnumber']],
  ['dob', ['dob', 'dateofbirth', 'birthdate', 'dobddmmyyyy', 'dateofbirthddmmyyyy']],
  ['year', ['year', 'yeargroup', 'ncyear', 'nationalcurriculumyear', 'curriculumyear', 'yr', 'yeartaughtin']],
  ['school', ['school', 'schoolname', 'establishment', 'establishmentname', 'academy', 'academyname', 'site', 'schoolid', 'dfenumber', 'laestab']],
  ['form', ['reggroup', 'registrationgroup', 'regform', 'registrationform', 'form', 'formgroup', 'tutorgroup', 'regclass', 'registrationclass', 'class', 'classname', 'house']],
];

const PREFIXES = ['student', 'pupil', 'child', 'learner'];

export function normaliseHeader(h: string): string {
  const folded = h.normalize('NFKD').toLowerCase();
  let out = '';
  for (const ch of folded) if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) out += ch;
  return out;
}

function isContactEmailHeader(n: string): boolean {
  if (!n.includes('email')) return false;
  return ['contact', 'parent', 'carer', 'guardian', 'mother', 'father', 'primary', 'priority', 'family', 'home'].some((w) =>
    n.includes(w),
  );
}

/** Which field a header names, or undefined. */
export function fieldOf(header: string): Field | undefined {
  const n = normaliseHeader(header);
  if (!n) return undefined;
  if (isContactEmailHeader(n)) return 'contact';
  const candidates = [n];
  for (const p of PREFIXES) if (n.startsWith(p) && n.length > p.length) candidates.push(n.slice(p.length));
  for (const [field, names] of ALIASES) {
    for (const c of candidates) if (names.includes(c)) return field;
  }
  return undefined;
}

/** Column index for each field; `contact` may have several columns. */
export interface ColumnMap {
  single: Partial<Record<Exclude<Field, 'contact'>, number>>;
  contacts: number[];
  used: Array<{ index: number; header: string; field: Field }>;
  ignored: Array<{ index: number; header: string }>;
}

export function mapColumns(headers: string[]): ColumnMap {
  const map: ColumnMap = { single: {}, contacts: [], used: [], ignored: [] };
  // Pass 1: most specific aliases claim their field first.
  const fields = headers.map(fieldOf);
  const rank = (h: string): number => {
    const n = normaliseHeader(h);
    for (let r = 0; r < ALIASES.length; r++) {
      const names = ALIASES[r][1];
      if (names.includes(n) || PREFIXES.some((p) => n.startsWith(p) && names.includes(n.slice(p.length)))) return r;
    }
    return ALIASES.length;
  };
  const order = headers.map((_, i) => i).sort((a, b) => rank(headers[a]) - rank(headers[b]) || a - b);
  for (const i of order) {
    const f = fields[i];
    if (!f) continue;
    if (f === 'contact') continue;
    if (map.single[f] === undefined) {
      map.single[f] = i;
      map.used.push({ index: i, header: headers[i], field: f });
    } else if (f === 'legalSurname' && map.single.preferredSurname === undefined) {
      // "Legal Surname" and "Surname" both present: the plain one is what the school uses day to day.
      map.single.preferredSurname = i;
      map.used.push({ index: i, header: headers[i], field: 'preferredSurname' });
    } else if (f === 'legalForename' && map.single.preferredForename === undefined) {
      map.single.preferredForename = i;
      map.used.push({ index: i, header: headers[i], field: 'preferredForename' });
    }
  }
  headers.forEach((h, i) => {
    if (fields[i] === 'contact') {
      map.contacts.push(i);
      map.used.push({ index: i, header: h, field: 'contact' });
    }
  });
  const usedIdx = new Set(map.used.map((u) => u.index));
  headers.forEach((h, i) => {
    if (!usedIdx.has(i)) map.ignored.push({ index: i, header: h });
  });
  map.used.sort((a, b) => a.index - b.index);
  return map;
}

/** A header cell shown in messages: headers are not personal data, but a data row mistaken for one is. */
export function displayHeader(h: string): string {
  const t = h.trim();
  if (!t) return '(blank)';
  let digits = 0;
  for (const ch of t) if (ch >= '0' && ch <= '9') digits++;
  if (t.includes('@') || digits >= 3 || t.length > 40) return '(a value that looks like data, not a column name)';
  return `"${t}"`;
}
