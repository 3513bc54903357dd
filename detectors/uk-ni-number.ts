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
  // counts only beside an NI word (see score).
  patterns: ['\\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][ \\x{00A0}-]?[0-9]{2}[ \\x{00A0}-]?[0-9]{2}[ \\x{00A0}-]?[0-9]{2}(?:[ \\x{00A0}-]?[A-D])?\\b'],
  caseSensitive: false,
  prefilter: 'digits',
  wordBounded: true,
  validate: (v) => isValidNiNumber(v),
  context: { words: ['ni', 'nino', 'insurance'], before: 40, after: 10 },
  score: (m) => {
    if (!m.validated) return null;
    // "ab123456c" typed in lower case: an NI number when an NI word is beside it; alone it is as
    // likely a username or a reference.
    if (hasLowerCase(m.value)) return m.contextNear ? strong(0.9) : null;
    const withSuffix = compact(m.value).length === 9;
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
      { text: 'JK-12-34-56-D', strength: 'strong' },
      { text: 'his national insurance number is jk 12 34 56 d', strength: 'strong' },
      { text: 'NI: ab123456c', strength: 'strong' },
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
    ],
  },
};
