import type { PatternDetector } from './types.ts';
import { parseUkDate, isPlausibleBirthDate } from './checksums.ts';
import { redactDate } from './redact.ts';

const DAY = '(?:0?[1-9]|[12][0-9]|3[01])';
const MONTH = '(?:0?[1-9]|1[0-2])';
const MONTH_NAME = '(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\\.?';
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
  validate: (v) => {
    const iso = parseUkDate(v);
    return iso !== undefined && isPlausibleBirthDate(iso);
  },
  context: { // 'b' is the last word of "D.O.B".
    words: ['dob', 'birth', 'born', 'birthday', 'birthdate', 'dateofbirth', 'b'], before: 40, after: 24 },
  score: (m) => {
    if (!m.validated) return null;
    if (m.contextNear) return { strength: 'strong', score: 0.85 };
    if (m.contextInText) return { strength: 'weak', score: 0.5 };
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
      { text: 'Name,DOB\nA,01/09/2015\nB,02/09/2015\nC,03/09/2015\nD,04/09/2015\nE,05/09/2015\nF,06/09/2015\nG,07/09/2015', strength: 'weak' },
    ],
    noMatch: [
      'DOB: 31/02/2014', // no 31st of February
      'DOB: 29/02/2013', // not a leap year
      'The trip is on 12/03/2014.', // a date with no birth word
      'DOB: 12/13/2014', // no thirteenth month
      'DOB: 01/01/2099', // in the future
    ],
  },
};
