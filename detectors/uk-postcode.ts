import type { PatternDetector } from './library/types.ts';
import { redactIdentifier } from './library/redact.ts';
import { weak } from './library/score.ts';

// Royal Mail postcode shapes (A9 9AA, A99 9AA, AA9 9AA, AA99 9AA, A9A 9AA, AA9A 9AA) with the
// letters each position may hold. A postcode is part of an address: a weak signal that the
// policy combines with a pupil's name (the school's own postcode is in every signature).
export const ukPostcode: PatternDetector = {
  kind: 'pattern',
  id: 'uk-postcode',
  description: 'A UK postcode, part of a home address.',
  category: 'contact',
  patterns: [
    '\\b(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) ?[0-9][ABD-HJLNP-UW-Z]{2}\\b',
  ],
  caseSensitive: true,
  prefilter: 'digits',
  wordBounded: true,
  context: { words: ['address', 'postcode', 'lives', 'road', 'street', 'avenue', 'close', 'lane', 'drive', 'home'], before: 80, after: 10 },
  score: (m) => weak(m.contextNear ? 0.5 : 0.3),
  redact: (v) => redactIdentifier(v, 2),
  reason: () => 'A UK postcode (part of an address)',
  examples: {
    match: ['SW1A 1AA', 'Address: 10 Example Road, Exampletown M1 1AE', 'B33 8TH', 'CR2 6XH', 'DN55 1PT', 'EC1A1BB'],
    noMatch: [
      'QA1 1AA', // Q never starts a postcode
      'SW1A 1CI', // C and I never end one
      'Room B12 is free',
      'sw1a 1aa', // written in capitals
    ],
  },
};
