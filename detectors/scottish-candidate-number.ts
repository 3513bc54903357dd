import type { PatternDetector } from './library/types.ts';
import { isValidScottishCandidateNumber } from './library/checksums.ts';
import { redactIdentifier } from './library/redact.ts';
import { strong } from './library/score.ts';

// The SQA's Scottish Candidate Number: a Scottish pupil's number from primary 1 on, as a UPN is an
// English pupil's (some councils even make it the pupil's email address). Nine digits with a
// check digit: one random nine-digit number in eleven passes, and nine-digit order, parcel and
// account numbers are common, so it is reported only beside a word that says what it is.
// "Candidate" alone is not such a word: an agency's candidate reference for a job would be held.
export const scottishCandidateNumber: PatternDetector = {
  kind: 'pattern',
  id: 'scottish-candidate-number',
  description: "A pupil's Scottish Candidate Number (SCN) from the SQA: nine digits with a check digit.",
  category: 'identifier',
  patterns: ['\\b[0-9]{9}\\b', '\\b[0-9]{3} [0-9]{3} [0-9]{3}\\b'],
  prefilter: 'digits',
  wordBounded: true,
  validate: isValidScottishCandidateNumber,
  requiresContext: 'near',
  context: { words: ['scn', 'scns', 'sqa', 'scottish'], before: 40, after: 10 },
  score: (m) => (m.validated && m.contextNear ? strong(0.9) : null),
  redact: (v) => redactIdentifier(v, 2),
  reason: () => 'A Scottish Candidate Number (its check digit is correct and it is labelled as an SCN)',
  examples: {
    match: [
      { text: 'SCN: 123456785', strength: 'strong' },
      { text: 'Scottish Candidate Number 051234561 (issued 2005)', strength: 'strong' },
      { text: 'her SQA candidate number is 140 000 019', strength: 'strong' },
      { text: 'Name, Class, SCN\nIsla Grant, P7B, 219876548', strength: 'strong' },
    ],
    noMatch: [
      'SCN: 123456786', // wrong check digit
      'SCN: 991234560', // its check would be 10: never issued
      'Order 123456785 was dispatched', // fits, but nothing says it is an SCN
      'Candidate reference 123456785 for the teaching post', // a job agency's candidate, not the SQA's
      'SCN 1234567850', // ten digits
      'SCN: 000000000',
    ],
  },
};
