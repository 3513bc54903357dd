import type { PatternDetector } from './library/types.ts';
import { parseUkDate, isPlausibleBirthDate, isPlausibleNumericBirthDateAt, writtenAtLeastYearsAgo } from './library/checksums.ts';
import { redactDate } from './library/redact.ts';
import { boundaryBefore, boundaryAfter, digitRun, isAsciiWordByte } from './library/bytes.ts';
import { strong, weak } from './library/score.ts';

function isDateSeparator(c: number): boolean {
  return c === 0x2f || c === 0x2e || c === 0x2d; // / . -
}

/** 1–31 written as 1–2 digits the way DAY below accepts (leading zero only before 1–9). */
function dayOk(buf: Uint8Array, i: number, len: number): boolean {
  const a = buf[i] - 48;
  if (len === 1) return a >= 1;
  const b = buf[i + 1] - 48;
  return (a === 0 && b >= 1) || a === 1 || a === 2 || (a === 3 && b <= 1);
}

function monthOk(buf: Uint8Array, i: number, len: number): boolean {
  const a = buf[i] - 48;
  if (len === 1) return a >= 1;
  const b = buf[i + 1] - 48;
  return (a === 0 && b >= 1) || (a === 1 && b <= 2);
}

/** Byte-level twin of the first pattern (12/03/2014, 1.2.14, 31-12-1999): a DOB column on every row. */
function numericDateAt(buf: Uint8Array, start: number): number {
  if (!boundaryBefore(buf, start)) return -1;
  // Dashed on to a word before it ("JK-12-03-14-D", an NI number): left to the patterns, which
  // read the whole; taken here, its digits would be blanked before the NI pattern saw them.
  if (start >= 2 && buf[start - 1] === 0x2d && isAsciiWordByte(buf[start - 2])) return -1;
  const d = digitRun(buf, start, 2);
  if (d < 1 || d > 2 || !dayOk(buf, start, d)) return -1;
  let i = start + d;
  if (i >= buf.length || !isDateSeparator(buf[i])) return -1;
  i++;
  const m = digitRun(buf, i, 2);
  if (m < 1 || m > 2 || !monthOk(buf, i, m)) return -1;
  i += m;
  if (i >= buf.length || !isDateSeparator(buf[i])) return -1;
  i++;
  const y = digitRun(buf, i, 4);
  if (y === 4) {
    const century = (buf[i] - 48) * 10 + (buf[i + 1] - 48);
    if (century !== 19 && century !== 20) return -1;
  } else if (y !== 2) return -1;
  i += y;
  return boundaryAfter(buf, i) ? i : -1;
}

/**
 * One end of a range of dates ("born between 01/09/2022 and 31/08/2023", "from 1 September 2022
 * to 31 August 2023"): the year group an admissions letter describes, nobody's birthday.
 */
