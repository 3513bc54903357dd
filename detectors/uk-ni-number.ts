import type { PatternDetector } from './library/types.ts';
import { compact, hasLowerCase, isValidNiNumber } from './library/checksums.ts';
import { redactIdentifier } from './library/redact.ts';
import { strong } from './library/score.ts';

// HMRC National Insurance number. First letter never D F I Q U V; second never D F I O Q U V;
// prefixes BG GB KN NK NT TN ZZ never issued; six digits; suffix A–D (sometimes left off).
export const ukNiNumber: PatternDetector = {
  kind: 'pattern',
  id: 'uk-ni-number',
  description: "A National Insurance number (two letters, six digits, a letter A–D), checked against HMRC's prefix rules.",
  category: 'identifier',
  // A space may be a non-breaking one (Word and Outlook put them in: AB 12 34 56 C typed in a letter),
  // or a dash (AB-12-34-56-C, as some payroll and HR forms print it). Lower case is read too, but
  // counts only in one narrow shape (see score).
  patterns: ['\\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][ \\x{00A0}-]?[0-9]{2}[ \\x{00A0}-]?[0-9]{2}[ \\x{00A0}-]?[0-9]{2}(?:[ \\x{00A0}-]?[A-D])?\\b'],
  caseSensitive: false,
  prefilter: 'digits',
  wordBounded: true,
  validate: (v) => isValidNiNumber(v),
  context: { words: ['ni', 'nino', 'insurance'], before: 40, after: 10 },
  score: (m) => {
    if (!m.validated) return null;
    const withSuffix = compact(m.value).length === 9;
    // In lower case, only "ab123456c" typed whole, its suffix letter given, beside an NI word.
    // Two lower-case letters and six digits are otherwise ordinary words and a date: "by
    // 14-03-25", Welsh "ar 21 03 25" (and Welsh "ni", "we", is one of the NI words).
    if (hasLowerCase(m.value)) return m.contextNear && withSuffix && m.value.length === 9 && m.value === m.value.toLowerCase() ? strong(0.9) : null;
    // Dashed, only beside an NI word: two capitals and a dashed date are a heading's "BY 14-03-25",
    // a risk assessment's "RA-14-10-26-B", a booking's "CE-12-11-26-A".
    if (m.value.includes('-')) return m.contextNear && withSuffix ? strong(1) : null;
    if (withSuffix) return strong(m.contextNear ? 1 : 0.9);
    return m.contextNear ? strong(0.8) : null;
  },
  redact: (v) => redactIdentifier(v, 2),
  reason: () => 'A National Insurance number',
  examples: {
    match: [
      { text: 'NI number: AB 12 34 56 C', strength: 'strong' },
      { text: 'JK123456D', strength: 'strong' },
      { text: 'National Insurance no. CE123456', strength: 'strong' },
      { text: 'NI number: AB\u00a012\u00a034\u00a056\u00a0C', strength: 'strong' },
      { text: 'Employee NI no: JK-12-34-56-D', strength: 'strong' },
      { text: 'NI: ab123456c', strength: 'strong' },
      // Beside a date of birth, whose fast path must not take the dashed digits for a date.
      { text: 'Date of birth: 4 May 1990. NI number: JK-12-03-14-D', strength: 'strong' },
    ],
    noMatch: [
      'QQ123456C', // Q is never a first letter
      'BG123456A', // BG is never issued
      'GB123456A',
      'AO123456A', // O is never a second letter
      'AB123456E', // suffix is A–D
      'Flight CE123456 lands at noon', // no suffix and no context
      'Log in as ab123456c on the library PC', // lower case, no NI word: a username
      'ce-12-34-56 was the batch', // lower case, no context
      'Flight CE-123456 lands at noon', // dashed, still no suffix and no context
      'JK-12-34-56-D', // dashed without an NI word: a reference as often
      'Risk assessment ref RA-14-10-26-B is attached for the Year 5 trip.',
      'Coach booking CE-12-11-26-A confirmed for 40 pupils.',
      'Please return the travel insurance form by 14-03-25.', // a word and a date beside an NI word
      'RETURN THE TRAVEL INSURANCE FORM BY 14-03-25', // the same in capitals
      'Ni fydd gwersi nofio ar 21-03-25.', // Welsh: "ni" is "we" or "not"
      'Byddwn ni yn mynd ar y trip ar 140325', // Welsh, a date without separators
      'NI: ab 12 34 56 c', // lower case with spaces: too like words and a date
      'NI: Ab123456C', // mixed case
    ],
  },
};