function endOfRange(before: string): boolean {
  const s = before.trimEnd().toLowerCase();
  if (s.endsWith('between') || s.endsWith('from')) return true;
  for (const joint of [' and', ' to', '-', '–', '—']) {
    if (!s.endsWith(joint)) continue;
    // The other end must be a date too: "01/09/2022 - 31/08/2023", "… 2022 to 31 August 2023";
    // "Isla Pemberton, Year 6 - 30/09/2015" is a date of birth after a year group.
    const head = s.slice(0, -joint.length).trimEnd();
    const last = head.slice(head.lastIndexOf(' ') + 1);
    // A month's name ends a range only after its day ("1 January and …"): "Patel, May - 15/05/2020"
    // is a pupil called May and her date of birth.
    if (isMonthName(last)) {
      const rest = head.slice(0, head.length - last.length).trimEnd();
      return isDayNumber(rest.slice(rest.lastIndexOf(' ') + 1));
    }
    return looksLikeDateEnd(last);
  }
  return false;
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** A month's name, in full or cut to three letters or more ("January", "Sept."). */
function isMonthName(word: string): boolean {
  const lower = (word.endsWith('.') ? word.slice(0, -1) : word).toLowerCase();
  return lower.length >= 3 && MONTHS.some((m) => m.startsWith(lower));
}

/** A day of the month as written before its month: 1, 01, 1st, 22nd. */
function isDayNumber(word: string): boolean {
  let digits = 0;
  while (digits < word.length && word.charCodeAt(digits) >= 48 && word.charCodeAt(digits) <= 57) digits++;
  const suffix = word.slice(digits).toLowerCase();
  return digits >= 1 && digits <= 2 && (suffix === '' || suffix === 'st' || suffix === 'nd' || suffix === 'rd' || suffix === 'th');
}

/** A numeric date (two separators between digits: 01/09/2022, 1.9.22) or a year (19xx, 20xx). */
function looksLikeDateEnd(word: string): boolean {
  if (word.length === 4 && (word.startsWith('19') || word.startsWith('20')) && [...word].every((c) => c >= '0' && c <= '9')) return true;
  let separators = 0;
  for (const c of word) {
    if (c === '/' || c === '.' || c === '-') separators++;
    else if (c < '0' || c > '9') return false;
  }
  return separators === 2;
}

const DAY = '(?:0?[1-9]|[12][0-9]|3[01])';
const MONTH = '(?:0?[1-9]|1[0-2])';
// English, then Welsh (Ionawr … Rhagfyr: a Welsh school's "Dyddiad geni: 20 Medi 2015").
const MONTH_NAME = '(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|ionawr|chwefror|mawrth|ebrill|mai|mehefin|gorffennaf|awst|medi|hydref|tachwedd|rhagfyr)[a-z]{0,6}\\.?';
const ORD = '(?:st|nd|rd|th)?';

// A real calendar date next to a date-of-birth word. Dates are everywhere in school mail (trips,
// meetings), so a date alone is never reported; a date in a text that says "DOB" or "date of
// birth" somewhere else (a class list with a DOB column) is a weak signal.
export const dateOfBirth: PatternDetector = {
  kind: 'pattern',
  id: 'date-of-birth',
  description: 'A date of birth: a real calendar date written next to "DOB", "date of birth", "born" or "birthday".',
  category: 'date-of-birth',
  patterns: [
    `\\b${DAY}[/.-]${MONTH}[/.-](?:19|20)?[0-9]{2}\\b`,
    `\\b(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])\\b`,
    `\\b${DAY}${ORD}(?: of)? ${MONTH_NAME},? (?:19|20)[0-9]{2}\\b`,
    `\\b${MONTH_NAME} ${DAY}${ORD},? (?:19|20)[0-9]{2}\\b`,
  ],
  prefilter: 'digits',
  wordBounded: true,
  requiresContext: 'text',
  tokenMatch: numericDateAt,
  tokenMatchWord: [1, 2],
  validate: (v) => {
    const iso = parseUkDate(v);
    return iso !== undefined && isPlausibleBirthDate(iso);
  },
  tokenValidate: isPlausibleNumericBirthDateAt,
  context: { // 'b' is the last word of "D.O.B".
    // With Welsh: geni (birth: "dyddiad geni"), ganed and ganwyd (was born), penblwydd (birthday).
    words: ['dob', 'birth', 'born', 'birthday', 'birthdate', 'dateofbirth', 'b', 'geni', 'ganed', 'ganwyd', 'penblwydd'], before: 40,
    // After the date only as far as "12/03/2014 (DOB)" or "3 March 2014 (date of birth)" reach:
    // further on is the next sentence's ("… on 23 January 2026. Robert Burns was born in 1759").
    after: 16 },
  score: (m) => {
    if (!m.validated || endOfRange(m.before)) return null;
    if (m.contextNear) return strong(0.85);
    // Only "born" or "birthday" somewhere else in the text ("Robert Burns was born in 1759 … our
    // supper is on 23 January"): a date of the last two years is an event, not a pupil's birth.
    if (m.contextInText) return writtenAtLeastYearsAgo(m.value, 2) ? weak(0.5) : null;
    return null;
  },
  redact: redactDate,
  reason: (m) =>
    m.contextNear ? 'A date of birth' : 'A date in a text that lists dates of birth',
  examples: {
    match: [
      { text: 'DOB: 12/03/2014', strength: 'strong' },
      { text: 'Date of birth 2014-03-12', strength: 'strong' },
      { text: 'born on 3rd March 2014', strength: 'strong' },
      { text: 'Birthday: March 3, 2014', strength: 'strong' },
      { text: 'D.O.B 29/02/2012 (a leap year)', strength: 'strong' },
      { text: 'Dyddiad geni: 20 Medi 2015', strength: 'strong' }, // Welsh
      { text: 'Ganwyd hi ar 3 Mawrth 2016 yn Abertawe.', strength: 'strong' },
      // The next sentence's "born" is only elsewhere in the text: weak (and none for a recent date).
      { text: 'Thanks for catering our supper on 23/01/2016. Robert Burns was born in 1759.', strength: 'weak' },
      { text: 'Dates of birth:\nIsla Pemberton, Year 6 - 30/09/2015', strength: 'strong' }, // a year group, not a range
      { text: 'Party list: Patel, May - 15/05/2020 (her date of birth)', strength: 'strong' }, // a pupil called May, not a range
      { text: 'Name,DOB\nA,01/09/2015\nB,02/09/2015\nC,03/09/2015\nD,04/09/2015\nE,05/09/2015\nF,06/09/2015\nG,07/09/2015', strength: 'weak' },
    ],
    noMatch: [
      'DOB: 31/02/2014', // no 31st of February
      'DOB: 29/02/2013', // not a leap year
      'The trip is on 12/03/2014.', // a date with no birth word
      'Bydd y daith ar 21 Mawrth 2024.', // Welsh, a date with no birth word
      'DOB: 12/13/2014', // no thirteenth month
      'DOB: 01/01/2099', // in the future
      'Children born between 01/09/2022 and 31/08/2023 start Reception in September 2027.', // a year group
      'born from 1 September 2021 to 31 August 2022',
      'Children born between 1 January and 28 February 2022 may defer their start.', // the first end without its year
    ],
  },
};
